"""What the alert comparison reads of one run folder (never the graph stores).

A `RunSnapshot` holds, for one scored run: each entity's stored score and level, the network
ties (relationship ID, type, src, dst; LOCATED_AT / HAS_PHONE derived as the graph derives
them), the events of each entity, the phoenix predecessors and hubs named by the stored risk
reasons (`paths`), the rings (the catalogue's `rings`, computed over the ties with the same
rules), the changelog's lineage, the linkage evidence of merged entities (read on demand) and
what the alerts' before / after graphs show of a node (`NodeIndex`).

Deriving the ties, the reason paths and the rings costs most of a comparison, so `guanlian
score` keeps them in `RUN/alert_snapshot/` (`write_snapshot`: `ties.parquet`,
`paths.parquet`, `rings.parquet`, `nodes.parquet` and a `manifest.json` naming the size and
modification time of the tables they were derived from). `read_snapshot` reads them when
those tables are unchanged and otherwise derives everything from the tables
(`build_snapshot`); both give the same snapshot. Scores, levels, events and the changelog
are read from the run's own tables either way.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from alerts.network import (
    NODE_COLUMNS,
    RING_RULES,
    NodeIndex,
    find_rings,
    node_frame,
    string_table,
)
from graph.models import Ring
from graph.schema import NETWORK_TYPES
from graph.tables import load_run
from graph.worklist import parse_reasons
from runfolder.folder import (
    check_run,
    has_table,
    read_table,
    read_table_arrow,
    staged,
    write_frame,
)
from runfolder.schema import TABLES

MAX_EVIDENCE = 3
SNAPSHOT_DIR = "alert_snapshot"
SNAPSHOT_VERSION = 1  # bump when what a snapshot holds, or how it is derived, changes
MANIFEST = "manifest.json"
# the tables a snapshot is derived from (its manifest records their size and mtime)
SNAPSHOT_INPUTS = ("entities", "mentions", "relations", "events", "risk")
TIE_COLUMNS = ("id", "type", "src", "dst")
EVENT_COLUMNS = ("entity_id", "event_id", "type", "category", "mention_id")
PATH_COLUMNS = ("entity_id", "rule", "nodes", "edges")
PATHS_SCHEMA = pa.schema([("entity_id", pa.string()), ("rule", pa.string()),
                          ("nodes", pa.list_(pa.string())), ("edges", pa.list_(pa.string()))])
RING_COLUMNS = ("ring_id", "enterprises", "connectors", "n_violating", "size")

Paths = dict[str, list[tuple[list[str], list[str]]]]


@dataclass
class RunSnapshot:
    run_dir: Path
    run_id: str
    risk: pd.DataFrame  # entity_id, score (float), level (str): one row per scored entity
    ties: pa.Table  # id, type, src, dst (string): one row per network relationship
    event_rows: pd.DataFrame  # EVENT_COLUMNS, by entity then event
    paths: pa.Table  # entity_id, rule (phoenix | hub), nodes, edges: stored reason paths
    ring_list: list[Ring]
    lineage: pa.Table  # change, entity_id, previous_ids (the changelog; empty without one)
    nodes: NodeIndex
    kept: bool = False  # read from RUN/alert_snapshot/ (else derived from the tables)

    @cached_property
    def score(self) -> dict[str, float]:
        return dict(zip(self.risk["entity_id"].tolist(), self.risk["score"].tolist(),
                        strict=True))

    @cached_property
    def level(self) -> dict[str, str]:
        return dict(zip(self.risk["entity_id"].tolist(), self.risk["level"].tolist(),
                        strict=True))

    @cached_property
    def events(self) -> dict[str, list[tuple[str, str]]]:
        """entity -> [(event_id, type)], by event ID."""
        out: dict[str, list[tuple[str, str]]] = {}
        ev = self.event_rows
        for entity, event, etype in zip(ev["entity_id"].tolist(), ev["event_id"].tolist(),
                                        ev["type"].tolist(), strict=True):
            out.setdefault(str(entity), []).append((str(event), str(etype)))
        return out

    @cached_property
    def violating(self) -> set[str]:
        return set(self.events)

    @cached_property
    def blacklisted(self) -> set[str]:
        return {e for e, evs in self.events.items() if any(t == "BLACKLISTING" for _, t in evs)}

    def _reasons(self, rule: str) -> Paths:
        out: Paths = {}
        part = self.paths.filter(pc.equal(self.paths["rule"], rule))
        for entity, nodes, edges in zip(part["entity_id"].to_pylist(),
                                        part["nodes"].to_pylist(), part["edges"].to_pylist(),
                                        strict=True):
            out.setdefault(entity, []).append((nodes, edges))
        return out

    @cached_property
    def phoenix(self) -> Paths:
        """successor -> (nodes, edges) of each stored phoenix reason."""
        return self._reasons("phoenix")

    @cached_property
    def hubs(self) -> Paths:
        """entity -> (nodes, edges) of each stored hub reason."""
        return self._reasons("hub")

    @cached_property
    def rings(self) -> dict[str, Ring]:
        """enterprise -> its ring."""
        return {m: ring for ring in self.ring_list for m in ring.enterprises}

    def evidence(self, entity_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Up to MAX_EVIDENCE linkage evidence rows of each of these entities that has any."""
        wanted = set(entity_ids)
        if not wanted or not has_table(self.run_dir, "evidence"):
            return {}
        ev = read_table(self.run_dir, "evidence", ("entity_id", "mention_id_l", "mention_id_r",
                                                   "method", "match_probability"))
        ev = ev[ev["entity_id"].isin(wanted)].sort_values(
            ["entity_id", "mention_id_l", "mention_id_r"])
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in ev.to_dict("records"):
            rows = out[str(row["entity_id"])]
            if len(rows) < MAX_EVIDENCE:
                rows.append({k: row[k] for k in ("mention_id_l", "mention_id_r", "method",
                                                 "match_probability")})
        return dict(out)


def objects(values: Any) -> pd.Series:
    """Values as a Series of Python objects (pandas would make strings Arrow-backed, whose
    `isin` and lookups cost far more than a hash over Python strings)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_numpy(zero_copy_only=False)
    elif isinstance(values, pd.Series):
        values = values.to_numpy(dtype=object)
    return pd.Series(values, dtype=object)


def object_frame(table: pa.Table | pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """These columns of a table as a frame of Python objects (`objects`)."""
    return pd.DataFrame({c: objects(table[c]) for c in columns})


# --- what both ways read from the run's own tables ---------------------------------------------
def _risk(run_dir: Path) -> pd.DataFrame:
    risk = read_table(run_dir, "risk", ("entity_id", "score", "level"))
    return pd.DataFrame({"entity_id": objects(risk["entity_id"].astype(str)),
                         "score": risk["score"].astype(float).to_numpy(),
                         "level": objects(risk["level"].astype(str))})


def _events(run_dir: Path) -> pd.DataFrame:
    ev = read_table(run_dir, "events", EVENT_COLUMNS)
    ev = ev.dropna(subset=["entity_id"]).sort_values(["entity_id", "event_id"])
    return object_frame(ev, EVENT_COLUMNS)


def _lineage(run_dir: Path) -> pa.Table:
    columns = ("change", "entity_id", "previous_ids")
    if has_table(run_dir, "changelog"):
        return read_table_arrow(run_dir, "changelog", columns).select(list(columns))
    return pa.table({"change": pa.array([], pa.string()), "entity_id": pa.array([], pa.string()),
                     "previous_ids": pa.array([], pa.list_(pa.string()))})


def _require_risk(run_dir: Path) -> None:
    if not (run_dir / "risk.parquet").is_file():
        raise FileNotFoundError(f"{run_dir}: no risk.parquet (score the run first)")


# --- the full computation ----------------------------------------------------------------------
def _reason_paths(run_dir: Path) -> pa.Table:
    """Per entity, the (nodes, edges) paths of its stored phoenix and hub reasons, in the
    order the risk table and each entity's reasons give them."""
    risk = read_table_arrow(run_dir, "risk", ("entity_id", "reasons"))
    text = pc.fill_null(risk["reasons"], "")
    chosen = risk.filter(pc.match_substring_regex(text, '"rule": "(?:phoenix|hub)"'))
    rows: list[tuple[str, str, list[str], list[str]]] = []
    for entity, raw in zip(chosen["entity_id"].to_pylist(), chosen["reasons"].to_pylist(),
                           strict=True):
        for reason in parse_reasons(raw):
            nodes = [str(n) for n in reason.get("path_nodes") or []]
            edges = [str(e) for e in reason.get("path_edges") or []]
            rule = reason.get("rule")
            if (rule == "phoenix" and len(nodes) >= 3) or (rule == "hub" and len(nodes) >= 2):
                rows.append((str(entity), str(rule), nodes, edges))
    return pa.Table.from_pylist([dict(zip(PATH_COLUMNS, row, strict=True)) for row in rows],
                                schema=PATHS_SCHEMA)


def build_snapshot(run_dir: Path) -> RunSnapshot:
    """The snapshot of a scored run folder, derived from its tables; FileNotFoundError
    names what is missing."""
    run_dir = Path(run_dir)
    _require_risk(run_dir)
    tables = load_run(run_dir, lean=True)
    ties = pd.concat(
        [tables.rel_frames[t][["id", "src", "dst", "src_label", "dst_label"]].assign(type=t)
         for t in NETWORK_TYPES],
        ignore_index=True,
    )
    events = _events(run_dir)
    ents = tables.entities
    nodes_in = set(ents["entity_id"].astype(str))
    violating = {e for e in events["entity_id"].astype(str).tolist() if e in nodes_in}
    shown = ents[["entity_id", "kind", "name", "address_std", "phone"]]
    ties = object_frame(ties.astype(str), tuple(ties.columns))
    rels = string_table(ties, TIE_COLUMNS)
    return RunSnapshot(
        run_dir=run_dir, run_id=tables.run_id, risk=_risk(run_dir), ties=rels,
        event_rows=events, paths=_reason_paths(run_dir), ring_list=find_rings(ties, violating),
        lineage=_lineage(run_dir),
        nodes=NodeIndex(lambda: string_table(node_frame(shown), NODE_COLUMNS), rels, events),
    )


# --- the kept snapshot -------------------------------------------------------------------------
def _inputs(run_dir: Path) -> dict[str, list[int]]:
    """[size, mtime_ns] of each table a snapshot is derived from (absent ones left out)."""
    out = {}
    for name in SNAPSHOT_INPUTS:
        path = run_dir / TABLES[name].file
        if path.is_file():
            st = path.stat()
            out[TABLES[name].file] = [st.st_size, st.st_mtime_ns]
    return out


def _stamp(run_dir: Path, run_id: str) -> dict[str, Any]:
    return {"version": SNAPSHOT_VERSION, "run_id": run_id, "ring_rules": RING_RULES,
            "inputs": _inputs(run_dir)}


def write_snapshot(snap: RunSnapshot) -> Path:
    """Keep the derived parts of `snap` in `RUN/alert_snapshot/` (written beside it and
    swapped in: a reader sees the old snapshot or the new one)."""
    with staged(snap.run_dir / SNAPSHOT_DIR) as tmp:
        pq.write_table(snap.ties.select(list(TIE_COLUMNS)), tmp / "ties.parquet")
        pq.write_table(snap.paths, tmp / "paths.parquet")
        rings = pd.DataFrame([r.model_dump() for r in snap.ring_list],
                             columns=list(RING_COLUMNS))
        write_frame(rings, tmp / "rings.parquet")
        pq.write_table(snap.nodes.table().select(list(NODE_COLUMNS)), tmp / "nodes.parquet")
        (tmp / MANIFEST).write_text(json.dumps(_stamp(snap.run_dir, snap.run_id), indent=1),
                                    encoding="utf-8")
    return snap.run_dir / SNAPSHOT_DIR


def _read(folder: Path, name: str, columns: tuple[str, ...]) -> pa.Table:
    return pq.read_table(folder / f"{name}.parquet", columns=list(columns))


def _strings(table: pa.Table) -> pa.Table:
    return table.cast(pa.schema([(c, pa.string()) for c in table.column_names]))


def load_snapshot(run_dir: Path) -> RunSnapshot | None:
    """The kept snapshot of a scored run folder; None when there is none, or when it was made
    by another version or from other tables than the folder holds now."""
    run_dir = Path(run_dir)
    _require_risk(run_dir)
    folder = run_dir / SNAPSHOT_DIR
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    run_id = str(check_run(run_dir).get("run_id") or run_dir.name)
    if manifest != json.loads(json.dumps(_stamp(run_dir, run_id))):
        return None
    ties = _strings(_read(folder, "ties", TIE_COLUMNS))
    paths = _read(folder, "paths", PATH_COLUMNS).cast(PATHS_SCHEMA)
    rings = [Ring(**row) for row in _read(folder, "rings", RING_COLUMNS).to_pylist()]
    events = _events(run_dir)

    def nodes() -> pa.Table:
        return _strings(_read(folder, "nodes", NODE_COLUMNS))

    return RunSnapshot(run_dir=run_dir, run_id=run_id, risk=_risk(run_dir), ties=ties,
                       event_rows=events, paths=paths, ring_list=rings,
                       lineage=_lineage(run_dir), nodes=NodeIndex(nodes, ties, events),
                       kept=True)


def read_snapshot(run_dir: Path) -> RunSnapshot:
    """The snapshot of a scored run folder: the kept one when it is current, else derived
    from the tables; FileNotFoundError names what is missing."""
    return load_snapshot(Path(run_dir)) or build_snapshot(Path(run_dir))
