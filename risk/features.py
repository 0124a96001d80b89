"""Graph features of every enterprise on a date, for the learned score (risk/learned.py).

`enterprise_features(tables, as_of, cfg)` takes tables already cut to `as_of`
(`risk.asof.tables_as_of`) and returns one row per enterprise (index `entity_id`), one column per
feature, computed with vectorised pandas (no per-entity walk):
- own history: event counts by type, events in the last year, the recency-weighted severity sum
  (the rule score's own-events term), days since the last event;
- network exposure by hop and relationship type: `n1_<TYPE>` how many neighbours tied by TYPE
  have events themselves (blacklisted persons, penalised holding firms); `n2_<TYPE>_firms` /
  `n2_<TYPE>_weight` how many other enterprises with events sit behind a connector tied by TYPE
  (a person, an address, a phone, a holding firm) and their summed weight; `n4_firms` how many
  more lie two connectors away; `n2_control_recent_events` / `n2_any_recent_events` the events
  of the last two years of the enterprises behind a control tie / any connector; connectors
  above the degree cap are not walked through;
- hub and ring membership: enterprises sharing the address / phone and the share of them with
  events; the size of the enterprise's ring component (enterprises tied by connectors of at most
  `RING_CONNECTOR_CAP` firms, persons through control ties only) and its violating members;
- controllers: controlling persons, the most firms one of them controls and the most of those
  with events, controllers the shared-controller rule names, phoenix predecessors;
- ages: days since establishment and since the newest tie started.
Missing values stay NaN (LightGBM routes them); every column is float.
"""

from __future__ import annotations

from datetime import date

import networkx as nx
import numpy as np
import pandas as pd

from graph.catalogue import CONTROLLER_TYPES, HUB_TIES, RING_CONNECTOR_CAP, RING_PERSON_TYPES
from graph.schema import NETWORK_TYPES
from graph.tables import RunTables
from risk.config import RiskConfig
from risk.score import indicators

EVENT_TYPES = ("PENALTY", "INSPECTION_FAILURE", "BLACKLISTING")
RECENT_DAYS = 730  # "recent" events of related firms: the last two years


def event_weights(tables: RunTables, as_of: date, cfg: RiskConfig) -> pd.DataFrame:
    """Per event: entity_id, type, age in days at `as_of`, weight (severity × recency)."""
    ev = tables.events
    when = pd.to_datetime(ev["date"], errors="coerce")
    age = (pd.Timestamp(as_of) - when).dt.days.clip(lower=0)
    sev = ev["type"].map(cfg.severity).astype("float64").fillna(0.0)
    w: pd.Series = sev * np.power(0.5, age.astype("float64") / cfg.half_life_days)
    return pd.DataFrame({"entity_id": ev["entity_id"].to_numpy(), "type": ev["type"].to_numpy(),
                         "age": age.to_numpy(dtype="float64"), "w": w.fillna(0.0).to_numpy()})


def own_weight(tables: RunTables, as_of: date, cfg: RiskConfig) -> pd.Series:
    """The own-history score: recency-weighted severity of each entity's own events."""
    return event_weights(tables, as_of, cfg).groupby("entity_id")["w"].sum()


def _own(ev: pd.DataFrame, firms: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame(index=firms)
    by = ev.groupby("entity_id")
    out["own_events"] = by.size()
    for kind in EVENT_TYPES:
        out[f"own_{kind.lower()}"] = ev[ev["type"] == kind].groupby("entity_id").size()
    out["own_last_year"] = ev[ev["age"] <= 365].groupby("entity_id").size()
    out["own_weight"] = by["w"].sum()
    out = out.fillna(0.0)
    out["own_days_since_last"] = by["age"].min()
    return out


def _ties(tables: RunTables) -> pd.DataFrame:
    """Every network relationship once: src, dst, type, src_label, dst_label."""
    frames = [tables.rel_frames[r][["src", "dst", "src_label", "dst_label"]].assign(type=r)
              for r in NETWORK_TYPES]
    return pd.concat(frames, ignore_index=True)


def _sides(ties: pd.DataFrame) -> pd.DataFrame:
    """Enterprise-to-connector incidences: firm, conn, type (both directions of every tie)."""
    a = ties[ties["dst_label"] == "Enterprise"].rename(columns={"dst": "firm", "src": "conn"})
    b = ties[ties["src_label"] == "Enterprise"].rename(columns={"src": "firm", "dst": "conn"})
    both = pd.concat([a[["firm", "conn", "type"]], b[["firm", "conn", "type"]]])
    return both.drop_duplicates().reset_index(drop=True)


def _network(sides: pd.DataFrame, weight: pd.Series, recent: pd.Series, firms: pd.Index,
             cfg: RiskConfig) -> pd.DataFrame:
    out = pd.DataFrame(index=firms)
    violating = weight[weight > 0]
    degree = sides.groupby("conn")["firm"].nunique()
    walkable = sides[sides["conn"].map(degree).fillna(0) <= cfg.degree_cap]
    hop1 = sides.assign(v=sides["conn"].isin(violating.index))
    for rtype in NETWORK_TYPES:
        part = hop1[hop1["type"] == rtype]
        out[f"n1_{rtype}"] = part.groupby("firm")["v"].sum()
    pairs = walkable[["firm", "conn", "type"]].merge(
        walkable[["firm", "conn"]].rename(columns={"firm": "other"}), on="conn")
    pairs = pairs[pairs["firm"] != pairs["other"]]
    pairs = pairs.assign(w=pairs["other"].map(violating).fillna(0.0))
    hits = pairs[pairs["w"] > 0]
    for rtype in NETWORK_TYPES:
        part = hits[hits["type"] == rtype].drop_duplicates(["firm", "other"])
        out[f"n2_{rtype}_firms"] = part.groupby("firm").size()
        out[f"n2_{rtype}_weight"] = part.groupby("firm")["w"].sum()
    control = pairs[pairs["type"].isin(list(CONTROLLER_TYPES))].drop_duplicates(["firm", "other"])
    for name, frame in (("control", control), ("any", pairs.drop_duplicates(["firm", "other"]))):
        out[f"n2_{name}_recent_events"] = frame["other"].map(recent).fillna(0.0).groupby(
            frame["firm"]).sum()
    near = pairs[["firm", "other"]].drop_duplicates()
    out["n2_firms"] = near.groupby("firm").size()
    out["n2_violating"] = hits.drop_duplicates(["firm", "other"]).groupby("firm").size()
    small = near[near["firm"].map(near.groupby("firm").size()) <= cfg.degree_cap]
    second = small[small["other"].isin(violating.index)]  # only violating ends count
    far = small.merge(second.rename(columns={"firm": "other", "other": "far"}), on="other")
    far = far[far["far"] != far["firm"]]
    far = far[["firm", "far"]].drop_duplicates().merge(
        near.rename(columns={"other": "far"}), on=["firm", "far"], how="left", indicator=True)
    far = far[far["_merge"] == "left_only"]
    out["n4_firms"] = far.groupby("firm").size()
    return out.fillna(0.0)


def _hubs_rings(sides: pd.DataFrame, weight: pd.Series, firms: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame(index=firms)
    v = sides["firm"].isin(weight[weight > 0].index)
    sides = sides.assign(v=v.astype(float))
    for _, rtype in HUB_TIES:
        part = sides[sides["type"] == rtype]
        stats = part.groupby("conn").agg(n=("firm", "nunique"), nv=("v", "sum"))
        part = part.join(stats, on="conn")
        name = rtype.lower()
        out[f"{name}_shared"] = part.groupby("firm")["n"].max() - 1
        share = (part["nv"] - part["v"]) / (part["n"] - 1).where(part["n"] > 1)
        out[f"{name}_violating_share"] = share.groupby(part["firm"]).max()
    person = sides["type"].isin(list(RING_PERSON_TYPES)) | sides["type"].isin(
        [r for _, r in HUB_TIES])
    ring = sides[person]
    size = ring.groupby("conn")["firm"].nunique()
    ring = ring[ring["conn"].map(size).between(2, RING_CONNECTOR_CAP)]
    g = nx.Graph()
    g.add_edges_from(zip("c:" + ring["conn"], "f:" + ring["firm"], strict=True))
    violating = set(weight[weight > 0].index)
    size_of: dict[str, float] = {}
    others: dict[str, float] = {}
    for comp in nx.connected_components(g):
        members = [n[2:] for n in comp if n.startswith("f:")]
        n_viol = sum(m in violating for m in members)
        for m in members:
            size_of[m] = len(members)
            others[m] = n_viol - (m in violating)
    out["ring_size"] = pd.Series(size_of, dtype=float)
    out["ring_violating"] = pd.Series(others, dtype=float)
    return out


def _controllers(tables: RunTables, weight: pd.Series, firms: pd.Index,
                 cfg: RiskConfig) -> pd.DataFrame:
    out = pd.DataFrame(index=firms)
    ctl = pd.concat([tables.rel_frames[r][["src", "dst", "src_label", "dst_label"]]
                     for r in CONTROLLER_TYPES])
    ctl = ctl[(ctl["src_label"] == "Person") & (ctl["dst_label"] == "Enterprise")]
    ctl = ctl[["src", "dst"]].drop_duplicates()
    ctl = ctl.assign(v=ctl["dst"].isin(weight[weight > 0].index))
    per = ctl.groupby("src").agg(n=("dst", "size"), nv=("v", "sum"))
    ctl = ctl.join(per, on="src")
    by = ctl.groupby("dst")
    out["controllers"] = by.size()
    out["controller_max_firms"] = by["n"].max()
    other_v = ctl["nv"] - ctl["v"].astype(int)
    out["controller_max_violating"] = other_v.groupby(ctl["dst"]).max()
    found = indicators(tables, cfg)
    named = ctl[ctl["src"].isin(set(found.controllers))]
    out["shared_controllers"] = named.groupby("dst").size()
    pred: dict[str, int] = {}
    for _, successor in found.phoenix:
        pred[successor] = pred.get(successor, 0) + 1
    out["phoenix_predecessors"] = pd.Series(pred, dtype=float)
    return out.fillna(0.0)


def _ages(tables: RunTables, as_of: date, firms: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame(index=firms)
    ent = tables.entities.set_index("entity_id")
    est = pd.to_datetime(ent["established"], errors="coerce").reindex(firms)
    out["age_days"] = (pd.Timestamp(as_of) - est).dt.days.astype("float64")
    rel = tables.relations[tables.relations["dst"].isin(firms)]
    start = pd.to_datetime(rel["start_date"], errors="coerce")
    newest = start.groupby(rel["dst"]).max()
    out["days_since_new_tie"] = (pd.Timestamp(as_of) - newest).dt.days.reindex(firms)
    return out.astype("float64")


def enterprise_features(tables: RunTables, as_of: date, cfg: RiskConfig,
                        firms: list[str] | None = None) -> pd.DataFrame:
    """One row per enterprise (`firms`, default all of `tables`), one float column per feature."""
    ent = tables.entities
    index = pd.Index(firms if firms is not None else
                     sorted(ent.loc[ent["kind"] == "enterprise", "entity_id"].astype(str)),
                     name="entity_id")
    ev = event_weights(tables, as_of, cfg)
    weight = ev.groupby("entity_id")["w"].sum()
    recent = ev[ev["age"] <= RECENT_DAYS].groupby("entity_id").size().astype(float)
    sides = _sides(_ties(tables))
    parts = [_own(ev, index), _network(sides, weight, recent, index, cfg),
             _hubs_rings(sides, weight, index), _controllers(tables, weight, index, cfg),
             _ages(tables, as_of, index)]
    return pd.concat(parts, axis=1).astype("float64")
