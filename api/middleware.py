"""The request middleware: request ID, time bound, metrics, access log.

Pure ASGI (no BaseHTTPMiddleware) to keep the request path lean. A request that has not
started its answer after the time bound gets a 503 problem with Retry-After; the work left
running in the background is discarded when it ends. An unexpected exception becomes a 500
problem with the request ID and no trace. The audit entry of each answer is written by
`api.audit_middleware.AuditMiddleware`, outside this one.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import RequestContext, set_current
from api.errors import problem
from api.metrics import Metrics

log = logging.getLogger("guanlian.api.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
LONG_PREFIXES = ("/inspection/screen", "/inspection/draws", "/inspection/inspectors",
                 "/admin/")


class RequestMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        timeout_s: float,
        long_timeout_s: float,
        retry_after_s: int,
    ) -> None:
        self.app, self.metrics = app, metrics
        self.timeout_s, self.long_timeout_s = timeout_s, long_timeout_s
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                rid = value.decode("latin-1")
                break
        if not _REQUEST_ID.match(rid):
            rid = uuid.uuid4().hex
        ctx = RequestContext(rid)
        set_current(ctx)
        state = scope.setdefault("state", {})
        state["ctx"], state["request_id"] = ctx, rid
        started = time.perf_counter()
        status = 500
        response_started = timed_out = False
        rid_header = (b"x-request-id", rid.encode())

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if timed_out:
                return
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                message = {**message, "headers": [*headers, rid_header]}
            await send(message)

        path = scope.get("path", "")
        timeout = self.long_timeout_s if path.startswith(LONG_PREFIXES) else self.timeout_s
        task = asyncio.ensure_future(self.app(scope, receive, send_wrapper))
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if task in done:
                task.result()
            elif response_started:
                await task
            else:
                timed_out = True
                task.add_done_callback(_discard)
                self.metrics.timeouts.labels(self._route(scope)).inc()
                status = 503
                answer = problem(503, "timeout", "Request timed out",
                                 f"no answer within {timeout:g} s; retry shortly",
                                 retry_after=self.retry_after_s, request_id=rid)
                await answer(scope, receive, send)
        except asyncio.CancelledError:
            task.cancel()
            raise
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), path)
            if not response_started:
                status = 500
                answer = problem(500, "internal_error", "Internal error",
                                 "an unexpected error occurred; quote the request ID",
                                 request_id=rid)
                await answer(scope, receive, send)
        finally:
            self._finish(scope, ctx, status, time.perf_counter() - started)

    @staticmethod
    def _route(scope: Scope) -> str:
        route = scope.get("route")
        return getattr(route, "path", None) or "unmatched"

    def _finish(self, scope: Scope, ctx: RequestContext, status: int, seconds: float) -> None:
        route, method = self._route(scope), scope.get("method", "")
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(method, route).observe(seconds)
        p = ctx.principal
        log.info("%s %s %s %.1fms", method, scope.get("path"), status, seconds * 1000,
                 extra={"method": method, "path": route, "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "key_id": p.key_id if p else None})


def _discard(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("request finished with an error after its time-out answer")
