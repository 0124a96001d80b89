"""The real Neo4j server provisioned by scripts/neo4j: driver round trip, cleanup, status."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from neo4j import Driver

from tests.conftest import ROOT, Neo4jSettings, empty_database

SCRIPT = ROOT / "scripts" / "neo4j"


def run_script(
    *args: str, bolt_port: int, state_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NEO4J_BOLT_PORT=str(bolt_port))
    if state_dir is not None:
        env["NEO4J_STATE_DIR"] = str(state_dir)
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_write_and_read_back_through_the_driver(neo4j_clean: Driver) -> None:
    neo4j_clean.execute_query(
        "CREATE (p:InfraPerson {id: $pid, name: $pname})"
        "-[:INFRA_LEGAL_REP_OF {since: $since}]->"
        "(e:InfraEnterprise {id: $eid, name: $ename})",
        pid="P000000000001",
        pname="张伟",
        since="2019-03-01",
        eid="E000000000001",
        ename="上海浦东新区华信贸易有限公司",
    )

    records, _, _ = neo4j_clean.execute_query(
        "MATCH (p:InfraPerson)-[r:INFRA_LEGAL_REP_OF]->(e:InfraEnterprise) "
        "RETURN p.id AS pid, p.name AS pname, r.since AS since, e.id AS eid, e.name AS ename"
    )
    assert [r.data() for r in records] == [
        {
            "pid": "P000000000001",
            "pname": "张伟",
            "since": "2019-03-01",
            "eid": "E000000000001",
            "ename": "上海浦东新区华信贸易有限公司",
        }
    ]
    counts, _, _ = neo4j_clean.execute_query(
        "MATCH (n) RETURN count(n) AS nodes, COUNT { ()-[]->() } AS rels"
    )
    assert (counts[0]["nodes"], counts[0]["rels"]) == (2, 1)


def test_cleanup_empties_data_constraints_and_indexes(neo4j_clean: Driver) -> None:
    neo4j_clean.execute_query(
        "CREATE CONSTRAINT infra_probe_id IF NOT EXISTS FOR (n:InfraProbe) REQUIRE n.id IS UNIQUE"
    )
    neo4j_clean.execute_query(
        "CREATE INDEX infra_probe_name IF NOT EXISTS FOR (n:InfraProbe) ON (n.name)"
    )
    neo4j_clean.execute_query(
        "UNWIND range(1, $n) AS i CREATE (:InfraProbe {id: i, name: 'n' + toString(i)})", n=250
    )

    empty_database(neo4j_clean)

    nodes, _, _ = neo4j_clean.execute_query("MATCH (n) RETURN count(n) AS c")
    assert nodes[0]["c"] == 0
    constraints, _, _ = neo4j_clean.execute_query("SHOW CONSTRAINTS YIELD name")
    assert constraints == []
    indexes, _, _ = neo4j_clean.execute_query("SHOW INDEXES YIELD type")
    assert {r["type"] for r in indexes} <= {"LOOKUP"}


def test_status_reports_the_running_server(
    neo4j_settings: Neo4jSettings, neo4j_driver: Driver
) -> None:
    port = urlsplit(neo4j_settings.uri).port or 7687
    result = run_script("status", bolt_port=port)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("running")
    assert f"bolt://127.0.0.1:{port}" in result.stdout


def test_status_reports_stopped_on_an_unused_port(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    result = run_script("status", bolt_port=free_port, state_dir=tmp_path / "state")
    assert result.returncode == 3
    assert result.stdout.startswith("stopped")
    assert not (tmp_path / "state").exists()
