"""The risk worklist: scored entities ranked by score, filtered and paged (graph.worklist)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import StringConstraints

from api.context import returned
from api.deps import AsInvestigator, ServicesDep, StoreDep
from api.errors import InvalidParameter, NotFound
from api.openapi import AUTH, problems
from graph.models import RiskLevel
from graph.store import EntityKind
from graph.worklist import (
    MAX_LIMIT,
    MAX_OFFSET,
    RULE_PATTERN,
    ScoreKind,
    WorklistPage,
    WorklistQuery,
    changed_entities,
)

router = APIRouter(prefix="/risk", tags=["risk worklist"], responses=problems(*AUTH))
Many = Annotated[list[str] | None, Query(max_length=50)]
RuleName = Annotated[str, StringConstraints(pattern=RULE_PATTERN.pattern)]
IsoDate = Annotated[str | None, Query(max_length=10, json_schema_extra={"format": "date"},
                                      description="YYYY-MM-DD, inclusive")]
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RUN_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


def _run_folder(runs_dir: Path, name: str) -> Path:
    """A run folder under the jobs' runs directory, by its folder name (no path tricks)."""
    folder = runs_dir / name
    if "/" in name or "\\" in name or name.startswith(".") or not folder.is_dir():
        raise NotFound(f"no run folder {name!r} under the runs directory")
    return folder


@router.get("/entities", response_model=WorklistPage, responses=problems(404),
            summary="Scored entities ranked by score (desc, ties by ID), filtered and paged")
def worklist(
    _: AsInvestigator, store: StoreDep, services: ServicesDep,
    kind: Annotated[list[EntityKind] | None, Query()] = None,
    level: Annotated[list[RiskLevel] | None, Query()] = None,
    rule: Annotated[list[RuleName] | None, Query(max_length=50)] = None,
    province: Many = None, city: Many = None,
    agency: Annotated[list[str] | None, Query(
        max_length=50, description="source name of a triggering event")] = None,
    event_from: IsoDate = None, event_to: IsoDate = None,
    changed_since: Annotated[str | None, Query(
        pattern=RUN_NAME, description="a run folder name under the runs directory: only "
        "entities whose score or level changed since it (or that it did not score)")] = None,
    min_score: Annotated[float, Query(ge=0, le=100)] = 0.0,
    score: Annotated[ScoreKind, Query(
        description="rank by the rule score (rules) or the learned score (learned: only "
        "entities that have one; level filters its level)")] = "rules",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> WorklistPage:
    for value in rule or ():
        if not RULE_PATTERN.match(value):
            raise InvalidParameter("query.rule", f"{value!r} is not a rule name (a-z, 0-9, _)")
    days: dict[str, date | None] = {}
    for name, text in (("event_from", event_from), ("event_to", event_to)):
        try:
            if text is not None and not ISO_DAY.match(text):
                raise ValueError(text)
            days[name] = date.fromisoformat(text) if text is not None else None
        except ValueError as exc:
            raise InvalidParameter(f"query.{name}", f"{text!r} is not a date") from exc
    ids: tuple[str, ...] | None = None
    if changed_since is not None:
        current = services.stores.run_dir
        if current is None:
            raise NotFound("the served run has no run folder to compare with")
        ids = changed_entities(Path(current), _run_folder(services.settings.runs_dir,
                                                          changed_since))
    query = WorklistQuery(
        kinds=tuple(kind or ()), levels=tuple(level or ()), rules=tuple(rule or ()),
        provinces=tuple(province or ()), cities=tuple(city or ()), sources=tuple(agency or ()),
        event_from=days["event_from"], event_to=days["event_to"], entity_ids=ids,
        min_score=min_score, score=score, limit=limit, offset=offset,
    )
    return returned(store.worklist(query))
