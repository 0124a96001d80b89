"""The embedded GraphReader: an in-memory graph built from a run folder (no Neo4j).

`EmbeddedStore.from_run(run_dir)` reads what the graph needs of the run (graph.tables, lean),
builds the in-memory graph (graph.embedded.network: a NetworkX MultiDiGraph of the
relationships, with node and relationship properties in compact arrays) and answers every read
of `graph.store.GraphReader` over it (graph.embedded.catalogue); risk scores come from
`RUN/risk.parquet` (written by `guanlian score`), never computed on a lookup. Per-entity blobs
(source records, evidence, risk reasons) stay compressed Arrow blocks until a profile or brief
asks for them; no run frame is kept after the build.
"""

from __future__ import annotations

import gc
import json
import math
from array import array
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rapidfuzz import fuzz, process

from graph.embedded import catalogue as queries
from graph.embedded.bigrams import BigramIndex
from graph.embedded.network import ENTITY_LABELS, RunNetwork
from graph.embedded.packed import PackedRows, PackedText
from graph.embedded.paths import paths as find_paths
from graph.embedded.worklist import EmbeddedWorklist
from graph.hits import PERSON_TIES, name_groups
from graph.hits import details as hit_details
from graph.memory import release_memory
from graph.models import (
    BeneficialOwnership,
    Cycle,
    EntityBrief,
    EntityProfile,
    Evidence,
    ExposureHit,
    GraphNode,
    Hub,
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
from graph.models import (
    Path as GraphPath,
)
from graph.policy import WalkPolicy
from graph.store import (
    IDENTIFIERS,
    MIN_SIMILARITY,
    SEARCH_SCAN,
    EntityKind,
    IdentifierKind,
    NameHit,
    compact_text,
    identifier_text,
    search_scan,
)
from graph.tables import RunTables, load_run
from graph.worklist import WorklistPage, WorklistQuery
from runfolder.folder import read_table_arrow

_PROFILE_SKIP = {"node_label", "name", "names", "mention_ids", "run_id", "uscc", "customs_code",
                 "id_number"}




def _number(value: Any) -> float | None:
    """A stored weight or probability; null (or NaN) stays None (an exact-identifier merge
    has no model weight)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _arrow(tables: RunTables, name: str, columns: tuple[str, ...]) -> pa.Table | None:
    """Columns of a run table as Arrow: straight from Parquet for a lean load, else from the
    frame already read."""
    if tables.lean:
        path = tables.run_dir / f"{name}.parquet"
        if not path.is_file():
            return None
        return read_table_arrow(tables.run_dir, name, columns)
    frame = getattr(tables, name)
    if frame is None:
        return None
    return pa.Table.from_pandas(frame[list(columns)], preserve_index=False)


def _batches(tables: RunTables, name: str, columns: tuple[str, ...],
             size: int = 8192) -> Iterator[pa.RecordBatch]:
    """A run table's columns in batches of `size` rows (a lean load streams the Parquet file,
    so a large column such as the risk reasons is never whole in memory)."""
    if tables.lean:
        path = tables.run_dir / f"{name}.parquet"
        if path.is_file():
            yield from pq.ParquetFile(path).iter_batches(batch_size=size, columns=list(columns))
        return
    table = _arrow(tables, name, columns)
    if table is not None:
        yield from table.to_batches(max_chunksize=size)


def _has_column(tables: RunTables, name: str, column: str) -> bool:
    """Does the run's table `name` hold `column` (an optional one: not every run has it)?"""
    if tables.lean:
        path = tables.run_dir / f"{name}.parquet"
        return path.is_file() and column in pq.read_schema(path).names
    frame = getattr(tables, name)
    return frame is not None and column in frame.columns


class EmbeddedStore:
    """GraphReader over one run held in memory."""

    in_memory = True

    def __init__(self, tables: RunTables, policy: WalkPolicy | None = None,
                 degree_cap: int | None = None) -> None:
        self.net = RunNetwork(tables, policy, degree_cap)
        if tables.lean:  # a lean load exists for this store only: its frames are done with
            # empty copies (a slice would keep the whole frame's arrays alive)
            tables.mentions = tables.mentions.iloc[0:0].copy()
            tables.entities = tables.entities.iloc[0:0].copy()
            tables.relations = tables.relations.iloc[0:0].copy()
            tables.evidence = tables.evidence.iloc[0:0].copy()
            tables.events = tables.events.iloc[0:0].copy()
            tables.risk = None
            release_memory()
        self.loaded_at = datetime.now(UTC).isoformat()
        self._last_ranked: tuple[Any, list[tuple[str, float, str]]] | None = None
        net = self.net
        self._by_ident: dict[str, dict[str, list[str]]] = {k: {} for k in IDENTIFIERS}
        # per entity label and field: the texts to score and the node position of each
        self._choices: dict[tuple[str, str], tuple[list[str], np.ndarray]] = {}
        owners: dict[tuple[str, str], array[int]] = {}
        for label in sorted(ENTITY_LABELS):
            positions, cols = net.label_columns(label, (*IDENTIFIERS, "name", "names",
                                                       "name_pinyin"))
            for kind in IDENTIFIERS:
                found_ids = self._by_ident[kind]
                for p, value in zip(positions, cols[kind], strict=True):
                    if isinstance(value, str) and value:
                        found_ids.setdefault(identifier_text(value), []).append(net.ids[p])
            for field in ("name", "pinyin"):
                key = (label, field)
                texts: list[str] = []
                owner = array("i")
                if field == "name":
                    for p, name, names in zip(positions, cols["name"], cols["names"],
                                              strict=True):
                        variants = sorted(t for t in {name, *(names or [])} if t)
                        texts.extend(variants)
                        owner.extend([p] * len(variants))
                else:
                    for p, pinyin in zip(positions, cols["name_pinyin"], strict=True):
                        if pinyin:
                            texts.append(compact_text(pinyin))
                            owner.append(p)
                if texts:
                    self._choices[key] = (texts, np.zeros(0, np.int32))
                    owners[key] = owner
        for key, (texts, _) in list(self._choices.items()):
            self._choices[key] = (texts, np.frombuffer(owners[key], dtype=np.int32).copy())
        # the characters of each text list: a needle sharing none of them scores 0 against
        # every text (every WRatio component needs a common character), so its pass is skipped
        self._charsets = {key: frozenset("".join(texts)) for key, (texts, _) in
                          self._choices.items()}
        self.bigrams = {key: BigramIndex(texts) for key, (texts, _) in self._choices.items()}
        n = net.n_nodes
        self._mentions = self._pack(tables, "mentions", ("mention_id", "source", "record_id",
                                                         "role", "name", "record_date"),
                                    ("mention_id",), n, 32)
        self._evidence = self._pack(tables, "evidence", ("mention_id_l", "mention_id_r",
                                                         "method", "match_weight",
                                                         "match_probability", "features"),
                                    ("mention_id_l", "mention_id_r"), n, 32)
        self._reasons: PackedText | None = None
        for batch in _batches(tables, "risk", ("entity_id", "reasons")):
            if self._reasons is None:
                self._reasons = PackedText(n)
            self._reasons.add(net.positions(batch.column("entity_id")), batch.column("reasons"))
        if self._reasons is not None:
            self._reasons.finish()
        self._learned: PackedText | None = None  # the learned score's explanations, if shipped
        if _has_column(tables, "risk", "learned_reasons"):
            for batch in _batches(tables, "risk", ("entity_id", "learned_reasons")):
                if self._learned is None:
                    self._learned = PackedText(n)
                self._learned.add(net.positions(batch.column("entity_id")),
                                  batch.column("learned_reasons"))
            if self._learned is not None:
                self._learned.finish()
        self._worklist = EmbeddedWorklist(self.net, self._reasons)
        release_memory()

    def _pack(self, tables: RunTables, name: str, columns: tuple[str, ...],
              sort_by: tuple[str, ...], n_nodes: int, block: int) -> PackedRows | None:
        table = _arrow(tables, name, ("entity_id", *columns))
        if table is None:
            return None
        owner = self.net.positions(table.column("entity_id"))
        packed = PackedRows(table.drop_columns(["entity_id"]), owner, n_nodes, sort_by, block)
        del table
        release_memory()
        return packed

    def _rows(self, packed: PackedRows | None, entity_id: str) -> list[dict[str, Any]]:
        p = self.net.pos.get(entity_id)
        if packed is None or p is None:
            return []
        return packed.rows(p)

    @classmethod
    def from_run(cls, run_dir: Path | str, policy: WalkPolicy | None = None,
                 degree_cap: int | None = None) -> EmbeddedStore:
        store = cls(load_run(run_dir, lean=True), policy, degree_cap)
        gc.collect()  # the lean frames are garbage now: give their memory back
        release_memory()
        return store

    # --- status -----------------------------------------------------------------------------
    def run_info(self) -> RunInfo:
        return RunInfo(run_id=self.net.run_id, loaded_at=self.loaded_at,
                       nodes=self.net.n_nodes, relationships=self.net.n_edges)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        return None

    def warm_up(self, seconds: float = 0.0) -> None:
        return None  # built in memory: nothing to plan, cache or compile

    # --- lookup -----------------------------------------------------------------------------
    def find_by_identifier(self, kind: IdentifierKind, value: str) -> list[str]:
        if kind not in self._by_ident:
            raise ValueError(f"unknown identifier kind {kind!r}")
        return sorted(self._by_ident[kind].get(identifier_text(value), []))

    def _ranked(self, text: str, kinds: Sequence[EntityKind], pool: int
                ) -> list[tuple[str, float, str]]:
        """(node, similarity, matched field) of every hit, best first (ties by node ID); the
        last answer is kept, so a search page's hits and counts rank once."""
        query = text.strip()
        if not query:
            return []
        key = (query, tuple(sorted(set(kinds))), pool)
        last = self._last_ranked
        if last is not None and last[0] == key:
            return last[1]
        ranked = self._rank(query, kinds, pool)
        self._last_ranked = (key, ranked)
        return ranked

    def _rank(self, query: str, kinds: Sequence[EntityKind], pool: int
              ) -> list[tuple[str, float, str]]:
        wanted = set(kinds)
        best: dict[str, tuple[float, str]] = {}
        for kind in IDENTIFIERS:
            for node in self._by_ident[kind].get(identifier_text(query), []):
                best[node] = (1.0, kind)
        compact = compact_text(query)
        for label, field in [(k, f) for f in ("name", "pinyin") for k in sorted(wanted)]:
            needle = query if field == "name" else compact
            if (label, field) not in self._choices:
                continue
            texts, owners = self._choices[label, field]
            if not needle or not texts or self._charsets[label, field].isdisjoint(needle):
                continue
            chosen = self.bigrams[label, field].best(needle, pool)
            texts, owners = [texts[i] for i in chosen], owners[chosen]
            for _, score, j in process.extract(needle, texts, scorer=fuzz.WRatio,
                                               score_cutoff=MIN_SIMILARITY * 100, limit=None):
                node = self.net.ids[owners[j]]
                sim = round(score / 100.0, 4)
                if node not in best or sim > best[node][0]:
                    best[node] = (sim, field)
        ranked = sorted((n for n in best if self.net.label(n) in wanted),
                        key=lambda n: (-best[n][0], n))
        return [(n, *best[n]) for n in ranked]

    def _hit(self, node: str, similarity: float, field: str) -> SearchHit:
        summary = self.net.summary(node)
        rows = [(d, self.net.display(d), rtype, d in self.net.violating)
                for d, _, rtype, _ in self.net.edges_from(node)
                if rtype in PERSON_TIES and self.net.label(d) == "Enterprise"]
        extra = hit_details(summary.kind, self.net.attrs(node), summary.id_number, rows)
        return SearchHit(**summary.model_dump(), match=field, similarity=similarity, **extra)

    def search(self, text: str, kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
               limit: int = 20, offset: int = 0, *, pool: int | None = None
               ) -> list[SearchHit]:
        """The `pool` names (per label and field) sharing the most character bigrams with the
        query are re-scored, like the Neo4j full-text pool (default max(500, 10 x (limit +
        offset)); never fewer than limit + offset)."""
        scan = search_scan(limit, offset, pool)
        ranked = self._ranked(text, kinds, scan)
        return [self._hit(*r) for r in ranked[offset:offset + limit]]

    def rank_names(self, text: str, kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
                   limit: int = 20, offset: int = 0, *, pool: int | None = None
                   ) -> list[NameHit]:
        scan = search_scan(limit, offset, pool)
        return [NameHit(n, sim, field, self.net.display(n))
                for n, sim, field in self._ranked(text, kinds, scan)[offset:offset + limit]]

    def search_page(self, text: str, kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
                    limit: int = 20, offset: int = 0) -> SearchPage:
        if not 1 <= limit <= 1000 or offset < 0:
            raise ValueError("limit must be 1..1000 and offset >= 0")
        ranked = self._ranked(text, kinds, max(SEARCH_SCAN, 10 * (limit + offset)))
        ranked = ranked[:SEARCH_SCAN]
        return SearchPage(items=[self._hit(*r) for r in ranked[offset:offset + limit]],
                          limit=limit, offset=offset, total=len(ranked),
                          groups=name_groups(self.net.display(n) for n, _, _ in ranked))

    def evidence(self, entity_id: str) -> list[Evidence]:
        """Linkage evidence rows of one entity (by mention_id_l, mention_id_r)."""
        out = []
        for row in self._rows(self._evidence, entity_id):
            features = json.loads(row["features"]) if row.get("features") else []
            out.append(Evidence(
                mention_id_l=row["mention_id_l"], mention_id_r=row["mention_id_r"],
                method=row["method"], match_weight=_number(row["match_weight"]),
                match_probability=_number(row["match_probability"]), features=features,
            ))
        return out

    def _brief(self, entity_id: str, risk: bool = True) -> EntityBrief | None:
        if not self.net.is_entity(entity_id):
            return None
        attrs = self.net.attrs(entity_id)
        attributes = {k: v for k, v in attrs.items() if k not in _PROFILE_SKIP and v is not None}
        return EntityBrief(
            **self.net.summary(entity_id).model_dump(), names=list(attrs.get("names") or []),
            attributes=attributes, risk=self.get_risk(entity_id) if risk else None,
        )

    def get_briefs(self, entity_ids: Sequence[str], *, risk: bool = True
                   ) -> list[EntityBrief]:
        out = []
        for entity_id in dict.fromkeys(entity_ids):
            brief = self._brief(entity_id, risk)
            if brief is not None:
                out.append(brief)
        return out

    def briefs_by_identifier(self, kind: IdentifierKind, value: str) -> list[EntityBrief]:
        return self.get_briefs(self.find_by_identifier(kind, value))

    def get_entity(self, entity_id: str) -> EntityProfile | None:
        brief = self._brief(entity_id)
        if brief is None:
            return None
        sources = [
            SourceRecord(mention_id=r["mention_id"], source=r["source"], record_id=r["record_id"],
                         role=r["role"], name=r["name"], record_date=r["record_date"])
            for r in self._rows(self._mentions, entity_id)
        ]
        return EntityProfile(
            **brief.model_dump(exclude={"risk"}), risk=brief.risk, sources=sources,
            evidence=self.evidence(entity_id), events=self.net.events.get(entity_id, []),
        )

    def get_risk(self, entity_id: str) -> RiskScore | None:
        score, level = self.net.risk_of(entity_id)
        if score is None:
            return None
        p = self.net.pos[entity_id]
        raw = self._reasons.text(p) if self._reasons is not None else None
        reasons = reasons_of(raw)
        learned, learned_level = self.net.learned_of(entity_id)
        explained = self._learned.text(p) if self._learned is not None else None
        return RiskScore(entity_id=entity_id, score=score, level=level,  # type: ignore[arg-type]
                         reasons=reasons, learned=learned_of(learned, learned_level, explained))

    def neighbourhood(self, entity_id: str, depth: int = 1,
                      rel_types: Sequence[str] | None = None, node_cap: int = 100) -> Subgraph:
        return queries.neighbourhood(self.net, entity_id, depth, rel_types, node_cap)

    def nodes(self, node_ids: Sequence[str]) -> list[GraphNode]:
        return [GraphNode(id=n, kind=self.net.label(n), label=self.net.display(n),  # type: ignore[arg-type]
                          risk_level=self.net.risk_of(n)[1],  # type: ignore[arg-type]
                          violating=n in self.net.violating)
                for n in sorted(set(node_ids)) if n in self.net]

    # --- risk catalogue ---------------------------------------------------------------------
    def shared_controllers(self, min_firms: int = 2, limit: int = 50) -> list[SharedController]:
        return queries.shared_controllers(self.net, min_firms, limit)

    def exposure(self, entity_id: str, max_hops: int = 2, limit: int = 50) -> list[ExposureHit]:
        return queries.exposure(self.net, entity_id, max_hops, limit)

    def phoenix_firms(self, limit: int = 50) -> list[PhoenixPair]:
        return queries.phoenix_firms(self.net, limit)

    def hubs(self, min_enterprises: int = 5, limit: int = 50,
             include_whitelisted: bool = False) -> list[Hub]:
        return queries.hubs(self.net, min_enterprises, limit, include_whitelisted)

    def ownership_cycles(self, max_length: int = 4, limit: int = 50) -> list[Cycle]:
        return queries.ownership_cycles(self.net, max_length, limit)

    def beneficial_owners(self, entity_id: str,
                          threshold_pct: float = 25.0) -> BeneficialOwnership | None:
        return queries.beneficial_owners(self.net, entity_id, threshold_pct)

    def paths(self, source_id: str, target_id: str, max_hops: int = 4,
              rel_types: Sequence[str] | None = None, limit: int = 5, *,
              avoid_hubs: bool = False) -> list[GraphPath]:
        return find_paths(self.net, source_id, target_id, max_hops, rel_types, limit,
                          avoid_hubs=avoid_hubs)

    def rings(self, min_size: int = 3, limit: int = 50) -> list[Ring]:
        return queries.rings(self.net, min_size, limit)

    # --- worklist ---------------------------------------------------------------------------
    def worklist(self, query: WorklistQuery) -> WorklistPage:
        return self._worklist.page(query)
