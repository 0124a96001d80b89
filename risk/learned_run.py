"""The learned score of a run (`guanlian score`), shipped beside the rules only where it wins.

`learned_scores(tables, cfg)` returns a `LearnedOutcome`: the `RUN/learned.json` report and,
when shipped, one row per enterprise for `RUN/risk.parquet` (`learned_score`,
`learned_level`, `learned_reasons`):
1. The backtest split: `end` = the run's last event, `cut` = end − `learned.horizon_days`
   (risk/risk.yaml). The honest backtest at `cut` (risk.backtest: the rule score and the
   learned score - trained on features as of cut − horizon, labels in (cut − horizon, cut] -
   both measured against the violations in (cut, end]).
2. Shipped only when the learned AUC beats the rules' by more than `learned.min_auc_gain`;
   otherwise nothing learned is written and the report says why. A history too short to
   backtest or to train on (fewer than `risk.learned.MIN_POSITIVES` violators in a window)
   ships nothing either, with a note.
3. The final model is the same recipe moved on by one horizon: features as of end − horizon,
   label = an event in (end − horizon, end] (the latest window whose outcomes are all known),
   applied to every enterprise's features on `end` (the run's whole history, as the rule
   score sees it). Training on an earlier split would forget the latest year; training on
   features as of `end` would have no outcomes to learn from.
4. Per enterprise: `score` = the probability of a violation within the horizon, `level` by
   `learned.levels`, and its explanation: `log_odds` (the raw score, logit(score)),
   `expected_value` (LightGBM's bias: the log-odds of an average firm), `reasons` = the
   `learned.max_reasons` largest SHAP contributions by size (`feature`, its Chinese `label`
   from graph/labels.yaml, `value`, `contribution` in log-odds, signed) and `other` = the sum
   of the remaining contributions, so expected_value + Σ contributions + other = log_odds.
Deterministic: LightGBM with one seed, one thread and `deterministic=True`.

A shipped model is kept beside the scores (`RUN/learned_model.txt`, LightGBM's text form). A
rerun scored with its previous run (`guanlian score --previous R0`, the pipeline's reruns)
applies that model to its own features instead of retraining, while the rerun's newest event
is less than `learned.retrain_after_days` past the model's label window and the horizon is
unchanged: a retrained model moves every firm's learned score a little (a 1%-changed large
rerun: 103,934 of 104,251 enterprises), which would rewrite every enterprise node on the daily
sync and flip levels by noise. Only the firms whose features changed then move. The report
says which run's model it is (`reused_from`); later, or without a usable model, it retrains.

`score_run` computes it beside the rule score: in a spawned process reading the run folder
(`start_learned`, `learned.parallel`, for runs of at least `learned.parallel_min_entities`
entities), so the rules and the learned score take the wall time of the longer one when a core
is free; otherwise (or when the process cannot be started or dies) in the caller's.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing as mp
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from graph.labels import labels
from graph.tables import RunTables
from risk import learned
from risk.backtest import BacktestOptions, backtest_tables, last_event
from risk.config import RiskConfig
from risk.features import enterprise_features

log = logging.getLogger(__name__)
LEARNED_REPORT = "learned.json"
MODEL_FILE = "learned_model.txt"
SCORE_DRAWS = 20  # simulated draws per score in the score step's backtest (figures only)


@dataclass
class LearnedOutcome:
    report: dict[str, Any]
    rows: pd.DataFrame | None = None  # entity_id, learned_score, learned_level, learned_reasons
    model_text: str | None = None  # the final model in LightGBM's text form (shipped only)

    @property
    def shipped(self) -> bool:
        return self.rows is not None

    @property
    def model(self) -> learned.LearnedModel | None:
        """The shipped model, read back from its text (what `RUN/learned_model.txt` holds)."""
        return None if self.model_text is None else _model_of(self.model_text, self.report)


def _not_shipped(report: dict[str, Any], note: str) -> LearnedOutcome:
    return LearnedOutcome({**report, "shipped": False, "score": "rules", "note": note})


def _figures(bt: dict[str, Any]) -> dict[str, Any]:
    keep = ("auc", "auc_over_baseline", "precision_at_1pct", "precision_at_5pct")
    out: dict[str, Any] = {
        k: bt[k] for k in ("as_of", "horizon_end", "horizon_days", "entities", "positives",
                           "base_rate")}
    for name in ("rules", "baseline", "learned"):
        part = bt.get(name) or {}
        out[name] = {k: part[k] for k in keep if k in part}
        if "draw" in part:
            out[name]["draw_ratio"] = part["draw"]["ratio"]
    for k in ("train_as_of", "train_entities", "train_positives", "error"):
        if k in (bt.get("learned") or {}):
            out["learned"][k] = bt["learned"][k]
    return out


def _levels(rows: pd.DataFrame, cfg: RiskConfig) -> dict[str, Any]:
    """The report's shipped levels: entities per learned level, and the thresholds."""
    counts = rows["learned_level"].value_counts().reindex(["low", "medium", "high"],
                                                          fill_value=0)
    return {"levels": {k: int(v) for k, v in counts.items()},
            "level_thresholds": cfg.learned.levels.model_dump()}


def _reusable(previous: Path | None, end: Any, cfg: RiskConfig
              ) -> tuple[learned.LearnedModel, dict[str, Any], str] | None:
    """The previous run's shipped model, its report and its text, when this run may keep it
    (see the module docstring); None otherwise (logged when a model was there)."""
    if previous is None or cfg.learned.retrain_after_days <= 0:
        return None
    path = Path(previous) / MODEL_FILE
    try:
        report = json.loads((Path(previous) / LEARNED_REPORT).read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    model_info = report.get("model") or {}
    why = None
    try:
        labels_until = date.fromisoformat(str(model_info.get("labels_until"))[:10])
        late = (end - labels_until).days
    except ValueError:
        late, why = None, "its label window is unreadable"
    if not report.get("shipped"):
        why = "it was not shipped"
    elif report.get("horizon_days") != cfg.learned.horizon_days:
        why = "the horizon changed"
    elif late is not None and not 0 <= late < cfg.learned.retrain_after_days:
        why = (f"this run's newest event is {late} days past its label window "
               f"(learned.retrain_after_days: {cfg.learned.retrain_after_days})")
    if why is not None:
        log.info("retraining the learned score rather than keeping %s's model: %s",
                 previous, why)
        return None
    try:
        model = _model_of(text, report)
    except lgb.basic.LightGBMError as exc:
        log.warning("retraining: the model in %s cannot be read (%s)", path, exc)
        return None
    return model, report, text


def _model_of(text: str, report: dict[str, Any]) -> learned.LearnedModel:
    """A model from LightGBM's text form and the report it was shipped with."""
    booster = lgb.Booster(model_str=text)
    info = report.get("model") or {}
    return learned.LearnedModel(booster, [str(n) for n in booster.feature_name()],
                                int(info.get("train_positives") or 0),
                                int(info.get("train_entities") or 0),
                                dict(info.get("feature_importance") or {}))


def _kept(tables: RunTables, cfg: RiskConfig, end: Any, base: dict[str, Any],
          kept: tuple[learned.LearnedModel, dict[str, Any], str]) -> LearnedOutcome | None:
    """The previous run's model applied to this run's features (None: its features are
    not all there, so the caller retrains)."""
    model, prev, text = kept
    clock = time.perf_counter()
    score_cfg = cfg if cfg.as_of else cfg.model_copy(update={"as_of": end})
    x = enterprise_features(tables, end, score_cfg)
    try:
        rows = _rows(model, x, cfg)
    except ValueError as exc:
        log.info("retraining the learned score: %s", exc)
        return None
    report: dict[str, Any] = {**base, **{k: prev[k] for k in
                                         ("backtest", "rules_auc", "learned_auc", "model")
                                         if k in prev}}
    report["model"] = {**(report.get("model") or {}), "scored_as_of": end.isoformat(),
                       "entities": len(rows)}
    since = prev.get("reused_from") or prev.get("run_id")
    report.update({
        "shipped": True, "score": "learned", "reused_from": since,
        "note": f"the model of run {since} is kept (labels until "
                f"{report['model'].get('labels_until')}; retrained once a run's newest event "
                f"is {cfg.learned.retrain_after_days} days past them): shipped beside the "
                f"rule score",
        "timings": {"features_and_explain": round(time.perf_counter() - clock, 2)},
        **_levels(rows, cfg),
    })
    return LearnedOutcome(report, rows, text)


def learned_scores(tables: RunTables, cfg: RiskConfig,
                   previous: Path | None = None) -> LearnedOutcome:
    """The backtest, the decision and (when shipped) the learned rows; never raises on a
    history too short (the report's `note` says what was missing). `previous`: the run
    this one reruns, whose model is kept while it may be (see the module docstring)."""
    lc = cfg.learned
    report: dict[str, Any] = {"run_id": tables.run_id, "horizon_days": lc.horizon_days,
                              "min_auc_gain": lc.min_auc_gain}
    if not lc.enabled:
        return _not_shipped(report, "the learned score is disabled (learned.enabled: false)")
    try:
        end = last_event(tables)
    except ValueError as exc:
        return _not_shipped(report, str(exc))
    kept = _reusable(previous, end, cfg)
    if kept is not None:
        outcome = _kept(tables, cfg, end, report, kept)
        if outcome is not None:
            return outcome
    horizon = timedelta(days=lc.horizon_days)
    cut = end - horizon
    keep: dict[str, Any] = {}
    clock = time.perf_counter()
    try:
        bt = backtest_tables(tables, BacktestOptions(as_of=cut, horizon_end=end,
                                                     draws=SCORE_DRAWS), cfg, keep)
    except ValueError as exc:
        return _not_shipped(report, f"no backtest at {cut}: {exc}")
    report["backtest"] = _figures(bt)
    report["timings"] = {"backtest": round(time.perf_counter() - clock, 2)}
    rules_auc = float(bt["rules"]["auc"])
    learned_auc = (bt.get("learned") or {}).get("auc")
    if learned_auc is None:
        error = (bt.get("learned") or {}).get("error", "no learned score")
        return _not_shipped(report, f"the learned score could not be trained on the backtest "
                                    f"split: {error}")
    report["rules_auc"], report["learned_auc"] = rules_auc, float(learned_auc)
    if not learned_auc > rules_auc + lc.min_auc_gain:
        return _not_shipped(report, f"the learned score does not beat the rules on the "
                                    f"backtest (AUC {learned_auc} vs {rules_auc}, margin "
                                    f"{lc.min_auc_gain} asked): the rule score alone is shipped")
    # the final model's window is the backtest's test window: features as of `cut` of the
    # enterprises known then (computed once, by the backtest), labels in (cut, end]
    start = cut
    score_cfg = cfg if cfg.as_of else cfg.model_copy(update={"as_of": end})
    train_pop: list[str] = keep["population"]
    y = np.asarray(keep["labels"], dtype=float)
    try:
        model = learned.train(keep["features"], y)
    except ValueError as exc:
        return _not_shipped(report, f"the final model could not be trained: {exc}")
    report["timings"]["train"] = round(time.perf_counter() - clock, 2)
    x = enterprise_features(tables, end, score_cfg)
    report["timings"]["features"] = round(time.perf_counter() - clock, 2)
    rows = _rows(model, x, cfg)
    report["timings"]["explain"] = round(time.perf_counter() - clock, 2)
    report.update({
        "shipped": True, "score": "learned",
        "note": f"the learned score beats the rules on the backtest (AUC {learned_auc} vs "
                f"{rules_auc}): shipped beside the rule score",
        "model": {"train_as_of": start.isoformat(), "labels_until": end.isoformat(),
                  "scored_as_of": end.isoformat(), "train_entities": len(train_pop),
                  "train_positives": int(y.sum()), "entities": len(rows),
                  "feature_importance": dict(list(model.importance.items())[:15])},
        **_levels(rows, cfg),
    })
    return LearnedOutcome(report, rows, model.booster.model_to_string())


PARENT_POLL_S = 0.5


def end_with_parent(parent: int) -> None:
    """In the second process: exit as soon as the scoring process that started it is gone
    (killed, say), instead of computing for no one for minutes."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _job(run_dir: str, cfg: dict[str, Any], previous: str | None, parent: int | None = None
         ) -> tuple[dict[str, Any], pd.DataFrame | None, str | None]:
    """The work of the second process: read the run, compute, hand back report, rows and
    the model's text (`parent`: the scoring process, whose end ends this one)."""
    from graph.tables import load_run

    if parent is not None:
        end_with_parent(parent)

    out = learned_scores(load_run(run_dir), RiskConfig.model_validate(cfg),
                         Path(previous) if previous else None)
    return out.report, out.rows, out.model_text


def _entities(run_dir: Path) -> int:
    """How many entities the run holds (Parquet metadata only); 0 when unreadable."""
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(run_dir / "entities.parquet").metadata.num_rows)
    except (OSError, ValueError):
        return 0


class PendingLearned:
    """The learned score being computed in a second process (or later, in this one)."""

    def __init__(self, run_dir: Path, cfg: RiskConfig, previous: Path | None = None) -> None:
        self.cfg, self.previous = cfg, previous
        self._pool: ProcessPoolExecutor | None = None
        self._future: Future[tuple[dict[str, Any], pd.DataFrame | None, str | None]] | None \
            = None
        if cfg.learned.enabled and cfg.learned.parallel and _entities(run_dir) >= \
                cfg.learned.parallel_min_entities:
            try:
                self._pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))
                self._future = self._pool.submit(_job, str(run_dir),
                                                 cfg.model_dump(mode="json"),
                                                 str(previous) if previous else None,
                                                 os.getpid())
            except OSError as exc:  # no second process: computed here instead
                log.warning("learned score in this process: %s", exc)
                self.close()

    def result(self, tables: RunTables) -> LearnedOutcome:
        """The outcome (computed on `tables` here when there is no second process)."""
        if self._future is not None:
            try:
                report, rows, text = self._future.result()
                return LearnedOutcome(report, rows, text)
            except BrokenProcessPool as exc:  # killed (out of memory?): computed here
                log.warning("the learned score's process died (%s); computing it here", exc)
            finally:
                self.close()
        return learned_scores(tables, self.cfg, self.previous)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool, self._future = None, None


def start_learned(run_dir: Path, cfg: RiskConfig, previous: Path | None = None
                  ) -> PendingLearned:
    """Start computing the run's learned score (see the module docstring)."""
    return PendingLearned(run_dir, cfg, previous)


def _value(v: float) -> float | None:
    return None if math.isnan(v) else round(float(v), 4)


def _rows(model: learned.LearnedModel, x: pd.DataFrame, cfg: RiskConfig) -> pd.DataFrame:
    lc, lab = cfg.learned, labels()
    prob = learned.predict(model, x)
    contrib = learned.contributions(model, x)
    bias = contrib[learned.BIAS].to_numpy()
    parts = contrib[model.features].to_numpy()
    values = x[model.features].to_numpy(dtype=float)
    names = model.features
    label_of = {n: lab.feature(n) for n in names}
    top = np.argsort(-np.abs(parts), axis=1, kind="stable")[:, :lc.max_reasons]
    texts: list[str] = []
    for i in range(len(x)):
        chosen = [j for j in top[i].tolist() if parts[i, j] != 0.0]
        reasons = [{"feature": names[j], "label": label_of[names[j]],
                    "value": _value(values[i, j]), "contribution": round(float(parts[i, j]), 6)}
                   for j in chosen]
        listed = sum(r["contribution"] for r in reasons)
        log_odds = float(bias[i] + parts[i].sum())
        texts.append(json.dumps({
            "log_odds": round(log_odds, 6), "expected_value": round(float(bias[i]), 6),
            "other": round(log_odds - float(bias[i]) - listed, 6), "reasons": reasons,
        }, ensure_ascii=False))
    return pd.DataFrame({
        "entity_id": x.index.astype(str), "learned_score": np.round(prob, 6),
        "learned_level": [lc.level(float(p)) for p in prob], "learned_reasons": texts,
    })
