"""bench.api_overhead times real lookups through the served app (real audit trail, real
embedded store) span by span, and the same lookups on the same store without HTTP."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from neo4j import Driver

from bench.api_overhead import SPANS, measure
from tests.api.test_api_support import tiny_run


def test_every_lookup_is_timed_audited_and_compared_with_the_raw_read(tmp_path: Path) -> None:
    before = dict(os.environ)
    run = tiny_run(tmp_path / "run")
    out = measure(run, neo4j=False, n=12, rate=200, warmup=3)
    assert dict(os.environ) == before  # the settings it served with are not left behind
    assert out["requests"] == 12 and out["store"] == "embedded"
    for name, _, _ in SPANS:
        assert 0 <= out[name]["p50"] <= out[name]["p99"], name
    # the answer waits for its entry: the audit wait covers the sync, the server every span
    assert out["audit_wait"]["p50"] > 0 and out["audit_sync"]["p50"] > 0
    assert out["server"]["p50"] >= out["lookup"]["p50"]
    assert out["audit_entries"] >= 15  # warm-up and measured lookups, each one entry
    assert 0 < out["raw"]["store_p50"] <= out["raw"]["inproc_p50"]
    assert out["client_over_raw_p50"] > 0 and out["server_cpu_ms"] > 0
    assert out["found_share"] == 1.0  # the run's own identifiers: every lookup a hit
    # and the raw read again at the client's rate, so both sides see the same idle gaps
    assert 0 < out["raw_paced"]["store_p50"] <= out["raw_paced"]["inproc_p50"]
    assert out["client_over_raw_paced_p50"] > 0


def test_neo4j_lookups_are_not_measured_on_a_graph_without_the_run(
        neo4j_clean: Driver, tmp_path: Path) -> None:
    """An empty graph (or another run's) would turn every sampled identifier into a miss,
    a cheaper read than a hit: the measurement is refused, naming the fix; once the run is
    loaded it goes ahead."""
    from bench.api_overhead import require_loaded
    from graph.neo4j.loader import publish_run

    run = tiny_run(tmp_path / "run")
    with pytest.raises(SystemExit, match=r"Neo4j holds run None \(None\), not .*load it"):
        require_loaded(run, neo4j_clean)
    publish_run(neo4j_clean, run, progress=False)
    require_loaded(run, neo4j_clean)


def test_paced_reads_arrive_at_the_rate_and_never_in_a_burst() -> None:
    import time

    from bench.serving import paced

    started = time.perf_counter()
    arrivals = [time.perf_counter() - started for _ in paced(range(6), 100.0)]
    # the i-th no sooner than i / rate seconds after the first
    assert all(at >= i / 100.0 for i, at in enumerate(arrivals))
    assert arrivals[-1] < 0.5
    started = time.perf_counter()
    assert list(paced(range(3), None)) == [0, 1, 2]
    assert time.perf_counter() - started < 0.05  # no rate: no sleeping


def test_the_idle_penalty_times_the_same_work_back_to_back_and_after_a_gap() -> None:
    import time

    from bench.serving import idle_penalty

    started = time.perf_counter()
    out = idle_penalty(gap_s=0.01, repeat=20)
    # 20 gaps of 10 ms were slept through (the paced half), none in the back-to-back half
    assert time.perf_counter() - started >= 0.2
    assert out["idle_work_b2b_p50_ms"] > 0 and out["idle_work_paced_p50_ms"] > 0
    assert out["idle_penalty_p50"] == round(
        out["idle_work_paced_p50_ms"] / out["idle_work_b2b_p50_ms"], 2)


def test_name_lookup_cpu_is_split_by_store_call(tmp_path: Path) -> None:
    from bench.api_overhead import name_cpu

    run = tiny_run(tmp_path / "run")
    out = name_cpu(run, neo4j=False, n=20)
    assert out["lookups"] == 20 and out["cpu_ms_per_lookup"] > 0
    calls = out["calls_per_lookup"]
    # each name lookup: the ranking once (and by the name key when no hit is clear), the
    # candidates' briefs once, the winner's risk at most once; never the detailed search
    assert 1 <= calls["rank_names"] <= 2 and calls["get_briefs"] == 1
    assert 0 < calls["get_risk"] <= 1 and "search" not in calls
    assert sum(out["cpu_ms_per_lookup_in"].values()) <= out["cpu_ms_per_lookup"]


def test_the_api_stage_sends_paced_and_back_to_back_lookups_to_a_served_api(
        tmp_path: Path) -> None:
    from bench.serving import B2B_REQUESTS, api_load, sample_subjects, serving

    run = tiny_run(tmp_path / "run")
    subjects = sample_subjects(run, 20, 7)
    with serving(["--run", str(run)]) as (url, key, _):
        out = api_load(url, key, subjects, duration_s=0.4, find_max=False)
    # 20 identifier and 20 name lookups at 50/s measured apart as the cold start, 20 and
    # 20 more, then the back-to-back ones, none failing
    assert out["errors"] == 0 and out["requests"] == 2 * (20 + 20) + B2B_REQUESTS
    assert out["cold_s"] == 0.4
    assert out["cold_lookup_id_p99_ms"] > 0 and out["cold_lookup_name_p99_ms"] > 0
    assert 0 < out["lookup_id_p50_ms"] <= out["lookup_id_p99_ms"]
    assert 0 < out["lookup_id_b2b_p50_ms"]
    assert "lookup_declaration_p50_ms" not in out  # none asked for


def test_the_api_stage_times_declarations_and_screens_of_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.serving as bench_serving

    monkeypatch.setattr(bench_serving, "SCREEN_SIZE", 3)
    monkeypatch.setattr(bench_serving, "SCREENS", 2)
    run = tiny_run(tmp_path / "run")
    subjects = bench_serving.sample_subjects(run, 20, 7)
    subjects["declaration"] = bench_serving.sample_declarations(run, 9, 7)
    assert all(set(d) == {"uscc", "customs_code", "declarant_id", "declarant_name"}
               for d in subjects["declaration"])
    with bench_serving.serving(["--run", str(run)]) as (url, key, _):
        out = bench_serving.api_load(url, key, subjects, duration_s=0.4, find_max=False)
    assert out["errors"] == 0 and out["screen_subjects"] == 3
    assert 0 < out["lookup_declaration_p50_ms"] <= out["lookup_declaration_p99_ms"]
    assert out["screen_p50_ms"] > 0


def test_screens_of_declarations_are_timed_with_identifiers_at_once_or_one_by_one(
        tmp_path: Path) -> None:
    from api.inspection import LookupService
    from bench.api_overhead import screen_time

    run = tiny_run(tmp_path / "run")
    real = LookupService.prefetched
    for one_by_one in (False, True):
        out = screen_time(run, neo4j=False, size=3, screens=2, one_by_one=one_by_one)
        assert out["screens"] == 2 and out["subjects_per_screen"] == 3
        assert 0 < out["screen_ms"]["p50"] <= out["screen_ms"]["p99"]
        assert out["identifiers"] == ("one by one" if one_by_one else "at once")
    assert LookupService.prefetched is real  # the comparison's switch is put back
