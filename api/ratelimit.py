"""Per-key token buckets with request costs, per-key concurrency slots (in-process) and the
request body size bound."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PayloadTooLarge, problem


class TokenBuckets:
    """`rate` tokens per second up to `burst`, one bucket per key; a request costs `cost`.

    A request dearer than the whole bucket (a 1,000-subject screen with a smaller burst) is
    admitted when the bucket is full and leaves it in debt: the key then waits until the
    debt is paid back at `rate`, so the cost is always charged in full. Idle full buckets are
    dropped once more than `max_keys` are held (bounded memory under address churn).
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000):
        self.rate, self.burst, self._clock = rate, float(burst), clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def take(self, key: str, cost: float = 1.0, paid: float = 0.0) -> float:
        """Take `cost` tokens; returns 0 when allowed, else the seconds until it would be.
        `paid`: tokens the same request took already (its admission looks at the whole)."""
        now = self._clock()
        with self._lock:
            tokens = self._level(key, now)
            needed = max(0.0, min(cost + paid, self.burst) - paid)
            if tokens >= needed:
                self._buckets[key] = (tokens - cost, now)
                if len(self._buckets) > self.max_keys:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (needed - tokens) / self.rate

    def wait(self, key: str, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens could be taken (0: now); takes nothing."""
        now = self._clock()
        with self._lock:
            tokens = self._level(key, now)
        needed = min(cost, self.burst)
        return 0.0 if tokens >= needed else (needed - tokens) / self.rate

    def _prune(self, now: float) -> None:
        for key in [k for k in self._buckets if self._level(k, now) >= self.burst]:
            del self._buckets[key]

    @staticmethod
    def retry_after(wait: float) -> int:
        return max(1, math.ceil(wait))


class ConcurrencySlots:
    """At most `limit` requests of one group (screen, network, …) in flight per key."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, group: str) -> bool:
        with self._lock:
            held = self._held.get((key, group), 0)
            if held >= self.limit:
                return False
            self._held[(key, group)] = held + 1
            return True

    def release(self, key: str, group: str) -> None:
        with self._lock:
            held = self._held.get((key, group), 0) - 1
            if held > 0:
                self._held[(key, group)] = held
            else:
                self._held.pop((key, group), None)

    def held(self, key: str, group: str) -> int:
        with self._lock:
            return self._held.get((key, group), 0)


class BodySizeLimit:
    """413 when Content-Length or the streamed body exceeds `max_bytes`.

    A body without Content-Length (chunked) is read here up to the bound and replayed.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, PayloadTooLarge.code, PayloadTooLarge.title,
                           f"request bodies are limited to {self.max_bytes} bytes")
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: int | None = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
        if length is not None:
            if length > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
