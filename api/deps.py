"""FastAPI dependencies: the services of the app, the store, the authenticated caller.

All async (they never block), so FastAPI does not spend a threadpool hop on them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.audit import AuditLog
from api.auth import KeyStore, Role, allows, parse_key
from api.context import Principal, RequestContext
from api.errors import Forbidden, RateLimited, Unauthenticated
from api.guard import STORE_FLAG, FailedKeys, note_failed_key, refuse_blocked_address
from api.metrics import Metrics
from api.ratelimit import ConcurrencySlots, TokenBuckets
from api.settings import Settings
from api.stores import StoreHolder
from graph.store import GraphReader

if TYPE_CHECKING:
    from alerts.state.investigations import InvestigationStore
    from alerts.state.store import AlertStore, CaseStore
    from alerts.state.watch import WatchlistStore
    from alerts.state.webhooks import WebhookStore
    from api.inspection import LookupService
    from api.jobs import JobRunner
    from inspection.store import InspectionStore


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
    slots: ConcurrencySlots
    auth_failures: FailedKeys
    alerts: AlertStore
    cases: CaseStore
    watchlists: WatchlistStore
    webhooks: WebhookStore
    investigations: InvestigationStore
    inspections: InspectionStore


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def store_of(request: Request) -> GraphReader:
    """The store a request reads (flagged on the request: a breaker trip concerns it)."""
    services: Services = request.app.state.services
    request.scope.setdefault("state", {})[STORE_FLAG] = True
    return services.stores.get()


async def get_store(request: Request) -> GraphReader:
    return store_of(request)


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
    await refuse_blocked_address(request, services)
    principal = services.keys.authenticate(key)
    if principal is None:
        parsed = parse_key(key)
        await note_failed_key(request, services, parsed[0][:64] if parsed else None)
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


def heavy(group: str) -> Any:
    """A route dependency holding one of the caller key's `group` slots while it runs
    (api.guard: per-key concurrency of heavy routes); one too many gets 429 at once."""

    async def slot(request: Request, principal: AnyCaller) -> AsyncIterator[None]:
        services: Services = request.app.state.services
        if not services.slots.acquire(principal.key_id, group):
            raise RateLimited(
                f"at most {services.slots.limit} {group} requests of one key at a time",
                retry_after=1,
            )
        try:
            yield
        finally:
            services.slots.release(principal.key_id, group)

    slot.__name__ = f"heavy_{group}"
    return Depends(slot)
AsInspector = Annotated[Principal, Depends(require("inspector"))]
AsInvestigator = Annotated[Principal, Depends(require("investigator"))]
AsAdmin = Annotated[Principal, Depends(require("admin"))]
