"""The honest backtest: score with what was known on a date, measure against what came after.

`backtest(run_dir, BacktestOptions(as_of=...))` needs nothing but the run folder's dates (no
planted labels), so it runs on any agency's data:
1. known = the run cut to `as_of` (risk.asof.tables_as_of: events, records and relationships
   dated after it are not seen; relationships not started or already ended are not used);
   population = the enterprises known and not deregistered on `as_of`; label = at least one
   event in (`as_of`, `horizon_end`] (default: the run's last event date).
2. Three scores of the population: the rule score (risk.score.compute_scores on the known
   tables, recency counted from `as_of`), the own-history baseline (each firm's own past events
   only, recency-weighted severity) and the learned score (risk.learned: LightGBM trained on the
   window before - features as of `as_of - horizon`, labels in (`as_of - horizon`, `as_of`] -
   then applied to the features as of `as_of`).
3. For each: ROC AUC, precision at the top 1% / 5% / k, and the hit rate of a simulated
   risk-weighted draw of `draw_share` of the population (each firm drawn with weight
   `DRAW_FLOOR + score / max score`, without replacement; every firm keeps a chance) beside a
   uniform draw of the same size, averaged over `draws` seeded draws.
4. `recommended`: the learned score where its AUC beats the rules', else the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graph.tables import RunTables, load_run
from risk import learned
from risk.asof import active_enterprises, tables_as_of, violations_between
from risk.config import RiskConfig, load_risk_config
from risk.evaluate import precision_at, roc_auc
from risk.features import enterprise_features, own_weight
from risk.score import score_values

DRAW_FLOOR = 0.02
TOP_REASONS = 10


@dataclass(frozen=True)
class BacktestOptions:
    as_of: date
    horizon_end: date | None = None  # default: the run's last event date
    draw_share: float = 0.05
    draws: int = 200
    seed: int = 7
    top_k: int = 100
    learned: bool = True


def last_event(tables: RunTables) -> date:
    when = pd.to_datetime(tables.events["date"], errors="coerce").dropna()
    if when.empty:
        raise ValueError(f"{tables.run_dir}: the run has no dated events to backtest against")
    return when.max().date()


def simulated_draws(labels: np.ndarray, scores: np.ndarray, share: float, draws: int,
                    seed: int) -> dict[str, Any]:
    """Mean hit rate of risk-weighted draws (weight DRAW_FLOOR + score / max) and of uniform
    draws of the same size, each over `draws` seeded draws without replacement."""
    n = len(labels)
    size = max(1, int(round(n * share)))
    top = float(scores.max()) if n and scores.max() > 0 else 1.0
    weight = DRAW_FLOOR + np.clip(scores, 0.0, None) / top
    p = weight / weight.sum()
    gen = np.random.default_rng(seed)
    weighted = [labels[gen.choice(n, size=size, replace=False, p=p)].mean() for _ in range(draws)]
    uniform = [labels[gen.choice(n, size=size, replace=False)].mean() for _ in range(draws)]
    w, u = float(np.mean(weighted)), float(np.mean(uniform))
    return {"size": size, "draws": draws, "weighted_hit_rate": round(w, 4),
            "uniform_hit_rate": round(u, 4), "ratio": round(w / u, 2) if u > 0 else None}


def measure(labels: np.ndarray, scores: np.ndarray, opts: BacktestOptions) -> dict[str, Any]:
    """AUC, precision at 1% / 5% / k and the simulated draw of one score."""
    k = min(opts.top_k, len(scores))
    return {
        "auc": round(roc_auc(labels, scores), 4),
        "precision_at_1pct": round(precision_at(labels, scores, 0.01), 4),
        "precision_at_5pct": round(precision_at(labels, scores, 0.05), 4),
        f"precision_at_{k}": round(precision_at(labels, scores, k / max(1, len(scores))), 4),
        "draw": simulated_draws(labels, scores, opts.draw_share, opts.draws, opts.seed),
    }


def _learned(tables: RunTables, opts: BacktestOptions, end: date, cfg: RiskConfig,
             known: RunTables, population: list[str],
             keep: dict[str, Any] | None) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Train on the window before `as_of`, score the population; (scores, report). `keep`
    (when given) receives the population's features as of `as_of` under `features`."""
    start = opts.as_of - (end - opts.as_of)
    before = tables_as_of(tables, start, scores_only=True)
    train_pop = active_enterprises(before)
    train_y = violations_between(tables, start, opts.as_of)
    x_train = enterprise_features(before, start, cfg, train_pop)
    y_train = np.array([e in train_y for e in train_pop], dtype=float)
    info: dict[str, Any] = {"train_as_of": start.isoformat(), "train_entities": len(train_pop),
                            "train_positives": int(y_train.sum())}
    try:
        model = learned.train(x_train, y_train)
    except ValueError as exc:
        return None, {**info, "error": str(exc)}
    x = enterprise_features(known, opts.as_of, cfg, population)
    if keep is not None:
        keep["features"] = x
    prob = learned.predict(model, x)
    order = np.argsort(-prob, kind="stable")[:TOP_REASONS]
    top = x.iloc[order]
    contrib = learned.contributions(model, top)  # SHAP values of the listed firms only
    info["feature_importance"] = dict(list(model.importance.items())[:15])
    info["top"] = [{"entity_id": population[i], "probability": round(float(prob[i]), 4),
                    "log_odds": round(float(contrib.loc[population[i]].sum()), 4),
                    "reasons": learned.reasons(contrib, top, population[i])} for i in order]
    return prob, info


def backtest(run_dir: Path | str, opts: BacktestOptions,
             cfg: RiskConfig | None = None) -> dict[str, Any]:
    """The backtest's figures as a JSON-ready dict (see the module docstring)."""
    return backtest_tables(load_run(run_dir), opts, cfg)


def backtest_tables(tables: RunTables, opts: BacktestOptions, cfg: RiskConfig | None = None,
                    keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """`backtest` of run tables already read. `keep` (when given) receives what a caller
    may reuse: `population` and `labels` (as of `as_of`), `features` (theirs, when the
    learned score was trained)."""
    run_dir = tables.run_dir
    cfg = (cfg or load_risk_config()).model_copy(update={"as_of": opts.as_of})
    end = opts.horizon_end or last_event(tables)
    if end <= opts.as_of:
        raise ValueError(f"--as-of {opts.as_of} is not before the horizon end {end} (the run's "
                         "last event unless --until is given): nothing to measure against")
    known = tables_as_of(tables, opts.as_of, scores_only=True)
    population = active_enterprises(known)
    future = violations_between(tables, opts.as_of, end)
    labels = np.array([e in future for e in population], dtype=float)
    if not population or labels.sum() == 0 or labels.sum() == len(labels):
        raise ValueError(f"{run_dir}: {int(labels.sum())} of the {len(population)} enterprises "
                         f"known on {opts.as_of} violate in ({opts.as_of}, {end}]: the backtest "
                         "needs both violators and others")
    rule = score_values(known, cfg)
    if keep is not None:
        keep.update(population=population, labels=labels)
    s_rule = rule.reindex(population).fillna(0.0).to_numpy(dtype=float)
    s_base = own_weight(known, opts.as_of, cfg).reindex(population).fillna(0.0).to_numpy()
    out: dict[str, Any] = {
        "run_id": tables.run_id, "as_of": opts.as_of.isoformat(), "horizon_end": end.isoformat(),
        "horizon_days": (end - opts.as_of).days, "entities": len(population),
        "positives": int(labels.sum()), "base_rate": round(float(labels.mean()), 4),
        "known": {"events": len(known.events), "relations": len(known.relations),
                  "entities": len(known.entities)},
        "rules": measure(labels, s_rule, opts), "baseline": measure(labels, s_base, opts),
    }
    base_auc = out["baseline"]["auc"]
    out["rules"]["auc_over_baseline"] = round(out["rules"]["auc"] - base_auc, 4)
    candidates = {"rules": out["rules"]["auc"]}
    if opts.learned:
        prob, info = _learned(tables, opts, end, cfg, known, population, keep)
        out["learned"] = {**(measure(labels, prob, opts) if prob is not None else {}), **info}
        if prob is not None:
            out["learned"]["auc_over_baseline"] = round(out["learned"]["auc"] - base_auc, 4)
            candidates["learned"] = out["learned"]["auc"]
    best = "learned" if candidates.get("learned", -1.0) > candidates["rules"] else "rules"
    out["recommended"] = best
    out["recommended_auc"] = candidates[best]
    out["recommended_margin"] = round(candidates[best] - base_auc, 4)
    return out


def default_until(as_of: date, days: int | None) -> date | None:
    """The horizon end of `--horizon-days` (None: the run's last event)."""
    return as_of + timedelta(days=days) if days else None
