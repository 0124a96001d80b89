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

# an entity ID standing on its own anywhere in an answer's bytes (a JSON string that is one,
# or one inside a text): what the audit entry lists as returned
# (no letter or digit either side). The look-behind sits after the first character, so it is
# tried only where an E or P matched: leading with it made the scan three times slower
_ENTITY_ID_IN_TEXT = re.compile(rb"[EP](?<![0-9A-Za-z][EP])[0-9a-f]{12}(?![0-9A-Za-z])")
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


def entity_ids_in(body: bytes) -> list[str]:
    """Every enterprise / person ID in an answer's body, in order of appearance (one regular
    expression over the bytes sent: a walk over the answer's models cost ~1,000 Python calls
    per lookup)."""
    return [found.decode() for found in _ENTITY_ID_IN_TEXT.findall(body)]


def returned(answer: T, **params: Any) -> T:
    """`answer` redacted for the caller's role (api.redaction), its extra parameters recorded
    for the audit entry (which lists the entity IDs of the body sent:
    api.audit_middleware)."""
    from api.redaction import redact

    ctx = _current.get()
    if ctx is not None:
        answer = redact(answer, ctx.principal.role if ctx.principal else None)
        ctx.params.update(params)
    return answer
