"""Bench stage: early warning. The alert computation of a rerun against its previous run
(`guanlian alerts` in a child process: wall time and peak RSS of the comparison alone), the
worklist's latency on the embedded store (mixed filters and pages, p50 / p99), and webhook
delivery of WEBHOOK_EVENTS alerts to a loopback receiver failing 30% of calls on purpose
(attempted / succeeded / retried / dead-lettered / lost).

    python -m bench.warning --run RUN --rerun RERUN  # RERUN: `link --previous RUN`, scored

prints the figures as one JSON object (the bench's `warning` section) with the issue's targets:
alert computation ≤ 30 s, worklist p99 ≤ 50 ms, no webhook delivery lost.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from bench import stages
from graph.worklist import WorklistQuery

QUERIES = 300
WEBHOOK_EVENTS = 200
ALERT_TARGET_S = 30.0
WORKLIST_P99_TARGET_MS = 50.0
KEYS = ["alerts", "alert_compute_s", "alerts_wall_s", "alerts_peak_rss_mb",
        "alert_compute_within_30s", "worklist_p50_ms", "worklist_p99_ms",
        "worklist_p99_within_50ms", "webhook_events", "webhook_fail_rate", "webhook_attempted",
        "webhook_succeeded", "webhook_retried", "webhook_dead_lettered", "webhook_lost"]


def bench_webhooks(work: Path, n: int = WEBHOOK_EVENTS, fail_rate: float = 0.3
                   ) -> dict[str, Any]:
    import httpx

    from alerts.models import Alert, alert_key
    from alerts.state.db import open_state
    from alerts.state.webhooks import RetryPolicy, WebhookStore
    from bench.receiver import FlakyReceiver

    db = work / "webhooks.sqlite"
    db.unlink(missing_ok=True)
    hooks = WebhookStore(open_state(f"sqlite:///{db}"), RetryPolicy(
        max_attempts=10, base_delay_s=0.005, max_delay_s=0.05, timeout_s=2.0))
    alerts = [Alert(alert_key=alert_key("new_hub", f"E{i:012d}", "A0"), kind="new_hub",
                    entity_id=f"E{i:012d}", condition="A0", run_id="b", previous_run_id="a",
                    summary="bench") for i in range(n)]
    totals = {"attempted": 0, "delivered": 0, "retried": 0, "dead": 0}
    started = time.perf_counter()
    with FlakyReceiver("bench-secret", fail_rate=fail_rate) as receiver, \
            httpx.Client() as client:
        hooks.register("bench", receiver.url, "bench-secret")
        hooks.enqueue(alerts)
        while hooks.status_counts()["pending"] and time.perf_counter() - started < 300:
            for k, v in hooks.deliver_due(client).items():
                totals[k] += v
            time.sleep(0.01)
    return {
        "webhook_events": n, "webhook_fail_rate": fail_rate,
        "webhook_attempted": totals["attempted"], "webhook_succeeded": totals["delivered"],
        "webhook_retried": totals["retried"], "webhook_dead_lettered": totals["dead"],
        "webhook_lost": n - len(receiver.received) - totals["dead"],
        "webhook_seconds": round(time.perf_counter() - started, 2),
    }


def _queries(rng: random.Random) -> list[WorklistQuery]:
    shapes: list[dict[str, Any]] = [
        {}, {"levels": ("high",)}, {"levels": ("medium", "high"), "kinds": ("Enterprise",)},
        {"rules": ("phoenix",)}, {"rules": ("hub", "shared_controller")},
        {"sources": ("administrative_penalties",)}, {"min_score": 30.0},
        {"provinces": ("上海市",)},
    ]
    return [WorklistQuery(**rng.choice(shapes), limit=50, offset=rng.choice((0, 0, 50, 500)))
            for _ in range(QUERIES)]


def bench_warning(run_dir: Path, rerun_dir: Path, seed: int = 7) -> dict[str, Any]:
    child = stages.checked(stages.run_child(
        [stages.GUANLIAN, "alerts", "--run", str(rerun_dir), "--previous", str(run_dir),
         "--out", str(rerun_dir.parent / "alerts.jsonl")]), "alerts")
    summary = json.loads(child.output.strip().splitlines()[-1])
    from graph.embedded.store import EmbeddedStore

    store = EmbeddedStore.from_run(run_dir)
    queries = _queries(random.Random(seed))
    # the columns some filters need are read once, by the first query asking (a served
    # store's first minutes): read before timing
    store.worklist(WorklistQuery(rules=("phoenix",), sources=("x",), provinces=("x",),
                                 cities=("x",)))
    times = []
    for q in queries:
        started = time.perf_counter()
        store.worklist(q)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = round(times[int(len(times) * 0.99) - 1], 2)
    del store
    return {
        "alerts": summary["alerts"], "alerts_by_kind": summary["by_kind"],
        "alert_compute_s": summary["seconds"], "alerts_wall_s": round(child.wall_s, 2),
        "alert_snapshots": summary.get("snapshots"),
        "alerts_peak_rss_mb": round(child.peak_rss_mb),
        "alert_compute_within_30s": summary["seconds"] <= ALERT_TARGET_S,
        "worklist_p50_ms": round(times[len(times) // 2], 2), "worklist_p99_ms": p99,
        "worklist_p99_within_50ms": p99 <= WORKLIST_P99_TARGET_MS,
        **bench_webhooks(rerun_dir.parent),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the early-warning figures of a rerun")
    parser.add_argument("--run", type=Path, required=True, help="the previous (scored) run")
    parser.add_argument("--rerun", type=Path, required=True,
                        help="its scored rerun (`guanlian link --previous RUN`); the alerts "
                             "and the webhook database are written beside it")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(json.dumps(bench_warning(args.run, args.rerun, args.seed), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
