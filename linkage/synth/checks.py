"""Sanity figures computed from a generated data set's truth tables (no linkage involved).

`risk_signal` shows that the held-out future violations are predictable from the network and
only weakly from a firm's own past: the ROC AUC of an own-events-only baseline and of a simple
network score (own events plus events of firms sharing a person, an address or a phone).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney ROC AUC with ties counted as half."""
    pos = labels.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both positive and negative labels")
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _neighbour_sum(pairs: pd.DataFrame, own: pd.Series) -> pd.Series:
    """For each firm, the summed `own` of the other firms it shares a key with (deduplicated)."""
    links = pairs.merge(pairs, on="key")
    links = links[links["entity_x"] != links["entity_y"]][["entity_x", "entity_y"]]
    links = links.drop_duplicates()
    links["v"] = links["entity_y"].map(own).fillna(0.0)
    return links.groupby("entity_x")["v"].sum()


def risk_signal(truth: Path) -> dict[str, float]:
    """AUCs of the baseline and the network score on the firms active at the cutoff."""
    risk = json.loads((truth / "risk.json").read_text(encoding="utf-8"))
    events = pd.read_csv(truth / "events.csv", dtype=str)
    rel = pd.read_csv(truth / "relations.csv", dtype=str)
    ent = pd.read_csv(truth / "enterprises.csv", dtype=str, keep_default_na=False)
    active = pd.Index(risk["active_at_cutoff"])
    past = events[events["future"] == "false"]
    own = past[past["entity"].str.startswith("ent-")].groupby("entity").size().astype(float)
    person_events = past[past["entity"].str.startswith("per-")].groupby("entity").size()
    people = rel[rel["src"].str.startswith("per-")].rename(columns={"src": "key", "dst": "entity"})
    people = people[["key", "entity"]].drop_duplicates()
    places = pd.concat([
        ent[["entity", "address"]].rename(columns={"address": "key"}),
        ent[["entity", "phone"]].rename(columns={"phone": "key"}),
    ])
    via_people = _neighbour_sum(people, own)
    via_places = _neighbour_sum(places, own)
    with_events = people.assign(v=people["key"].map(person_events).fillna(0))
    listed = with_events.groupby("entity")["v"].sum()
    y = active.isin(risk["future_violators"]).astype(int)
    base = own.reindex(active).fillna(0).to_numpy()
    net = (base + 0.7 * via_people.reindex(active).fillna(0).to_numpy()
           + 0.3 * via_places.reindex(active).fillna(0).to_numpy()
           + 0.5 * listed.reindex(active).fillna(0).to_numpy())
    return {
        "population": float(len(active)),
        "future_violators": float(y.sum()),
        "baseline_auc": roc_auc(base, y),
        "network_auc": roc_auc(net, y),
    }
