"""The embedded store's risk worklist (semantics: `graph.worklist`), answered from arrays.

Scores and levels are the index's arrays; ranking is one lexsort over the candidates. The
columns only some filters need (province, city, each entity's reason rules and triggering
events, each event's source and date) are read once, the first time a filter asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np

from graph.embedded.network import LABELS, RunNetwork
from graph.embedded.packed import PackedText
from graph.worklist import (
    WorklistItem,
    WorklistPage,
    WorklistQuery,
    parse_reasons,
    reason_events,
    reason_rules,
)


class EmbeddedWorklist:
    """Worklist reads over one RunNetwork and its packed risk reasons."""

    def __init__(self, net: RunNetwork, reasons: PackedText | None) -> None:
        self.net = net
        self._reasons = reasons
        self._place: dict[str, np.ndarray] = {}
        self._rules: dict[int, list[str]] | None = None
        self._triggers: dict[int, list[str]] | None = None
        self._events: dict[str, tuple[str | None, date | None]] | None = None

    # --- lazily read columns ----------------------------------------------------------------
    def _column(self, name: str) -> np.ndarray:
        if name not in self._place:
            col = np.full(self.net.n_nodes, None, dtype=object)
            for p in self.net.scored_positions().tolist():
                col[p] = self.net.value_at(p, name)
            self._place[name] = col
        return self._place[name]

    def _read_reasons(self) -> None:
        self._rules, self._triggers = {}, {}
        if self._reasons is None:
            return
        for p in self.net.scored_positions().tolist():
            reasons = parse_reasons(self._reasons.text(p))
            if reasons:
                self._rules[p] = reason_rules(reasons)
                self._triggers[p] = reason_events(reasons)

    def _rules_of(self, p: int) -> list[str]:
        if self._rules is None:
            self._read_reasons()
        assert self._rules is not None
        return self._rules.get(p, [])

    def _triggers_of(self, p: int) -> list[str]:
        if self._triggers is None:
            self._read_reasons()
        assert self._triggers is not None
        return self._triggers.get(p, [])

    def _event(self, event_id: str) -> tuple[str | None, date | None] | None:
        if self._events is None:
            self._events = {ev.event_id: (ev.source, ev.date)
                            for evs in self.net.events.values() for ev in evs}
        return self._events.get(event_id)

    # --- the read ---------------------------------------------------------------------------
    def _mask(self, q: WorklistQuery) -> np.ndarray:
        score, level = self.net.score_array, self.net.level_array
        mask = (level >= 0) & (score >= q.min_score)
        if q.score == "learned":  # ranked and levelled by the learned score
            level = self.net.learned_level_array
            mask &= level >= 0
        kinds = q.kinds or ("Enterprise", "Person")
        mask &= np.isin(self.net.label_array, [LABELS.index(k) for k in kinds])
        if q.levels:
            codes = [self.net.level_code(lv) for lv in q.levels]
            mask &= np.isin(level, [c for c in codes if c >= 0])
        if q.entity_ids is not None:
            keep = np.zeros(self.net.n_nodes, dtype=bool)
            found = [self.net.pos[e] for e in q.entity_ids if e in self.net.pos]
            keep[found] = True
            mask &= keep
        for name, wanted in (("province", q.provinces), ("city", q.cities)):
            if wanted:
                mask &= np.isin(self._column(name), list(wanted))
        return mask

    def _passes(self, q: WorklistQuery) -> Callable[[int], bool]:
        rules = set(q.rules)

        def ok(p: int) -> bool:
            if rules and rules.isdisjoint(self._rules_of(p)):
                return False
            if q.filters_events:
                found = (self._event(e) for e in self._triggers_of(p))
                return any(ev is not None and q.event_matches(*ev) for ev in found)
            return True

        return ok

    def page(self, q: WorklistQuery) -> WorklistPage:
        positions = np.flatnonzero(self._mask(q))
        if q.rules or q.filters_events:
            ok = self._passes(q)
            positions = np.array([p for p in positions.tolist() if ok(p)], dtype=np.int64)
        # positions are in entity ID order: a stable sort on -score keeps ID order in ties
        ranked = self.net.learned_array if q.score == "learned" else self.net.score_array
        order = np.argsort(-ranked[positions], kind="stable")
        chosen = positions[order][q.offset:q.offset + q.limit]
        items = []
        for p in chosen.tolist():
            node = self.net.ids[p]
            summary = self.net.summary(node)
            learned, learned_level = self.net.learned_of(node)
            items.append(WorklistItem(
                entity=summary, score=float(self.net.score_array[p]),
                level=summary.risk_level or "low", province=self.net.value_at(p, "province"),
                city=self.net.value_at(p, "city"), rules=self._rules_of(p),
                learned_score=learned, learned_level=learned_level,  # type: ignore[arg-type]
            ))
        return WorklistPage(items=items, total=len(positions), limit=q.limit, offset=q.offset)
