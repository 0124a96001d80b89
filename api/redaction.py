"""Field-level redaction per role: the ONE place that decides what a role may see.

Every route hands its answer to `api.context.returned`, which calls `redact(answer, role)`
before the answer is serialised. Investigators and admins see answers whole. Inspectors (the
front line: lookup, screening, enterprise search, an enterprise's risk) see:

- an enterprise's risk score, level and each reason's rule, contribution and summary, and
  the event IDs behind it, but no reason paths (`path_nodes`, `path_edges`: who controls
  whom) and no linkage evidence (`evidence`: mention and source record IDs);
- no person's risk: `RiskScore` of a person (`P…`) is refused with 403;
- of a person matched as the declarant of a lookup: the entity ID, name and level, with the
  resident ID number masked (`110101********123X`); no candidate people;
- search hits of enterprises only (a person hit is dropped);
- the inspection outcome they record (`inspection.models.Outcome`: of an enterprise, with the
  firm's stored score, level and class at recording), whole.

The rule fails closed: an answer type not listed for inspectors is refused with 403 rather
than passed whole. The table of what each role sees is in docs/contracts.md.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from api.errors import Forbidden
from api.inspection import Candidate, LookupAnswer, SubjectMatch
from graph.models import EntitySummary, RiskReason, RiskScore, SearchHit
from inspection.models import Outcome

T = TypeVar("T")
FULL_ROLES = frozenset({"investigator", "admin"})
REASON_HIDDEN = ("path_nodes", "path_edges", "evidence")


def redact(answer: T, role: str | None) -> T:
    """`answer` as `role` may see it (a copy when anything is removed)."""
    if role in FULL_ROLES:
        return answer
    if role != "inspector":
        raise Forbidden("this answer is not available to the caller's role")
    return _inspector(answer)


def _inspector(answer: Any) -> Any:
    from api.schemas import Page, ScreenAnswer

    if isinstance(answer, LookupAnswer):
        return _lookup(answer)
    if isinstance(answer, ScreenAnswer):
        return answer.model_copy(update={"results": [_lookup(r) for r in answer.results]})
    if isinstance(answer, RiskScore):
        return _risk(answer)
    if isinstance(answer, Outcome) and answer.entity_id.startswith("E"):
        return answer
    if isinstance(answer, Page) and all(isinstance(i, SearchHit) for i in answer.items):
        hits = [_summary(h) for h in answer.items if h.kind == "Enterprise"]
        return answer.model_copy(update={"items": hits})
    if isinstance(answer, BaseModel | dict | list | tuple):
        raise Forbidden(f"{type(answer).__name__} answers are not available to inspectors")
    return answer


def _reason(reason: RiskReason) -> RiskReason:
    return reason.model_copy(update={"path_nodes": [], "path_edges": [], "evidence": {}})


def _risk(risk: RiskScore, *, person_allowed: bool = False) -> RiskScore:
    if risk.entity_id.startswith("P") and not person_allowed:
        raise Forbidden("inspectors may not read a person's risk")
    return risk.model_copy(update={"reasons": [_reason(r) for r in risk.reasons]})


def _summary(entity: T) -> T:
    assert isinstance(entity, EntitySummary)
    if entity.kind == "Person" and entity.id_number:
        return entity.model_copy(update={"id_number": mask_id(entity.id_number)})  # type: ignore[return-value]
    return entity


def mask_id(value: str) -> str:
    """A resident ID with its middle hidden: region and last four stay (110101********123X)."""
    if len(value) < 12:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def _match(match: SubjectMatch | None) -> SubjectMatch | None:
    if match is None:
        return None
    copy = match.model_copy(update={"entity": _summary(match.entity)})
    if match._risk is not None:
        copy._risk = _risk(match._risk, person_allowed=True)
    return copy


def _lookup(answer: LookupAnswer) -> LookupAnswer:
    return answer.model_copy(update={
        "match": _match(answer.match),
        "declarant": _match(answer.declarant),
        "reasons": [_reason(r) for r in answer.reasons],
        "candidates": [Candidate(entity=_summary(c.entity), confidence=c.confidence)
                       for c in answer.candidates if c.entity.kind == "Enterprise"],
    })
