"""The catalogue's semantics, shared by both stores: bounds, ring rules and ring IDs, phoenix
rules. `graph.store.GraphReader` documents each query; the embedded catalogue
(`graph.embedded.catalogue`) and the Cypher one (`graph.neo4j.catalogue`) take every number
and rule from here, and the contract tests hold their answers equal.
"""

from __future__ import annotations

import hashlib

from graph.schema import CONTROL_TYPES

# --- bounds of the walks (validated by every store, and by the API's query parameters) ---
MAX_NEIGHBOURHOOD_DEPTH = 3
MAX_EXPOSURE_HOPS = 4
MAX_PATH_HOPS = 6  # also the longest ownership chain `beneficial_owners` follows
MAX_CYCLE_LENGTH = 6

# --- rings ---------------------------------------------------------------------------------
RING_CONNECTOR_CAP = 10  # a connector tying more enterprises is a hub, not a ring tie
RING_MIN_VIOLATING = 2  # "containing violators": at least two
RING_PERSON_TYPES = frozenset(CONTROL_TYPES)  # declarants (brokers) do not tie a ring


def ring_id(smallest_member: str) -> str:
    """A ring's ID: "G" + the first 12 hex digits of sha1(its smallest member ID)."""
    return "G" + hashlib.sha1(smallest_member.encode("utf-8")).hexdigest()[:12]


# --- phoenix firms ---------------------------------------------------------------------------
# a predecessor has one of these events (Penalty, Blacklisting) ...
PENALISING = frozenset({"PENALTY", "BLACKLISTING"})
# ... and a status containing one of these (case-insensitive)
DEREGISTERED = ("注销", "吊销", "deregistered", "revoked")
