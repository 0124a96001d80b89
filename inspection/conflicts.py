"""Inspectors drawn for the targets, never one connected to the firm.

A conflict: the inspector's person node reaches the firm within two relationships over
CONFLICT_TYPES (legal representative, shareholder, director / supervisor / manager, customs
declarant, shared registered address, shared phone), in either direction - e.g. the inspector
is the firm's legal representative (one hop), lives at its registered address or shares its
phone (two hops through the Address / Phone node), or holds a share of its shareholder (two
hops). Read through `GraphReader` only (`neighbourhood` for the reach, `paths` for the
explanation), so the embedded and Neo4j stores answer alike. Like every walk, a node blocked
by the walk policy (a hub over the degree cap, or a whitelisted registered-agent address) is
reached but not walked through: a mass registration address is not a personal tie.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from graph.models import Path
from graph.store import GraphReader
from inspection.draw import DrawnTarget, key
from inspection.roster import ResolvedInspector

CONFLICT_TYPES = ("LEGAL_REP_OF", "SHAREHOLDER_OF", "DIRECTOR_OF", "SUPERVISOR_OF",
                  "MANAGER_OF", "DECLARANT_FOR", "LOCATED_AT", "HAS_PHONE")
CONFLICT_HOPS = 2
NODE_CAP = 10_000


class Conflict(BaseModel):
    """An inspector excluded from a firm, and why (the connecting path)."""

    entity_id: str
    inspector: str
    person_id: str
    path: Path


def connected(store: GraphReader, person_id: str, firms: set[str]) -> dict[str, Path]:
    """The firms of `firms` within CONFLICT_HOPS of the person, each with a shortest path."""
    reach = store.neighbourhood(person_id, depth=CONFLICT_HOPS, rel_types=CONFLICT_TYPES,
                                node_cap=NODE_CAP)
    near = {n.id for n in reach.nodes} & firms
    if len(reach.nodes) >= NODE_CAP:  # cut by the cap: ask for every firm (fail closed)
        near = set(firms)
    out: dict[str, Path] = {}
    for firm in sorted(near):
        found = store.paths(person_id, firm, max_hops=CONFLICT_HOPS, rel_types=CONFLICT_TYPES,
                            limit=1)
        if found:
            out[firm] = found[0]
    return out


def find_conflicts(store: GraphReader, inspectors: Iterable[ResolvedInspector],
                   firms: set[str]) -> list[Conflict]:
    """Every (firm, inspector) pair of the draw that is connected, ordered by firm, inspector."""
    out = []
    for inspector in inspectors:
        for person_id in inspector.person_ids:
            for firm, path in connected(store, person_id, firms).items():
                out.append(Conflict(entity_id=firm, inspector=inspector.code,
                                    person_id=person_id, path=path))
    return sorted(out, key=lambda c: (c.entity_id, c.inspector, c.person_id))


def assign(targets: list[DrawnTarget], inspectors: list[ResolvedInspector],
           conflicts: list[Conflict], per_target: int, seed: int) -> list[str]:
    """Fill each target's `inspectors` (in entity ID order: the eligible, unconflicted ones with
    the fewest targets so far, then the lowest key). Returns the IDs of targets left with fewer
    inspectors than asked (every eligible one was conflicted or the roster is too small)."""
    eligible = [i for i in inspectors if i.eligible]
    blocked = {(c.entity_id, c.inspector) for c in conflicts}
    load = {i.code: 0 for i in eligible}
    short = []
    for target in sorted(targets, key=lambda t: t.entity_id):
        free = [i.code for i in eligible if (target.entity_id, i.code) not in blocked]
        free.sort(key=lambda code: (load[code],
                                    key(seed, f"inspector:{target.entity_id}", code), code))
        target.inspectors = sorted(free[:per_target])
        for code in target.inspectors:
            load[code] += 1
        if len(target.inspectors) < per_target:
            short.append(target.entity_id)
    return short
