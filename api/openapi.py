"""OpenAPI helpers: documented problem answers and the problem+json media type."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import PROBLEM_MEDIA_TYPE, TYPE_BASE, Problem

_TITLES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Missing or invalid API key"),
    403: ("forbidden", "Not allowed for this role"),
    404: ("not_found", "Not found"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Request body too large"),
    422: ("validation_error", "Invalid request"),
    429: ("rate_limited", "Too many requests"),
    503: ("store_unavailable", "Graph store unavailable"),
}
AUTH = (401, 403, 422, 429, 503)
PUBLIC = (503,)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting these problem answers."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        code, title = _TITLES[status]
        example = {"type": TYPE_BASE + code, "title": title, "status": status,
                   "detail": title, "code": code,
                   "request_id": "5f1c0e2a9b7d4c3e8a6f1b2c3d4e5f60"}
        if status == 422:
            example["errors"] = [{"field": "query.depth", "type": "less_than_equal",
                                  "message": "Input should be less than or equal to 3"}]
        out[status] = {"model": Problem, "description": title,
                       "content": {"application/json": {"example": example}}}
    return out


def _to_problem_media(schema: dict[str, Any]) -> None:
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if status[:1] in "45" and content and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def install(app: FastAPI) -> None:
    """Generate the schema once, with every 4xx/5xx documented as problem+json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            _to_problem_media(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
