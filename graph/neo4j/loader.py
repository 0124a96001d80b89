"""Load a run folder into Neo4j as an idempotent, crash-safe diff sync.

How a load works (`load_run`):

1. Constraints and indexes from `graph.schema.constraints()` (uniqueness on `id` for every
   label, lookup indexes on identifiers, uniqueness on `id` for every relationship type, and
   the full-text index `schema.FULLTEXT_INDEX` with the `cjk` analyzer) are created first.
2. The run's tables become one Arrow table per label / relationship type
   (`graph.neo4j.rows`); every row has a content hash of its label/type, endpoints and
   properties (not `run_id`), computed over whole tables (`graph.neo4j.hash.table_hashes`).
   Tables and hashes are prepared once per run and kept in `RUN/graph/` (`guanlian score`
   prepares them; a load of an unprepared run prepares them first).
3. The graph's current `(id, hash)` state is diffed against the rows' `(id, hash)` pairs:
   only new or changed nodes/relationships are written (only those rows become dicts, one
   write batch at a time), removed ones are deleted. Merges and splits from
   `changelog.parquet` fall out of this (old IDs disappear, new IDs appear). When the meta
   node says a run was loaded completely (status 'ready') and that run's prepared rows are
   still in its folder with the same fingerprint, the state is read from them (memory-mapped,
   under a second) and the diff is vectorised (`graph.neo4j.diff.fast_diff`: only rows whose
   hash the graph lacks are walked in Python); otherwise (after a killed load, or with
   `full_diff`) the state is read back from the server and every row is walked.
4. Writes are batched parameterised `UNWIND $rows` statements, deletions first, then nodes,
   then relationships; nodes are `MERGE`d on label + constrained `id` (`SET n = row` replaces
   all properties); relationships are created between endpoints matched by their
   constrained `id` (they are created only when absent from the graph's current state, and
   a changed one is deleted and re-created; the uniqueness constraint on relationship `id`
   rejects any duplicate).
5. Shortcut: the meta node records a fingerprint of the run's files; loading a run the graph
   already holds completely (same fingerprint, status 'ready') reads and writes nothing.
   `full_diff=True` (`guanlian load --full-diff`) skips the shortcut and recomputes every
   element's hash from its properties, so edits made outside the loader are repaired.

What readers observe (the meta node `(:GuanlianMeta {id: 'current'})` holds `run_id`,
`loaded_at`, `schema_version`, `status` and `loading_run_id`):

* A sync whose diff has at most `atomic_limit` operations and `atomic_max_bytes` of row data,
  when a completed run is already loaded, is applied in ONE transaction together with the
  meta switch: readers see either the previous run or the new one, never a mix. If the
  server refuses that transaction for lack of transaction memory
  (`dbms.memory.transaction.total.max`), it rolls back and the diff is applied in batches.
* A first load, or a sync with a larger diff, is applied in batches, each its own
  transaction. While it runs, the meta node keeps the previous `run_id` with
  `status = 'loading'` and `loading_run_id` = the new run, so `run_info()` keeps reporting
  the previous run (or raises `NoRunLoaded` on a first load); graph queries may see part of
  the new data during that window. The meta node is switched in the final transaction.
* A load killed at any point leaves `status = 'loading'`; starting it again recomputes the
  diff from what is actually in the graph and converges to exactly the graph a clean load
  gives (`graph_checksum` is equal). Only one loader may run at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from neo4j import Driver, ManagedTransaction, Session
from neo4j.exceptions import TransientError

from graph import schema, tables
from graph.neo4j.diff import fast_diff
from graph.neo4j.hash import (
    HASH_PROP,
    GraphDigest,
    graph_checksum,
    graph_digest,
    graph_nodes,
    graph_rels,
    node_prefix,
    recomputed,
    rel_prefix,
)
from graph.neo4j.rows import (
    LOADER_VERSION,
    GraphRows,
    PreparedState,
    State,
    prepared_state,
    read_rows,
    rows_at,
    run_fingerprint,
)

__all__ = [
    "GraphDigest", "LoadOptions", "LoadReport", "compute_diff", "ensure_schema",
    "LOADER_VERSION", "graph_checksum", "graph_digest", "load_rows", "load_run", "read_meta",
    "run_fingerprint",
]

log = logging.getLogger(__name__)

META_LABEL = "GuanlianMeta"
META_ID = "current"
DEFAULT_BATCH_SIZE = 10_000
DEFAULT_ATOMIC_LIMIT = 100_000
DEFAULT_ATOMIC_BYTES = 48 * 1024 * 1024
STATE_FETCH_SIZE = 50_000

BatchCallback = Callable[[str, int], None]


def _session(driver: Driver, database: str | None, fetch_size: int = 1000) -> Session:
    return driver.session(
        database=database, notifications_min_severity="OFF", fetch_size=fetch_size
    )


# --- schema setup ---------------------------------------------------------------------


def ensure_schema(driver: Driver, database: str | None = None) -> list[str]:
    """Create every constraint and index the loader and the store rely on (idempotent)."""
    statements: list[str] = []
    for c in schema.constraints():
        label = schema.check_label(c.label)
        statements.append(
            f"CREATE CONSTRAINT {c.name} IF NOT EXISTS FOR (n:{label}) "
            f"REQUIRE n.{schema.KEY} IS UNIQUE"
        )
        for prop in c.extra_indexes:
            statements.append(
                f"CREATE INDEX {c.name}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
            )
    for rel_type in schema.REL_TYPES:
        t = schema.check_rel_type(rel_type)
        statements.append(
            f"CREATE CONSTRAINT rel_{t.lower()}_id IF NOT EXISTS "
            f"FOR ()-[r:{t}]-() REQUIRE r.{schema.KEY} IS UNIQUE"
        )
    statements.append(
        f"CREATE CONSTRAINT meta_id IF NOT EXISTS FOR (n:{META_LABEL}) REQUIRE n.id IS UNIQUE"
    )
    labels = "|".join(schema.check_label(label) for label in schema.ENTITY_LABELS)
    props = ", ".join(f"n.{p}" for p in schema.FULLTEXT_PROPS)
    statements.append(
        f"CREATE FULLTEXT INDEX {schema.FULLTEXT_INDEX} IF NOT EXISTS FOR (n:{labels}) "
        f"ON EACH [{props}] OPTIONS {{indexConfig: {{`fulltext.analyzer`: 'cjk'}}}}"
    )
    with _session(driver, database) as session:
        for stmt in statements:
            session.run(stmt).consume()
        session.run("CALL db.awaitIndexes(300)").consume()
    return statements


# --- reading the graph's current state ------------------------------------------------


@dataclass
class MetaState:
    run_id: str | None = None
    status: str | None = None
    loading_run_id: str | None = None
    loaded_at: str | None = None
    schema_version: int | None = None
    fingerprint: str | None = None
    run_dir: str | None = None  # the folder of the run it holds (its prepared rows)
    nodes: int = 0
    relationships: int = 0


def read_meta(driver: Driver, database: str | None = None) -> MetaState:
    records, _, _ = driver.execute_query(
        f"MATCH (m:{META_LABEL} {{id: $id}}) RETURN properties(m) AS p",
        id=META_ID,
        database_=database,
    )
    if not records:
        return MetaState()
    p = records[0]["p"]
    return MetaState(
        run_id=p.get("run_id"),
        status=p.get("status"),
        loading_run_id=p.get("loading_run_id"),
        loaded_at=p.get("loaded_at"),
        schema_version=p.get("schema_version"),
        fingerprint=p.get("fingerprint"),
        run_dir=p.get("run_dir"),
        nodes=int(p.get("nodes") or 0),
        relationships=int(p.get("relationships") or 0),
    )


def _stored_hashes(session: Session, match: str, var: str) -> list[tuple[str, str | None]]:
    """(id, stored hash) of every element `match` binds to `var`, as two collected lists in one
    record (an order of magnitude faster than one record per element)."""
    rec = session.run(
        f"{match} RETURN collect(coalesce({var}.id, '')) AS ids, "
        f"collect(coalesce({var}.{HASH_PROP}, '')) AS hs"
    ).single(strict=True)
    return [(i, h or None) for i, h in zip(rec["ids"], rec["hs"], strict=True) if i]


def _existing_nodes(driver: Driver, database: str | None, recompute: bool = False) -> State:
    """(label, hash) of every node: the stored hash, or recomputed from the properties."""
    out: State = {}
    for label in schema.NODE_TYPES:
        if recompute:
            ids, hashes = recomputed(node_prefix(label), graph_nodes(driver, label, database))
            out.update((i, (label, h)) for i, h in zip(ids, hashes, strict=True))
            continue
        lab = schema.check_label(label)
        with _session(driver, database, STATE_FETCH_SIZE) as session:
            stored = _stored_hashes(session, f"MATCH (n:{lab})", "n")
            out.update((i, (label, h)) for i, h in stored)
    return out


def _existing_rels(driver: Driver, database: str | None, recompute: bool = False) -> State:
    """(type, hash) of every relationship: the stored hash, or recomputed from its content."""
    out: State = {}
    for rel_type in schema.REL_TYPES:
        if recompute:
            ids, hashes = recomputed(rel_prefix(rel_type), graph_rels(driver, rel_type, database))
            out.update((i, (rel_type, h)) for i, h in zip(ids, hashes, strict=True))
            continue
        t = schema.check_rel_type(rel_type)
        with _session(driver, database, STATE_FETCH_SIZE) as session:
            stored = _stored_hashes(session, f"MATCH ()-[r:{t}]->()", "r")
            out.update((i, (rel_type, h)) for i, h in stored)
    return out


def _prepared_state(meta: MetaState) -> PreparedState | None:
    """The graph's state from the prepared rows of the run it holds (`RUN/graph/`), when the
    meta node says that run was loaded completely; None means: read it from the server."""
    if meta.status != "ready" or not meta.run_dir or not meta.fingerprint:
        return None
    return prepared_state(Path(meta.run_dir), meta.fingerprint)


# --- diff -----------------------------------------------------------------------------


class PendingRows:
    """Rows of one table to write, turned into dicts one batch at a time (bounded memory).

    Node rows are `{...props, run_id, _hash}`; relationship rows `{src, dst, p: props}`."""

    def __init__(self, table: pa.Table, run_id: str, rel: bool) -> None:
        self.table, self.run_id, self.rel = table, run_id, rel
        self.indices: list[int] = []
        self.hashes: list[str] = []

    def add(self, index: int, content_hash: str) -> None:
        self.indices.append(index)
        self.hashes.append(content_hash)

    def __len__(self) -> int:
        return len(self.indices)

    def payload_bytes(self) -> int:
        """Rough size of the rows as parameters: text bytes plus 8 per other value."""
        if not self.indices:
            return 0
        part = self.table.take(pa.array(self.indices, type=pa.int64()))
        total = 0
        for col in part.columns:
            if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                total += int(pc.sum(pc.utf8_length(col)).as_py() or 0)
            else:
                total += 8 * len(col)
        return total

    def batches(self, size: int) -> Iterator[list[dict[str, Any]]]:
        for start in range(0, len(self.indices), size):
            picked = self.indices[start : start + size]
            out = []
            for h, props in zip(self.hashes[start:], rows_at(self.table, picked), strict=False):
                props["run_id"] = self.run_id
                props[HASH_PROP] = h
                if self.rel:
                    src, dst = props.pop("src"), props.pop("dst")
                    out.append({"src": src, "dst": dst, "p": props})
                else:
                    out.append(props)
            yield out


@dataclass
class Diff:
    node_deletes: dict[str, list[str]] = field(default_factory=dict)  # label -> ids
    node_upserts: dict[str, PendingRows] = field(default_factory=dict)  # changed nodes
    node_creates: dict[str, PendingRows] = field(default_factory=dict)  # absent from the graph
    rel_deletes: dict[str, list[str]] = field(default_factory=dict)  # type -> ids
    # (type, src label, dst label) -> rows
    rel_creates: dict[tuple[str, str, str], PendingRows] = field(default_factory=dict)

    def payload_bytes(self) -> int:
        pending = [*self.node_upserts.values(), *self.node_creates.values(),
                   *self.rel_creates.values()]
        deletes = [*self.node_deletes.values(), *self.rel_deletes.values()]
        return sum(p.payload_bytes() for p in pending) + 64 * sum(map(len, deletes))

    def size(self) -> int:
        return (
            sum(map(len, self.node_deletes.values()))
            + sum(map(len, self.node_upserts.values()))
            + sum(map(len, self.node_creates.values()))
            + sum(map(len, self.rel_deletes.values()))
            + sum(map(len, self.rel_creates.values()))
        )


def compute_diff(
    rows: GraphRows,
    nodes_now: dict[str, tuple[str, str | None]],
    rels_now: dict[str, tuple[str, str | None]],
    run_id: str,
) -> Diff:
    """What to write and delete so the graph holds exactly `rows`.

    Content hashes are computed over whole tables; the diff runs on `(id, hash)` pairs and only
    the new or changed rows are turned into dicts."""
    diff = Diff()
    wanted_label: dict[str, str] = {}
    relabelled: set[str] = set()
    for label in rows.node_labels():
        table = rows.node_table(label)
        if table.num_rows == 0:
            continue
        ids = table[schema.KEY].to_pylist()
        hashes = rows.node_hash_array(label).to_pylist()
        changed = PendingRows(table, run_id, rel=False)
        absent = PendingRows(table, run_id, rel=False)
        for i, (node_id, h) in enumerate(zip(ids, hashes, strict=True)):
            if node_id in wanted_label:
                continue  # a repeated node ID: the first row stands
            wanted_label[node_id] = label
            current = nodes_now.get(node_id)
            if current is None:
                absent.add(i, h)
            elif current[0] != label:  # deleted first, then created with its new label
                relabelled.add(node_id)
                diff.node_deletes.setdefault(current[0], []).append(node_id)
                absent.add(i, h)
            elif current[1] != h:
                changed.add(i, h)
        if len(changed):
            diff.node_upserts[label] = changed
        if len(absent):
            diff.node_creates[label] = absent
    for node_id, (label, _) in nodes_now.items():
        if node_id not in wanted_label:
            diff.node_deletes.setdefault(label, []).append(node_id)

    wanted_rels: set[str] = set()
    for rel_type in rows.rel_types():
        table = rows.rel_table(rel_type)
        if table.num_rows == 0:
            continue
        ids = table[schema.KEY].to_pylist()
        srcs, dsts = table["src"].to_pylist(), table["dst"].to_pylist()
        hashes = rows.rel_hash_array(rel_type).to_pylist()
        for i, rel_id in enumerate(ids):
            src, dst, h = srcs[i], dsts[i], hashes[i]
            if src not in wanted_label or dst not in wanted_label:
                continue  # dangling: counted by GraphRows.dangling
            if rel_id in wanted_rels:
                continue  # a repeated relationship ID: the first row stands
            wanted_rels.add(rel_id)
            current = rels_now.get(rel_id)
            endpoints_rebuilt = src in relabelled or dst in relabelled
            if current is not None and (current[0] != rel_type or current[1] != h):
                diff.rel_deletes.setdefault(current[0], []).append(rel_id)
            if current is None or current[0] != rel_type or current[1] != h or endpoints_rebuilt:
                key = (rel_type, wanted_label[src], wanted_label[dst])
                if key not in diff.rel_creates:
                    diff.rel_creates[key] = PendingRows(table, run_id, rel=True)
                diff.rel_creates[key].add(i, h)
    for rel_id, (rel_type, _) in rels_now.items():
        if rel_id not in wanted_rels:
            diff.rel_deletes.setdefault(rel_type, []).append(rel_id)
    return diff


# --- applying a diff ------------------------------------------------------------------


def _chunks(items: Sequence[Any] | PendingRows, size: int) -> Iterator[list[Any]]:
    if isinstance(items, PendingRows):
        yield from items.batches(size)
        return
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _statements(diff: Diff) -> Iterator[tuple[str, str, Sequence[Any] | PendingRows]]:
    """(step name, cypher, rows) in the order that keeps the graph consistent."""
    for rel_type, ids in sorted(diff.rel_deletes.items()):
        t = schema.check_rel_type(rel_type)
        yield (
            f"delete {t}",
            f"UNWIND $rows AS id MATCH ()-[r:{t} {{id: id}}]->() DELETE r",
            ids,
        )
    for label, ids in sorted(diff.node_deletes.items()):
        lab = schema.check_label(label)
        yield (
            f"delete {lab}",
            f"UNWIND $rows AS id MATCH (n:{lab} {{id: id}}) DETACH DELETE n",
            ids,
        )
    for label, node_rows in sorted(diff.node_upserts.items()):
        lab = schema.check_label(label)
        yield (
            f"nodes {lab}",
            f"UNWIND $rows AS row MERGE (n:{lab} {{id: row.id}}) SET n = row",
            node_rows,
        )
    for label, node_rows in sorted(diff.node_creates.items()):
        # absent from the graph's state: CREATE (no lookup); the uniqueness constraint on
        # `id` still refuses a duplicate
        lab = schema.check_label(label)
        yield (f"new nodes {lab}", f"UNWIND $rows AS row CREATE (n:{lab}) SET n = row", node_rows)
    for (rel_type, src_label, dst_label), rel_rows in sorted(diff.rel_creates.items()):
        t = schema.check_rel_type(rel_type)
        a, b = schema.check_label(src_label), schema.check_label(dst_label)
        yield (
            f"rels {t}",
            f"UNWIND $rows AS row MATCH (a:{a} {{id: row.src}}) MATCH (b:{b} {{id: row.dst}}) "
            f"CREATE (a)-[r:{t}]->(b) SET r = row.p",
            rel_rows,
        )


def _write_batch(tx: ManagedTransaction, query: str, batch: list[Any]) -> None:
    tx.run(query, rows=batch).consume()


_SWITCH_META = f"""
MERGE (m:{META_LABEL} {{id: $id}})
SET m.run_id = $run_id, m.status = 'ready', m.loading_run_id = null,
    m.loaded_at = $loaded_at, m.schema_version = $schema_version,
    m.nodes = $nodes, m.relationships = $relationships, m.fingerprint = $fingerprint,
    m.run_dir = $run_dir
"""

_MARK_LOADING = f"""
MERGE (m:{META_LABEL} {{id: $id}})
SET m.status = 'loading', m.loading_run_id = $run_id, m.schema_version = $schema_version
"""


@dataclass
class LoadReport:
    run_id: str
    previous_run_id: str | None
    mode: str  # 'noop' | 'atomic' | 'batched'
    nodes_written: int = 0
    nodes_deleted: int = 0
    rels_written: int = 0
    rels_deleted: int = 0
    nodes_total: int = 0
    rels_total: int = 0
    dangling_rels: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"run {self.run_id} ({self.mode}): {self.nodes_total} nodes, {self.rels_total} "
            f"relationships; wrote {self.nodes_written} nodes / {self.rels_written} rels, "
            f"deleted {self.nodes_deleted} nodes / {self.rels_deleted} rels in {self.seconds:.1f}s"
        )


@dataclass
class LoadOptions:
    batch_size: int = DEFAULT_BATCH_SIZE
    atomic_limit: int = DEFAULT_ATOMIC_LIMIT
    # a diff whose rows carry more than this goes in batches (a transaction holds several
    # times its parameters; the server's default pool is dbms.memory.transaction.total.max)
    atomic_max_bytes: int = DEFAULT_ATOMIC_BYTES
    progress: bool = True
    database: str | None = None
    # called after each batch (committed in batched mode, inside the one transaction otherwise)
    on_batch: BatchCallback | None = None
    # diff against the graph's actual content even when it records this exact run: hashes are
    # recomputed from the properties, so edits made outside the loader are repaired
    full_diff: bool = False


def _switch_params(run_id: str, rows: GraphRows) -> dict[str, Any]:
    return {
        "id": META_ID,
        "run_id": run_id,
        "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_version": schema.SCHEMA_VERSION,
        "nodes": rows.n_nodes(),
        "relationships": rows.n_rels(),
        "fingerprint": rows.fingerprint,
        "run_dir": rows.run_dir,
    }


# the server-wide transaction memory pool, and the per-transaction limit
_TX_MEMORY_ERRORS = (
    "Neo.TransientError.General.MemoryPoolOutOfMemoryError",
    "Neo.TransientError.General.TransactionMemoryLimit",
)


def _apply_atomic(
    driver: Driver, diff: Diff, run_id: str, rows: GraphRows, opts: LoadOptions
) -> None:
    """The whole diff and the meta switch in one explicit transaction (not retried: a refusal
    for memory would only be refused again)."""
    with _session(driver, opts.database) as session, session.begin_transaction() as tx:
        for step, query, items in _statements(diff):
            for chunk in _chunks(items, opts.batch_size):
                batch = list(chunk)
                tx.run(query, rows=batch).consume()
                if opts.on_batch is not None:
                    opts.on_batch(step, len(batch))
        tx.run(_SWITCH_META, **_switch_params(run_id, rows)).consume()
        tx.commit()


def _atomic_fits(driver: Driver, diff: Diff, rows: GraphRows, opts: LoadOptions) -> bool:
    """Apply the diff in one transaction; False (nothing written: the transaction rolled
    back) when the server refused it for a transient reason such as transaction memory, so
    the caller applies it in batches (each retried by the driver)."""
    try:
        _apply_atomic(driver, diff, rows.run_id, rows, opts)
    except TransientError as exc:
        reason = ("exceeds the server's transaction memory" if exc.code in _TX_MEMORY_ERRORS
                  else f"was refused ({exc.code})")
        log.warning("sync of %d operations %s; applying it in batches", diff.size(), reason,
                    extra={"run_id": rows.run_id})
        return False
    return True


def _apply_batched(
    driver: Driver, diff: Diff, run_id: str, rows: GraphRows, opts: LoadOptions
) -> dict[str, float]:
    """Each batch in its own transaction; returns seconds spent per step."""
    from rich.progress import Progress

    total = diff.size()
    steps: dict[str, float] = {}
    with (
        _session(driver, opts.database) as session,
        Progress(disable=not opts.progress, transient=True) as bar,
    ):
        session.run(
            _MARK_LOADING, id=META_ID, run_id=run_id, schema_version=schema.SCHEMA_VERSION
        ).consume()
        task = bar.add_task(f"loading {run_id}", total=total)
        for step, query, items in _statements(diff):
            started = time.perf_counter()
            for chunk in _chunks(items, opts.batch_size):
                batch = list(chunk)
                session.execute_write(_write_batch, query, batch)
                bar.advance(task, len(batch))
                if opts.on_batch is not None:
                    opts.on_batch(step, len(batch))
            steps[step] = steps.get(step, 0.0) + time.perf_counter() - started
        session.execute_write(
            lambda tx: tx.run(_SWITCH_META, **_switch_params(run_id, rows)).consume()
        )
    return steps


def load_rows(driver: Driver, rows: GraphRows, opts: LoadOptions | None = None) -> LoadReport:
    """Make the graph hold exactly `rows` (a sync against whatever it holds now)."""
    opts = opts or LoadOptions()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    ensure_schema(driver, opts.database)
    timings["schema"] = time.perf_counter() - started
    meta = read_meta(driver, opts.database)
    t = time.perf_counter()
    prepared = None if opts.full_diff else _prepared_state(meta)
    diff: Diff | None = None
    if prepared is not None:
        timings["read_state_prepared"] = time.perf_counter() - t
        t = time.perf_counter()
        diff = fast_diff(rows, prepared, rows.run_id)
        if diff is None:  # repeated IDs: the row-by-row diff
            diff = compute_diff(rows, *prepared.as_dicts(), rows.run_id)
    else:
        nodes_now = _existing_nodes(driver, opts.database, opts.full_diff)
        rels_now = _existing_rels(driver, opts.database, opts.full_diff)
        timings["read_state"] = time.perf_counter() - t
        t = time.perf_counter()
        diff = compute_diff(rows, nodes_now, rels_now, rows.run_id)
    timings["diff"] = time.perf_counter() - t
    report = LoadReport(
        run_id=rows.run_id,
        previous_run_id=meta.run_id,
        mode="noop",
        nodes_written=sum(map(len, diff.node_upserts.values()))
        + sum(map(len, diff.node_creates.values())),
        nodes_deleted=sum(map(len, diff.node_deletes.values())),
        rels_written=sum(map(len, diff.rel_creates.values())),
        rels_deleted=sum(map(len, diff.rel_deletes.values())),
        nodes_total=rows.n_nodes(),
        rels_total=rows.n_rels(),
        dangling_rels=rows.dangling,
    )
    t = time.perf_counter()
    if diff.size() == 0:
        if meta.run_id != rows.run_id or meta.status != "ready":
            driver.execute_query(
                _SWITCH_META, **_switch_params(rows.run_id, rows), database_=opts.database
            )
    elif (meta.run_id is not None and diff.size() <= opts.atomic_limit
          and diff.payload_bytes() <= opts.atomic_max_bytes
          and _atomic_fits(driver, diff, rows, opts)):
        report.mode = "atomic"
    else:
        report.mode = "batched"
        steps = _apply_batched(driver, diff, rows.run_id, rows, opts)
        timings.update({f"write {k}": v for k, v in steps.items()})
    timings["write"] = time.perf_counter() - t
    report.seconds = time.perf_counter() - started
    report.timings = timings
    log.info("graph load: %s", report.summary(), extra={"run_id": rows.run_id})
    return report


def load_run(
    driver: Driver,
    run_dir: Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    *,
    atomic_limit: int = DEFAULT_ATOMIC_LIMIT,
    atomic_max_bytes: int = DEFAULT_ATOMIC_BYTES,
    database: str | None = None,
    on_batch: BatchCallback | None = None,
    full_diff: bool = False,
) -> LoadReport:
    """Sync the graph to the run in `run_dir` (see the module docstring for guarantees).

    When the graph already holds exactly this run (status 'ready' and the same fingerprint of
    the run's files, see `run_fingerprint`) nothing is read or written unless `full_diff`."""
    opts = LoadOptions(
        batch_size=batch_size,
        atomic_limit=atomic_limit,
        atomic_max_bytes=atomic_max_bytes,
        progress=progress,
        database=database,
        on_batch=on_batch,
        full_diff=full_diff,
    )
    t = time.perf_counter()
    tables.check_run(Path(run_dir))
    fingerprint = run_fingerprint(Path(run_dir))
    if not full_diff:
        ensure_schema(driver, database)
        meta = read_meta(driver, database)
        if meta.status == "ready" and meta.fingerprint == fingerprint:
            return LoadReport(
                run_id=meta.run_id or "", previous_run_id=meta.run_id, mode="noop",
                nodes_total=meta.nodes, rels_total=meta.relationships,
                seconds=time.perf_counter() - t, timings={"fingerprint": time.perf_counter() - t},
            )
    rows = read_rows(Path(run_dir), fingerprint)
    read_seconds = time.perf_counter() - t
    report = load_rows(driver, rows, opts)
    report.timings["read_run"] = read_seconds
    report.seconds += read_seconds
    return report
