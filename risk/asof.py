"""A run's tables as they stood on a date: what a score computed on that date could have known.

`tables_as_of(tables, as_of)` keeps only what is dated on or before `as_of` (the *known* part of
an honest backtest; everything after it is the *future* the score is measured against):
- events dated on or before `as_of` (an undated event cannot be placed and is left out);
- mentions whose `record_date` is on or before `as_of` or missing (undated registry rows are
  assumed known; a row dated later, such as a later penalty decision, is not);
- entities with at least one kept mention and not established after `as_of`;
- relationships between kept entities that had started (`start_date` missing or ≤ `as_of`),
  had not ended (`end_date` missing or > `as_of`) and are backed by at least one kept mention;
- evidence rows between kept mentions;
- an enterprise's status only when it is dated: a deregistered / revoked status stands when the
  enterprise's legal-representative ties all ended on or before `as_of` (the registry's
  deregistration date is the end of that tie); otherwise the status is unknown (null), since the
  run's status is the one at its end and would leak the future.

The linkage itself (which mentions form an entity) and the entities' attributes are the run's:
they are not re-derived as of the date. Only dates in the run folder are used, so any agency's
run can be cut this way.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graph.catalogue import is_deregistered
from graph.tables import RunTables

LEGAL_REP = "LEGAL_REP_OF"


def _isin(values: pd.Series, allowed: pd.Series) -> pd.Series:
    """`values.isin(allowed)` for string columns, through Arrow (much faster than pandas'):
    no Python set of the allowed values is built (iterating a string column is slow)."""
    value_set = pa.array(allowed, type=pa.string(), from_pandas=True).drop_null().unique()
    mask = pc.is_in(pa.array(values, type=pa.string(), from_pandas=True), value_set=value_set)
    return pd.Series(mask.fill_null(False).to_numpy(zero_copy_only=False), index=values.index)


def _dates(values: pd.Series) -> pd.Series:
    """A date column as datetime64 (unreadable values become NaT)."""
    return pd.to_datetime(values, errors="coerce")


def known_mentions(mentions: pd.DataFrame, as_of: date) -> np.ndarray:
    """Mask of mentions known on `as_of` (record date missing or not later)."""
    when = _dates(mentions["record_date"])
    return (when.isna() | (when <= pd.Timestamp(as_of))).to_numpy()


def _dated_status(entities: pd.DataFrame, relations: pd.DataFrame, as_of: date) -> pd.Series:
    """Each entity's status as known on `as_of` (see the module docstring)."""
    cut = pd.Timestamp(as_of)
    rep = relations[relations["type"] == LEGAL_REP]
    end = _dates(rep["end_date"])
    started = _dates(rep["start_date"])
    open_ = (end.isna() | (end > cut)) & (started.isna() | (started <= cut))
    by_firm = pd.DataFrame({"dst": rep["dst"].to_numpy(), "ended": (~open_).to_numpy(),
                            "dated_end": (end <= cut).to_numpy()})
    agg = by_firm.groupby("dst").agg(all_ended=("ended", "all"), any_dated=("dated_end", "any"))
    closed = set(agg.index[agg["all_ended"] & agg["any_dated"]])
    dereg = entities["status"].map(is_deregistered).astype(bool)
    keep = ~dereg | entities["entity_id"].isin(closed)
    return entities["status"].where(keep, None)


def tables_as_of(tables: RunTables, as_of: date, *, scores_only: bool = False) -> RunTables:
    """A new RunTables holding only what was known on `as_of` (no risk table).
    `scores_only`: without the entities' and relationships' provenance lists (`mention_ids`,
    `sources`: null), which scores and features never read but deriving graph rows sorts."""
    cut = pd.Timestamp(as_of)
    mentions = tables.mentions[known_mentions(tables.mentions, as_of)]
    kept_mentions = mentions["mention_id"]
    ent = tables.entities
    established = _dates(ent["established"])
    seen = _isin(ent["entity_id"], mentions["entity_id"])
    entities = ent[seen & (established.isna() | (established <= cut))].copy()
    alive = entities["entity_id"]
    rel = tables.relations
    start, end = _dates(rel["start_date"]), _dates(rel["end_date"])
    listed = rel["mention_ids"].explode()
    # a relation without provenance (no mention IDs) is kept
    hit = _isin(listed.astype(object), kept_mentions) | listed.isna()
    backed = hit.groupby(level=0).any().reindex(rel.index, fill_value=True).to_numpy()
    current = ((start.isna() | (start <= cut)) & (end.isna() | (end > cut))).to_numpy()
    ends = (_isin(rel["src"], alive) & _isin(rel["dst"], alive)).to_numpy()
    relations = rel[current & ends & backed]
    entities["status"] = _dated_status(entities, rel[_isin(rel["dst"], alive)], as_of)
    ev = tables.events
    when = _dates(ev["date"])
    events = ev[(when <= cut).to_numpy() & _isin(ev["entity_id"], alive).to_numpy()]
    evidence = tables.evidence
    if len(evidence):
        evidence = evidence[_isin(evidence["mention_id_l"], kept_mentions)
                            & _isin(evidence["mention_id_r"], kept_mentions)]
    if scores_only:
        relations = relations.assign(mention_ids=None, sources=None)
        entities = entities.assign(mention_ids=None, sources=None)
    report = {**tables.report, "as_of": as_of.isoformat()}
    return RunTables(run_dir=tables.run_dir, report=report,
                     mentions=mentions.reset_index(drop=True),
                     entities=entities.reset_index(drop=True),
                     relations=relations.reset_index(drop=True),
                     events=events.reset_index(drop=True),
                     evidence=evidence.reset_index(drop=True), risk=None, lean=tables.lean)


def violations_between(tables: RunTables, after: date, until: date) -> set[str]:
    """Entities with at least one event dated in (`after`, `until`]."""
    when = _dates(tables.events["date"])
    hit = (when > pd.Timestamp(after)) & (when <= pd.Timestamp(until))
    return set(tables.events.loc[hit.to_numpy(), "entity_id"])


def active_enterprises(known: RunTables) -> list[str]:
    """Enterprises of as-of tables not deregistered or revoked by then (the draw population)."""
    ent = known.entities
    firms = ent[(ent["kind"] == "enterprise")
                & ~ent["status"].map(is_deregistered).astype(bool)]
    return sorted(firms["entity_id"].astype(str))
