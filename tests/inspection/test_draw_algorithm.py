"""The draw algorithm: reproducible from its published parameters and seed (recomputed here by
an independent reading of the documented rule), shares by class rate, the uniform part, the
population filter, and the class file's errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from inspection.config import load_classes
from inspection.draw import DrawParams, allocate, draw_targets
from inspection.population import Population, PopulationFilter, select

CLASSES = load_classes()


def _population(sizes: dict[str, int]) -> Population:
    rows = []
    n = 0
    for cls, size in sizes.items():
        for _ in range(size):
            n += 1
            rows.append({"entity_id": f"E{n:012x}", "kind": "Enterprise", "name": f"公司{n}食品",
                         "uscc": None, "customs_code": None,
                         "province": "上海市" if n % 2 else "浙江省", "city": None,
                         "status": "存续" if n % 3 else "注销",
                         "sources": ["registry_enterprises"] if n % 5 else ["credit_blacklist"],
                         "score": {"A": 0.0, "B": 15.0, "C": 40.0, "D": 70.0}[cls],
                         "level": "low", "risk_class": cls})
    return Population("run_x", pd.DataFrame(rows))


def _recompute(pool: pd.DataFrame, seed: int, n: int, uniform_share: float,
               rates: dict[str, float]) -> set[str]:
    """The documented algorithm written again from the docstring (uniform part, then shares
    by |class| x rate with the largest remainder, lowest SHA-256 keys)."""
    def k(part: str, e: str) -> str:
        return hashlib.sha256(f"{seed}|{part}|{e}".encode()).hexdigest()

    ids = sorted(pool["entity_id"])
    u = int(n * uniform_share + 0.5)
    uniform = sorted(ids, key=lambda e: (k("uniform", e), e))[:u]
    chosen = set(uniform)
    rest = {c: [e for e in pool.loc[pool["risk_class"] == c, "entity_id"] if e not in chosen]
            for c in rates}
    seats = allocate(n - u, {c: len(v) for c, v in rest.items()}, rates, list(rates))
    for c, members in rest.items():
        chosen |= set(sorted(members, key=lambda e: (k(f"class:{c}", e), e))[:seats[c]])
    return chosen


def test_same_seed_same_draw_other_seed_other_draw() -> None:
    pool = select(_population({"A": 400, "B": 200, "C": 100, "D": 50}), PopulationFilter())
    first, _ = draw_targets(pool, DrawParams(seed=42, targets=60), CLASSES)
    again, _ = draw_targets(pool.sample(frac=1.0, random_state=3), DrawParams(seed=42, targets=60),
                            CLASSES)
    other, _ = draw_targets(pool, DrawParams(seed=43, targets=60), CLASSES)
    assert [t.entity_id for t in first] == [t.entity_id for t in again]  # row order irrelevant
    assert {t.entity_id for t in first} != {t.entity_id for t in other}
    assert len(first) == len({t.entity_id for t in first}) == 60


def test_anyone_can_recompute_the_draw_from_its_parameters() -> None:
    pool = select(_population({"A": 300, "B": 120, "C": 60, "D": 30}), PopulationFilter())
    params = DrawParams(seed=20260101, targets=45, uniform_share=0.2)
    targets, _ = draw_targets(pool, params, CLASSES)
    rates = {c: s.rate for c, s in CLASSES.classes.items()}
    assert {t.entity_id for t in targets} == _recompute(pool, 20260101, 45, 0.2, rates)


def test_weighted_part_follows_class_rates_and_uniform_part_is_the_share() -> None:
    pool = select(_population({"A": 1000, "B": 400, "C": 200, "D": 100}), PopulationFilter())
    targets, counts = draw_targets(pool, DrawParams(seed=1, uniform_share=0.0), CLASSES)
    by_class = {c.risk_class: c.weighted for c in counts}
    # no target count: each class its rate of its size (A 2%, B 5%, C 15%, D 40%)
    assert by_class == {"A": 20, "B": 20, "C": 30, "D": 40}
    assert all(t.part == "weighted" for t in targets)
    mixed, counts = draw_targets(pool, DrawParams(seed=1, targets=100, uniform_share=0.3),
                                 CLASSES)
    assert sum(t.part == "uniform" for t in mixed) == 30 == sum(c.uniform for c in counts)
    weighted = {c.risk_class: c.weighted for c in counts}
    assert sum(weighted.values()) == 70
    # D is 100x as dense in the weighted part as A (0.40 vs 0.02 of each class left)
    left = {c.risk_class: c.population - c.uniform for c in counts}
    assert weighted["D"] / left["D"] > 10 * weighted["A"] / left["A"]


def test_a_class_never_gets_more_than_it_holds() -> None:
    assert allocate(50, {"A": 100, "D": 5}, {"A": 0.02, "D": 0.4}, ["A", "D"]) == {"A": 45,
                                                                                   "D": 5}
    assert allocate(10, {"A": 3}, {"A": 0.0}, ["A"]) == {"A": 3}


def test_population_filter() -> None:
    population = _population({"A": 30, "D": 30})
    pool = select(population, PopulationFilter(provinces=("上海市",), statuses=("存续",),
                                               sources=("credit_blacklist",)))
    assert len(pool) > 0
    assert set(pool["province"]) == {"上海市"} and set(pool["status"]) == {"存续"}
    assert all("credit_blacklist" in s for s in pool["sources"])
    assert len(select(population, PopulationFilter(industries=("纺织",)))) == 0
    assert len(select(population, PopulationFilter(kinds=("Person",)))) == 0


def test_unknown_class_in_rates_is_refused() -> None:
    pool = select(_population({"A": 10}), PopulationFilter())
    with pytest.raises(ValueError, match="unknown class"):
        draw_targets(pool, DrawParams(seed=1, rates={"Z": 0.5}), CLASSES)


def test_a_bad_class_file_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "classes.yaml"
    bad.write_text("classes: {A: {rate: 2.0}}\nby_score: [{class: A, min_score: 0}]\n",
                   encoding="utf-8")
    with pytest.raises(ValueError, match=r"classes.yaml: classes.A.rate"):
        load_classes(bad)
    bad.write_text("classes: {A: {rate: 0.1}}\nby_score: [{class: B, min_score: 0}]\n",
                   encoding="utf-8")
    with pytest.raises(ValueError, match="unknown class"):
        load_classes(bad)
