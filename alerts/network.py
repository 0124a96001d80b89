"""The network side of an alert snapshot: the rings over a run's ties (the catalogue's rules)
and what an alert's before / after graph shows of a node (`NodeIndex`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from graph.catalogue import RING_CONNECTOR_CAP, RING_MIN_VIOLATING, RING_PERSON_TYPES
from graph.models import Ring
from graph.policy import DEFAULT_DEGREE_CAP
from graph.schema import ENTITY_LABEL_BY_KIND, EVENT_LABEL_BY_TYPE
from runfolder.ids import address_id, phone_id, relation_id, ring_id

# what the ring rules depend on besides the ties (a snapshot made under other rules is stale)
RING_RULES = {"connector_cap": RING_CONNECTOR_CAP, "min_violating": RING_MIN_VIOLATING,
              "degree_cap": DEFAULT_DEGREE_CAP, "person_types": sorted(RING_PERSON_TYPES)}
NODE_COLUMNS = ("id", "label", "text")
_PLAIN_PHONE = re.compile(r"\+?[0-9]+")


def node_frame(entities: pd.DataFrame) -> pd.DataFrame:
    """`id, label, text` (Python objects) of every entity (its label and name) and of every
    Address / Phone node the run's entities derive (the address or phone itself), entities
    first."""
    ids, labels, texts = [], [], []
    for kind, label in ENTITY_LABEL_BY_KIND.items():
        part = entities[entities["kind"] == kind]
        ids += part["entity_id"].astype(str).tolist()
        labels += [label] * len(part)
        texts += part["name"].tolist()
    addresses = entities["address_std"].dropna().astype(str).unique().tolist()
    ids += [address_id(a) for a in addresses]
    labels += ["Address"] * len(addresses)
    texts += addresses
    phones = entities["phone"].dropna().astype(str).unique().tolist()
    ids += ["T" + p.lstrip("+") if _PLAIN_PHONE.fullmatch(p) else phone_id(p) for p in phones]
    labels += ["Phone"] * len(phones)
    texts += phones
    frame = pd.DataFrame({"id": pd.Series(ids, dtype=object),
                          "label": pd.Series(labels, dtype=object),
                          "text": pd.Series([t if isinstance(t, str) else None for t in texts],
                                            dtype=object)})
    return frame.drop_duplicates("id", keep="first").reset_index(drop=True)


class NodeIndex:
    """What a before / after graph shows of a node: its label (Enterprise, Person, Address,
    Phone, an event label) and display text (a name, the address or phone, an event's
    category), and the relationships among a set of nodes. The `id, label, text` frame of
    the entities and connectors (`node_frame`) is read on first use."""

    def __init__(self, nodes: Callable[[], pd.DataFrame], ties: pd.DataFrame,
                 events: pd.DataFrame) -> None:
        self.ties = ties
        self._read_nodes = nodes
        self._frame: pd.DataFrame | None = None
        self._shown: dict[str, tuple[str, str | None]] | None = None
        self._events = events
        self._event_at: dict[str, int] | None = None

    def frame(self) -> pd.DataFrame:
        """The `id, label, text` frame of the run's entities and connectors."""
        if self._frame is None:
            self._frame = self._read_nodes()
        return self._frame

    @property
    def _nodes(self) -> dict[str, tuple[str, str | None]]:
        if self._shown is None:
            frame = self.frame()
            self._shown = dict(zip(frame["id"].tolist(),
                                   zip(frame["label"].tolist(), frame["text"].tolist(),
                                       strict=True), strict=True))
        return self._shown

    def __contains__(self, node: object) -> bool:
        key = str(node)
        return key in self._nodes or bool(self._event(key))

    def _event(self, node: str) -> dict[str, Any] | None:
        if not node.startswith("V"):
            return None
        if self._event_at is None:
            self._event_at = {str(e): i for i, e in enumerate(self._events["event_id"].tolist())}
        at = self._event_at.get(node)
        return None if at is None else dict(self._events.iloc[at])

    def show(self, node: str) -> tuple[str, str]:
        """(label, display text) of a node ("", the ID when unknown)."""
        known = self._nodes.get(node)
        if known is not None:
            return known[0], known[1] or node
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
    the ties (with `src_label` / `dst_label`): enterprises joined by each Person (control
    ties), Address or Phone tying 2 to RING_CONNECTOR_CAP of them, connectors over the
    default degree cap left out; a group of at least 3 with at least RING_MIN_VIOLATING
    violating members is a ring."""
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
