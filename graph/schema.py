"""The one definition of the relationship graph: labels, relationship types, keys, properties.

Constraint setup, the Neo4j loader, the embedded store and every query read this module.
Labels and relationship types used in Cypher come only from here (a whitelist), never from
user input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = 1
KEY = "id"  # every node label is keyed by a unique `id`


@dataclass(frozen=True)
class NodeType:
    label: str
    id_prefix: str
    properties: tuple[str, ...]
    searchable: bool = False
    is_event: bool = False


@dataclass(frozen=True)
class RelType:
    type: str
    src: tuple[str, ...]
    dst: tuple[str, ...]
    properties: tuple[str, ...] = ()
    control: bool = False  # counts as control / involvement for risk queries
    description: str = ""


_ENTITY_PROPS = (
    "name", "names", "name_pinyin", "uscc", "customs_code", "reg_no", "id_number", "phone",
    "address", "address_std", "province", "city", "district", "established", "status",
    "birth_date", "n_mentions", "sources", "mention_ids",
)
_EVENT_PROPS = (
    "date", "category", "amount", "description", "source", "record_id", "mention_ids",
)

NODE_TYPES: dict[str, NodeType] = {
    n.label: n
    for n in (
        NodeType("Enterprise", "E", _ENTITY_PROPS, searchable=True),
        NodeType("Person", "P", _ENTITY_PROPS, searchable=True),
        NodeType("Address", "A", ("label", "address_std", "province", "city", "district")),
        NodeType("Phone", "T", ("label", "phone")),
        NodeType("Penalty", "V", _EVENT_PROPS, is_event=True),
        NodeType("InspectionFailure", "V", _EVENT_PROPS, is_event=True),
        NodeType("Blacklisting", "V", _EVENT_PROPS, is_event=True),
    )
}

ENTITY_LABELS = ("Enterprise", "Person")
EVENT_LABELS = ("Penalty", "InspectionFailure", "Blacklisting")
EVENT_LABEL_BY_TYPE = {
    "PENALTY": "Penalty",
    "INSPECTION_FAILURE": "InspectionFailure",
    "BLACKLISTING": "Blacklisting",
}
ENTITY_LABEL_BY_KIND = {"enterprise": "Enterprise", "person": "Person"}

_REL_PROPS = ("start_date", "end_date", "mention_ids", "sources")

REL_TYPES: dict[str, RelType] = {
    r.type: r
    for r in (
        RelType("LEGAL_REP_OF", ("Person",), ("Enterprise",), _REL_PROPS, control=True,
                description="legal representative (法定代表人) of"),
        RelType("SHAREHOLDER_OF", ("Person", "Enterprise"), ("Enterprise",),
                _REL_PROPS + ("share_pct",), control=True,
                description="holds a share (持股比例, %) of"),
        RelType("DIRECTOR_OF", ("Person",), ("Enterprise",), _REL_PROPS + ("role",), control=True,
                description="director (董事) of"),
        RelType("SUPERVISOR_OF", ("Person",), ("Enterprise",), _REL_PROPS + ("role",),
                control=True, description="supervisor (监事) of"),
        RelType("MANAGER_OF", ("Person",), ("Enterprise",), _REL_PROPS + ("role",), control=True,
                description="manager (经理) of"),
        RelType("DECLARANT_FOR", ("Person",), ("Enterprise",), _REL_PROPS,
                description="customs declarant (申报人) for"),
        RelType("LOCATED_AT", ("Enterprise", "Person"), ("Address",), ("mention_ids",),
                description="registered address"),
        RelType("HAS_PHONE", ("Enterprise", "Person"), ("Phone",), ("mention_ids",),
                description="contact phone"),
        RelType("SUBJECT_OF", ("Enterprise", "Person"), EVENT_LABELS, ("mention_ids",),
                description="subject of a penalty, failed inspection or blacklisting"),
    )
}

CONTROL_TYPES = tuple(t for t, r in REL_TYPES.items() if r.control)
# relationships walked by network queries (events are attached, not walked through)
NETWORK_TYPES = tuple(t for t in REL_TYPES if t != "SUBJECT_OF")
# relationships between two entities: the relations table's rows (the others are derived
# from the entities' addresses, phones and events)
ENTITY_REL_TYPES = tuple(t for t, r in REL_TYPES.items()
                         if set(r.src + r.dst) <= set(ENTITY_LABELS))

FULLTEXT_INDEX = "entity_names"
FULLTEXT_PROPS = ("name", "name_pinyin")


@dataclass(frozen=True)
class Constraint:
    name: str
    label: str
    prop: str = KEY
    extra_indexes: tuple[str, ...] = field(default_factory=tuple)


def constraints() -> list[Constraint]:
    """One uniqueness constraint per label on `id`, plus lookup indexes for identifiers."""
    out = []
    for label in NODE_TYPES:
        extra: tuple[str, ...] = ()
        if label in ENTITY_LABELS:
            extra = ("uscc", "customs_code", "id_number", "reg_no")
        out.append(Constraint(f"{label.lower()}_id", label, KEY, extra))
    return out


def check_label(label: str) -> str:
    if label not in NODE_TYPES:
        raise ValueError(f"unknown node label {label!r}")
    return label


def check_rel_type(rel_type: str) -> str:
    if rel_type not in REL_TYPES:
        raise ValueError(f"unknown relationship type {rel_type!r}")
    return rel_type


def check_rel_types(rel_types: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Validate a user-supplied relationship filter against the whitelist (None = network)."""
    if not rel_types:
        return NETWORK_TYPES
    return tuple(check_rel_type(t) for t in rel_types)
