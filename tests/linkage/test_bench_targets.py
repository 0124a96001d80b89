"""The linkage-profiles bench stage judges each profile against the issue's targets."""

from __future__ import annotations

from bench.profiles import non_default_profiles, targets_met


def test_targets_met_and_missed() -> None:
    good = {"f1_enterprise": 0.995, "f1_person": 0.96, "baseline_f1_person": 0.90,
            "namesake_false_merge_rate": 0.004, "crashed": False}
    assert all(targets_met(good).values())
    close = {**good, "baseline_f1_person": 0.92}  # person F1 only 0.04 above plain Splink
    assert targets_met(close) == {**targets_met(good), "person_beats_baseline": False}
    crashed = {"crashed": True, "f1_enterprise": None, "f1_person": None}
    assert not any(targets_met(crashed).values())


def test_the_stage_covers_at_least_three_profiles() -> None:
    assert len(non_default_profiles()) >= 3
    assert "default" not in non_default_profiles()
