"""What an alert is: a new material risk found by comparing two runs, explained as data."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, Field

AlertKind = Literal["level_rise", "new_path", "new_phoenix", "new_hub", "new_ring", "lineage"]
ALERT_KINDS: tuple[AlertKind, ...] = ("level_rise", "new_path", "new_phoenix", "new_hub",
                                      "new_ring", "lineage")
LEVEL_RANK = {"low": 0, "medium": 1, "high": 2}


class Change(BaseModel):
    """What changed, as data: the new path (node and relationship IDs from the subject
    outwards, with the relationship types), the new events, the linkage evidence behind any
    entity on the path that a merge created, the lineage (previous IDs) of the subject."""

    path_nodes: list[str] = Field(default_factory=list)
    path_edges: list[str] = Field(default_factory=list)
    path_types: list[str] = Field(default_factory=list)
    event_ids: list[str] = Field(default_factory=list)
    evidence: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    previous_ids: list[str] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)


class Alert(BaseModel):
    alert_key: str = Field(description="sha1 of kind, subject and condition: one condition, "
                                       "one key, whatever run raises it")
    kind: AlertKind
    entity_id: str
    condition: str = Field(description="what the key is made of besides kind and subject")
    run_id: str
    previous_run_id: str
    score_before: float | None = None
    score_after: float | None = None
    level_before: str | None = None
    level_after: str | None = None
    summary: str
    change: Change = Field(default_factory=Change)


def alert_key(kind: str, entity_id: str, condition: str) -> str:
    return hashlib.sha1(f"{kind}\x1f{entity_id}\x1f{condition}".encode()).hexdigest()[:20]
