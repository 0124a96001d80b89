"""Why mentions were merged: one evidence row per accepted link (a spanning-tree edge).

Splink links carry, per comparison, the level reached, its partial match weight (including
any term-frequency adjustment) and the two compared values; exact-identifier, context and
judgement links carry the fact that justified them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, cast

import pandas as pd

from linkage.resolve.cluster import Link
from linkage.resolve.models import SPECS, Kind

EVIDENCE_COLUMNS = (
    "entity_id", "mention_id_l", "mention_id_r", "match_weight", "match_probability",
    "method", "features",
)


def feature(column: str, level: str, value_l: Any, value_r: Any, weight: float | None = None
            ) -> dict[str, Any]:
    return {
        "column": column,
        "level": level,
        "weight": weight,
        "value_l": _plain(value_l),
        "value_r": _plain(value_r),
    }


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if math.isnan(number) else round(number, 4)


def dumps(features: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(features), ensure_ascii=False, sort_keys=True)


def splink_features(kind: Kind, row: dict[str, Any]) -> list[dict[str, Any]]:
    """Features of one Splink prediction row (needs gamma_*, bf_* and *_l/*_r columns)."""
    out: list[dict[str, Any]] = []
    for spec in SPECS[kind]:
        gamma = int(row[f"gamma_{spec.name}"])
        index = 0 if gamma < 0 else len(spec.levels) - 1 - gamma
        level = spec.levels[index]
        weight = _number(row.get(f"mw_{spec.name}"))
        tf = _number(row.get(f"mw_tf_adj_{spec.name}"))
        if weight is not None and tf is not None:
            weight += tf
        column = spec.levels[1].column
        out.append(feature(
            spec.name, level.label, row.get(f"{column}_l"), row.get(f"{column}_r"), weight
        ))
    return out


def _kind(value: str) -> Kind:
    return "person" if value == "person" else "enterprise"


def evidence_frame(
    links: Sequence[Link],
    mention_ids: Sequence[str],
    entity_of: Sequence[str],
    predictions: dict[Kind, pd.DataFrame],
    kind_of: Sequence[str],
) -> pd.DataFrame:
    """Evidence rows for accepted links. `entity_of[i]` is the entity ID of mention `i`."""
    wanted: dict[Kind, list[int]] = {"enterprise": [], "person": []}
    for link in links:
        if link.method == "splink" and link.ref >= 0:
            wanted[_kind(kind_of[link.left])].append(link.ref)
    records: dict[Kind, dict[int, dict[str, Any]]] = {}
    for kind, refs in wanted.items():
        frame = predictions.get(kind)
        if frame is None or not refs:
            records[kind] = {}
            continue
        picked = cast(list[dict[str, Any]], frame.iloc[refs].to_dict("records"))
        records[kind] = dict(zip(refs, picked, strict=True))
    columns: dict[str, list[Any]] = {c: [] for c in EVIDENCE_COLUMNS}
    for link in links:
        features = link.features
        if link.method == "splink" and link.ref >= 0:
            kind = _kind(kind_of[link.left])
            features = dumps(splink_features(kind, records[kind][link.ref]))
        a, b = mention_ids[link.left], mention_ids[link.right]
        columns["entity_id"].append(entity_of[link.left])
        columns["mention_id_l"].append(min(a, b))
        columns["mention_id_r"].append(max(a, b))
        columns["match_weight"].append(link.match_weight)
        columns["match_probability"].append(link.match_probability)
        columns["method"].append(link.method)
        columns["features"].append(features)
    frame = pd.DataFrame(columns)
    frame["match_weight"] = frame["match_weight"].astype("float64")
    frame["match_probability"] = frame["match_probability"].astype("float64")
    return frame.sort_values(["entity_id", "mention_id_l", "mention_id_r"], ignore_index=True)
