"""The risk worklist: scored entities ranked by score, filtered and paged (graph.worklist)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query

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
    WorklistPage,
    WorklistQuery,
    changed_entities,
)

router = APIRouter(prefix="/risk", tags=["risk worklist"], responses=problems(*AUTH))
Many = Annotated[list[str] | None, Query(max_length=50)]


def _run_folder(runs_dir: Path, name: str) -> Path:
    """A run folder under the jobs' runs directory, by its folder name (no path tricks)."""
    folder = runs_dir / name
    if "/" in name or "\\" in name or name.startswith(".") or not folder.is_dir():
        raise NotFound(f"no run folder {name!r} under the runs directory")
    return folder


@router.get("/entities", response_model=WorklistPage,
            summary="Scored entities ranked by score (desc, ties by ID), filtered and paged")
def worklist(
    _: AsInvestigator, store: StoreDep, services: ServicesDep,
    kind: Annotated[list[EntityKind] | None, Query()] = None,
    level: Annotated[list[RiskLevel] | None, Query()] = None,
    rule: Many = None, province: Many = None, city: Many = None,
    agency: Annotated[list[str] | None, Query(
        max_length=50, description="source name of a triggering event")] = None,
    event_from: date | None = None, event_to: date | None = None,
    changed_since: Annotated[str | None, Query(
        description="a run folder name under the runs directory: only entities whose score "
                    "or level changed since it (or that it did not score)")] = None,
    min_score: Annotated[float, Query(ge=0, le=100)] = 0.0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> WorklistPage:
    for value in rule or ():
        if not RULE_PATTERN.match(value):
            raise InvalidParameter("query.rule", f"{value!r} is not a rule name (a-z, 0-9, _)")
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
        event_from=event_from, event_to=event_to, entity_ids=ids, min_score=min_score,
        limit=limit, offset=offset,
    )
    return returned(store.worklist(query))
