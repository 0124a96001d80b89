"""What the alert comparison reads of one run folder (never the graph stores).

A `RunSnapshot` holds, for one scored run: each entity's stored score and level, the network
ties (relationship ID, type, src, dst; LOCATED_AT / HAS_PHONE derived as the graph derives
them), the violating and blacklisted entities and their events, the phoenix predecessors and
hubs named by the stored risk reasons, the rings each enterprise belongs to (the catalogue's
`rings` over the run's network), the changelog's lineage, the linkage evidence of merged
entities (read on demand) and the run's network itself (node labels and display texts,
directed relationships: the alerts' before / after graphs are read from it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from graph.embedded.catalogue import rings as find_rings
from graph.embedded.network import RunNetwork
from graph.models import Ring
from graph.schema import NETWORK_TYPES
from graph.tables import load_run
from graph.worklist import parse_reasons
from runfolder.folder import has_table, read_table

MAX_EVIDENCE = 3


@dataclass
class RunSnapshot:
    run_dir: Path
    run_id: str
    score: dict[str, float]
    level: dict[str, str]
    ties: pd.DataFrame  # id, type, src, dst (one row per relationship, as stored)
    events: dict[str, list[tuple[str, str]]]  # entity -> [(event_id, type)]
    phoenix: dict[str, list[tuple[list[str], list[str]]]]  # successor -> (nodes, edges)
    hubs: dict[str, list[tuple[list[str], list[str]]]]  # entity -> (nodes, edges) per hub
    lineage: pd.DataFrame  # change, entity_id, previous_ids
    rings: dict[str, Ring] = field(default_factory=dict)  # enterprise -> its ring
    n_mentions: dict[str, int] = field(default_factory=dict)
    network: RunNetwork | None = None

    @cached_property
    def violating(self) -> set[str]:
        return set(self.events)

    @cached_property
    def blacklisted(self) -> set[str]:
        return {e for e, evs in self.events.items() if any(t == "BLACKLISTING" for _, t in evs)}

    def evidence(self, entity_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Up to MAX_EVIDENCE linkage evidence rows of each of these entities that has any."""
        wanted = set(entity_ids)
        if not wanted or not has_table(self.run_dir, "evidence"):
            return {}
        ev = read_table(self.run_dir, "evidence", ("entity_id", "mention_id_l", "mention_id_r",
                                                   "method", "match_probability"))
        ev = ev[ev["entity_id"].isin(wanted)].sort_values(
            ["entity_id", "mention_id_l", "mention_id_r"])
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in ev.to_dict("records"):
            rows = out[str(row["entity_id"])]
            if len(rows) < MAX_EVIDENCE:
                rows.append({k: row[k] for k in ("mention_id_l", "mention_id_r", "method",
                                                 "match_probability")})
        return dict(out)


Paths = dict[str, list[tuple[list[str], list[str]]]]


def _reason_index(risk: pd.DataFrame) -> tuple[Paths, Paths]:
    """Per entity, the (nodes, edges) paths of its stored phoenix and hub reasons."""
    phoenix: Paths = {}
    hubs: Paths = {}
    text = risk["reasons"].fillna("")
    wanted = text.str.contains('"rule": "phoenix"', regex=False) | text.str.contains(
        '"rule": "hub"', regex=False)
    for entity, raw in zip(risk.loc[wanted, "entity_id"], text[wanted], strict=True):
        for reason in parse_reasons(raw):
            nodes = [str(n) for n in reason.get("path_nodes") or []]
            edges = [str(e) for e in reason.get("path_edges") or []]
            if reason.get("rule") == "phoenix" and len(nodes) >= 3:
                phoenix.setdefault(str(entity), []).append((nodes, edges))
            elif reason.get("rule") == "hub" and len(nodes) >= 2:
                hubs.setdefault(str(entity), []).append((nodes, edges))
    return phoenix, hubs


def read_snapshot(run_dir: Path) -> RunSnapshot:
    """The snapshot of a scored run folder; FileNotFoundError names what is missing."""
    run_dir = Path(run_dir)
    if not (run_dir / "risk.parquet").is_file():
        raise FileNotFoundError(f"{run_dir}: no risk.parquet (score the run first)")
    tables = load_run(run_dir, lean=True)
    risk = read_table(run_dir, "risk", ("entity_id", "score", "level", "reasons"))
    ties = pd.concat(
        [tables.rel_frames[t][["id", "src", "dst"]].assign(type=t) for t in NETWORK_TYPES],
        ignore_index=True,
    )
    events: dict[str, list[tuple[str, str]]] = {}
    ev = tables.events.sort_values(["entity_id", "event_id"])
    for entity, event, etype in zip(ev["entity_id"], ev["event_id"], ev["type"], strict=True):
        events.setdefault(str(entity), []).append((str(event), str(etype)))
    phoenix, hubs = _reason_index(risk)
    lineage = (read_table(run_dir, "changelog", ("change", "entity_id", "previous_ids"))
               if has_table(run_dir, "changelog")
               else pd.DataFrame(columns=["change", "entity_id", "previous_ids"]))
    ents = tables.entities
    n_mentions = dict(zip(ents["entity_id"].astype(str), ents["n_mentions"].fillna(1).astype(int),
                          strict=True))
    # the network takes the node and relationship frames over (the ties are copied above)
    net = RunNetwork(tables)
    ring_of = {m: ring for ring in find_rings(net, limit=len(net.ids)) for m in ring.enterprises}
    return RunSnapshot(
        run_dir=run_dir, run_id=tables.run_id,
        score=dict(zip(risk["entity_id"].astype(str), risk["score"].astype(float), strict=True)),
        level=dict(zip(risk["entity_id"].astype(str), risk["level"].astype(str), strict=True)),
        ties=ties, events=events, phoenix=phoenix, hubs=hubs, lineage=lineage,
        rings=ring_of, n_mentions=n_mentions, network=net,
    )
