"""What the graph holds now, as `{id: (label or type, content hash)}`, for a sync's diff.

Three sources, cheapest first: the prepared rows of the run the meta node says the graph
holds completely (`prepared`, memory-mapped, no server read); the hashes the loader stored on
every element (`existing_nodes` / `existing_rels`); or, for `full_diff`, hashes recomputed
from the elements' actual properties, so edits made outside the loader are repaired.
"""

from __future__ import annotations

from pathlib import Path

from neo4j import Driver, Session

from graph import schema
from graph.neo4j import write_queries as wq
from graph.neo4j.conn import quiet_session
from graph.neo4j.hash import (
    STATE_FETCH_SIZE,
    graph_nodes,
    graph_rels,
    node_prefix,
    recomputed,
    rel_prefix,
)
from graph.neo4j.meta import MetaState
from graph.neo4j.rows import PreparedState, State, prepared_state
from graph.neo4j.template import fill


def _stored_hashes(session: Session, query: str) -> list[tuple[str, str | None]]:
    """(id, stored hash) of every element, from one record of two collected lists (an order
    of magnitude faster than one record per element)."""
    rec = session.run(query).single(strict=True)
    return [(i, h or None) for i, h in zip(rec["ids"], rec["hs"], strict=True) if i]


def existing_nodes(driver: Driver, database: str | None, recompute: bool = False) -> State:
    """(label, hash) of every node: the stored hash, or recomputed from the properties."""
    out: State = {}
    for label in schema.NODE_TYPES:
        if recompute:
            ids, hashes = recomputed(node_prefix(label), graph_nodes(driver, label, database))
            out.update((i, (label, h)) for i, h in zip(ids, hashes, strict=True))
            continue
        query = fill(wq.NODE_HASHES, label=schema.check_label(label))
        with quiet_session(driver, database, STATE_FETCH_SIZE) as session:
            out.update((i, (label, h)) for i, h in _stored_hashes(session, query))
    return out


def existing_rels(driver: Driver, database: str | None, recompute: bool = False) -> State:
    """(type, hash) of every relationship: the stored hash, or recomputed from its content."""
    out: State = {}
    for rel_type in schema.REL_TYPES:
        if recompute:
            ids, hashes = recomputed(rel_prefix(rel_type), graph_rels(driver, rel_type, database))
            out.update((i, (rel_type, h)) for i, h in zip(ids, hashes, strict=True))
            continue
        query = fill(wq.REL_HASHES, type=schema.check_rel_type(rel_type))
        with quiet_session(driver, database, STATE_FETCH_SIZE) as session:
            out.update((i, (rel_type, h)) for i, h in _stored_hashes(session, query))
    return out


def prepared(meta: MetaState) -> PreparedState | None:
    """The graph's state from the prepared rows of the run it holds (`RUN/graph/`), when the
    meta node says that run was loaded completely; None means: read it from the server."""
    if meta.status != "ready" or not meta.run_dir or not meta.fingerprint:
        return None
    return prepared_state(Path(meta.run_dir), meta.fingerprint)
