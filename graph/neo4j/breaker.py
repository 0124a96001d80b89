"""A circuit breaker for the Neo4j reads, fed by the reads themselves and by a liveness probe.

A frozen server (SIGSTOP, a stop-the-world pause) accepts connections and then never
answers: no driver timeout fires, and every read would wait for its whole deadline. A
restarting server refuses connections: every read would pay a connection attempt. The
breaker turns both into a fast `StoreUnavailable` (503 with a short Retry-After):

- closed: reads run; `failures` consecutive connection-level failures open it;
- open: every read fails at once, before taking a connection from the pool;
- the probe (`Probe`, one daemon thread) runs `RETURN 1` every `interval` seconds. A ping
  that has not answered within `stall` seconds opens the breaker (a frozen server); a
  failed ping opens it (a stopped server); an answered ping closes it again, so the
  service recovers by itself, without a restart, once Neo4j answers.

Listeners (`subscribe`) are called on every opening: the API answers requests already
waiting on the store at that moment instead of leaving them to their deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING

from graph.store import StoreUnavailable

if TYPE_CHECKING:
    from neo4j import Driver

    from graph.neo4j.conn import Neo4jSettings

log = logging.getLogger("guanlian.neo4j.breaker")


class CircuitBreaker:
    def __init__(self, *, failures: int = 3, retry_after: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures_to_open = failures
        self._retry_after = retry_after
        self._clock = clock
        self._lock = threading.Lock()
        self._open = False
        self._failures = 0
        self._reason = ""
        self._opened_at = 0.0
        self._listeners: dict[int, Callable[[], None]] = {}
        self._next_listener = 0
        self.openings = 0

    @property
    def retry_after(self) -> int:
        return self._retry_after

    @property
    def is_open(self) -> bool:
        return self._open

    def check(self) -> None:
        """Raise `StoreUnavailable` at once while the breaker is open."""
        if self._open:
            raise StoreUnavailable(f"Neo4j is unavailable ({self._reason}); "
                                   f"retry in {self._retry_after} s")

    def succeeded(self) -> None:
        if self._failures or self._open:
            with self._lock:
                self._failures = 0
                if self._open:
                    log.warning("Neo4j answers again after %.1f s: breaker closed",
                                self._clock() - self._opened_at)
                self._open = False

    def failed(self, exc: BaseException) -> None:
        """A connection-level failure of a read; opens after `failures` in a row."""
        with self._lock:
            self._failures += 1
            opening = self._failures >= self.failures_to_open
        if opening:
            self.trip(f"{type(exc).__name__} x{self._failures}")

    def trip(self, reason: str) -> None:
        """Open now (no-op when already open) and tell the listeners."""
        with self._lock:
            if self._open:
                return
            self._open, self._reason = True, reason
            self._opened_at = self._clock()
            self.openings += 1
            listeners = list(self._listeners.values())
        log.warning("Neo4j breaker opened: %s", reason)
        for listener in listeners:
            try:
                listener()
            except Exception:  # a listener must never stop the others
                log.exception("a breaker listener failed")

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` on each opening until the returned function is called."""
        with self._lock:
            ident = self._next_listener
            self._next_listener += 1
            self._listeners[ident] = callback

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.pop(ident, None)

        return unsubscribe


class Probe:
    """Pings Neo4j every `interval` s; a ping unanswered after `stall` s, or failed, opens
    the breaker, an answered one closes it. `ping` runs in a worker thread of its own."""

    def __init__(self, breaker: CircuitBreaker, ping: Callable[[], None], *,
                 interval: float = 0.25, stall: float = 0.5) -> None:
        self.breaker, self._ping = breaker, ping
        self.interval, self.stall = interval, stall
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neo4j-probe-ping")
        self._thread = threading.Thread(target=self._loop, name="neo4j-probe", daemon=True)

    def start(self) -> Probe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._once(self._pool.submit(self._ping))
            self._stop.wait(self.interval)

    def _once(self, future: Future[None]) -> None:
        try:
            future.result(timeout=self.stall)
        except FutureTimeout:
            self.breaker.trip(f"no answer to a ping within {self.stall:g} s")
            while not self._stop.is_set():  # a frozen server: wait for this very ping
                try:
                    future.result(timeout=self.interval)
                    break
                except FutureTimeout:
                    continue
                except Exception as exc:  # noqa: BLE001 - any failure keeps it open
                    log.debug("ping failed: %s", exc)
                    return
            else:
                return
        except Exception as exc:  # noqa: BLE001 - refused, reset, auth: all unavailable
            self.breaker.trip(f"ping failed: {type(exc).__name__}")
            return
        self.breaker.succeeded()


class ReadGuard:
    """What bounds a store's reads: its breaker, the probe feeding it, the transaction
    timeout. `for_driver` builds and starts one from the connection settings."""

    def __init__(self, breaker: CircuitBreaker, probe: Probe | None,
                 tx_timeout: float | None) -> None:
        self.breaker, self.probe, self.tx_timeout = breaker, probe, tx_timeout

    @classmethod
    def for_driver(cls, driver: Driver, *, retry_after: int = 1, database: str | None = None,
                   settings: Neo4jSettings | None = None) -> ReadGuard:
        from graph.neo4j.conn import get_settings, ping

        s = settings or get_settings()
        breaker = CircuitBreaker(failures=s.breaker_failures, retry_after=retry_after)
        probe = Probe(breaker, lambda: ping(driver, database, s.probe_stall),
                      interval=s.probe_interval, stall=s.probe_stall)
        return cls(breaker, probe.start(), s.transaction_timeout)

    def stop(self) -> None:
        if self.probe is not None:
            self.probe.stop()
