"""A run folder as plain node and relationship rows, the loader's input.

`read_rows(run_dir)` takes the node and relationship tables that `graph.tables` derives from
the run (entities, Address / Phone nodes, events, relations, LOCATED_AT / HAS_PHONE /
SUBJECT_OF) and turns them into dicts of driver-ready Python values (dates, lists, None),
grouped by label and relationship type, with the risk scores of `risk.parquet` as node
properties (`risk_score`, `risk_level`, `risk_reasons`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from graph import schema, tables

# Entity properties beyond the schema's, for `EntityProfile.sources` / `.evidence` (JSON text).
SOURCES_PROP = "source_records"
EVIDENCE_PROP = "evidence"


@dataclass
class GraphRows:
    run_id: str
    nodes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # label -> rows
    rels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # type -> rows
    dangling: int = 0  # relationships whose endpoint is not a node of the run
    fingerprint: str | None = None  # of the run folder's files (set by the loader)

    def n_nodes(self) -> int:
        return sum(map(len, self.nodes.values()))

    def n_rels(self) -> int:
        return sum(map(len, self.rels.values())) - self.dangling


def _risk_props(risk: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    if risk is None or risk.empty:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for entity_id, score, level, reasons in zip(
        risk["entity_id"], risk["score"], risk["level"], risk["reasons"], strict=True
    ):
        props = {
            "risk_score": None if pd.isna(score) else float(score),
            "risk_level": level if isinstance(level, str) else None,
            "risk_reasons": reasons if isinstance(reasons, str) else None,
        }
        out[str(entity_id)] = {k: v for k, v in props.items() if v is not None}
    return out


def _provenance(run: tables.RunTables) -> dict[str, dict[str, str]]:
    """Per entity: its source records and linkage evidence as JSON text (for the profile)."""
    out: dict[str, dict[str, Any]] = {}
    sources: dict[str, list[dict[str, Any]]] = {}
    cols = ["entity_id", "mention_id", "source", "record_id", "role", "name", "record_date"]
    for row in _records(run.mentions[cols]):
        entity_id = row.pop("entity_id")
        if entity_id is not None:
            sources.setdefault(entity_id, []).append(row)
    evidence: dict[str, list[dict[str, Any]]] = {}
    cols = ["entity_id", "mention_id_l", "mention_id_r", "method", "match_weight",
            "match_probability", "features"]
    for row in _records(run.evidence[cols]):
        entity_id = row.pop("entity_id")
        row["features"] = json.loads(row["features"]) if row["features"] else []
        evidence.setdefault(entity_id, []).append(row)
    for entity_id, rows in sources.items():
        rows.sort(key=lambda r: r["mention_id"])
        out.setdefault(entity_id, {})[SOURCES_PROP] = _json(rows)
    for entity_id, rows in evidence.items():
        rows.sort(key=lambda r: (r["mention_id_l"], r["mention_id_r"]))
        out.setdefault(entity_id, {})[EVIDENCE_PROP] = _json(rows)
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(frame.columns)
    out = []
    for values in zip(*(frame[c].tolist() for c in cols), strict=True):
        out.append({c: None if _missing(v) else v for c, v in zip(cols, values, strict=True)})
    return out


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_iso)


def _iso(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())[:10]
    return str(value)


def _keep(row: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """The allowed keys of a row without nulls / NaN (`v == v` is False only for NaN): the
    clean form the loader stores and hashes. Lists come from Arrow without null items."""
    return {k: v for k, v in row.items() if v is not None and k in allowed and v == v}


def read_rows(run_dir: Path) -> GraphRows:
    """All nodes and relationships of the run folder, ready for the loader.

    Raises `graph.tables.RunFolderError` (one line, naming the fix) for a missing, incomplete
    or incompatible run folder.
    """
    run = tables.load_run(run_dir)
    risk = _risk_props(run.risk)
    provenance = _provenance(run)
    rows = GraphRows(run_id=run.run_id)
    node_ids: set[str] = set()
    for label, label_rows in run.nodes_by_label():
        allowed = frozenset((schema.KEY, *schema.NODE_TYPES[label].properties))
        kept = [_keep(r, allowed) for r in label_rows]
        if label in schema.ENTITY_LABELS:
            for row in kept:
                row.update(risk.get(row[schema.KEY], {}))
                row.update(provenance.get(row[schema.KEY], {}))
        rows.nodes[label] = kept
        node_ids.update(r[schema.KEY] for r in kept)
    for group in run.relationships_by_type():
        rel = schema.REL_TYPES[group.rel_type]
        allowed = frozenset((schema.KEY, "src", "dst", *rel.properties))
        kept = [_keep(r, allowed) for r in group.rows]
        rows.dangling += sum(
            1 for r in kept if r["src"] not in node_ids or r["dst"] not in node_ids
        )
        rows.rels.setdefault(group.rel_type, []).extend(kept)
    return rows
