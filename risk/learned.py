"""A learned risk score beside the rules: LightGBM gradient-boosted trees on graph features.

`train(features, labels)` fits a small, regularised binary model (deterministic: one seed,
`deterministic=True`, fixed thread count) on the features of risk/features.py;
`predict(model, features)` gives each entity's probability of a violation in the horizon, and
`contributions(model, features)` its SHAP values - LightGBM's own TreeSHAP
(`pred_contrib=True`) - one column per feature plus `bias`, in log-odds: per entity they sum to
the model's raw prediction, logit(probability). `reasons(...)` turns the largest positive
contributions into reasons, as the rule score's reasons explain its score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

MIN_POSITIVES = 5  # fewer violators in the training window: no model is trained
BIAS = "bias"


@dataclass(frozen=True)
class TrainOptions:
    """LightGBM parameters (small trees, strong regularisation: violators are few)."""

    rounds: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 7
    min_child_samples: int = 20
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 5.0
    seed: int = 7
    threads: int = 1

    def params(self) -> dict[str, Any]:
        return {
            "objective": "binary", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction, "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1, "lambda_l2": self.lambda_l2, "seed": self.seed,
            "deterministic": True, "num_threads": self.threads, "verbosity": -1,
        }


@dataclass
class LearnedModel:
    booster: lgb.Booster
    features: list[str]
    positives: int
    rows: int
    importance: dict[str, float] = field(default_factory=dict)


def train(features: pd.DataFrame, labels: np.ndarray,
          options: TrainOptions | None = None) -> LearnedModel:
    """Fit the model; ValueError when the labels hold fewer than MIN_POSITIVES violators or
    no non-violator."""
    opts = options or TrainOptions()
    y = np.asarray(labels, dtype=float)
    pos = int(y.sum())
    if pos < MIN_POSITIVES or pos == len(y):
        raise ValueError(f"the training window has {pos} violators among {len(y)} entities; "
                         f"a learned score needs at least {MIN_POSITIVES} and some others")
    data = lgb.Dataset(features.to_numpy(dtype=float), label=y,
                       feature_name=[str(c) for c in features.columns], free_raw_data=True)
    booster = lgb.train(opts.params(), data, num_boost_round=opts.rounds)
    gain = booster.feature_importance(importance_type="gain")
    total = float(gain.sum()) or 1.0
    importance = {str(n): round(float(g) / total, 4)
                  for n, g in sorted(zip(features.columns, gain, strict=True),
                                     key=lambda x: -x[1]) if g > 0}
    return LearnedModel(booster, [str(c) for c in features.columns], pos, len(y), importance)


def _matrix(model: LearnedModel, features: pd.DataFrame) -> np.ndarray:
    missing = [c for c in model.features if c not in features.columns]
    if missing:
        raise ValueError(f"features missing for the learned model: {', '.join(missing)}")
    return features[model.features].to_numpy(dtype=float)


def predict(model: LearnedModel, features: pd.DataFrame) -> np.ndarray:
    """Probability of a violation in the horizon, per row of `features`."""
    return np.asarray(model.booster.predict(_matrix(model, features)), dtype=float)


def contributions(model: LearnedModel, features: pd.DataFrame) -> pd.DataFrame:
    """SHAP values in log-odds: one column per feature plus `bias`; rows sum to the raw score."""
    raw = np.asarray(model.booster.predict(_matrix(model, features), pred_contrib=True))
    return pd.DataFrame(raw, index=features.index, columns=[*model.features, BIAS])


def reasons(contrib: pd.DataFrame, features: pd.DataFrame, entity: str,
            top: int = 5) -> list[dict[str, Any]]:
    """The entity's largest positive contributions: feature, its value, log-odds added."""
    row = contrib.loc[entity].to_dict()
    values = features.loc[entity].to_dict()
    ranked = sorted(((float(c), str(n)) for n, c in row.items() if n != BIAS and float(c) > 0),
                    key=lambda x: (-x[0], x[1]))[:top]
    return [{"feature": name, "value": float(values[name]), "log_odds": round(c, 4)}
            for c, name in ranked]
