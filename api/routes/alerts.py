"""Alerts and cases: list / get / acknowledge alerts; open a case from an alert, join,
assign, annotate, move and close it with an outcome. Every change is one audit entry (the
request middleware writes it; `returned` adds the change to its params)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from alerts.models import AlertKind
from alerts.state.store import Missing, StateError
from api.context import returned
from api.deps import AsInvestigator, ServicesDep
from api.errors import Conflict, NotFound
from api.openapi import AUTH, problems

T = TypeVar("T")
MAX_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
AlertId = Annotated[int, Path(ge=1, le=MAX_ID)]
CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]
alerts_router = APIRouter(prefix="/alerts", tags=["alerts"],
                          responses=problems(*AUTH, 400, 404, 413))
cases_router = APIRouter(prefix="/cases", tags=["cases"],
                         responses=problems(*AUTH, 400, 404, 409, 413))


class StoredAlert(BaseModel):
    id: int
    alert_key: str
    kind: str
    entity_id: str
    condition: str
    run_id: str
    previous_run_id: str
    level_after: str | None
    summary: str
    alert: dict[str, Any] = Field(description="the whole alert: scores, change as data")
    created_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None


class AlertPage(BaseModel):
    items: list[StoredAlert]
    total: int
    limit: int
    offset: int


class CaseEvent(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class Case(BaseModel):
    id: int
    title: str
    status: Literal["new", "assigned", "in_progress", "closed"]
    outcome: Literal["confirmed", "false_positive", "not_actionable"] | None
    assignee: str | None
    opened_by: str
    created_at: datetime
    updated_at: datetime
    alert_ids: list[int]
    history: list[CaseEvent] | None = None


class CasePage(BaseModel):
    items: list[Case]
    total: int
    limit: int
    offset: int


class OpenCase(BaseModel):
    alert_id: RowId
    title: str | None = Field(default=None, min_length=1, max_length=300)


class JoinCase(BaseModel):
    alert_id: RowId


class Assign(BaseModel):
    assignee: str = Field(min_length=1, max_length=40)


class Note(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class Move(BaseModel):
    status: Literal["new", "assigned", "in_progress"]


class Close(BaseModel):
    outcome: Literal["confirmed", "false_positive", "not_actionable"]
    note: str = Field(default="", max_length=10_000)


def _state(fn: Callable[[], T]) -> T:
    """Run a state change, answering a missing alert / case with 404 and a refused change
    with 409."""
    try:
        return fn()
    except Missing as exc:
        raise NotFound(str(exc)) from exc
    except StateError as exc:
        raise Conflict(str(exc)) from exc


@alerts_router.get("", response_model=AlertPage, summary="Alerts, newest first")
def list_alerts(
    _: AsInvestigator, services: ServicesDep, kind: AlertKind | None = None,
    entity_id: Annotated[str | None, Query(max_length=40)] = None,
    acknowledged: bool | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AlertPage:
    items, total = services.alerts.list(kind=kind, entity_id=entity_id,
                                        acknowledged=acknowledged, limit=limit, offset=offset)
    return returned(AlertPage(items=[StoredAlert(**i) for i in items], total=total,
                              limit=limit, offset=offset))


@alerts_router.get("/{alert_id}", response_model=StoredAlert, summary="One alert")
def get_alert(_: AsInvestigator, services: ServicesDep, alert_id: AlertId) -> StoredAlert:
    return returned(StoredAlert(**_state(lambda: services.alerts.get(alert_id))))


@alerts_router.post("/{alert_id}/acknowledge", response_model=StoredAlert,
                    summary="Acknowledge an alert (idempotent)")
def acknowledge(who: AsInvestigator, services: ServicesDep, alert_id: AlertId) -> StoredAlert:
    row = _state(lambda: services.alerts.acknowledge(alert_id, who.key_id))
    return returned(StoredAlert(**row), action="acknowledge")


@cases_router.post("", response_model=Case, status_code=201, summary="Open a case from an alert")
def open_case(who: AsInvestigator, services: ServicesDep, body: OpenCase) -> Case:
    row = _state(lambda: services.cases.open(body.alert_id, who.key_id, body.title))
    return returned(Case(**row), action="open", alert_id=body.alert_id, case_id=row["id"])


@cases_router.get("", response_model=CasePage,
                  summary="Cases, most recently changed first (without history)")
def list_cases(
    _: AsInvestigator, services: ServicesDep,
    status: Literal["new", "assigned", "in_progress", "closed"] | None = None,
    open_only: Annotated[bool, Query(alias="open", description="leave closed cases out")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CasePage:
    items, total = services.cases.list(status=status, open_only=open_only, limit=limit,
                                       offset=offset)
    return returned(CasePage(items=[Case(**i) for i in items], total=total, limit=limit,
                             offset=offset))


@cases_router.get("/{case_id}", response_model=Case, summary="A case with its history")
def get_case(_: AsInvestigator, services: ServicesDep, case_id: CaseId) -> Case:
    return returned(Case(**_state(lambda: services.cases.get(case_id))))


@cases_router.post("/{case_id}/alerts", response_model=Case, summary="Join an alert to a case")
def join_case(who: AsInvestigator, services: ServicesDep, case_id: CaseId, body: JoinCase) -> Case:
    row = _state(lambda: services.cases.join(case_id, body.alert_id, who.key_id))
    return returned(Case(**row), action="join", alert_id=body.alert_id)


@cases_router.post("/{case_id}/assign", response_model=Case, summary="Assign a case")
def assign_case(who: AsInvestigator, services: ServicesDep, case_id: CaseId, body: Assign) -> Case:
    row = _state(lambda: services.cases.assign(case_id, body.assignee, who.key_id))
    return returned(Case(**row), action="assign", assignee=body.assignee)


@cases_router.post("/{case_id}/notes", response_model=Case, summary="Add a note to a case")
def note_case(who: AsInvestigator, services: ServicesDep, case_id: CaseId, body: Note) -> Case:
    row = _state(lambda: services.cases.note(case_id, body.text, who.key_id))
    return returned(Case(**row), action="note")


@cases_router.post("/{case_id}/status", response_model=Case, summary="Move a case")
def move_case(who: AsInvestigator, services: ServicesDep, case_id: CaseId, body: Move) -> Case:
    row = _state(lambda: services.cases.move(case_id, body.status, who.key_id))
    return returned(Case(**row), action="status", status=body.status)


@cases_router.post("/{case_id}/close", response_model=Case,
                   summary="Close a case with its outcome")
def close_case(who: AsInvestigator, services: ServicesDep, case_id: CaseId, body: Close) -> Case:
    row = _state(lambda: services.cases.close(case_id, body.outcome, who.key_id, body.note))
    return returned(Case(**row), action="close", outcome=body.outcome)
