"""Content hashes of graph elements and the content checksum of a whole graph.

The loader stores `node_hash` / `rel_hash` on every element (property `_hash`) and diffs them;
`graph_digest` recomputes them from what is actually in Neo4j, so two graphs with the same
checksum hold the same nodes, relationships, endpoints and properties (ignoring `run_id`,
which records the run that last wrote an element).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from neo4j import Driver

from graph import schema
from graph.neo4j_cypher import native

HASH_PROP = "_hash"
RUN_PROP = "run_id"
_BOOKKEEPING = (HASH_PROP, RUN_PROP)


def clean_props(props: dict[str, Any]) -> dict[str, Any]:
    """Drop nulls / NaN and the book-keeping keys (`run_id`, the stored hash)."""
    out: dict[str, Any] = {}
    for key, value in props.items():
        if key in _BOOKKEEPING or value is None:
            continue
        if isinstance(value, float) and math.isnan(value):
            continue
        if isinstance(value, list | tuple):
            value = [v for v in value if v is not None]
        out[key] = value
    return out


def _digest(payload: tuple[Any, ...]) -> str:
    # repr of plain Python values (str, int, float, bool, lists, datetime.date) is canonical;
    # values read back from Neo4j go through `native` first so dates compare equal
    return hashlib.blake2b(repr(payload).encode(), digest_size=16).hexdigest()


def node_hash(label: str, props: dict[str, Any]) -> str:
    """Content hash of a node: label and clean properties including `id` (see clean_props)."""
    return _digest((label, sorted(props.items())))


def rel_hash(rel_type: str, src: str, dst: str, props: dict[str, Any]) -> str:
    """Content hash of a relationship: type, endpoints and clean properties including `id`."""
    return _digest((rel_type, src, dst, sorted(props.items())))


# --- verification ---------------------------------------------------------------------


@dataclass
class GraphDigest:
    checksum: str
    nodes: int
    relationships: int
    stale_hashes: int  # elements whose stored hash does not match their content


def graph_digest(driver: Driver, database: str | None = None) -> GraphDigest:
    """Content checksum over every node and relationship (independent of load history).

    Each element is hashed from its actual label/type, endpoints and properties (excluding
    `run_id` and the stored hash); the checksum is sha256 over the sorted element lines.
    """
    lines: list[str] = []
    stale = 0
    n_nodes = n_rels = 0
    with driver.session(database=database, notifications_min_severity="OFF") as session:
        for label in schema.NODE_TYPES:
            lab = schema.check_label(label)
            for rec in session.run(f"MATCH (n:{lab}) RETURN n.id AS id, properties(n) AS p"):
                h = node_hash(label, clean_props(native(rec["p"])))
                stale += h != rec["p"].get(HASH_PROP)
                lines.append(f"N|{label}|{rec['id']}|{h}")
                n_nodes += 1
        for rel_type in schema.REL_TYPES:
            t = schema.check_rel_type(rel_type)
            query = (
                f"MATCH (a)-[r:{t}]->(b) RETURN r.id AS id, a.id AS src, b.id AS dst, "
                "properties(r) AS p"
            )
            for rec in session.run(query):
                h = rel_hash(rel_type, rec["src"], rec["dst"], clean_props(native(rec["p"])))
                stale += h != rec["p"].get(HASH_PROP)
                lines.append(f"R|{rel_type}|{rec['id']}|{h}")
                n_rels += 1
    lines.sort()
    checksum = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return GraphDigest(checksum, n_nodes, n_rels, stale)


def graph_checksum(driver: Driver, database: str | None = None) -> str:
    return graph_digest(driver, database).checksum
