"""The one graph store the service reads, opened in the lifespan and swappable by jobs.

Routes get the current store from `StoreHolder.get()`; a job swaps in a store on a new run
folder only once that store is fully built, and closes the old one after a grace period so
requests already holding it finish. Nothing in `api/` touches a database driver except the
opening here, which goes through `graph.neo4j.conn`; jobs publish through `pipeline.run`.
"""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from api.settings import Settings
from graph.store import GraphReader, NoRunLoaded

if TYPE_CHECKING:
    from graph.neo4j.aio import AsyncIdentifierReads
    from graph.neo4j.breaker import CircuitBreaker

log = logging.getLogger("guanlian.api")
CLOSE_GRACE_S = 30.0


class StoreHolder:
    def __init__(self, store: GraphReader | None, run_dir: Path | None = None,
                 breaker: CircuitBreaker | None = None,
                 identifier_reads: AsyncIdentifierReads | None = None) -> None:
        self._store = store
        self.run_dir = run_dir
        self.breaker = breaker  # Neo4j: open means fail fast (api.guard answers waiters)
        # Neo4j: identifier lookups on the event loop (graph.neo4j.aio), beside the store
        self.identifier_reads = identifier_reads
        self._lock = threading.Lock()

    def get(self) -> GraphReader:
        store = self._store
        if store is None:
            raise NoRunLoaded("no run is loaded")
        if self.breaker is not None:
            self.breaker.check()  # a 503 before any work while Neo4j is down or frozen
        return store

    @property
    def loaded(self) -> bool:
        return self._store is not None

    def swap(self, store: GraphReader, run_dir: Path | None) -> None:
        """Serve `store` from now on; the previous one closes after a grace period."""
        with self._lock:
            old, self._store, self.run_dir = self._store, store, run_dir
        gc.unfreeze()  # the previous store must become collectable again (see settle_heap)
        if old is not None and old is not store:
            timer = threading.Timer(CLOSE_GRACE_S, _close_quietly, args=(old,))
            timer.daemon = True
            timer.start()

    def close(self) -> None:
        with self._lock:
            old, self._store = self._store, None
        if old is not None:
            _close_quietly(old)

    async def aclose(self) -> None:
        """`close`, and the event loop's driver (on the loop that used it)."""
        reads, self.identifier_reads = self.identifier_reads, None
        if reads is not None:
            try:
                await reads.close()
            except Exception as exc:  # noqa: BLE001 - closing at shutdown: log and go on
                log.warning("closing the async Neo4j driver failed: %s", exc)
        self.close()


def settle_heap() -> None:
    """Move every object alive now (the store, its graph and indexes, the linkage model) into
    the permanent generation: the cyclic GC then never rescans the hundreds of thousands of
    long-lived objects of an embedded store, which otherwise stalls a request for hundreds of
    milliseconds at each full collection (the p99 of a lookup). Called once the service is
    set up; `StoreHolder.swap` undoes it so a replaced store is collected normally."""
    gc.collect()
    gc.freeze()


def _close_quietly(store: GraphReader) -> None:
    try:
        store.close()
    except Exception:  # closing must never take the service down
        log.exception("closing a graph store failed")


def open_embedded(run_dir: Path) -> GraphReader:
    from pipeline.run import publish_embedded

    return publish_embedded(run_dir)  # walks with the configured risk configuration's policy


def neo4j_password(settings: Settings) -> str | None:
    """The configured password; None (graph.neo4j.conn's own settings and .env) when unset."""
    return settings.neo4j_password.get_secret_value() or None


def open_neo4j(settings: Settings) -> StoreHolder:
    """The Neo4j store with its read guard: transaction timeouts, and a circuit breaker fed
    by a liveness probe (graph.neo4j.breaker); with the event loop's identifier reads under
    the same guard unless `neo4j_async_lookups` is off (call it on the serving loop)."""
    from graph.neo4j.aio import AsyncIdentifierReads
    from graph.neo4j.breaker import ReadGuard
    from graph.neo4j.conn import open_driver
    from graph.neo4j.store import Neo4jStore
    from risk.config import load_risk_config

    password = neo4j_password(settings)
    driver = open_driver(
        settings.neo4j_uri, settings.neo4j_user, password,
        verify=False,  # start even while Neo4j is down; /readyz reports it, requests get 503
    )
    guard = ReadGuard.for_driver(driver, retry_after=settings.retry_after_s)
    store = Neo4jStore(driver, load_risk_config(), guard=guard)  # walk policy
    reads = None
    if settings.neo4j_async_lookups:
        reads = AsyncIdentifierReads.open(
            settings.neo4j_uri, settings.neo4j_user, password, breaker=guard.breaker,
            tx_timeout=guard.tx_timeout, database=store.database)
    return StoreHolder(store, settings.run_dir, guard.breaker, reads)


def open_store(settings: Settings) -> StoreHolder:
    """Open the store the settings select (embedded with no run dir: nothing loaded yet)."""
    if settings.store_kind == "neo4j":
        return open_neo4j(settings)
    if settings.run_dir is None:
        log.warning("no run folder configured: serving nothing until a job completes")
        return StoreHolder(None, None)
    return StoreHolder(open_embedded(settings.run_dir), settings.run_dir)
