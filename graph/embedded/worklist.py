"""The embedded store's risk worklist (semantics: `graph.worklist`), answered from arrays.

Scores and levels are the index's arrays; the ranking (score desc, then entity ID: position
order) is sorted once, and a read keeps the ranked positions its filter mask lets through. The
columns only some filters need (province, city, each entity's reason rules and triggering
events, each event's source and date) are read once, the first time a filter asks for them,
into arrays a filter tests in one vectorised pass: value codes for province and city, one
position array per rule, and one row per (entity, triggering event) with the event's source
code and date.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

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
        self._codes: dict[str, tuple[np.ndarray, dict[str, int]]] = {}
        self._rules: dict[int, list[str]] | None = None
        self._triggers: dict[int, list[str]] | None = None
        self._rule_positions: dict[str, np.ndarray] = {}
        self._trigger_rows: tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]] | None = None
        self._events: dict[str, tuple[str | None, date | None]] | None = None
        self._ranked: dict[str, np.ndarray] = {}  # score kind -> ranked positions
        self._kind_masks: dict[tuple[str, ...], np.ndarray] = {}

    # --- lazily read columns ----------------------------------------------------------------
    def _column(self, name: str) -> np.ndarray:
        if name not in self._place:
            col = np.full(self.net.n_nodes, None, dtype=object)
            for p in self.net.scored_positions().tolist():
                col[p] = self.net.value_at(p, name)
            self._place[name] = col
        return self._place[name]

    def _value_codes(self, name: str) -> tuple[np.ndarray, dict[str, int]]:
        """The column as int codes (-1: unset) and the code of each value."""
        if name not in self._codes:
            codes, uniques = pd.factorize(pd.Series(self._column(name), dtype=object))
            self._codes[name] = (codes.astype(np.int64),
                                 {str(v): i for i, v in enumerate(uniques.tolist())})
        return self._codes[name]

    def _read_reasons(self) -> None:
        self._rules, self._triggers = {}, {}
        by_rule: dict[str, list[int]] = {}
        if self._reasons is not None:
            for p in self.net.scored_positions().tolist():
                reasons = parse_reasons(self._reasons.text(p))
                if reasons:
                    self._rules[p] = reason_rules(reasons)
                    self._triggers[p] = reason_events(reasons)
                    for rule in self._rules[p]:
                        by_rule.setdefault(rule, []).append(p)
        self._rule_positions = {r: np.array(ps, dtype=np.int64) for r, ps in by_rule.items()}

    def _rule_mask(self, rules: tuple[str, ...]) -> np.ndarray:
        if self._rules is None:
            self._read_reasons()
        mask = np.zeros(self.net.n_nodes, dtype=bool)
        for rule in rules:
            found = self._rule_positions.get(rule)
            if found is not None:
                mask[found] = True
        return mask

    def _triggers_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
        """(position, source code (-1: none), date ordinal (0: none)) of every triggering event
        that is a known event, and the code of each source."""
        if self._trigger_rows is None:
            if self._triggers is None:
                self._read_reasons()
            assert self._triggers is not None
            pos: list[int] = []
            src: list[int] = []
            day: list[int] = []
            codes: dict[str, int] = {}
            for p, events in self._triggers.items():
                for e in events:
                    ev = self._event(e)
                    if ev is None:
                        continue
                    source, when = ev
                    pos.append(p)
                    src.append(-1 if source is None else codes.setdefault(source, len(codes)))
                    day.append(0 if when is None else when.toordinal())
            self._trigger_rows = (np.array(pos, dtype=np.int64), np.array(src, dtype=np.int64),
                                  np.array(day, dtype=np.int64), codes)
        return self._trigger_rows

    def _event_mask(self, q: WorklistQuery) -> np.ndarray:
        """Entities with at least one triggering event meeting every event filter at once
        (`WorklistQuery.event_matches`: a missing source or date meets no such filter)."""
        pos, src, day, codes = self._triggers_table()
        keep = np.ones(len(pos), dtype=bool)
        if q.sources:
            keep &= np.isin(src, [codes[s] for s in q.sources if s in codes])
        if q.event_from is not None:
            keep &= (day > 0) & (day >= q.event_from.toordinal())
        if q.event_to is not None:
            keep &= (day > 0) & (day <= q.event_to.toordinal())
        mask = np.zeros(self.net.n_nodes, dtype=bool)
        mask[pos[keep]] = True
        return mask

    def _ranking(self, score: str = "rule") -> np.ndarray:
        """Scored positions by score desc (the rule score, or the learned one), then position
        (= entity ID) asc; sorted once per score."""
        if score not in self._ranked:
            scored = self.net.scored_positions()
            values = self.net.learned_array if score == "learned" else self.net.score_array
            order = np.argsort(-values[scored], kind="stable")
            self._ranked[score] = scored[order]
        return self._ranked[score]

    def _rules_of(self, p: int) -> list[str]:
        if self._rules is None:
            self._read_reasons()
        assert self._rules is not None
        return self._rules.get(p, [])

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
        kinds = tuple(sorted(set(q.kinds or ("Enterprise", "Person"))))
        if kinds not in self._kind_masks:
            self._kind_masks[kinds] = np.isin(self.net.label_array,
                                              [LABELS.index(k) for k in kinds])
        mask &= self._kind_masks[kinds]
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
                values, of = self._value_codes(name)
                mask &= np.isin(values, [of[v] for v in wanted if v in of])
        if q.rules:
            mask &= self._rule_mask(q.rules)
        if q.filters_events:
            mask &= self._event_mask(q)
        return mask

    def page(self, q: WorklistQuery) -> WorklistPage:
        ranked = self._ranking(q.score)
        positions = ranked[self._mask(q)[ranked]]
        chosen = positions[q.offset:q.offset + q.limit]
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
