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

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
from alerts.network import string_table, ties_touching
from alerts.snapshot import RunSnapshot, object_frame, objects

MIN_SCORE_RISE = 2.0  # score points a level rise must also gain to be material
CONNECTOR_CAP = 10  # a shared address / phone tying more entities is a hub, not a path


@dataclass
class Lineage:
    """Previous IDs of each new entity, and the change the changelog records of the entities
    merged or split (`change`). `pairs` (new, old) holds every new entity with each of its
    previous IDs: the changelog's, then the same ID for an entity of both runs without a
    changelog row. Most entities are kept under their own ID (`kept`); only the others'
    lists are held (`other`, `new_of`)."""

    pairs: pd.DataFrame
    kept: set[str]  # new IDs whose only previous ID is their own
    other: dict[str, list[str]]  # previous IDs of every other new ID the lineage lists
    new_of: dict[str, list[str]]  # new IDs of each old ID not simply kept
    change: dict[str, str]

    @classmethod
    def of(cls, snap: RunSnapshot, old: RunSnapshot) -> Lineage:
        log = snap.lineage
        logged = objects(log["entity_id"])
        last = np.ones(len(logged), dtype=bool)
        if len(pc.unique(log["entity_id"])) < len(logged):  # repeated rows: the last one holds
            last = ~logged.duplicated(keep="last").to_numpy()
        prev = log["previous_ids"].combine_chunks()
        flat = objects(pc.fill_null(pc.list_flatten(prev), "None")).to_numpy()
        parent = pc.list_parent_indices(prev).to_numpy(zero_copy_only=False).astype(np.int64)
        keep = last[parent]
        ids = snap.risk["entity_id"]
        same = ids[~ids.isin(logged) & ids.isin(old.risk["entity_id"])].drop_duplicates()
        pairs = pd.DataFrame({
            "new": objects(np.concatenate([logged.to_numpy()[parent[keep]], same.to_numpy()])),
            "old": objects(np.concatenate([flat[keep], same.to_numpy()]))})
        news, olds = pairs["new"], pairs["old"]
        one = (news == olds) & ~news.duplicated(keep=False)
        kept = set(news[one].tolist())
        other: dict[str, list[str]] = {e: [] for e in logged[last].tolist() if e not in kept}
        for n, o in zip(news[~one].tolist(), olds[~one].tolist(), strict=True):
            other.setdefault(n, []).append(o)
        moved = (news != olds) | olds.duplicated(keep=False)
        new_of: dict[str, list[str]] = {}
        for n, o in zip(news[moved].tolist(), olds[moved].tolist(), strict=True):
            new_of.setdefault(o, []).append(n)
        kinds = objects(log["change"])
        changed = kinds.isin(("merged", "split")).to_numpy() & last
        change = dict(zip(logged[changed].tolist(), kinds[changed].astype(str).tolist(),
                          strict=True))
        return cls(pairs=pairs, kept=kept, other=other, new_of=new_of, change=change)

    def previous(self, entity: str) -> list[str] | None:
        """The previous IDs of a new entity; None when the lineage does not list it."""
        return [entity] if entity in self.kept else self.other.get(entity)

    def previous_of(self, entity: str) -> list[str]:
        """`previous`, [] for an entity the lineage does not list."""
        return self.previous(entity) or []

    def forward(self, old_id: str) -> list[str]:
        """New IDs of an old node (connectors and unknown IDs keep theirs)."""
        return self.new_of.get(old_id) or [old_id]


@dataclass
class Comparison:
    new: RunSnapshot
    old: RunSnapshot
    lineage: Lineage

    def before(self, entity: str) -> tuple[float | None, str]:
        scores = [self.old.score[p] for p in self.lineage.previous_of(entity)
                  if p in self.old.score]
        levels = [self.old.level[p] for p in self.lineage.previous_of(entity)
                  if p in self.old.level]
        level = max(levels, key=lambda lv: LEVEL_RANK.get(lv, 0)) if levels else "low"
        return (max(scores) if scores else None), level

    def old_set(self, entity: str, index: dict[str, list[tuple[list[str], list[str]]]],
                at: int) -> set[str]:
        """Node `at` of the old paths of `entity`'s predecessors, forwarded to new IDs."""
        out: set[str] = set()
        for p in self.lineage.previous_of(entity):
            for nodes, _ in index.get(p, []):
                out.update(self.lineage.forward(nodes[at]))
        return out

    def predecessors(self, node: str) -> list[str]:
        """The node's IDs in the previous run (lineage for entities; connectors and events
        keep theirs when the previous run had them)."""
        prev = self.lineage.previous(node)
        if prev is not None:
            return prev
        return [node] if node in self.old.nodes else []

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
        """An alert of this comparison (its graphs and evidence drawn by `explain`)."""
        score_before, level_before = self.before(entity)
        change.previous_ids = self.lineage.previous_of(entity)
        return Alert(
            alert_key=alert_key(kind, entity, condition), kind=kind, entity_id=entity,
            condition=condition, run_id=self.new.run_id, previous_run_id=self.old.run_id,
            score_before=score_before, score_after=self.new.score.get(entity),
            level_before=level_before if score_before is not None else None,
            level_after=self.new.level.get(entity), summary=summary, change=change,
        )

    def explain(self, alerts: list[Alert]) -> None:
        """Draw each alert's before / after graphs (its path nodes and, for a level rise, its
        new events) and add the linkage evidence of the entities a merge created on its
        path (the subject's, for a lineage alert); every alert's nodes are looked up at
        once."""
        shown = [[*a.change.path_nodes, *(a.change.event_ids if a.kind == "level_rise" else [])]
                 for a in alerts]
        after = {n for nodes in shown for n in nodes}
        self.old.nodes.prefetch(after)
        self.old.nodes.prefetch({p for n in after for p in self.predecessors(n)})
        self.new.nodes.prefetch(after)
        merged = [[a.entity_id] if a.kind == "lineage" else
                  [n for n in a.change.path_nodes if self.lineage.change.get(n) == "merged"]
                  for a in alerts]
        evidence = self.new.evidence(sorted({e for m in merged for e in m}))
        for a, nodes, merged_here in zip(alerts, shown, merged, strict=True):
            a.change.before, a.change.after = self.graphs(nodes, a.change.path_edges)
            if merged_here:
                a.change.evidence = {e: evidence[e] for e in sorted(set(merged_here))
                                     if e in evidence}


def _node(snap: RunSnapshot, node: str) -> AlertNode:
    kind, label = snap.nodes.show(node)
    return AlertNode(id=node, kind=kind, label=label, level=snap.level.get(node),
                     score=snap.score.get(node), violating=node in snap.events)


def _edges_among(snap: RunSnapshot, nodes: list[str]) -> list[AlertEdge]:
    """Every relationship of the run between two of these nodes, by source, target and
    relationship ID."""
    return [AlertEdge(id=i, type=t, src=a, dst=b) for i, t, a, b in snap.nodes.edges_among(nodes)]


def _rise_candidates(c: Comparison) -> list[str]:
    """Entities whose level is above the worst of their predecessors' and whose score gained
    about MIN_SCORE_RISE or more (whole columns at once; each is checked again exactly)."""
    new, old, pairs = c.new.risk, c.old.risk, c.lineage.pairs
    at_old = pd.Index(old["entity_id"]).get_indexer(pd.Index(pairs["old"]))
    at_new = pd.Index(new["entity_id"]).get_indexer(pd.Index(pairs["new"]))
    both = (at_old >= 0) & (at_new >= 0)
    at_old, at_new = at_old[both], at_new[both]
    score_before = np.full(len(new), -np.inf)
    np.maximum.at(score_before, at_new, old["score"].to_numpy(dtype=float)[at_old])
    score_before[np.isneginf(score_before)] = 0.0
    rank_before = np.zeros(len(new))
    np.maximum.at(rank_before, at_new, _ranks(old["level"])[at_old])
    gain = new["score"].to_numpy(dtype=float) - np.nan_to_num(score_before, nan=0.0)
    rises = (_ranks(new["level"]) > rank_before) & (gain >= MIN_SCORE_RISE - 1e-6)
    return new.loc[rises, "entity_id"].tolist()


def _ranks(levels: pd.Series) -> np.ndarray:
    return levels.map(LEVEL_RANK).fillna(0).to_numpy(dtype=float)


def _level_rises(c: Comparison) -> Iterable[Alert]:
    for entity in _rise_candidates(c):
        level = c.new.level[entity]
        score_before, before = c.before(entity)
        gain = c.new.score.get(entity, 0.0) - (score_before or 0.0)
        if LEVEL_RANK.get(level, 0) > LEVEL_RANK.get(before, 0) and gain >= MIN_SCORE_RISE:
            old_events = {e for p in c.lineage.previous_of(entity)
                          for e, _ in c.old.events.get(p, [])}
            fresh = [e for e, _ in c.new.events.get(entity, []) if e not in old_events]
            yield c.alert("level_rise", entity, level, f"risk level {before} → {level}",
                          Change(path_nodes=[entity], event_ids=fresh))


class Adjacency:
    """node -> [(other end, relationship ID, type)] over both directions of the ties, as
    sorted arrays searched per node (no per-node lists built for the whole run)."""

    def __init__(self, ties: pa.Table) -> None:
        src, dst = (ties[c].to_numpy().astype(str) for c in ("src", "dst"))
        node, other = np.concatenate([src, dst]), np.concatenate([dst, src])
        rid = np.tile(ties["id"].to_numpy().astype(str), 2)
        rtype = np.tile(ties["type"].to_numpy().astype(str), 2)
        order = np.argsort(node, kind="stable")
        self._node, self._other = node[order], other[order]
        self._rid, self._type = rid[order], rtype[order]

    @classmethod
    def around(cls, ties: pa.Table, nodes: Iterable[str]) -> Adjacency:
        """The adjacency of these nodes only (their lists whole; other nodes' partial)."""
        return cls(ties_touching(ties, nodes))

    def get(self, node: str, default: Iterable[tuple[str, str, str]] = ()
            ) -> list[tuple[str, str, str]]:
        lo = int(np.searchsorted(self._node, node, side="left"))
        hi = int(np.searchsorted(self._node, node, side="right"))
        if lo == hi:
            return list(default)
        return list(zip(self._other[lo:hi].tolist(), self._rid[lo:hi].tolist(),
                        self._type[lo:hi].tolist(), strict=True))


KEYS = ["type", "src", "dst"]


def _forwarded_ties(c: Comparison) -> pa.Table:
    """(type, src, dst) of every relationship of the previous run with its ends followed to
    their new IDs (`Lineage.forward`: one row per combination of new IDs)."""
    old = c.old.ties.select(KEYS)
    touched = pc.fill_null(pc.or_(*(pc.is_in(old[end], value_set=pa.array(
        list(c.lineage.new_of), pa.string())) for end in ("src", "dst"))), False)
    fwd = pd.DataFrame([(o, n) for o, news in c.lineage.new_of.items() for n in news],
                       columns=["old", "new"], dtype=object)
    out = object_frame(old.filter(touched), tuple(KEYS))
    for end in ("src", "dst"):
        out = out.merge(fwd.rename(columns={"old": end, "new": f"{end}_new"}), on=end,
                        how="left")
        out[end] = out[f"{end}_new"].fillna(out[end])
    return pa.concat_tables([old.filter(pc.invert(touched)),
                             string_table(out, tuple(KEYS))])


def _fresh_ties(c: Comparison) -> pa.Table:
    """The new run's relationships the previous run did not have (type, src, dst after
    lineage), in the new run's order."""
    new = c.new.ties.append_column("_row", pa.array(np.arange(c.new.ties.num_rows)))
    fresh = new.join(_forwarded_ties(c), keys=KEYS, join_type="left anti")
    return fresh.sort_by("_row").drop_columns(["_row"])


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
    for p in c.lineage.previous_of(entity):
        for other, rid, rtype in adj_old.get(p, []):
            for target, *_ in _targets(adj_old, p, other, rid, rtype, c.old.violating):
                out.update(c.lineage.forward(target))
    return out


def _old_adjacency(c: Comparison, subjects: set[str]) -> Adjacency:
    """The previous run's adjacency of the subjects' predecessors and of their neighbours
    (what `_old_reach` walks)."""
    first = {p for s in subjects for p in c.lineage.previous_of(s)}
    near = Adjacency.around(c.old.ties, first)
    return Adjacency.around(c.old.ties, {*first, *(o for p in first for o, _, _ in near.get(p))})


def _new_paths(c: Comparison) -> Iterable[Alert]:
    fresh = _fresh_ties(c)
    if not fresh.num_rows:
        return
    rids, rtypes, srcs, dsts = (fresh[k].to_pylist() for k in ("id", "type", "src", "dst"))
    adj = Adjacency.around(c.new.ties, [*srcs, *dsts])
    violating = c.new.violating
    blacklisted = c.new.blacklisted
    found: dict[tuple[str, str], tuple[list[str], list[str], list[str]]] = {}
    for rid, rtype, src, dst in zip(rids, rtypes, srcs, dsts, strict=True):
        for subject, other in ((str(src), str(dst)), (str(dst), str(src))):
            if subject not in c.new.level:
                continue
            for target, nodes, edges, types in _targets(adj, subject, other, str(rid),
                                                        str(rtype), violating):
                found.setdefault((subject, target), (nodes, edges, types))
    adj_old = _old_adjacency(c, {subject for subject, _ in found})
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
        if any(p in c.old.rings for p in c.lineage.previous_of(entity)):
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
        prev = sorted(c.lineage.previous_of(entity))
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
    out = sorted((a for a in raised.values() if a.alert_key not in done),
                 key=lambda a: (a.kind, a.entity_id, a.condition))
    c.explain(out)
    return out
