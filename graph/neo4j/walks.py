"""Breadth-first walks for the Neo4j store: neighbourhood, exposure and shortest paths.

Each BFS level is one parameterised query, so hop caps, blocked super-nodes and the
documented tie-breaks of `graph.store.GraphReader` are applied exactly as the embedded store
applies them. Every walk seeks its frontier by element ID (a neighbourhood: one query per
level, then its kept nodes and their edges in one more); exposure and paths also let the
server de-duplicate each level (one row per newly reached node, `$seen` a map for
constant-time membership) and return only what the answer needs (exposure: best parents,
and only violating nodes on the last level; paths: a bidirectional search that expands the
cheaper side and stops when the two sides meet). The level queries are written whole in
`graph.neo4j.queries`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graph import schema
from graph.labels import labels
from graph.models import EntitySummary, ExposureHit, Path, PathStep, StepRelation
from graph.neo4j import queries as q
from graph.neo4j.cypher import Cypher, labels_for_id
from graph.neo4j.template import fill
from graph.policy import PATH_HUB_MIN_ENTERPRISES


@dataclass(frozen=True)
class Step:
    src: str
    rel_id: str
    rel_type: str
    dst: str
    dst_label: str
    dst_blocked: bool
    dst_violating: bool
    dst_element: str


class Walker:
    def __init__(self, cypher: Cypher) -> None:
        self.cypher = cypher

    # --- primitives -------------------------------------------------------------------
    def expand(self, frontier: dict[str, str], types: tuple[str, ...]) -> list[Step]:
        """Every relationship of `types` at the frontier nodes (id -> element ID), both
        directions: one round trip."""
        rel = "|".join(schema.check_rel_types(types))
        rows = self.cypher.run(fill(q.EXPAND, rels=rel),
                               eids=[frontier[i] for i in sorted(frontier)])
        steps = [Step(row["a"], row["r"], row["t"], row["b"], row["bl"], row["bb"], row["bv"],
                      row["be"]) for row in rows]
        steps.sort(key=lambda s: (s.src, s.dst, s.rel_id))
        return steps

    def start(self, node_id: str) -> tuple[str, bool, bool, str] | None:
        """(label, blocked, violating, element ID) of a node, or None when absent."""
        label = self.cypher.locate(node_id)
        if label is None:
            return None
        row = self.cypher.run(fill(q.START, label=schema.check_label(label)), id=node_id)[0]
        return label, row["bb"], row["bv"], row["e"]

    # --- neighbourhood ----------------------------------------------------------------
    def neighbourhood(
        self, entity_id: str, depth: int, types: tuple[str, ...], node_cap: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        first = self.start(entity_id)
        if first is None:
            return [], [], False
        elements = {entity_id: first[3]}  # kept nodes: id -> element ID
        frontier = {entity_id: first[3]}
        truncated = False
        for _hop in range(depth):
            if not frontier:
                break
            fresh: dict[str, str] = {}
            candidates: dict[str, Step] = {}
            for step in self.expand(frontier, types):
                if step.dst not in elements:
                    candidates.setdefault(step.dst, step)
            for node_id in sorted(candidates):
                if len(elements) >= node_cap:
                    truncated = True
                    break
                elements[node_id] = candidates[node_id].dst_element
                if candidates[node_id].dst_blocked:
                    truncated = truncated or _hop + 1 < depth
                else:
                    fresh[node_id] = candidates[node_id].dst_element
            frontier = fresh
        return (*self._drawn(elements, types), truncated)

    def _drawn(self, elements: dict[str, str], types: tuple[str, ...]
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """GraphNode and GraphEdge rows of the kept nodes (id -> element ID), by ID: one
        round trip (q.NEIGHBOURHOOD)."""
        rel = "|".join(schema.check_rel_types(types))
        rows = self.cypher.run(fill(q.NEIGHBOURHOOD, rels=rel), eids=list(elements.values()),
                               kept=list(elements))
        edges = sorted((e for r in rows for e in r.pop("out")), key=lambda e: e["id"])
        return sorted(rows, key=lambda n: n["id"]), edges

    def node_rows(self, kept: dict[str, str]) -> list[dict[str, Any]]:
        """GraphNode rows of the nodes `kept` (id -> label) that exist, by ID."""
        return self._nodes(kept)

    def _nodes(self, kept: dict[str, str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        by_label: dict[str, list[str]] = defaultdict(list)
        for node_id, label in kept.items():
            by_label[schema.check_label(label)].append(node_id)
        for label, ids in by_label.items():
            out.extend(self.cypher.run(fill(q.NEIGHBOURHOOD_NODES, label=label), ids=ids))
        return sorted(out, key=lambda n: n["id"])

    # --- exposure ---------------------------------------------------------------------
    def exposure(self, entity_id: str, max_hops: int, limit: int) -> list[ExposureHit]:
        """One query per BFS level (the first seeks the start by its ID, later ones the
        frontier by element ID). The server de-duplicates the level
        (one row per newly reached node with its best parent: smallest parent rank, then
        relationship ID, i.e. the first shortest path in path ordering) and, on the last
        level, returns only violating nodes; hits come back with their summaries, so the walk
        stops as soon as `limit` hits at smaller distances are known."""
        labels = labels_for_id(entity_id)
        if not labels or limit <= 0:
            return []
        seen: dict[str, bool] = {}
        best: dict[str, tuple[list[str], list[str], list[str]]] = {entity_id: ([entity_id], [], [])}
        front: list[list[Any]] = [["", 0, entity_id]]  # the start (rank 0)
        hits: list[ExposureHit] = []
        type_of = {label: t for t, label in schema.EVENT_LABEL_BY_TYPE.items()}
        for hop in range(1, max_hops + 1):
            if not front or len(hits) >= limit:
                break
            last = hop == max_hops
            if hop == 1:  # from the start, sought by its ID under the labels of its prefix
                first = q.EXPOSURE_ONLY_LEVEL if last else q.EXPOSURE_FIRST_LEVEL
                rows = [row for label in labels for row in self.cypher.run(
                    fill(first, label=schema.check_label(label)), id=entity_id)]
            else:
                level = q.EXPOSURE_LAST_LEVEL if last else q.EXPOSURE_LEVEL
                rows = self.cypher.run(level, front=front, seen=seen)
            if hop == 1 and rows:
                seen[rows[0]["pe"]] = True
            rank_of = {f[2]: f[1] for f in front}
            # rank of a new node = position of its best path among this level's best paths
            rows.sort(key=lambda r: (rank_of[r["p"]], r["id"]))
            fresh: list[list[Any]] = []
            level_hits = []
            for rank, row in enumerate(rows):
                pn, pe, pt = best[row["p"]]
                best[row["id"]] = (pn + [row["id"]], pe + [row["r"]], pt + [row["t"]])
                if not last:
                    seen[row["e"]] = True
                    if not (row["deg"] > self.cypher.degree_cap or row["wl"]):
                        fresh.append([row["e"], rank, row["id"]])
                if row["s"] is not None:
                    level_hits.append(row)
            for row in sorted(level_hits, key=lambda r: r["id"]):
                nodes, edges, types = best[row["id"]]
                hits.append(ExposureHit(
                    target=EntitySummary(**row["s"]), hops=hop,
                    path=Path(nodes=nodes, edges=edges, types=types),
                    event_types=sorted(type_of[x] for x in row["ev"]),
                ))
            front = fresh
        return hits[:limit]

    # --- shortest paths ---------------------------------------------------------------
    def paths(
        self, source: str, target: str, max_hops: int, types: tuple[str, ...], limit: int,
        avoid_hubs: bool = False,
    ) -> list[Path]:
        """Bidirectional BFS: one query per level, each time expanding the side whose
        frontier has the smaller degree sum, until the two balls share a node that may sit
        on a path (an endpoint or not blocked). Every shortest path crosses such a meeting
        node at the same position, so the paths are prefixes from the source side times
        suffixes from the target side, enumerated in path ordering."""
        if limit <= 0:
            return []
        roots = self._roots([source, target], avoid_hubs)
        if source not in roots or target not in roots:
            return []
        if source == target:
            return [Path(nodes=[source], edges=[], types=[])]
        rel = "|".join(schema.check_rel_types(types))
        cap = self.cypher.degree_cap
        sides = (_Side(source, roots[source], cap, avoid_hubs),
                 _Side(target, roots[target], cap, avoid_hubs))
        while sides[0].depth + sides[1].depth < max_hops:
            if not sides[0].front or not sides[1].front:
                return []
            me = min(sides, key=lambda sd: (sd.cost(), sd is sides[1]))
            rows = self.cypher.run(
                fill(q.PATH_LEVEL, rels=rel), front=[[e, n] for n, e in me.front.items()],
                seen=me.elements, avoid=avoid_hubs, hub_min=PATH_HUB_MIN_ENTERPRISES,
            )
            me.grow(rows)
            meet = self._meeting(sides[0], sides[1], source, target)
            if meet:
                return _enumerate(sides[0], sides[1], meet, source, target, limit)
        return []

    @staticmethod
    def _meeting(fwd: _Side, bwd: _Side, source: str, target: str) -> list[str]:
        small, large = sorted((fwd.dist, bwd.dist), key=len)
        common = [n for n in small if n in large
                  and (n in (source, target) or not fwd.blocked[n])]
        if not common:
            return []
        total = min(fwd.dist[n] + bwd.dist[n] for n in common)
        return [n for n in common if fwd.dist[n] + bwd.dist[n] == total]

    def _roots(self, ids: list[str], avoid_hubs: bool) -> dict[str, _Node]:
        """Element ID, degree and whitelist flag of each existing node, in one round trip."""
        if not any(labels_for_id(i) for i in ids):
            return {}
        rows = self.cypher.run(q.PATH_ROOTS, ids=sorted(set(ids)), avoid=avoid_hubs,
                               hub_min=PATH_HUB_MIN_ENTERPRISES)
        return {r["id"]: _Node(r["e"], r["deg"], r["wl"], r["hub"]) for r in rows}


@dataclass(frozen=True)
class _Node:
    element: str
    degree: int
    whitelisted: bool
    hub: bool = False


class _Side:
    """One direction of the bidirectional path BFS: distances, parents and blocked flags of
    the reached nodes, and the frontier (id -> element ID) to expand next."""

    def __init__(self, node_id: str, root: _Node, cap: int, avoid_hubs: bool = False) -> None:
        self.cap = cap
        self.avoid_hubs = avoid_hubs
        self.depth = 0
        self.dist: dict[str, int] = {node_id: 0}
        # per node: (parent, relationship ID, type, parent is the relationship's start)
        self.parents: dict[str, list[tuple[str, str, str, bool]]] = {node_id: []}
        self.blocked: dict[str, bool] = {
            node_id: root.degree > cap or root.whitelisted or (avoid_hubs and root.hub)}
        self.degree: dict[str, int] = {node_id: root.degree}
        self.elements: dict[str, bool] = {root.element: True}
        self.front: dict[str, str] = {node_id: root.element}  # a root is always expanded

    def cost(self) -> int:
        return sum(self.degree[n] for n in self.front)

    def grow(self, rows: list[dict[str, Any]]) -> None:
        self.depth += 1
        fresh: dict[str, str] = {}
        for row in rows:
            node = row["id"]
            self.dist[node] = self.depth
            self.parents[node] = [(p, r, t, bool(start)) for p, r, t, start in row["ps"]]
            self.blocked[node] = (row["deg"] > self.cap or row["wl"]
                                  or (self.avoid_hubs and bool(row["hub"])))
            self.degree[node] = row["deg"]
            self.elements[row["e"]] = True
            if not self.blocked[node]:
                fresh[node] = row["e"]
        self.front = fresh


def _enumerate(
    fwd: _Side, bwd: _Side, meet: list[str], source: str, target: str, limit: int
) -> list[Path]:
    """The first `limit` shortest paths in path ordering: distinct node sequences in
    ascending order over the meeting DAG, each step with every relationship between its two
    nodes (by relationship ID, in its real direction)."""
    succ: dict[str, dict[str, list[tuple[str, str, str, str]]]] = defaultdict(dict)

    def climb(side: _Side, forward: bool) -> None:
        stack, done = list(meet), set()
        while stack:
            node = stack.pop()
            if node in done:
                continue
            done.add(node)
            for parent, rel_id, rel_type, parent_starts in side.parents.get(node, []):
                if side.dist.get(parent) != side.dist[node] - 1:
                    continue
                a, b = (parent, node) if forward else (node, parent)
                src, dst = (parent, node) if parent_starts else (node, parent)
                succ[a].setdefault(b, []).append((rel_id, rel_type, src, dst))
                stack.append(parent)

    climb(fwd, True)
    climb(bwd, False)
    out: list[Path] = []
    lab = labels()

    def walk(nodes: list[str]) -> Iterator[list[str]]:
        last = nodes[-1]
        if last == target:
            yield nodes
            return
        for nxt in sorted(succ[last]):
            yield from walk(nodes + [nxt])

    for nodes in walk([source]):
        steps = [PathStep(a=a, b=b, relations=[
            StepRelation(id=r, type=t, type_label=lab.relationship(t), source=x, target=y)
            for r, t, x, y in sorted(set(succ[a][b]))])
            for a, b in zip(nodes, nodes[1:], strict=False)]
        out.append(Path(nodes=nodes, edges=[st.relations[0].id for st in steps],
                        types=[st.relations[0].type for st in steps], steps=steps))
        if len(out) >= limit:
            break
    return out
