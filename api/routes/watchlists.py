"""Watchlists of the calling key's owner: an entity, a set uploaded by USCC / resident ID /
name (resolved through the lookup service into matched / ambiguous / unmatched), or a pattern
(a rule and a region, a level threshold, any new link to a blacklisted entity)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from alerts.state.store import Missing
from api.context import returned
from api.deps import AsInvestigator, ServicesDep, StoreDep
from api.errors import NotFound
from api.inspection import LookupAnswer, LookupService, Subject
from api.openapi import AUTH, problems
from api.validation import PRINTABLE_SCHEMA, Printable
from graph.models import RiskLevel
from graph.store import GraphReader

router = APIRouter(prefix="/watchlists", tags=["watchlists"],
                   responses=problems(*AUTH, 400, 404, 413))
MAX_UPLOAD = 1000


class ByUscc(BaseModel):
    """A firm by its unified social credit code (and name)."""

    uscc: Printable = Field(min_length=1, max_length=40, json_schema_extra=PRINTABLE_SCHEMA)
    name: Printable | None = Field(default=None, min_length=1, max_length=200,
                                   json_schema_extra=PRINTABLE_SCHEMA)


class ByResidentId(BaseModel):
    """A person by resident ID number (and name)."""

    id_number: Printable = Field(min_length=1, max_length=40,
                                 json_schema_extra=PRINTABLE_SCHEMA)
    name: Printable | None = Field(default=None, min_length=1, max_length=100,
                                   json_schema_extra=PRINTABLE_SCHEMA)


class ByName(BaseModel):
    """A firm by name alone."""

    name: Printable = Field(min_length=1, max_length=200, json_schema_extra=PRINTABLE_SCHEMA)


Upload = ByUscc | ByResidentId | ByName


class Pattern(BaseModel):
    """Alerts to follow: of this rule and region, at or above this level, or any new link to
    a blacklisted entity (all given conditions at once; none = every alert)."""

    rule: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,40}$")
    province: str | None = Field(default=None, max_length=40)
    city: str | None = Field(default=None, max_length=40)
    min_level: RiskLevel | None = None
    blacklist_link: bool = Field(default=False, strict=True,
                                 description="any new link to a blacklisted entity")


class EntityWatch(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["entity"]
    entity_id: str = Field(min_length=1, max_length=40)


class SetWatch(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["set"]
    subjects: list[Upload] = Field(min_length=1, max_length=MAX_UPLOAD)


class PatternWatch(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["pattern"]
    pattern: Pattern


NewWatchlist = Annotated[EntityWatch | SetWatch | PatternWatch, Field(discriminator="kind")]


class WatchItem(BaseModel):
    entity_id: str | None
    status: Literal["matched", "ambiguous", "unmatched"]
    query: dict[str, Any]


class Watchlist(BaseModel):
    id: int
    owner: str
    name: str
    kind: str
    spec: dict[str, Any]
    counts: dict[str, int]
    items: list[WatchItem]


class WatchlistList(BaseModel):
    items: list[Watchlist]


def subject_of(row: Upload) -> Subject:
    """An uploaded row as the inspection lookup's subject."""
    if isinstance(row, ByResidentId):
        fields = {"declarant_id": row.id_number, "declarant_name": row.name}
    elif isinstance(row, ByUscc):
        fields = {"uscc": row.uscc, "name": row.name}
    else:
        fields = {"name": row.name}
    return Subject.model_validate({k: v for k, v in fields.items() if v is not None})


def resolve_all(lookup: LookupService, store: GraphReader, rows: Sequence[Upload]
                ) -> list[dict[str, Any]]:
    """The uploaded rows through the lookup service, their identifiers read at once (as a
    screen's: one round trip per batch on Neo4j instead of one per row)."""
    answers = lookup.lookup_all(store, [subject_of(row) for row in rows])
    return [item(row, answer) for row, answer in zip(rows, answers, strict=True)]


def item(row: Upload, answer: LookupAnswer) -> dict[str, Any]:
    """An uploaded row's item: matched (one entity), ambiguous (several candidates, none
    sure) or unmatched."""
    query = row.model_dump(exclude_none=True)
    person = isinstance(row, ByResidentId)
    match = answer.declarant if person else answer.match
    if match is not None:
        query["candidates"] = []
        return {"entity_id": match.entity.entity_id, "status": "matched", "query": query}
    candidates = [c.entity.entity_id for c in answer.candidates]
    query["candidates"] = candidates
    return {"entity_id": None, "status": "ambiguous" if candidates else "unmatched",
            "query": query}


@router.post("", response_model=Watchlist, status_code=201, summary="Create a watchlist")
def create(who: AsInvestigator, services: ServicesDep, store: StoreDep,
           body: NewWatchlist) -> Watchlist:
    items: list[dict[str, Any]] = []
    spec: dict[str, Any] = {}
    if isinstance(body, EntityWatch):
        if store.get_briefs([body.entity_id]) == []:
            raise NotFound(f"no entity {body.entity_id}")
        items = [{"entity_id": body.entity_id, "status": "matched",
                  "query": {"entity_id": body.entity_id}}]
    elif isinstance(body, SetWatch):
        items = resolve_all(services.lookup, store, body.subjects)
    else:
        spec = body.pattern.model_dump(exclude_none=True)
    row = services.watchlists.create(who.key_id, body.name, body.kind, spec, items)
    return returned(Watchlist(**row), action="create", watchlist_id=row["id"])


@router.get("", response_model=WatchlistList, summary="The caller's watchlists")
def list_own(who: AsInvestigator, services: ServicesDep) -> WatchlistList:
    return returned(WatchlistList(items=[Watchlist(**w)
                                         for w in services.watchlists.list(who.key_id)]))


@router.get("/{watchlist_id}", response_model=Watchlist, summary="One of the caller's lists")
def get_one(who: AsInvestigator, services: ServicesDep,
            watchlist_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Watchlist:
    try:
        return returned(Watchlist(**services.watchlists.get(who.key_id, watchlist_id)))
    except Missing as exc:
        raise NotFound(str(exc)) from exc


class Deleted(BaseModel):
    watchlist_id: int
    deleted: bool


@router.delete("/{watchlist_id}", response_model=Deleted,
               summary="Delete one of the caller's lists")
def delete(who: AsInvestigator, services: ServicesDep,
           watchlist_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Deleted:
    try:
        services.watchlists.delete(who.key_id, watchlist_id)
    except Missing as exc:
        raise NotFound(str(exc)) from exc
    return returned(Deleted(watchlist_id=watchlist_id, deleted=True), action="delete")
