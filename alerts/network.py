"""The network side of an alert snapshot: the rings over a run's ties (the catalogue's rules)
and what an alert's before / after graph shows of a node (`NodeIndex`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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


def string_table(frame: pd.DataFrame, columns: tuple[str, ...]) -> pa.Table:
    """These columns of a frame as an Arrow table of `string` columns (how a snapshot holds
    its relationships and nodes, built or read back)."""
    return pa.table({c: pa.array(frame[c].tolist(), pa.string()) for c in columns})


def _value_set(nodes: Iterable[str]) -> pa.Array:
    return pa.array(list(dict.fromkeys(nodes)), pa.string())


def ties_touching(ties: pa.Table, nodes: Iterable[str], *, both: bool = False) -> pa.Table:
    """The relationships with one end (`both`: both ends) among these nodes."""
    wanted = _value_set(nodes)
    src, dst = pc.is_in(ties["src"], value_set=wanted), pc.is_in(ties["dst"], value_set=wanted)
    return ties.filter(pc.and_(src, dst) if both else pc.or_(src, dst))


class NodeIndex:
    """What a before / after graph shows of a node: its label (Enterprise, Person, Address,
    Phone, an event label) and display text (a name, the address or phone, an event's
    category), and the relationships among a set of nodes. The `id, label, text` table of
    the entities and connectors (`node_frame`) is read on first use; nodes are looked up in
    batches (`prefetch`), so drawing many alerts costs one pass over the run."""

    def __init__(self, nodes: Callable[[], pa.Table], ties: pa.Table,
                 events: pd.DataFrame) -> None:
        self.ties = ties
        self._read_nodes = nodes
        self._table: pa.Table | None = None
        self._known: dict[str, tuple[str, str | None] | None] = {}
        self._near: pa.Table | None = None  # the relationships among `_near_nodes`
        self._near_nodes: set[str] = set()
        self._events = events
        self._event_at: dict[str, int] | None = None
        self._subject_of: dict[str, list[tuple[str, Any]]] | None = None

    def table(self) -> pa.Table:
        """The `id, label, text` table of the run's entities and connectors."""
        if self._table is None:
            self._table = self._read_nodes()
        return self._table

    def prefetch(self, nodes: Iterable[str]) -> None:
        """Look these nodes up at once, and the relationships among them."""
        wanted = list(dict.fromkeys(nodes))
        self._lookup(wanted)
        self._among(set(wanted))

    def _lookup(self, nodes: list[str]) -> None:
        wanted = [n for n in nodes if n not in self._known]
        if not wanted:
            return
        table = self.table()
        hit = table.filter(pc.is_in(table["id"], value_set=_value_set(wanted)))
        for node, label, text in zip(hit["id"].to_pylist(), hit["label"].to_pylist(),
                                     hit["text"].to_pylist(), strict=True):
            self._known.setdefault(node, (label, text))
        for node in wanted:
            self._known.setdefault(node, None)

    def _among(self, nodes: set[str]) -> pa.Table:
        if self._near is None or not nodes <= self._near_nodes:
            self._near_nodes |= nodes
            self._near = ties_touching(self.ties, self._near_nodes, both=True)
        return self._near

    def _shown(self, node: str) -> tuple[str, str | None] | None:
        if node not in self._known:
            self._lookup([node])
        return self._known[node]

    def __contains__(self, node: object) -> bool:
        key = str(node)
        return self._shown(key) is not None or bool(self._event(key))

    def _event_rows(self) -> dict[str, list[tuple[str, Any]]]:
        """event ID -> (entity ID, mention ID) of its rows."""
        if self._subject_of is None:
            self._subject_of = {}
            ev = self._events
            for v, e, m in zip(ev["event_id"].tolist(), ev["entity_id"].tolist(),
                               ev["mention_id"].tolist(), strict=True):
                self._subject_of.setdefault(str(v), []).append((str(e), m))
        return self._subject_of

    def _event(self, node: str) -> dict[str, Any] | None:
        if not node.startswith("V"):
            return None
        if self._event_at is None:
            self._event_at = {str(e): i for i, e in enumerate(self._events["event_id"].tolist())}
        at = self._event_at.get(node)
        return None if at is None else dict(self._events.iloc[at])

    def show(self, node: str) -> tuple[str, str]:
        """(label, display text) of a node ("", the ID when unknown)."""
        known = self._shown(node)
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
        hit = ties_touching(self._among(wanted), wanted, both=True)
        out = list(zip(hit["id"].to_pylist(), hit["type"].to_pylist(), hit["src"].to_pylist(),
                       hit["dst"].to_pylist(), strict=True))
        for v in wanted:
            for e, m in self._event_rows().get(v, []):
                if e in wanted:
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
    from scipy.sparse import coo_matrix  # deriving a snapshot only, not reading one
    from scipy.sparse.csgraph import connected_components

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
