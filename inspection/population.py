"""The population a draw is made from: the run's entities with their stored risk and class.

Read from the scored run folder (`entities`, `risk`, `events`): one row per entity with its
kind, name, identifiers, region (province / city), registration status, the agency sources
that mention it, its stored score and level (0 / low when unscored) and its risk class
(`inspection/classes.yaml`: the class of its score, made worse by a credit event such as
BLACKLISTING or a credit status). Sorted by entity ID: the order the draw algorithm starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from inspection.config import ClassConfig
from inspection.text import Word
from runfolder.folder import has_table, read_table

KIND_LABEL = {"enterprise": "Enterprise", "person": "Person"}
COLUMNS = ("entity_id", "kind", "name", "uscc", "customs_code", "province", "city", "status",
           "sources", "score", "level", "risk_class")
_TEXT: Any = Field(default_factory=tuple, max_length=50)
Kind = Literal["Enterprise", "Person"]


class PopulationFilter(BaseModel):
    """Which entities may be drawn (every given condition must hold; empty = no condition).

    `industries`: words of the trade in the registered name (e.g. 食品, 供应链): the registries
    carry no industry code, the name's industry word is what the sources give."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kinds: tuple[Kind, ...] = Field(default=("Enterprise",), max_length=2)
    provinces: tuple[Word, ...] = _TEXT
    cities: tuple[Word, ...] = _TEXT
    industries: tuple[Word, ...] = _TEXT
    sources: tuple[Word, ...] = _TEXT
    statuses: tuple[Word, ...] = _TEXT


@dataclass(frozen=True)
class Population:
    run_id: str
    frame: pd.DataFrame  # COLUMNS, sorted by entity_id


def load_population(run_dir: Path, classes: ClassConfig) -> Population:
    """Every entity of the run with its score, level and risk class."""
    entities = read_table(run_dir, "entities", ("entity_id", "kind", "name", "uscc",
                                                "customs_code", "province", "city", "status",
                                                "sources", "run_id"))
    run_id = str(entities["run_id"].iloc[0]) if len(entities) else run_dir.name
    frame = entities.drop(columns=["run_id"]).copy()
    frame["kind"] = frame["kind"].map(KIND_LABEL).fillna(frame["kind"])
    if has_table(run_dir, "risk"):
        risk = read_table(run_dir, "risk", ("entity_id", "score", "level"))
        frame = frame.merge(risk, on="entity_id", how="left")
    else:
        frame["score"], frame["level"] = 0.0, "low"
    frame["score"] = frame["score"].astype("float64").fillna(0.0).round(4)
    frame["level"] = frame["level"].fillna("low")
    frame["risk_class"] = [classes.of_score(float(s)) for s in frame["score"]]
    if classes.by_event:
        events = read_table(run_dir, "events", ("entity_id", "type"))
        for etype, risk_class in classes.by_event.items():
            marked = set(events.loc[events["type"] == etype, "entity_id"])
            hit = frame["entity_id"].isin(marked)
            frame.loc[hit, "risk_class"] = [classes.worse(c, risk_class)
                                            for c in frame.loc[hit, "risk_class"]]
    if classes.by_status:
        status_class = frame["status"].map(classes.by_status)
        hit = status_class.notna()
        frame.loc[hit, "risk_class"] = [classes.worse(c, s) for c, s in
                                        zip(frame.loc[hit, "risk_class"], status_class[hit],
                                            strict=True)]
    frame["sources"] = [list(s) if s is not None else [] for s in frame["sources"]]
    frame = frame.sort_values("entity_id", kind="stable").reset_index(drop=True)
    return Population(run_id, frame[list(COLUMNS)])


def select(population: Population, flt: PopulationFilter) -> pd.DataFrame:
    """The rows passing `flt`, still sorted by entity ID."""
    f = population.frame
    keep = pd.Series(True, index=f.index)
    if flt.kinds:
        keep &= f["kind"].isin(flt.kinds)
    if flt.provinces:
        keep &= f["province"].isin(flt.provinces)
    if flt.cities:
        keep &= f["city"].isin(flt.cities)
    if flt.statuses:
        keep &= f["status"].isin(flt.statuses)
    if flt.industries:
        names = f["name"].fillna("")
        keep &= pd.Series([any(w in n for w in flt.industries) for n in names], index=f.index)
    if flt.sources:
        wanted = set(flt.sources)
        keep &= pd.Series([bool(wanted & set(s)) for s in f["sources"]], index=f.index)
    return f[keep]
