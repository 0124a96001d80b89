"""Abuse resistance on the real embedded store: request costs, heavy-route slots, failed-key
limits per client address (audited), request deadlines that stop the work."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.ratelimit import ConcurrencySlots, TokenBuckets
from tests.api.test_api_support import Served, serve


def _subjects(n: int) -> list[dict[str, str]]:
    return [{"name": f"不存在的贸易有限公司{i}"} for i in range(n)]


def _audit_lines(served: Served) -> list[dict[str, Any]]:
    path = served.settings.audit_path
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def test_a_screen_costs_one_request_per_subject(tmp_path: Path) -> None:
    with serve(tmp_path, rate_limit_rps=0.5, rate_limit_burst=20) as s:
        ok = s.post("/inspection/screen", role="inspector", json={"subjects": _subjects(20)})
        assert ok.status_code == 200, ok.text
        # the 20 subjects emptied the bucket: even /whoami must wait now
        after = s.get("/whoami", role="inspector")
        assert after.status_code == 429
        assert int(after.headers["Retry-After"]) >= 1
        # another key is not affected
        assert s.get("/whoami", role="investigator").status_code == 200


def test_a_screen_dearer_than_the_bucket_is_charged_in_full(tmp_path: Path) -> None:
    with serve(tmp_path, rate_limit_rps=1, rate_limit_burst=10) as s:
        ok = s.post("/inspection/screen", role="inspector", json={"subjects": _subjects(40)})
        assert ok.status_code == 200, ok.text
        refused = s.get("/whoami", role="inspector")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 25  # 30 tokens of debt at 1/s
        second = s.post("/inspection/screen", role="inspector", json={"subjects": _subjects(2)})
        assert second.status_code == 429


def test_token_buckets_charge_costs_and_debt() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=10, burst=5, clock=lambda: now[0])
    assert buckets.take("k", 5) == 0
    assert buckets.take("k", 1) > 0
    now[0] += 0.5  # five tokens back
    assert buckets.take("k", 20) == 0  # a full bucket admits a dearer request, in debt
    wait = buckets.take("k", 1)
    assert 1.4 < wait < 1.7  # 15 of debt, then one token, at 10/s
    assert buckets.wait("other") == 0


def test_heavy_routes_admit_a_few_requests_per_key(tmp_path: Path) -> None:
    with serve(tmp_path, heavy_concurrency=1) as s:
        services = s.client.app.state.services  # type: ignore[attr-defined]
        key_id = s.key_ids["inspector"]
        assert services.slots.acquire(key_id, "screen")  # one screen of this key in flight
        try:
            busy = s.post("/inspection/screen", role="inspector",
                          json={"subjects": _subjects(1)})
            assert busy.status_code == 429, busy.text
            assert busy.json()["code"] == "rate_limited"
            assert busy.headers["Retry-After"] == "1"
            # light routes and other keys are not held up
            assert s.post("/inspection/lookup", role="inspector",
                          json={"name": "某某公司"}).status_code == 200
            assert s.post("/inspection/screen", role="investigator",
                          json={"subjects": _subjects(1)}).status_code == 200
        finally:
            services.slots.release(key_id, "screen")
        assert s.post("/inspection/screen", role="inspector",
                      json={"subjects": _subjects(1)}).status_code == 200
        assert services.slots.held(key_id, "screen") == 0  # released after the answer


def test_concurrency_slots_count_per_key_and_group() -> None:
    slots = ConcurrencySlots(2)
    assert slots.acquire("k", "paths") and slots.acquire("k", "paths")
    assert not slots.acquire("k", "paths")
    assert slots.acquire("k", "network") and slots.acquire("j", "paths")
    slots.release("k", "paths")
    assert slots.acquire("k", "paths")


def test_failed_keys_are_limited_per_address_and_audited(tmp_path: Path) -> None:
    with serve(tmp_path, auth_failure_burst=3, auth_failures_per_minute=1) as s:
        good = {"X-API-Key": s.keys["inspector"]}
        wrong = f"gl_{s.key_ids['inspector']}_notthesecret"
        for _ in range(3):
            assert s.client.get("/whoami", headers={"X-API-Key": wrong}).status_code == 401
        blocked = s.client.get("/whoami", headers={"X-API-Key": wrong})
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
        # the address is blocked for every key, the right one included
        assert s.client.get("/whoami", headers=good).status_code == 429
        # another address is not
        with TestClient(s.client.app, client=("10.0.0.9", 4000)) as other:
            assert other.get("/whoami", headers=good).status_code == 200
        # every refusal has its one entry (the audit middleware), naming the claimed key and
        # the client address
        failures = [e for e in _audit_lines(s)
                    if e.get("endpoint") == "/whoami" and e.get("client") == "testclient"]
        assert [e["status"] for e in failures] == [401, 401, 401, 429, 429]
        assert [e["outcome"] for e in failures[:3]] == ["denied"] * 3
        assert failures[0]["claimed_key_id"] == s.key_ids["inspector"]


def test_a_missing_key_is_not_counted_as_a_failed_guess(tmp_path: Path) -> None:
    with serve(tmp_path, auth_failure_burst=2) as s:
        for _ in range(5):
            assert s.client.get("/whoami").status_code == 401
        assert s.get("/whoami", role="inspector").status_code == 200


def test_a_request_past_its_deadline_gets_503_and_its_work_stops(tmp_path: Path) -> None:
    with serve(tmp_path, long_request_timeout_s=0.05, rate_limit_burst=5000) as s:
        services = s.client.app.state.services  # type: ignore[attr-defined]
        started = time.monotonic()
        answer = s.post("/inspection/screen", role="inspector",
                        json={"subjects": _subjects(1000)})
        took = time.monotonic() - started
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "timeout"
        assert answer.headers["Retry-After"] == "1"
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert took < 2.5
        time.sleep(0.3)  # the worker thread notices the deadline at its next subject
        done = services.metrics.screened_subjects._value.get()
        time.sleep(0.5)
        assert services.metrics.screened_subjects._value.get() == done, "the work went on"
        assert done < 1000
        # the service is free again at once
        assert s.post("/inspection/lookup", role="inspector",
                      json={"name": "某某公司"}).status_code == 200
