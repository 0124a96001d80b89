"""The in-memory relationship graph of one run: a networkx MultiDiGraph plus lookup indexes.

Built once from `graph.tables.RunTables`; the embedded store's queries and the risk engine both
walk it. Nodes are keyed by ID with attributes `node_label` (the schema label) and the schema's
properties; edges are keyed by relationship ID with attributes `type` and `share_pct`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from typing import Any

import networkx as nx
import pandas as pd

from graph.models import EntitySummary, Event
from graph.risk_config import RiskConfig
from graph.schema import EVENT_LABEL_BY_TYPE, NETWORK_TYPES
from graph.tables import RunTables

Neighbour = tuple[str, str, str]  # (neighbour ID, relationship ID, relationship type)
NETWORK = frozenset(NETWORK_TYPES)
NODE_LABEL = "node_label"  # node attribute holding the schema label
CONNECTOR_LABELS = frozenset({"Address", "Phone"})
ENTITY_LABELS = frozenset({"Enterprise", "Person"})
TYPE_BY_EVENT_LABEL = {v: k for k, v in EVENT_LABEL_BY_TYPE.items()}


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


class GraphIndex:
    """A run's graph with the neighbour, degree, whitelist and event lookups queries need."""

    def __init__(self, tables: RunTables, config: RiskConfig, degree_cap: int | None = None):
        self.tables = tables
        self.config = config
        self.run_id = tables.run_id
        self.degree_cap = degree_cap if degree_cap is not None else config.degree_cap
        self.g: nx.MultiDiGraph = nx.MultiDiGraph()
        for label, frame in tables.node_frames.items():
            self.g.add_nodes_from(
                (row.pop("id"), {**row, NODE_LABEL: label}) for row in _records(frame)
            )
        degree: dict[str, int] = {}
        self.edge_types: dict[str, str] = {}
        for rtype, frame in tables.rel_frames.items():
            shares = frame["share_pct"].tolist() if "share_pct" in frame else [None] * len(frame)
            self.g.add_edges_from(
                (s, d, i, {"type": rtype, "share_pct": _clean(p)})
                for i, s, d, p in zip(frame["id"], frame["src"], frame["dst"], shares, strict=True)
            )
            self.edge_types.update(dict.fromkeys(frame["id"].tolist(), rtype))
            if rtype in NETWORK:
                for col in ("src", "dst"):
                    for node, n in frame[col].value_counts().items():
                        degree[str(node)] = degree.get(str(node), 0) + int(n)
        self.degree = degree
        self.whitelist = frozenset(config.hubs_whitelist)
        self.events = self._events()
        self.violating = frozenset(e for e, evs in self.events.items() if evs)
        self.risk: dict[str, tuple[float, str]] = {}
        if tables.risk is not None:
            self.risk = {
                str(e): (float(s), str(lv))
                for e, s, lv in zip(tables.risk["entity_id"], tables.risk["score"],
                                    tables.risk["level"], strict=True)
            }

    def _events(self) -> dict[str, list[Event]]:
        out: dict[str, list[Event]] = {}
        ev = self.tables.events.sort_values(["entity_id", "event_id"])
        for row in _records(ev):
            if row["entity_id"] not in self.g:
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
    def label(self, node: str) -> str | None:
        attrs = self.g.nodes.get(node)
        return None if attrs is None else str(attrs[NODE_LABEL])

    def attrs(self, node: str) -> dict[str, Any]:
        return dict(self.g.nodes[node])

    def is_entity(self, node: str) -> bool:
        return self.label(node) in ENTITY_LABELS

    def whitelisted(self, node: str) -> bool:
        attrs = self.g.nodes.get(node)
        if attrs is None or attrs[NODE_LABEL] not in CONNECTOR_LABELS:
            return False
        keys = {node, attrs.get("address_std"), attrs.get("phone")}
        keys.discard(None)
        return bool(self.whitelist & keys)

    def blocked(self, node: str) -> bool:
        """Over the degree cap or a whitelisted hub: reached, never walked through."""
        return self.degree.get(node, 0) > self.degree_cap or self.whitelisted(node)

    def display(self, node: str) -> str:
        attrs = self.g.nodes[node]
        label = attrs[NODE_LABEL]
        if label in ENTITY_LABELS:
            return str(attrs.get("name") or node)
        if label in CONNECTOR_LABELS:
            return str(attrs.get("label") or node)
        return str(attrs.get("category") or label)

    def summary(self, node: str) -> EntitySummary:
        attrs = self.g.nodes[node]
        score, level = self.risk.get(node, (None, None))
        return EntitySummary(
            entity_id=node, kind=attrs[NODE_LABEL], name=self.display(node),
            uscc=attrs.get("uscc"), customs_code=attrs.get("customs_code"),
            id_number=attrs.get("id_number"), risk_level=level, risk_score=score,  # type: ignore[arg-type]
        )

    # --- relationships -------------------------------------------------------------------
    def neighbours(self, node: str, types: frozenset[str] = NETWORK) -> list[Neighbour]:
        """Neighbours over `types` in either direction, sorted by (neighbour ID, edge ID)."""
        out: list[Neighbour] = []
        for nbr, edges in self.g.succ[node].items():
            out.extend((nbr, k, a["type"]) for k, a in edges.items() if a["type"] in types)
        for nbr, edges in self.g.pred[node].items():
            out.extend((nbr, k, a["type"]) for k, a in edges.items() if a["type"] in types)
        out.sort()
        return out

    def out_edges(self, node: str, rel_type: str) -> list[tuple[str, str, float | None]]:
        """(dst, edge ID, share_pct) of outgoing `rel_type` edges, sorted."""
        return sorted(
            (dst, k, a.get("share_pct"))
            for dst, edges in self.g.succ[node].items()
            for k, a in edges.items()
            if a["type"] == rel_type
        )

    def in_edges(self, node: str, rel_type: str) -> list[tuple[str, str, float | None]]:
        """(src, edge ID, share_pct) of incoming `rel_type` edges, sorted."""
        return sorted(
            (src, k, a.get("share_pct"))
            for src, edges in self.g.pred[node].items()
            for k, a in edges.items()
            if a["type"] == rel_type
        )

    def nodes_with_label(self, label: str) -> list[str]:
        return sorted(n for n, a in self.g.nodes(data=True) if a[NODE_LABEL] == label)
