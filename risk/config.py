"""Risk configuration: weights, thresholds and the hubs whitelist (YAML describes data).

`load_risk_config()` reads `GUANLIAN_RISK_CONFIG` if set, else the packaged `risk/risk.yaml`.
Every field has a documented default, so an empty file is a valid configuration.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from graph.catalogue import MIN_HUB_ENTERPRISES
from graph.policy import DEFAULT_DEGREE_CAP

DEFAULT_PATH = Path(__file__).with_name("risk.yaml")
ENV_VAR = "GUANLIAN_RISK_CONFIG"


class Levels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    medium: float = 30.0
    high: float = 60.0

    def of(self, value: float) -> str:
        """The level of a score: high from `high` up, medium from `medium` up, else low."""
        if value >= self.high:
            return "high"
        if value >= self.medium:
            return "medium"
        return "low"


class LearnedLevels(Levels):
    """Levels of the learned score (a probability)."""

    medium: float = Field(default=0.15, gt=0, lt=1)
    high: float = Field(default=0.4, gt=0, lt=1)


class LearnedConfig(BaseModel):
    """The learned score of `guanlian score` (risk/learned_run.py)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    horizon_days: int = Field(default=365, ge=30)
    levels: LearnedLevels = Field(default_factory=LearnedLevels)
    max_reasons: int = Field(default=5, ge=1, le=20)
    min_auc_gain: float = Field(default=0.0, ge=0)
    parallel: bool = True  # computed in a second process while the rules score
    parallel_min_entities: int = Field(default=20_000, ge=0)  # smaller runs: in-process
    # a rerun scored with its previous run keeps that run's model while its newest event is
    # less than this many days past the model's label window (0: always retrain)
    retrain_after_days: int = Field(default=30, ge=0)

    def level(self, probability: float) -> str:
        return self.levels.of(probability)


class RiskConfig(BaseModel):
    """Weights of the risk score; see risk/risk.yaml for the meaning of each field."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    as_of: date | None = None
    half_life_days: float = Field(default=1095.0, gt=0)
    severity: dict[str, float] = Field(
        default_factory=lambda: {"PENALTY": 2.0, "INSPECTION_FAILURE": 1.2, "BLACKLISTING": 3.0}
    )
    max_hops: int = Field(default=2, ge=0, le=4)
    hop_decay: float = Field(default=0.8, ge=0, le=1)
    rel_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "LEGAL_REP_OF": 1.0, "SHAREHOLDER_OF": 0.8, "DIRECTOR_OF": 0.6,
            "SUPERVISOR_OF": 0.4, "MANAGER_OF": 0.5, "DECLARANT_FOR": 0.3,
            "LOCATED_AT": 0.5, "HAS_PHONE": 0.6,
        }
    )
    degree_damping: float = Field(default=0.5, ge=0)
    min_contribution: float = Field(default=0.005, ge=0)
    network_cap: float = Field(default=0.0, ge=0)
    hub_min_enterprises: int = Field(default=MIN_HUB_ENTERPRISES, ge=2)
    hub_weight: float = Field(default=0.6, ge=0)
    hub_base: float = Field(default=0.3, ge=0)
    phoenix_weight: float = Field(default=1.2, ge=0)
    controller_weight: float = Field(default=0.4, ge=0)
    scale: float = Field(default=4.0, gt=0)
    levels: Levels = Field(default_factory=Levels)
    max_reasons: int = Field(default=5, ge=1)
    degree_cap: int = Field(default=DEFAULT_DEGREE_CAP, ge=1)
    hubs_whitelist: list[str] = Field(default_factory=list)
    learned: LearnedConfig = Field(default_factory=LearnedConfig)

    def level(self, score: float) -> str:
        return self.levels.of(score)


def read_risk_config(path: Path) -> RiskConfig:
    """Parse one YAML file (ValueError with the path on a bad file)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return RiskConfig.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"bad risk configuration {path}: {exc}") from exc


@lru_cache(maxsize=1)
def load_risk_config() -> RiskConfig:
    """The configured RiskConfig ($GUANLIAN_RISK_CONFIG, else risk/risk.yaml), cached."""
    return read_risk_config(Path(os.environ.get(ENV_VAR) or DEFAULT_PATH))
