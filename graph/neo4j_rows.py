"""A run folder as node and relationship tables, the loader's input.

`read_rows(run_dir)` takes the node and relationship frames that `graph.tables` derives from
the run (entities, Address / Phone nodes, events, relations, LOCATED_AT / HAS_PHONE /
SUBJECT_OF) and turns them into Arrow tables of the clean stored properties (columns typed by
`graph.neo4j_hash.PROP_TYPES`, nulls meaning "no property"), one per label and relationship
type, with the risk scores of `risk.parquet` (`risk_score`, `risk_level`, `risk_reasons`) and
the entity's source records / linkage evidence (JSON text, built in DuckDB) as entity
properties. The loader hashes whole tables and turns only changed rows into dicts
(`GraphRows.rows_at`). `GraphRows` may also be given plain dict rows (`nodes` / `rels`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graph import schema, tables
from graph.neo4j_hash import PROP_TYPES, clean_props, rows_table

# Entity properties beyond the schema's, for `EntityProfile.sources` / `.evidence` (JSON text).
SOURCES_PROP = "source_records"
EVIDENCE_PROP = "evidence"
_RISK_PROPS = ("risk_score", "risk_level", "risk_reasons")


@dataclass
class GraphRows:
    run_id: str
    nodes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # label -> dict rows
    rels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # type -> dict rows
    dangling: int = 0  # relationships whose endpoint is not a node of the run
    fingerprint: str | None = None  # of the run folder's files (set by the loader)
    node_tables: dict[str, pa.Table] = field(default_factory=dict)  # label -> clean table
    rel_tables: dict[str, pa.Table] = field(default_factory=dict)  # type -> table with src/dst

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


def _provenance(run: tables.RunTables) -> pd.DataFrame:
    """Per entity: its source records and linkage evidence as JSON text (index entity_id)."""
    import duckdb

    mentions = _arrow(run.mentions, ["entity_id", "mention_id", "source", "record_id", "role",
                                     "name", "record_date"])
    evidence = pa.Table.from_pandas(
        run.evidence[["entity_id", "mention_id_l", "mention_id_r", "method", "match_weight",
                      "match_probability", "features"]],
        schema=pa.schema([f for f in tables.EVIDENCE_SCHEMA if f.name not in ("run_id",)]),
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
    return frame.set_index("entity_id")


def _risk(risk: pd.DataFrame | None) -> pd.DataFrame | None:
    if risk is None or risk.empty:
        return None
    out = pd.DataFrame({
        "risk_score": pd.to_numeric(risk["score"], errors="coerce").to_numpy(),
        "risk_level": risk["level"].where(risk["level"].map(lambda v: isinstance(v, str))),
        "risk_reasons": risk["reasons"].where(risk["reasons"].map(lambda v: isinstance(v, str))),
    })
    out.index = risk["entity_id"].astype(str).to_numpy()
    return out[~out.index.duplicated(keep="last")]


def read_rows(run_dir: Path) -> GraphRows:
    """All nodes and relationships of the run folder as clean tables, ready for the loader.

    Raises `graph.tables.RunFolderError` (one line, naming the fix) for a missing, incomplete
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
                for prop in _RISK_PROPS:
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
