"""`Neo4jStore`: the `GraphReader` read interface in parameterised Cypher.

Every query is written whole in `graph.neo4j.queries`; labels and relationship types in query
text come only from `graph.schema` (holes filled with names validated by `check_label` /
`check_rel_types`); every value is a parameter. Answers, orderings and
tie-breaks follow the docstrings of `graph.store.GraphReader` exactly, so the contract tests
can compare this store with the embedded one. Walks that need deterministic shortest-path
tie-breaks (neighbourhood, exposure, paths) expand one BFS level per query; the risk catalogue
lives in `graph.neo4j.catalogue`.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, TypeVar

from neo4j import Driver

from graph import schema
from graph.catalogue import (
    MAX_CYCLE_LENGTH,
    MAX_EXPOSURE_HOPS,
    MAX_NEIGHBOURHOOD_DEPTH,
    MAX_PATH_HOPS,
)
from graph.hits import details as hit_details
from graph.hits import name_groups
from graph.models import (
    BeneficialOwnership,
    Cycle,
    EntityBrief,
    EntityProfile,
    EntitySummary,
    Event,
    Evidence,
    ExposureHit,
    GraphEdge,
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
    SourceRecord,
    Subgraph,
    learned_of,
    reasons_of,
)
from graph.neo4j import queries as q
from graph.neo4j.breaker import ReadGuard
from graph.neo4j.catalogue import Catalogue
from graph.neo4j.conn import get_settings, guarded, quiet_session
from graph.neo4j.cypher import Cypher, labels_for_id
from graph.neo4j.meta import META_ID, READ_META
from graph.neo4j.names import name_query
from graph.neo4j.names import warm_up as warm_names
from graph.neo4j.template import fill
from graph.neo4j.walks import Walker
from graph.neo4j.worklist import worklist as read_worklist
from graph.policy import WalkPolicy, degree_cap_of, whitelist_of
from graph.store import (
    IDENTIFIERS,
    MIN_SIMILARITY,
    SEARCH_SCAN,
    EntityKind,
    IdentifierKind,
    NameHit,
    NoRunLoaded,
    compact_text,
    identifier_text,
    search_scan,
)
from graph.worklist import WorklistPage, WorklistQuery

T = TypeVar("T")
log = logging.getLogger(__name__)
REPLAN_TIMEOUT_S = 300  # the longest a load waits for the server's index resampling
WARM_UP_KEYS = 200  # firms and people whose keys a timed warm-up reads (exercise_lookups)
# lookup reads after a bulk load has restarted the server. A just-started server's JVM
# compiles the query code for a minute or more: one thread's lookup reads ran at 59/s in the
# first second, 700/s after 10 s, 800/s after 20 s and 1,100/s after 40 s (large). With 5 s
# of them the first minute of identifier lookups at 50 req/s had p99 8.7-9.6 ms, with 30 s
# 6.2-6.8 ms, as a long-running server's (docs/performance.md, stop 33)
RESTART_WARM_UP_S = 30.0
# the name rankings a warm-up runs: Chinese and Latin text of each kind. A Latin name's query
# has pinyin prefix terms (`graph.neo4j.names.name_query`), and a just-started server paid
# about 190 ms for the first of them (large), once: the slowest lookup of the API's first
# seconds (300-370 ms with the requests queued behind it) when the warm-up ranked Chinese
# names only (docs/performance.md, stop 32)
WARM_UP_NAMES: tuple[tuple[EntityKind, str], ...] = (
    ("Enterprise", "预热检查进出口贸易有限公司"), ("Person", "预热"),
    ("Enterprise", "YURE JIANCHA TRADING CO., LTD."), ("Person", "YU RE"))
_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')
_PROFILE_SKIP = {"name", "names", "mention_ids", "run_id", "uscc", "customs_code", "id_number"}

def lucene_query(text: str) -> str:
    """OR-query gathering the candidates of a name, cheap for Lucene (see graph.neo4j.names):
    Chinese text -> its core name (the linkage's standardisation without region and legal
    form, whose bigrams match nearly every firm); Latin text -> the escaped words, their pinyin
    syllables, and prefixes of the compact and of the standardised pinyin (no infix wildcard:
    it scans the whole term dictionary)."""
    return name_query(text)


def lucene_escape(text: str) -> str:
    return "".join("\\" + ch if ch in _LUCENE_SPECIAL else ch for ch in text)


def _by_identifier(query: str, kind: IdentifierKind) -> str:
    """`query` (one of the identifier lookups) for identifier `kind`: one index seek per entity
    label in a single query."""
    if kind not in IDENTIFIERS:
        raise ValueError(f"unknown identifier kind {kind!r}")
    return fill(query, kind=kind)


def _risk_of(entity_id: str, p: dict[str, Any]) -> RiskScore | None:
    """The stored risk of a node's properties `p` (`risk_*`, and `learned_*` when shipped)."""
    if p.get("risk_score") is None:
        return None
    return RiskScore(
        entity_id=entity_id,
        score=p["risk_score"],
        level=p["risk_level"],
        reasons=reasons_of(p.get("risk_reasons")),
        learned=learned_of(p.get("learned_score"), p.get("learned_level"),
                           p.get("learned_reasons")),
    )


# the columns of a q.SEARCH row
_SEARCH_FIELDS = ("id", "name", "names", "pinyin", "ident")


def _brief(s: dict[str, Any], p: dict[str, Any], risk: bool = True) -> EntityBrief:
    """An `EntityBrief` from the summary (`s`) and brief (`p`) projections of one node
    (`risk=False`: without its stored risk)."""
    props = schema.NODE_TYPES[s["kind"]].properties
    attributes = {k: p[k] for k in props if k not in _PROFILE_SKIP and p.get(k) is not None}
    return EntityBrief(
        **s,
        names=list(p.get("names") or []),
        attributes=attributes,
        risk=_risk_of(s["entity_id"], p) if risk else None,
    )


def identifier_read(kind: IdentifierKind, value: str) -> tuple[str, str] | None:
    """(query, `$v`) of `briefs_by_identifier` (also `graph.neo4j.aio`'s), None when the
    value holds no identifier text."""
    query = _by_identifier(q.BRIEFS_BY_IDENTIFIER, kind)  # refuses an unknown kind
    wanted = identifier_text(value)
    return (query, wanted) if wanted else None


def identifier_briefs(rows: list[dict[str, Any]]) -> list[EntityBrief]:
    """The briefs of a `briefs_by_identifier` read's rows, by entity ID."""
    briefs = {r["s"]["entity_id"]: _brief(r["s"], r["p"]) for r in rows}
    return [briefs[i] for i in sorted(briefs)]


BATCHED_KINDS: tuple[IdentifierKind, ...] = ("uscc", "customs_code", "id_number")
IDENTIFIER_BATCH = 2_000  # values per `BRIEFS_BY_IDENTIFIERS` read


@dataclass
class IdentifierBatch:
    """The `BRIEFS_BY_IDENTIFIERS` reads of many (kind, value) keys: `params` of each read,
    `asked` the keys they answer (with the value as read), `empty` the keys with no
    identifier text (nothing holds them), `alone` the keys of kinds it does not read."""

    params: list[dict[str, list[str]]]
    asked: list[tuple[tuple[IdentifierKind, str], str]]
    empty: list[tuple[str, str]]
    alone: list[tuple[IdentifierKind, str]]

    @classmethod
    def of(cls, keys: Iterable[tuple[IdentifierKind, str]]) -> IdentifierBatch:
        values: dict[str, dict[str, None]] = {kind: {} for kind in BATCHED_KINDS}
        asked: list[tuple[tuple[IdentifierKind, str], str]] = []
        empty: list[tuple[str, str]] = []
        alone: list[tuple[IdentifierKind, str]] = []
        for kind, value in dict.fromkeys(keys):
            read = identifier_read(kind, value)  # refuses an unknown kind
            if read is None:
                empty.append((kind, value))
            elif kind in values:
                values[kind][read[1]] = None
                asked.append(((kind, value), read[1]))
            else:
                alone.append((kind, value))
        flat = [(kind, v) for kind in BATCHED_KINDS for v in values[kind]]
        params: list[dict[str, list[str]]] = []
        for start in range(0, len(flat), IDENTIFIER_BATCH):
            chunk = flat[start:start + IDENTIFIER_BATCH]
            params.append({str(kind): [v for k, v in chunk if k == kind]
                           for kind in BATCHED_KINDS})
        return cls(params, asked, empty, alone)

    def briefs(self, rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[EntityBrief]]:
        """Each asked key's briefs (as `briefs_by_identifier` gives them) from the reads'
        rows; the keys with no identifier text get none."""
        # an entity found by two identifiers (a firm's USCC and customs code) is made once:
        # its stored reasons are most of a brief's cost (kilobytes of JSON, validated)
        briefs: dict[str, EntityBrief] = {}
        by_value: dict[tuple[str, str], dict[str, EntityBrief]] = {}
        for row in rows:
            entity_id = row["s"]["entity_id"]
            if entity_id not in briefs:
                briefs[entity_id] = _brief(row["s"], row["p"])
            by_value.setdefault((row["kind"], row["v"]), {})[entity_id] = briefs[entity_id]
        out: dict[tuple[str, str], list[EntityBrief]] = {key: [] for key in self.empty}
        for key, wanted in self.asked:
            found = by_value.get((key[0], wanted), {})
            out[key] = [found[i] for i in sorted(found)]
        return out


def _check_range(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _finite(value: Any) -> float | None:
    """A stored weight or probability; null or NaN stays None (no model score)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


class Neo4jStore:
    """Reads the graph a `graph.neo4j.loader` sync wrote; every call is bounded."""

    in_memory = False  # every read is a Bolt round trip

    def __init__(
        self,
        driver: Driver,
        policy: WalkPolicy | None = None,
        *,
        degree_cap: int | None = None,
        database: str | None = None,
        uri: str | None = None,
        guard: ReadGuard | None = None,
    ) -> None:
        self.driver = driver
        self.guard = guard
        self.degree_cap = degree_cap_of(policy, degree_cap)
        self.database = database
        self.uri = uri or get_settings().uri  # for messages only
        self.cypher = Cypher(driver, database, self.degree_cap, list(whitelist_of(policy)),
                             breaker=guard.breaker if guard else None,
                             tx_timeout=guard.tx_timeout if guard else None)
        self.catalogue = Catalogue(self.cypher)
        self.walker = Walker(self.cypher)

    def _guard(self, fn: Callable[[], T]) -> T:
        return guarded(self.uri, fn)

    # --- state ------------------------------------------------------------------------
    def run_info(self) -> RunInfo:
        def go() -> RunInfo:
            rows = self.cypher.run(READ_META, id=META_ID)
            meta = rows[0]["p"] if rows else {}
            if not meta.get("run_id"):
                raise NoRunLoaded("Neo4j holds no completed run: run `guanlian load --run RUN`")
            return RunInfo(
                run_id=meta["run_id"],
                loaded_at=meta.get("loaded_at"),
                nodes=int(meta.get("nodes") or 0),
                relationships=int(meta.get("relationships") or 0),
            )

        return self._guard(go)

    def ping(self) -> bool:
        try:
            return bool(self.cypher.run(q.PING)[0]["ok"] == 1)
        except Exception:
            return False

    def close(self) -> None:
        if self.guard is not None:
            self.guard.stop()
        self.driver.close()

    # --- lookup -----------------------------------------------------------------------
    def find_by_identifier(self, kind: IdentifierKind, value: str) -> list[str]:
        if kind not in IDENTIFIERS:
            raise ValueError(f"unknown identifier kind {kind!r}")
        wanted = identifier_text(value)
        if not wanted:
            return []

        query = _by_identifier(q.IDS_BY_IDENTIFIER, kind)
        rows = self._guard(lambda: self.cypher.run(query, v=wanted))
        return sorted({r["id"] for r in rows})

    def get_briefs(self, entity_ids: Sequence[str], *, risk: bool = True
                   ) -> list[EntityBrief]:
        ids = list(dict.fromkeys(entity_ids))
        if not ids:
            return []
        query = q.BRIEFS if risk else q.BRIEFS_NO_RISK
        rows = self._guard(lambda: self.cypher.run(query, ids=ids))
        return [_brief(r["s"], r["p"], risk) for r in rows]

    def briefs_by_identifier(self, kind: IdentifierKind, value: str) -> list[EntityBrief]:
        read = identifier_read(kind, value)
        if read is None:
            return []
        rows = self._guard(lambda: self.cypher.run(read[0], v=read[1]))
        return identifier_briefs(rows)

    def briefs_by_identifiers(self, keys: Iterable[tuple[IdentifierKind, str]]
                              ) -> dict[tuple[str, str], list[EntityBrief]]:
        """`briefs_by_identifier` of every key, in one round trip per `IDENTIFIER_BATCH`
        values (a screen's identifiers); a kind it does not batch is read alone."""
        batch = IdentifierBatch.of(keys)
        rows: list[dict[str, Any]] = []
        for params in batch.params:
            rows += self._guard(partial(self.cypher.run, q.BRIEFS_BY_IDENTIFIERS, **params))
        out = batch.briefs(rows)
        for key in batch.alone:
            out[key] = self.briefs_by_identifier(*key)
        return out

    def search(
        self,
        text: str,
        kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
        limit: int = 20,
        offset: int = 0,
        *,
        pool: int | None = None,
    ) -> list[SearchHit]:
        """Identifier hits (1.0) and full-text candidates re-scored like the embedded store:
        rapidfuzz WRatio against the names and the compacted pinyin, cut at MIN_SIMILARITY.
        The `pool` best full-text candidates are re-scored (default max(500, 10 x (limit +
        offset)); never fewer than limit + offset)."""
        scan = search_scan(limit, offset, pool)
        ranked = self._ranked(text, kinds, scan)
        return self._hits(ranked[offset:offset + limit], kinds)

    def rank_names(self, text: str, kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
                   limit: int = 20, offset: int = 0, *, pool: int | None = None
                   ) -> list[NameHit]:
        """`search` without the page's details query: the ranking's one round trip."""
        scan = search_scan(limit, offset, pool)
        return [NameHit(*r) for r in self._ranked(text, kinds, scan)[offset:offset + limit]]

    def search_page(self, text: str, kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
                    limit: int = 20, offset: int = 0) -> SearchPage:
        if not 1 <= limit <= 1000 or offset < 0:
            raise ValueError("limit must be 1..1000 and offset >= 0")
        ranked = self._ranked(text, kinds, max(SEARCH_SCAN, 10 * (limit + offset)))
        ranked = ranked[:SEARCH_SCAN]
        return SearchPage(items=self._hits(ranked[offset:offset + limit], kinds), limit=limit,
                          offset=offset, total=len(ranked),
                          groups=name_groups(name for _, _, _, name in ranked))

    def _ranked(self, text: str, kinds: Sequence[EntityKind], scan: int
                ) -> list[tuple[str, float, str, str]]:
        """(ID, similarity, matched field, name) of every hit among `scan` full-text
        candidates and the identifier hits, best first (ties by ID)."""
        from rapidfuzz import fuzz

        query = text.strip()
        labels = [schema.check_label(k) for k in kinds if k in schema.ENTITY_LABELS]
        if not query or not labels:
            return []
        best: dict[str, tuple[float, str]] = {}
        wanted = identifier_text(query)
        found = self._guard(
            lambda: self.cypher.run(
                q.SEARCH, q=lucene_query(query), n=scan, v=wanted, labels=labels,
            )
        )
        rows = [dict(zip(_SEARCH_FIELDS, r, strict=True))
                for r in found[0]["rows"]] if found else []
        names = {r["id"]: r["name"] or r["id"] for r in rows}
        for row in sorted((r for r in rows if r["ident"] >= 0), key=lambda r: r["ident"]):
            best[row["id"]] = (1.0, IDENTIFIERS[row["ident"]])
        compact = compact_text(query)
        cutoff = MIN_SIMILARITY * 100
        for row in (r for r in rows if r["ident"] < 0):
            texts = sorted({t for t in (row["name"], *(row["names"] or [])) if t})
            scored = [(fuzz.WRatio(query, t, score_cutoff=cutoff), "name") for t in texts]
            if compact and row["pinyin"]:
                score = fuzz.WRatio(compact, compact_text(row["pinyin"]), score_cutoff=cutoff)
                scored.append((score, "pinyin"))
            for score, field in scored:
                sim = round(score / 100.0, 4)
                if score >= cutoff and (row["id"] not in best or sim > best[row["id"]][0]):
                    best[row["id"]] = (sim, field)
        # both branches matched only the asked labels
        ranked = sorted(best, key=lambda n: (-best[n][0], n))
        return [(n, *best[n], names[n]) for n in ranked]

    def _hits(self, page: list[tuple[str, float, str, str]], kinds: Sequence[EntityKind]
              ) -> list[SearchHit]:
        """The page's hits with their summaries and what tells namesakes apart."""
        labels = {schema.check_label(k) for k in kinds if k in schema.ENTITY_LABELS}
        ids = [n for n, _, _, _ in page]
        rows = self._guard(lambda: self.cypher.run(q.SEARCH_DETAILS, ids=ids)) if ids else []
        by_id = {r["s"]["entity_id"]: r for r in rows}
        out = []
        for node, sim, field, _ in page:
            row = by_id.get(node)
            if row is None or row["s"]["kind"] not in labels:
                continue
            summary = EntitySummary(**row["s"])
            extra = hit_details(summary.kind, row["p"], summary.id_number,
                                [tuple(t) for t in row["ties"]])
            out.append(SearchHit(**summary.model_dump(), match=field, similarity=sim, **extra))
        return out

    def get_entity(self, entity_id: str) -> EntityProfile | None:
        rows = self._guard(lambda: self.cypher.run(q.ENTITY, id=entity_id))
        if not rows:
            return None
        s, p = rows[0]["s"], rows[0]["p"]
        events = sorted((Event(**e) for e in rows[0]["events"]), key=lambda e: e.event_id)
        events.sort(key=lambda e: e.date or date.min, reverse=True)
        props = schema.NODE_TYPES[s["kind"]].properties
        attributes = {k: p[k] for k in props if k not in _PROFILE_SKIP and p.get(k) is not None}
        sources = [SourceRecord(**r) for r in json.loads(p.get("source_records") or "[]")]
        evidence = [
            Evidence(**dict(e, match_weight=_finite(e.get("match_weight")),
                            match_probability=_finite(e.get("match_probability"))))
            for e in json.loads(p.get("evidence") or "[]")
        ]
        return EntityProfile(
            **s,
            names=list(p.get("names") or []),
            attributes=attributes,
            sources=sorted(sources, key=lambda r: r.mention_id),
            evidence=sorted(evidence, key=lambda e: (e.mention_id_l, e.mention_id_r)),
            events=events,
            risk=_risk_of(entity_id, p),
        )

    def get_risk(self, entity_id: str) -> RiskScore | None:
        rows = self._guard(lambda: self.cypher.run(q.RISK, id=entity_id))
        if not rows:
            return None
        r = rows[0]
        return _risk_of(entity_id, {
            "risk_score": r["score"], "risk_level": r["level"], "risk_reasons": r["reasons"],
            "learned_score": r["learned_score"], "learned_level": r["learned_level"],
            "learned_reasons": r["learned_reasons"]})

    def warm_up(self, seconds: float = 0.0) -> None:
        """Have the server plan every walk query text once (exposure levels to every depth,
        path levels, neighbourhoods) from one enterprise and one person, so that the first
        investigator after a load or a start does not pay for query planning. Depths 1-3
        give every level query text (first / later level, last level or not).

        `seconds` > 0: then run the inspection lookup's reads with real keys for about that
        long (`exercise_lookups`). Planning once is not enough after the server has started:
        its JVM compiles the query code over the first thousands of reads (large, first API
        stage run after a restart: identifier p99 16.4 ms and name p99 70.2 ms; with 3 s of
        these reads at the API's start, 12.7 / 50.5 and 15.6 / 47.8 ms;
        docs/performance.md)."""
        warm_names()  # the name query's syllable table and standardisation
        rows = self._guard(lambda: self.cypher.run(q.WARM_UP_STARTS))
        ids = [r["id"] for r in rows]
        # the inspection lookup's reads: by each identifier, the name ranking of each kind,
        # the briefs with and without their risk, a risk
        for kind in IDENTIFIERS:
            self.briefs_by_identifier(kind, "WARMUP0000")
        for label, name in WARM_UP_NAMES:
            self.rank_names(name, kinds=(label,), limit=5)
        self.get_briefs(ids)
        self.get_briefs(ids, risk=False)
        for entity_id in ids:
            self.get_risk(entity_id)
        for entity_id in ids:
            for hops in (1, 2, 3):
                self.exposure(entity_id, max_hops=hops, limit=5)
            for depth in range(1, MAX_NEIGHBOURHOOD_DEPTH + 1):
                self.neighbourhood(entity_id, depth=depth, node_cap=20)
        if len(ids) == 2:
            self.paths(ids[0], ids[1], max_hops=MAX_PATH_HOPS, limit=1)
        if seconds > 0:
            self.exercise_lookups(seconds)

    def exercise_lookups(self, seconds: float, keys: int = WARM_UP_KEYS) -> int:
        """Run the lookup reads (by each identifier, the risk, the briefs, and a name
        ranking for every fourth entity: its name, or its pinyin for every other one of them)
        over the first `keys` firms and `keys` people of the graph, round after round, until
        `seconds` have passed; returns the reads made. Reads only."""
        rows = self._guard(lambda: self.cypher.run(q.WARM_UP_KEYS, n=keys))
        deadline = time.monotonic() + seconds
        reads = 0
        for i, row in enumerate(itertools.cycle(rows) if rows else ()):
            for kind in IDENTIFIERS:
                if row.get(kind):
                    self.briefs_by_identifier(kind, str(row[kind]))
                    reads += 1
            self.get_risk(row["id"])
            self.get_briefs([row["id"]], risk=False)
            reads += 2
            name = row.get("pinyin") if i % 8 == 4 else row.get("name") if i % 8 == 0 else None
            if name:
                self.rank_names(str(name), kinds=(row["kind"],), limit=5)
                reads += 1
            if time.monotonic() >= deadline:
                break
        return reads

    # --- walks ------------------------------------------------------------------------
    def neighbourhood(
        self,
        entity_id: str,
        depth: int = 1,
        rel_types: Sequence[str] | None = None,
        node_cap: int = 100,
    ) -> Subgraph:
        _check_range("depth", depth, 1, MAX_NEIGHBOURHOOD_DEPTH)
        _check_range("node_cap", node_cap, 1, 10_000)
        types = schema.check_rel_types(list(rel_types) if rel_types else None)
        nodes, edges, truncated = self._guard(
            lambda: self.walker.neighbourhood(entity_id, depth, types, node_cap)
        )
        return Subgraph(
            nodes=[GraphNode(**n) for n in nodes],
            edges=[GraphEdge(**e) for e in edges],
            truncated=truncated,
        )

    def nodes(self, node_ids: Sequence[str]) -> list[GraphNode]:
        kept = {i: labels_for_id(i)[0] for i in dict.fromkeys(node_ids)
                if len(labels_for_id(i)) == 1}
        rows = self._guard(lambda: self.walker.node_rows(kept)) if kept else []
        return [GraphNode(**n) for n in rows]

    def exposure(self, entity_id: str, max_hops: int = 2, limit: int = 50) -> list[ExposureHit]:
        _check_range("max_hops", max_hops, 1, MAX_EXPOSURE_HOPS)
        return self._guard(lambda: self.walker.exposure(entity_id, max_hops, limit))

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
        _check_range("max_hops", max_hops, 1, MAX_PATH_HOPS)
        _check_range("limit", limit, 1, 1000)
        types = schema.check_rel_types(list(rel_types) if rel_types else None)
        return self._guard(
            lambda: self.walker.paths(source_id, target_id, max_hops, types, limit, avoid_hubs)
        )

    # --- risk catalogue ---------------------------------------------------------------
    def shared_controllers(self, min_firms: int = 2, limit: int = 50) -> list[SharedController]:
        _check_range("min_firms", min_firms, 1, 1000)
        return self._guard(lambda: self.catalogue.shared_controllers(min_firms, limit))

    def phoenix_firms(self, limit: int = 50) -> list[PhoenixPair]:
        return self._guard(lambda: self.catalogue.phoenix_firms(limit))

    def hubs(
        self, min_enterprises: int = 5, limit: int = 50, include_whitelisted: bool = False
    ) -> list[Hub]:
        _check_range("min_enterprises", min_enterprises, 2, 1_000_000)
        return self._guard(
            lambda: self.catalogue.hubs(min_enterprises, limit, include_whitelisted)
        )

    def ownership_cycles(self, max_length: int = 4, limit: int = 50) -> list[Cycle]:
        _check_range("max_length", max_length, 1, MAX_CYCLE_LENGTH)
        return self._guard(lambda: self.catalogue.ownership_cycles(max_length, limit))

    def beneficial_owners(
        self, entity_id: str, threshold_pct: float = 25.0
    ) -> BeneficialOwnership | None:
        if not 0 <= threshold_pct <= 100:
            raise ValueError(f"threshold_pct must be between 0 and 100, got {threshold_pct}")
        return self._guard(lambda: self.catalogue.beneficial_owners(entity_id, threshold_pct))

    def rings(self, min_size: int = 3, limit: int = 50) -> list[Ring]:
        _check_range("min_size", min_size, 2, 1_000_000)
        return self._guard(lambda: self.catalogue.rings(min_size, limit))

    # --- worklist ---------------------------------------------------------------------
    def worklist(self, query: WorklistQuery) -> WorklistPage:
        return self._guard(lambda: read_worklist(self.cypher, query))


def warm_up_walks(driver: Driver, database: str | None = None, seconds: float = 0.0) -> None:
    """After a load: have the server resample the indexes the load outdated and drop the
    plans made on the old statistics (`db.prepareForReplanning`), then plan every lookup
    and walk query again. Without it the server resamples in the background, minutes later,
    and replans under the API's requests (the likely cause of a name p99 of 178 ms in the
    first API run after a large load; 37 ms with it, docs/performance.md). Best effort: a
    failure (a user without the admin right to resample, say) leaves the load as it is and
    only costs the first queries their planning time. `seconds` > 0 (after the server has
    restarted, as a bulk load does): then the lookup reads for that long
    (`Neo4jStore.exercise_lookups`)."""
    try:
        with quiet_session(driver, database) as session:
            session.run(q.PREPARE_FOR_REPLANNING, seconds=REPLAN_TIMEOUT_S).consume()
    except Exception as exc:  # noqa: BLE001 - an optimisation, never a reason to fail a load
        log.warning("index resampling skipped: %s", exc)
    try:
        Neo4jStore(driver, database=database).warm_up(seconds)
    except Exception as exc:  # noqa: BLE001 - as above
        log.warning("walk warm-up skipped: %s", exc)
