"""Neo4j stops and restarts under the running service: bounded 503s, then recovery by itself.

Starts its OWN throwaway Neo4j with `scripts/neo4j` on distinct ports and a temporary state
folder (never the shared developer server), loads the tiny run into it, serves it, stops the
server, checks that requests fail fast with 503 + Retry-After and /readyz reports it, starts
it again and checks the same app answers again without a restart.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from graph.neo4j.conn import open_driver
from graph.neo4j.loader import publish_run
from tests.api.test_api_support import create_keys, make_settings, tiny_run
from tests.support.graph_fixture import A1

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "neo4j"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BOLT_PORT, HTTP_PORT = _free_port(), _free_port()
BOUND_S = 15.0  # the longest a request may take while Neo4j is down


def _neo4j(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"scripts/neo4j {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if not SCRIPT.is_file():
        pytest.fail("scripts/neo4j is missing", pytrace=False)
    state = tmp_path_factory.mktemp("neo4j-failover")
    env = {
        **os.environ, "NEO4J_BOLT_PORT": str(BOLT_PORT), "NEO4J_HTTP_PORT": str(HTTP_PORT),
        "NEO4J_STATE_DIR": str(state / "server"), "NEO4J_DOTENV": "",
        "NEO4J_HEAP_INITIAL": "256m", "NEO4J_HEAP_MAX": "768m", "NEO4J_PAGECACHE": "128m",
        "NEO4J_TX_MEMORY_MAX": "256m",
    }
    env.pop("NEO4J_PASSWORD", None)
    env.pop("NEO4J_URI", None)
    _neo4j(env, "start")
    try:
        exports = _neo4j(env, "env")
        values = dict(line.removeprefix("export ").split("=", 1)
                      for line in exports.splitlines() if line.startswith("export "))
        env["NEO4J_PASSWORD"] = values["NEO4J_PASSWORD"].strip("'\"")
        yield env
    finally:
        _neo4j(env, "stop")


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_service_survives_a_neo4j_restart(server: dict[str, str], tmp_path: Path) -> None:
    uri, password = f"bolt://127.0.0.1:{BOLT_PORT}", server["NEO4J_PASSWORD"]
    run = tiny_run(tmp_path)
    driver = open_driver(uri, "neo4j", password)
    try:
        publish_run(driver, run, progress=False)
    finally:
        driver.close()
    settings = make_settings(tmp_path, run, store="neo4j", neo4j_uri=uri,
                             neo4j_password=password, retry_after_s=4)
    keys, _ = create_keys(settings)
    headers = {"X-API-Key": keys["investigator"]}
    lookup = {"uscc": "91310000MA1000003E"}
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").json()["run_id"] == "run_tiny"
        ok = client.post("/inspection/lookup", json=lookup, headers=headers)
        assert ok.json()["match"]["entity"]["entity_id"] == A1

        _neo4j(server, "stop")
        ready, seconds = _timed(lambda: client.get("/readyz"))
        assert ready.status_code == 503 and seconds < BOUND_S
        assert ready.headers["Retry-After"] == "4"
        for call in (lambda: client.post("/inspection/lookup", json=lookup, headers=headers),
                     lambda: client.get(f"/entities/{A1}", headers=headers)):
            down, seconds = _timed(call)
            assert down.status_code == 503, down.text
            assert seconds < BOUND_S
            assert down.headers["content-type"].startswith("application/problem+json")
            assert down.headers["Retry-After"] == "4"
            assert down.json()["code"] in ("store_unavailable", "timeout")

        _neo4j(server, "start")
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover by itself"
            time.sleep(1)
        back = client.post("/inspection/lookup", json=lookup, headers=headers)
        assert back.status_code == 200 and back.json()["match"]["entity"]["entity_id"] == A1
        assert client.get(f"/entities/{A1}", headers=headers).status_code == 200
