"""双随机、一公开 over the API: risk-weighted random draws with their inspectors (investigator),
the public notice, the inspector roster (admin), outcomes fed back (inspector and up) and the
measured precision (investigator). Every draw and outcome is one audit entry of its request
(`returned` adds the draw's ID, seed and parameters / the outcome's ID to its params) and a
row of the state database."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, BeforeValidator, Field

from alerts.state.store import Missing, StateError
from api.context import current_request_id, returned
from api.deps import AsAdmin, AsInspector, AsInvestigator, ServicesDep, StoreDep
from api.errors import Conflict, NotFound, Unavailable
from api.openapi import AUTH, problems
from inspection.config import load_classes, load_thresholds
from inspection.draw import MAX_SEED, DrawParams
from inspection.models import Draw, Notice, Outcome, OutcomeIn, Report
from inspection.population import PopulationFilter, load_population
from inspection.report import build_report
from inspection.roster import ResolvedInspector, RosterEntry, resolve
from inspection.service import make_draw, notice, notice_csv

router = APIRouter(prefix="/inspection", tags=["draws"],
                   responses=problems(*AUTH, 400, 404, 409, 413))
DrawId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _not_bool(value: object) -> object:
    """JSON true / false is not a number here (pydantic's lax mode would take it as 1 / 0);
    3.0 is an integer, as JSON Schema says."""
    if isinstance(value, bool):
        raise ValueError("a number is needed, not true / false")
    return value


Number = BeforeValidator(_not_bool)
Rate = Annotated[float, Field(ge=0.0, le=1.0), Number]


class ClassRate(BaseModel):
    risk_class: str = Field(pattern=r"^[A-Za-z0-9_]{1,10}$")
    rate: Rate


class DrawRequest(BaseModel):
    """A draw's parameters; without a seed the server picks one (published in the answer)."""

    filter: PopulationFilter = Field(default_factory=PopulationFilter)
    targets: Annotated[int | None, Number] = Field(default=None, ge=1, le=100_000)
    rates: list[ClassRate] = Field(
        default_factory=list, max_length=20,
        description="sampling rates replacing the class file's, e.g. [{\"risk_class\": \"D\", "
        "\"rate\": 0.5}] (a class the file does not declare, or one given twice: 409)")
    uniform_share: Rate = 0.2
    seed: Annotated[int | None, Number] = Field(default=None, ge=0, le=MAX_SEED)
    inspectors_per_target: Annotated[int, Number] = Field(default=2, ge=0, le=5)


class RosterUpload(BaseModel):
    inspectors: list[RosterEntry] = Field(min_length=1, max_length=10_000)


class RosterAnswer(BaseModel):
    counts: dict[str, int]
    inspectors: list[ResolvedInspector]


def _request_id() -> str:
    return current_request_id() or secrets.token_hex(16)


@router.post("/draws", response_model=Draw, status_code=201,
             summary="Draw inspection targets (risk-weighted, seeded) and their inspectors")
def create_draw(who: AsInvestigator, services: ServicesDep, store: StoreDep,
                body: DrawRequest) -> Draw:
    run_dir = services.stores.run_dir
    if run_dir is None:
        raise Unavailable("no run folder is configured: the population is read from it")
    seed = body.seed if body.seed is not None else secrets.randbelow(2**31)
    rates = {r.risk_class: r.rate for r in body.rates}
    if len(rates) != len(body.rates):
        raise Conflict("rates: a class is given twice")
    classes = load_classes()
    params = DrawParams(filter=body.filter, targets=body.targets, rates=rates,
                        uniform_share=body.uniform_share, seed=seed,
                        inspectors_per_target=body.inspectors_per_target)
    try:
        draw = make_draw(load_population(run_dir, classes), store,
                         services.inspections.roster(), params, classes)
    except ValueError as exc:  # a class the deployment's class file does not declare
        raise Conflict(str(exc)) from exc
    saved = services.inspections.save_draw(draw, _request_id(), who.key_id)
    return returned(saved, action="draw", draw_id=saved.id, seed=seed,
                    params=params.model_dump(mode="json"), targets=len(saved.targets))


@router.get("/draws/{draw_id}", response_model=Draw, summary="A stored draw")
def get_draw(_: AsInvestigator, services: ServicesDep, draw_id: DrawId) -> Draw:
    try:
        return returned(services.inspections.get_draw(draw_id))
    except Missing as exc:
        raise NotFound(str(exc)) from exc


@router.get("/draws/{draw_id}/notice", response_model=Notice,
            summary="The public notice of a draw (no risk scores): JSON or CSV",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def draw_notice(_: AsInvestigator, services: ServicesDep, draw_id: DrawId,
                format: Literal["json", "csv"] = "json") -> Notice | Response:
    try:
        answer = returned(notice(services.inspections.get_draw(draw_id)), format=format)
    except Missing as exc:
        raise NotFound(str(exc)) from exc
    if format == "csv":
        return Response(notice_csv(answer), media_type="text/csv; charset=utf-8")
    return answer


@router.post("/inspectors", response_model=RosterAnswer,
             summary="Replace the inspector roster (resolved against the graph's persons)")
def import_roster(who: AsAdmin, services: ServicesDep, store: StoreDep,
                  body: RosterUpload) -> RosterAnswer:
    codes = [e.code for e in body.inspectors]
    if len(set(codes)) != len(codes):
        raise Conflict("an inspector code appears twice in the roster")
    counts = services.inspections.import_roster(body.inspectors, who.key_id)
    return returned(RosterAnswer(counts=counts, inspectors=resolve(store, body.inspectors)),
                    action="roster", **counts)


@router.get("/inspectors", response_model=RosterAnswer,
            summary="The active roster and how each inspector resolves")
def roster(_: AsInvestigator, services: ServicesDep, store: StoreDep) -> RosterAnswer:
    entries = services.inspections.roster()
    resolved = resolve(store, entries)
    counts = {r: sum(i.resolution == r for i in resolved)
              for r in ("resolved", "not_in_graph", "invalid_id")}
    return returned(RosterAnswer(counts=counts, inspectors=resolved))


@router.post("/outcomes", response_model=Outcome, status_code=201,
             summary="Record an inspection's outcome (pass / fail) with its provenance")
def record_outcome(who: AsInspector, services: ServicesDep, store: StoreDep,
                   body: OutcomeIn) -> Outcome:
    if not store.get_briefs([body.entity_id]):
        raise NotFound(f"no entity {body.entity_id}")
    risk = store.get_risk(body.entity_id)
    snapshot = {}
    if risk is not None:
        snapshot = {"score": risk.score, "level": risk.level,
                    "risk_class": load_classes().of_score(risk.score)}
    try:
        saved = services.inspections.record_outcome(body, snapshot, who.key_id, _request_id())
    except Missing as exc:
        raise NotFound(str(exc)) from exc
    except StateError as exc:
        raise Conflict(str(exc)) from exc
    return returned(saved, action="outcome", outcome_id=saved.id, result=saved.result,
                    draw_id=saved.draw_id, source_request_id=saved.source_request_id)


@router.get("/report", response_model=Report,
            summary="Hit rates by recommendation, class, score band, draw part and month")
def report(_: AsInvestigator, services: ServicesDep,
           since: Annotated[str | None, Query(pattern=r"^[0-9]{4}-[0-9]{2}$",
                                              description="from this month (YYYY-MM)")] = None
           ) -> Report:
    outcomes = services.inspections.outcomes()
    if since is not None:
        outcomes = [o for o in outcomes if o.inspected_on.strftime("%Y-%m") >= since]
    return returned(build_report(outcomes, load_thresholds()))
