"""Breadth-first walks for the Neo4j store: neighbourhood, exposure and shortest paths.

Each BFS level is one parameterised query per frontier label (`UNWIND $ids` + index seek on
the constrained `id`), so hop caps, blocked super-nodes and the documented tie-breaks of
`graph.store.GraphReader` are applied exactly as the embedded store applies them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graph import schema
from graph.models import EntitySummary, ExposureHit, Path
from graph.neo4j_cypher import Cypher, display_of, summary_from


@dataclass(frozen=True)
class Step:
    src: str
    rel_id: str
    rel_type: str
    dst: str
    dst_label: str
    dst_blocked: bool
    dst_violating: bool


@dataclass
class Level:
    """BFS result: distance and parents (prev node, rel ID, rel type) of every reached node."""

    dist: dict[str, int] = field(default_factory=dict)
    parents: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    label: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, bool] = field(default_factory=dict)
    violating: dict[str, bool] = field(default_factory=dict)


class Walker:
    def __init__(self, cypher: Cypher) -> None:
        self.cypher = cypher

    # --- primitives -------------------------------------------------------------------
    def expand(self, frontier: dict[str, str], types: tuple[str, ...]) -> list[Step]:
        """Every relationship of `types` at the frontier nodes (id -> label), both directions."""
        rel = "|".join(schema.check_rel_types(types))
        by_label: dict[str, list[str]] = defaultdict(list)
        for node_id, label in frontier.items():
            by_label[schema.check_label(label)].append(node_id)
        steps: list[Step] = []
        for label, ids in sorted(by_label.items()):
            query = (
                f"UNWIND $ids AS i MATCH (a:{label} {{id: i}})-[r:{rel}]-(b) "
                "RETURN a.id AS a, r.id AS r, type(r) AS t, b.id AS b, labels(b)[0] AS bl, "
                f"{Cypher.blocked('b')} AS bb, {Cypher.violating('b')} AS bv"
            )
            for row in self.cypher.run(query, ids=sorted(ids)):
                steps.append(
                    Step(row["a"], row["r"], row["t"], row["b"], row["bl"], row["bb"], row["bv"])
                )
        steps.sort(key=lambda s: (s.src, s.dst, s.rel_id))
        return steps

    def start(self, node_id: str) -> tuple[str, bool, bool] | None:
        """(label, blocked, violating) of a node, or None when absent."""
        label = self.cypher.locate(node_id)
        if label is None:
            return None
        lab = schema.check_label(label)
        row = self.cypher.run(
            f"MATCH (n:{lab} {{id: $id}}) RETURN {Cypher.blocked('n')} AS bb, "
            f"{Cypher.violating('n')} AS bv",
            id=node_id,
        )[0]
        return label, row["bb"], row["bv"]

    def bfs(
        self, source: str, types: tuple[str, ...], max_hops: int, stop_at: str | None = None
    ) -> Level | None:
        """Levels from `source` (always expanded); blocked nodes are reached, not expanded."""
        first = self.start(source)
        if first is None:
            return None
        level = Level()
        level.dist[source] = 0
        level.label[source], level.blocked[source], level.violating[source] = first
        frontier = {source: first[0]}
        for hop in range(1, max_hops + 1):
            if not frontier or (stop_at is not None and stop_at in level.dist):
                break
            fresh: dict[str, str] = {}
            for step in self.expand(frontier, types):
                seen = level.dist.get(step.dst)
                if seen is not None and seen < hop:
                    continue
                level.dist[step.dst] = hop
                parents = level.parents.setdefault(step.dst, [])
                parents.append((step.src, step.rel_id, step.rel_type))
                level.label[step.dst] = step.dst_label
                level.blocked[step.dst] = step.dst_blocked
                level.violating[step.dst] = step.dst_violating
                if not step.dst_blocked and step.dst != stop_at:
                    fresh[step.dst] = step.dst_label
            frontier = fresh
        return level

    # --- neighbourhood ----------------------------------------------------------------
    def neighbourhood(
        self, entity_id: str, depth: int, types: tuple[str, ...], node_cap: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        first = self.start(entity_id)
        if first is None:
            return [], [], False
        kept: dict[str, str] = {entity_id: first[0]}
        frontier = {entity_id: first[0]}
        truncated = False
        for _hop in range(depth):
            if not frontier:
                break
            fresh: dict[str, str] = {}
            candidates: dict[str, Step] = {}
            for step in self.expand(frontier, types):
                if step.dst not in kept:
                    candidates.setdefault(step.dst, step)
            for node_id in sorted(candidates):
                if len(kept) >= node_cap:
                    truncated = True
                    break
                kept[node_id] = candidates[node_id].dst_label
                if candidates[node_id].dst_blocked:
                    truncated = truncated or _hop + 1 < depth
                else:
                    fresh[node_id] = candidates[node_id].dst_label
            frontier = fresh
        return self._nodes(kept), self._edges(kept, types), truncated

    def _nodes(self, kept: dict[str, str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        by_label: dict[str, list[str]] = defaultdict(list)
        for node_id, label in kept.items():
            by_label[schema.check_label(label)].append(node_id)
        for label, ids in by_label.items():
            query = (
                f"UNWIND $ids AS i MATCH (n:{label} {{id: i}}) RETURN n.id AS id, "
                f"labels(n)[0] AS kind, {display_of('n')} AS label, n.risk_level AS risk_level"
            )
            out.extend(self.cypher.run(query, ids=ids))
        return sorted(out, key=lambda n: n["id"])

    def _edges(self, kept: dict[str, str], types: tuple[str, ...]) -> list[dict[str, Any]]:
        rel = "|".join(schema.check_rel_types(types))
        out: list[dict[str, Any]] = []
        by_label: dict[str, list[str]] = defaultdict(list)
        for node_id, label in kept.items():
            by_label[schema.check_label(label)].append(node_id)
        for label, ids in by_label.items():
            query = (
                f"UNWIND $ids AS i MATCH (a:{label} {{id: i}})-[r:{rel}]->(b) "
                "WHERE b.id IN $kept RETURN r.id AS id, type(r) AS type, a.id AS source, "
                "b.id AS target, r.share_pct AS share_pct"
            )
            out.extend(self.cypher.run(query, ids=ids, kept=list(kept)))
        return sorted(out, key=lambda e: e["id"])

    # --- exposure ---------------------------------------------------------------------
    def exposure(self, entity_id: str, max_hops: int, limit: int) -> list[ExposureHit]:
        level = self.bfs(entity_id, schema.NETWORK_TYPES, max_hops)
        if level is None:
            return []
        targets = sorted(
            (d, n)
            for n, d in level.dist.items()
            if n != entity_id and level.violating.get(n)
        )[: max(0, limit)]
        if not targets:
            return []
        best = _best_paths(level, entity_id)
        ids = [n for _, n in targets]
        rows = self.cypher.run(
            "UNWIND $ids AS i MATCH (n:Enterprise|Person {id: i}) "
            f"RETURN {summary_from('n')} AS s, "
            "COLLECT { MATCH (n)-[:SUBJECT_OF]->(e) RETURN DISTINCT labels(e)[0] } AS ev",
            ids=ids,
        )
        info = {r["s"]["entity_id"]: r for r in rows}
        type_of = {label: t for t, label in schema.EVENT_LABEL_BY_TYPE.items()}
        hits = []
        for hops, node in targets:
            nodes, edges, types = best[node]
            hits.append(
                ExposureHit(
                    target=EntitySummary(**info[node]["s"]),
                    hops=hops,
                    path=Path(nodes=nodes, edges=edges, types=types),
                    event_types=sorted(type_of[x] for x in info[node]["ev"]),
                )
            )
        return hits

    # --- shortest paths ---------------------------------------------------------------
    def paths(
        self, source: str, target: str, max_hops: int, types: tuple[str, ...], limit: int
    ) -> list[Path]:
        if limit <= 0:
            return []
        if source == target:
            return [] if self.start(source) is None else [Path(nodes=[source], edges=[], types=[])]
        level = self.bfs(source, types, max_hops, stop_at=target)
        if level is None or target not in level.dist:
            return []
        out: list[Path] = []
        for nodes in _node_sequences(level, source, target):
            for edges, etypes in _edge_choices(level, nodes):
                out.append(Path(nodes=nodes, edges=edges, types=etypes))
                if len(out) >= limit:
                    return out
        return out


def _best_paths(level: Level, source: str) -> dict[str, tuple[list[str], list[str], list[str]]]:
    """For every reached node: the smallest shortest path in path ordering (nodes, then edges)."""
    best: dict[str, tuple[list[str], list[str], list[str]]] = {source: ([source], [], [])}
    for node in sorted(level.dist, key=lambda n: level.dist[n]):
        if node == source:
            continue
        options = []
        for parent, rel_id, rel_type in level.parents[node]:
            if level.dist.get(parent) != level.dist[node] - 1 or parent not in best:
                continue
            pn, pe, pt = best[parent]
            options.append((pn + [node], pe + [rel_id], pt + [rel_type]))
        best[node] = min(options, key=lambda o: (o[0], o[1]))
    return best


def _node_sequences(level: Level, source: str, target: str) -> Iterator[list[str]]:
    """Node lists of all shortest source→target paths, in ascending list order."""
    children: dict[str, set[str]] = defaultdict(set)
    for node, parents in level.parents.items():
        for parent, _, _ in parents:
            if level.dist.get(parent) == level.dist[node] - 1:
                children[parent].add(node)
    on_path: set[str] = set()
    stack = [target]
    while stack:  # nodes from which the target is reachable along the DAG
        node = stack.pop()
        if node in on_path:
            continue
        on_path.add(node)
        stack.extend(p for p, _, _ in level.parents.get(node, []) if
                     level.dist.get(p) == level.dist[node] - 1)

    def walk(prefix: list[str]) -> Iterator[list[str]]:
        last = prefix[-1]
        if last == target:
            yield prefix
            return
        for child in sorted(children[last] & on_path):
            yield from walk(prefix + [child])

    yield from walk([source])


def _edge_choices(level: Level, nodes: list[str]) -> Iterator[tuple[list[str], list[str]]]:
    options: list[list[tuple[str, str]]] = []
    for prev, node in zip(nodes, nodes[1:], strict=False):
        options.append(sorted((r, t) for p, r, t in level.parents[node] if p == prev))

    def walk(i: int, edges: list[str], types: list[str]) -> Iterator[tuple[list[str], list[str]]]:
        if i == len(options):
            yield edges, types
            return
        for rel_id, rel_type in options[i]:
            yield from walk(i + 1, edges + [rel_id], types + [rel_type])

    yield from walk(0, [], [])
