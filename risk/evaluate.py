"""How well the risk score and the query catalogue find the generator's planted truth.

`evaluate_risk(run_dir, truth_dir)` maps truth entities (`truth/mentions.csv`:
source,record_id,role,entity) to run entities through the run's mentions (mention ID =
source:record_id:role; a truth entity maps to the run entity holding most of its mentions),
then measures:
- prediction of held-out future violators (`future_violators`) among `active_at_cutoff`
  enterprises: ROC AUC and precision at the top 1% / 5% of the stored score, and the same for a
  baseline that counts only the entity's own past events (ties broken by recency-free count);
- per query, recall of the planted structures in `truth/risk.json` and precision of what the
  query reports (controllers, phoenix pairs, cycles exactly; rings and hubs by Jaccard ≥ 0.5 of
  their enterprise sets).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graph.embedded.store import EmbeddedStore
from graph.tables import load_run
from risk.config import RiskConfig

ALL = 1_000_000
JACCARD = 0.5


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC with average ranks for ties (nan when one class is empty)."""
    pos = int(labels.sum())
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[labels.astype(bool)].sum() - pos * (pos + 1) / 2) / (pos * neg))


def precision_at(labels: np.ndarray, scores: np.ndarray, share: float) -> float:
    """Share of positives among the top `share` of entities by score (stable order on ties)."""
    k = max(1, int(round(len(scores) * share)))
    order = np.argsort(-scores, kind="stable")[:k]
    return float(labels[order].mean()) if len(order) else float("nan")


def _truth_map(run_dir: Path, truth_dir: Path, mentions: pd.DataFrame) -> dict[str, str]:
    truth = pd.read_csv(truth_dir / "mentions.csv", dtype=str)
    truth["mention_id"] = truth["source"] + ":" + truth["record_id"] + ":" + truth["role"]
    both = truth.merge(mentions[["mention_id", "entity_id"]], on="mention_id", how="inner")
    counts = both.groupby(["entity", "entity_id"]).size().reset_index(name="n")
    counts = counts.sort_values(["entity", "n", "entity_id"], ascending=[True, False, True])
    best = counts.drop_duplicates("entity")
    return dict(zip(best["entity"], best["entity_id"], strict=True))


def _recall_precision(
    found: int, planted: int, matched_reports: int, reports: int
) -> dict[str, Any]:
    return {
        "planted": planted, "found": found, "recall": found / planted if planted else None,
        "reported": reports, "precision": matched_reports / reports if reports else None,
    }


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _set_match(planted: list[set[str]], reported: list[set[str]]) -> dict[str, Any]:
    found = sum(any(_jaccard(p, r) >= JACCARD for r in reported) for p in planted)
    matched = sum(any(_jaccard(p, r) >= JACCARD for p in planted) for r in reported)
    return _recall_precision(found, len(planted), matched, len(reported))


def evaluate_risk(run_dir: Path | str, truth_dir: Path | str,
                  config: RiskConfig | None = None) -> dict[str, Any]:
    """Evaluation figures as a JSON-ready dict (see the module docstring)."""
    run_dir, truth_dir = Path(run_dir), Path(truth_dir)
    tables = load_run(run_dir)
    if tables.risk is None:
        raise ValueError(f"{run_dir} has no risk.parquet; run `guanlian score --run {run_dir}`")
    truth = json.loads((truth_dir / "risk.json").read_text(encoding="utf-8"))
    to_run = _truth_map(run_dir, truth_dir, tables.mentions)

    def m(e: str) -> str | None:
        return to_run.get(e)

    active = [e for e in truth.get("active_at_cutoff", []) if m(e)]
    future = set(truth.get("future_violators", []))
    score = tables.risk.set_index("entity_id")["score"]
    own = tables.events.groupby("entity_id").size()
    labels = np.array([e in future for e in active], dtype=float)
    s_model = np.array([float(score.get(m(e), 0.0)) for e in active])
    s_base = np.array([float(own.get(m(e), 0)) for e in active])
    auc, base_auc = roc_auc(labels, s_model), roc_auc(labels, s_base)
    prediction: dict[str, Any] = {
        "entities": len(active), "positives": int(labels.sum()),
        "auc": auc, "baseline_auc": base_auc, "auc_lift": auc - base_auc,
        "precision_top1": precision_at(labels, s_model, 0.01),
        "precision_top5": precision_at(labels, s_model, 0.05),
        "baseline_precision_top1": precision_at(labels, s_base, 0.01),
        "baseline_precision_top5": precision_at(labels, s_base, 0.05),
        "base_rate": float(labels.mean()) if len(labels) else None,
    }

    store = EmbeddedStore(tables, config)
    queries: dict[str, Any] = {}
    planted_ctrl = {m(c) for c in truth.get("controllers", [])} - {None}
    reported_ctrl = {c.controller.entity_id for c in store.shared_controllers(2, ALL)}
    queries["controllers"] = _recall_precision(
        len(planted_ctrl & reported_ctrl), len(planted_ctrl),
        len(planted_ctrl & reported_ctrl), len(reported_ctrl))
    planted_phx = {(m(a), m(b)) for a, b in truth.get("phoenix_pairs", [])}
    reported_phx = {(p.predecessor.entity_id, p.successor.entity_id)
                    for p in store.phoenix_firms(ALL)}
    queries["phoenix_pairs"] = _recall_precision(
        len(planted_phx & reported_phx), len(planted_phx),
        len(planted_phx & reported_phx), len(reported_phx))
    planted_cyc = {frozenset(filter(None, map(m, c))) for c in truth.get("cycles", [])}
    reported_cyc = {frozenset(c.nodes) for c in store.ownership_cycles(6, ALL)}
    queries["cycles"] = _recall_precision(
        len(planted_cyc & reported_cyc), len(planted_cyc),
        len(planted_cyc & reported_cyc), len(reported_cyc))
    queries["rings"] = _set_match(
        [set(filter(None, map(m, r))) for r in truth.get("rings", [])],
        [set(r.enterprises) for r in store.rings(3, ALL)])
    queries["hubs"] = _set_match(
        [set(filter(None, map(m, h["enterprises"]))) for h in truth.get("hubs", [])
         if not h.get("legitimate")],
        [set(h.enterprises) for h in store.hubs(5, ALL)])
    mapped = Counter(bool(m(e)) for e in truth.get("active_at_cutoff", []))
    return {"run_id": tables.run_id, "prediction": prediction, "queries": queries,
            "unmapped_active": mapped.get(False, 0)}
