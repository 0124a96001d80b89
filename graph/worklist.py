"""The risk worklist: every scored entity ranked by its stored score, filtered and paged.

Both stores answer `GraphReader.worklist(WorklistQuery)` with the same `WorklistPage`; the
semantics live here once:
- Candidates: Enterprise and Person nodes with a stored score (`RUN/risk.parquet`) of at least
  `min_score`.
- Ranking: score desc, then entity_id asc (plain string comparison). `score="learned"` ranks
  by the learned score instead (risk/learned_run.py): only entities that have one are
  candidates, and `levels` filters the learned level; `min_score` is the rule score's.
- `kinds`, `levels`, `provinces`, `cities`, `entity_ids`: the entity's label / level /
  province / city / ID is one of the given values (an empty tuple = no filter).
- `rules`: one of the entity's stored reasons has one of these rules.
- *Triggering events* of an entity = the event IDs its stored reasons list (`event_ids`, its
  own events and those at the end of its network paths). `sources` (the agency source name of
  an event, e.g. `customs_penalties`), `event_from` and `event_to` (inclusive): at least one
  triggering event satisfies all three given conditions at once.
- `total` = how many entities pass the filters; `items` = the page `offset .. offset+limit`.
- `rules` of an item = the distinct rules of its stored reasons, in reason order (largest
  contribution first).
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from graph.models import EntitySummary, RiskLevel

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
EntityKind = Literal["Enterprise", "Person"]  # as graph.store.EntityKind
ScoreKind = Literal["rules", "learned"]  # which stored score ranks the worklist
RULE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class WorklistQuery(BaseModel):
    """Filters and page of one worklist read (validated: bad values raise ValueError)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kinds: tuple[EntityKind, ...] = ()
    levels: tuple[RiskLevel, ...] = ()
    rules: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    event_from: date | None = None
    event_to: date | None = None
    entity_ids: tuple[str, ...] | None = Field(
        default=None, description="only these entities (e.g. changed since a run); None = all")
    min_score: float = Field(default=0.0, ge=0.0, le=100.0)
    score: ScoreKind = "rules"
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    @field_validator("rules")
    @classmethod
    def _rules_are_names(cls, rules: tuple[str, ...]) -> tuple[str, ...]:
        for rule in rules:
            if not RULE_PATTERN.match(rule):
                raise ValueError(f"rule {rule!r} is not a rule name (a-z, 0-9, _)")
        return rules

    @property
    def filters_events(self) -> bool:
        return bool(self.sources) or self.event_from is not None or self.event_to is not None

    def event_matches(self, source: str | None, when: date | None) -> bool:
        """Does one triggering event (its source and date) satisfy the event filters?"""
        if self.sources and source not in self.sources:
            return False
        if self.event_from is not None and (when is None or when < self.event_from):
            return False
        return not (self.event_to is not None and (when is None or when > self.event_to))


class WorklistItem(BaseModel):
    entity: EntitySummary
    score: float
    level: RiskLevel
    province: str | None = None
    city: str | None = None
    rules: list[str] = Field(default_factory=list)
    learned_score: float | None = Field(default=None, description="the learned score's "
                                        "probability, where it is shipped")
    learned_level: RiskLevel | None = None


class WorklistPage(BaseModel):
    items: list[WorklistItem]
    total: int
    limit: int
    offset: int


def reason_rules(reasons: list[dict[str, Any]]) -> list[str]:
    """The distinct rules of stored reasons, in reason order."""
    return list(dict.fromkeys(str(r.get("rule")) for r in reasons if r.get("rule")))


def reason_events(reasons: list[dict[str, Any]]) -> list[str]:
    """The triggering event IDs of stored reasons, each once, in reason order."""
    return list(dict.fromkeys(str(e) for r in reasons for e in (r.get("event_ids") or [])))


def parse_reasons(text: str | None) -> list[dict[str, Any]]:
    """The stored reasons JSON (a list of RiskReason objects); [] when absent."""
    if not text:
        return []
    value = json.loads(text)
    return value if isinstance(value, list) else []


def changed_entities(run_dir: Path, previous_dir: Path) -> tuple[str, ...]:
    """Entities of `run_dir` whose stored score or level differs from `previous_dir`'s, or
    that it did not score: the `entity_ids` of a "changed since a run" worklist, sorted."""
    for folder in (run_dir, previous_dir):
        if not (folder / "risk.parquet").is_file():
            raise FileNotFoundError(f"{folder}: no risk.parquet (run `guanlian score` first)")
    cols = ["entity_id", "score", "level"]
    new = pd.read_parquet(run_dir / "risk.parquet", columns=cols)
    old = pd.read_parquet(previous_dir / "risk.parquet", columns=cols)
    both = new.merge(old, on="entity_id", how="left", suffixes=("", "_old"))
    changed = (both["score_old"].isna() | (both["score"] != both["score_old"])
               | (both["level"] != both["level_old"]))
    return tuple(sorted(both.loc[changed, "entity_id"].astype(str)))
