"""Field-level redaction per role: the ONE place that decides what a role may see.

Every route hands its answer to `api.context.returned`, which calls `redact(answer, role)`
before the answer is serialised. Investigators and admins see answers whole. Inspectors (the
front line: lookup, screening, enterprise search, an enterprise's risk) see:

- an enterprise's risk score, level and each reason's rule, contribution and summary, and
  the events behind it (IDs, dates, agencies, amounts), but no reason paths (`path_nodes`,
  `path_edges`, `steps`, `nodes`, `counterpart`, the named `detail`: who controls whom), no
  event's owner and no linkage evidence (`evidence`, each event's `attachment`: mention and
  source record IDs). `INSPECTOR_REASON` classifies every field of a reason (a field it does
  not list fails the tests);
- an enterprise's learned score (`RiskScore.learned`, the lookup's `learned`) whole: its
  reasons are features of the firm itself (counts, shares, ages; `INSPECTOR_LEARNED*`
  classify every field), never a node's name or path; a person's learned block is dropped;
- no person's risk: `RiskScore` of a person (`P…`) is refused with 403;
- of a person matched as the declarant of a lookup: the entity ID, name and level, with the
  resident ID number masked (`110101********123X`); no candidate people;
- search hits of enterprises only (a person hit is dropped; on a search page, whose total and
  name groups count every hit, a person hit refuses the page);
- the inspection outcome they record (`inspection.models.Outcome`: of an enterprise, with the
  firm's stored score, level and class at recording), whole.

Alerts, cases, watchlists and saved investigations (`Investigation`, `InvestigationPage`)
are investigator answers: whole for investigators and admins, refused to inspectors (their
routes need the investigator role, and the rule below refuses them anyway).

The rule fails closed: an answer type not listed for inspectors is refused with 403 rather
than passed whole. The table of what each role sees is in docs/contracts.md.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from functools import cache, partial
from typing import Any, TypeVar

from pydantic import BaseModel

from api.errors import Forbidden
from api.inspection import LookupAnswer, SubjectMatch
from graph.models import (
    EntitySummary,
    LearnedReason,
    LearnedScore,
    RiskReason,
    RiskScore,
    SearchHit,
    SearchPage,
)
from inspection.models import Outcome

T = TypeVar("T")
FULL_ROLES = frozenset({"investigator", "admin"})
# every RiskReason field, as inspectors see it: kept, or reset to its default
INSPECTOR_REASON: dict[str, str] = {
    "rule": "keep", "rule_label": "keep", "contribution": "keep", "summary": "keep",
    "routes": "keep", "event_ids": "keep", "events": "keep",  # each without owner, attachment
    "detail": "hide", "path_nodes": "hide", "path_edges": "hide", "steps": "hide",
    "nodes": "hide", "counterpart": "hide", "evidence": "hide",
}
# every field of the learned score's block and of its reasons, as inspectors see them (a
# reason is a feature of the enterprise itself: a count or an age, naming no node)
INSPECTOR_LEARNED: dict[str, str] = {
    "score": "keep", "level": "keep", "log_odds": "keep", "expected_value": "keep",
    "other": "keep", "reasons": "keep",
}
INSPECTOR_LEARNED_REASON: dict[str, str] = {
    "feature": "keep", "label": "keep", "value": "keep", "contribution": "keep",
}
INSPECTOR_EVENT_HIDDEN = ("entity_id", "attachment")
REASON_HIDDEN = tuple(f for f, how in INSPECTOR_REASON.items() if how == "hide")


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
    if isinstance(answer, SearchPage):
        hits = [_summary(h) for h in answer.items if h.kind == "Enterprise"]
        if len(hits) != len(answer.items):  # a person hit: its page's counts would tell
            raise Forbidden("inspectors may search enterprises only")
        return answer.model_copy(update={"items": hits})
    if isinstance(answer, Outcome) and answer.entity_id.startswith("E"):
        return answer
    if isinstance(answer, Page) and all(isinstance(i, SearchHit) for i in answer.items):
        hits = [_summary(h) for h in answer.items if h.kind == "Enterprise"]
        return answer.model_copy(update={"items": hits})
    if isinstance(answer, BaseModel | dict | list | tuple):
        raise Forbidden(f"{type(answer).__name__} answers are not available to inspectors")
    return answer


@cache
def _resets() -> tuple[tuple[str, Callable[[], Any]], ...]:
    """(field, a maker of its default) for every reason field inspectors do not see, found
    once: pydantic's `FieldInfo.get_default(call_default_factory=True)` inspects the factory's
    signature on every call (~0.1 ms each, most of an inspector's lookup)."""
    resets: list[tuple[str, Callable[[], Any]]] = []
    for name, info in RiskReason.model_fields.items():
        if INSPECTOR_REASON[name] == "keep":
            continue
        factory = info.default_factory
        if factory is None:
            resets.append((name, partial(copy.deepcopy, info.default)))
        elif _takes_data(factory):
            raise Forbidden(f"reason field {name}: its default needs the other fields")
        else:
            resets.append((name, factory))  # type: ignore[arg-type]
    return tuple(resets)


def _takes_data(factory: Callable[..., Any]) -> bool:
    """Whether a default factory wants the validated data (pydantic's rule: one positional
    parameter without a default)."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return False
    return (len(params) == 1 and params[0].default is inspect.Parameter.empty
            and params[0].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                   inspect.Parameter.POSITIONAL_OR_KEYWORD))


def _reason(reason: RiskReason) -> RiskReason:
    if not RiskReason.model_fields.keys() <= INSPECTOR_REASON.keys():
        # fail closed: a new field is hidden until it is classified
        unlisted = set(RiskReason.model_fields) - set(INSPECTOR_REASON)
        raise Forbidden("reason fields not classified for inspectors: "
                        + ", ".join(sorted(unlisted)))
    update: dict[str, Any] = {name: make() for name, make in _resets()}
    update["events"] = [e.model_copy(update={"entity_id": None, "attachment": None})
                        for e in reason.events]
    return reason.model_copy(update=update)


def _learned(learned: LearnedScore | None, entity_id: str) -> LearnedScore | None:
    """The learned block as inspectors see it: an enterprise's only (fail closed on a
    field not classified)."""
    if learned is None or not entity_id.startswith("E"):
        return None
    for model, table in ((LearnedScore, INSPECTOR_LEARNED),
                         (LearnedReason, INSPECTOR_LEARNED_REASON)):
        unlisted = set(model.model_fields) - set(table)
        if unlisted or any(how != "keep" for how in table.values()):
            raise Forbidden("learned score fields not classified for inspectors: "
                            + ", ".join(sorted(unlisted)))
    return learned


def _risk(risk: RiskScore, *, person_allowed: bool = False) -> RiskScore:
    if risk.entity_id.startswith("P") and not person_allowed:
        raise Forbidden("inspectors may not read a person's risk")
    return risk.model_copy(update={"reasons": [_reason(r) for r in risk.reasons],
                                   "learned": _learned(risk.learned, risk.entity_id)})


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
        "learned": _learned(answer.learned, answer.match.entity.entity_id
                            if answer.match is not None else ""),
        "candidates": [c.model_copy(update={"entity": _summary(c.entity)})
                       for c in answer.candidates if c.entity.kind == "Enterprise"],
    })
