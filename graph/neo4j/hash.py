"""Content hashes of graph elements, computed over whole Arrow tables, and the graph checksum.

The loader stores the hash of every element as property `_hash` and diffs `(id, hash)` pairs;
`graph_digest` recomputes the hashes from what is actually in Neo4j with the SAME function
(`table_hashes` over a table built from the read-back properties), so two graphs with the same
checksum hold the same nodes, relationships, endpoints and properties (ignoring `run_id`,
which records the run that last wrote an element).

Canonical serialisation of one element (`table_hashes`): the prefix (`N|label` or `R|type`),
then for every non-null column in name order `name=<length>:<text>` + U+001E, where `text` is
the Arrow cast to string of the value (lists: items joined by U+001F, prefixed by the item
count); absent, null and NaN values contribute nothing. The hash is blake2b-128 of that text.
Columns are typed by `PROP_TYPES` (the run tables' contract types), so the loader side (typed
Parquet columns) and the graph side (driver values) serialise a value identically.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from neo4j import Driver

from graph import schema
from graph.neo4j import write_queries as wq
from graph.neo4j.conn import quiet_session
from graph.neo4j.cypher import native
from graph.neo4j.template import fill

HASH_PROP = "_hash"
RUN_PROP = "run_id"
_BOOKKEEPING = (HASH_PROP, RUN_PROP)
_FIELD_END = "\x1e"
_ITEM_SEP = "\x1f"
STATE_FETCH_SIZE = 50_000
HASH_CHUNK = 50_000


def _prop_types() -> dict[str, pa.DataType]:
    from runfolder.schema import SCHEMAS

    out: dict[str, pa.DataType] = {}
    for table_schema in SCHEMAS.values():
        for fld in table_schema:
            out.setdefault(fld.name, fld.type)
    out.update({
        schema.KEY: pa.string(), "src": pa.string(), "dst": pa.string(), "label": pa.string(),
        "risk_score": pa.float64(), "risk_level": pa.string(), "risk_reasons": pa.string(),
        "learned_score": pa.float64(), "learned_level": pa.string(),
        "learned_reasons": pa.string(),
        "source_records": pa.string(), "evidence": pa.string(),
    })
    return out


PROP_TYPES: dict[str, pa.DataType] = _prop_types()


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


def _column_text(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Each value as text (null where the value is absent, null or NaN)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    typ = col.type
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        flat = pc.list_flatten(col)
        if flat.null_count:  # null items are dropped (as clean_props does)
            col = pa.array([None if v is None else [x for x in v if x is not None]
                            for v in col.to_pylist()], type=typ)
        joined = pc.binary_join(pc.cast(col, pa.list_(pa.string())), _ITEM_SEP)
        count = pc.cast(pc.list_value_length(col), pa.string())
        return pc.binary_join_element_wise(count, joined, "#", null_handling="emit_null")
    if pa.types.is_floating(typ):
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, typ), col)
    if pa.types.is_null(typ):
        return pa.nulls(len(col), pa.string())
    return pc.cast(col, pa.string())


def table_hashes(prefix: str, table: pa.Table, exclude: Iterable[str] = _BOOKKEEPING) -> list[str]:
    """Content hash of every row of `table` (see the module docstring)."""
    skip = set(exclude)
    out: list[str] = []
    for start in range(0, table.num_rows, HASH_CHUNK):  # bounded memory for large tables
        out.extend(_slice_hashes(prefix, table.slice(start, HASH_CHUNK), skip))
    return out


def _slice_hashes(prefix: str, table: pa.Table, skip: set[str]) -> list[str]:
    parts: list[Any] = [prefix + _FIELD_END]
    for name in sorted(table.column_names):
        if name in skip:
            continue
        text = _column_text(table[name])
        length = pc.cast(pc.utf8_length(text), pa.string())
        field_text = pc.binary_join_element_wise(
            f"{name}=", length, ":", text, _FIELD_END, "", null_handling="emit_null"
        )
        parts.append(pc.fill_null(field_text, ""))
    if len(parts) == 1:
        return [_blake(prefix + _FIELD_END)] * table.num_rows
    rows = pc.binary_join_element_wise(*parts, "", null_handling="replace")
    return [_blake(s) for s in rows.to_pylist()]


def _blake(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _column(name: str, values: list[Any]) -> pa.Array:
    typ = PROP_TYPES.get(name)
    if typ is not None:
        try:
            return pa.array(values, type=typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            pass  # a value of another type (edited outside the loader): hashes differ
    return pa.array([None if v is None else repr(v) for v in values], type=pa.string())


def rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Plain dict rows (driver or loader values) as a table typed by `PROP_TYPES`."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    columns = {n: _column(n, [row.get(n) for row in rows]) for n in names}
    if not columns:
        return pa.table({schema.KEY: pa.nulls(len(rows), pa.string())})
    return pa.table(columns)


def node_prefix(label: str) -> str:
    return f"N|{label}"


def rel_prefix(rel_type: str) -> str:
    return f"R|{rel_type}"


# --- reading elements back from the graph ----------------------------------------------


def graph_nodes(driver: Driver, label: str, database: str | None = None) -> list[dict[str, Any]]:
    """Every node of `label` as its property dict (driver values made native)."""
    query = fill(wq.NODE_PROPERTIES, label=schema.check_label(label))
    with quiet_session(driver, database, STATE_FETCH_SIZE) as session:
        result = session.run(query)
        return [_native_props(rec[0]) for rec in result]


def graph_rels(driver: Driver, rel_type: str, database: str | None = None) -> list[dict[str, Any]]:
    """Every relationship of `rel_type` as its property dict plus `src` / `dst` endpoint IDs."""
    query = fill(wq.REL_PROPERTIES, type=schema.check_rel_type(rel_type))
    with quiet_session(driver, database, STATE_FETCH_SIZE) as session:
        result = session.run(query)
        out = []
        for rec in result:
            p = _native_props(rec[2])
            p["src"], p["dst"] = rec[0], rec[1]
            out.append(p)
        return out


def _native_props(props: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in props.items():
        if isinstance(v, list):
            out[k] = [native(x) for x in v]
        elif hasattr(v, "to_native"):
            out[k] = v.to_native()
        else:
            out[k] = v
    return out


def recomputed(prefix: str, elements: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(ids, content hashes recomputed from the properties) of elements read from the graph."""
    if not elements:
        return [], []
    table = rows_table(elements)
    return table[schema.KEY].to_pylist(), table_hashes(prefix, table)


# --- verification ---------------------------------------------------------------------


@dataclass
class GraphDigest:
    checksum: str
    nodes: int
    relationships: int
    stale_hashes: int  # elements whose stored hash does not match their content


def digest_of(lines: list[str]) -> str:
    """sha256 over the sorted element lines `N|label|id|hash` / `R|type|id|hash`."""
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def graph_digest(driver: Driver, database: str | None = None) -> GraphDigest:
    """Content checksum over every node and relationship (independent of load history).

    Each element is hashed from its actual label/type, endpoints and properties (excluding
    `run_id` and the stored hash); the checksum is sha256 over the sorted element lines.
    """
    lines: list[str] = []
    stale = 0
    n_nodes = n_rels = 0
    for label in schema.NODE_TYPES:
        elements = graph_nodes(driver, label, database)
        ids, hashes = recomputed(node_prefix(label), elements)
        stale += sum(h != e.get(HASH_PROP) for h, e in zip(hashes, elements, strict=True))
        lines.extend(f"{node_prefix(label)}|{i}|{h}" for i, h in zip(ids, hashes, strict=True))
        n_nodes += len(ids)
    for rel_type in schema.REL_TYPES:
        elements = graph_rels(driver, rel_type, database)
        ids, hashes = recomputed(rel_prefix(rel_type), elements)
        stale += sum(h != e.get(HASH_PROP) for h, e in zip(hashes, elements, strict=True))
        lines.extend(f"{rel_prefix(rel_type)}|{i}|{h}" for i, h in zip(ids, hashes, strict=True))
        n_rels += len(ids)
    return GraphDigest(digest_of(lines), n_nodes, n_rels, stale)


def graph_checksum(driver: Driver, database: str | None = None) -> str:
    return graph_digest(driver, database).checksum
