"""Search, entity profile and risk, network, exposure, beneficial owners, paths."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator, BaseModel, Field

from api.context import returned
from api.deps import AsInspector, AsInvestigator, StoreDep, heavy
from api.errors import AmbiguousName, Forbidden, InvalidParameter, NotFound
from api.openapi import AUTH, problems
from api.schemas import Items
from api.validation import PRINTABLE_SCHEMA, check_printable
from graph import schema
from graph.catalogue import MAX_EXPOSURE_HOPS, MAX_NEIGHBOURHOOD_DEPTH, MAX_PATH_HOPS
from graph.models import (
    BeneficialOwnership,
    EntityProfile,
    EntitySummary,
    ExposureHit,
    GraphNode,
    RiskScore,
    SearchPage,
    Subgraph,
)
from graph.models import Path as GraphPath
from graph.store import EntityKind, GraphReader

router = APIRouter(tags=["entities"])
ENTITY_PATTERN = r"^[EP][0-9a-f]{12}$"
_ONE_TYPE = "(?:" + "|".join(schema.NETWORK_TYPES) + ")"
TYPES_PATTERN = rf"^{_ONE_TYPE}(?:,{_ONE_TYPE})*$"

EntityId = Annotated[str, Path(pattern=ENTITY_PATTERN, examples=["E3fa9c02b7d1e"],
                               description="enterprise (E…) or person (P…) ID")]
# the network may also be drawn around an address (A…) or a phone (T…)
NodeId = Annotated[str, Path(pattern=r"^(?:[EPA][0-9a-f]{12}|T[0-9]{5,20})$",
                             examples=["A358be40ac344"],
                             description="enterprise (E…), person (P…), address (A…) or "
                                         "phone (T…) ID")]
RelTypes = Annotated[str | None, Query(
    pattern=TYPES_PATTERN, max_length=400, examples=["LEGAL_REP_OF,SHAREHOLDER_OF"],
    description="comma-separated relationship types to walk (default: all but SUBJECT_OF)",
)]
# the network may also draw events (SUBJECT_OF), which the canvas's timeline filters on
_DRAWN_TYPE = "(?:" + "|".join((*schema.NETWORK_TYPES, "SUBJECT_OF")) + ")"
DrawnTypes = Annotated[str | None, Query(
    pattern=rf"^{_DRAWN_TYPE}(?:,{_DRAWN_TYPE})*$", max_length=400,
    examples=["LEGAL_REP_OF,SHAREHOLDER_OF,SUBJECT_OF"],
    description="comma-separated relationship types to draw, SUBJECT_OF (events) included "
                "(default: all but SUBJECT_OF)",
)]
Limit = Annotated[int, Query(ge=1, le=200)]
NOT_FOUND = problems(*AUTH, 404)
NAME_CANDIDATES = 10  # hits a path endpoint's name is resolved among
_SUMMARY_FIELDS = set(EntitySummary.model_fields)
_CANDIDATE_FIELDS = _SUMMARY_FIELDS | {"similarity", "birth_year", "province", "city",
                                       "id_masked"}


def _types(value: str | None) -> tuple[str, ...] | None:
    return schema.check_rel_types(value.split(",")) if value else None


def _existing(store: GraphReader, entity_id: str) -> EntityProfile:
    profile = store.get_entity(entity_id)
    if profile is None:
        raise NotFound(f"no entity {entity_id}")
    return profile


@router.get("/search", response_model=SearchPage, responses=problems(*AUTH),
            summary="Find entities by name (Chinese or pinyin, fuzzy) or identifier; each hit "
                    "tells namesakes apart, the page says how many hits and names there are")
def search(
    principal: AsInspector,
    store: StoreDep,
    q: Annotated[str, Query(min_length=1, max_length=200, json_schema_extra=PRINTABLE_SCHEMA,
                            examples=["华信进出口", "huaxin", "91310000MA1000012X"]),
                 AfterValidator(check_printable)],
    kind: Annotated[EntityKind | None, Query(description="restrict to one kind")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchPage:
    if principal.role == "inspector":
        if kind == "Person":
            raise Forbidden("inspectors may search enterprises only")
        kind = "Enterprise"
    kinds: tuple[EntityKind, ...] = (kind,) if kind else ("Enterprise", "Person")
    text = q.strip()
    if not text:
        return returned(SearchPage(items=[], limit=limit, offset=offset, total=0))
    return returned(store.search_page(text, kinds=kinds, limit=limit, offset=offset))


@router.get("/entities/{entity_id}", response_model=EntityProfile, responses=NOT_FOUND,
            summary="Attributes, identifiers, merged source records and why, risk")
def entity(_: AsInvestigator, store: StoreDep, entity_id: EntityId) -> EntityProfile:
    return returned(_existing(store, entity_id))


@router.get("/entities/{entity_id}/risk", response_model=RiskScore, responses=NOT_FOUND,
            summary="Risk score, level and reasons of an entity")
def entity_risk(_: AsInspector, store: StoreDep, entity_id: EntityId) -> RiskScore:
    risk = store.get_risk(entity_id)
    if risk is None:
        raise NotFound(f"no risk score for {entity_id}")
    return returned(risk)


@router.get("/entities/{entity_id}/network", response_model=Subgraph,
            dependencies=[heavy("network")], responses=NOT_FOUND,
            summary="Neighbourhood to depth ≤ 3, ready for a graph viewer")
def network(
    _: AsInvestigator,
    store: StoreDep,
    entity_id: NodeId,
    depth: Annotated[int, Query(ge=1, le=MAX_NEIGHBOURHOOD_DEPTH)] = 1,
    types: DrawnTypes = None,
    cap: Annotated[int, Query(ge=1, le=500, description="node cap")] = 100,
) -> Subgraph:
    if entity_id[0] in "EP":
        _existing(store, entity_id)
    graph = store.neighbourhood(entity_id, depth=depth, rel_types=_types(types), node_cap=cap)
    if not graph.nodes:  # an address or phone that is not in the run
        raise NotFound(f"no node {entity_id}")
    return returned(graph)


@router.get("/entities/{entity_id}/exposure", response_model=Items[ExposureHit],
            dependencies=[heavy("exposure")],
            responses=NOT_FOUND, summary="Violating entities within a few hops")
def exposure(
    _: AsInvestigator,
    store: StoreDep,
    entity_id: EntityId,
    hops: Annotated[int, Query(ge=1, le=MAX_EXPOSURE_HOPS)] = 2,
    limit: Limit = 50,
) -> Items[ExposureHit]:
    _existing(store, entity_id)
    return returned(Items[ExposureHit](
        items=store.exposure(entity_id, max_hops=hops, limit=limit)))


@router.get("/entities/{entity_id}/beneficial-owners", response_model=BeneficialOwnership,
            dependencies=[heavy("owners")],
            responses=NOT_FOUND, summary="Owners above a share threshold through all layers")
def beneficial_owners(
    _: AsInvestigator,
    store: StoreDep,
    entity_id: EntityId,
    threshold: Annotated[float, Query(ge=0, le=100, description="percent")] = 25.0,
) -> BeneficialOwnership:
    owners = store.beneficial_owners(entity_id, threshold_pct=threshold)
    if owners is None:
        raise NotFound(f"no enterprise {entity_id}")
    return returned(owners)


class PathAnswer(BaseModel):
    """Paths between two entities, each node named (`nodes`: entity names, addresses and
    phones by their text), and the two endpoints as resolved from what was asked."""

    items: list[GraphPath]
    source: EntitySummary
    target: EntitySummary
    nodes: list[GraphNode] = Field(default_factory=list)
    include_hubs: bool = False


Endpoint = Annotated[str, Query(
    min_length=1, max_length=200, json_schema_extra=PRINTABLE_SCHEMA,
    examples=["P0c1d2e3f4a5b", "上海华信进出口贸易有限公司"],
    description="an entity ID (E… / P…) or a name, resolved through search: a name meaning "
                "several entities is refused (422 ambiguous_name, with the candidates)"),
    AfterValidator(check_printable)]


def _endpoint(store: GraphReader, field: str, given: str) -> EntitySummary:
    """An endpoint by ID, else the one entity bearing exactly that name (a text that looks
    like a mistyped ID is refused as such)."""
    text = given.strip()
    if re.fullmatch(ENTITY_PATTERN, text):
        return EntitySummary(**_existing(store, text).model_dump(include=_SUMMARY_FIELDS))
    if not text:
        raise InvalidParameter(field, "give an entity ID or a name")
    if re.fullmatch(r"[EP][0-9a-fA-F]{0,20}", text):  # an ID, mistyped: not a name
        raise InvalidParameter(field, f"{text!r} is not an entity ID (E or P and 12 "
                               "lower-case hexadecimal digits)")
    hits = store.search(text, limit=NAME_CANDIDATES)
    exact = [h for h in hits if h.name == text or h.similarity >= 1.0]
    if len(exact) == 1:
        return EntitySummary(**exact[0].model_dump(include=_SUMMARY_FIELDS))
    if not hits:
        raise NotFound(f"no entity named {text}")
    shown = exact or hits
    raise AmbiguousName(field, text, [h.model_dump(mode="json", include=_CANDIDATE_FIELDS)
                                      for h in shown])


@router.get("/paths", response_model=PathAnswer,
            dependencies=[heavy("paths")], responses=NOT_FOUND,
            summary="Shortest paths between two entities (by ID or name), each step in its "
                    "real direction, hubs avoided unless asked")
def paths(
    _: AsInvestigator,
    store: StoreDep,
    source: Endpoint,
    target: Endpoint,
    max_hops: Annotated[int, Query(ge=1, le=MAX_PATH_HOPS)] = 4,
    types: RelTypes = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
    include_hubs: Annotated[bool, Query(
        description="pass through hubs (addresses / phones of many enterprises, "
                    "graph.policy.PATH_HUB_MIN_ENTERPRISES)")] = False,
) -> PathAnswer:
    start = _endpoint(store, "query.source", source)
    end = _endpoint(store, "query.target", target)
    found = store.paths(start.entity_id, end.entity_id, max_hops=max_hops,
                        rel_types=_types(types), limit=limit, avoid_hubs=not include_hubs)
    on_paths = sorted({n for p in found for n in p.nodes})
    return returned(PathAnswer(items=found, source=start, target=end,
                               nodes=store.nodes(on_paths), include_hubs=include_hubs))
