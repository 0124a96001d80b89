"""Evaluate a run folder against the generator's truth (`truth/mentions.csv`).

Per kind (enterprise, person):
- pairwise precision / recall / F1 over mention pairs put in one entity;
- B-cubed precision / recall / F1 (per-mention overlap of predicted and true clusters);
- namesake false-merge rate: among mention pairs with the same standardised name but
  different true entities, the share the run put in one entity;
- blocking recall: share of true matching pairs that candidate generation could reach (an
  exact identifier key of the pre-clustering or a Splink prediction rule), over the mentions
  that enter Splink (persons with only a name are resolved by context, not blocked).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from linkage.resolve.blocking import EXACT_KEYS, predict_rule_objects
from linkage.resolve.models import KINDS, Kind
from linkage.resolve.pipeline import with_derived_columns

_MAX_PAIRS_FOR_BLOCKING = 20_000_000


def _pairs(sizes: pd.Series | np.ndarray) -> int:
    s = np.asarray(sizes, dtype=np.int64)
    return int((s * (s - 1) // 2).sum())


def _prf(tp: float, predicted: float, actual: float) -> dict[str, float]:
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5)}


TRUTH_SHAPES = (("source", "record_id", "role", "entity"), ("mention_id", "entity"))


def truth_file(truth: Path) -> Path:
    """The truth CSV itself, or `mentions.csv` inside a truth folder."""
    path = truth / "mentions.csv" if truth.is_dir() else truth
    if not path.is_file():
        raise ValueError(f"{truth}: no truth here; pass a truth CSV file or a folder holding "
                         "mentions.csv")
    return path


def load_truth(truth: Path) -> pd.DataFrame:
    """Truth rows (mention_id, entity) from a CSV of columns source, record_id, role, entity
    (the generator's mentions.csv) or mention_id, entity; `truth` is the file or its folder."""
    path = truth_file(Path(truth))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path}: not a readable UTF-8 CSV ({exc})") from None
    for shape in TRUTH_SHAPES:
        if set(shape) <= set(frame.columns):
            break
    else:
        raise ValueError(f"{path}: a truth CSV needs the columns {', '.join(TRUTH_SHAPES[0])} "
                         f"or {', '.join(TRUTH_SHAPES[1])}; it has {', '.join(frame.columns)}")
    if "mention_id" not in frame.columns:
        frame["mention_id"] = frame["source"] + ":" + frame["record_id"] + ":" + frame["role"]
    empty = frame.index[(frame["mention_id"] == "") | (frame["entity"] == "")]
    if len(empty):
        raise ValueError(f"{path}: row {int(empty[0]) + 2} has an empty mention or entity")
    return frame[["mention_id", "entity"]]


def pairwise(frame: pd.DataFrame) -> dict[str, Any]:
    tp = _pairs(frame.groupby(["entity_id", "entity"]).size())
    predicted = _pairs(frame.groupby("entity_id").size())
    actual = _pairs(frame.groupby("entity").size())
    return {**_prf(tp, predicted, actual), "true_pairs": actual, "predicted_pairs": predicted,
            "correct_pairs": tp}


def bcubed(frame: pd.DataFrame) -> dict[str, float]:
    both = frame.groupby(["entity_id", "entity"])["mention_id"].transform("size")
    pred = frame.groupby("entity_id")["mention_id"].transform("size")
    true = frame.groupby("entity")["mention_id"].transform("size")
    precision = float((both / pred).mean()) if len(frame) else 1.0
    recall = float((both / true).mean()) if len(frame) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5)}


def namesake_false_merges(frame: pd.DataFrame) -> dict[str, Any]:
    named = frame[frame["name_std"].notna()]
    same_name = _pairs(named.groupby("name_std").size())
    same_name_same_true = _pairs(named.groupby(["name_std", "entity"]).size())
    namesake_pairs = same_name - same_name_same_true
    together = _pairs(named.groupby(["name_std", "entity_id"]).size())
    together_same_true = _pairs(named.groupby(["name_std", "entity_id", "entity"]).size())
    merged = together - together_same_true
    rate = merged / namesake_pairs if namesake_pairs else 0.0
    return {"rate": round(rate, 6), "namesake_pairs": namesake_pairs, "merged": merged}


def _eligible(frame: pd.DataFrame, kind: Kind) -> pd.DataFrame:
    if kind == "person":
        informative = frame[["id_number", "phone", "birth_date", "address_std"]].notna()
        return frame[informative.any(axis=1)]
    return frame


def _equal(values: pd.Series, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per pair: both values present and equal."""
    arr = values.astype(object).where(values.notna(), None).to_numpy()
    lv, rv = arr[left], arr[right]
    ok = np.array([a is not None and b is not None for a, b in zip(lv, rv, strict=True)],
                  dtype=bool)
    ok[ok] = lv[ok] == rv[ok]
    return ok


def blocking_recall(frame: pd.DataFrame, kind: Kind) -> dict[str, Any]:
    """Share of true pairs reachable by an exact-identifier key or a prediction rule."""
    sub = with_derived_columns(_eligible(frame, kind), kind).reset_index(drop=True)
    sizes = sub.groupby("entity").size()
    n_true = _pairs(sizes)
    if n_true == 0:
        return {"recall": 1.0, "true_pairs": 0}
    if n_true > _MAX_PAIRS_FOR_BLOCKING:
        return {"recall": None, "true_pairs": n_true, "note": "too many true pairs to enumerate"}
    sub["_i"] = np.arange(len(sub))
    pairs = sub[["entity", "_i"]].merge(sub[["entity", "_i"]], on="entity", suffixes=("_l", "_r"))
    pairs = pairs[pairs["_i_l"] < pairs["_i_r"]]
    left, right = pairs["_i_l"].to_numpy(), pairs["_i_r"].to_numpy()
    covered = np.zeros(len(pairs), dtype=bool)
    for column, valid in EXACT_KEYS[kind]:
        if column not in sub.columns:  # a key for resolution only (org_code), not written out
            continue
        vals = sub[column].astype("string")
        if valid:
            vals = vals.where(sub[valid].fillna(False).astype(bool))
        covered |= _equal(vals, left, right)
    for rule in predict_rule_objects(kind):
        ok = np.ones(len(pairs), dtype=bool)
        for key in rule:
            ok &= _equal(key.values(sub), left, right)
        covered |= ok
    return {"recall": round(float(covered.mean()), 5), "true_pairs": n_true}


def evaluate(run_dir: Path | str, truth_dir: Path | str) -> dict[str, Any]:
    """Scores of `run_dir` against `truth_dir` (a truth CSV, or the folder holding
    `mentions.csv`)."""
    run, truth_path = Path(run_dir), Path(truth_dir)
    mentions = pd.read_parquet(run / "mentions.parquet")
    truth = load_truth(truth_path)
    joined = mentions.merge(truth, on="mention_id", how="inner")
    result: dict[str, Any] = {
        "run": str(run),
        "truth": str(truth_path),
        "mentions_in_run": len(mentions),
        "mentions_with_truth": len(joined),
    }
    for kind in KINDS:
        frame = joined[joined["kind"] == kind]
        result[kind] = {
            "mentions": len(frame),
            "entities_predicted": int(frame["entity_id"].nunique()),
            "entities_true": int(frame["entity"].nunique()),
            "pairwise": pairwise(frame),
            "bcubed": bcubed(frame),
            "namesake_false_merge": namesake_false_merges(frame),
            "blocking_recall": blocking_recall(frame, kind),
        }
    report = run / "report.json"
    if report.exists():
        result["pairs_compared"] = json.loads(report.read_text(encoding="utf-8")).get(
            "pairs_compared"
        )
    return result
