"""Writing a sync's diff: batched `UNWIND $rows` statements, in one transaction or in many.

Deletions go first, then nodes, then relationships (`statements`). `apply_atomic` writes the
whole diff and the meta switch in ONE transaction (readers see the previous run or the new
one, never a mix); `apply_batched` writes each batch in its own transaction, with the meta
node marked 'loading' meanwhile and switched in the last one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import Driver, ManagedTransaction
from neo4j.exceptions import TransientError

from graph import schema
from graph.neo4j import DEFAULT_BATCH_SIZE
from graph.neo4j import write_queries as wq
from graph.neo4j.conn import quiet_session
from graph.neo4j.diff_types import Diff, PendingRows
from graph.neo4j.meta import META_ID
from graph.neo4j.rows import GraphRows
from graph.neo4j.template import fill

log = logging.getLogger(__name__)

DEFAULT_ATOMIC_LIMIT = 100_000
DEFAULT_ATOMIC_BYTES = 48 * 1024 * 1024

BatchCallback = Callable[[str, int], None]

# the server-wide transaction memory pool, and the per-transaction limit
_TX_MEMORY_ERRORS = (
    "Neo.TransientError.General.MemoryPoolOutOfMemoryError",
    "Neo.TransientError.General.TransactionMemoryLimit",
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


def _chunks(items: Sequence[Any] | PendingRows, size: int) -> Iterator[list[Any]]:
    if isinstance(items, PendingRows):
        yield from items.batches(size)
        return
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def statements(diff: Diff) -> Iterator[tuple[str, str, Sequence[Any] | PendingRows]]:
    """(step name, cypher, rows) in the order that keeps the graph consistent."""
    for rel_type, ids in sorted(diff.rel_deletes.items()):
        t = schema.check_rel_type(rel_type)
        yield f"delete {t}", fill(wq.DELETE_RELS, type=t), ids
    for label, ids in sorted(diff.node_deletes.items()):
        lab = schema.check_label(label)
        yield f"delete {lab}", fill(wq.DELETE_NODES, label=lab), ids
    for label, node_rows in sorted(diff.node_upserts.items()):
        lab = schema.check_label(label)
        yield f"nodes {lab}", fill(wq.UPSERT_NODES, label=lab), node_rows
    for label, node_rows in sorted(diff.node_creates.items()):
        lab = schema.check_label(label)
        yield f"new nodes {lab}", fill(wq.CREATE_NODES, label=lab), node_rows
    for (rel_type, src_label, dst_label), rel_rows in sorted(diff.rel_creates.items()):
        t = schema.check_rel_type(rel_type)
        a, b = schema.check_label(src_label), schema.check_label(dst_label)
        yield f"rels {t}", fill(wq.CREATE_RELS, src=a, dst=b, type=t), rel_rows


def _write_batch(tx: ManagedTransaction, query: str, batch: list[Any]) -> None:
    tx.run(query, rows=batch).consume()


def switch_params(run_id: str, rows: GraphRows) -> dict[str, Any]:
    """Parameters of `write_queries.SWITCH_META`: the meta node now says `run_id` is loaded."""
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


def _apply_atomic(driver: Driver, diff: Diff, rows: GraphRows, opts: LoadOptions) -> None:
    """The whole diff and the meta switch in one explicit transaction (not retried: a refusal
    for memory would only be refused again)."""
    with quiet_session(driver, opts.database) as session, session.begin_transaction() as tx:
        for step, query, items in statements(diff):
            for chunk in _chunks(items, opts.batch_size):
                batch = list(chunk)
                tx.run(query, rows=batch).consume()
                if opts.on_batch is not None:
                    opts.on_batch(step, len(batch))
        tx.run(wq.SWITCH_META, **switch_params(rows.run_id, rows)).consume()
        tx.commit()


def apply_atomic(driver: Driver, diff: Diff, rows: GraphRows, opts: LoadOptions) -> bool:
    """Apply the diff in one transaction; False (nothing written: the transaction rolled
    back) when the server refused it for a transient reason such as transaction memory, so
    the caller applies it in batches (each retried by the driver)."""
    try:
        _apply_atomic(driver, diff, rows, opts)
    except TransientError as exc:
        reason = ("exceeds the server's transaction memory" if exc.code in _TX_MEMORY_ERRORS
                  else f"was refused ({exc.code})")
        log.warning("sync of %d operations %s; applying it in batches", diff.size(), reason,
                    extra={"run_id": rows.run_id})
        return False
    return True


def apply_batched(
    driver: Driver, diff: Diff, rows: GraphRows, opts: LoadOptions
) -> dict[str, float]:
    """Each batch in its own transaction; returns seconds spent per step."""
    from rich.progress import Progress

    run_id = rows.run_id
    steps: dict[str, float] = {}
    with (
        quiet_session(driver, opts.database) as session,
        Progress(disable=not opts.progress, transient=True) as bar,
    ):
        session.run(
            wq.MARK_LOADING, id=META_ID, run_id=run_id, schema_version=schema.SCHEMA_VERSION
        ).consume()
        task = bar.add_task(f"loading {run_id}", total=diff.size())
        for step, query, items in statements(diff):
            started = time.perf_counter()
            for chunk in _chunks(items, opts.batch_size):
                batch = list(chunk)
                session.execute_write(_write_batch, query, batch)
                bar.advance(task, len(batch))
                if opts.on_batch is not None:
                    opts.on_batch(step, len(batch))
            steps[step] = steps.get(step, 0.0) + time.perf_counter() - started
        session.execute_write(
            lambda tx: tx.run(wq.SWITCH_META, **switch_params(run_id, rows)).consume()
        )
    return steps
