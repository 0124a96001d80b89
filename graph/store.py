"""The graph read interface: one Protocol, two implementations (Neo4j and embedded).

Routes in `api/` receive a `GraphReader` and never touch a driver. Every operation here is
bounded: hop caps, result limits and degree caps on super-nodes are parameters with safe
defaults, validated again by each implementation.

Shared semantics (both stores must give identical answers; the contract tests check it):
- "Network" relationships are `schema.NETWORK_TYPES`, walked in either direction; events hang
  off entities by SUBJECT_OF and are never walked through unless SUBJECT_OF is asked for.
- A *violating* entity is an Enterprise or Person with at least one SUBJECT_OF event
  (Penalty, InspectionFailure or Blacklisting).
- *Degree* of a node = number of its network relationships (both directions, events excluded).
  A *blocked* node is an Address / Phone / Person / Enterprise whose degree exceeds the store's
  degree cap, or an Address / Phone on the hubs whitelist (`graph.policy`: the walk policy,
  matched against the node ID, its label, its address_std or phone). Blocked nodes may be
  reached (start, end) but never passed through.
- Bounds (MAX_*), ring thresholds and ring IDs, phoenix rules: `graph.catalogue`.
- Event `type`s are the events.parquet types: PENALTY, INSPECTION_FAILURE, BLACKLISTING.
- Path ordering: among paths of one length, ascending by the list of node IDs, then by the
  list of relationship IDs (plain string comparison).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple, Protocol, runtime_checkable

from graph.catalogue import MIN_CONTROLLED_FIRMS, MIN_HUB_ENTERPRISES
from graph.models import (
    BeneficialOwnership,
    Cycle,
    EntityBrief,
    EntityProfile,
    ExposureHit,
    GraphNode,
    Hub,
    Path,
    PhoenixPair,
    Ring,
    RiskScore,
    RunInfo,
    SearchHit,
    SearchPage,
    SharedController,
    Subgraph,
)
from graph.worklist import WorklistPage, WorklistQuery

IdentifierKind = Literal["uscc", "customs_code", "id_number", "reg_no"]
EntityKind = Literal["Enterprise", "Person"]
# search: identifier kinds in the order a later kind's hit overrides an earlier one's, and the
# similarity (0..1) below which a name is no hit
IDENTIFIERS: tuple[IdentifierKind, ...] = ("uscc", "customs_code", "id_number", "reg_no")
MIN_SIMILARITY = 0.7
# a search page's total and name groups are over at most this many best hits
SEARCH_SCAN = 1000


class NameHit(NamedTuple):
    """One hit of a search's ranking without its summary and details (`rank_names`)."""

    entity_id: str
    similarity: float
    match: str  # the field that matched: name, pinyin or an identifier kind
    name: str


def search_scan(limit: int, offset: int, pool: int | None) -> int:
    """How many index candidates a search re-scores (both stores, `search` and `rank_names`):
    `pool`, or max(500, 10 x (limit + offset)) without one; never fewer than limit + offset.
    Raises ValueError outside limit 1..1000, offset >= 0, pool 1..10000."""
    if not 1 <= limit <= 1000 or offset < 0:
        raise ValueError("limit must be 1..1000 and offset >= 0")
    if pool is not None and not 1 <= pool <= 10_000:
        raise ValueError("pool must be 1..10000")
    need = limit + offset
    return max(500, 10 * need) if pool is None else max(pool, need)


def identifier_text(value: str) -> str:
    """An identifier as both stores match it: whitespace removed, upper-cased."""
    return "".join(value.split()).upper()


def compact_text(text: str) -> str:
    """Text as both stores compare pinyin: lower-cased letters and digits only."""
    return "".join(filter(str.isalnum, text.lower()))



class StoreUnavailable(RuntimeError):
    """The backing store cannot be reached right now (retry later)."""


class NoRunLoaded(RuntimeError):
    """The store is reachable but holds no completed run."""


@runtime_checkable
class GraphReader(Protocol):
    """Every read the API and the risk engine make of the relationship graph."""

    #: True when every read is an in-process memory lookup that never waits on I/O (the API
    #: runs a lookup's identifier reads on its event loop instead of a worker thread)
    in_memory: bool

    def run_info(self) -> RunInfo:
        """The run the store currently serves; raises NoRunLoaded / StoreUnavailable."""
        ...

    def ping(self) -> bool:
        """True when the store answers a trivial query."""
        ...

    def close(self) -> None: ...

    def warm_up(self, seconds: float = 0.0) -> None:
        """Prepare for the first reads after a start or a load (plan the walk queries);
        a no-op where nothing needs preparing. `seconds` > 0: then also run the lookup
        reads with the graph's own identifiers and names for about that long (a database
        server that has just started runs its first thousands of queries slowly)."""
        ...

    # --- lookup -------------------------------------------------------------
    def find_by_identifier(self, kind: IdentifierKind, value: str) -> list[str]:
        """Entity IDs holding this exact identifier (value stripped and upper-cased), sorted."""
        ...

    def search(
        self,
        text: str,
        kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
        limit: int = 20,
        offset: int = 0,
        *,
        pool: int | None = None,
    ) -> list[SearchHit]:
        """Fuzzy name search (Chinese or pinyin) and exact identifier search, best first.

        Exact identifier hits come first (similarity 1.0); then names by similarity in 0..1,
        ties by entity_id. Scores differ between stores (rapidfuzz vs full-text index), so only
        the set of top hits for a clear query is part of the contract. `pool` (1..10000) bounds
        how many index candidates are re-scored: the best of the Neo4j full-text index, or of
        the embedded store's bigram index per label and field (None: max(500, 10 x (limit +
        offset)) in both stores, never fewer than limit + offset); a real-time lookup asks for
        few.
        """
        ...

    def rank_names(
        self,
        text: str,
        kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
        limit: int = 20,
        offset: int = 0,
        *,
        pool: int | None = None,
    ) -> list[NameHit]:
        """`search`'s hits (same arguments, same order, same similarities) as ID, similarity,
        matched field and name only: no summaries or namesake details, so one round trip to
        the store (what a real-time lookup needs before it reads the briefs it scores)."""
        ...

    def search_page(
        self,
        text: str,
        kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
        limit: int = 20,
        offset: int = 0,
    ) -> SearchPage:
        """`search` as a page: the hits `offset`..`offset + limit` of the ranked result, its
        `total` (at most SEARCH_SCAN best hits; both stores re-score a pool of
        max(SEARCH_SCAN, 10 x (limit + offset)) index candidates) and `groups`
        (graph.hits.name_groups) over all of them. Every hit of `search` / `search_page`
        carries what tells namesakes apart (`graph.hits`: masked ID number, birth year,
        province / city, tied enterprises)."""
        ...

    def get_entity(self, entity_id: str) -> EntityProfile | None:
        """Profile with sources (by mention_id), evidence (by mention_id_l, mention_id_r) and
        events (date desc, then event_id); None when unknown."""
        ...

    def get_briefs(self, entity_ids: Sequence[str], *, risk: bool = True
                   ) -> list[EntityBrief]:
        """Briefs (summary, names, attributes, risk: what `get_entity` gives without sources,
        evidence and events) of the known entities among `entity_ids`, in the given order,
        each once; unknown IDs are skipped. One round trip to the store. `risk=False`: each
        brief's `risk` is None (its summary keeps the level and score): the stored reasons
        are the bulk of a brief, and candidates that are only scored do not need them."""
        ...

    def briefs_by_identifier(self, kind: IdentifierKind, value: str) -> list[EntityBrief]:
        """`get_briefs(find_by_identifier(kind, value))` in one round trip to the store."""
        ...

    def get_risk(self, entity_id: str) -> RiskScore | None:
        """The stored score of `RUN/risk.parquet` (never computed on the fly); None if absent."""
        ...

    def neighbourhood(
        self,
        entity_id: str,
        depth: int = 1,
        rel_types: Sequence[str] | None = None,
        node_cap: int = 100,
    ) -> Subgraph:
        """Nodes within `depth` (1..MAX_NEIGHBOURHOOD_DEPTH) hops over `rel_types` (default
        network; include SUBJECT_OF to get events), not expanding blocked nodes other than the
        start. Nodes are taken in BFS order (hop, then node ID) up to `node_cap` (truncated =
        True when more existed or a blocked node was not expanded); edges are all edges of the
        types among the kept nodes. Nodes sorted by ID, edges by ID. GraphNode.label = `name`
        for entities, `label` for Address / Phone, `category` (else the label) for events."""
        ...

    def nodes(self, node_ids: Sequence[str]) -> list[GraphNode]:
        """The graph nodes (entities, addresses, phones, events) among `node_ids` that exist,
        as `neighbourhood` gives them (label: an entity's name, an address or phone by its
        text), sorted by ID; one round trip (a path's nodes, named)."""
        ...

    # --- risk catalogue -----------------------------------------------------
    def shared_controllers(
        self, min_firms: int = MIN_CONTROLLED_FIRMS, limit: int = 50
    ) -> list[SharedController]:
        """People and enterprises with a CONTROL_TYPES relationship (legal rep, shareholder,
        director, supervisor, manager) to >= `min_firms` violating enterprises.

        `firms` = only the violating controlled firms, sorted by entity_id, each with its
        control `roles` (relationship types, sorted) and events (date desc, event_id).
        n_events = events of those firms. Ranked by n_violating_firms desc, n_events desc,
        controller entity_id asc."""
        ...

    def exposure(self, entity_id: str, max_hops: int = 2, limit: int = 50) -> list[ExposureHit]:
        """Violating entities (not the start) within `max_hops` (1..MAX_EXPOSURE_HOPS) network
        hops, not passing through blocked nodes. Each hit carries its shortest distance and the
        first shortest path in path ordering; `event_types` = its distinct event types, sorted.
        Ordered by hops asc, then target entity_id."""
        ...

    def phoenix_firms(self, limit: int = 50) -> list[PhoenixPair]:
        """Pairs (predecessor, successor) of distinct enterprises where the predecessor has a
        PENALTY or BLACKLISTING event, a status containing 注销 / 吊销 (or 'deregistered' /
        'revoked'), and the successor was established on or after one of those event dates;
        tied by `shared` ⊆ [legal_rep (same person LEGAL_REP_OF both), shareholder (same owner
        SHAREHOLDER_OF both), address (same Address)] in that order, tying nodes not blocked;
        `via` = the tying node IDs, sorted. penalty_date = the latest such event date on or
        before successor_established.
        Ordered by successor_established desc, predecessor ID, successor ID."""
        ...

    def hubs(
        self, min_enterprises: int = MIN_HUB_ENTERPRISES, limit: int = 50,
        include_whitelisted: bool = False,
    ) -> list[Hub]:
        """Address and Phone nodes tied to >= `min_enterprises` enterprises (LOCATED_AT /
        HAS_PHONE; people are not counted). `enterprises` sorted by ID, n_violating = how many
        of them violate; whitelisted hubs (hubs_whitelist) only with include_whitelisted.
        Ordered by n_violating desc, n_enterprises desc, hub_id asc."""
        ...

    def ownership_cycles(self, max_length: int = 4, limit: int = 50) -> list[Cycle]:
        """Simple directed cycles of SHAREHOLDER_OF with 1..max_length (<= MAX_CYCLE_LENGTH)
        relationships. `nodes` starts at the smallest node ID and follows ownership direction
        (nodes[i] holds a share of nodes[i+1], the last holds the first; the start is not
        repeated); edges[i] / share_pcts[i] belong to nodes[i] -> nodes[i+1]. Ordered by length,
        then the node list."""
        ...

    def beneficial_owners(
        self, entity_id: str, threshold_pct: float = 25.0
    ) -> BeneficialOwnership | None:
        """Ultimate owners of an enterprise: walking SHAREHOLDER_OF upwards along simple paths
        of <= MAX_PATH_HOPS relationships with a known share_pct, the terminal owners (people,
        and enterprises with no shareholder edge that extends the simple path) get the sum
        over their paths of the product of shares (effective_pct in %, rounded to 4
        decimals). Owners at or above `threshold_pct`, ordered by effective_pct desc,
        entity_id; each owner's paths run from owner to entity, ordered by contribution desc,
        then path ordering. actual_controller = the owner with the largest effective share
        (ties: smallest ID) even below threshold, else the legal representative (smallest
        ID), else None. None for an unknown entity."""
        ...

    def paths(
        self,
        source_id: str,
        target_id: str,
        max_hops: int = 4,
        rel_types: Sequence[str] | None = None,
        limit: int = 5,
        *,
        avoid_hubs: bool = False,
    ) -> list[Path]:
        """The shortest paths between the two (undirected, over `rel_types`, default network),
        of at most `max_hops` (<= MAX_PATH_HOPS) relationships, inner nodes not blocked, and
        with `avoid_hubs` not hubs either (graph.policy.PATH_HUB_MIN_ENTERPRISES); one path
        per distinct node sequence, the first `limit` in ascending order of node lists. Each
        path's `steps` list, per step, every relationship of `rel_types` between its two
        nodes (by relationship ID) with its real direction (`source` → `target`); `edges` /
        `types` hold each step's first. [] when none; the one-node path when source ==
        target."""
        ...

    def rings(self, min_size: int = 3, limit: int = 50) -> list[Ring]:
        """Connected groups of enterprises tied by shared connectors — a Person (through a
        CONTROL_TYPES relationship; declarants do not tie), an Address or a Phone — that are
        not blocked and tie 2..RING_CONNECTOR_CAP (= 10) enterprises (larger ones are hubs).
        Groups with >= `min_size` enterprises of which >= 2 violate.
        ring_id = "G" + sha1(smallest member ID)[:12];
        `connectors` = connector IDs tied to >= 2 members, sorted; enterprises sorted.
        Ordered by n_violating desc, size desc, ring_id."""
        ...

    # --- worklist ---------------------------------------------------------------------------
    def worklist(self, query: WorklistQuery) -> WorklistPage:
        """Scored entities ranked by score desc, entity_id asc, filtered and paged: the
        semantics are `graph.worklist`'s docstring."""
        ...
