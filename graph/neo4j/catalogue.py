"""The risk query catalogue in Cypher (issue 5): controllers, phoenix firms, hubs, cycles,
beneficial owners and rings, with the orderings of `graph.store.GraphReader` and the rules
and thresholds of `graph.catalogue`; the queries are written whole in `graph.neo4j.queries`."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from graph import schema
from graph.catalogue import (
    DEREGISTERED,
    MAX_CYCLE_LENGTH,
    PHOENIX_TIES,
    RING_CONNECTOR_CAP,
    RING_MIN_VIOLATING,
)
from graph.models import (
    BeneficialOwner,
    BeneficialOwnership,
    ControlledFirm,
    Cycle,
    EntitySummary,
    Event,
    Hub,
    Path,
    PhoenixPair,
    Ring,
    SharedController,
)
from graph.neo4j import queries as q
from graph.neo4j.cypher import Cypher
from graph.neo4j.template import fill
from runfolder.ids import ring_id

SHAREHOLDER = schema.check_rel_type("SHAREHOLDER_OF")


def _events(rows: list[dict[str, Any]]) -> list[Event]:
    events = sorted((Event(**r) for r in rows), key=lambda e: e.event_id)
    events.sort(key=lambda e: e.date or date.min, reverse=True)
    return events


class Catalogue:
    def __init__(self, cypher: Cypher) -> None:
        self.cypher = cypher

    def shared_controllers(self, min_firms: int, limit: int) -> list[SharedController]:
        out = []
        for row in self.cypher.run(q.SHARED_CONTROLLERS, min_firms=min_firms,
                                   limit=max(0, limit)):
            firms = [
                ControlledFirm(
                    entity_id=f["entity_id"],
                    name=f["name"],
                    roles=sorted(f["roles"]),
                    events=_events(f["events"]),
                )
                for f in sorted(row["firms"], key=lambda f: f["entity_id"])
            ]
            out.append(
                SharedController(
                    controller=EntitySummary(**row["controller"]),
                    firms=firms,
                    n_violating_firms=row["n_firms"],
                    n_events=row["n_events"],
                )
            )
        return out

    def phoenix_firms(self, limit: int) -> list[PhoenixPair]:
        pairs: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self.cypher.run(q.PHOENIX, status=list(DEREGISTERED)):
            key = (row["pre"]["entity_id"], row["suc"]["entity_id"])
            pair = pairs.setdefault(
                key, {"row": row, "kinds": set(), "via": set()}
            )
            pair["kinds"].add(row["kind"])
            pair["via"].add(row["via"])
        order = tuple(tag for tag, _ in PHOENIX_TIES)
        out = [
            PhoenixPair(
                predecessor=EntitySummary(**p["row"]["pre"]),
                successor=EntitySummary(**p["row"]["suc"]),
                shared=[k for k in order if k in p["kinds"]],
                via=sorted(p["via"]),
                penalty_date=p["row"]["pdate"],
                successor_established=p["row"]["est"],
            )
            for p in pairs.values()
        ]
        out.sort(key=lambda p: (p.predecessor.entity_id, p.successor.entity_id))
        out.sort(key=lambda p: p.successor_established or date.min, reverse=True)
        return out[: max(0, limit)]

    def hubs(self, min_enterprises: int, limit: int, include_whitelisted: bool) -> list[Hub]:
        rows = self.cypher.run(
            q.HUBS, min=min_enterprises, include=include_whitelisted, limit=max(0, limit)
        )
        return [Hub(**dict(r, enterprises=sorted(r["enterprises"]))) for r in rows]

    def ownership_cycles(self, max_length: int, limit: int) -> list[Cycle]:
        if not 1 <= max_length <= MAX_CYCLE_LENGTH:
            raise ValueError(f"max_length must be between 1 and {MAX_CYCLE_LENGTH}")
        hops = int(max_length)  # a validated int bound: variable-length patterns take no params
        query = fill(q.OWNERSHIP_CYCLES, hops=hops)
        # parallel holdings between one pair: the smallest relationship ID stands for the pair
        cycles: dict[tuple[str, ...], list[tuple[str, float | None]]] = {}
        for row in self.cypher.run(query):
            nodes = tuple(row["nodes"])
            if len(set(nodes)) != len(nodes):
                continue  # not a simple cycle
            steps = list(zip(row["edges"], row["shares"], strict=True))
            if nodes in cycles:
                steps = [min(a, b, key=lambda s: s[0]) for a, b in
                         zip(cycles[nodes], steps, strict=True)]
            cycles[nodes] = steps
        ordered = sorted(
            (
                Cycle(nodes=list(n), edges=[e for e, _ in st], share_pcts=[p for _, p in st])
                for n, st in cycles.items()
            ),
            key=lambda c: (len(c.nodes), c.nodes),
        )
        return ordered[: max(0, limit)]

    def beneficial_owners(
        self, entity_id: str, threshold_pct: float
    ) -> BeneficialOwnership | None:
        rows = self.cypher.run(q.OWNERSHIP_PATHS, id=entity_id)
        if not rows:
            return None
        effective: dict[str, float] = defaultdict(float)
        paths: dict[str, list[tuple[float, Path]]] = defaultdict(list)
        for row in rows:
            nodes = row["nodes"]
            if not nodes or len(set(nodes)) != len(nodes):
                continue
            owner = nodes[0]
            extends = [x for x in row["owners_of_o"] if x not in nodes]
            if row["owner_label"] != "Person" and extends:
                continue  # not a terminal owner on this path
            share = 1.0
            for pct in row["shares"]:
                share *= pct / 100.0
            effective[owner] += share
            edges = row["edges"]
            paths[owner].append(
                (share, Path(nodes=nodes, edges=edges, types=[SHAREHOLDER] * len(edges)))
            )
        pct = {o: round(v * 100.0, 4) for o, v in effective.items()}
        summaries = self._summaries(sorted(pct))
        owners = [
            BeneficialOwner(
                owner=summaries[o],
                effective_pct=pct[o],
                paths=[p for _, p in sorted(paths[o], key=lambda sp: (-sp[0], sp[1].nodes,
                                                                     sp[1].edges))],
            )
            for o in sorted(pct, key=lambda o: (-pct[o], o))
            if pct[o] >= threshold_pct
        ]
        controller = None
        top = min(pct, key=lambda o: (-pct[o], o)) if pct else None
        if top is not None and pct[top] > 0:
            controller = summaries[top]
        else:
            reps = self.cypher.run(q.LEGAL_REPRESENTATIVE, id=entity_id)
            if reps:
                controller = EntitySummary(**reps[0]["s"])
        return BeneficialOwnership(
            entity_id=entity_id, threshold_pct=threshold_pct, owners=owners,
            actual_controller=controller,
        )

    def _summaries(self, ids: list[str]) -> dict[str, EntitySummary]:
        rows = self.cypher.run(q.SUMMARIES, ids=ids)
        return {r["s"]["entity_id"]: EntitySummary(**r["s"]) for r in rows}

    def rings(self, min_size: int, limit: int) -> list[Ring]:
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        ties = self.cypher.run(q.RING_TIES, ring_cap=RING_CONNECTOR_CAP)
        for row in ties:
            firms = row["firms"]
            for other in firms[1:]:
                a, b = find(firms[0]), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        groups: dict[str, list[str]] = defaultdict(list)
        for node in list(parent):
            groups[find(node)].append(node)
        violators = {
            r["id"]
            for r in self.cypher.run(q.VIOLATING_ENTERPRISES, ids=sorted(parent))
        }
        connectors: dict[str, set[str]] = defaultdict(set)
        for row in ties:
            connectors[find(row["firms"][0])].add(row["connector"])
        rings = []
        for root, members in groups.items():
            n_violating = sum(m in violators for m in members)
            if len(members) < min_size or n_violating < RING_MIN_VIOLATING:
                continue
            first = min(members)
            rings.append(
                Ring(
                    ring_id=ring_id(first),
                    enterprises=sorted(members),
                    connectors=sorted(connectors[root]),
                    n_violating=n_violating,
                    size=len(members),
                )
            )
        rings.sort(key=lambda r: (-r.n_violating, -r.size, r.ring_id))
        return rings[: max(0, limit)]
