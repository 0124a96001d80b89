"""Load a run folder into Neo4j as an idempotent, crash-safe diff sync.

How a load works (`publish_run`):

1. Constraints and indexes from `graph.schema.constraints()` (`graph.neo4j.indexes`:
   uniqueness on `id` for every label, lookup indexes on identifiers, uniqueness on `id` for
   every relationship type, and the full-text index `schema.FULLTEXT_INDEX` with the `cjk`
   analyzer) are created first.
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
   `full_diff`) the state is read back from the server and every row is walked
   (`graph.neo4j.state`; the diff's shape is `graph.neo4j.diff_types.Diff`).
4. Writes (`graph.neo4j.apply`; statements in `graph.neo4j.write_queries`) are batched
   parameterised `UNWIND $rows` statements, deletions first, then nodes, then relationships;
   nodes are `MERGE`d on label + constrained `id` (`SET n = row` replaces all properties);
   relationships are created between endpoints matched by their constrained `id` (they are
   created only when absent from the graph's current state, and a changed one is deleted and
   re-created; the uniqueness constraint on relationship `id` rejects any duplicate).
5. Shortcut: the meta node records a fingerprint of the run's files; loading a run the graph
   already holds completely (same fingerprint, status 'ready') reads and writes nothing.
   `full_diff=True` (`guanlian load --full-diff`) skips the shortcut and recomputes every
   element's hash from its properties, so edits made outside the loader are repaired.

What readers observe (the meta node `(:GuanlianMeta {id: 'current'})`, `graph.neo4j.meta`,
holds `run_id`, `loaded_at`, `schema_version`, `status` and `loading_run_id`):

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
from dataclasses import dataclass, field
from pathlib import Path

from neo4j import Driver

from graph import tables
from graph.neo4j import state
from graph.neo4j import write_queries as wq
from graph.neo4j.apply import (
    DEFAULT_ATOMIC_BYTES,
    DEFAULT_ATOMIC_LIMIT,
    DEFAULT_BATCH_SIZE,
    BatchCallback,
    LoadOptions,
    apply_atomic,
    apply_batched,
    switch_params,
)
from graph.neo4j.diff import compute_diff, fast_diff
from graph.neo4j.diff_types import Diff
from graph.neo4j.indexes import ensure_schema
from graph.neo4j.meta import read_meta
from graph.neo4j.rows import GraphRows, read_rows, run_fingerprint

log = logging.getLogger(__name__)


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


def load_rows(driver: Driver, rows: GraphRows, opts: LoadOptions | None = None) -> LoadReport:
    """Make the graph hold exactly `rows` (a sync against whatever it holds now)."""
    opts = opts or LoadOptions()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    ensure_schema(driver, opts.database)
    timings["schema"] = time.perf_counter() - started
    meta = read_meta(driver, opts.database)
    t = time.perf_counter()
    prepared = None if opts.full_diff else state.prepared(meta)
    diff: Diff | None = None
    if prepared is not None:
        timings["read_state_prepared"] = time.perf_counter() - t
        t = time.perf_counter()
        diff = fast_diff(rows, prepared, rows.run_id)
        if diff is None:  # repeated IDs: the row-by-row diff
            diff = compute_diff(rows, *prepared.as_dicts(), rows.run_id)
    else:
        nodes_now = state.existing_nodes(driver, opts.database, opts.full_diff)
        rels_now = state.existing_rels(driver, opts.database, opts.full_diff)
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
                wq.SWITCH_META, **switch_params(rows.run_id, rows), database_=opts.database
            )
    elif (meta.run_id is not None and diff.size() <= opts.atomic_limit
          and diff.payload_bytes() <= opts.atomic_max_bytes
          and apply_atomic(driver, diff, rows, opts)):
        report.mode = "atomic"
    else:
        report.mode = "batched"
        steps = apply_batched(driver, diff, rows, opts)
        timings.update({f"write {k}": v for k, v in steps.items()})
    timings["write"] = time.perf_counter() - t
    report.seconds = time.perf_counter() - started
    report.timings = timings
    log.info("graph load: %s", report.summary(), extra={"run_id": rows.run_id})
    return report


def publish_run(
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
