"""The risk query catalogue in Cypher (issue 5): controllers, phoenix firms, hubs, cycles,
beneficial owners and rings, with the orderings of `graph.store.GraphReader`."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date
from typing import Any

from graph import schema
from graph.embedded.catalogue import RING_CONNECTOR_CAP, RING_MIN_VIOLATING, RING_PERSON_TYPES
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
from graph.neo4j.cypher import CONTROL, NETWORK, Cypher, event_from, summary_from
from graph.store import MAX_CYCLE_LENGTH, MAX_PATH_HOPS

PHOENIX_STATUS = ["注销", "吊销", "deregistered", "revoked"]
SHAREHOLDER = schema.check_rel_type("SHAREHOLDER_OF")


def _events(rows: list[dict[str, Any]]) -> list[Event]:
    events = sorted((Event(**r) for r in rows), key=lambda e: e.event_id)
    events.sort(key=lambda e: e.date or date.min, reverse=True)
    return events


class Catalogue:
    def __init__(self, cypher: Cypher) -> None:
        self.cypher = cypher

    def shared_controllers(self, min_firms: int, limit: int) -> list[SharedController]:
        query = f"""
        MATCH (c:Enterprise|Person)-[r:{CONTROL}]->(f:Enterprise)
        WHERE EXISTS {{ (f)-[:SUBJECT_OF]->() }}
        WITH c, f, collect(DISTINCT type(r)) AS roles
        WITH c, f, roles,
             COLLECT {{ MATCH (f)-[:SUBJECT_OF]->(e) RETURN {event_from('e')} }} AS events
        WITH c, collect({{entity_id: f.id, name: coalesce(f.name, f.id), roles: roles,
                          events: events}}) AS firms, sum(size(events)) AS n_events
        WHERE size(firms) >= $min_firms
        RETURN {summary_from('c')} AS controller, firms, size(firms) AS n_firms, n_events
        ORDER BY n_firms DESC, n_events DESC, c.id ASC
        LIMIT $limit
        """
        out = []
        for row in self.cypher.run(query, min_firms=min_firms, limit=max(0, limit)):
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
        blocked = Cypher.blocked("x")
        query = f"""
        MATCH (p:Enterprise)
        WHERE p.status IS NOT NULL AND any(k IN $status WHERE toLower(p.status) CONTAINS k)
        WITH p, [(p)-[:SUBJECT_OF]->(ev) WHERE (ev:Penalty OR ev:Blacklisting)
                 AND ev.date IS NOT NULL | ev.date] AS dates
        WHERE size(dates) > 0
        CALL (p) {{
            MATCH (p)<-[:LEGAL_REP_OF]-(x:Person) WHERE NOT {blocked}
            MATCH (x)-[:LEGAL_REP_OF]->(s:Enterprise) WHERE s <> p
            RETURN s, x, 'legal_rep' AS kind
          UNION
            MATCH (p)<-[:{SHAREHOLDER}]-(x) WHERE NOT {blocked}
            MATCH (x)-[:{SHAREHOLDER}]->(s:Enterprise) WHERE s <> p
            RETURN s, x, 'shareholder' AS kind
          UNION
            MATCH (p)-[:LOCATED_AT]->(x:Address) WHERE NOT {blocked}
            MATCH (x)<-[:LOCATED_AT]-(s:Enterprise) WHERE s <> p
            RETURN s, x, 'address' AS kind
        }}
        WITH p, s, x, kind, [d IN dates WHERE s.established IS NOT NULL
                             AND d <= s.established] AS before
        WHERE size(before) > 0
        RETURN {summary_from('p')} AS pre, {summary_from('s')} AS suc, kind, x.id AS via,
               reduce(m = before[0], d IN before | CASE WHEN d > m THEN d ELSE m END) AS pdate,
               s.established AS est
        """
        pairs: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self.cypher.run(query, status=PHOENIX_STATUS):
            key = (row["pre"]["entity_id"], row["suc"]["entity_id"])
            pair = pairs.setdefault(
                key, {"row": row, "kinds": set(), "via": set()}
            )
            pair["kinds"].add(row["kind"])
            pair["via"].add(row["via"])
        order = ("legal_rep", "shareholder", "address")
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
        query = f"""
        MATCH (h:Address|Phone)<-[:LOCATED_AT|HAS_PHONE]-(e:Enterprise)
        WITH h, collect(DISTINCT e) AS firms
        WHERE size(firms) >= $min
        WITH h, firms, {Cypher.whitelisted('h')} AS whitelisted
        WHERE $include OR NOT whitelisted
        WITH h, firms, whitelisted,
             size([f IN firms WHERE EXISTS {{ (f)-[:SUBJECT_OF]->() }}]) AS n_violating
        RETURN h.id AS hub_id, labels(h)[0] AS kind, coalesce(h.label, h.id) AS label,
               size(firms) AS n_enterprises, n_violating, [f IN firms | f.id] AS enterprises,
               whitelisted
        ORDER BY n_violating DESC, n_enterprises DESC, hub_id ASC
        LIMIT $limit
        """
        rows = self.cypher.run(
            query, min=min_enterprises, include=include_whitelisted, limit=max(0, limit)
        )
        return [Hub(**dict(r, enterprises=sorted(r["enterprises"]))) for r in rows]

    def ownership_cycles(self, max_length: int, limit: int) -> list[Cycle]:
        if not 1 <= max_length <= MAX_CYCLE_LENGTH:
            raise ValueError(f"max_length must be between 1 and {MAX_CYCLE_LENGTH}")
        hops = int(max_length)  # a validated int bound: variable-length patterns take no params
        query = f"""
        MATCH p = (a:Enterprise)-[:{SHAREHOLDER}*1..{hops}]->(a)
        WITH p, [n IN nodes(p) | n.id] AS ids
        WHERE all(i IN ids[1..-1] WHERE i > ids[0])
        RETURN ids[0..-1] AS nodes, [r IN relationships(p) | r.id] AS edges,
               [r IN relationships(p) | r.share_pct] AS shares
        """
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
        hops = int(MAX_PATH_HOPS)
        query = f"""
        MATCH (t:Enterprise|Person {{id: $id}})
        OPTIONAL MATCH p = (o)-[:{SHAREHOLDER}*1..{hops}]->(t)
        WHERE all(r IN relationships(p) WHERE r.share_pct IS NOT NULL)
        RETURN [n IN nodes(p) | n.id] AS nodes, [r IN relationships(p) | r.id] AS edges,
               [r IN relationships(p) | r.share_pct] AS shares, labels(o)[0] AS owner_label,
               [(x)-[r:{SHAREHOLDER}]->(o) WHERE r.share_pct IS NOT NULL | x.id] AS owners_of_o
        """
        rows = self.cypher.run(query, id=entity_id)
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
            reps = self.cypher.run(
                "MATCH (p)-[:LEGAL_REP_OF]->(:Enterprise|Person {id: $id}) "
                f"RETURN {summary_from('p')} AS s ORDER BY p.id LIMIT 1",
                id=entity_id,
            )
            if reps:
                controller = EntitySummary(**reps[0]["s"])
        return BeneficialOwnership(
            entity_id=entity_id, threshold_pct=threshold_pct, owners=owners,
            actual_controller=controller,
        )

    def _summaries(self, ids: list[str]) -> dict[str, EntitySummary]:
        rows = self.cypher.run(
            "UNWIND $ids AS i MATCH (n:Enterprise|Person {id: i}) "
            f"RETURN {summary_from('n')} AS s",
            ids=ids,
        )
        return {r["s"]["entity_id"]: EntitySummary(**r["s"]) for r in rows}

    def rings(self, min_size: int, limit: int) -> list[Ring]:
        person_types = "|".join(schema.check_rel_types(sorted(RING_PERSON_TYPES)))
        query = f"""
        CALL () {{
            MATCH (c:Person) WHERE NOT {Cypher.blocked('c')}
            MATCH (c)-[:{person_types}]-(e:Enterprise)
            RETURN c, e
          UNION
            MATCH (c:Address|Phone) WHERE NOT {Cypher.blocked('c')}
            MATCH (c)-[:{NETWORK}]-(e:Enterprise)
            RETURN c, e
        }}
        WITH c, collect(DISTINCT e.id) AS firms
        WHERE 2 <= size(firms) <= $ring_cap
        RETURN c.id AS connector, firms
        """
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        ties = self.cypher.run(query, ring_cap=RING_CONNECTOR_CAP)
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
            for r in self.cypher.run(
                "UNWIND $ids AS i MATCH (e:Enterprise {id: i}) "
                "WHERE EXISTS { (e)-[:SUBJECT_OF]->() } RETURN e.id AS id",
                ids=sorted(parent),
            )
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
                    ring_id="G" + hashlib.sha1(first.encode()).hexdigest()[:12],
                    enterprises=sorted(members),
                    connectors=sorted(connectors[root]),
                    n_violating=n_violating,
                    size=len(members),
                )
            )
        rings.sort(key=lambda r: (-r.n_violating, -r.size, r.ring_id))
        return rings[: max(0, limit)]
