"""Breadth-first walks for the Neo4j store: neighbourhood, exposure and shortest paths.

Each BFS level is one parameterised query, so hop caps, blocked super-nodes and the
documented tie-breaks of `graph.store.GraphReader` are applied exactly as the embedded store
applies them. Neighbourhood levels seek the frontier by label and `id`; exposure and paths
seek it by element ID, let the server de-duplicate each level (one row per newly reached
node, `$seen` a map for constant-time membership) and return only what the answer needs
(exposure: best parents, and only violating nodes on the last level; paths: a bidirectional
search that expands the cheaper side and stops when the two sides meet).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graph import schema
from graph.models import EntitySummary, ExposureHit, Path
from graph.neo4j.cypher import NETWORK, Cypher, display_of, labels_for_id, summary_from


@dataclass(frozen=True)
class Step:
    src: str
    rel_id: str
    rel_type: str
    dst: str
    dst_label: str
    dst_blocked: bool
    dst_violating: bool


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
        front: list[list[Any]] = [["", 0, entity_id]]  # the start, sought by ID (labels)
        hits: list[ExposureHit] = []
        type_of = {label: t for t, label in schema.EVENT_LABEL_BY_TYPE.items()}
        for hop in range(1, max_hops + 1):
            if not front or len(hits) >= limit:
                break
            last = hop == max_hops
            query = _exposure_level(NETWORK, last, labels if hop == 1 else ())
            rows = self.cypher.run(query, front=front, seen=seen, id=entity_id)
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
        self, source: str, target: str, max_hops: int, types: tuple[str, ...], limit: int
    ) -> list[Path]:
        """Bidirectional BFS: one query per level, each time expanding the side whose
        frontier has the smaller degree sum, until the two balls share a node that may sit
        on a path (an endpoint or not blocked). Every shortest path crosses such a meeting
        node at the same position, so the paths are prefixes from the source side times
        suffixes from the target side, enumerated in path ordering."""
        if limit <= 0:
            return []
        roots = self._roots([source, target])
        if source not in roots or target not in roots:
            return []
        if source == target:
            return [Path(nodes=[source], edges=[], types=[])]
        rel = "|".join(schema.check_rel_types(types))
        cap = self.cypher.degree_cap
        sides = (_Side(source, roots[source], cap), _Side(target, roots[target], cap))
        while sides[0].depth + sides[1].depth < max_hops:
            if not sides[0].front or not sides[1].front:
                return []
            me = min(sides, key=lambda sd: (sd.cost(), sd is sides[1]))
            rows = self.cypher.run(
                _path_level(rel), front=[[e, n] for n, e in me.front.items()],
                seen=me.elements,
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

    def _roots(self, ids: list[str]) -> dict[str, _Node]:
        """Element ID, degree and whitelist flag of each existing node, in one round trip."""
        labels = sorted({lab for i in ids for lab in labels_for_id(i)})
        if not labels:
            return {}
        branches = " UNION ".join(
            f"MATCH (n:{schema.check_label(lab)} {{id: i}}) RETURN n" for lab in labels
        )
        rows = self.cypher.run(
            f"UNWIND $ids AS i CALL (i) {{ {branches} }} "
            f"RETURN n.id AS id, elementId(n) AS e, {_DEGREE.format(v='n', rel=NETWORK)} "
            f"AS deg, {Cypher.whitelisted('n')} AS wl",
            ids=sorted(set(ids)),
        )
        return {r["id"]: _Node(r["e"], r["deg"], r["wl"]) for r in rows}


_DEGREE = "COUNT {{ ({v})-[:{rel}]-() }}"


def _exposure_level(rel: str, last: bool, start_labels: tuple[str, ...] = ()) -> str:
    """One exposure BFS level: `$front` = [element ID, rank, id] of the expanded nodes (on
    the first level, when `start_labels` are given: the start node sought by `$id`),
    `$seen` = {element ID: true} of the nodes already reached. One row per new node: its
    best parent `p` (by parent rank, then relationship ID) and that parent's element ID `pe`,
    degree and whitelist flag (to decide expansion), and for violating nodes the summary `s`
    and event labels `ev`. The last level returns only violating nodes and skips the
    degree."""
    violating = Cypher.violating("b")
    if start_labels:
        branches = " UNION ".join(
            f"MATCH (a:{schema.check_label(lab)} {{id: $id}}) RETURN a" for lab in start_labels
        )
        seek = (
            f"CALL () {{ {branches} }} WITH a, [elementId(a), 0, a.id] AS f "
            f"MATCH (a)-[r:{rel}]-(b) WHERE b <> a "
        )
    else:
        seek = (
            "UNWIND $front AS f MATCH (a) WHERE elementId(a) = f[0] "
            f"MATCH (a)-[r:{rel}]-(b) WHERE $seen[elementId(b)] IS NULL "
        )
    head = seek + "WITH b, min([f[1], r.id, f[2], type(r), f[0]]) AS m "
    events = "COLLECT { MATCH (b)-[:SUBJECT_OF]->(e) RETURN DISTINCT labels(e)[0] }"
    if last:
        return (
            head + f"WHERE {violating} "
            "RETURN b.id AS id, m[2] AS p, m[4] AS pe, m[1] AS r, m[3] AS t, "
            f"{summary_from('b')} AS s, "
            f"{events} AS ev"
        )
    return (
        head + f"WITH b, m, {violating} AS bv "
        "RETURN b.id AS id, elementId(b) AS e, m[2] AS p, m[4] AS pe, m[1] AS r, m[3] AS t, "
        f"CASE WHEN bv THEN {summary_from('b')} END AS s, "
        f"CASE WHEN bv THEN {events} ELSE [] END AS ev, "
        f"{_DEGREE.format(v='b', rel=NETWORK)} AS deg, {Cypher.whitelisted('b')} AS wl"
    )


def _path_level(rel: str) -> str:
    """One path BFS level over `rel`: every new node with all its parents in the frontier
    (`$front` = [element ID, id]), its degree (over the network) and whitelist flag."""
    return (
        "UNWIND $front AS f MATCH (a) WHERE elementId(a) = f[0] "
        f"MATCH (a)-[r:{rel}]-(b) WHERE $seen[elementId(b)] IS NULL "
        "WITH b, collect([f[1], r.id, type(r)]) AS ps "
        f"RETURN b.id AS id, elementId(b) AS e, ps, "
        f"{_DEGREE.format(v='b', rel=NETWORK)} AS deg, {Cypher.whitelisted('b')} AS wl"
    )


@dataclass(frozen=True)
class _Node:
    element: str
    degree: int
    whitelisted: bool


class _Side:
    """One direction of the bidirectional path BFS: distances, parents and blocked flags of
    the reached nodes, and the frontier (id -> element ID) to expand next."""

    def __init__(self, node_id: str, root: _Node, cap: int) -> None:
        self.cap = cap
        self.depth = 0
        self.dist: dict[str, int] = {node_id: 0}
        self.parents: dict[str, list[tuple[str, str, str]]] = {node_id: []}
        self.blocked: dict[str, bool] = {node_id: root.degree > cap or root.whitelisted}
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
            self.parents[node] = [(p, r, t) for p, r, t in row["ps"]]
            self.blocked[node] = row["deg"] > self.cap or row["wl"]
            self.degree[node] = row["deg"]
            self.elements[row["e"]] = True
            if not self.blocked[node]:
                fresh[node] = row["e"]
        self.front = fresh


def _enumerate(
    fwd: _Side, bwd: _Side, meet: list[str], source: str, target: str, limit: int
) -> list[Path]:
    """The first `limit` shortest paths in path ordering (node lists, then edge lists):
    node sequences in ascending order over the meeting DAG, each with its edge choices."""
    succ: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(dict)

    def climb(side: _Side, forward: bool) -> None:
        stack, done = list(meet), set()
        while stack:
            node = stack.pop()
            if node in done:
                continue
            done.add(node)
            for parent, rel_id, rel_type in side.parents.get(node, []):
                if side.dist.get(parent) != side.dist[node] - 1:
                    continue
                a, b = (parent, node) if forward else (node, parent)
                succ[a].setdefault(b, []).append((rel_id, rel_type))
                stack.append(parent)

    climb(fwd, True)
    climb(bwd, False)
    out: list[Path] = []

    def walk(nodes: list[str]) -> Iterator[list[str]]:
        last = nodes[-1]
        if last == target:
            yield nodes
            return
        for nxt in sorted(succ[last]):
            yield from walk(nodes + [nxt])

    for nodes in walk([source]):
        for edges, types in _edge_choices(succ, nodes):
            out.append(Path(nodes=nodes, edges=edges, types=types))
            if len(out) >= limit:
                return out
    return out


def _edge_choices(
    succ: dict[str, dict[str, list[tuple[str, str]]]], nodes: list[str]
) -> Iterator[tuple[list[str], list[str]]]:
    options = [sorted(succ[a][b]) for a, b in zip(nodes, nodes[1:], strict=False)]

    def walk(i: int, edges: list[str], types: list[str]) -> Iterator[tuple[list[str], list[str]]]:
        if i == len(options):
            yield edges, types
            return
        for rel_id, rel_type in options[i]:
            yield from walk(i + 1, edges + [rel_id], types + [rel_type])

    yield from walk(0, [], [])
