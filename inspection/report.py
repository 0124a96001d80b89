"""Measured precision: hit rates (failed inspections / inspections) of the recorded outcomes
by recommendation (under the thresholds of `inspection/recommend.yaml`, from the score and
level stored with each outcome), by risk class, by score band, by draw part (the weighted
part vs the uniform control group; outcomes not from a draw are `lookup`) and by month."""

from __future__ import annotations

from collections.abc import Callable

from inspection.config import Thresholds
from inspection.models import HitRate, Outcome, Report

RECOMMENDATIONS = ("inspect", "document_check", "release")


def _band(score: float | None) -> str:
    low = min(int((score or 0.0) // 10) * 10, 90)
    return f"{low:02d}-{low + 10}"


def _rates(outcomes: list[Outcome], group: Callable[[Outcome], str],
           order: tuple[str, ...] = ()) -> list[HitRate]:
    counts: dict[str, list[int]] = {g: [0, 0] for g in order}
    for o in outcomes:
        c = counts.setdefault(group(o), [0, 0])
        c[0] += 1
        c[1] += o.result == "fail"
    keys = list(order) + sorted(k for k in counts if k not in order)
    return [HitRate(group=k, n=counts[k][0], failures=counts[k][1],
                    hit_rate=round(counts[k][1] / counts[k][0], 4) if counts[k][0] else None)
            for k in keys]


def build_report(outcomes: list[Outcome], thresholds: Thresholds) -> Report:
    by_part = _rates(outcomes, lambda o: o.part or "lookup", ("weighted", "uniform", "lookup"))
    rate = {h.group: h.hit_rate for h in by_part}
    weighted, uniform = rate.get("weighted"), rate.get("uniform")
    return Report(
        outcomes=len(outcomes), thresholds=thresholds.model_dump(),
        by_recommendation=_rates(outcomes, lambda o: thresholds.recommend(o.score, o.level),
                                 RECOMMENDATIONS),
        by_class=_rates(outcomes, lambda o: o.risk_class or "unknown"),
        by_decile=_rates(outcomes, lambda o: _band(o.score)),
        by_part=by_part,
        by_month=_rates(outcomes, lambda o: o.inspected_on.strftime("%Y-%m")),
        weighted_vs_uniform=(round(weighted / uniform, 4)
                             if weighted is not None and uniform else None),
    )
