"""What the alert comparison reads of one run folder (never the graph stores).

A `RunSnapshot` holds, for one scored run: each entity's stored score and level, the network
ties (relationship ID, type, src, dst; LOCATED_AT / HAS_PHONE derived as the graph derives
them), the violating and blacklisted entities and their events, the phoenix predecessors and
hubs named by the stored risk reasons, the rings each enterprise belongs to (the catalogue's
`rings`, computed here over the ties with the same rules), the changelog's lineage, the
linkage evidence of merged entities (read on demand) and what the alerts' before / after
graphs show of a node (`NodeIndex`: label and display text, as the embedded graph shows them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from graph.catalogue import RING_CONNECTOR_CAP, RING_MIN_VIOLATING, RING_PERSON_TYPES
from graph.models import Ring
from graph.policy import DEFAULT_DEGREE_CAP
from graph.schema import ENTITY_LABEL_BY_KIND, EVENT_LABEL_BY_TYPE, NETWORK_TYPES
from graph.tables import load_run
from graph.worklist import parse_reasons
from runfolder.folder import has_table, read_table, read_table_arrow
from runfolder.ids import address_id, phone_id, relation_id, ring_id

MAX_EVIDENCE = 3


@dataclass
class RunSnapshot:
    run_dir: Path
    run_id: str
    score: dict[str, float]
    level: dict[str, str]
    ties: pd.DataFrame  # id, type, src, dst, src_label, dst_label (one row per relationship)
    events: dict[str, list[tuple[str, str]]]  # entity -> [(event_id, type)]
    phoenix: dict[str, list[tuple[list[str], list[str]]]]  # successor -> (nodes, edges)
    hubs: dict[str, list[tuple[list[str], list[str]]]]  # entity -> (nodes, edges) per hub
    lineage: pd.DataFrame  # change, entity_id, previous_ids
    rings: dict[str, Ring] = field(default_factory=dict)  # enterprise -> its ring
    n_mentions: dict[str, int] = field(default_factory=dict)
    nodes: NodeIndex | None = None

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


def _reason_index(run_dir: Path) -> tuple[Paths, Paths]:
    """Per entity, the (nodes, edges) paths of its stored phoenix and hub reasons."""
    phoenix: Paths = {}
    hubs: Paths = {}
    risk = read_table_arrow(run_dir, "risk", ("entity_id", "reasons"))
    text = pc.fill_null(risk["reasons"], "")
    wanted = pc.match_substring_regex(text, '"rule": "(?:phoenix|hub)"')
    chosen = risk.filter(wanted)
    for entity, raw in zip(chosen["entity_id"].to_pylist(), chosen["reasons"].to_pylist(),
                           strict=True):
        for reason in parse_reasons(raw):
            nodes = [str(n) for n in reason.get("path_nodes") or []]
            edges = [str(e) for e in reason.get("path_edges") or []]
            if reason.get("rule") == "phoenix" and len(nodes) >= 3:
                phoenix.setdefault(str(entity), []).append((nodes, edges))
            elif reason.get("rule") == "hub" and len(nodes) >= 2:
                hubs.setdefault(str(entity), []).append((nodes, edges))
    return phoenix, hubs


class NodeIndex:
    """What a before / after graph shows of a node: its label (Enterprise, Person, Address,
    Phone, an event label) and display text (a name, the address or phone, an event's
    category), and the relationships among a set of nodes."""

    def __init__(self, ties: pd.DataFrame, entities: pd.DataFrame, events: pd.DataFrame) -> None:
        self.ties = ties
        self.label: dict[str, str] = {}
        self.text: dict[str, str] = {}
        for kind, label in ENTITY_LABEL_BY_KIND.items():
            part = entities[entities["kind"] == kind]
            self.label.update(dict.fromkeys(part["entity_id"].astype(str), label))
        names = entities.dropna(subset=["name"])
        self.text.update(zip(names["entity_id"].astype(str), names["name"].astype(str),
                             strict=True))
        self._entities = entities
        self._connectors: dict[str, str] | None = None  # connector ID -> its value, on demand
        self._events = events
        self._event_at: dict[str, int] | None = None

    def _connector(self, node: str) -> str | None:
        """The address or phone of a connector ID (the map built on first use)."""
        if node[:1] not in ("A", "T"):
            return None
        if self._connectors is None:
            self._connectors = {}
            for value in self._entities["address_std"].dropna().astype(str).unique().tolist():
                self._connectors[address_id(value)] = value
            phones = pd.Series(self._entities["phone"].dropna().astype(str).unique(),
                               dtype=object)
            plain = phones.str.fullmatch(r"\+?[0-9]+").fillna(False).astype(bool)
            ids = "T" + phones.str.lstrip("+")
            ids[~plain] = phones[~plain].map(phone_id)
            self._connectors.update(zip(ids.tolist(), phones.tolist(), strict=True))
        return self._connectors.get(node)

    def __contains__(self, node: object) -> bool:
        key = str(node)
        return (key in self.label or self._connector(key) is not None
                or bool(self._event(key)))

    def _event(self, node: str) -> dict[str, Any] | None:
        if not node.startswith("V"):
            return None
        if self._event_at is None:
            self._event_at = {str(e): i for i, e in enumerate(self._events["event_id"])}
        at = self._event_at.get(node)
        return None if at is None else dict(self._events.iloc[at])

    def show(self, node: str) -> tuple[str, str]:
        """(label, display text) of a node ("", the ID when unknown)."""
        if node in self.label:
            return self.label[node], self.text.get(node) or node
        value = self._connector(node)
        if value is not None:
            return ("Address" if node.startswith("A") else "Phone"), value
        ev = self._event(node)
        if ev is None:
            return "", node
        label = EVENT_LABEL_BY_TYPE.get(str(ev["type"]), "")
        category = ev.get("category")
        return label, str(category) if isinstance(category, str) and category else label

    def edges_among(self, nodes: list[str]) -> list[tuple[str, str, str, str]]:
        """(id, type, src, dst) of every relationship between two of these nodes (events:
        SUBJECT_OF from their entity), by source then (target, relationship ID)."""
        wanted = set(nodes)
        t = self.ties
        hit = t[t["src"].isin(wanted) & t["dst"].isin(wanted)]
        out = list(zip(hit["id"], hit["type"], hit["src"], hit["dst"], strict=True))
        ev = self._events[self._events["event_id"].isin(wanted)
                          & self._events["entity_id"].isin(wanted)]
        for e, v, m in zip(ev["entity_id"], ev["event_id"], ev["mention_id"], strict=True):
            mention = m if isinstance(m, str) else ""
            out.append((relation_id("SUBJECT_OF", e, v, mention), "SUBJECT_OF", e, v))
        return sorted(((str(i), str(ty), str(a), str(b)) for i, ty, a, b in out),
                      key=lambda r: (r[2], r[3], r[0]))


def find_rings(ties: pd.DataFrame, violating: set[str]) -> list[Ring]:
    """The catalogue's rings (`graph.embedded.catalogue.rings`, min size 3, no limit) over
    the ties: enterprises joined by each Person (control ties), Address or Phone tying 2 to
    RING_CONNECTOR_CAP of them, connectors over the default degree cap left out; a group of at
    least 3 with at least RING_MIN_VIOLATING violating members is a ring."""
    degree = pd.concat([ties["src"], ties["dst"]], ignore_index=True).value_counts()
    half = pd.concat([
        pd.DataFrame({"node": ties["src"], "other": ties["dst"], "label": ties["src_label"],
                      "other_label": ties["dst_label"], "type": ties["type"]}),
        pd.DataFrame({"node": ties["dst"], "other": ties["src"], "label": ties["dst_label"],
                      "other_label": ties["src_label"], "type": ties["type"]}),
    ], ignore_index=True)
    person = half["label"] == "Person"
    half = half[(half["other_label"] == "Enterprise")
                & ((person & half["type"].isin(RING_PERSON_TYPES))
                   | half["label"].isin(("Address", "Phone")))]
    half = half[half["node"].map(degree) <= DEFAULT_DEGREE_CAP]
    pairs = half[["node", "other"]].drop_duplicates()
    counts = pairs["node"].value_counts()
    keep = counts[(counts >= 2) & (counts <= RING_CONNECTOR_CAP)].index
    pairs = pairs[pairs["node"].isin(keep)]
    if pairs.empty:
        return []
    ids, codes = np.unique(np.concatenate([pairs["node"].to_numpy(dtype=object),
                                           pairs["other"].to_numpy(dtype=object)]).astype(str),
                           return_inverse=True)
    n = len(pairs)
    graph = coo_matrix((np.ones(n), (codes[:n], codes[n:])), shape=(len(ids), len(ids)))
    _, comp = connected_components(graph, directed=False)
    firms = set(pairs["other"].astype(str))
    groups: dict[int, tuple[list[str], list[str]]] = {}
    for node, c in zip(ids.tolist(), comp.tolist(), strict=True):
        members, connectors = groups.setdefault(c, ([], []))
        (members if node in firms else connectors).append(node)
    out = []
    for members, connectors in groups.values():
        n_violating = sum(m in violating for m in members)
        if len(members) < 3 or n_violating < RING_MIN_VIOLATING:
            continue
        members.sort()
        out.append(Ring(ring_id=ring_id(members[0]), enterprises=members,
                        connectors=sorted(connectors), n_violating=n_violating,
                        size=len(members)))
    out.sort(key=lambda r: (-r.n_violating, -r.size, r.ring_id))
    return out


def read_snapshot(run_dir: Path) -> RunSnapshot:
    """The snapshot of a scored run folder; FileNotFoundError names what is missing."""
    run_dir = Path(run_dir)
    if not (run_dir / "risk.parquet").is_file():
        raise FileNotFoundError(f"{run_dir}: no risk.parquet (score the run first)")
    tables = load_run(run_dir, lean=True)
    risk = read_table(run_dir, "risk", ("entity_id", "score", "level"))
    ties = pd.concat(
        [tables.rel_frames[t][["id", "src", "dst", "src_label", "dst_label"]].assign(type=t)
         for t in NETWORK_TYPES],
        ignore_index=True,
    )
    events: dict[str, list[tuple[str, str]]] = {}
    ev = tables.events.sort_values(["entity_id", "event_id"])
    for entity, event, etype in zip(ev["entity_id"], ev["event_id"], ev["type"], strict=True):
        events.setdefault(str(entity), []).append((str(event), str(etype)))
    phoenix, hubs = _reason_index(run_dir)
    lineage = (read_table(run_dir, "changelog", ("change", "entity_id", "previous_ids"))
               if has_table(run_dir, "changelog")
               else pd.DataFrame(columns=["change", "entity_id", "previous_ids"]))
    ents = tables.entities
    n_mentions = dict(zip(ents["entity_id"].astype(str), ents["n_mentions"].fillna(1).astype(int),
                          strict=True))
    nodes_in = set(ents["entity_id"].astype(str))
    violating = {e for e in events if e in nodes_in}
    ring_of = {m: ring for ring in find_rings(ties, violating) for m in ring.enterprises}
    return RunSnapshot(
        run_dir=run_dir, run_id=tables.run_id,
        score=dict(zip(risk["entity_id"].astype(str), risk["score"].astype(float), strict=True)),
        level=dict(zip(risk["entity_id"].astype(str), risk["level"].astype(str), strict=True)),
        ties=ties, events=events, phoenix=phoenix, hubs=hubs, lineage=lineage,
        rings=ring_of, n_mentions=n_mentions,
        nodes=NodeIndex(ties, ents[["entity_id", "kind", "name", "address_std", "phone"]],
                        tables.events[["event_id", "entity_id", "type", "category",
                                       "mention_id"]]),
    )
