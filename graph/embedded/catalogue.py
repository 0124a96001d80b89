"""The risk query catalogue over a `RunNetwork` (pure Python, bounded).

Semantics, orderings and tie-breaks are those documented on `graph.store.GraphReader`; the
Neo4j store must give the same answers. Used by the embedded store and by the risk engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import networkx as nx
from networkx.utils import UnionFind

from graph.catalogue import (
    CONTROLLER_TYPES,
    HUB_TIES,
    MAX_CYCLE_LENGTH,
    MAX_EXPOSURE_HOPS,
    MAX_NEIGHBOURHOOD_DEPTH,
    MAX_PATH_HOPS,
    MIN_CONTROLLED_FIRMS,
    MIN_HUB_ENTERPRISES,
    PENALISING,
    PHOENIX_TIE_AT_TARGET,
    PHOENIX_TIES,
    RING_CONNECTOR_CAP,
    RING_MIN_VIOLATING,
    RING_PERSON_TYPES,
    is_deregistered,
)
from graph.embedded.network import NETWORK, RunNetwork
from graph.models import (
    BeneficialOwner,
    BeneficialOwnership,
    ControlledFirm,
    Cycle,
    ExposureHit,
    GraphEdge,
    GraphNode,
    Hub,
    Path,
    PhoenixPair,
    Ring,
    SharedController,
    Subgraph,
)
from graph.schema import check_rel_types
from runfolder.ids import ring_id

MAX_ENUMERATED_PATHS = 1000
MAX_OWNERSHIP_PATHS = 10_000


def _bounded(value: int, low: int, high: int, name: str) -> int:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _path(net: RunNetwork, nodes: list[str], edges: list[str]) -> Path:
    types = [net.edge_type(e) for e in edges]
    return Path(nodes=nodes, edges=edges, types=types)


def _event_date(net: RunNetwork, node: str) -> str | None:
    """An event node's date as ISO text; None for entities and connectors."""
    if net.label(node) in ("Enterprise", "Person", "Address", "Phone"):
        return None
    value = net.attr(node, "date")
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)


# --- neighbourhood ----------------------------------------------------------------------------
def neighbourhood(
    net: RunNetwork, entity_id: str, depth: int = 1, rel_types: Sequence[str] | None = None,
    node_cap: int = 100,
) -> Subgraph:
    _bounded(depth, 1, MAX_NEIGHBOURHOOD_DEPTH, "depth")
    _bounded(node_cap, 1, 10_000, "node_cap")
    types = frozenset(check_rel_types(list(rel_types) if rel_types else None))
    if entity_id not in net:
        return Subgraph()
    kept = [entity_id]
    seen = {entity_id}
    truncated = False
    layer = [entity_id]
    for _ in range(depth):
        found: set[str] = set()
        for node in layer:
            if node != entity_id and net.blocked(node):
                truncated = True
                continue
            found.update(n for n, _, _ in net.neighbours(node, types) if n not in seen)
        layer = sorted(found)
        seen.update(layer)
        room = node_cap - len(kept)
        if len(layer) > room:
            truncated = True
            layer = layer[:room]
        kept.extend(layer)
        if not layer:
            break
    kept_set = set(kept)
    edges = {
        key: GraphEdge(id=key, type=rtype, source=s, target=d, share_pct=pct,
                       start_date=net.start_date(key))
        for s in kept for d, key, rtype, pct in net.edges_from(s)
        if d in kept_set and rtype in types
    }
    nodes = [
        GraphNode(id=n, kind=net.label(n), label=net.display(n),  # type: ignore[arg-type]
                  risk_level=net.risk_of(n)[1],  # type: ignore[arg-type]
                  violating=n in net.violating, date=_event_date(net, n))
        for n in sorted(kept)
    ]
    return Subgraph(nodes=nodes, edges=[edges[k] for k in sorted(edges)], truncated=truncated)


# --- 1. shared controllers ------------------------------------------------------------------
def shared_controllers(
    net: RunNetwork, min_firms: int = MIN_CONTROLLED_FIRMS, limit: int = 50
) -> list[SharedController]:
    _bounded(min_firms, 1, 1000, "min_firms")
    roles: dict[str, dict[str, set[str]]] = {}
    for firm in net.violating:
        if net.label(firm) != "Enterprise":
            continue
        for rtype in CONTROLLER_TYPES:
            for ctrl, _, _ in net.in_edges(firm, rtype):
                roles.setdefault(ctrl, {}).setdefault(firm, set()).add(rtype)
    ranked = []
    for ctrl, by_firm in roles.items():
        if len(by_firm) < min_firms:
            continue
        n_events = sum(len(net.events.get(f, [])) for f in by_firm)
        ranked.append((-len(by_firm), -n_events, ctrl))
    ranked.sort()
    out = []
    for neg_firms, neg_events, ctrl in ranked[:limit]:
        firms = [
            ControlledFirm(entity_id=f, name=net.display(f), roles=sorted(roles[ctrl][f]),
                           events=net.events.get(f, []))
            for f in sorted(roles[ctrl])
        ]
        out.append(SharedController(controller=net.summary(ctrl), firms=firms,
                                    n_violating_firms=-neg_firms, n_events=-neg_events))
    return out


# --- 2. exposure ----------------------------------------------------------------------------
def shortest_tree(
    net: RunNetwork, start: str, max_hops: int, types: frozenset[str] = NETWORK,
    avoid: Callable[[str], bool] | None = None,
) -> tuple[dict[str, int], dict[str, tuple[str, str]]]:
    """BFS distances and, per node, (parent, edge) of its first shortest path in path ordering
    (nodes for which `avoid` is true are reached but not walked through, like blocked ones)."""
    dist = {start: 0}
    parent: dict[str, tuple[str, str]] = {}
    layer = [start]
    for hop in range(1, max_hops + 1):
        best: dict[str, tuple[int, str, str]] = {}
        for rank, node in enumerate(layer):
            if node != start and (net.blocked(node) or (avoid is not None and avoid(node))):
                continue
            for nbr, edge, _ in net.neighbours(node, types):
                if nbr in dist:
                    continue
                cand = (rank, edge, node)
                if nbr not in best or cand[:2] < best[nbr][:2]:
                    best[nbr] = cand
        if not best:
            break
        layer = sorted(best, key=lambda n: (best[n][0], n))
        for node in layer:
            dist[node] = hop
            parent[node] = (best[node][2], best[node][1])
    return dist, parent


def _walk_back(parent: dict[str, tuple[str, str]], node: str) -> tuple[list[str], list[str]]:
    nodes, edges = [node], []
    while node in parent:
        node, edge = parent[node]
        nodes.append(node)
        edges.append(edge)
    return nodes[::-1], edges[::-1]


def exposure(
    net: RunNetwork, entity_id: str, max_hops: int = 2, limit: int = 50
) -> list[ExposureHit]:
    _bounded(max_hops, 1, MAX_EXPOSURE_HOPS, "max_hops")
    if entity_id not in net:
        return []
    dist, parent = shortest_tree(net, entity_id, max_hops)
    hits = sorted((d, n) for n, d in dist.items() if d > 0 and n in net.violating)
    out = []
    for hops, node in hits[:limit]:
        nodes, edges = _walk_back(parent, node)
        out.append(ExposureHit(
            target=net.summary(node), hops=hops, path=_path(net, nodes, edges),
            event_types=sorted({e.type for e in net.events[node]}),
        ))
    return out


# --- 3. phoenix firms -----------------------------------------------------------------------
def phoenix_firms(net: RunNetwork, limit: int = 50) -> list[PhoenixPair]:
    found: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for pred in sorted(net.violating):
        if net.label(pred) != "Enterprise" or not is_deregistered(net.attr(pred, "status")):
            continue
        dates = [e.date for e in net.events[pred] if e.type in PENALISING and e.date is not None]
        if not dates:
            continue
        ties: list[tuple[str, str, str]] = []  # (tag, via node, successor)
        for tag, rtype in PHOENIX_TIES:
            at_target = rtype in PHOENIX_TIE_AT_TARGET
            for via, _, _ in (net.out_edges(pred, rtype) if at_target
                              else net.in_edges(pred, rtype)):
                if not net.blocked(via):
                    peers = net.in_edges(via, rtype) if at_target else net.out_edges(via, rtype)
                    ties.extend((tag, via, succ) for succ, _, _ in peers)
        for tag, via, succ in ties:
            if succ == pred or net.label(succ) != "Enterprise":
                continue
            est = net.attr(succ, "established")
            if not isinstance(est, date) or min(dates) > est:
                continue
            tags, vias = found.setdefault((pred, succ), (set(), set()))
            tags.add(tag)
            vias.add(via)
    order = tuple(tag for tag, _ in PHOENIX_TIES)
    pairs = []
    for (pred, succ), (tags, vias) in found.items():
        est = net.attr(succ, "established")
        penalty = max(e.date for e in net.events[pred]
                      if e.type in PENALISING and e.date is not None and e.date <= est)
        pairs.append(PhoenixPair(
            predecessor=net.summary(pred), successor=net.summary(succ),
            shared=[t for t in order if t in tags], via=sorted(vias),
            penalty_date=penalty, successor_established=est,
        ))
    pairs.sort(key=lambda p: (p.predecessor.entity_id, p.successor.entity_id))
    pairs.sort(key=lambda p: p.successor_established or date.min, reverse=True)
    return pairs[:limit]


# --- 4. hubs --------------------------------------------------------------------------------
def hubs(net: RunNetwork, min_enterprises: int = MIN_HUB_ENTERPRISES, limit: int = 50,
         include_whitelisted: bool = False) -> list[Hub]:
    _bounded(min_enterprises, 2, 1_000_000, "min_enterprises")
    out = []
    for kind, rtype in HUB_TIES:
        for node in net.nodes_with_label(kind):
            firms = sorted({s for s, _, _ in net.in_edges(node, rtype)
                            if net.label(s) == "Enterprise"})
            if len(firms) < min_enterprises:
                continue
            white = net.whitelisted(node)
            if white and not include_whitelisted:
                continue
            out.append(Hub(hub_id=node, kind=kind, label=net.display(node),  # type: ignore[arg-type]
                           n_enterprises=len(firms), enterprises=firms, whitelisted=white,
                           n_violating=sum(f in net.violating for f in firms)))
    out.sort(key=lambda h: (-h.n_violating, -h.n_enterprises, h.hub_id))
    return out[:limit]


# --- 5. ownership cycles --------------------------------------------------------------------
def ownership_cycles(net: RunNetwork, max_length: int = 4, limit: int = 50) -> list[Cycle]:
    _bounded(max_length, 1, MAX_CYCLE_LENGTH, "max_length")
    owns = nx.DiGraph()
    edge: dict[tuple[str, str], tuple[str, float | None]] = {}
    for s, d, key, pct in net.edges_of_type("SHAREHOLDER_OF"):
        if net.label(s) == "Enterprise":
            if (s, d) not in edge or key < edge[(s, d)][0]:
                edge[(s, d)] = (key, pct)
            owns.add_edge(s, d)
    cycles = []
    for cyc in nx.simple_cycles(owns, length_bound=max_length):
        i = cyc.index(min(cyc))
        nodes = cyc[i:] + cyc[:i]
        pairs = list(zip(nodes, nodes[1:] + nodes[:1], strict=True))
        cycles.append(Cycle(nodes=nodes, edges=[edge[p][0] for p in pairs],
                            share_pcts=[edge[p][1] for p in pairs]))
    cycles.sort(key=lambda c: (len(c.nodes), c.nodes))
    return cycles[:limit]


# --- 6. beneficial owners -------------------------------------------------------------------
def beneficial_owners(net: RunNetwork, entity_id: str,
                      threshold_pct: float = 25.0) -> BeneficialOwnership | None:
    if entity_id not in net or not net.is_entity(entity_id):
        return None
    if not 0 <= threshold_pct <= 100:
        raise ValueError(f"threshold_pct must be between 0 and 100, got {threshold_pct}")
    found: dict[str, list[tuple[float, list[str], list[str]]]] = {}
    stack: list[tuple[list[str], list[str], float]] = [([entity_id], [], 1.0)]
    n_paths = 0
    while stack and n_paths < MAX_OWNERSHIP_PATHS:
        nodes, edges, share = stack.pop()
        node = nodes[-1]
        ups = [(o, k, p) for o, k, p in net.in_edges(node, "SHAREHOLDER_OF")
               if p is not None and o not in nodes]
        if node != entity_id and (not ups or net.label(node) == "Person"):
            found.setdefault(node, []).append((share, nodes[::-1], edges[::-1]))
            n_paths += 1
            continue
        if len(edges) >= MAX_PATH_HOPS:
            continue
        for owner, key, pct in reversed(ups):
            stack.append(([*nodes, owner], [*edges, key], share * float(pct) / 100.0))
    totals = {o: round(sum(p[0] for p in ps) * 100.0, 4) for o, ps in found.items()}
    ranked = sorted(totals, key=lambda o: (-totals[o], o))
    owners = [
        BeneficialOwner(
            owner=net.summary(o), effective_pct=totals[o],
            paths=[_path(net, n, e)
                   for _, n, e in sorted(found[o], key=lambda p: (-p[0], p[1], p[2]))],
        )
        for o in ranked if totals[o] >= threshold_pct
    ]
    controller = None
    if ranked and totals[ranked[0]] > 0:
        controller = net.summary(ranked[0])
    else:
        reps = net.in_edges(entity_id, "LEGAL_REP_OF")
        if reps:
            controller = net.summary(min(r for r, _, _ in reps))
    return BeneficialOwnership(entity_id=entity_id, threshold_pct=threshold_pct, owners=owners,
                               actual_controller=controller)


# --- 7. paths -------------------------------------------------------------------------------
# --- 8. rings -------------------------------------------------------------------------------
def rings(net: RunNetwork, min_size: int = 3, limit: int = 50) -> list[Ring]:
    _bounded(min_size, 2, 1_000_000, "min_size")
    ties = UnionFind()  # enterprises, joined by each connector tying them
    connectors: dict[str, list[str]] = {}
    for node, label in ((n, lb) for lb in ("Person", "Address", "Phone")
                        for n in net.nodes_with_label(lb)):
        if net.blocked(node):
            continue
        types = RING_PERSON_TYPES if label == "Person" else NETWORK
        firms = sorted({n for n, _, _ in net.neighbours(node, types)
                        if net.label(n) == "Enterprise"})
        if not 2 <= len(firms) <= RING_CONNECTOR_CAP:
            continue
        connectors[node] = firms
        ties.union(*firms)
    by_member: dict[str, list[str]] = {}
    for conn, firms in connectors.items():
        by_member.setdefault(ties[firms[0]], []).append(conn)
    out = []
    for group in ties.to_sets():
        n_violating = sum(m in net.violating for m in group)
        if len(group) < min_size or n_violating < RING_MIN_VIOLATING:
            continue
        members = sorted(group)
        out.append(Ring(ring_id=ring_id(members[0]), enterprises=members,
                        connectors=sorted(by_member.get(ties[members[0]], [])),
                        n_violating=n_violating, size=len(members)))
    out.sort(key=lambda r: (-r.n_violating, -r.size, r.ring_id))
    return out[:limit]
