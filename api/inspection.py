"""Inspection lookup: resolve a declaration's subject in real time and recommend an action.

Exact identifiers first (USCC, customs code, declarant ID number via `find_by_identifier`),
then name candidates from `search`, scored by the run's trained linkage model
(`linkage.realtime.RealtimeMatcher`) when the run folder is available, else by the store's
name similarity. The answer carries the match and its confidence, the risk level, the top
reasons and a recommendation under the thresholds of `inspection/recommend.yaml` (or the file
named by `GUANLIAN_INSPECTION_THRESHOLDS`), read once when the service starts through
`inspection.config.load_thresholds`: the same rule `GET /inspection/report` measures. A
subject with a note (a failed check character, identifiers of two firms) is at least a
document check; an unknown subject gets `Settings.unknown_subject` and the closest candidates.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol, cast

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema
from rapidfuzz import fuzz
from starlette.concurrency import run_in_threadpool
from stdnum.cn import uscc

from api.name_variants import key_query, same_firm_name, variant_of
from api.settings import Recommendation, Settings
from api.validation import PRINTABLE_SCHEMA, check_printable
from graph.labels import labels
from graph.models import (
    EntityBrief,
    EntitySummary,
    LearnedScore,
    RiskLevel,
    RiskReason,
    RiskScore,
)
from graph.store import EntityKind, GraphReader, NameHit
from inspection.config import LEVEL_RANK, Thresholds, load_thresholds
from linkage.standardise.identifiers import check_ric, compact
from linkage.standardise.missing import is_placeholder

log = logging.getLogger("guanlian.api.inspection")
TOP_REASONS = 3
NAME_SCAN = 10  # full-text candidates re-scored per candidate kept: bounds a name lookup
ExactKind = Literal["uscc", "customs_code", "id_number"]
MatchMethod = Literal["uscc", "customs_code", "id_number", "model", "similarity", "name_key"]
_SUMMARY_FIELDS = set(EntitySummary.model_fields)


SUBJECT_FIELDS = ("name", "uscc", "customs_code", "declarant_name", "declarant_id")
# optional, but never null: omitted fields are None, an explicit null is refused
Text = SkipJsonSchema[None]


class Subject(BaseModel):
    """What a declaration says about its subject (any non-empty subset)."""

    name: str | Text = Field(default=None, min_length=1, max_length=200,
                             json_schema_extra=PRINTABLE_SCHEMA,
                             description="consignee / consignor name, Chinese or pinyin")
    uscc: str | Text = Field(default=None, min_length=1, max_length=40,
                             json_schema_extra=PRINTABLE_SCHEMA,
                             description="unified social credit code (18 characters)")
    customs_code: str | Text = Field(default=None, min_length=1, max_length=20,
                                     json_schema_extra=PRINTABLE_SCHEMA,
                                     description="customs registration code (10 characters)")
    declarant_name: str | Text = Field(default=None, min_length=1, max_length=100,
                                       json_schema_extra=PRINTABLE_SCHEMA)
    declarant_id: str | Text = Field(default=None, min_length=1, max_length=40,
                                     json_schema_extra=PRINTABLE_SCHEMA,
                                     description="declarant's resident ID number")

    model_config = {
        "json_schema_extra": {
            "anyOf": [{"required": [f]} for f in SUBJECT_FIELDS],
            "examples": [
                {"name": "上海华信进出口贸易有限公司", "uscc": "91310000MA1000012X",
                 "customs_code": "3100000012", "declarant_name": "张伟",
                 "declarant_id": "110101199003071234"}
            ],
        }
    }

    @field_validator(*SUBJECT_FIELDS, mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("omit the field instead of sending null")
        return value

    @field_validator(*SUBJECT_FIELDS)
    @classmethod
    def _printable(cls, value: str) -> str:
        return check_printable(value)  # no control characters, no lone surrogates

    def given(self, field: str) -> str | None:
        """The field's value stripped, None when absent, blank or a word for no value (a
        border system's NULL, 无, N/A, -: `linkage.standardise.missing`, as the linkage
        reads the agencies' files)."""
        value = getattr(self, field)
        if not isinstance(value, str) or is_placeholder(value):
            return None
        return value.strip() or None

    @model_validator(mode="after")
    def _not_empty(self) -> Subject:
        if not any(getattr(self, f) for f in SUBJECT_FIELDS):
            raise ValueError("give at least one of " + ", ".join(SUBJECT_FIELDS))
        return self


class SubjectMatch(BaseModel):
    entity: EntitySummary
    confidence: float = Field(ge=0, le=1)
    method: MatchMethod
    features: list[dict[str, Any]] = Field(default_factory=list)
    _risk: RiskScore | None = PrivateAttr(default=None)  # from the brief: no second read

    @classmethod
    def of(cls, brief: EntityBrief, confidence: float, method: MatchMethod,
           features: list[dict[str, Any]] | None = None,
           risk: RiskScore | None = None) -> SubjectMatch:
        """`risk`: the entity's stored risk when `brief` was read without it."""
        match = cls(entity=_summary(brief), confidence=confidence, method=method,
                    features=features or [])
        match._risk = brief.risk if risk is None else risk
        return match


class Candidate(BaseModel):
    entity: EntitySummary
    confidence: float
    same_name: bool = Field(default=False, description="a legal-form or region variant of the "
                            "name looked up (the linkage's name key and region agree)")


class LookupAnswer(BaseModel):
    match: SubjectMatch | None = Field(description="the enterprise the declaration names")
    declarant: SubjectMatch | None = None
    confidence: float = Field(ge=0, le=1, description="confidence of the subject match")
    risk_level: RiskLevel | None = None
    risk_score: float | None = None
    reasons: list[RiskReason] = Field(default_factory=list)
    learned: LearnedScore | None = Field(
        default=None, description="the matched enterprise's learned score, where it is shipped "
        "(beside the rule score; the recommendation follows the rule score)")
    recommendation: Recommendation
    recommendation_label: str | None = Field(default=None, description="in Chinese")
    notes: list[str] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)


class NameSearchNeeded(Exception):
    """`LookupService.lookup(..., names=False)` met a subject whose answer needs a name
    search (its identifiers found nothing, or it has none)."""


class IdentifierReads(Protocol):
    """The event loop's identifier reads (`graph.neo4j.aio.AsyncIdentifierReads`)."""

    async def briefs_by_identifiers(self, keys: Sequence[tuple[ExactKind, str]]
                                    ) -> Mapping[tuple[str, str], list[EntityBrief]]: ...


class Declared(NamedTuple):
    """The identifiers a subject declares, normalised as the store is asked for them."""

    uscc: str | None
    customs_code: str | None
    id_number: str | None
    id_number_valid: bool

    def keys(self) -> list[tuple[ExactKind, str]]:
        """(kind, value) of every identifier read the lookup makes for them."""
        pairs: tuple[tuple[ExactKind, str | None], ...] = (
            ("uscc", self.uscc), ("customs_code", self.customs_code),
            ("id_number", self.id_number))
        return [(kind, value) for kind, value in pairs if value]


class _ReadsSoFar:
    """The store a lookup sees with its identifiers read beforehand (`lookup_async`, a
    screen): the reads made. Any other read goes to `store`, or, on the event loop (no
    store), stops the lookup with `NameSearchNeeded` (the worker thread's turn)."""

    def __init__(self, made: dict[tuple[str, str], list[EntityBrief]],
                 store: GraphReader | None = None) -> None:
        self.made, self.store = made, store

    def briefs_by_identifier(self, kind: ExactKind, value: str) -> list[EntityBrief]:
        found = self.made.get((kind, value))
        if found is not None:
            return found
        if self.store is None:
            raise NameSearchNeeded
        return self.store.briefs_by_identifier(kind, value)

    def __getattr__(self, name: str) -> Any:
        if self.store is None:
            raise NameSearchNeeded
        return getattr(self.store, name)


class Matcher(Protocol):
    def score(self, kind: str, record: dict[str, Any], candidates: list[dict[str, Any]]
              ) -> list[Any]: ...


def load_matcher(run_dir: Path | None) -> Matcher | None:
    """The run's trained model, or None (lookups then use the store's similarity)."""
    if run_dir is None or not (run_dir / "models").is_dir():
        return None
    try:
        from linkage.realtime import RealtimeMatcher

        matcher: Matcher = RealtimeMatcher.from_run(run_dir)
        return matcher
    except Exception:
        log.exception("cannot load the linkage model of %s; falling back to similarity",
                      run_dir)
        return None


def _summary(brief: EntityBrief) -> EntitySummary:
    return EntitySummary(**{k: getattr(brief, k) for k in _SUMMARY_FIELDS})


def _match_fields(m: Any) -> tuple[str, float, list[dict[str, Any]]]:
    if isinstance(m, dict):
        return str(m["entity_id"]), float(m["match_probability"]), list(m.get("features") or [])
    if hasattr(m, "entity_id"):
        return str(m.entity_id), float(m.match_probability), list(getattr(m, "features", []))
    return str(m[0]), float(m[1]), list(m[3] if len(m) > 3 else [])


def _candidate_record(brief: EntityBrief) -> dict[str, Any]:
    record: dict[str, Any] = dict(brief.attributes)
    record.update(entity_id=brief.entity_id, name=brief.name, names=brief.names,
                  uscc=brief.uscc, customs_code=brief.customs_code, id_number=brief.id_number)
    return record


class LookupService:
    def __init__(self, settings: Settings, matcher: Matcher | None = None,
                 thresholds: Thresholds | None = None) -> None:
        """`thresholds`: default the recommendation file (a bad file raises `ValueError`
        naming the file and the field, so a service never starts on a broken rule)."""
        self.settings = settings
        self.thresholds = thresholds if thresholds is not None else load_thresholds()
        self._matcher = matcher
        self._lock = threading.Lock()

    @property
    def uses_model(self) -> bool:
        return self._matcher is not None

    def set_matcher(self, matcher: Matcher | None) -> None:
        with self._lock:
            self._matcher = matcher

    # --- resolution -----------------------------------------------------------------------
    # Each step reads briefs (summary, names, attributes, stored risk) in one store round
    # trip, never whole profiles: sources, evidence and events are not part of the answer.
    def _by_identifier(self, store: GraphReader, kind: ExactKind, value: str,
                       label: EntityKind) -> SubjectMatch | None:
        for brief in store.briefs_by_identifier(kind, value):
            if brief.kind == label:
                return SubjectMatch.of(brief, 1.0, kind)
        return None

    def _hits(self, store: GraphReader, label: EntityKind, name: str) -> list[NameHit]:
        """Search hits for a name (`rank_names`: IDs, similarities and names, no details);
        when none is as similar as `similarity_threshold`, for a whole enterprise name also
        the hits of its name key (what is left without region and legal form: it finds the
        variants a full-name search ranks below other firms of the same trade), re-scored
        against the name itself with the stores' scorer. Best similarity per entity, best
        first."""
        pool = self.settings.candidate_pool
        hits = store.rank_names(name, kinds=(label,), limit=pool, pool=NAME_SCAN * pool)
        best = {h.entity_id: h for h in hits}
        clear = any(h.similarity >= self.settings.similarity_threshold for h in hits)
        key = key_query(name) if label == "Enterprise" and not clear else None
        if key is not None:
            for hit in store.rank_names(key, kinds=(label,), limit=pool, pool=NAME_SCAN * pool):
                if hit.entity_id not in best:
                    similarity = round(fuzz.WRatio(name, hit.name) / 100.0, 4)
                    best[hit.entity_id] = hit._replace(similarity=similarity)
        return sorted(best.values(), key=lambda h: (-h.similarity, h.entity_id))

    def _by_name(self, store: GraphReader, label: EntityKind, record: dict[str, Any]
                 ) -> tuple[SubjectMatch | None, list[Candidate]]:
        hits = self._hits(store, label, record["name"])
        if not hits:
            return None, []
        matcher = self._matcher
        asked = variant_of(record["name"]) if label == "Enterprise" else None

        def same(name: str) -> bool:
            return asked is not None and same_firm_name(asked, variant_of(name))

        # the briefs of every hit in one round trip, without their stored risk (kilobytes of
        # reasons each): the model scores them, the candidates show their summaries; the
        # winner's risk is read on its own
        briefs = {b.entity_id: b
                  for b in store.get_briefs([h.entity_id for h in hits], risk=False)}
        scored: list[tuple[str, float, list[dict[str, Any]], str]]
        if matcher is None:  # the store's similarity
            scored = [(h.entity_id, round(max(0.0, min(1.0, h.similarity)), 4), [], h.name)
                      for h in hits if h.entity_id in briefs]
            threshold, method = self.settings.similarity_threshold, "similarity"
        else:
            kind = "enterprise" if label == "Enterprise" else "person"
            matches = matcher.score(kind, record, [_candidate_record(p) for p in briefs.values()])
            scored = [(e, round(p, 4), f, briefs[e].name) for e, p, f in
                      sorted((_match_fields(m) for m in matches), key=lambda m: -m[1])
                      if e in briefs]
            threshold, method = self.settings.match_threshold, "model"
        summaries = {e: _summary(b) for e, b in briefs.items()}
        candidates = [Candidate(entity=summaries[e], confidence=p, same_name=same(name))
                      for e, p, _, name in scored[:5]]
        chosen: tuple[str, float, list[dict[str, Any]], MatchMethod] | None = None
        if scored and scored[0][1] >= threshold:
            chosen = (scored[0][0], scored[0][1], scored[0][2], method)  # type: ignore[assignment]
        else:  # one firm whose name differs only in legal form or region
            variants = [(e, p, f) for e, p, f, name in scored if same(name)]
            if len(variants) == 1:
                chosen = (*variants[0], "name_key")
        if chosen is None:
            return None, candidates
        entity_id, confidence, features, how = chosen
        return SubjectMatch.of(briefs[entity_id], confidence, how, features,
                               store.get_risk(entity_id)), candidates

    @staticmethod
    def identifiers(s: Subject) -> Declared:
        """The identifiers `s` declares, as the store is asked for them."""
        # compacted as the linkage compacts them (width, case, separators and the invisible
        # characters a pasted value carries), so the store's values compare equal
        code = compact(s.given("uscc") or "") or None
        customs = compact(s.given("customs_code") or "") or None
        raw_number = s.given("declarant_id")
        # our validator: structure, province, date and check digit (stdnum's birth-place
        # lookup raises a bare KeyError on some mistyped numbers)
        checked = check_ric(raw_number) if raw_number else None
        return Declared(code, customs,
                        checked.value if checked is not None else None,
                        bool(checked is not None and checked.valid))

    def _enterprise(self, store: GraphReader, s: Subject, ids: Declared, notes: list[str],
                    names: bool) -> tuple[SubjectMatch | None, list[Candidate]]:
        code, customs = ids.uscc, ids.customs_code
        if code and not uscc.is_valid(code):
            notes.append("the USCC fails its check character")
        by_code = self._by_identifier(store, "uscc", code, "Enterprise") if code else None
        by_customs = (self._by_identifier(store, "customs_code", customs, "Enterprise")
                      if customs else None)
        if by_code and by_customs and by_code.entity.entity_id != by_customs.entity.entity_id:
            notes.append("the USCC and the customs code belong to different enterprises")
        exact = by_code or by_customs
        if exact is not None:
            return exact, []
        if code or customs:
            notes.append("no enterprise holds the declared identifiers")
        name = s.given("name")
        if name is None:
            return None, []
        if not names:
            raise NameSearchNeeded
        record = {"name": name, "uscc": code or None, "customs_code": customs}
        return self._by_name(store, "Enterprise", record)

    def _declarant(self, store: GraphReader, s: Subject, ids: Declared, notes: list[str],
                   names: bool) -> SubjectMatch | None:
        number = ids.id_number
        if number:
            if not ids.id_number_valid:
                notes.append("the declarant ID number fails its check digit")
            found = self._by_identifier(store, "id_number", number, "Person")
            if found is not None:
                return found
        declarant_name = s.given("declarant_name")
        if declarant_name is None or self._matcher is None:
            return None  # a person's name alone never identifies them
        if not names:
            raise NameSearchNeeded
        match, _ = self._by_name(store, "Person",
                                 {"name": declarant_name, "id_number": number or None})
        return match

    # --- answer ---------------------------------------------------------------------------
    def _recommend(self, risks: list[RiskScore], matched: bool, notes: list[str]
                   ) -> Recommendation:
        if not matched:
            return self.settings.unknown_subject
        score = max((r.score for r in risks), default=0.0)
        level = max((r.level for r in risks), key=lambda v: LEVEL_RANK[v], default="low")
        recommendation = self.thresholds.recommend(score, level)
        if recommendation == "release" and notes:
            return "document_check"
        return recommendation

    def warm_up(self, store: GraphReader) -> None:
        """Run every lookup shape once (USCC, customs code, resident ID, names) so that the
        first inspector after a start does not pay for query planning and lazy loading."""
        self.lookup(store, Subject(name="预热检查进出口贸易有限公司", uscc="91310000MA1000012X",
                                   customs_code="3100000012", declarant_name="预热",
                                   declarant_id="110101199003071234"))

    def prefetched(self, store: GraphReader, declared: Sequence[Declared]) -> GraphReader:
        """`store`, with every identifier of `declared` (the subjects' `identifiers`) read at
        once where the store reads them in batches (Neo4j: a round trip per
        `IDENTIFIER_BATCH` values, not one per identifier); other reads, and an in-memory
        store's, go to `store`."""
        batched = getattr(store, "briefs_by_identifiers", None)
        if batched is None or store.in_memory:
            return store
        keys = [key for ids in declared for key in ids.keys()]
        return cast(GraphReader, _ReadsSoFar(dict(batched(keys)), store))

    async def lookup_async(self, reads: IdentifierReads, store: GraphReader, subject: Subject
                           ) -> LookupAnswer:
        """`lookup` with every identifier the subject declares read on the event loop
        (`reads`), in one round trip (a declaration names the firm's USCC and customs code
        and the declarant's ID number); a lookup that needs more (a name search) goes on in a
        worker thread on `store`, with those reads."""
        ids = self.identifiers(subject)
        made = dict(await reads.briefs_by_identifiers(ids.keys()))
        try:
            return self.lookup(cast(GraphReader, _ReadsSoFar(made)), subject, names=False,
                               ids=ids)
        except NameSearchNeeded:
            pass
        return await run_in_threadpool(partial(
            self.lookup, cast(GraphReader, _ReadsSoFar(made, store)), subject, ids=ids))

    def lookup_all(self, store: GraphReader, subjects: Sequence[Subject]
                   ) -> Iterator[LookupAnswer]:
        """`lookup` of each subject in turn, every identifier they declare read at once
        beforehand (`prefetched`: one round trip per batch on Neo4j, not one per identifier):
        a screen, a watchlist upload, the worker-thread path of one lookup. Lazy, so a caller
        can stop between subjects (a screen at its deadline)."""
        declared = [self.identifiers(subject) for subject in subjects]
        view = self.prefetched(store, declared)
        for subject, ids in zip(subjects, declared, strict=True):
            yield self.lookup(view, subject, ids=ids)

    def lookup_prefetched(self, store: GraphReader, subject: Subject) -> LookupAnswer:
        """`lookup` with the subject's identifiers read at once (`lookup_all`)."""
        return next(self.lookup_all(store, [subject]))

    def lookup(self, store: GraphReader, subject: Subject, *, names: bool = True,
               ids: Declared | None = None) -> LookupAnswer:
        """The answer for `subject`. `names=False`: by identifiers alone, raising
        `NameSearchNeeded` (before any name search) when the answer needs one. `ids`: the
        subject's `identifiers`, when the caller has them already."""
        notes: list[str] = []
        ids = self.identifiers(subject) if ids is None else ids
        match, candidates = self._enterprise(store, subject, ids, notes, names)
        declarant = self._declarant(store, subject, ids, notes, names)
        risks = [m._risk for m in (match, declarant) if m is not None and m._risk is not None]
        reasons = sorted((reason for r in risks for reason in r.reasons),
                         key=lambda reason: -reason.contribution)[:TOP_REASONS]
        top = max(risks, key=lambda r: r.score, default=None)
        primary = match or declarant
        recommendation = self._recommend(risks, primary is not None, notes)
        return LookupAnswer(
            match=match,
            declarant=declarant,
            confidence=primary.confidence if primary else 0.0,
            risk_level=top.level if top else (None if primary is None else "low"),
            risk_score=top.score if top else None,
            reasons=reasons,
            learned=match._risk.learned if match is not None and match._risk else None,
            recommendation=recommendation,
            recommendation_label=labels().recommendation(recommendation),
            notes=notes,
            candidates=[] if match else candidates,
        )
