"""Bench stage: early warning. The alert computation of a rerun against its previous run
(`guanlian alerts` in a child process: wall time and peak RSS of the comparison alone), and
the worklist's latency on the embedded store (mixed filters and pages, p50 / p99)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from bench import stages
from graph.worklist import WorklistQuery

QUERIES = 300


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
    store.worklist(WorklistQuery(rules=("phoenix",), sources=("x",)))  # columns read once
    times = []
    for q in queries:
        started = time.perf_counter()
        store.worklist(q)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "alerts": summary["alerts"], "alerts_by_kind": summary["by_kind"],
        "alert_compute_s": summary["seconds"], "alerts_wall_s": round(child.wall_s, 2),
        "alerts_peak_rss_mb": round(child.peak_rss_mb),
        "worklist_p50_ms": round(times[len(times) // 2], 2),
        "worklist_p99_ms": round(times[int(len(times) * 0.99) - 1], 2),
    }
