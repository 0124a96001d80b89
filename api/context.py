"""Per-request context: request ID, the caller, what the audit entry will record.

The middleware creates one `RequestContext` per request and puts it in a context variable
(copied into the threadpool that runs sync routes) and in `request.state.ctx`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

ENTITY_ID = re.compile(r"^[EP][0-9a-f]{12}$")
MAX_AUDITED_IDS = 2000
T = TypeVar("T")


@dataclass(frozen=True)
class Principal:
    key_id: str
    name: str
    role: str


@dataclass
class RequestContext:
    request_id: str
    principal: Principal | None = None
    params: dict[str, Any] = field(default_factory=dict)
    entity_ids: list[str] = field(default_factory=list)
    audited: bool = False

    def note_entities(self, ids: Iterable[str]) -> None:
        room = MAX_AUDITED_IDS - len(self.entity_ids)
        seen = set(self.entity_ids)
        for i in ids:
            if room <= 0:
                break
            if i not in seen:
                seen.add(i)
                self.entity_ids.append(i)
                room -= 1


_current: ContextVar[RequestContext | None] = ContextVar("guanlian_request", default=None)


def current() -> RequestContext | None:
    return _current.get()


def set_current(ctx: RequestContext) -> None:
    _current.set(ctx)


def current_request_id() -> str | None:
    ctx = _current.get()
    return ctx.request_id if ctx else None


def entity_ids_in(value: Any) -> list[str]:
    """Every enterprise / person ID anywhere in an answer (models, dicts, lists)."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, BaseModel):
            stack.extend(getattr(v, name) for name in type(v).model_fields)
        elif isinstance(v, str):
            if ENTITY_ID.match(v):
                out.append(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)
    out.reverse()
    return out


def returned(answer: T, **params: Any) -> T:
    """`answer` redacted for the caller's role (api.redaction), its entity IDs (and extra
    parameters) recorded for the audit entry."""
    from api.redaction import redact

    ctx = _current.get()
    if ctx is not None:
        answer = redact(answer, ctx.principal.role if ctx.principal else None)
        ctx.note_entities(entity_ids_in(answer))
        ctx.params.update(params)
    return answer
