"""What the catalogue's shared-controller, phoenix and hub rules mean, declared once.

The embedded catalogue, the Neo4j catalogue and the risk score's vectorised rules
(`risk.score`) all read these; the store contract suite holds the two catalogues equal and
tests/risk/test_risk_rules.py holds the risk score's rules equal to the catalogue's answers.
"""

from __future__ import annotations

from graph.schema import CONTROL_TYPES

# --- shared controllers: a CONTROL_TYPES relationship to >= MIN_CONTROLLED_FIRMS violating
# enterprises (violating: with at least one event)
CONTROLLER_TYPES: tuple[str, ...] = CONTROL_TYPES
MIN_CONTROLLED_FIRMS = 2

# --- phoenix pairs: a deregistered predecessor with a penalising event and a successor
# established on or after one of those event dates, tied by a node that is not blocked
PENALISING_EVENTS: tuple[str, ...] = ("PENALTY", "BLACKLISTING")
DEREGISTERED_MARKERS: tuple[str, ...] = ("注销", "吊销", "deregistered", "revoked")
# (tag, relationship type) in the order `PhoenixPair.shared` lists them: the tie is the
# relationship's source (a person or owner) for the first two, its target (an address) for
# LOCATED_AT
PHOENIX_TIES: tuple[tuple[str, str], ...] = (
    ("legal_rep", "LEGAL_REP_OF"), ("shareholder", "SHAREHOLDER_OF"), ("address", "LOCATED_AT"),
)
PHOENIX_TIE_AT_TARGET = frozenset({"LOCATED_AT"})

# --- hubs: an Address / Phone tied to >= MIN_HUB_ENTERPRISES enterprises, not whitelisted
HUB_TIES: tuple[tuple[str, str], ...] = (("Address", "LOCATED_AT"), ("Phone", "HAS_PHONE"))
MIN_HUB_ENTERPRISES = 5


def is_deregistered(status: object) -> bool:
    """A status naming deregistration or revocation (case-insensitive substring)."""
    if not isinstance(status, str):
        return False
    lowered = status.lower()
    return any(marker in lowered for marker in DEREGISTERED_MARKERS)
