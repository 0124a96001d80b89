"""One exception hierarchy (HTTP status + stable code) and one handler table.

Every error leaves as `application/problem+json`:
`{"type", "title", "status", "detail", "code", "request_id", "errors"?}`; validation errors
name the field; no stack trace ever reaches a client; details are masked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.context import current_request_id
from api.logs import mask
from api.messages import messages
from graph.deadline import DeadlineExceeded
from graph.neo4j.conn import UNAVAILABLE_ERRORS
from graph.store import NoRunLoaded, StoreUnavailable

log = logging.getLogger("guanlian.api")
PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://guanlian.example/problems/"


class FieldError(BaseModel):
    field: str = Field(description="dotted location, e.g. query.depth or body.subjects")
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=[TYPE_BASE + "not_found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no entity E3fa9c02b7d1e"])
    code: str = Field(examples=["not_found"])
    request_id: str | None = Field(default=None, examples=["5f1c0e2a9b7d4c3e8a6f1b2c3d4e5f60"])
    message: str | None = Field(default=None, description="what happened, in Chinese",
                                examples=["未找到所请求的对象。"])
    action: str | None = Field(default=None, description="what to do, in Chinese",
                               examples=["请核对编号或名称后重试；也可先通过搜索找到对象。"])
    errors: list[FieldError] | None = None
    candidates: list[dict[str, Any]] | None = Field(
        default=None, description="ambiguous_name: the entities the name may mean")


class ApiError(Exception):
    status = 500
    code = "internal_error"
    title = "Internal error"

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.retry_after = retry_after


class Unauthenticated(ApiError):
    status, code, title = 401, "unauthenticated", "Missing or invalid API key"


class Forbidden(ApiError):
    status, code, title = 403, "forbidden", "Not allowed for this role"


class NotFound(ApiError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ApiError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ApiError):
    status, code, title = 413, "payload_too_large", "Request body too large"


class InvalidParameter(ApiError):
    status, code, title = 422, "validation_error", "Invalid request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.errors = [FieldError(field=field, message=message, type="value_error")]


class AmbiguousName(ApiError):
    """A name given where one entity is meant matches several (or none exactly)."""

    status, code, title = 422, "ambiguous_name", "Ambiguous name"

    def __init__(self, field: str, name: str, candidates: list[dict[str, Any]]) -> None:
        super().__init__(f"{field}: {name!r} may mean {len(candidates)} entities; "
                         "give one of the candidates' entity_id")
        self.errors = [FieldError(field=field, message="ambiguous name", type="ambiguous")]
        self.candidates = candidates


class RateLimited(ApiError):
    status, code, title = 429, "rate_limited", "Too many requests"


class Unavailable(ApiError):
    status, code, title = 503, "unavailable", "Service unavailable"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    retry_after: int | None = None,
    request_id: str | None = None,
    candidates: list[dict[str, Any]] | None = None,
    withheld: bool = False,
) -> JSONResponse:
    """A problem answer. Its Chinese `message` and `action` come from api/messages.yaml by
    `code`; a `withheld` answer (the fail-closed audit answer: nothing but the machine
    fields) carries them in `detail` instead."""
    rid = request_id or current_request_id()
    said = messages().of(code)
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": mask(detail) if not withheld else f"{said.message}{said.action} ({detail})",
        "code": code,
        "request_id": rid,
    }
    if not withheld:
        body["message"], body["action"] = said.message, said.action
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    if candidates is not None:
        body["candidates"] = candidates
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if rid:
        headers["X-Request-ID"] = rid
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _retry_after(request: Request) -> int:
    services = getattr(request.app.state, "services", None)
    return services.settings.retry_after_s if services is not None else 5


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return problem(
        exc.status, exc.code, exc.title, exc.detail,
        errors=getattr(exc, "errors", None), retry_after=exc.retry_after,
        candidates=getattr(exc, "candidates", None),
    )


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(field=_field_name(e.get("loc", ())), message=mask(str(e.get("msg", ""))),
                   type=str(e.get("type", "value_error")))
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5]) or "invalid request"
    return problem(422, "validation_error", "Invalid request", detail, errors=errors)


_HTTP_CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large",
    415: "unsupported_media_type",
}


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    title = code.replace("_", " ").capitalize()
    response = problem(exc.status_code, code, title, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path (Starlette names only the first route's)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _unavailable(request: Request, exc: Exception) -> Response:
    services = getattr(request.app.state, "services", None)
    if services is not None:
        services.metrics.store_errors.labels(type(exc).__name__).inc()
    if isinstance(exc, NoRunLoaded):
        return problem(503, "no_run_loaded", "No run loaded", str(exc) or "no run is loaded",
                       retry_after=_retry_after(request))
    log.warning("store unavailable: %s", exc)
    return problem(503, "store_unavailable", "Graph store unavailable",
                   "the graph store cannot be reached right now; retry shortly",
                   retry_after=_retry_after(request))


async def _deadline(request: Request, exc: Exception) -> Response:
    return problem(503, "timeout", "Request timed out",
                   "the request's deadline passed; the work was stopped; retry shortly",
                   retry_after=_retry_after(request))


Handler = Callable[[Request, Exception], Awaitable[Response]]
HANDLERS: dict[type[Exception], Handler] = {
    ApiError: _api_error,
    RequestValidationError: _validation,
    StarletteHTTPException: _http,
    DeadlineExceeded: _deadline,
    StoreUnavailable: _unavailable,
    NoRunLoaded: _unavailable,
    TimeoutError: _unavailable,
    **dict.fromkeys(UNAVAILABLE_ERRORS, _unavailable),
}


def install(app: FastAPI) -> None:
    for exc_type, handler in HANDLERS.items():
        app.add_exception_handler(exc_type, handler)
