"""A run folder as node and relationship tables, the loader's input.

`read_rows(run_dir)` takes the node and relationship frames that `graph.tables` derives from
the run (entities, Address / Phone nodes, events, relations, LOCATED_AT / HAS_PHONE /
SUBJECT_OF) and turns them into Arrow tables of the clean stored properties (columns typed by
`graph.neo4j.hash.PROP_TYPES`, nulls meaning "no property"), one per label and relationship
type, with the risk scores of `risk.parquet` (`risk_score`, `risk_level`, `risk_reasons`, and
`learned_score`, `learned_level`, `learned_reasons` where the learned score is shipped) and
the entity's source records / linkage evidence (JSON text, built in DuckDB) as entity
properties. Every row has a content hash (`graph.neo4j.hash.table_hashes`); the loader diffs
on `(id, hash)` and turns only changed rows into dicts (`rows_at`). `GraphRows` may also be
given plain dict rows (`nodes` / `rels`).

Preparing the tables of a large run takes a minute, so they are kept with their hashes in the
run folder, `RUN/graph/` (one Arrow IPC file per label / type with a `_hash` column, read
memory-mapped, and a `manifest.json` naming the run's fingerprint, see `run_fingerprint`).
`prepare_rows` writes them (`guanlian score` does, right after the risk scores, so the load
window only reads); `read_rows` uses them when their fingerprint is the run's, and otherwise
builds and keeps them. A sync takes the state of the graph from the prepared rows of the run
the graph holds instead of reading it from the server (`prepared_state`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graph import schema, tables
from graph.neo4j.hash import (
    HASH_PROP,
    PROP_TYPES,
    clean_props,
    node_prefix,
    rel_prefix,
    rows_table,
    table_hashes,
)
from runfolder.folder import check_run
from runfolder.schema import EVIDENCE_SCHEMA, REQUIRED_TABLES

log = logging.getLogger(__name__)

LOADER_VERSION = 3  # bump when the rows derived from a run change shape
PREPARED_DIR = "graph"
MANIFEST = "manifest.json"

# Entity properties beyond the schema's, for `EntityProfile.sources` / `.evidence` (JSON text).
SOURCES_PROP = "source_records"
EVIDENCE_PROP = "evidence"
_RISK_PROPS = ("risk_score", "risk_level", "risk_reasons")
# the learned score's columns (risk.parquet, where shipped) under the same names on the node
LEARNED_PROPS = ("learned_score", "learned_level", "learned_reasons")


@dataclass
class GraphRows:
    run_id: str
    nodes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # label -> dict rows
    rels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # type -> dict rows
    dangling: int = 0  # relationships whose endpoint is not a node of the run
    fingerprint: str | None = None  # of the run folder's files (set by the loader)
    run_dir: str | None = None  # absolute path of the run folder the rows come from
    node_tables: dict[str, pa.Table] = field(default_factory=dict)  # label -> clean table
    rel_tables: dict[str, pa.Table] = field(default_factory=dict)  # type -> table with src/dst
    # content hashes per row of each table, computed on first use (or read with the tables)
    node_hashes: dict[str, pa.Array] = field(default_factory=dict)
    rel_hashes: dict[str, pa.Array] = field(default_factory=dict)

    def node_labels(self) -> list[str]:
        return [lab for lab in schema.NODE_TYPES if lab in self.nodes or lab in self.node_tables]

    def rel_types(self) -> list[str]:
        return [t for t in schema.REL_TYPES if t in self.rels or t in self.rel_tables]

    def node_table(self, label: str) -> pa.Table:
        if label not in self.node_tables:
            self.node_tables[label] = rows_table([clean_props(r) for r in self.nodes[label]])
        return self.node_tables[label]

    def rel_table(self, rel_type: str) -> pa.Table:
        if rel_type not in self.rel_tables:
            self.rel_tables[rel_type] = rows_table([clean_props(r) for r in self.rels[rel_type]])
        return self.rel_tables[rel_type]

    def node_hash_array(self, label: str) -> pa.Array:
        if label not in self.node_hashes:
            hashes = table_hashes(node_prefix(label), self.node_table(label))
            self.node_hashes[label] = pa.array(hashes, type=pa.string())
        return self.node_hashes[label]

    def rel_hash_array(self, rel_type: str) -> pa.Array:
        if rel_type not in self.rel_hashes:
            hashes = table_hashes(rel_prefix(rel_type), self.rel_table(rel_type))
            self.rel_hashes[rel_type] = pa.array(hashes, type=pa.string())
        return self.rel_hashes[rel_type]

    def n_nodes(self) -> int:
        return sum(self.node_table(label).num_rows for label in self.node_labels())

    def n_rels(self) -> int:
        return sum(self.rel_table(t).num_rows for t in self.rel_types()) - self.dangling

    def node_rows(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(label, clean dict rows) of every label (materialises every row: slow, for export)."""
        for label in self.node_labels():
            yield label, rows_at(self.node_table(label), range(self.node_table(label).num_rows))

    def rel_rows(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        for t in self.rel_types():
            yield t, rows_at(self.rel_table(t), range(self.rel_table(t).num_rows))


def rows_at(table: pa.Table, indices: Sequence[int] | range) -> list[dict[str, Any]]:
    """Rows `indices` of a clean table as dicts without null / NaN values."""
    if isinstance(indices, range) and len(indices) == table.num_rows:
        part = table
    else:
        part = table.take(pa.array(list(indices), type=pa.int64()))
    out = []
    for row in part.to_pylist():
        clean = {}
        for k, v in row.items():
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if isinstance(v, list) and None in v:
                v = [x for x in v if x is not None]
            clean[k] = v
        out.append(clean)
    return out


def _conform(table: pa.Table) -> pa.Table:
    """Cast known columns to their contract types (all-null columns become typed nulls)."""
    for i, name in enumerate(table.column_names):
        typ = PROP_TYPES.get(name)
        if typ is not None and table.schema.field(i).type != typ:
            table = table.set_column(i, name, pc.cast(table[name], typ))
    return table


def _arrow(frame: pd.DataFrame, names: Sequence[str]) -> pa.Table:
    sub = pa.schema([(n, PROP_TYPES[n]) for n in names])
    return pa.Table.from_pandas(frame[list(names)], schema=sub, preserve_index=False)


PROVENANCE_MENTIONS = ("entity_id", "mention_id", "source", "record_id", "role", "name",
                      "record_date")
PROVENANCE_EVIDENCE = ("entity_id", "mention_id_l", "mention_id_r", "method", "match_weight",
                       "match_probability", "features")


def _provenance(run: tables.RunTables) -> pd.DataFrame:
    """Per entity: its source records and linkage evidence as JSON text (index entity_id)."""
    return provenance(run.mentions, run.evidence).set_index("entity_id")


def provenance(mentions_df: pd.DataFrame, evidence_df: pd.DataFrame) -> pd.DataFrame:
    """`entity_id, source_records, evidence` of the entities these mentions and evidence rows
    name (all of a run's, or one bucket's on Spark: `graph.neo4j.spark_rows`), the JSON text
    built in DuckDB."""
    import duckdb

    mentions = _arrow(mentions_df, list(PROVENANCE_MENTIONS))
    evidence = pa.Table.from_pandas(
        evidence_df[list(PROVENANCE_EVIDENCE)],
        schema=pa.schema([f for f in EVIDENCE_SCHEMA if f.name not in ("run_id",)]),
        preserve_index=False,
    )
    con = duckdb.connect()
    try:
        con.register("mentions_t", mentions)
        con.register("evidence_t", evidence)
        frame = con.sql("""
            WITH s AS (
              SELECT entity_id, to_json(list({
                'mention_id': mention_id, 'name': name, 'record_date': record_date,
                'record_id': record_id, 'role': role, 'source': source
              } ORDER BY mention_id))::VARCHAR AS source_records
              FROM mentions_t WHERE entity_id IS NOT NULL GROUP BY entity_id
            ), e AS (
              SELECT entity_id, to_json(list({
                'features': CASE WHEN features IS NULL OR features = '' THEN '[]'::JSON
                                 ELSE features::JSON END,
                'match_probability': match_probability, 'match_weight': match_weight,
                'method': method, 'mention_id_l': mention_id_l, 'mention_id_r': mention_id_r
              } ORDER BY mention_id_l, mention_id_r))::VARCHAR AS evidence
              FROM evidence_t WHERE entity_id IS NOT NULL GROUP BY entity_id
            )
            SELECT coalesce(s.entity_id, e.entity_id) AS entity_id, s.source_records, e.evidence
            FROM s FULL OUTER JOIN e ON s.entity_id = e.entity_id
        """).df()
    finally:
        con.close()
    return frame


def _risk(risk: pd.DataFrame | None) -> pd.DataFrame | None:
    if risk is None or risk.empty:
        return None
    out = pd.DataFrame({
        "risk_score": pd.to_numeric(risk["score"], errors="coerce").to_numpy(),
        "risk_level": risk["level"].where(risk["level"].map(lambda v: isinstance(v, str))),
        "risk_reasons": risk["reasons"].where(risk["reasons"].map(lambda v: isinstance(v, str))),
    })
    if "learned_score" in risk.columns and risk["learned_score"].notna().any():
        out["learned_score"] = pd.to_numeric(risk["learned_score"], errors="coerce").to_numpy()
        for col in ("learned_level", "learned_reasons"):
            out[col] = risk[col].where(risk[col].map(lambda v: isinstance(v, str))).to_numpy()
    out.index = risk["entity_id"].astype(str).to_numpy()
    return out[~out.index.duplicated(keep="last")]


def run_fingerprint(run_dir: Path) -> str:
    """sha256 over the run's input files (report, tables, risk) and the loader's versions."""
    digest = hashlib.sha256(f"schema={schema.SCHEMA_VERSION};loader={LOADER_VERSION}".encode())
    names = ["report.json", *(f"{t}.parquet" for t in (*REQUIRED_TABLES, "risk"))]
    for name in names:
        path = run_dir / name
        if path.is_file():
            digest.update(name.encode())
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _manifest(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / PREPARED_DIR / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_prepared(run_dir: Path, fingerprint: str) -> bool:
    """Whether `RUN/graph/` was prepared from the run's files as they are (`fingerprint`)."""
    manifest = _manifest(Path(run_dir))
    return manifest is not None and manifest.get("fingerprint") == fingerprint


def prepared_file(kind: str, name: str) -> str:
    return f"{kind}-{name}.arrow"


def read_arrow(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A prepared table, memory-mapped (no copy: a sync touches only the rows it writes)."""
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    return table.select(columns) if columns else table


def _write_arrow(table: pa.Table, path: Path) -> None:
    table = table.combine_chunks()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def read_rows(run_dir: Path, fingerprint: str | None = None, *, keep: bool = True) -> GraphRows:
    """The run's rows with their hashes: from `RUN/graph/` when it was prepared from exactly
    these files, else built (`build_rows`) and, with `keep`, written there for next time."""
    run_dir = Path(run_dir)
    check_run(run_dir)
    fingerprint = fingerprint or run_fingerprint(run_dir)
    manifest = _manifest(run_dir)
    if manifest is not None and manifest.get("fingerprint") == fingerprint:
        try:
            rows = _read_prepared(run_dir, manifest)
        except (OSError, KeyError, ValueError, pa.ArrowInvalid) as exc:
            log.warning("prepared graph rows of %s unreadable (%s): rebuilding", run_dir, exc)
        else:
            rows.fingerprint, rows.run_dir = fingerprint, str(run_dir.resolve())
            return rows
    started = time.perf_counter()
    rows = build_rows(run_dir)
    rows.fingerprint, rows.run_dir = fingerprint, str(run_dir.resolve())
    if keep:
        try:
            _write_prepared(run_dir, rows, time.perf_counter() - started)
        except OSError as exc:  # a read-only run folder: load without keeping them
            log.warning("could not keep prepared graph rows in %s: %s", run_dir, exc)
    return rows


def prepare_rows(run_dir: Path) -> GraphRows:
    """Build the run's graph rows and hashes and keep them in `RUN/graph/` (idempotent)."""
    return read_rows(run_dir, keep=True)


State = dict[str, tuple[str, str | None]]  # element ID -> (label or type, content hash)


@dataclass
class PreparedState:
    """What loading a prepared run leaves in the graph, as arrays per label / type: element
    IDs and content hashes (dangling relationships, never loaded, are left out)."""

    node_ids: dict[str, pa.Array] = field(default_factory=dict)
    node_hashes: dict[str, pa.Array] = field(default_factory=dict)
    rel_ids: dict[str, pa.Array] = field(default_factory=dict)
    rel_hashes: dict[str, pa.Array] = field(default_factory=dict)

    def as_dicts(self) -> tuple[State, State]:
        """`{id: (label or type, hash)}` for nodes and relationships; the first row of a
        repeated ID stands (as in the loader's diff)."""
        nodes: State = {}
        rels: State = {}
        for out, ids, hashes in ((nodes, self.node_ids, self.node_hashes),
                                 (rels, self.rel_ids, self.rel_hashes)):
            for name, col in ids.items():
                for i, h in zip(col.to_pylist(), hashes[name].to_pylist(), strict=True):
                    out.setdefault(i, (name, h))
        return nodes, rels


def prepared_state(run_dir: Path, fingerprint: str) -> PreparedState | None:
    """The graph's state after loading the run with `fingerprint`, read from its prepared
    `RUN/graph/` folder (None when that folder is missing or was prepared from other files)."""
    manifest = _manifest(Path(run_dir))
    if manifest is None or manifest.get("fingerprint") != fingerprint:
        return None
    folder = Path(run_dir) / PREPARED_DIR
    state = PreparedState()
    try:
        for label in manifest["nodes"]:
            part = read_arrow(folder / prepared_file("nodes", label), [schema.KEY, HASH_PROP])
            state.node_ids[label] = part[schema.KEY].combine_chunks()
            state.node_hashes[label] = part[HASH_PROP].combine_chunks()
        all_ids = pa.concat_arrays(list(state.node_ids.values())) if state.node_ids else None
        parts = [(t, read_arrow(folder / prepared_file("rels", t),
                                 [schema.KEY, "src", "dst", HASH_PROP]))
                 for t in manifest["rels"]]
        if all_ids is not None and parts:
            ends = [pa.concat_arrays([p[col].combine_chunks() for _, p in parts])
                    for col in ("src", "dst")]
            loaded = pc.and_(pc.is_in(ends[0], value_set=all_ids),
                             pc.is_in(ends[1], value_set=all_ids))
            start = 0
            for rel_type, part in parts:  # dangling relationships are never loaded
                mask = loaded.slice(start, part.num_rows)
                start += part.num_rows
                state.rel_ids[rel_type] = pc.filter(part[schema.KEY], mask).combine_chunks()
                state.rel_hashes[rel_type] = pc.filter(part[HASH_PROP], mask).combine_chunks()
    except (OSError, KeyError, pa.ArrowInvalid):
        return None
    return state


def prepared_hashes(run_dir: Path, fingerprint: str) -> tuple[State, State] | None:
    """`prepared_state` as `{id: (label or type, hash)}` dicts for nodes and relationships."""
    state = prepared_state(run_dir, fingerprint)
    return None if state is None else state.as_dicts()


def _read_prepared(run_dir: Path, manifest: dict[str, Any]) -> GraphRows:
    folder = run_dir / PREPARED_DIR
    rows = GraphRows(run_id=str(manifest["run_id"]), dangling=int(manifest["dangling"]))
    for kind, names in (("nodes", manifest["nodes"]), ("rels", manifest["rels"])):
        for name in names:
            table = read_arrow(folder / prepared_file(kind, name))
            hashes = table[HASH_PROP].combine_chunks()
            table = table.drop_columns([HASH_PROP])
            if kind == "nodes":
                rows.node_tables[name], rows.node_hashes[name] = table, hashes
            else:
                rows.rel_tables[name], rows.rel_hashes[name] = table, hashes
    return rows


def _write_prepared(run_dir: Path, rows: GraphRows, build_seconds: float) -> None:
    """Write `RUN/graph/` next to itself and swap it in (a reader sees the old or the new)."""
    started = time.perf_counter()

    def write(tmp: Path) -> dict[str, Any]:
        for label in rows.node_labels():
            table = rows.node_table(label).append_column(HASH_PROP, rows.node_hash_array(label))
            _write_arrow(table, tmp / prepared_file("nodes", label))
        for rel_type in rows.rel_types():
            table = rows.rel_table(rel_type).append_column(
                HASH_PROP, rows.rel_hash_array(rel_type))
            _write_arrow(table, tmp / prepared_file("rels", rel_type))
        return {"fingerprint": rows.fingerprint, "run_id": rows.run_id,
                "loader_version": LOADER_VERSION, "dangling": rows.dangling,
                "nodes": rows.node_labels(), "rels": rows.rel_types(),
                "build_seconds": round(build_seconds, 2),
                "write_seconds": round(time.perf_counter() - started, 2)}

    publish_prepared(run_dir, write)


def publish_prepared(run_dir: Path, write: Callable[[Path], dict[str, Any]]) -> None:
    """`write` the prepared files into a folder beside `RUN/graph/` (it returns the
    manifest), then swap that folder in (a reader sees the old or the new)."""
    tmp = run_dir / f"{PREPARED_DIR}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        manifest = write(tmp)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        final = run_dir / PREPARED_DIR
        old = run_dir / f"{PREPARED_DIR}.old-{os.getpid()}"
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build_rows(run_dir: Path) -> GraphRows:
    """All nodes and relationships of the run folder as clean tables, ready for the loader.

    Raises `runfolder.folder.RunFolderError` (one line, naming the fix) for a missing, incomplete
    or incompatible run folder.
    """
    run = tables.load_run(run_dir, tables.GRAPH_MENTION_COLUMNS)
    risk = _risk(run.risk)
    provenance = _provenance(run)
    rows = GraphRows(run_id=run.run_id)
    node_ids: list[pa.ChunkedArray] = []
    for label, frame in run.node_frames.items():
        allowed = [schema.KEY, *(p for p in schema.NODE_TYPES[label].properties
                                 if p in frame.columns)]
        table = _conform(pa.Table.from_pandas(frame[allowed], preserve_index=False))
        if label in schema.ENTITY_LABELS:
            ids = frame[schema.KEY]
            extra: dict[str, Any] = {}
            if risk is not None:
                for prop in (*_RISK_PROPS, *LEARNED_PROPS):
                    if prop in risk.columns:
                        extra[prop] = ids.map(risk[prop])
            for prop in (SOURCES_PROP, EVIDENCE_PROP):
                extra[prop] = ids.map(provenance[prop])
            for prop, values in extra.items():
                table = table.append_column(
                    prop, pa.array(values, type=PROP_TYPES[prop], from_pandas=True)
                )
        rows.node_tables[label] = table
        node_ids.append(table[schema.KEY])
    all_ids = pa.chunked_array(
        [c for arr in node_ids for c in arr.chunks], type=pa.string()
    ).combine_chunks()
    for rel_type, frame in run.rel_frames.items():
        rel = schema.REL_TYPES[rel_type]
        allowed = [schema.KEY, "src", "dst", *(p for p in rel.properties if p in frame.columns)]
        table = _conform(pa.Table.from_pandas(frame[allowed], preserve_index=False))
        ok = pc.and_(pc.is_in(table["src"], value_set=all_ids),
                     pc.is_in(table["dst"], value_set=all_ids))
        rows.dangling += table.num_rows - int(pc.sum(ok).as_py() or 0)
        rows.rel_tables[rel_type] = table
    return rows
