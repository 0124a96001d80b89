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
import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.util import Finalize
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from neo4j import Driver, GraphDatabase

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
VERIFY_CHUNK = 20_000  # elements per read of `graph_digest`


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
    return _row_hashes(rows)


def _row_hashes(rows: pa.Array) -> list[str]:
    """blake2b-128 of every value of a string array, hashed in place from Arrow's buffer
    (the same bytes as `_blake(value)`, without a Python string per row)."""
    width = np.int64 if pa.types.is_large_string(rows.type) else np.int32
    offsets = np.frombuffer(rows.buffers()[1], dtype=width)[
        rows.offset:rows.offset + len(rows) + 1].tolist()
    data = memoryview(rows.buffers()[2] or b"")
    blake = hashlib.blake2b
    return [blake(data[a:b], digest_size=16).hexdigest()
            for a, b in zip(offsets, offsets[1:], strict=False)]


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


_DIGEST_MOD = 1 << 256


def lines_sum(lines: Iterable[str]) -> int:
    """The element lines `N|label|id|hash` / `R|type|id|hash` folded in any order and in any
    number of parts: the sum of their blake2b-256 values modulo 2**256. Parts add up
    (`checksum_of(a + b)`), so slices are digested where they are read and nothing gathers
    the lines; a line twice counts twice. An integrity check of a load, not a seal against
    someone choosing elements to match it."""
    blake = hashlib.blake2b
    total = 0
    for line in lines:
        total += int.from_bytes(blake(line.encode(), digest_size=32).digest(), "big")
    return total % _DIGEST_MOD


def checksum_of(total: int) -> str:
    """The checksum text of a `lines_sum` (or of several added)."""
    return f"{total % _DIGEST_MOD:064x}"


@dataclass(frozen=True)
class DigestSource:
    """Where a digest process connects (picklable, unlike a driver)."""

    uri: str
    user: str
    password: str = field(repr=False)


def graph_digest(driver: Driver, database: str | None = None, chunk: int = VERIFY_CHUNK, *,
                 source: DigestSource | None = None, processes: int = 1) -> GraphDigest:
    """Content checksum over every node and relationship (independent of load history).

    Each element is hashed from its actual label/type, endpoints and properties (excluding
    `run_id` and the stored hash); the checksum folds the element lines in any order
    (`lines_sum`): each slice is summed where it is read.
    Every label / type is read in slices of about `chunk` elements by internal ID range
    (bounded memory; dense IDs looked up one by one, sparse ones by a filtered scan). With a
    `source` and `processes` > 1 the slices are read and hashed by that many processes,
    each with its own connection: the client's decoding and hashing is most of the work
    (on large, 53 s of client CPU against 18 s of the server's), and threads of one process
    share its interpreter lock (three took 76 s where one took 57 s). Spawned processes
    run the calling script's top level again: a script calling this with `processes` > 1
    keeps its work under `if __name__ == "__main__":`.
    """
    units = _digest_units(driver, database, chunk)
    if source is not None and processes > 1 and len(units) > 1:
        parts = _digest_in_processes(source, database, units, processes)
    else:
        parts = [_digest_unit(driver, database, *u) for u in units]
    n_nodes = sum(part[0] for part, u in zip(parts, units, strict=True) if u[0] == "N")
    n_all = sum(part[0] for part in parts)
    return GraphDigest(checksum_of(sum(part[1] for part in parts)), n_nodes, n_all - n_nodes,
                       sum(part[2] for part in parts))


_worker_driver: Driver | None = None


def _open_worker(source: DigestSource) -> None:
    """A digest process's start: its own driver, closed when the process ends."""
    global _worker_driver
    _worker_driver = GraphDatabase.driver(source.uri, auth=(source.user, source.password))
    Finalize(_worker_driver, _worker_driver.close, exitpriority=10)


def _unit_in_worker(database: str | None, unit: Unit) -> tuple[int, int, int]:
    if _worker_driver is None:
        raise RuntimeError("the digest process has no driver")
    return _digest_unit(_worker_driver, database, *unit)


def _digest_in_processes(source: DigestSource, database: str | None, units: list[Unit],
                         processes: int) -> list[tuple[int, int, int]]:
    """`_digest_unit` of every slice, in `processes` spawned processes (not forked: the
    caller may hold a Spark gateway and driver threads), results in the slices' order."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(processes, len(units)), mp_context=context,
                             initializer=_open_worker, initargs=(source,)) as pool:
        return list(pool.map(partial(_unit_in_worker, database), units))


# ("N" | "R", label / type, lowest ID, ID past the last, whether to seek the IDs one by one)
Unit = tuple[str, str, int, int, bool]
SEEK_DENSITY = 0.25  # a label / type whose IDs are at least this dense is read by ID seeks


def _digest_units(driver: Driver, database: str | None, chunk: int) -> list[Unit]:
    """The slices of every label / type: internal ID ranges of about `chunk` elements
    (the IDs of an imported graph are dense; sparse ones only make slices uneven)."""
    units: list[Unit] = []
    with quiet_session(driver, database) as session:
        for kind, names, query in (("N", schema.NODE_TYPES, wq.NODE_ID_RANGE),
                                   ("R", schema.REL_TYPES, wq.REL_ID_RANGE)):
            for name in names:
                filled = (fill(query, label=schema.check_label(name)) if kind == "N"
                          else fill(query, type=schema.check_rel_type(name)))
                rec = session.run(filled).single(strict=True)
                if not rec["n"]:
                    continue
                lo, hi, n = int(rec["lo"]), int(rec["hi"]) + 1, int(rec["n"])
                step = max(1, -(-(hi - lo) // max(1, -(-n // chunk))))
                seek = n >= SEEK_DENSITY * (hi - lo)
                units += [(kind, name, start, min(start + step, hi), seek)
                          for start in range(lo, hi, step)]
    return units


def _digest_unit(driver: Driver, database: str | None, kind: str, name: str, lo: int,
                 hi: int, seek: bool) -> tuple[int, int, int]:
    """(elements, `lines_sum` of their lines, stale stored hashes) of one slice: its
    property keys first, then every element's values of those keys as one list (no map
    per element to pivot)."""
    rel = kind == "R"
    if rel:
        rel_type = schema.check_rel_type(name)
        keys_query = fill(wq.REL_KEYS_IN_RANGE[seek], type=rel_type)
        values_query = fill(wq.REL_VALUES_IN_RANGE[seek], type=rel_type)
    else:
        label = schema.check_label(name)
        keys_query = fill(wq.NODE_KEYS_IN_RANGE[seek], label=label)
        values_query = fill(wq.NODE_VALUES_IN_RANGE[seek], label=label)
    with quiet_session(driver, database, STATE_FETCH_SIZE) as session:
        keys = sorted(session.run(keys_query, lo=lo, hi=hi).single(strict=True)["keys"])
        records = [rec.values() for rec in session.run(values_query, lo=lo, hi=hi, keys=keys)]
    prefix = rel_prefix(name) if rel else node_prefix(name)
    if not records:
        return 0, 0, 0
    columns: dict[str, pa.Array] = {}
    if rel:
        src, dst, values = zip(*records, strict=True)
    else:
        (values,) = zip(*records, strict=True)
    stored: tuple[Any, ...] = (None,) * len(records)
    for key, col in zip(keys, zip(*values, strict=True), strict=False):
        if key == HASH_PROP:
            stored = col  # compared as read (as graph_digest compares it)
        columns[key] = _graph_column(key, col)
    if rel:  # the endpoints stand over properties of the same name (as in graph_rels)
        columns["src"], columns["dst"] = _graph_column("src", src), _graph_column("dst", dst)
    table = (pa.table(columns) if columns
             else pa.table({schema.KEY: pa.nulls(len(records), pa.string())}))
    hashes = table_hashes(prefix, table)
    ids = (table[schema.KEY].to_pylist() if schema.KEY in columns
           else [None] * table.num_rows)
    stale = sum(h != s for h, s in zip(hashes, stored, strict=True))
    lines = (f"{prefix}|{i}|{h}" for i, h in zip(ids, hashes, strict=True))
    return len(hashes), lines_sum(lines), stale


_TEMPORAL = (pa.types.is_date, pa.types.is_timestamp, pa.types.is_time)


def _graph_column(name: str, values: tuple[Any, ...]) -> pa.Array:
    """One property's driver values as `rows_table` types it (driver temporal values made
    native first, as `graph_nodes` does)."""
    typ = PROP_TYPES.get(name)
    if typ is not None and not any(test(typ) for test in _TEMPORAL):
        try:
            return pa.array(values, type=typ)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            pass
    return _column(name, [native(v) for v in values])


def graph_checksum(driver: Driver, database: str | None = None) -> str:
    return graph_digest(driver, database).checksum
