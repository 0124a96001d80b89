"""Answers of the inspection draws, outcomes and report (API and CLI alike)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from graph.models import Path
from inspection.draw import ClassCount, DrawnTarget, DrawParams
from inspection.roster import ResolvedInspector
from inspection.text import Findings

Result = Literal["pass", "fail"]


class ExcludedConflict(BaseModel):
    entity_id: str
    inspector: str
    person_id: str
    path: Path = Field(description="why: the inspector's person node to the firm, <= 2 hops")


class Draw(BaseModel):
    """A draw as published: its parameters, seed and class file (enough to recompute it), its
    targets with their inspectors, and the conflicts it excluded."""

    id: int | None = None
    request_id: str | None = None
    run_id: str
    created_by: str | None = None
    created_at: datetime | None = None
    algorithm: str = "sha256-keys-v1"
    params: DrawParams
    classes: dict[str, Any] = Field(description="the class file the draw used")
    population: int
    counts: list[ClassCount]
    targets: list[DrawnTarget]
    inspectors: list[ResolvedInspector] = Field(
        default_factory=list, description="the roster as resolved against the graph's persons")
    unresolved: list[str] = Field(default_factory=list,
                                  description="codes of inspectors not found among persons")
    conflicts: list[ExcludedConflict] = Field(default_factory=list)
    understaffed: list[str] = Field(
        default_factory=list, description="targets with fewer inspectors than asked")


class NoticeRow(BaseModel):
    """One line of the public notice (一公开): no risk score, no reasons."""

    entity_name: str
    uscc: str | None
    risk_class: str
    inspectors: list[str] = Field(description="assigned inspectors: name (code)")


class Notice(BaseModel):
    draw_id: int
    run_id: str
    seed: int
    created_at: datetime | None
    rows: list[NoticeRow]


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("a number is needed, not true / false")
    return value


class OutcomeIn(BaseModel):
    request_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$",
                            description="the request ID of the lookup or draw that led here")
    entity_id: str = Field(pattern=r"^E[0-9a-f]{12}$", description="the inspected enterprise")
    result: Result
    findings: Findings = ""
    inspected_on: date
    draw_id: Annotated[int | None, BeforeValidator(_not_bool)] = Field(
        default=None, ge=1, le=2**31 - 1,
                                description="the draw (else found by its request ID)")


class Outcome(BaseModel):
    id: int
    source_request_id: str
    draw_id: int | None
    entity_id: str
    result: Result
    findings: str
    inspected_on: date
    score: float | None
    level: str | None
    risk_class: str | None
    part: str | None
    recorded_by: str
    recorded_at: datetime
    request_id: str


class HitRate(BaseModel):
    group: str
    n: int
    failures: int
    hit_rate: float | None = Field(description="failures / n (None when n = 0)")


class Report(BaseModel):
    """Hit rates (share of inspections that failed) of the recorded outcomes."""

    outcomes: int
    thresholds: dict[str, Any] = Field(description="the recommendation thresholds applied")
    by_recommendation: list[HitRate]
    by_class: list[HitRate]
    by_decile: list[HitRate] = Field(description="score bands of 10 points: 0-10 .. 90-100")
    by_part: list[HitRate] = Field(description="weighted / uniform part of a draw, or lookup")
    by_month: list[HitRate]
    weighted_vs_uniform: float | None = Field(
        description="hit rate of the weighted part / hit rate of the uniform part")
