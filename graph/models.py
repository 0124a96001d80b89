"""Typed answers of the graph read interface.

Both stores (Neo4j and embedded) return exactly these objects, so the contract tests can
compare them and the API can serialise them without knowing which store answered.
"""

from __future__ import annotations

import datetime
import json
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

NodeKind = Literal[
    "Enterprise", "Person", "Address", "Phone", "Penalty", "InspectionFailure", "Blacklisting"
]
RiskLevel = Literal["low", "medium", "high"]


class RunInfo(BaseModel):
    run_id: str
    loaded_at: str | None = None
    nodes: int = 0
    relationships: int = 0


class Evidence(BaseModel):
    """One accepted link between two mentions of the same entity."""

    mention_id_l: str
    mention_id_r: str
    method: str
    match_weight: float | None = Field(
        default=None, description="the model's weight; null for a merge the model did not "
        "score (exact identifier, context, judgement): `features` name what matched")
    match_probability: float | None = None
    features: list[dict[str, Any]] = Field(default_factory=list)


class SourceRecord(BaseModel):
    mention_id: str
    source: str
    record_id: str
    role: str
    name: str | None = None
    record_date: date | None = None


class StepRelation(BaseModel):
    """One relationship of a path step, in its real direction: `source` → `target`."""

    id: str
    type: str
    type_label: str | None = Field(default=None, description="the type in Chinese")
    source: str
    target: str


class PathStep(BaseModel):
    """One step of a path between consecutive path nodes `a` → `b` (path order); every
    relationship between the two, each with its real direction (roles merged: one step)."""

    a: str
    b: str
    relations: list[StepRelation] = Field(default_factory=list)


class NamedNode(BaseModel):
    id: str
    kind: str
    kind_label: str | None = None
    name: str = Field(description="entity name; an address or phone by its text")
    violating: bool = Field(default=False, description="has events of its own")


class Attachment(BaseModel):
    """How the linkage attached an event's record to its entity."""

    method: str = Field(description="exact_id, splink, masked_id, context, judgement, "
                        "single_record "
                        "(the entity's only record) or cluster (through its other records)")
    method_label: str | None = None
    match_probability: float | None = None
    low_confidence: bool = Field(default=False, description="probability below the "
                                 "threshold of graph/labels.yaml (a name-only match)")
    identifier: str | None = Field(default=None, description="exact_id: the identifier column")
    identifier_label: str | None = None
    identifier_value: str | None = None
    matched_on: list[dict[str, Any]] = Field(default_factory=list)


class ReasonEvent(BaseModel):
    """A triggering event, inline in its reason."""

    event_id: str
    type: str
    type_label: str | None = None
    date: datetime.date | None = None  # field named like the type: qualify it
    agency: str | None = None
    source: str | None = None
    category: str | None = None
    amount: float | None = None
    entity_id: str | None = Field(default=None, description="whose event it is")
    attachment: Attachment | None = None


class RiskReason(BaseModel):
    rule: str = Field(description="machine code: own_events, blacklisting, network_<hops>, "
                      "hub, phoenix, shared_controller")
    contribution: float
    summary: str = Field(description="Chinese, naming no node")
    rule_label: str | None = Field(default=None, description="the rule in Chinese")
    detail: str | None = Field(default=None, description="Chinese, every node named")
    path_nodes: list[str] = Field(default_factory=list)
    path_edges: list[str] = Field(default_factory=list)
    steps: list[PathStep] = Field(default_factory=list)
    nodes: list[NamedNode] = Field(default_factory=list)
    counterpart: str | None = Field(default=None, description="network: the violating entity")
    routes: int = Field(default=1, description="network: distinct routes to the counterpart")
    event_ids: list[str] = Field(default_factory=list)
    events: list[ReasonEvent] = Field(default_factory=list)
    evidence: dict[str, list[Evidence]] = Field(
        default_factory=dict, description="linkage evidence per merged entity on the path"
    )


class LearnedReason(BaseModel):
    feature: str = Field(description="machine code of a graph feature (risk/features.py)")
    label: str = Field(description="the feature in Chinese (graph/labels.yaml)")
    value: float | None = Field(description="the feature's value (null: not applicable)")
    contribution: float = Field(description="SHAP value in log-odds (signed)")


class LearnedScore(BaseModel):
    """The learned score beside the rules (risk/learned_run.py): shipped only where it beat
    the rule score on the run's backtest. expected_value + Σ reasons' contributions + other
    = log_odds = logit(score)."""

    score: float = Field(description="probability of a violation within the horizon (0..1)")
    level: RiskLevel
    log_odds: float
    expected_value: float = Field(description="the model's bias: an average firm's log-odds")
    other: float = Field(description="sum of the contributions not listed")
    reasons: list[LearnedReason] = Field(default_factory=list)


class RiskScore(BaseModel):
    entity_id: str
    score: float
    level: RiskLevel
    reasons: list[RiskReason] = Field(default_factory=list)
    learned: LearnedScore | None = None


_REASONS: TypeAdapter[list[RiskReason]] = TypeAdapter(list[RiskReason])


def reasons_of(text: str | bytes | None) -> list[RiskReason]:
    """The stored reasons column (risk.parquet / the `risk_reasons` node property: a JSON
    list) as models, parsed and validated in one pass of pydantic's JSON parser (what
    `json.loads` then one `model_validate` per reason gave, for less CPU)."""
    return _REASONS.validate_json(text) if text else []


def learned_of(score: float | None, level: str | None, text: str | None) -> LearnedScore | None:
    """The stored learned columns (risk.parquet / node properties) as a LearnedScore."""
    if score is None or level is None or not text or score != score:  # NaN: none
        return None
    return LearnedScore.model_validate({**json.loads(text), "score": score, "level": level})


class EntitySummary(BaseModel):
    entity_id: str
    kind: NodeKind
    name: str
    uscc: str | None = None
    customs_code: str | None = None
    id_number: str | None = None
    risk_level: RiskLevel | None = None
    risk_score: float | None = None
    violating: bool = Field(default=False, description="has events of its own (penalty, "
                            "failed inspection, blacklisting), whatever its risk level")


class TiedFirm(BaseModel):
    entity_id: str
    name: str
    roles: list[str] = Field(default_factory=list, description="relationship types")
    violating: bool = False


class SearchHit(EntitySummary):
    match: str = Field(
        description="which field matched: name, pinyin, uscc, customs_code, id_number"
    )
    similarity: float
    id_masked: str | None = Field(default=None, description="a person's ID number: 1502…8219")
    birth_year: int | None = None
    province: str | None = None
    city: str | None = Field(default=None, description="a person without an address: the "
                             "county of the ID number's birth place")
    ties: list[TiedFirm] = Field(default_factory=list,
                                 description="a person's enterprises (graph.hits.TIES_SHOWN)")
    n_ties: int = 0


class NameGroup(BaseModel):
    name: str
    count: int


class SearchPage(BaseModel):
    """A page of search hits with the size of the whole ranked result and its names."""

    items: list[SearchHit]
    limit: int
    offset: int
    total: int = Field(description="hits in the whole ranked result (at most SEARCH_SCAN)")
    groups: list[NameGroup] = Field(default_factory=list,
                                    description="the whole result's names: count desc, name")


class Event(BaseModel):
    event_id: str
    type: str
    date: datetime.date | None = None  # field named like the type: qualify it
    category: str | None = None
    amount: float | None = None
    description: str | None = None
    source: str | None = None
    record_id: str | None = None


class EntityProfile(EntitySummary):
    names: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    sources: list[SourceRecord] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    risk: RiskScore | None = None


class EntityBrief(EntitySummary):
    """An entity as a real-time lookup needs it: the summary, every name, the attributes and
    the stored risk score; unlike `EntityProfile`, no sources, evidence or events."""

    names: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    risk: RiskScore | None = None


class GraphNode(BaseModel):
    id: str
    kind: NodeKind
    label: str
    risk_level: RiskLevel | None = None
    date: str | None = None  # an event node's date (ISO); the canvas timeline filters on it
    violating: bool = Field(default=False, description="an entity with events of its own")


class GraphEdge(BaseModel):
    id: str
    type: str
    source: str
    target: str
    share_pct: float | None = None
    start_date: str | None = None  # the relationship's start date (ISO), when the source had one


class Subgraph(BaseModel):
    nodes: list[GraphNode] = Field(default_factory=list)
    edges: list[GraphEdge] = Field(default_factory=list)
    truncated: bool = False


class Path(BaseModel):
    nodes: list[str]
    edges: list[str] = Field(description="per step: its first relationship (by ID)")
    types: list[str]
    steps: list[PathStep] = Field(
        default_factory=list, description="paths between two entities: per step every "
        "relationship between its two nodes, each in its real direction")


class ControlledFirm(BaseModel):
    entity_id: str
    name: str
    roles: list[str]
    events: list[Event] = Field(default_factory=list)


class SharedController(BaseModel):
    controller: EntitySummary
    firms: list[ControlledFirm]
    n_violating_firms: int
    n_events: int


class ExposureHit(BaseModel):
    target: EntitySummary
    hops: int
    path: Path
    event_types: list[str]


class PhoenixPair(BaseModel):
    predecessor: EntitySummary
    successor: EntitySummary
    shared: list[str] = Field(description="what ties them: legal_rep, shareholder, address")
    via: list[str] = Field(description="node IDs of the shared people / address")
    penalty_date: date | None = None
    successor_established: date | None = None


class Hub(BaseModel):
    hub_id: str
    kind: Literal["Address", "Phone"]
    label: str
    n_enterprises: int
    n_violating: int
    enterprises: list[str]
    whitelisted: bool = False


class Cycle(BaseModel):
    nodes: list[str]
    edges: list[str]
    share_pcts: list[float | None]


class BeneficialOwner(BaseModel):
    owner: EntitySummary
    effective_pct: float
    paths: list[Path]


class BeneficialOwnership(BaseModel):
    entity_id: str
    threshold_pct: float
    owners: list[BeneficialOwner]
    actual_controller: EntitySummary | None = None


class Ring(BaseModel):
    ring_id: str
    enterprises: list[str]
    connectors: list[str]
    n_violating: int
    size: int
