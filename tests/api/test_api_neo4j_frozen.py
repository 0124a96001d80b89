"""A frozen Neo4j (SIGSTOP) under the running service: a fast 503 with a short Retry-After,
then recovery by itself after SIGCONT; and a slow query stopped at the request's deadline.

Runs against the test session's real Neo4j server (NEO4J_URI / NEO4J_PASSWORD, started by
`scripts/neo4j`): the server process is found by the Bolt port it listens on, frozen, and
always thawed again (finally), so the session's other Neo4j tests keep their server.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psutil
import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from api.app import create_app
from graph import deadline
from graph.neo4j.breaker import CircuitBreaker
from graph.neo4j.cypher import Cypher
from graph.neo4j.loader import publish_run
from tests.api.test_api_support import create_keys, make_settings, tiny_run
from tests.conftest import Neo4jSettings
from tests.support.graph_fixture import A1

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
FAST_S = 1.0  # the most a 503 may take with Neo4j frozen
LOOKUP = {"uscc": "91310000MA1000003E"}


def _server_pid(uri: str) -> int:
    port = urlparse(uri).port
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN \
                and conn.pid:
            return int(conn.pid)
    pytest.fail(f"no process listens on the Bolt port {port}", pytrace=False)


@pytest.fixture
def served(neo4j_clean: Driver, neo4j_settings: Neo4jSettings,
           tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    run = tiny_run(tmp_path)
    publish_run(neo4j_clean, run, progress=False)
    settings = make_settings(tmp_path, run, store="neo4j", neo4j_uri=neo4j_settings.uri,
                             neo4j_user=neo4j_settings.user,
                             neo4j_password=neo4j_settings.password or "")
    keys, _ = create_keys(settings)
    with TestClient(create_app(settings)) as client:
        yield client, {"X-API-Key": keys["investigator"]}


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_frozen_neo4j_gives_a_fast_503_and_the_service_recovers_by_itself(
    served: tuple[TestClient, dict[str, str]], neo4j_settings: Neo4jSettings
) -> None:
    client, headers = served
    ok = client.post("/inspection/lookup", json=LOOKUP, headers=headers)
    assert ok.status_code == 200 and ok.json()["match"]["entity"]["entity_id"] == A1
    pid = _server_pid(neo4j_settings.uri)
    figures: dict[str, float] = {}
    in_flight: dict[str, Any] = {}

    def lookup_in_flight() -> None:
        in_flight["response"], in_flight["seconds"] = _timed(
            lambda: client.post("/inspection/lookup", json=LOOKUP, headers=headers))

    os.kill(pid, signal.SIGSTOP)
    try:
        # a request that reaches the frozen server before the breaker knows
        worker = threading.Thread(target=lookup_in_flight)
        worker.start()
        worker.join(timeout=15)
        assert not worker.is_alive(), "a request hung on the frozen server"
        first = in_flight["response"]
        assert first.status_code == 503, first.text
        assert int(first.headers["Retry-After"]) <= 1
        assert first.json()["code"] == "store_unavailable"
        figures["first_503_s"] = in_flight["seconds"]
        assert in_flight["seconds"] <= FAST_S + 0.5  # probe interval + stall, contended box
        # once the breaker is open, every store request is refused at once
        for call in (lambda: client.post("/inspection/lookup", json=LOOKUP, headers=headers),
                     lambda: client.get(f"/entities/{A1}", headers=headers),
                     lambda: client.get("/readyz")):
            down, seconds = _timed(call)
            assert down.status_code == 503, down.text
            assert down.headers["content-type"].startswith("application/problem+json")
            assert int(down.headers["Retry-After"]) <= 1
            assert seconds <= FAST_S
            figures["open_503_s"] = max(figures.get("open_503_s", 0.0), seconds)
        assert client.get("/whoami", headers=headers).status_code == 200  # no store needed
    finally:
        os.kill(pid, signal.SIGCONT)
    thawed = time.monotonic()
    while True:
        back = client.post("/inspection/lookup", json=LOOKUP, headers=headers)
        if back.status_code == 200:
            break
        assert time.monotonic() - thawed < 30, "the service did not recover by itself"
        time.sleep(0.1)
    figures["recovery_s"] = time.monotonic() - thawed
    assert back.json()["match"]["entity"]["entity_id"] == A1
    assert client.get("/readyz").status_code == 200
    print(f"\nfrozen Neo4j: first 503 after {figures['first_503_s']:.2f} s, "
          f"open-breaker 503s within {figures['open_503_s'] * 1000:.0f} ms, "
          f"recovered {figures['recovery_s']:.2f} s after SIGCONT")


def test_a_query_past_its_deadline_is_stopped_by_the_server(neo4j_clean: Driver) -> None:
    cypher = Cypher(neo4j_clean, None, 100, [], tx_timeout=30.0)
    slow = "UNWIND range(1, 100000000) AS i WITH i WHERE i % 7 = 123 RETURN count(i) AS n"
    started = time.monotonic()
    with deadline.within(0.5), pytest.raises(deadline.DeadlineExceeded):
        cypher.run(slow)
    assert time.monotonic() - started < 6  # the server checks timeouts every ~2 s
    running = neo4j_clean.execute_query(
        "SHOW TRANSACTIONS YIELD currentQuery WHERE currentQuery CONTAINS $marker "
        "AND NOT currentQuery STARTS WITH 'SHOW' RETURN count(*) AS n",
        marker="i % 7 = 123").records[0]["n"]
    assert running == 0
    with deadline.within(0.0001):
        time.sleep(0.001)
        with pytest.raises(deadline.DeadlineExceeded):
            cypher.run("RETURN 1 AS ok")  # refused before it is sent


def test_the_breaker_opens_on_connection_failures_and_closes_on_success() -> None:
    breaker = CircuitBreaker(failures=2, retry_after=1)
    opened: list[int] = []
    unsubscribe = breaker.subscribe(lambda: opened.append(1))
    breaker.failed(OSError("refused"))
    breaker.check()  # one failure: still closed
    breaker.failed(OSError("refused"))
    assert breaker.is_open and opened == [1]
    with pytest.raises(Exception, match="unavailable"):
        breaker.check()
    breaker.succeeded()
    breaker.check()
    unsubscribe()
    breaker.trip("test")
    assert opened == [1]
