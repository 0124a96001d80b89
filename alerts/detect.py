"""Compare a run with the previous one and raise an alert only for new material risk.

Entities of the previous run are followed to the new run through the changelog's lineage
(`previous_ids`); a new entity's "before" is the worst of its predecessors (none: no score,
level low). The conditions (each one alert, keyed by kind + subject + condition):
- level_rise: the subject's level is above its before level and its score rose by at least
  MIN_SCORE_RISE points (a score hovering at a level boundary does not flap; a new entity
  counts from 0) (condition: the new level).
- new_path: a network relationship the previous run did not have (type, src, dst after
  lineage) ties the subject directly to a violating or blacklisted entity, or to an Address /
  Phone tying no more than CONNECTOR_CAP entities, one of which violates; the subject was not
  so tied to that entity before (condition: the violating entity).
- new_phoenix: the subject's stored phoenix reasons name a predecessor they did not name
  before (condition: the predecessor).
- new_hub: the subject's stored hub reasons name a hub they did not name before (condition:
  the hub).
- new_ring: the subject belongs to a ring (the catalogue's `rings`: enterprises tied by shared
  controllers, addresses or phones, at least two of them violating) and none of its
  predecessors belonged to one (condition: "ring"; a member joining a ring once is one alert).
- lineage: a watched entity (by a previous or new ID) was merged or split (condition: the
  change and the sorted previous IDs).
A condition whose key is in `seen` (already alerted) is not raised again.

Each alert carries its before / after graph: the relationships among its path nodes (and a
level rise's new events) in the new run, and among their predecessors in the previous run;
an after edge the previous run did not have (ends followed by lineage) is marked new.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alerts.models import (
    LEVEL_RANK,
    Alert,
    AlertEdge,
    AlertGraph,
    AlertKind,
    AlertNode,
    Change,
    alert_key,
)
from alerts.snapshot import RunSnapshot

MIN_SCORE_RISE = 2.0  # score points a level rise must also gain to be material
CONNECTOR_CAP = 10  # a shared address / phone tying more entities is a hub, not a path


@dataclass
class Lineage:
    """Previous IDs of each new entity, and the change the changelog records."""

    previous: dict[str, list[str]]
    change: dict[str, str]
    new_of: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, snap: RunSnapshot, old: RunSnapshot) -> Lineage:
        previous: dict[str, list[str]] = {}
        change: dict[str, str] = {}
        for kind, entity, prev in zip(snap.lineage["change"], snap.lineage["entity_id"],
                                      snap.lineage["previous_ids"], strict=True):
            ids = [str(p) for p in prev] if prev is not None else []
            previous[str(entity)] = ids
            change[str(entity)] = str(kind)
        for entity in snap.level:  # no changelog row: the same ID if the old run had it
            if entity not in previous and entity in old.level:
                previous[entity] = [entity]
        new_of: dict[str, list[str]] = defaultdict(list)
        for entity, prev in previous.items():
            for p in prev:
                new_of[p].append(entity)
        return cls(previous=previous, change=change, new_of=dict(new_of))

    def forward(self, old_id: str) -> list[str]:
        """New IDs of an old node (connectors and unknown IDs keep theirs)."""
        return self.new_of.get(old_id, [old_id])


@dataclass
class Comparison:
    new: RunSnapshot
    old: RunSnapshot
    lineage: Lineage

    def before(self, entity: str) -> tuple[float | None, str]:
        scores = [self.old.score[p] for p in self.lineage.previous.get(entity, [])
                  if p in self.old.score]
        levels = [self.old.level[p] for p in self.lineage.previous.get(entity, [])
                  if p in self.old.level]
        level = max(levels, key=lambda lv: LEVEL_RANK.get(lv, 0)) if levels else "low"
        return (max(scores) if scores else None), level

    def old_set(self, entity: str, index: dict[str, list[tuple[list[str], list[str]]]],
                at: int) -> set[str]:
        """Node `at` of the old paths of `entity`'s predecessors, forwarded to new IDs."""
        out: set[str] = set()
        for p in self.lineage.previous.get(entity, []):
            for nodes, _ in index.get(p, []):
                out.update(self.lineage.forward(nodes[at]))
        return out

    def predecessors(self, node: str) -> list[str]:
        """The node's IDs in the previous run (lineage for entities; connectors and events
        keep theirs when the previous run had them)."""
        prev = self.lineage.previous.get(node)
        if prev is not None:
            return prev
        known = self.old.nodes
        return [node] if known is not None and node in known else []

    def graphs(self, nodes: list[str], path_edges: list[str]) -> tuple[AlertGraph, AlertGraph]:
        """The before and after graphs of these (new run) nodes."""
        after_ids = list(dict.fromkeys(nodes))
        wanted = set(after_ids)
        before_nodes: dict[str, AlertNode] = {}
        for n in after_ids:
            for p in self.predecessors(n):
                if p not in before_nodes:
                    node = _node(self.old, p)
                    node.ids_after = [f for f in self.lineage.forward(p) if f in wanted]
                    before_nodes[p] = node
        before_edges = _edges_among(self.old, list(before_nodes))
        known = {(e.type, s, d) for e in before_edges for s in self.lineage.forward(e.src)
                 for d in self.lineage.forward(e.dst)}
        continued = {f for node in before_nodes.values() for f in node.ids_after}
        after_nodes = []
        for n in after_ids:
            node = _node(self.new, n)
            node.new = n not in continued
            after_nodes.append(node)
        on_path = set(path_edges)
        after_edges = _edges_among(self.new, after_ids)
        for e in after_edges:
            e.new = (e.type, e.src, e.dst) not in known
            e.on_path = e.id in on_path
        return (AlertGraph(nodes=list(before_nodes.values()), edges=before_edges),
                AlertGraph(nodes=after_nodes, edges=after_edges))

    def alert(self, kind: AlertKind, entity: str, condition: str, summary: str,
              change: Change) -> Alert:
        score_before, level_before = self.before(entity)
        change.previous_ids = self.lineage.previous.get(entity, [])
        extra = change.event_ids if kind == "level_rise" else []
        change.before, change.after = self.graphs([*change.path_nodes, *extra],
                                                  change.path_edges)
        merged = [n for n in change.path_nodes if self.lineage.change.get(n) == "merged"]
        if kind == "lineage":
            merged = [entity]
        if merged:
            change.evidence = self.new.evidence(merged)
        return Alert(
            alert_key=alert_key(kind, entity, condition), kind=kind, entity_id=entity,
            condition=condition, run_id=self.new.run_id, previous_run_id=self.old.run_id,
            score_before=score_before, score_after=self.new.score.get(entity),
            level_before=level_before if score_before is not None else None,
            level_after=self.new.level.get(entity), summary=summary, change=change,
        )


def _node(snap: RunSnapshot, node: str) -> AlertNode:
    kind, label = snap.nodes.show(node) if snap.nodes is not None else ("", node)
    return AlertNode(id=node, kind=kind, label=label, level=snap.level.get(node),
                     score=snap.score.get(node), violating=node in snap.events)


def _edges_among(snap: RunSnapshot, nodes: list[str]) -> list[AlertEdge]:
    """Every relationship of the run between two of these nodes, by source, target and
    relationship ID."""
    if snap.nodes is None:
        return []
    return [AlertEdge(id=i, type=t, src=a, dst=b) for i, t, a, b in snap.nodes.edges_among(nodes)]


def _level_rises(c: Comparison) -> Iterable[Alert]:
    for entity, level in c.new.level.items():
        score_before, before = c.before(entity)
        gain = c.new.score.get(entity, 0.0) - (score_before or 0.0)
        if LEVEL_RANK.get(level, 0) > LEVEL_RANK.get(before, 0) and gain >= MIN_SCORE_RISE:
            old_events = {e for p in c.lineage.previous.get(entity, [])
                          for e, _ in c.old.events.get(p, [])}
            fresh = [e for e, _ in c.new.events.get(entity, []) if e not in old_events]
            yield c.alert("level_rise", entity, level, f"risk level {before} → {level}",
                          Change(path_nodes=[entity], event_ids=fresh))


class Adjacency:
    """node -> [(other end, relationship ID, type)] over both directions of the ties, as
    sorted arrays searched per node (no per-node lists built for the whole run)."""

    def __init__(self, ties: pd.DataFrame) -> None:
        node = np.concatenate([ties["src"].to_numpy(dtype=str), ties["dst"].to_numpy(dtype=str)])
        other = np.concatenate([ties["dst"].to_numpy(dtype=str),
                                ties["src"].to_numpy(dtype=str)])
        rid = np.tile(ties["id"].to_numpy(dtype=str), 2)
        rtype = np.tile(ties["type"].to_numpy(dtype=str), 2)
        order = np.argsort(node, kind="stable")
        self._node, self._other = node[order], other[order]
        self._rid, self._type = rid[order], rtype[order]

    def get(self, node: str, default: Iterable[tuple[str, str, str]] = ()
            ) -> list[tuple[str, str, str]]:
        lo = int(np.searchsorted(self._node, node, side="left"))
        hi = int(np.searchsorted(self._node, node, side="right"))
        if lo == hi:
            return list(default)
        return list(zip(self._other[lo:hi].tolist(), self._rid[lo:hi].tolist(),
                        self._type[lo:hi].tolist(), strict=True))


def _forwarded(c: Comparison, ids: pd.Series) -> pd.DataFrame:
    """(old, new) pairs: each old ID with each of its new IDs (`Lineage.forward`)."""
    pairs = [(o, n) for o, news in c.lineage.new_of.items() for n in news]
    mapping = pd.DataFrame(pairs, columns=["old", "new"]) if pairs else pd.DataFrame(
        {"old": pd.Series(dtype=str), "new": pd.Series(dtype=str)})
    wanted = pd.DataFrame({"old": ids.astype(str).unique()})
    out = wanted.merge(mapping, on="old", how="left")
    out["new"] = out["new"].fillna(out["old"])
    return out


def _targets(adj: Adjacency, subject: str, other: str, rid: str,
             rtype: str, violating: set[str]) -> list[tuple[str, list[str], list[str],
                                                        list[str]]]:
    """(violating target, nodes, edges, types) reached from `subject` over its tie to `other`."""
    if other in violating:
        return [(other, [subject, other], [rid], [rtype])]
    if other[:1] not in ("A", "T") or len(adj.get(other, [])) > CONNECTOR_CAP:
        return []
    return [(v, [subject, other, v], [rid, r2], [rtype, t2])
            for v, r2, t2 in sorted(adj.get(other, [])) if v != subject and v in violating]


def _old_reach(c: Comparison, adj_old: Adjacency,
               entity: str) -> set[str]:
    """Violating entities the subject's predecessors were tied to (directly or through a
    small connector), forwarded to new IDs."""
    out: set[str] = set()
    for p in c.lineage.previous.get(entity, []):
        for other, rid, rtype in adj_old.get(p, []):
            for target, *_ in _targets(adj_old, p, other, rid, rtype, c.old.violating):
                out.update(c.lineage.forward(target))
    return out


def _new_paths(c: Comparison) -> Iterable[Alert]:
    old = c.old.ties[["type", "src", "dst"]].astype(str)
    fwd = _forwarded(c, pd.concat([old["src"], old["dst"]], ignore_index=True))
    known = (old.merge(fwd.rename(columns={"old": "src", "new": "src_new"}), on="src")
             .merge(fwd.rename(columns={"old": "dst", "new": "dst_new"}), on="dst")
             [["type", "src_new", "dst_new"]]
             .rename(columns={"src_new": "src", "dst_new": "dst"}).drop_duplicates())
    keys = c.new.ties[["type", "src", "dst"]].astype(str)
    seen = keys.merge(known.assign(_known=True), on=["type", "src", "dst"], how="left")
    fresh = c.new.ties[seen["_known"].isna().to_numpy()]
    if fresh.empty:
        return
    adj = Adjacency(c.new.ties)
    adj_old = Adjacency(c.old.ties)
    violating = c.new.violating
    blacklisted = c.new.blacklisted
    found: dict[tuple[str, str], tuple[list[str], list[str], list[str]]] = {}
    for rid, rtype, src, dst in zip(fresh["id"], fresh["type"], fresh["src"], fresh["dst"],
                                    strict=True):
        for subject, other in ((str(src), str(dst)), (str(dst), str(src))):
            if subject not in c.new.level:
                continue
            for target, nodes, edges, types in _targets(adj, subject, other, str(rid),
                                                        str(rtype), violating):
                found.setdefault((subject, target), (nodes, edges, types))
    reach: dict[str, set[str]] = {}
    for (subject, target), (nodes, edges, types) in sorted(found.items()):
        if subject not in reach:
            reach[subject] = _old_reach(c, adj_old, subject)
        if target in reach[subject]:
            continue
        what = "blacklisted" if target in blacklisted else "violating"
        yield c.alert("new_path", subject, target,
                      f"new path to {what} {target} via {' → '.join(types)}",
                      Change(path_nodes=nodes, path_edges=edges, path_types=types,
                             event_ids=[e for e, _ in c.new.events.get(target, [])],
                             detail={"target": target, "target_blacklisted":
                                     target in blacklisted}))


def _new_reasons(c: Comparison, kind: AlertKind) -> Iterable[Alert]:
    index = c.new.phoenix if kind == "new_phoenix" else c.new.hubs
    old_index = c.old.phoenix if kind == "new_phoenix" else c.old.hubs
    at = -1 if kind == "new_phoenix" else 1
    for entity in sorted(index):
        before = c.old_set(entity, old_index, at)
        for nodes, edges in index[entity]:
            if nodes[at] in before:
                continue
            before.add(nodes[at])
            summary = (f"new phoenix successor of {nodes[at]}" if kind == "new_phoenix"
                       else f"newly at hub {nodes[at]}")
            events = [e for e, _ in c.new.events.get(nodes[at], [])]
            yield c.alert(kind, entity, nodes[at], summary,
                          Change(path_nodes=nodes, path_edges=edges, event_ids=events))


def _new_rings(c: Comparison) -> Iterable[Alert]:
    for entity, ring in sorted(c.new.rings.items()):
        if any(p in c.old.rings for p in c.lineage.previous.get(entity, [])):
            continue
        others = [m for m in ring.enterprises if m != entity]
        violating = [m for m in others if m in c.new.violating]
        yield c.alert("new_ring", entity, "ring",
                      f"now in ring {ring.ring_id} of {ring.size} enterprises "
                      f"({ring.n_violating} violating)",
                      Change(path_nodes=[entity, *ring.connectors, *others],
                             event_ids=[e for v in violating for e, _ in c.new.events.get(v, [])],
                             detail={"ring_id": ring.ring_id, "enterprises": ring.enterprises,
                                     "connectors": ring.connectors,
                                     "n_violating": ring.n_violating}))


def _lineage(c: Comparison, watched: set[str]) -> Iterable[Alert]:
    for entity, change in sorted(c.lineage.change.items()):
        if change not in ("merged", "split"):
            continue
        prev = sorted(c.lineage.previous.get(entity, []))
        if entity not in watched and watched.isdisjoint(prev):
            continue
        yield c.alert("lineage", entity, f"{change}:{','.join(prev)}",
                      f"watched entity {change}: {', '.join(prev)} → {entity}",
                      Change(path_nodes=[entity], detail={"change": change}))


def compare(new: RunSnapshot, old: RunSnapshot, watched: Iterable[str] = (),
            seen: Iterable[str] = ()) -> list[Alert]:
    """The alerts of `new` against `old` not already in `seen` (alert keys), ordered by
    kind, entity ID, condition."""
    c = Comparison(new=new, old=old, lineage=Lineage.of(new, old))
    raised: dict[str, Alert] = {}
    for alerts in (_level_rises(c), _new_paths(c), _new_reasons(c, "new_phoenix"),
                   _new_reasons(c, "new_hub"), _new_rings(c), _lineage(c, set(watched))):
        for a in alerts:
            raised.setdefault(a.alert_key, a)
    done = set(seen)
    out = [a for a in raised.values() if a.alert_key not in done]
    return sorted(out, key=lambda a: (a.kind, a.entity_id, a.condition))
