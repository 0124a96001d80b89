"""The benchmark's cage figures (bench/cage.py) are measured on a real audit trail: an answer
whose request has no entry is counted, and every tamper case is tried on a copy and detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.audit_tamper import CASES
from bench import cage
from tests.api.test_api_support import serve, tiny_run
from tests.support.graph_fixture import A1


def test_answers_without_an_entry_are_counted(tmp_path: Path) -> None:
    ids = [f"cage-{i}" for i in range(6)]
    with serve(tmp_path) as s:
        for rid in ids:
            assert s.get("/whoami", headers={"X-Request-ID": rid}).status_code == 200
        assert s.get("/healthz", headers={"X-Request-ID": "probe"}).status_code == 200
        log_path = s.settings.audit_path
    assert not cage.audited("/healthz") and cage.audited("/whoami")
    whole = cage.audit_coverage(ids, log_path)
    assert whole["answered"] == 6 and whole["answered_without_audit"] == 0
    assert whole["audit_entries"] >= 6
    # an answer the log does not hold, and one answered twice but logged once
    assert cage.audit_coverage([*ids, "never-logged", ids[0]], log_path)[
        "answered_without_audit"] == 2
    lines = log_path.read_text(encoding="ascii").splitlines()
    kept = [line for line in lines if json.loads(line)["request_id"] != ids[3]]
    log_path.write_text("".join(line + "\n" for line in kept), encoding="ascii")
    assert cage.audit_coverage(ids, log_path)["answered_without_audit"] == 1
    log_path.unlink()
    assert cage.audit_coverage(ids, log_path)["answered_without_audit"] == 6


def test_every_tamper_case_is_tried_on_a_copy_and_detected(tmp_path: Path) -> None:
    run = tiny_run(tmp_path / "run")
    with serve(tmp_path, run) as s:
        for i in range(480):
            if i % 12 == 0:
                r = s.post("/inspection/lookup", role="inspector",
                           json={"uscc": "91310000MA1000003E"})
            else:
                r = s.get(f"/entities/{A1}") if i % 2 else s.get("/whoami", role="admin")
            assert r.status_code == 200, r.text
        config = s.settings.audit_config
    before = config.log_path.read_bytes()
    out = cage.tamper_trial(config)
    assert out["audit_verify_ok"] is True
    assert out["tamper_cases_tried"] == len(CASES) == out["tamper_cases_detected"], out
    assert config.log_path.read_bytes() == before  # the cases edit copies only
    # a trail that fails as it is: no case counts as tried
    config.log_path.write_bytes(before[: before.rindex(b"\n", 0, len(before) - 1) + 1])
    broken = cage.tamper_trial(config)
    assert broken["audit_verify_ok"] is False and broken["tamper_cases_tried"] == 0


def test_the_cage_summary_takes_the_stage_figures() -> None:
    result = {"fuzz": {"requests_inspector": 5, "requests_admin": 7, "server_errors_500": 0,
                       "answered_without_audit": 0, "tamper_cases_tried": 6,
                       "tamper_cases_detected": 6},
              "resilience": {"frozen_first_503_s": 0.4, "recovered_without_restart": True},
              "api": {"lookup_id_p50_ms": 3.0, "raw_p50_ms": 1.2, "api_over_raw_p50": 2.5,
                      "raw_paced_p50_ms": 2.0, "api_over_raw_paced_p50": 1.5,
                      "lookup_id_b2b_p50_ms": 2.4, "api_b2b_over_raw_p50": 2.0,
                      "idle_penalty_p50": 1.6}}
    out = cage.summary(result)
    assert set(out) == set(cage.CAGE_KEYS)
    assert out["requests_fuzzed_inspector"] == 5 and out["requests_fuzzed_investigator"] is None
    assert out["tamper_cases_detected"] == 6 and out["frozen_first_503_s"] == 0.4
    assert out["api_over_raw_p50"] == 2.5 and out["recovered_without_restart"] is True
    assert out["raw_paced_p50_ms"] == 2.0 and out["api_over_raw_paced_p50"] == 1.5
    assert out["api_b2b_p50_ms"] == 2.4 and out["api_b2b_over_raw_p50"] == 2.0
    assert out["idle_penalty_p50"] == 1.6


def test_a_reused_bench_keeps_old_figures_but_not_old_skips_of_stages_run_now(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`scripts/bench --reuse-run --skip …`: the figures of stages not rerun stay those
    measured then, and a stage skipped then but measured now is no longer listed skipped."""
    from rich.console import Console

    from bench import run as bench_run

    monkeypatch.setattr(bench_run, "RESULTS", tmp_path)
    monkeypatch.setattr(bench_run, "neo4j_version", lambda: None)
    bench = bench_run.Bench("tiny", 7, {"risk"}, Console(quiet=True))
    bench.previous = {
        "api": {"lookup_id_p50_ms": 9.0, "raw_p50_ms": 1.0},
        "skipped": {"load": "skipped on request (--skip)", "fuzz": "skipped on request"},
    }
    bench.stage("load", "load", lambda: {"wall_s": 1.5})
    bench.stage("risk", "risk", lambda: {"wall_s": 9.9})
    result = bench.finish()
    assert result["load"]["wall_s"] == 1.5
    assert result["api"]["lookup_id_p50_ms"] == 9.0  # kept from the earlier run
    assert set(result["skipped"]) == {"risk", "fuzz"}  # load ran now: not skipped
    saved = json.loads((tmp_path / "tiny.json").read_text(encoding="utf-8"))
    assert set(saved["skipped"]) == {"risk", "fuzz"}
