"""Webhook delivery against a local receiver that fails 30% of calls on purpose: every alert
arrives, signed, once per event ID; retries back off; nothing is lost; a wrong secret ends in
the dead-letter list."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from alerts.models import Alert, Change, alert_key
from alerts.state.db import open_state
from alerts.state.webhooks import RetryPolicy, WebhookStore, sign, verify
from bench.receiver import FlakyReceiver

FAST = RetryPolicy(max_attempts=10, base_delay_s=0.005, max_delay_s=0.05, timeout_s=2.0)


def _alerts(n: int) -> list[Alert]:
    return [Alert(alert_key=alert_key("new_hub", f"E{i:012d}", "A1"), kind="new_hub",
                  entity_id=f"E{i:012d}", condition="A1", run_id="r2", previous_run_id="r1",
                  summary="newly at hub A1", change=Change(path_nodes=[f"E{i:012d}", "A1"]))
            for i in range(n)]


def _drain(hooks: WebhookStore, client: httpx.Client, limit_s: float = 60) -> dict[str, int]:
    total = {"attempted": 0, "delivered": 0, "retried": 0, "dead": 0}
    deadline = time.monotonic() + limit_s
    while hooks.status_counts()["pending"] and time.monotonic() < deadline:
        for k, v in hooks.deliver_due(client).items():
            total[k] += v
        time.sleep(0.01)
    return total


def test_a_flaky_receiver_loses_nothing(tmp_path: Path) -> None:
    hooks = WebhookStore(open_state(f"sqlite:///{tmp_path / 's.sqlite'}"), FAST)
    with FlakyReceiver("s3cret", fail_rate=0.3, seed=11) as receiver, httpx.Client() as client:
        hooks.register("k1", receiver.url, "s3cret")
        alerts = _alerts(100)
        assert hooks.enqueue(alerts) == 100
        assert hooks.enqueue(alerts) == 0  # idempotent: the same alerts make no new event
        totals = _drain(hooks, client)
    print(f"webhooks: attempted {totals['attempted']}, succeeded {totals['delivered']}, "
          f"retried {totals['retried']}, dead-lettered {totals['dead']}")
    assert hooks.status_counts() == {"pending": 0, "delivered": 100, "dead": 0}
    assert len(receiver.received) == 100 and set(receiver.received.values()) == {1}
    assert receiver.failed > 10 and totals["retried"] == receiver.failed
    assert totals["attempted"] == receiver.calls == 100 + receiver.failed
    assert receiver.bad_signatures == 0


def test_a_wrong_secret_is_dead_lettered(tmp_path: Path) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.005, max_delay_s=0.01, timeout_s=2.0)
    hooks = WebhookStore(open_state(f"sqlite:///{tmp_path / 's.sqlite'}"), policy)
    with FlakyReceiver("right", fail_rate=0.0) as receiver, httpx.Client() as client:
        hooks.register("k1", receiver.url, "wrong")
        hooks.enqueue(_alerts(2))
        totals = _drain(hooks, client)
    assert totals["dead"] == 2 and receiver.bad_signatures == 6
    dead = hooks.dead_letters()
    assert [d["attempts"] for d in dead] == [3, 3] and dead[0]["last_error"] == "HTTP 401"


def test_signature_and_back_off() -> None:
    sig = sign("k", "1700000000", b"{}")
    assert verify("k", "1700000000", b"{}", sig)
    assert not verify("k", "1700000001", b"{}", sig) and not verify("x", "1700000000", b"{}", sig)
    policy = RetryPolicy(base_delay_s=2, max_delay_s=60)
    assert [policy.delay(a) for a in (1, 2, 3, 6, 7)] == [2, 4, 8, 60, 60]
