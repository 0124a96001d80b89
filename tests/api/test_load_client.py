"""The load generator's own HTTP/1.1 connection (bench.load_test.Connection) against a real
socket server that answers in each framing a server may use: it reads every answer in full,
keeps the connection when it may, and counts a failure instead of stopping the run."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bench.load_test import Connection, LoadError, LoadSpec, lookup_requests, run_load

_ANSWERS = {
    "/length": b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
    "/chunked": (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"3\r\n{\"a\r\n4;ext=1\r\n\":1}\r\n0\r\n\r\n"),
    "/close": b"HTTP/1.1 503 Unavailable\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    "/empty": b"HTTP/1.1 204 No Content\r\n\r\n",
    "/unframed": b"HTTP/1.1 200 OK\r\n\r\n{}",
}


class Server:
    """Answers each request by its path; records what it received and every connection."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
                fields = dict(line.split(": ", 1) for line in head[1:] if line)
                body = await reader.readexactly(int(fields.get("Content-Length", "0")))
                path = head[0].split(" ")[1]
                self.requests.append((head[0], fields, body))
                if path == "/slow":
                    await asyncio.sleep(1)
                elif path == "/wait":
                    await asyncio.sleep(0.03)
                writer.write(_ANSWERS.get(path, _ANSWERS["/length"]))
                await writer.drain()
                if path in ("/close", "/unframed"):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: Any) -> None:
        assert self.server is not None
        self.server.close()


def test_every_framing_is_read_in_full_on_one_kept_connection() -> None:
    async def go() -> None:
        server = Server()
        async with server as url:
            conn = Connection(url, {"X-API-Key": "k"}, timeout_s=5)
            body = {"name": "上海锦辉食品有限公司"}
            assert await conn.send(("POST", "/length", body)) == 200
            assert await conn.send(("GET", "/chunked", None)) == 201
            assert await conn.send(("GET", "/empty", None)) == 204
            assert await conn.send(("GET", "/length", None)) == 200
            assert server.connections == 1  # kept alive across all four
            line, fields, sent = server.requests[0]
            assert line == "POST /length HTTP/1.1" and fields["X-API-Key"] == "k"
            assert json.loads(sent) == body and fields["Content-Length"] == str(len(sent))
            assert "Content-Type" not in server.requests[1][1]  # no body, no type
            # the server closes: the next request opens a new connection
            assert await conn.send(("GET", "/close", None)) == 503
            assert await conn.send(("GET", "/length", None)) == 200
            assert server.connections == 2
            await conn.close()

    asyncio.run(go())


def test_failures_are_errors_that_reopen_the_connection() -> None:
    async def go() -> None:
        server = Server()
        async with server as url:
            conn = Connection(url, {}, timeout_s=0.2)
            with pytest.raises(LoadError, match="neither a length nor chunks"):
                await conn.send(("GET", "/unframed", None))
            with pytest.raises(TimeoutError):
                await conn.send(("GET", "/slow", None))
            assert await conn.send(("GET", "/length", None)) == 200
            assert server.connections == 3  # each failure dropped its connection
            await conn.close()
        with pytest.raises(ValueError, match="plain http"):
            Connection("https://127.0.0.1:1", {}, 1)

    asyncio.run(go())


def test_a_run_counts_what_failed_and_measures_the_rest() -> None:
    async def go() -> None:
        server = Server()
        async with server as url:
            subjects = [{"uscc": "a"}, {"uscc": "b"}]
            ok = await run_load(LoadSpec(url, lookup_requests(subjects, path="/length"),
                                         rate=100, clients=2, duration_s=0.2, warmup=2))
            assert ok.statuses == {"200": 20} and ok.errors == 0 and len(ok.latencies_ms) == 20
            bad = await run_load(LoadSpec(url, lookup_requests(subjects, path="/unframed"),
                                          rate=100, clients=2, duration_s=0.1, warmup=0))
            assert bad.statuses == {"LoadError": 10} and bad.errors == 10
        gone = await run_load(LoadSpec(url, lookup_requests(subjects), rate=100, clients=1,
                                       duration_s=0.05, warmup=0))
        assert gone.errors == 5 and set(gone.statuses) == {"ConnectionRefusedError"}

    asyncio.run(go())


def test_a_server_that_falls_behind_is_timed_from_due_an_idle_client_from_sending() -> None:
    async def go() -> None:
        async with Server() as url:
            subjects = [{"uscc": "a"}]
            # 30 ms answers at 100/s on one connection: each request waits for the last
            behind = await run_load(LoadSpec(url, lookup_requests(subjects, path="/wait"),
                                             rate=100, clients=1, duration_s=0.1, warmup=0))
            # (the bounds hold on a loaded machine too: load only lengthens the answers)
            assert behind.sent == 10 and behind.errors == 0
            # the last was due at 90 ms but sent after nine answers of 30 ms or more: its
            # latency counts that wait, its service time does not
            assert behind.latencies_ms[-1] - behind.service_ms[-1] > 150
            assert behind.latencies_ms[-1] > 150
            # the same answers at 4/s: the client is idle at each due time (an answer would
            # have to take 250 ms to make the next one late)
            idle = await run_load(LoadSpec(url, lookup_requests(subjects, path="/wait"),
                                           rate=4, clients=1, duration_s=0.5, warmup=0))
            assert idle.sent == 2 and idle.latencies_ms == idle.service_ms

    asyncio.run(go())
