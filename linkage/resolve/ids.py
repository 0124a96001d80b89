"""Stable entity IDs and their lineage across reruns.

A new cluster is named `E`/`P` + the first 12 hex digits of sha1(smallest mention ID). With a
previous run, clusters and previous entities are paired by maximum overlap of their mention
sets (greedy, largest overlap first, each side used once); a paired cluster keeps the
previous ID. Every cluster gets a changelog row: `new` (no mention seen before), `kept`,
`merged` (mentions of several previous entities) or `split` (its previous entity's mentions
now sit in several clusters); previous entities with no mention left are `removed`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

PREFIX = {"enterprise": "E", "person": "P"}
CHANGELOG_COLUMNS = ("change", "entity_id", "previous_ids")


def mint(kind: str, smallest_mention_id: str, salt: int = 0) -> str:
    """The entity ID minted for a cluster whose smallest mention ID is given."""
    key = smallest_mention_id if salt == 0 else f"{smallest_mention_id}#{salt}"
    return PREFIX[kind] + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


@dataclass
class Assignment:
    entity_of: np.ndarray  # entity ID per mention (input order)
    changelog: pd.DataFrame  # change, entity_id, previous_ids


def assign_ids(
    mention_ids: pd.Series,
    kinds: pd.Series,
    labels: np.ndarray,
    previous: pd.DataFrame | None = None,
) -> Assignment:
    """Name clusters (`labels`, one per mention) and compute lineage against `previous`
    (columns `mention_id`, `entity_id`)."""
    frame = pd.DataFrame({
        "mention_id": mention_ids.astype(str).to_numpy(),
        "kind": kinds.astype(str).to_numpy(),
        "label": labels,
    })
    clusters = frame.groupby("label", sort=False).agg(
        smallest=("mention_id", "min"), kind=("kind", "first")
    )
    name: dict[int, str] = {}
    prev_ids_of: dict[int, list[str]] = {}
    split_old: set[str] = set()
    previous_all: set[str] = set()
    removed: list[str] = []

    if previous is not None and len(previous):
        prev = previous[["mention_id", "entity_id"]].astype(str)
        previous_all = set(prev["entity_id"])
        joined = frame.merge(prev, on="mention_id", how="inner")
        overlap = joined.groupby(["label", "entity_id"], sort=False).size().reset_index(name="n")
        overlap["smallest"] = clusters.loc[overlap["label"], "smallest"].to_numpy()
        overlap = overlap.sort_values(
            ["n", "smallest", "entity_id"], ascending=[False, True, True], kind="stable"
        )
        used_old: set[str] = set()
        for label, old in zip(overlap["label"], overlap["entity_id"], strict=True):
            if label in name or old in used_old:
                continue
            if old[:1] != PREFIX[str(clusters.at[label, "kind"])]:
                continue
            name[int(label)] = old
            used_old.add(old)
        for key, group in overlap.groupby("label", sort=False):
            prev_ids_of[int(cast(Any, key))] = sorted(group["entity_id"])
        spread = overlap.groupby("entity_id")["label"].nunique()
        split_old = set(spread[spread > 1].index)
        removed = sorted(previous_all - set(overlap["entity_id"]))

    taken = set(name.values()) | previous_all
    ordered = clusters.sort_values("smallest")
    for label, kind, smallest in zip(
        ordered.index, ordered["kind"], ordered["smallest"], strict=True
    ):
        if int(label) in name:
            continue
        salt = 0
        candidate = mint(kind, smallest)
        while candidate in taken:
            salt += 1
            candidate = mint(kind, smallest, salt)
        name[int(label)] = candidate
        taken.add(candidate)

    rows: list[dict[str, object]] = []
    for label in clusters.index:
        olds = prev_ids_of.get(int(label), [])
        if not olds:
            change = "new"
        elif len(olds) > 1:
            change = "merged"
        elif olds[0] in split_old:
            change = "split"
        else:
            change = "kept"
        rows.append({"change": change, "entity_id": name[int(label)], "previous_ids": olds})
    for old in removed:
        rows.append({"change": "removed", "entity_id": None, "previous_ids": [old]})
    changelog = pd.DataFrame(rows, columns=list(CHANGELOG_COLUMNS))
    entity_of = np.asarray([name[int(lb)] for lb in labels], dtype=object)
    return Assignment(entity_of, changelog)
