"""Fail-closed auditing: no answer leaves before its audit entry is on disk.

`AuditMiddleware` is the outermost middleware. It lets the request run to its end with the
answer held back, writes the request's one audit entry (who, what, parameters, entity IDs
returned, status) and waits until the entry is durable; only then is the held answer sent.
If the entry cannot be written the caller gets a 503 problem (`audit_unavailable`) and
nothing of the real answer. Every request is audited (refused, failed and unknown-route ones
included, with the key ID a wrong key claims) except the public probes and documentation
(`PUBLIC_PREFIXES`).

A request alone in the server writes its entry from the event loop's thread
(`AuditLog.write_now`: the same write and fsync, without handing the entry to the writer
thread and being woken by it); requests that overlap share the writer thread's fsync.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.audit import AuditLog, AuditUnavailable
from api.auth import parse_key
from api.context import RequestContext, entity_ids_in
from api.errors import problem
from api.metrics import Metrics

log = logging.getLogger("guanlian.api.audit")
PUBLIC_PREFIXES = ("/healthz", "/readyz", "/ui", "/docs", "/redoc", "/openapi.json",
                   "/favicon.ico")


def outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    if status == 429:
        return "rate_limited"
    if status < 500:
        return "rejected"
    return "error"


def query_params(scope: Scope) -> dict[str, Any]:
    """The query string as a mapping (a repeated name maps to a list); never raises."""
    out: dict[str, Any] = {}
    raw = scope.get("query_string", b"").decode("latin-1")
    for k, v in parse_qsl(raw, keep_blank_values=True):
        if k in out:
            prev = out[k]
            out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            out[k] = v
    return out


def _claimed_key_id(scope: Scope) -> str | None:
    """The key ID part of a presented key (whether or not the key is valid)."""
    for name, value in scope.get("headers", ()):
        text = value.decode("latin-1")
        if name == b"authorization" and text.lower().startswith("bearer "):
            text = text[7:]
        elif name != b"x-api-key":
            continue
        parsed = parse_key(text)
        if parsed is not None:
            return parsed[0]
    return None


def audit_record(scope: Scope, status: int, seconds: float, body: bytes = b""
                 ) -> dict[str, Any]:
    """The audit record of one answered request (masked and bounded by the log); its
    `entity_ids` are those in the answer's `body` (an error answer returns no entity)."""
    state = scope.get("state") or {}
    ctx: RequestContext | None = state.get("ctx")
    route = scope.get("route")
    endpoint = getattr(route, "path", None) or "unmatched"
    record: dict[str, Any] = {
        "request_id": ctx.request_id if ctx else state.get("request_id"),
        "client": (scope.get("client") or ("",))[0] or None,
        "method": scope.get("method", ""), "endpoint": endpoint,
        "status": status, "outcome": outcome(status), "duration_ms": round(seconds * 1000, 2),
    }
    principal = ctx.principal if ctx else None
    if principal is not None:
        record.update(key_id=principal.key_id, key_name=principal.name, role=principal.role)
    else:
        record.update(key_id=None, key_name=None, role=None,
                      claimed_key_id=_claimed_key_id(scope))
    if endpoint == "unmatched":
        record["path"] = scope.get("path", "")
    params = {**query_params(scope), **(scope.get("path_params") or {})}
    if ctx is not None:
        params.update(ctx.params)
    record["params"] = params
    if ctx is not None and status < 400:
        ctx.note_entities(entity_ids_in(body))
    record["entity_ids"] = list(ctx.entity_ids) if ctx else []
    return record


def service_fields(scope: Scope) -> dict[str, str]:
    """The entry's fields the service made itself, to be kept as they are: the request ID
    when the service generated it (no valid `X-Request-ID` came with the request). A request
    ID the caller chose is caller text and is masked like any other."""
    rid = (scope.get("state") or {}).get("request_id")
    if not isinstance(rid, str) or not rid:
        return {}
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id" and value.decode("latin-1") == rid:
            return {}
    return {"request_id": rid}


class AuditMiddleware:
    """Holds each answer until its audit entry is durable (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, retry_after_s: int) -> None:
        self.app, self.metrics, self.retry_after_s = app, metrics, retry_after_s
        self.in_flight = 0  # requests between their arrival here and their answer's release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self._audited(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _audited(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, hold)
        except Exception:  # the inner middleware answers errors; this is the last resort
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            held = []
        status = next((int(m["status"]) for m in held if m["type"] == "http.response.start"),
                      0)
        if not status:
            held, status = [], 500
        answered = time.perf_counter()
        try:
            audit: AuditLog = scope["app"].state.services.audit
            body = b"".join(m.get("body", b"") for m in held
                            if m["type"] == "http.response.body")
            record = audit_record(scope, status, answered - started, body)
            fields = service_fields(scope)
            # alone: write it here (the loop has nothing else to do meanwhile); else, or
            # when the writer is busy or the disk slow, share the writer thread's fsync
            if self.in_flight > 1 or audit.write_now(record, fields) is None:
                await audit.append(record, fields)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the answer stays held
            self.metrics.audit_failures.inc()
            await self._refuse(scope, receive, send, exc)
            return
        self.metrics.audit_entries.inc()
        self.metrics.audit_wait.observe(time.perf_counter() - answered)
        if not held:
            held = await _internal_error(scope)
        for message in held:
            await send(message)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send,
                      exc: BaseException) -> None:
        if not isinstance(exc, AuditUnavailable):
            log.exception("building the audit entry failed", exc_info=exc)
        else:
            log.error("answer withheld: %s", exc)
        rid = (scope.get("state") or {}).get("request_id")
        answer = problem(503, "audit_unavailable", "Audit trail unavailable",
                         "the answer was withheld because its audit entry could not be "
                         "written; retry shortly", retry_after=self.retry_after_s,
                         request_id=rid, withheld=True)
        await answer(scope, receive, send)


async def _internal_error(scope: Scope) -> list[Message]:
    """The messages of a 500 problem (the app raised or sent nothing)."""
    rid = (scope.get("state") or {}).get("request_id")
    answer = problem(500, "internal_error", "Internal error",
                     "an unexpected error occurred; quote the request ID", request_id=rid)
    messages: list[Message] = []

    async def collect(message: Message) -> None:
        messages.append(message)

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    await answer(scope, nothing, collect)
    return messages
