"""The benchmark's peak memory of a child is the child's own, not its parent's: Linux carries a
parent's resident size across fork + exec into the child's `ru_maxrss`."""

from __future__ import annotations

import sys

from bench.machine import child_peak_mb, vm_hwm_mb, vm_rss_mb
from bench.stages import run_child


def test_a_small_child_of_a_large_parent_reports_its_own_peak() -> None:
    ballast = bytearray(600 * 2**20)
    for i in range(0, len(ballast), 4096):  # touch every page: the parent is resident
        ballast[i] = 1
    assert vm_rss_mb() > 600
    child = run_child([sys.executable, "-c", "import time; time.sleep(0.3)"])
    assert child.returncode == 0
    assert 0 < child.peak_rss_mb < 300, child.peak_rss_mb
    big = run_child([sys.executable, "-c",
                     "b = bytearray(900 * 2**20)\nfor i in range(0, len(b), 4096): b[i] = 1"])
    assert big.peak_rss_mb > 850, big.peak_rss_mb  # above the parent: rusage is the child's
    del ballast


def test_child_peak_rule_and_own_high_water_mark() -> None:
    assert child_peak_mb(2_000 * 1024, parent_rss_at_spawn_mb=2_000, polled_hwm_mb=300) == 300
    assert child_peak_mb(3_000 * 1024, parent_rss_at_spawn_mb=2_000, polled_hwm_mb=2_900) == 3000
    own = vm_hwm_mb()
    assert own is not None and own >= vm_rss_mb() > 0
