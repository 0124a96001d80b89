"""The in-memory graph of one run: a NetworkX `MultiDiGraph` of its relationships, with the
node and relationship properties in compact arrays beside it.

Built once from `graph.tables.RunTables`; the embedded store's queries walk it. Memory shapes the
layout (a large run has ~560k nodes and ~800k relationships):
- nodes are numbered in ID order (`ids`, `pos`); each node's label is a small int and its
  properties live in one Arrow table per label (materialised per node on demand), with the
  display text kept as a Python list because every answer needs it;
- relationships are numbered in ID order (`edge_ids`), with an int8 array of types and a
  float array of share_pct indexed by that number;
- `graph` holds the topology: a `networkx.MultiDiGraph` whose nodes are the node numbers and
  whose edges run source -> target keyed by the relationship number, with no edge data (the
  type and share_pct stay in the arrays). Edges are added in (source ID, target ID,
  relationship ID) order, so every adjacency answer is in (neighbour ID, relationship ID)
  order, as the store's orderings require.
Provenance (`mention_ids`, `run_id`) is not kept: no read of the store answers with it.
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graph.models import EntitySummary, Event
from graph.policy import WalkPolicy, degree_cap_of, whitelist_of
from graph.schema import NETWORK_TYPES, NODE_TYPES, REL_TYPES
from graph.tables import RunTables

_NO_DATE = np.iinfo(np.int32).min
_EPOCH = date(1970, 1, 1)


def _days(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A date column as int32 days since 1970-01-01 (_NO_DATE where missing or unreadable)."""
    if column not in frame:
        return np.full(len(frame), _NO_DATE, dtype=np.int32)
    stamps = pd.to_datetime(frame[column], errors="coerce")
    days = (stamps - pd.Timestamp(_EPOCH)).dt.days
    return days.fillna(_NO_DATE).to_numpy(dtype=np.int64).astype(np.int32)


Neighbour = tuple[str, str, str]  # (neighbour ID, relationship ID, relationship type)
NETWORK = frozenset(NETWORK_TYPES)
CONNECTOR_LABELS = frozenset({"Address", "Phone"})
ENTITY_LABELS = frozenset({"Enterprise", "Person"})
LABELS: tuple[str, ...] = tuple(NODE_TYPES)
TYPES: tuple[str, ...] = tuple(REL_TYPES)
_TYPE_CODE = {t: i for i, t in enumerate(TYPES)}
_DROPPED = ("id", "mention_ids", "run_id")
_RISK_LEVELS: tuple[str, ...] = ("low", "medium", "high")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    return value


def _records(frame: pd.DataFrame) -> Iterable[dict[str, Any]]:
    cols = list(frame.columns)
    for values in zip(*(frame[c].tolist() for c in cols), strict=True):
        yield {c: _clean(v) for c, v in zip(cols, values, strict=True)}


def _arrow_columns(frame: pd.DataFrame) -> dict[str, pa.Array]:
    """The node properties of one label's frame as Arrow arrays (row i = frame row i)."""
    cols = [c for c in frame.columns if c not in _DROPPED]
    if frame.empty:
        return {c: pa.nulls(0) for c in cols}
    # the system allocator: these long-lived buffers get their own pages instead of pinning
    # Arrow's pool (which the build's transient frames filled) in memory
    pool = pa.system_memory_pool()
    table = pa.Table.from_pandas(frame[cols], preserve_index=False).combine_chunks(pool)
    return {c: table.column(c).chunk(0) if table.column(c).num_chunks else pa.nulls(0)
            for c in cols}


class RunNetwork:
    """A run's graph with the neighbour, degree, whitelist and event lookups queries need."""

    def __init__(self, tables: RunTables, policy: WalkPolicy | None = None,
                 degree_cap: int | None = None):
        self.run_id = tables.run_id
        self.degree_cap = degree_cap_of(policy, degree_cap)
        self.whitelist = frozenset(whitelist_of(policy))
        self._build_nodes(tables.node_frames)
        tables.__dict__.pop("node_frames", None)
        self._build_edges(tables.rel_frames)
        tables.__dict__.pop("rel_frames", None)
        tables._cache.clear()
        self.events = self._events(tables.events)
        self.violating = frozenset(e for e, evs in self.events.items() if evs)
        n = len(self.ids)
        self._score = np.full(n, np.nan, dtype=np.float64)
        self._level = np.full(n, -1, dtype=np.int8)
        self._level_names: list[str] = list(_RISK_LEVELS)
        if tables.risk is not None:
            for e, s, lv in zip(tables.risk["entity_id"].tolist(), tables.risk["score"].tolist(),
                                tables.risk["level"].tolist(), strict=True):
                p = self.pos.get(str(e))
                if p is None:
                    continue
                if str(lv) not in self._level_names:
                    self._level_names.append(str(lv))
                self._score[p] = float(s)
                self._level[p] = self._level_names.index(str(lv))
        # the learned score where it is shipped (risk/learned_run.py): NaN / -1 without one
        self._learned = np.full(n, np.nan, dtype=np.float64)
        self._learned_level = np.full(n, -1, dtype=np.int8)
        risk = tables.risk
        if risk is not None and "learned_score" in risk.columns:
            has = risk["learned_score"].notna() & risk["learned_level"].notna()
            for e, s, lv in zip(risk.loc[has, "entity_id"].tolist(),
                                risk.loc[has, "learned_score"].tolist(),
                                risk.loc[has, "learned_level"].tolist(), strict=True):
                p = self.pos.get(str(e))
                if p is None:
                    continue
                if str(lv) not in self._level_names:
                    self._level_names.append(str(lv))
                self._learned[p] = float(s)
                self._learned_level[p] = self._level_names.index(str(lv))
        self._blocked = self._degree > self.degree_cap
        if self.whitelist:  # empty by default: no connector needs reading
            connectors = [LABELS.index(lb) for lb in CONNECTOR_LABELS]
            for q in np.flatnonzero(np.isin(self._lab, connectors)).tolist():
                if self._whitelisted_pos(q):
                    self._blocked[q] = True

    # --- build ---------------------------------------------------------------------------
    def _build_nodes(self, frames: dict[str, pd.DataFrame]) -> None:
        ids, labs, rows = [], [], []
        self._cols: dict[int, dict[str, pa.Array]] = {}
        for label, frame in frames.items():
            code = LABELS.index(label)
            ids.append(pa.array(frame["id"], type=pa.string(), from_pandas=True))
            labs.append(np.full(len(frame), code, dtype=np.int8))
            rows.append(np.arange(len(frame), dtype=np.int32))
            self._cols[code] = _arrow_columns(frame)
        all_ids = pa.concat_arrays(ids) if ids else pa.array([], type=pa.string())
        order = pc.sort_indices(all_ids).to_numpy()
        self._id_array = all_ids.take(pa.array(order))
        self.ids: list[str] = self._id_array.to_pylist()
        self.pos: dict[str, int] = {node: i for i, node in enumerate(self.ids)}
        self._lab = np.concatenate(labs)[order] if labs else np.zeros(0, np.int8)
        self._row = np.concatenate(rows)[order] if rows else np.zeros(0, np.int32)
        self._display: list[str] = [self._display_text(p) for p in range(len(self.ids))]

    def positions(self, ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Node positions of an array of IDs (-1 for unknown or null IDs), vectorised."""
        found = pc.index_in(ids, value_set=self._id_array)
        return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)

    def _display_text(self, p: int) -> str:
        label = LABELS[self._lab[p]]
        field = "name" if label in ENTITY_LABELS else (
            "label" if label in CONNECTOR_LABELS else "category")
        value = self._value(p, field)
        if value:
            return str(value)
        return self.ids[p] if label in ENTITY_LABELS or label in CONNECTOR_LABELS else label

    def _build_edges(self, frames: dict[str, pd.DataFrame]) -> None:
        eids, src, dst, typ, share, start = [], [], [], [], [], []
        for rtype, frame in frames.items():
            ps = self.positions(pa.array(frame["src"], type=pa.string(), from_pandas=True))
            pd_ = self.positions(pa.array(frame["dst"], type=pa.string(), from_pandas=True))
            keep = (ps >= 0) & (pd_ >= 0)
            eids.append(pa.array(frame["id"], type=pa.string(), from_pandas=True)
                        .filter(pa.array(keep)))
            src.append(ps[keep])
            dst.append(pd_[keep])
            typ.append(np.full(int(keep.sum()), _TYPE_CODE[rtype], dtype=np.int8))
            if "share_pct" in frame:
                pct = pd.to_numeric(frame["share_pct"], errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan)
            else:
                pct = np.full(len(frame), np.nan)
            share.append(pct[keep])
            start.append(_days(frame, "start_date")[keep])
        all_ids = pa.concat_arrays(eids) if eids else pa.array([], type=pa.string())
        order = pc.sort_indices(all_ids).to_numpy()
        self.edge_ids: list[str] = all_ids.take(pa.array(order)).to_pylist()

        def ordered(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts).astype(dtype)[order] if parts else np.zeros(0, dtype)

        source = ordered(src, np.int64)
        target = ordered(dst, np.int64)
        self._typ = ordered(typ, np.int8)
        self._share = ordered(share, np.float64)
        self._start = ordered(start, np.int32)  # days since 1970-01-01, _NO_DATE when unset
        self._type_code = self._typ.tobytes()  # the same codes, for fast per-edge lookups
        n, m = len(self.ids), len(self.edge_ids)
        # topology only: nodes are positions, edges are keyed by relationship position and
        # carry no data; added in (source, target, relationship) order so each node's
        # successor and predecessor dicts are already in (neighbour ID, relationship ID) order
        graph = nx.MultiDiGraph()
        nodes = list(range(n))  # one int object per node, shared by every adjacency dict
        by_pair = np.lexsort((np.arange(m), target, source))
        # millions of small dicts: without the cyclic collector re-scanning them as they grow
        # (none of them can form a garbage cycle while being added)
        collecting = gc.isenabled()
        gc.disable()
        try:
            graph.add_nodes_from(nodes)
            graph.add_edges_from(
                (nodes[u], nodes[v], k) for u, v, k in zip(
                    source[by_pair].tolist(), target[by_pair].tolist(), by_pair.tolist(),
                    strict=True))
        finally:
            if collecting:
                gc.enable()
        self.graph: nx.MultiDiGraph = graph
        net = np.isin(self._typ, [_TYPE_CODE[t] for t in NETWORK])
        self._degree = (np.bincount(source[net], minlength=n)
                        + np.bincount(target[net], minlength=n)).astype(np.int64)

    def _events(self, events: pd.DataFrame) -> dict[str, list[Event]]:
        out: dict[str, list[Event]] = {}
        ev = events.sort_values(["entity_id", "event_id"])
        for row in _records(ev):
            if row["entity_id"] not in self.pos:
                continue
            out.setdefault(row["entity_id"], []).append(Event(
                event_id=row["event_id"], type=row["type"], date=row["date"],
                category=row["category"], amount=row["amount"], description=row["description"],
                source=row["source"], record_id=row["record_id"],
            ))
        for evs in out.values():
            evs.sort(key=lambda e: e.event_id)
            evs.sort(key=lambda e: e.date or date.min, reverse=True)
        return out

    # --- nodes ---------------------------------------------------------------------------
    def __contains__(self, node: object) -> bool:
        return node in self.pos

    @property
    def n_nodes(self) -> int:
        return len(self.ids)

    @property
    def n_edges(self) -> int:
        return len(self.edge_ids)

    def _value(self, p: int, name: str) -> Any:
        arr = self._cols[int(self._lab[p])].get(name)
        return None if arr is None else _clean(arr[int(self._row[p])].as_py())

    def label(self, node: str) -> str | None:
        p = self.pos.get(node)
        return None if p is None else LABELS[self._lab[p]]

    def attr(self, node: str, name: str) -> Any:
        """One property of a node (None when unset or unknown)."""
        p = self.pos.get(node)
        return None if p is None else self._value(p, name)

    def attrs(self, node: str) -> dict[str, Any]:
        """The node's properties (schema order, provenance left out)."""
        p = self.pos[node]
        row = int(self._row[p])
        cols = self._cols[int(self._lab[p])]
        return {name: _clean(arr[row].as_py()) for name, arr in cols.items()}

    def is_entity(self, node: str) -> bool:
        return self.label(node) in ENTITY_LABELS

    def _whitelisted_pos(self, p: int) -> bool:
        label = LABELS[self._lab[p]]
        if label not in CONNECTOR_LABELS:
            return False
        keys = {self.ids[p], self._value(p, "address_std"), self._value(p, "phone")}
        keys.discard(None)
        return bool(self.whitelist & keys)

    def whitelisted(self, node: str) -> bool:
        p = self.pos.get(node)
        return False if p is None else self._whitelisted_pos(p)

    def degree(self, node: str) -> int:
        p = self.pos.get(node)
        return 0 if p is None else int(self._degree[p])

    def blocked(self, node: str) -> bool:
        """Over the degree cap or a whitelisted hub: reached, never walked through."""
        p = self.pos.get(node)
        return False if p is None else bool(self._blocked[p])

    def display(self, node: str) -> str:
        return self._display[self.pos[node]]

    def risk_of(self, node: str) -> tuple[float | None, str | None]:
        """(score, level) stored for the node, (None, None) without one."""
        p = self.pos.get(node)
        if p is None or self._level[p] < 0:
            return None, None
        return float(self._score[p]), self._level_names[self._level[p]]

    def learned_of(self, node: str) -> tuple[float | None, str | None]:
        """(learned score, its level) stored for the node, (None, None) without one."""
        p = self.pos.get(node)
        if p is None or self._learned_level[p] < 0:
            return None, None
        return float(self._learned[p]), self._level_names[self._learned_level[p]]

    # --- worklist arrays (graph.embedded.worklist) ----------------------------------------
    @property
    def score_array(self) -> np.ndarray:
        """Stored score per position (NaN without one)."""
        return self._score

    @property
    def learned_array(self) -> np.ndarray:
        """Stored learned score per position (NaN without one)."""
        return self._learned

    @property
    def learned_level_array(self) -> np.ndarray:
        """Stored learned level code per position (-1 without one; see level_code)."""
        return self._learned_level

    @property
    def level_array(self) -> np.ndarray:
        """Stored level code per position (-1 without one; see level_code)."""
        return self._level

    @property
    def label_array(self) -> np.ndarray:
        """Label code per position (an index into LABELS)."""
        return self._lab

    def level_code(self, level: str) -> int:
        return self._level_names.index(level) if level in self._level_names else -1

    def scored_positions(self) -> np.ndarray:
        """Positions of the nodes with a stored score, ascending (= entity ID order)."""
        return np.flatnonzero(self._level >= 0)

    def value_at(self, p: int, name: str) -> Any:
        """One property of the node at position `p` (None when unset)."""
        return self._value(p, name)

    def summary(self, node: str) -> EntitySummary:
        p = self.pos[node]
        score, level = self.risk_of(node)
        return EntitySummary(
            entity_id=node, kind=LABELS[self._lab[p]], name=self._display[p],  # type: ignore[arg-type]
            uscc=self._value(p, "uscc"), customs_code=self._value(p, "customs_code"),
            id_number=self._value(p, "id_number"), risk_level=level, risk_score=score,  # type: ignore[arg-type]
            violating=node in self.violating,
        )

    def nodes_with_label(self, label: str) -> list[str]:
        """Node IDs of one label, sorted."""
        code = LABELS.index(label)
        return [self.ids[p] for p in np.flatnonzero(self._lab == code).tolist()]

    def label_columns(self, label: str, names: tuple[str, ...]
                      ) -> tuple[list[int], dict[str, list[Any]]]:
        """Positions of the nodes of one label in ID order, and the named properties of
        each (Python values, None when unset), aligned with the positions."""
        code = LABELS.index(label)
        positions = np.flatnonzero(self._lab == code)
        rows = pa.array(self._row[positions])
        cols = self._cols.get(code, {})
        out = {n: [_clean(v) for v in cols[n].take(rows).to_pylist()] if n in cols
               else [None] * len(positions) for n in names}
        return positions.tolist(), out

    # --- relationships -------------------------------------------------------------------
    def edge_type(self, edge: str) -> str:
        i = bisect_left(self.edge_ids, edge)
        if i == len(self.edge_ids) or self.edge_ids[i] != edge:
            raise KeyError(edge)
        return TYPES[self._typ[i]]

    def _half(self, p: int) -> list[tuple[int, int, int]]:
        """(neighbour, relationship, 0 outgoing / 1 incoming) of every relationship at node
        position `p`, sorted by (neighbour ID, relationship ID); a self-loop appears twice."""
        half = [(v, k, 0) for v, keys in self.graph.succ[p].items() for k in keys]
        half.extend((u, k, 1) for u, keys in self.graph.pred[p].items() for k in keys)
        half.sort()  # two presorted runs: a linear merge
        return half

    def start_date(self, edge: str) -> str | None:
        """The relationship's start date (ISO) or None."""
        i = bisect_left(self.edge_ids, edge)
        if i == len(self.edge_ids) or self.edge_ids[i] != edge:
            raise KeyError(edge)
        days = int(self._start[i])
        return None if days == _NO_DATE else (_EPOCH + timedelta(days=days)).isoformat()

    def _pct(self, e: int) -> float | None:
        pct = float(self._share[e])
        return None if math.isnan(pct) else pct

    def neighbours(self, node: str, types: frozenset[str] = NETWORK) -> list[Neighbour]:
        """Neighbours over `types` in either direction, sorted by (neighbour ID, edge ID)."""
        ids, eids, code = self.ids, self.edge_ids, self._type_code
        return [(ids[n], eids[e], TYPES[code[e]]) for n, e, _ in self._half(self.pos[node])
                if TYPES[code[e]] in types]

    def _directed(self, node: str, rel_type: str, out: bool
                  ) -> list[tuple[str, str, float | None]]:
        p = self.pos[node]
        adj = self.graph.succ[p] if out else self.graph.pred[p]
        want, code = _TYPE_CODE[rel_type], self._type_code
        found = [(self.ids[n], self.edge_ids[e], self._pct(e))
                 for n, keys in adj.items() for e in keys if code[e] == want]
        found.sort()
        return found

    def out_edges(self, node: str, rel_type: str) -> list[tuple[str, str, float | None]]:
        """(dst, edge ID, share_pct) of outgoing `rel_type` edges, sorted."""
        return self._directed(node, rel_type, True)

    def in_edges(self, node: str, rel_type: str) -> list[tuple[str, str, float | None]]:
        """(src, edge ID, share_pct) of incoming `rel_type` edges, sorted."""
        return self._directed(node, rel_type, False)

    def edges_from(self, node: str) -> list[tuple[str, str, str, float | None]]:
        """(dst, edge ID, type, share_pct) of every outgoing edge, by (dst ID, edge ID)."""
        pairs = sorted((n, e) for n, keys in self.graph.succ[self.pos[node]].items()
                       for e in keys)
        code = self._type_code
        return [(self.ids[n], self.edge_ids[e], TYPES[code[e]], self._pct(e)) for n, e in pairs]

    def edges_of_type(self, rel_type: str) -> Iterator[tuple[str, str, str, float | None]]:
        """(src, dst, edge ID, share_pct) of every `rel_type` edge, by edge ID."""
        want, code = _TYPE_CODE[rel_type], self._type_code
        found = sorted((e, u, v) for u, v, e in self.graph.edges(keys=True) if code[e] == want)
        for e, u, v in found:
            yield self.ids[u], self.ids[v], self.edge_ids[e], self._pct(e)
