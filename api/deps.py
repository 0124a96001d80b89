"""FastAPI dependencies: the services of the app, the store, the authenticated caller.

All async (they never block), so FastAPI does not spend a threadpool hop on them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.audit import AuditLog
from api.auth import KeyStore, Role, allows
from api.context import Principal, RequestContext
from api.errors import Forbidden, RateLimited, Unauthenticated
from api.metrics import Metrics
from api.ratelimit import TokenBuckets
from api.settings import Settings
from api.stores import StoreHolder
from graph.store import GraphReader

if TYPE_CHECKING:
    from alerts.state.store import AlertStore, CaseStore
    from alerts.state.watch import WatchlistStore
    from alerts.state.webhooks import WebhookStore
    from api.inspection import LookupService
    from api.jobs import JobRunner


@dataclass
class Services:
    settings: Settings
    stores: StoreHolder
    keys: KeyStore
    audit: AuditLog
    limiter: TokenBuckets
    metrics: Metrics
    lookup: LookupService
    jobs: JobRunner
    alerts: AlertStore
    cases: CaseStore
    watchlists: WatchlistStore
    webhooks: WebhookStore


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_store(request: Request) -> GraphReader:
    services: Services = request.app.state.services
    return services.stores.get()


ServicesDep = Annotated[Services, Depends(get_services)]
StoreDep = Annotated[GraphReader, Depends(get_store)]

_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                           description="API key (`gl_<key_id>_<secret>`)")
_bearer = HTTPBearer(auto_error=False, description="the API key as a bearer token")


def _context(request: Request) -> RequestContext:
    ctx: RequestContext = request.state.ctx
    return ctx


async def authenticate(
    request: Request,
    api_key: Annotated[str | None, Depends(_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    key = api_key or (bearer.credentials if bearer else None)
    if not key:
        raise Unauthenticated("send the API key in the X-API-Key header")
    services: Services = request.app.state.services
    principal = services.keys.authenticate(key)
    if principal is None:
        raise Unauthenticated("the API key is unknown or revoked")
    _context(request).principal = principal
    wait = services.limiter.take(principal.key_id)
    if wait > 0:
        raise RateLimited(
            f"rate limit of {services.settings.rate_limit_rps:g} requests/s exceeded",
            retry_after=TokenBuckets.retry_after(wait),
        )
    return principal


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers whose role is `role` or above."""

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not allows(principal.role, role):
            raise Forbidden(f"this endpoint needs the {role} role; the key has {principal.role}")
        return principal

    check.__name__ = f"require_{role}"
    return check


AnyCaller = Annotated[Principal, Depends(authenticate)]
AsInspector = Annotated[Principal, Depends(require("inspector"))]
AsInvestigator = Annotated[Principal, Depends(require("investigator"))]
AsAdmin = Annotated[Principal, Depends(require("admin"))]
