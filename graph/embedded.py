"""The embedded GraphReader: an in-memory networkx graph built from a run folder (no Neo4j).

`EmbeddedStore.from_run(run_dir)` reads the run (graph.tables), builds the graph
(graph.index) and answers every read of `graph.store.GraphReader`; risk scores come from
`RUN/risk.parquet` (written by `guanlian score`), never computed on a lookup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from graph import queries
from graph.index import ENTITY_LABELS, NODE_LABEL, GraphIndex, _records
from graph.models import (
    BeneficialOwnership,
    Cycle,
    EntityBrief,
    EntityProfile,
    Evidence,
    ExposureHit,
    Hub,
    PhoenixPair,
    Ring,
    RiskReason,
    RiskScore,
    RunInfo,
    SearchHit,
    SharedController,
    SourceRecord,
    Subgraph,
)
from graph.models import (
    Path as GraphPath,
)
from graph.risk_config import RiskConfig, load_risk_config
from graph.store import EntityKind, IdentifierKind
from graph.tables import RunTables, load_run

IDENTIFIERS: tuple[IdentifierKind, ...] = ("uscc", "customs_code", "id_number", "reg_no")
MIN_SIMILARITY = 0.7
_PROFILE_SKIP = {"node_label", "name", "names", "mention_ids", "run_id", "uscc", "customs_code",
                 "id_number"}


def _ident(value: str) -> str:
    return "".join(value.split()).upper()


def _compact(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


class _RowIndex:
    """The rows of a table grouped by entity_id, precomputed so a lookup costs no pandas work."""

    def __init__(self, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
        part = frame[["entity_id", *columns]]
        self._rows: dict[str, list[dict[str, Any]]] = {}
        for row in _records(part):
            self._rows.setdefault(row.pop("entity_id"), []).append(row)

    def rows(self, entity_id: str) -> list[dict[str, Any]]:
        return self._rows.get(entity_id, [])


def _bigrams(text: str) -> set[str]:
    squeezed = "".join(text.lower().split())
    if len(squeezed) < 2:
        return {squeezed} if squeezed else set()
    return {squeezed[i:i + 2] for i in range(len(squeezed) - 1)}


class _BigramIndex:
    """An in-memory stand-in for a full-text index over one list of texts: the texts sharing
    the most character bigrams with a needle (Dice coefficient, ties by position), the way
    the `cjk` analyzer of the Neo4j full-text index tokenises. Bounds a search's re-scoring."""

    def __init__(self, texts: list[str]) -> None:
        postings: dict[str, list[int]] = {}
        sizes = np.zeros(len(texts), dtype=np.float64)
        for i, text in enumerate(texts):
            grams = _bigrams(text)
            sizes[i] = len(grams)
            for gram in grams:
                postings.setdefault(gram, []).append(i)
        self._postings = {g: np.asarray(ix, dtype=np.int64) for g, ix in postings.items()}
        self._sizes = sizes

    def best(self, needle: str, pool: int) -> list[int]:
        """Positions of at most `pool` texts sharing a bigram with `needle`, ascending."""
        grams = _bigrams(needle)
        lists = [self._postings[g] for g in grams if g in self._postings]
        if not lists:
            return []
        counts = np.bincount(np.concatenate(lists), minlength=len(self._sizes))
        hit = np.flatnonzero(counts)
        if len(hit) > pool:
            dice = 2.0 * counts[hit] / (self._sizes[hit] + len(grams))
            hit = np.sort(hit[np.lexsort((hit, -dice))[:pool]])
        return [int(i) for i in hit]


class EmbeddedStore:
    """GraphReader over one run held in memory."""

    def __init__(self, tables: RunTables, config: RiskConfig | None = None,
                 degree_cap: int | None = None) -> None:
        self.config = config or load_risk_config()
        self.ix = GraphIndex(tables, self.config, degree_cap)
        self.tables = tables
        self.loaded_at = datetime.now(UTC).isoformat()
        self._by_ident: dict[str, dict[str, list[str]]] = {k: {} for k in IDENTIFIERS}
        names: list[tuple[str, str, str]] = []  # (entity_id, field, text)
        for node in sorted(self.ix.g.nodes):
            attrs = self.ix.g.nodes[node]
            if attrs[NODE_LABEL] not in ENTITY_LABELS:
                continue
            for kind in IDENTIFIERS:
                value = attrs.get(kind)
                if isinstance(value, str) and value:
                    self._by_ident[kind].setdefault(_ident(value), []).append(node)
            texts = {attrs.get("name"), *(attrs.get("names") or [])}
            names.extend((node, "name", t) for t in sorted(t for t in texts if t))
            if attrs.get("name_pinyin"):
                names.append((node, "pinyin", _compact(attrs["name_pinyin"])))
        self._names = names
        # per entity label and field: the texts to score and their positions in `_names`, so a
        # search scores only the labels it asks for and never an empty placeholder
        self._choices: dict[tuple[str, str], tuple[list[str], list[int]]] = {}
        for i, (node, field, text) in enumerate(names):
            scored, positions = self._choices.setdefault(
                (self.ix.g.nodes[node][NODE_LABEL], field), ([], []))
            scored.append(text)
            positions.append(i)
        # the characters of each text list: a needle sharing none of them scores 0 against
        # every text (every WRatio component needs a common character), so its pass is skipped
        self._charsets = {key: frozenset("".join(texts)) for key, (texts, _) in
                          self._choices.items()}
        self._bigrams = {key: _BigramIndex(texts) for key, (texts, _) in self._choices.items()}
        self._mentions = _RowIndex(
            tables.mentions.sort_values("mention_id"),
            ("mention_id", "source", "record_id", "role", "name", "record_date"),
        )
        self._evidence = _RowIndex(
            tables.evidence.sort_values(["mention_id_l", "mention_id_r"]),
            ("mention_id_l", "mention_id_r", "method", "match_weight", "match_probability",
             "features"),
        )
        self._reasons: dict[str, str] = {}
        if tables.risk is not None:
            self._reasons = dict(zip(tables.risk["entity_id"], tables.risk["reasons"], strict=True))

    @classmethod
    def from_run(cls, run_dir: Path | str, config: RiskConfig | None = None,
                 degree_cap: int | None = None) -> EmbeddedStore:
        return cls(load_run(run_dir), config, degree_cap)

    # --- status -----------------------------------------------------------------------------
    def run_info(self) -> RunInfo:
        return RunInfo(run_id=self.ix.run_id, loaded_at=self.loaded_at,
                       nodes=self.ix.g.number_of_nodes(), relationships=self.ix.g.number_of_edges())

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        return None

    # --- lookup -----------------------------------------------------------------------------
    def find_by_identifier(self, kind: IdentifierKind, value: str) -> list[str]:
        if kind not in self._by_ident:
            raise ValueError(f"unknown identifier kind {kind!r}")
        return sorted(self._by_ident[kind].get(_ident(value), []))

    def search(self, text: str, kinds: Sequence[EntityKind] = ("Enterprise", "Person"),
               limit: int = 20, offset: int = 0, *, pool: int | None = None
               ) -> list[SearchHit]:
        """Every name is scored; with `pool`, only the `pool` names (per label and field)
        sharing the most character bigrams with the query, like the Neo4j full-text scan."""
        if not 1 <= limit <= 1000 or offset < 0:
            raise ValueError("limit must be 1..1000 and offset >= 0")
        if pool is not None and not 1 <= pool <= 10_000:
            raise ValueError("pool must be 1..10000")
        query = text.strip()
        if not query:
            return []
        wanted = set(kinds)
        best: dict[str, tuple[float, str]] = {}
        for kind in IDENTIFIERS:
            for node in self._by_ident[kind].get(_ident(query), []):
                best[node] = (1.0, kind)
        compact = _compact(query)
        for label, field in [(k, f) for f in ("name", "pinyin") for k in sorted(wanted)]:
            needle = query if field == "name" else compact
            texts, positions = self._choices.get((label, field), ([], []))
            if not needle or not texts or self._charsets[label, field].isdisjoint(needle):
                continue
            if pool is not None:
                chosen = self._bigrams[label, field].best(needle, max(pool, limit + offset))
                texts, positions = [texts[i] for i in chosen], [positions[i] for i in chosen]
            for _, score, j in process.extract(needle, texts, scorer=fuzz.WRatio,
                                               score_cutoff=MIN_SIMILARITY * 100, limit=None):
                node = self._names[positions[j]][0]
                sim = round(score / 100.0, 4)
                if node not in best or sim > best[node][0]:
                    best[node] = (sim, field)
        ranked = sorted(
            (n for n in best if self.ix.g.nodes[n][NODE_LABEL] in wanted),
            key=lambda n: (-best[n][0], n),
        )
        hits = []
        for node in ranked[offset:offset + limit]:
            summary = self.ix.summary(node).model_dump()
            hits.append(SearchHit(**summary, match=best[node][1], similarity=best[node][0]))
        return hits

    def evidence(self, entity_id: str) -> list[Evidence]:
        """Linkage evidence rows of one entity (by mention_id_l, mention_id_r)."""
        out = []
        for row in self._evidence.rows(entity_id):
            features = json.loads(row["features"]) if row.get("features") else []
            out.append(Evidence(
                mention_id_l=row["mention_id_l"], mention_id_r=row["mention_id_r"],
                method=row["method"], match_weight=row["match_weight"] or 0.0,
                match_probability=row["match_probability"] or 0.0, features=features,
            ))
        return out

    def _brief(self, entity_id: str) -> EntityBrief | None:
        if entity_id not in self.ix.g or not self.ix.is_entity(entity_id):
            return None
        attrs = self.ix.g.nodes[entity_id]
        attributes = {k: v for k, v in attrs.items() if k not in _PROFILE_SKIP and v is not None}
        return EntityBrief(
            **self.ix.summary(entity_id).model_dump(), names=list(attrs.get("names") or []),
            attributes=attributes, risk=self.get_risk(entity_id),
        )

    def get_briefs(self, entity_ids: Sequence[str]) -> list[EntityBrief]:
        out = []
        for entity_id in dict.fromkeys(entity_ids):
            brief = self._brief(entity_id)
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
            for r in self._mentions.rows(entity_id)
        ]
        return EntityProfile(
            **brief.model_dump(exclude={"risk"}), risk=brief.risk, sources=sources,
            evidence=self.evidence(entity_id), events=self.ix.events.get(entity_id, []),
        )

    def get_risk(self, entity_id: str) -> RiskScore | None:
        if entity_id not in self.ix.risk:
            return None
        score, level = self.ix.risk[entity_id]
        raw = self._reasons.get(entity_id)
        reasons = [RiskReason.model_validate(r) for r in json.loads(raw)] if raw else []
        return RiskScore(entity_id=entity_id, score=score, level=level,  # type: ignore[arg-type]
                         reasons=reasons)

    def neighbourhood(self, entity_id: str, depth: int = 1,
                      rel_types: Sequence[str] | None = None, node_cap: int = 100) -> Subgraph:
        return queries.neighbourhood(self.ix, entity_id, depth, rel_types, node_cap)

    # --- risk catalogue ---------------------------------------------------------------------
    def shared_controllers(self, min_firms: int = 2, limit: int = 50) -> list[SharedController]:
        return queries.shared_controllers(self.ix, min_firms, limit)

    def exposure(self, entity_id: str, max_hops: int = 2, limit: int = 50) -> list[ExposureHit]:
        return queries.exposure(self.ix, entity_id, max_hops, limit)

    def phoenix_firms(self, limit: int = 50) -> list[PhoenixPair]:
        return queries.phoenix_firms(self.ix, limit)

    def hubs(self, min_enterprises: int = 5, limit: int = 50,
             include_whitelisted: bool = False) -> list[Hub]:
        return queries.hubs(self.ix, min_enterprises, limit, include_whitelisted)

    def ownership_cycles(self, max_length: int = 4, limit: int = 50) -> list[Cycle]:
        return queries.ownership_cycles(self.ix, max_length, limit)

    def beneficial_owners(self, entity_id: str,
                          threshold_pct: float = 25.0) -> BeneficialOwnership | None:
        return queries.beneficial_owners(self.ix, entity_id, threshold_pct)

    def paths(self, source_id: str, target_id: str, max_hops: int = 4,
              rel_types: Sequence[str] | None = None, limit: int = 5) -> list[GraphPath]:
        return queries.paths(self.ix, source_id, target_id, max_hops, rel_types, limit)

    def rings(self, min_size: int = 3, limit: int = 50) -> list[Ring]:
        return queries.rings(self.ix, min_size, limit)
