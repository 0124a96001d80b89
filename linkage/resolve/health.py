"""Whether a trained model did its job: links offered and accepted, prior, a loud warning.

A model that collapsed (a prior of 1e-7 from too few sure pairs) offers no links, and one that
over-fits offers every compared pair; either would otherwise go unnoticed. `model_health` is
written per kind into `report.json` (`resolution.model_health`, and each model's summary) and
the HTML report, and each warning is logged.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)

# A model accepting fewer links than NOTHING x its records (on at least MIN_RECORDS records)
# "accepts almost nothing". One offering (nearly) every pair blocking made it compare
# (EVERY_PAIR, on at least MIN_PAIRS pairs), or accepting so many links that its records
# collapse into a few entities (EVERYTHING x its records), "accepts almost everything":
# blocking keeps pairs that share a name or an identifier, and many of those differ.
NOTHING = 0.002
EVERY_PAIR = 0.995
EVERYTHING = 0.9
MIN_RECORDS = 100
MIN_PAIRS = 1000


class _Scored(Protocol):
    model: dict[str, Any]
    pairs_compared: int


def model_health(kind: str, records: int, scored: _Scored, offered: int,
                 accepted: int) -> dict[str, Any]:
    """Links offered / accepted by the `kind` model, its prior, and a warning (or None)."""
    prior = scored.model.get("probability_two_random_records_match")
    pairs = int(scored.pairs_compared)
    warning = None
    if records >= MIN_RECORDS and accepted < max(1.0, NOTHING * records):
        warning = (f"the {kind} model accepted {accepted} links among {records} records "
                   f"({pairs} pairs compared, prior {_fmt(prior)}): it may have collapsed")
    elif ((pairs >= MIN_PAIRS and offered >= EVERY_PAIR * pairs)
          or (records >= MIN_RECORDS and accepted >= EVERYTHING * records)):
        warning = (f"the {kind} model offered {offered} links for {pairs} compared pairs and "
                   f"accepted {accepted} among {records} records (prior {_fmt(prior)}): "
                   "it accepts almost everything")
    if warning is not None:
        log.warning("%s", warning)
    return {
        "records": records,
        "pairs_compared": pairs,
        "links_offered": offered,
        "links_accepted": accepted,
        "prior": prior,
        "warning": warning,
    }


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, (int, float)) else str(value)
