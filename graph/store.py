"""The graph read interface: one Protocol, two implementations (Neo4j and embedded).

Routes in `api/` receive a `GraphReader` and never touch a driver. Every operation here is
bounded: hop caps, result limits and degree caps on super-nodes are parameters with safe
defaults, validated again by each implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

from graph.models import (
    BeneficialOwnership,
    Cycle,
    EntityProfile,
    ExposureHit,
    Hub,
    Path,
    PhoenixPair,
    Ring,
    RiskScore,
    RunInfo,
    SearchHit,
    SharedController,
    Subgraph,
)

IdentifierKind = Literal["uscc", "customs_code", "id_number", "reg_no"]
EntityKind = Literal["Enterprise", "Person"]

MAX_NEIGHBOURHOOD_DEPTH = 3
MAX_EXPOSURE_HOPS = 4
MAX_PATH_HOPS = 6
MAX_CYCLE_LENGTH = 6
DEFAULT_DEGREE_CAP = 200


class StoreUnavailable(RuntimeError):
    """The backing store cannot be reached right now (retry later)."""


class NoRunLoaded(RuntimeError):
    """The store is reachable but holds no completed run."""


@runtime_checkable
class GraphReader(Protocol):
    """Every read the API and the risk engine make of the relationship graph."""

    def run_info(self) -> RunInfo:
        """The run the store currently serves; raises NoRunLoaded / StoreUnavailable."""
        ...

    def ping(self) -> bool:
        """True when the store answers a trivial query."""
        ...

    def close(self) -> None: ...

    # --- lookup -------------------------------------------------------------
    def find_by_identifier(self, kind: IdentifierKind, value: str) -> list[str]:
        """Entity IDs holding this exact (normalised) identifier."""
        ...

    def search(
        self,
        text: str,
        kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
        limit: int = 20,
        offset: int = 0,
    ) -> list[SearchHit]:
        """Fuzzy name search (Chinese or pinyin) and exact identifier search, best first."""
        ...

    def get_entity(self, entity_id: str) -> EntityProfile | None: ...

    def get_risk(self, entity_id: str) -> RiskScore | None: ...

    def neighbourhood(
        self,
        entity_id: str,
        depth: int = 1,
        rel_types: Sequence[str] | None = None,
        node_cap: int = 100,
    ) -> Subgraph: ...

    # --- risk catalogue -----------------------------------------------------
    def shared_controllers(self, min_firms: int = 2, limit: int = 50) -> list[SharedController]: ...

    def exposure(self, entity_id: str, max_hops: int = 2, limit: int = 50) -> list[ExposureHit]: ...

    def phoenix_firms(self, limit: int = 50) -> list[PhoenixPair]: ...

    def hubs(
        self, min_enterprises: int = 5, limit: int = 50, include_whitelisted: bool = False
    ) -> list[Hub]: ...

    def ownership_cycles(self, max_length: int = 4, limit: int = 50) -> list[Cycle]: ...

    def beneficial_owners(
        self, entity_id: str, threshold_pct: float = 25.0
    ) -> BeneficialOwnership | None: ...

    def paths(
        self,
        source_id: str,
        target_id: str,
        max_hops: int = 4,
        rel_types: Sequence[str] | None = None,
        limit: int = 5,
    ) -> list[Path]: ...

    def rings(self, min_size: int = 3, limit: int = 50) -> list[Ring]: ...
