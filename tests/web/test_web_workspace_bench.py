"""The benchmark's browser stage (bench/browser.py) on the tiny fixture run: it serves the run,
drives the page in Chromium and reports every step's timings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import browser
from risk.score import score_run
from tests.support.graph_fixture import build_tiny_run

pytestmark = pytest.mark.browser


def test_browser_stage_times_every_step(tmp_path: Path) -> None:
    assert browser.unavailable() is None, browser.unavailable()
    run = build_tiny_run(tmp_path)
    score_run(run)
    out = browser.run_stage(run, seed=3, samples=4)
    for step in browser.STEPS:
        n = out[f"browser_{step}_n"]
        p95 = out[f"browser_{step}_p95_ms"]
        if step == "path":  # only samples with an entity two hops away get a path
            assert n == 0 or (p95 is not None and p95 > 0), out
        else:
            assert n >= 1 and p95 is not None and 0 < p95 < 30_000, out
            assert out[f"browser_{step}_p50_ms"] <= p95
    assert isinstance(out["browser_all_p95_within_500ms"], bool)
