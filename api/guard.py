"""Abuse resistance: request costs, per-key concurrency of heavy routes, failed-key limits,
and request deadlines that stop the work.

- Cost: every request takes one token of its key's bucket (api.deps.authenticate); a batch
  screen of N subjects takes N in all (`charge`), so a 1,000-subject screen weighs what 1,000
  lookups weigh.
- Concurrency: a heavy route (screen, network, exposure, paths, beneficial owners, the risk
  catalogue, jobs) admits at most `heavy_concurrency` requests of one key at a time
  (`api.deps.heavy(group)`); one more gets 429 at once instead of queueing behind the others.
- Failed keys: a wrong, malformed or revoked key costs its client address one token of a
  small bucket; an empty bucket answers 429 for every key from that address until it
  refills. Every refusal (401 and 429) is audited by the audit middleware, with the claimed
  key ID and the client address.
- Deadlines (`DeadlineGuard`): each request runs under a deadline (graph.deadline) that
  follows it into worker threads; at the deadline the caller gets a 503 `timeout` problem
  and the work is cancelled: the asyncio task is cancelled, a Neo4j query's transaction
  timeout ends at the deadline (the server stops it), and a batch screen stops between
  subjects. When the store's circuit breaker opens (Neo4j frozen or down), requests waiting
  on the store are answered 503 `store_unavailable` at once with the breaker's Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import Principal, RequestContext
from api.errors import RateLimited, problem
from api.ratelimit import TokenBuckets
from graph import deadline

if TYPE_CHECKING:
    from api.deps import Services

log = logging.getLogger("guanlian.api.guard")
STORE_FLAG = "uses_store"


class Breaker(Protocol):
    """What the deadline guard needs of a store's circuit breaker."""

    @property
    def retry_after(self) -> int: ...

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]: ...


def client_address(request: Request) -> str:
    """The peer address (a proxy in front must be the only client: X-Forwarded-For is not
    trusted, a caller could forge it)."""
    return request.client.host if request.client else "unknown"


def charge(services: Services, principal: Principal, cost: float, what: str) -> None:
    """Take `cost` more tokens of the caller's bucket (the request took one already), or
    raise 429."""
    if cost <= 0:
        return
    wait = services.limiter.take(principal.key_id, cost, paid=1)
    if wait > 0:
        raise RateLimited(
            f"{what} costs {cost:g} more requests than the key has left "
            f"({services.settings.rate_limit_rps:g} requests/s)",
            retry_after=TokenBuckets.retry_after(wait),
        )


class FailedKeys:
    """Failed-key allowance per client address (each refusal is audited by the audit
    middleware, like every answer)."""

    def __init__(self, per_second: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.buckets = TokenBuckets(per_second, burst, clock=clock)

    def wait(self, address: str) -> float:
        return self.buckets.wait(address)

    def fail(self, address: str) -> None:
        self.buckets.take(address)


async def refuse_blocked_address(request: Request, services: Services) -> None:
    """429 when the caller's address has used up its failed-key allowance."""
    address = client_address(request)
    wait = services.auth_failures.wait(address)
    if wait > 0:
        raise RateLimited("too many failed authentications from this address",
                          retry_after=TokenBuckets.retry_after(wait))


async def note_failed_key(request: Request, services: Services, key_id: str | None) -> None:
    """Charge the address one failure (the caller then gets 401; the audit middleware writes
    its entry, with the claimed key ID and the client address, like every answer's)."""
    services.auth_failures.fail(client_address(request))
    services.metrics.auth_failures.inc()


class DeadlineGuard:
    """Pure ASGI: the request's deadline, and its cancellation (see the module docstring).

    No task of its own: the inner app runs in this coroutine under `asyncio.timeout`, which
    cancels it at the deadline; a breaker trip moves the deadline to now for a request that
    uses the store. Once the answer has started, the deadline no longer applies (the request
    middleware's backstop still does)."""

    def __init__(self, app: ASGIApp, *, timeout_s: float, long_timeout_s: float,
                 long_prefixes: tuple[str, ...], retry_after_s: int) -> None:
        self.app = app
        self.timeout_s, self.long_timeout_s = timeout_s, long_timeout_s
        self.long_prefixes, self.retry_after_s = long_prefixes, retry_after_s

    def _breaker(self, scope: Scope) -> Breaker | None:
        services = getattr(scope["app"].state, "services", None)
        return services.stores.breaker if services is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        timeout = self.long_timeout_s if path.startswith(self.long_prefixes) else self.timeout_s
        loop = asyncio.get_running_loop()
        bound = asyncio.timeout(timeout)
        started = tripped = inside = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and not started:
                started = True
                bound.reschedule(None)  # answering: no cancellation half-way through a body
            await send(message)

        def on_trip() -> None:  # the probe's thread
            loop.call_soon_threadsafe(cut_short)

        def cut_short() -> None:
            nonlocal tripped
            if inside and not started and scope.get("state", {}).get(STORE_FLAG):
                tripped = True
                bound.reschedule(loop.time())

        breaker = self._breaker(scope)
        unsubscribe = None
        token = deadline.start(timeout)
        try:
            async with bound:
                inside = True
                if breaker is not None:
                    unsubscribe = breaker.subscribe(on_trip)
                try:
                    await self.app(scope, receive, send_wrapper)
                finally:
                    inside = False
        except TimeoutError:
            if started or not bound.expired():
                raise
            # the work was cancelled at its deadline; its late answer is never sent
            rid = _request_id(scope)
            if tripped and breaker is not None:
                answer = problem(503, "store_unavailable", "Graph store unavailable",
                                 "the graph store does not answer; retry shortly",
                                 retry_after=breaker.retry_after, request_id=rid)
            else:
                answer = problem(503, "timeout", "Request timed out",
                                 f"no answer within {timeout:g} s; the work was stopped; "
                                 "retry shortly", retry_after=self.retry_after_s,
                                 request_id=rid)
            await answer(scope, receive, send)
        finally:
            deadline.reset(token)
            if unsubscribe is not None:
                unsubscribe()


def _request_id(scope: Scope) -> str | None:
    ctx: RequestContext | None = scope.get("state", {}).get("ctx")
    return ctx.request_id if ctx else None
