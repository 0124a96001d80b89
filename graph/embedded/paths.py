"""Shortest paths for the embedded store (graph.store.GraphReader.paths): distinct node
sequences, each step with every relationship between its two nodes in its real direction,
hubs (graph.policy.PATH_HUB_MIN_ENTERPRISES) not passed through unless asked."""

from __future__ import annotations

from collections.abc import Sequence

from graph.catalogue import HUB_TIES, MAX_PATH_HOPS
from graph.embedded.catalogue import shortest_tree
from graph.embedded.network import RunNetwork
from graph.labels import labels
from graph.models import Path, PathStep, StepRelation
from graph.policy import PATH_HUB_MIN_ENTERPRISES
from graph.schema import check_rel_types

MAX_ENUMERATED_PATHS = 1000
_HUB_TYPES = frozenset(t for _, t in HUB_TIES)
_HUB_LABELS = frozenset(label for label, _ in HUB_TIES)


def is_hub(net: RunNetwork, node: str) -> bool:
    """An Address / Phone tied to at least PATH_HUB_MIN_ENTERPRISES enterprises."""
    if net.label(node) not in _HUB_LABELS:
        return False
    firms = {n for n, _, _ in net.neighbours(node, _HUB_TYPES) if net.label(n) == "Enterprise"}
    return len(firms) >= PATH_HUB_MIN_ENTERPRISES


def step(net: RunNetwork, a: str, b: str, types: frozenset[str]) -> PathStep:
    """Every relationship of `types` between a and b, by relationship ID, in its direction."""
    lab = labels()
    rels = [(e, t, a, b) for d, e, t, _ in net.edges_from(a) if d == b and t in types]
    if a != b:
        rels += [(e, t, b, a) for d, e, t, _ in net.edges_from(b) if d == a and t in types]
    rels.sort()
    return PathStep(a=a, b=b, relations=[
        StepRelation(id=e, type=t, type_label=lab.relationship(t), source=s, target=d)
        for e, t, s, d in rels])


def paths(net: RunNetwork, source_id: str, target_id: str, max_hops: int = 4,
          rel_types: Sequence[str] | None = None, limit: int = 5, *,
          avoid_hubs: bool = False) -> list[Path]:
    if not 1 <= max_hops <= MAX_PATH_HOPS:
        raise ValueError(f"max_hops must be between 1 and {MAX_PATH_HOPS}, got {max_hops}")
    if not 1 <= limit <= 1000:
        raise ValueError(f"limit must be between 1 and 1000, got {limit}")
    types = frozenset(check_rel_types(list(rel_types) if rel_types else None))
    if source_id not in net or target_id not in net:
        return []
    if source_id == target_id:
        return [Path(nodes=[source_id], edges=[], types=[])]
    hubs: dict[str, bool] = {}

    def avoid(node: str) -> bool:
        if not avoid_hubs:
            return False
        if node not in hubs:
            hubs[node] = is_hub(net, node)
        return hubs[node]

    dist_s, _ = shortest_tree(net, source_id, max_hops, types, avoid)
    if target_id not in dist_s:
        return []
    total = dist_s[target_id]
    dist_t, _ = shortest_tree(net, target_id, total, types, avoid)
    found: list[list[str]] = []

    def walk(nodes: list[str]) -> None:
        node = nodes[-1]
        if node == target_id:
            found.append(list(nodes))
            return
        if len(found) >= MAX_ENUMERATED_PATHS or (
                node != source_id and (net.blocked(node) or avoid(node))):
            return
        at = len(nodes)
        for nbr in sorted({n for n, _, _ in net.neighbours(node, types)}):
            if dist_s.get(nbr) == at and dist_t.get(nbr) == total - at:
                walk([*nodes, nbr])

    walk([source_id])
    found.sort()
    out = []
    for nodes in found[:limit]:
        steps = [step(net, a, b, types) for a, b in zip(nodes, nodes[1:], strict=False)]
        out.append(Path(nodes=nodes, edges=[s.relations[0].id for s in steps],
                        types=[s.relations[0].type for s in steps], steps=steps))
    return out
