"""The risk-weighted random draw (双随机): which firms, reproducible from its published
parameters and seed.

Algorithm (anyone can recompute it from the published parameters, the class of each firm and
the seed; SHA-256 over UTF-8 text, lowest hex digest first, ties by entity ID):

1. The population: the filtered firms (`inspection.population`), each with its risk class.
2. The size N: the requested number of targets (at most the population), else
   Σ_class round_half_up(|class| × rate(class)).
3. The uniform part: U = round_half_up(N × uniform_share) firms of the whole population with
   the lowest key sha256("<seed>|uniform|<entity_id>").
4. The weighted part: N − U firms among the rest, shared among the classes in proportion to
   |class left| × rate(class) (largest remainder; leftover seats go by the largest fraction,
   then to the riskier class; a class never gets more than it holds, its surplus is shared
   again among the others); in each class the firms with the lowest key
   sha256("<seed>|class:<class>|<entity_id>").
5. Inspectors (`inspection.assign`): per target in entity ID order, the eligible inspectors
   not connected to the firm, by fewest targets so far, then lowest key
   sha256("<seed>|inspector:<entity_id>|<inspector code>").
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from inspection.config import ClassConfig
from inspection.population import PopulationFilter

Part = Literal["uniform", "weighted"]
MAX_TARGETS = 100_000
MAX_SEED = 2**53


class DrawParams(BaseModel):
    """Everything the draw depends on besides the run and the class file: published with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    filter: PopulationFilter = Field(default_factory=PopulationFilter)
    targets: int | None = Field(
        default=None, ge=1, le=MAX_TARGETS,
        description="how many firms to draw; absent: each class's rate of its size")
    rates: dict[str, float] = Field(
        default_factory=dict, max_length=20,
        description="sampling rate per class replacing the class file's (e.g. {\"D\": 0.5})")
    uniform_share: float = Field(
        default=0.2, ge=0.0, le=1.0,
        description="share of the targets drawn uniformly from the whole population "
        "(the control group the weighted part is measured against)")
    seed: int = Field(ge=0, le=MAX_SEED, description="the published seed")
    inspectors_per_target: int = Field(default=2, ge=0, le=5)

    @field_validator("rates")
    @classmethod
    def _rates(cls, rates: dict[str, float]) -> dict[str, float]:
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate of class {name!r} must be within 0..1, got {rate}")
        return rates


class DrawnTarget(BaseModel):
    position: int
    entity_id: str
    kind: str
    name: str
    uscc: str | None
    customs_code: str | None
    province: str | None
    risk_class: str
    score: float
    level: str
    part: Part
    inspectors: list[str] = Field(default_factory=list)


class ClassCount(BaseModel):
    risk_class: str
    rate: float
    population: int
    uniform: int
    weighted: int


def key(seed: int, part: str, entity_id: str) -> str:
    """The draw key: the lowest keys are drawn."""
    return hashlib.sha256(f"{seed}|{part}|{entity_id}".encode()).hexdigest()


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5 + 1e-9))


def rates_of(params: DrawParams, classes: ClassConfig) -> dict[str, float]:
    unknown = sorted(set(params.rates) - set(classes.classes))
    if unknown:
        raise ValueError(f"rates: unknown class(es) {', '.join(unknown)}; declared: "
                         + ", ".join(classes.classes))
    return {c: params.rates.get(c, spec.rate) for c, spec in classes.classes.items()}


def allocate(seats: int, sizes: dict[str, int], rates: dict[str, float],
             order: list[str]) -> dict[str, int]:
    """`seats` shared among classes in proportion to size × rate (largest remainder, capped
    at each class's size, the riskier class first on equal fractions)."""
    out = {c: 0 for c in order}
    left = min(seats, sum(sizes.values()))
    open_ = [c for c in order if sizes.get(c, 0) > 0]
    while left > 0 and open_:
        weights = {c: sizes[c] * rates.get(c, 0.0) for c in open_}
        total = sum(weights.values())
        if total <= 0:  # no rate left: share by size
            weights = {c: float(sizes[c]) for c in open_}
            total = sum(weights.values())
        quota = {c: left * w / total for c, w in weights.items()}
        full = [c for c in open_ if quota[c] >= sizes[c] - out[c]]
        if full:
            for c in full:
                left -= sizes[c] - out[c]
                out[c] = sizes[c]
            open_ = [c for c in open_ if c not in full]
            continue
        base = {c: math.floor(quota[c] + 1e-9) for c in open_}
        for c in open_:
            out[c] += base[c]
        spare = left - sum(base.values())
        ranked = sorted(open_, key=lambda c: (-(quota[c] - base[c]), -order.index(c)))
        for c in ranked[:spare]:
            out[c] += 1
        left = 0
    return out


def draw_targets(pool: pd.DataFrame, params: DrawParams, classes: ClassConfig
                 ) -> tuple[list[DrawnTarget], list[ClassCount]]:
    """The drawn firms (uniform part first, then each class, each by key) and the count per
    class. `pool` = the filtered population (inspection.population.select)."""
    rates = rates_of(params, classes)
    order = classes.order
    ids = list(pool["entity_id"])
    by_class = {c: list(pool.loc[pool["risk_class"] == c, "entity_id"]) for c in order}
    if params.targets is not None:
        n = min(params.targets, len(ids))
    else:
        n = sum(round_half_up(len(by_class[c]) * rates[c]) for c in order)
    n_uniform = round_half_up(n * params.uniform_share)
    uniform = sorted(ids, key=lambda e: (key(params.seed, "uniform", e), e))[:n_uniform]
    taken = set(uniform)
    rest = {c: [e for e in by_class[c] if e not in taken] for c in order}
    seats = allocate(n - n_uniform, {c: len(v) for c, v in rest.items()}, rates, order)
    chosen: list[tuple[str, Part]] = [(e, "uniform") for e in uniform]
    for c in order:
        picked = sorted(rest[c], key=lambda e: (key(params.seed, f"class:{c}", e), e))
        chosen.extend((e, "weighted") for e in picked[:seats[c]])
    rows = pool.set_index("entity_id")
    targets = []
    for position, (entity_id, part) in enumerate(chosen, start=1):
        r = rows.loc[entity_id]
        targets.append(DrawnTarget(
            position=position, entity_id=entity_id, kind=str(r["kind"]), name=str(r["name"]),
            uscc=_text(r["uscc"]), customs_code=_text(r["customs_code"]),
            province=_text(r["province"]), risk_class=str(r["risk_class"]),
            score=_number(r["score"]), level=str(r["level"]), part=part))
    uniform_by_class = pd.Series([rows.loc[e, "risk_class"] for e in uniform],
                                 dtype="object").value_counts().to_dict()
    counts = [ClassCount(risk_class=c, rate=rates[c], population=len(by_class[c]),
                         uniform=int(uniform_by_class.get(c, 0)), weighted=seats[c])
              for c in order]
    return targets, counts


def _number(value: Any) -> float:
    return float(value)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)
