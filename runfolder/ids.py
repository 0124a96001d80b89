"""Deterministic identifiers of the things a run folder names (docs/contracts.md, "Identifiers").

Same inputs, same IDs, on every machine: each ID is a one-letter prefix and either the first
12 hex digits of a sha1 or (phones) the E.164 digits.
"""

from __future__ import annotations

import hashlib

ENTITY_PREFIX = {"enterprise": "E", "person": "P"}


def sha12(text: str) -> str:
    """The first 12 hex digits of sha1(text, UTF-8)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def entity_id(kind: str, smallest_mention_id: str, salt: int = 0) -> str:
    """The entity ID minted for a new cluster of `kind` whose smallest mention ID is given
    (`salt` > 0 when that ID is already taken)."""
    key = smallest_mention_id if salt == 0 else f"{smallest_mention_id}#{salt}"
    return ENTITY_PREFIX[kind] + sha12(key)


def relation_id(rel_type: str, src: str, dst: str, mention_id: str) -> str:
    """A relationship: its type, end IDs and the smallest mention asserting it ("" if none)."""
    return "R" + sha12(f"{rel_type}|{src}|{dst}|{mention_id}")


def event_id(event_mention_id: str) -> str:
    return "V" + sha12(event_mention_id)


def address_id(address_std: str) -> str:
    return "A" + sha12(address_std)


def phone_id(phone: str) -> str:
    """A phone node: "T" + the digits of its E.164 form."""
    return "T" + "".join(ch for ch in phone if ch.isdigit())


# the relationships derived from an entity column: (type, the column, the label of the node
# of its value), and the node ID of a value per column
DERIVED = (("LOCATED_AT", "address_std", "Address"), ("HAS_PHONE", "phone", "Phone"))
VALUE_ID = {"address_std": address_id, "phone": phone_id}


def ring_id(smallest_member: str) -> str:
    """A ring of the risk catalogue, named by its smallest member ID."""
    return "G" + sha12(smallest_member)
