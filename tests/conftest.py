"""Shared pytest fixtures: the real Neo4j server and a per-test artefact folder.

Neo4j connection settings come from `NEO4J_URI`, `NEO4J_USER` and `NEO4J_PASSWORD` in the
environment, each falling back to the checkout's `.env` (written by `scripts/neo4j start`).
Tests that use `neo4j_driver`, `neo4j_clean` or `neo4j_settings` are marked `neo4j` automatically
(`pytest -m neo4j` selects them); when the server is unreachable they fail, they never skip.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from os import environ
from pathlib import Path

import pytest
from dotenv import dotenv_values
from neo4j import Driver, GraphDatabase
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
NEO4J_FIXTURES = frozenset({"neo4j_driver", "neo4j_clean", "neo4j_settings"})
DELETE_BATCH = 10_000
START_HINT = (
    "Start it with `scripts/neo4j start` (or run the whole suite with `./scripts/test`, which "
    "starts and stops it), or point NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD at a running server."
)


@dataclass(frozen=True)
class Neo4jSettings:
    uri: str
    user: str
    password: str | None
    source: str  # where the values came from, for error messages


def load_neo4j_settings(dotenv: Path = ROOT / ".env") -> Neo4jSettings:
    """Each variable from the environment, else from `dotenv`, else the local default."""
    file_values = dotenv_values(dotenv) if dotenv.is_file() else {}
    used_file = False

    def pick(name: str, default: str | None) -> str | None:
        nonlocal used_file
        if environ.get(name):
            return environ[name]
        if file_values.get(name):
            used_file = True
            return file_values[name]
        return default

    uri = pick("NEO4J_URI", "bolt://127.0.0.1:7687") or "bolt://127.0.0.1:7687"
    user = pick("NEO4J_USER", "neo4j") or "neo4j"
    password = pick("NEO4J_PASSWORD", None)
    source = f"environment and {dotenv}" if used_file else "environment"
    return Neo4jSettings(uri=uri, user=user, password=password, source=source)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if NEO4J_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.neo4j)


@pytest.fixture(scope="session")
def neo4j_settings() -> Neo4jSettings:
    """The connection settings the Neo4j fixtures use (to pass on to CLI commands under test)."""
    return load_neo4j_settings()


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_settings: Neo4jSettings) -> Iterator[Driver]:
    """A driver connected to the real server; fails the test loudly when it is unreachable."""
    s = neo4j_settings
    if not s.password:
        pytest.fail(
            f"NEO4J_PASSWORD is not set (looked in the {s.source} and {ROOT / '.env'}). "
            + START_HINT,
            pytrace=False,
        )
    driver = GraphDatabase.driver(s.uri, auth=(s.user, s.password), connection_timeout=5)
    problem = None
    try:
        driver.verify_connectivity()
        records, _, _ = driver.execute_query("RETURN 1 AS ok")
        assert records[0]["ok"] == 1
    except AuthError as exc:
        problem = f"Neo4j at {s.uri} refused user {s.user!r} (settings from the {s.source}): {exc}."
    except (ServiceUnavailable, Neo4jError, OSError) as exc:
        problem = f"Neo4j is not reachable at {s.uri} (settings from the {s.source}): {exc}."
    if problem is not None:
        driver.close()
        pytest.fail(f"{problem} {START_HINT}", pytrace=False)
    yield driver
    driver.close()


def quote_name(name: str) -> str:
    """Backtick-quote a schema object name read back from the server (for DROP statements)."""
    return "`" + name.replace("`", "``") + "`"


def empty_database(driver: Driver) -> None:
    """Delete every node and relationship, then every constraint and non-lookup index; the
    driver's query bookmarks are those of the database as it is first (`forget_bookmarks`:
    an earlier test may have replaced it, and every caller starts afresh here)."""
    forget_bookmarks(driver)
    with driver.session() as session:
        while True:
            record = session.run(
                "MATCH (n) WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS deleted",
                batch=DELETE_BATCH,
            ).single()
            if record is None or record["deleted"] == 0:
                break
        constraints = [r["name"] for r in session.run("SHOW CONSTRAINTS YIELD name")]
        for name in constraints:
            session.run(f"DROP CONSTRAINT {quote_name(name)} IF EXISTS").consume()
        indexes = [
            r["name"] for r in session.run("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'")
        ]
        for name in indexes:
            session.run(f"DROP INDEX {quote_name(name)} IF EXISTS").consume()


def forget_bookmarks(driver: Driver) -> None:
    """Replace the bookmarks `driver.execute_query` chains its queries on with one of the
    database as it is now. A database replaced underneath (`neo4j-admin database import`, as
    `guanlian load --bulk` does) starts its transaction IDs again, and a query carrying a
    bookmark of the old one waits for a transaction the new one never reaches."""
    manager = driver.execute_query_bookmark_manager
    with driver.session() as session:  # a session of its own carries no bookmarks in
        session.execute_write(lambda tx: tx.run("RETURN 1").consume())
        now = session.last_bookmarks().raw_values
    manager.update_bookmarks(manager.get_bookmarks(), now)


@pytest.fixture
def neo4j_clean(neo4j_driver: Driver) -> Driver:
    """The driver, after emptying the database (data, constraints and indexes) for this test,
    its query bookmarks those of the database as it is (an earlier test may have replaced it)."""
    empty_database(neo4j_driver)
    return neo4j_driver


@pytest.fixture
def artifact_dir(request: pytest.FixtureRequest) -> Path:
    """An empty folder `test-artifacts/<test id>/` (git-ignored) kept after the run.

    For outputs worth looking at after a failure: screenshots, run folders, reports.
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid).strip("_")[:150]
    path = ARTIFACTS / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
