"""Constraints and indexes the loader and the store rely on, created before any write."""

from __future__ import annotations

from neo4j import Driver

from graph import schema
from graph.neo4j import write_queries as wq
from graph.neo4j.conn import quiet_session
from graph.neo4j.template import fill


def schema_statements() -> list[str]:
    """Uniqueness on `id` for every label and relationship type, lookup indexes on the
    identifiers, the meta node's key and the full-text index (`cjk` analyzer)."""
    statements: list[str] = []
    for c in schema.constraints():
        label = schema.check_label(c.label)
        statements.append(fill(wq.NODE_KEY_CONSTRAINT, name=c.name, label=label, key=schema.KEY))
        for prop in c.extra_indexes:
            statements.append(
                fill(wq.NODE_PROPERTY_INDEX, name=f"{c.name}_{prop}", label=label, prop=prop)
            )
    for rel_type in schema.REL_TYPES:
        t = schema.check_rel_type(rel_type)
        statements.append(
            fill(wq.REL_KEY_CONSTRAINT, name=f"rel_{t.lower()}_id", type=t, key=schema.KEY)
        )
    statements.append(wq.META_KEY_CONSTRAINT)
    statements.append(wq.FULLTEXT_INDEX)
    return statements


def ensure_schema(driver: Driver, database: str | None = None, wait: bool = True) -> list[str]:
    """Create every constraint and index (idempotent) and, with `wait`, wait until they are
    online (without: they populate in the background; `await_indexes` waits later)."""
    statements = schema_statements()
    with quiet_session(driver, database) as session:
        for stmt in statements:
            session.run(stmt).consume()
        if wait:
            session.run(wq.AWAIT_INDEXES).consume()
    return statements


def await_indexes(driver: Driver, database: str | None = None) -> None:
    """Wait until every index and constraint is online."""
    with quiet_session(driver, database) as session:
        session.run(wq.AWAIT_INDEXES).consume()
