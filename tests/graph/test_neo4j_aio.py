"""The event loop's identifier reads (`graph.neo4j.aio`) on the real Neo4j server: the same
briefs as the sync store's, and the same bounds (breaker, deadline, unavailable server)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from neo4j import Driver

from graph import deadline
from graph.neo4j.aio import READ_GRACE_S, UNBOUNDED_READ_S, AsyncIdentifierReads, read_bound
from graph.neo4j.breaker import CircuitBreaker, ReadGuard
from graph.neo4j.loader import publish_run
from graph.neo4j.store import Neo4jStore
from graph.store import StoreUnavailable
from tests.api.test_api_support import tiny_run
from tests.conftest import Neo4jSettings

pytestmark = [pytest.mark.neo4j]


def _reads(s: Neo4jSettings, breaker: CircuitBreaker | None = None,
           uri: str | None = None) -> AsyncIdentifierReads:
    return AsyncIdentifierReads.open(uri or s.uri, s.user, s.password or "", breaker=breaker,
                                     tx_timeout=5.0)


def _cases(run: Path) -> list[tuple[Any, str]]:
    """Every identifier of the run's entities, as stored and as a declaration may write it,
    and values no entity holds."""
    rows = pq.read_table(run / "entities.parquet").to_pylist()
    cases: list[tuple[Any, str]] = []
    for row in rows:
        for kind in ("uscc", "customs_code", "id_number"):
            if row.get(kind):
                cases += [(kind, row[kind]), (kind, f" {row[kind].lower()} ")]
    return cases + [("uscc", "91310000MA1000099X"), ("id_number", "110101199003071234"),
                    ("customs_code", "   "), ("reg_no", "310000000000000")]


def test_the_event_loops_reads_give_the_sync_stores_briefs(
        neo4j_clean: Driver, neo4j_settings: Neo4jSettings, tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    publish_run(neo4j_clean, run, progress=False)
    cases = _cases(run)
    breaker = CircuitBreaker()

    async def read_all() -> list[Any]:
        reads = _reads(neo4j_settings, breaker)
        try:
            return [await reads.briefs_by_identifier(kind, value) for kind, value in cases]
        finally:
            await reads.close()

    got = asyncio.run(read_all())
    want = [Neo4jStore(neo4j_clean).briefs_by_identifier(kind, value) for kind, value in cases]
    assert got == want
    assert sum(bool(g) for g in got) > 10 and sum(not g for g in got) >= 4  # hits and misses
    assert any(b.risk is not None and b.risk.reasons for g in got for b in g)  # stored risk read
    assert not breaker.is_open


def test_identifiers_read_in_one_round_trip_give_the_briefs_read_one_by_one(
        neo4j_clean: Driver, neo4j_settings: Neo4jSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`briefs_by_identifiers` (the event loop's and the sync store's) gives each key the
    briefs `briefs_by_identifier` gives it: every entity's identifiers together, a firm's
    with a person's, hits beside misses, values with no identifier text, a kind's second
    value, a kind it does not batch (read alone), and every identifier of the run at once in
    reads of a few values each."""
    import graph.neo4j.store as store_module

    run = tiny_run(tmp_path)
    publish_run(neo4j_clean, run, progress=False)
    rows = pq.read_table(run / "entities.parquet").to_pylist()
    firms = [r for r in rows if r["kind"] == "enterprise" and r.get("customs_code")]
    person = next(r for r in rows if r["kind"] == "person" and r.get("id_number"))
    batches: list[list[tuple[Any, str]]] = [
        [("uscc", f["uscc"]), ("customs_code", f" {f['customs_code'].lower()} "),
         ("id_number", person["id_number"])] for f in firms]
    batches += [[("uscc", firms[0]["uscc"]), ("customs_code", firms[1]["customs_code"])],
                [("uscc", "91310000MA1000099X"), ("id_number", "110101199003071234"),
                 ("customs_code", "   ")],
                [("id_number", person["id_number"].lower())],
                [("uscc", firms[0]["uscc"]), ("uscc", firms[1]["uscc"]),
                 ("reg_no", "310000000000000"), ("uscc", firms[0]["uscc"].lower())],
                [c for c in _cases(run) if c[0] != "reg_no"]]
    monkeypatch.setattr(store_module, "IDENTIFIER_BATCH", 3)  # the last: many reads
    store = Neo4jStore(neo4j_clean)

    async def read_all() -> list[Any]:
        reads = _reads(neo4j_settings)
        try:
            return [await reads.briefs_by_identifiers(keys) for keys in batches]
        finally:
            await reads.close()

    on_loop = asyncio.run(read_all())
    for keys, got in zip(batches, on_loop, strict=True):
        want = {key: store.briefs_by_identifier(*key) for key in keys}
        assert got == want, keys
        assert store.briefs_by_identifiers(keys) == want, keys
    assert all(any(got.values()) for got in on_loop[:len(firms)])
    assert sum(bool(g) for g in on_loop[-1].values()) > 10


def test_an_open_breaker_refuses_before_any_connection(neo4j_settings: Neo4jSettings) -> None:
    breaker = CircuitBreaker(failures=1)
    breaker.failed(OSError("frozen"))
    reads = _reads(neo4j_settings, breaker)

    async def read() -> None:
        try:
            await reads.briefs_by_identifier("uscc", "91310000MA1000003E")
        finally:
            await reads.close()

    with pytest.raises(StoreUnavailable, match="unavailable"):
        asyncio.run(read())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_is_unavailable_and_opens_the_breaker(
        neo4j_settings: Neo4jSettings) -> None:
    breaker = CircuitBreaker(failures=2)
    reads = _reads(neo4j_settings, breaker, uri=f"bolt://127.0.0.1:{_closed_port()}")

    async def attempts() -> list[str]:
        errors = []
        try:
            for _ in range(3):
                try:
                    await reads.briefs_by_identifier("uscc", "91310000MA1000003E")
                except StoreUnavailable as exc:
                    errors.append(str(exc))
        finally:
            await reads.close()
        return errors

    errors = asyncio.run(attempts())
    assert len(errors) == 3 and breaker.is_open
    assert "127.0.0.1" in errors[0]  # names the server it could not reach
    assert "retry" in errors[2]  # the third was refused by the open breaker


def test_a_read_past_its_deadline_is_refused_without_blaming_the_server(
        neo4j_driver: Driver, neo4j_settings: Neo4jSettings) -> None:
    # DeadlineExceeded is a TimeoutError, so an OSError: it was once taken for a connection
    # failure (503 "unreachable", and three late requests opened the breaker for everyone)
    breaker = CircuitBreaker(failures=2)
    reads = _reads(neo4j_settings, breaker)
    store = Neo4jStore(neo4j_driver, guard=ReadGuard(breaker, None, 5.0))

    async def late() -> int:
        refused = 0
        try:
            for _ in range(3):
                with pytest.raises(deadline.DeadlineExceeded):
                    await reads.briefs_by_identifier("uscc", "91310000MA1000003E")
                refused += 1
        finally:
            await reads.close()
        return refused

    token = deadline.start(-1.0)
    try:
        for _ in range(3):
            with pytest.raises(deadline.DeadlineExceeded):
                store.briefs_by_identifier("uscc", "91310000MA1000003E")
        assert asyncio.run(late()) == 3
    finally:
        deadline.reset(token)
    assert not breaker.is_open


class _FreezingProxy:
    """A TCP relay to the real server that can stop relaying (a frozen server, as seen from
    the driver: the connection stays open and nothing comes back)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.frozen = target, threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.frozen.is_set():
                    return  # swallowed, and nothing more relayed
                dst.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        for sock in [self.listener, *self.sockets]:
            sock.close()


def test_a_server_that_stops_answering_fails_the_read_at_its_bound(
        neo4j_settings: Neo4jSettings) -> None:
    # the driver's per-call socket timeouts are dropped (one timer per read instead), so
    # the read's own bound is what notices a frozen server: its transaction timeout plus
    # READ_GRACE_S, as a connection failure for the breaker
    host, port = neo4j_settings.uri.split("://")[1].rsplit(":", 1)
    proxy = _FreezingProxy((host, int(port)))
    breaker = CircuitBreaker(failures=1)
    reads = AsyncIdentifierReads.open(f"bolt://127.0.0.1:{proxy.port}", neo4j_settings.user,
                                      neo4j_settings.password or "", breaker=breaker,
                                      tx_timeout=0.5)

    async def scenario() -> tuple[list[Any], float]:
        try:
            await reads.briefs_by_identifier("uscc", "91310000MA1000003E")
            sockets = [c.socket for conns in reads.driver._pool.connections.values()
                       for c in conns]
            timeouts = [(s.get_read_timeout(), s._write_timeout) for s in sockets]
            proxy.frozen.set()
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await reads.briefs_by_identifier("uscc", "91310000MA1000003E")
            return timeouts, time.monotonic() - started
        finally:
            await reads.close()

    try:
        timeouts, took = asyncio.run(scenario())
    finally:
        proxy.close()
    assert timeouts and all(t == (None, None) for t in timeouts)  # per-call timers dropped
    assert read_bound(0.5) == 0.5 + READ_GRACE_S
    assert 0.5 + READ_GRACE_S - 0.2 < took < 0.5 + READ_GRACE_S + 1.5
    assert breaker.is_open  # a connection failure, fed to the breaker


def test_a_reads_bound_follows_its_timeout_and_the_deadline() -> None:
    assert read_bound(None) == UNBOUNDED_READ_S
    assert read_bound(3.0) == 3.0 + READ_GRACE_S
    with deadline.within(1.0):
        assert 1.0 < read_bound(None) <= 1.0 + READ_GRACE_S
        assert read_bound(3.0) <= 1.0 + READ_GRACE_S
