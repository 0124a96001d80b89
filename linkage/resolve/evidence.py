"""Why mentions were merged: one evidence row per accepted link (a spanning-tree edge).

Splink links carry, per comparison, the level reached, its partial match weight (including
any term-frequency adjustment) and the two compared values; exact-identifier, context and
judgement links carry the fact that justified them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.resolve.cluster import Link
from linkage.resolve.models import SPECS, Kind
from runfolder.schema import EVIDENCE

EVIDENCE_COLUMNS = EVIDENCE.columns


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


def _splink_features(
    links: Sequence[Link], chosen: np.ndarray, kinds: np.ndarray,
    predictions: dict[Kind, pd.DataFrame],
) -> dict[int, str]:
    """Features JSON of the accepted Splink links (by position in `links`), reading only
    the prediction rows and columns they need."""
    out: dict[int, str] = {}
    for kind in ("enterprise", "person"):
        at = chosen[kinds[chosen] == kind]
        if not len(at):
            continue
        frame = predictions.get(cast(Kind, kind))
        if frame is None:
            raise KeyError(f"no {kind} predictions for accepted Splink links")
        refs = [links[i].ref for i in at.tolist()]
        texts = features_json(cast(Kind, kind), frame, refs)
        for i, text in zip(at.tolist(), texts, strict=True):
            out[i] = text
    return out


def features_json(kind: Kind, predictions: pd.DataFrame, rows: Sequence[int] | None = None
                  ) -> list[str]:
    """Features JSON of Splink prediction rows (all, or the positions `rows`), reading only
    the columns they need."""
    needed = [c for spec in SPECS[kind] for c in (
        f"gamma_{spec.name}", f"mw_{spec.name}", f"mw_tf_adj_{spec.name}",
        f"{spec.levels[1].column}_l", f"{spec.levels[1].column}_r",
    ) if c in predictions.columns]
    frame = predictions[needed] if rows is None else predictions[needed].iloc[list(rows)]
    records = cast(list[dict[str, Any]], frame.to_dict("records"))
    return [dumps(splink_features(kind, row)) for row in records]


def _strings(values: Sequence[str] | pd.Series | np.ndarray) -> pa.Array:
    """`values` as one Arrow large_string array (Arrow-backed columns are not copied)."""
    arr = pa.array(values, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string())


def evidence_frame(
    links: Sequence[Link],
    mention_ids: Sequence[str] | pd.Series | np.ndarray,
    entity_of: Sequence[str] | pd.Series | np.ndarray,
    predictions: dict[Kind, pd.DataFrame],
    kind_of: Sequence[str] | pd.Series | np.ndarray,
) -> pd.DataFrame:
    """Evidence rows for accepted links, sorted by (entity_id, mention_id_l, mention_id_r).
    `entity_of[i]` is the entity ID of mention `i`."""
    if not links:
        frame = pd.DataFrame({c: [] for c in EVIDENCE_COLUMNS})
        frame["match_weight"] = frame["match_weight"].astype("float64")
        frame["match_probability"] = frame["match_probability"].astype("float64")
        return frame
    fields = attrgetter("left", "right", "method", "match_weight", "match_probability",
                        "features", "ref")
    left_, right_, method_, weight, probability, features_, ref = zip(
        *map(fields, links), strict=True)
    left, right = pa.array(left_, type=pa.int64()), pa.array(right_, type=pa.int64())
    method = pa.array(method_, type=pa.large_string())
    splink = np.flatnonzero(
        pc.equal(method, "splink").to_numpy(zero_copy_only=False)
        & (np.asarray(ref, dtype=np.int64) >= 0))
    person = pc.equal(_strings(kind_of).take(left), "person").to_numpy(zero_copy_only=False)
    kinds = np.where(person, "person", "enterprise")
    features = list(features_)
    for i, text in _splink_features(links, splink, kinds, predictions).items():
        features[i] = text
    ids = _strings(mention_ids)
    a, b = ids.take(left), ids.take(right)
    swap = pc.less(b, a)
    table = pa.table({
        "entity_id": _strings(entity_of).take(left),
        "mention_id_l": pc.if_else(swap, b, a),
        "mention_id_r": pc.if_else(swap, a, b),
        "match_weight": pa.array(np.asarray(weight, dtype=np.float64), from_pandas=True),
        "match_probability": pa.array(np.asarray(probability, dtype=np.float64),
                                      from_pandas=True),
        "method": method,
        "features": pa.array(features, type=pa.large_string()),
    })
    order = pc.sort_indices(table, sort_keys=[
        ("entity_id", "ascending"), ("mention_id_l", "ascending"),
        ("mention_id_r", "ascending"),
    ])
    return table.take(order).to_pandas(types_mapper=pd.ArrowDtype)
