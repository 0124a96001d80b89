"""Identifier reads on the API's event loop, through Neo4j's async driver.

An identifier lookup (`POST /inspection/lookup` by USCC, customs code or resident ID) is one
Bolt round trip per identifier. Through the sync driver it needs a worker thread: the hop
there and back is two thread wakes, and the lookup's Python runs on a thread that was asleep.
On the 2-core machine this project is measured on, that was about a quarter of the API's time
over the raw store read. The async driver runs the same query on the event loop itself, and a
frozen Neo4j cannot hold the loop: the read awaits, so the request's deadline and a breaker
trip (`api.guard.DeadlineGuard`) cancel it as they cancel any other work.

`AsyncIdentifierReads.briefs_by_identifier` is `Neo4jStore.briefs_by_identifier` (the same
query and the same briefs, `graph.neo4j.store.identifier_read` / `identifier_briefs`) under
the same bounds as `graph.neo4j.cypher.Cypher.run`: refused at once while the breaker is open
or past the deadline, a transaction timeout never past the deadline, one retry of a dropped
connection, connection failures fed to the breaker, and driver errors turned into
`StoreUnavailable` as `graph.neo4j.conn.guarded` does. `briefs_by_identifiers` reads several
identifiers at once (`BRIEFS_BY_IDENTIFIERS`): a customs declaration names the firm's USCC
and customs code and the declarant's ID number, three round trips one by one. Everything
else (name searches, profiles, walks) stays on the sync store.

The driver's connections belong to the event loop that opened them: open and close it on the
loop that serves (the API's lifespan does).

One clock per read, not one per socket call: Neo4j 5 asks drivers (the connection hint
`connection.recv_timeout_seconds`, 120 s) to time every receive, the driver times every send
(`connection_write_timeout`, 30 s), and the async driver does so with a timer task around
each socket call, five per identifier read (measured: 0.36 -> 0.28 ms of CPU per read
without them). Each read here is bounded as a whole instead (`asyncio.timeout`: its
transaction timeout, or the request's deadline, plus `READ_GRACE_S` for the server's own
answer to a stopped query; `UNBOUNDED_READ_S` when neither is set), and the connection's own
receive and send timeouts are dropped once (`_untime`; when the driver's internals change,
its timeouts stay). A server that stops answering is noticed sooner than before: at the
read's bound, as a connection failure for the breaker, not after 120 s.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

import neo4j
from neo4j import AsyncDriver, AsyncGraphDatabase

from graph import deadline
from graph.models import EntityBrief
from graph.neo4j import queries as q
from graph.neo4j.breaker import CircuitBreaker
from graph.neo4j.conn import Neo4jSettings, get_settings, store_errors
from graph.neo4j.cypher import FETCH_SIZE, STALE_ERRORS, bounded_query, native, read_bounds
from graph.neo4j.store import (
    BATCHED_KINDS,
    IdentifierBatch,
    identifier_briefs,
    identifier_read,
)
from graph.store import IDENTIFIERS, IdentifierKind

POOL_SIZE = 16  # concurrent identifier reads of one server process
WARM_UP_VALUE = "0000000000"
READ_GRACE_S = 2.0  # past a read's transaction timeout: the server's answer to stopping it
UNBOUNDED_READ_S = 30.0  # a read with neither a transaction timeout nor a deadline


def read_bound(tx_timeout: float | None) -> float:
    """Seconds one read may take on the client's clock: its transaction timeout (never past
    the deadline) plus `READ_GRACE_S`, the deadline's remainder, or `UNBOUNDED_READ_S`."""
    if tx_timeout is not None:
        return deadline.bounded(tx_timeout) + READ_GRACE_S
    left = deadline.remaining()
    return UNBOUNDED_READ_S if left is None else max(0.001, left) + READ_GRACE_S


def _untime(session: Any, done: weakref.WeakSet[Any]) -> None:
    """Drop the per-call receive and send timeouts of `session`'s connection, once per
    connection (each read on it is bounded as a whole). Reached through the driver's
    internals: when they change, nothing is dropped and the driver's timeouts stay."""
    connection = getattr(session, "_connection", None)
    sock = getattr(connection, "socket", None)
    if (sock is None or sock in done or not hasattr(sock, "set_read_timeout")
            or not hasattr(sock, "set_write_timeout")):
        return
    sock.set_read_timeout(None)
    sock.set_write_timeout(None)
    done.add(sock)


class AsyncIdentifierReads:
    def __init__(self, driver: AsyncDriver, *, database: str | None, uri: str,
                 breaker: CircuitBreaker | None, tx_timeout: float | None) -> None:
        self.driver, self.database, self.uri = driver, database, uri
        self.breaker, self.tx_timeout = breaker, tx_timeout
        self._untimed: weakref.WeakSet[Any] = weakref.WeakSet()

    @classmethod
    def open(cls, uri: str | None, user: str | None, password: str | None, *,
             breaker: CircuitBreaker | None, tx_timeout: float | None,
             database: str | None = None,
             settings: Neo4jSettings | None = None) -> AsyncIdentifierReads:
        """The async driver with the sync driver's timeouts (`graph.neo4j.conn.open_driver`);
        nothing is connected until the first read."""
        s = settings or get_settings()
        target = uri or s.uri
        secret = password if password is not None else s.password.get_secret_value()
        driver = AsyncGraphDatabase.driver(
            target, auth=(user or s.user, secret),
            connection_timeout=s.connection_timeout,
            connection_acquisition_timeout=s.acquisition_timeout,
            max_connection_pool_size=POOL_SIZE, keep_alive=True,
            notifications_min_severity="OFF",
        )
        return cls(driver, database=database, uri=target, breaker=breaker,
                   tx_timeout=tx_timeout)

    async def briefs_by_identifier(self, kind: IdentifierKind, value: str
                                   ) -> list[EntityBrief]:
        read = identifier_read(kind, value)
        if read is None:
            return []
        with store_errors(self.uri):  # as `guarded`
            rows = await self._run(read[0], {"v": read[1]})
        return identifier_briefs(rows)

    async def briefs_by_identifiers(self, keys: Sequence[tuple[IdentifierKind, str]]
                                    ) -> dict[tuple[str, str], list[EntityBrief]]:
        """`briefs_by_identifier` of every (kind, value) of `keys`: a declaration's in one
        round trip (`Neo4jStore.briefs_by_identifiers`' query and batching); a lone
        identifier by its own query (two index seeks, not six), a kind the batch does not
        read alone."""
        batch = IdentifierBatch.of(keys)
        if len(batch.asked) < 2:  # its own query: two index seeks, not six
            return {key: await self.briefs_by_identifier(*key) for key in dict.fromkeys(keys)}
        rows: list[dict[str, Any]] = []
        for params in batch.params:
            with store_errors(self.uri):  # as `guarded`
                rows += await self._run(q.BRIEFS_BY_IDENTIFIERS, params)
        out = batch.briefs(rows)
        for key in batch.alone:
            out[key] = await self.briefs_by_identifier(*key)
        return out

    async def _run(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        with read_bounds(self.breaker):  # as Cypher.run
            try:
                rows = await self._run_once(query, params)
            except STALE_ERRORS:
                rows = await self._run_once(query, params)
        return rows

    async def _run_once(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        text = bounded_query(query, self.tx_timeout)
        async with asyncio.timeout(read_bound(self.tx_timeout)):
            async with self.driver.session(database=self.database,
                                           default_access_mode=neo4j.READ_ACCESS,
                                           fetch_size=FETCH_SIZE) as session:
                result = await session.run(text, params)
                _untime(session, self._untimed)
                return [native(dict(r)) async for r in result]

    async def warm_up(self) -> None:
        """Connect and plan the query of every identifier kind and the batched one (a value
        no entity holds)."""
        for kind in IDENTIFIERS:
            await self.briefs_by_identifier(kind, WARM_UP_VALUE)
        await self.briefs_by_identifiers([(kind, WARM_UP_VALUE) for kind in BATCHED_KINDS])

    async def close(self) -> None:
        await self.driver.close()
