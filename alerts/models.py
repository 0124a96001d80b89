"""What an alert is: a new material risk found by comparing two runs, explained as data."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, Field

AlertKind = Literal["level_rise", "new_path", "new_phoenix", "new_hub", "new_ring", "lineage"]
ALERT_KINDS: tuple[AlertKind, ...] = ("level_rise", "new_path", "new_phoenix", "new_hub",
                                      "new_ring", "lineage")
LEVEL_RANK = {"low": 0, "medium": 1, "high": 2}


class AlertNode(BaseModel):
    """A node of an alert's before / after graph, as of that run."""

    id: str
    kind: str = Field(description="Enterprise, Person, Address, Phone or an event label")
    label: str = Field(description="the name, address, phone or event category shown")
    level: str | None = None
    score: float | None = None
    violating: bool = False
    new: bool = Field(default=False, description="after: no predecessor in the previous run")
    ids_after: list[str] = Field(default_factory=list,
                                 description="before: the node's IDs in the new run")


class AlertEdge(BaseModel):
    id: str
    type: str
    src: str
    dst: str
    new: bool = Field(default=False, description="after: the previous run had no such "
                                                 "relationship (ends followed by lineage)")
    on_path: bool = False


class AlertGraph(BaseModel):
    """The relationships among the alert's path nodes in one run (the after graph: the new
    run's path nodes; the before graph: their predecessors in the previous run)."""

    nodes: list[AlertNode] = Field(default_factory=list)
    edges: list[AlertEdge] = Field(default_factory=list)


class Change(BaseModel):
    """What changed, as data: the new path (node and relationship IDs from the subject
    outwards, with the relationship types), the new events, the linkage evidence behind any
    entity on the path that a merge created, the lineage (previous IDs) of the subject, and
    the graph among the path's nodes before (previous run) and after (new run)."""

    path_nodes: list[str] = Field(default_factory=list)
    path_edges: list[str] = Field(default_factory=list)
    path_types: list[str] = Field(default_factory=list)
    event_ids: list[str] = Field(default_factory=list)
    evidence: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    previous_ids: list[str] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)
    before: AlertGraph = Field(default_factory=AlertGraph)
    after: AlertGraph = Field(default_factory=AlertGraph)


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
