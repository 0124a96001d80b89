"""The catalogue's semantics, shared by both stores and the risk score: bounds, ring rules,
shared-controller, phoenix and hub rules. `graph.store.GraphReader` documents each query; the
embedded catalogue (`graph.embedded.catalogue`) and the Cypher one (`graph.neo4j.catalogue`)
take every number and rule from here, and the contract tests hold their answers equal; the
risk score's vectorised controller / phoenix / hub rules (`risk.score`) read the same ones,
and tests/risk/test_risk_rules.py holds them equal to the catalogue's answers. Ring IDs are
minted by `runfolder.ids.ring_id`.
"""

from __future__ import annotations

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


# --- phoenix firms ---------------------------------------------------------------------------
# a predecessor has one of these events (Penalty, Blacklisting) ...
PENALISING = frozenset({"PENALTY", "BLACKLISTING"})
# ... and a status containing one of these (case-insensitive)
DEREGISTERED = ("注销", "吊销", "deregistered", "revoked")
# ... and the successor is tied to it by one of these, in the order `PhoenixPair.shared` lists
# them: (tag, relationship type); the tying node is the relationship's source (a person or
# owner of both) except for the types in PHOENIX_TIE_AT_TARGET (an address of both)
PHOENIX_TIES: tuple[tuple[str, str], ...] = (
    ("legal_rep", "LEGAL_REP_OF"), ("shareholder", "SHAREHOLDER_OF"), ("address", "LOCATED_AT"),
)
PHOENIX_TIE_AT_TARGET = frozenset({"LOCATED_AT"})


def is_deregistered(status: object) -> bool:
    """A status naming deregistration or revocation (case-insensitive substring)."""
    return isinstance(status, str) and any(k in status.lower() for k in DEREGISTERED)


# --- shared controllers: a CONTROLLER_TYPES relationship to >= min_firms violating enterprises
CONTROLLER_TYPES: tuple[str, ...] = CONTROL_TYPES
MIN_CONTROLLED_FIRMS = 2  # the default min_firms (and the risk score's threshold)

# --- hubs: an Address / Phone tied to >= min_enterprises enterprises by these relationships
HUB_TIES: tuple[tuple[str, str], ...] = (("Address", "LOCATED_AT"), ("Phone", "HAS_PHONE"))
MIN_HUB_ENTERPRISES = 5  # the default min_enterprises (and of the risk score's hub rule)
