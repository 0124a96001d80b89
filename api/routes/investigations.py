"""Saved investigations of the workspace, per key owner: a name, notes, the canvas (the drawn
graph as JSON: nodes and edges with their data, positions and classes, the highlight) and
the entity IDs on it. Only the owner lists, reads, changes or deletes one (another owner's
answers 404). Every change is one audit entry of its request (`action` in its params)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from alerts.state.store import Missing
from api.context import returned
from api.deps import AsInvestigator, ServicesDep
from api.errors import NotFound
from api.openapi import AUTH, problems
from api.validation import PRINTABLE_SCHEMA, Printable, printable_problem

router = APIRouter(prefix="/investigations", tags=["investigations"],
                   responses=problems(*AUTH, 400, 404, 413))
InvestigationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
EntityRef = Annotated[str, Field(pattern=r"^[EP][0-9a-f]{12}$")]
MAX_NODES = 2000
MAX_EDGES = 10_000
NOTES_PATTERN = (  # printable, but a note may hold line breaks and tabs
    "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u061c\\u200e\\u200f"
    "\\u202a-\\u202e\\u2066-\\u2069]*$"
)


def _notes_text(text: str) -> str:
    problem = printable_problem(text.replace("\n", " ").replace("\r", " ").replace("\t", " "))
    if problem is not None:
        raise ValueError(problem)
    return text


Notes = Annotated[str, AfterValidator(_notes_text)]
Name = Annotated[Printable, Field(min_length=1, max_length=200,
                                  json_schema_extra=PRINTABLE_SCHEMA)]
NoteText = Annotated[Notes, Field(max_length=20_000, json_schema_extra={
    "pattern": NOTES_PATTERN})]


class Point(BaseModel):
    model_config = ConfigDict(strict=True)  # a JSON number: no true / false, no "12"

    x: float = Field(allow_inf_nan=False)
    y: float = Field(allow_inf_nan=False)


class ElementData(BaseModel):
    """An element's data: its ID and whatever else the drawing keeps (label, kind, risk,
    source / target of an edge, ...)."""

    model_config = ConfigDict(strict=True, extra="allow")

    id: str = Field(min_length=1, max_length=200)


class CanvasElement(BaseModel):
    """A drawn node or edge as the workspace keeps it (Cytoscape.js element JSON)."""

    model_config = ConfigDict(strict=True)

    data: ElementData = Field(description="`id`, and for edges `source`, `target`")
    position: Point | None = None
    classes: str = Field(default="", max_length=500)


class Highlight(BaseModel):
    model_config = ConfigDict(strict=True)

    nodes: list[str] = Field(default_factory=list, max_length=MAX_NODES)
    edges: list[str] = Field(default_factory=list, max_length=MAX_EDGES)


class Canvas(BaseModel):
    model_config = ConfigDict(strict=True)

    nodes: list[CanvasElement] = Field(default_factory=list, max_length=MAX_NODES)
    edges: list[CanvasElement] = Field(default_factory=list, max_length=MAX_EDGES)
    highlight: Highlight = Field(default_factory=Highlight)
    focus: EntityRef | None = Field(default=None, description="the entity shown in the panel")


class NewInvestigation(BaseModel):
    name: Name
    notes: NoteText = ""
    canvas: Canvas = Field(default_factory=Canvas)
    entity_ids: list[EntityRef] = Field(default_factory=list, max_length=MAX_NODES)


class InvestigationChange(BaseModel):
    """The fields to replace (at least one)."""

    name: Name | None = None
    notes: NoteText | None = None
    canvas: Canvas | None = None
    entity_ids: list[EntityRef] | None = Field(default=None, max_length=MAX_NODES)


class InvestigationSummary(BaseModel):
    id: int
    owner: str
    name: str
    entity_ids: list[str]
    created_at: datetime
    updated_at: datetime


class Investigation(InvestigationSummary):
    notes: str
    canvas: Canvas


class InvestigationPage(BaseModel):
    items: list[InvestigationSummary]
    total: int
    limit: int
    offset: int


class Deleted(BaseModel):
    investigation_id: int
    deleted: bool


def _missing(exc: Missing) -> NotFound:
    return NotFound(str(exc))


@router.post("", response_model=Investigation, status_code=201,
             summary="Save an investigation (canvas, entity IDs, notes)")
def create(who: AsInvestigator, services: ServicesDep, body: NewInvestigation) -> Investigation:
    row = services.investigations.create(who.key_id, body.name, body.notes,
                                         body.canvas.model_dump(mode="json"), body.entity_ids)
    return returned(Investigation(**row), action="create", investigation_id=row["id"])


@router.get("", response_model=InvestigationPage,
            summary="The caller's saved investigations, most recently changed first")
def list_own(who: AsInvestigator, services: ServicesDep,
             limit: Annotated[int, Query(ge=1, le=200)] = 50,
             offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> InvestigationPage:
    items, total = services.investigations.list(who.key_id, limit=limit, offset=offset)
    return returned(InvestigationPage(items=[InvestigationSummary(**i) for i in items],
                                      total=total, limit=limit, offset=offset))


@router.get("/{investigation_id}", response_model=Investigation,
            summary="One of the caller's saved investigations, whole")
def get_one(who: AsInvestigator, services: ServicesDep,
            investigation_id: InvestigationId) -> Investigation:
    try:
        return returned(Investigation(**services.investigations.get(who.key_id,
                                                                    investigation_id)))
    except Missing as exc:
        raise _missing(exc) from exc


@router.put("/{investigation_id}", response_model=Investigation,
            summary="Change one of the caller's saved investigations")
def update(who: AsInvestigator, services: ServicesDep, investigation_id: InvestigationId,
           body: InvestigationChange) -> Investigation:
    changes = {k: v for k, v in body.model_dump(mode="json", exclude_unset=True).items()
               if v is not None}
    try:
        row = services.investigations.update(who.key_id, investigation_id, changes)
    except Missing as exc:
        raise _missing(exc) from exc
    return returned(Investigation(**row), action="update", fields=sorted(changes))


@router.delete("/{investigation_id}", response_model=Deleted,
               summary="Delete one of the caller's saved investigations")
def delete(who: AsInvestigator, services: ServicesDep,
           investigation_id: InvestigationId) -> Deleted:
    try:
        services.investigations.delete(who.key_id, investigation_id)
    except Missing as exc:
        raise _missing(exc) from exc
    return returned(Deleted(investigation_id=investigation_id, deleted=True), action="delete")
