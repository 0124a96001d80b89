"""The draw's risk classes and the recommendation thresholds, read from YAML (data, not code).

`load_classes(path)` reads `path`, else `GUANLIAN_INSPECTION_CLASSES`, else the packaged
`inspection/classes.yaml`; `load_thresholds` likewise with `GUANLIAN_INSPECTION_THRESHOLDS` and
`inspection/recommend.yaml`. A bad file raises `ValueError` naming the file and the field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CLASSES_PATH = Path(__file__).with_name("classes.yaml")
THRESHOLDS_PATH = Path(__file__).with_name("recommend.yaml")
CLASSES_ENV = "GUANLIAN_INSPECTION_CLASSES"
THRESHOLDS_ENV = "GUANLIAN_INSPECTION_THRESHOLDS"
Level = Literal["low", "medium", "high"]
Recommendation = Literal["inspect", "document_check", "release"]
LEVEL_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2}


class RiskClass(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float = Field(ge=0.0, le=1.0)
    description: str = ""


class ScoreBand(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    risk_class: str = Field(alias="class")
    min_score: float = Field(ge=0.0, le=100.0)


class ClassConfig(BaseModel):
    """Classes (ordered from the lowest risk to the highest) with their sampling rates and how
    a firm gets its class."""

    model_config = ConfigDict(extra="forbid")
    version: int = 1
    classes: dict[str, RiskClass]
    by_score: list[ScoreBand]
    by_event: dict[str, str] = Field(default_factory=dict)
    by_status: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_classes(self) -> ClassConfig:
        if not self.classes:
            raise ValueError("classes: give at least one class")
        named = ([b.risk_class for b in self.by_score] + list(self.by_event.values())
                 + list(self.by_status.values()))
        unknown = sorted(set(named) - set(self.classes))
        if unknown:
            raise ValueError(f"unknown class(es) {', '.join(unknown)}; declared: "
                             + ", ".join(self.classes))
        if not any(b.min_score == 0.0 for b in self.by_score):
            raise ValueError("by_score: one band must start at min_score 0 (every firm a class)")
        return self

    @property
    def order(self) -> list[str]:
        return list(self.classes)

    def rank(self, risk_class: str) -> int:
        return self.order.index(risk_class)

    def of_score(self, score: float) -> str:
        for band in sorted(self.by_score, key=lambda b: -b.min_score):
            if score >= band.min_score:
                return band.risk_class
        return self.by_score[-1].risk_class

    def worse(self, a: str, b: str | None) -> str:
        return a if b is None or self.rank(a) >= self.rank(b) else b


class Thresholds(BaseModel):
    """Which recommendation a stored score and level get (the lookup's rule, as data)."""

    model_config = ConfigDict(extra="forbid")
    version: int = 1
    inspect_min_score: float = Field(default=60.0, ge=0, le=100)
    document_check_min_score: float = Field(default=30.0, ge=0, le=100)
    inspect_min_level: Level = "high"
    document_check_min_level: Level = "medium"

    def recommend(self, score: float | None, level: str | None) -> Recommendation:
        s = score or 0.0
        rank = LEVEL_RANK.get(level or "low", 0)
        if s >= self.inspect_min_score or rank >= LEVEL_RANK[self.inspect_min_level]:
            return "inspect"
        if (s >= self.document_check_min_score
                or rank >= LEVEL_RANK[self.document_check_min_level]):
            return "document_check"
        return "release"


def _read(path: Path, model: type[BaseModel]) -> BaseModel:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read ({exc})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise ValueError(f"{path}: {where}: {first['msg']}") from None


def _path(path: Path | None, env: str, default: Path) -> Path:
    if path is not None:
        return path
    value = os.environ.get(env, "").strip()
    return Path(value) if value else default


def load_classes(path: Path | None = None) -> ClassConfig:
    config = _read(_path(path, CLASSES_ENV, CLASSES_PATH), ClassConfig)
    assert isinstance(config, ClassConfig)
    return config


def load_thresholds(path: Path | None = None) -> Thresholds:
    config = _read(_path(path, THRESHOLDS_ENV, THRESHOLDS_PATH), Thresholds)
    assert isinstance(config, Thresholds)
    return config
