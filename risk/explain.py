"""Readable risk reasons: every node named, every step in its real direction, the triggering
events inline with the linkage merge that attached each to its entity, Chinese text.

`Explainer.for_run(tables, ...)` reads what the texts need of a run once (names, relationships,
events, mentions, evidence) into an `ExplainContext` (risk.spark_score builds one per group of
entities from Spark rows); `explain(row)` turns one reason of `risk.score` (rule, points, path
nodes, relationships per step, event IDs) into the JSON object stored in `RUN/risk.parquet`:

- `rule` (machine code), `rule_label` (Chinese), `contribution`;
- `summary`: Chinese, naming no node (an inspector sees it; it must not reveal who is behind
  a firm), `detail`: Chinese, naming every node (investigators only);
- `path_nodes` (from the scored entity outwards), `path_edges` (one relationship per step: the
  strongest role), `steps` (per step: every relationship between the two nodes with its real
  direction `source` → `target`, types and Chinese labels), `nodes` (ID, kind, name: addresses
  and phones by their text), `counterpart` and `routes` (how many distinct routes reach it);
- `event_ids` and `events` (date, type, agency, category, amount, the entity it belongs to and
  `attachment`: how the linkage attached the event's record to that entity: method, its
  probability, `low_confidence` below `labels.yaml`'s threshold, the identifier that matched
  for an exact-identifier merge);
- `evidence`: linkage evidence rows per merged entity on the path (as before).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from graph.labels import Labels, labels
from graph.schema import NETWORK_TYPES
from graph.tables import RunTables

MAX_EVENTS = 5  # events inlined per reason, latest first
_SELF_RULES = ("own_events", "blacklisting")
_METHOD_RANK = {"exact_id": 0, "judgement": 1, "masked_id": 2, "context": 3, "splink": 4}


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text or None


def _amount(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _yuan(amount: float | None) -> str:
    return "" if amount is None else f"，金额{amount:,.0f}元"


@dataclass
class ExplainContext:
    """What the texts of some reasons need, by ID: the only input of an `Explainer`.

    `Explainer.for_run` reads it from a run's tables (risk.score); risk.spark_score builds it
    per group of entities from Spark rows, so both engines write the same texts."""

    names: dict[str, tuple[str, str]]  # node -> (label, name)
    rels: dict[str, tuple[str, str, str]]  # relationship -> (type, source, target)
    events: dict[str, dict[str, Any]]  # event -> its events.parquet row
    n_mentions: dict[str, float]  # event owner -> mentions merged into it
    mentions: dict[str, list[str]]  # event owner -> its mention IDs
    evidence: dict[str, list[dict[str, Any]]]  # event owner -> its evidence rows, table order
    violating: set[str]


def node_name(label: str, frame_row_name: Any, node_id: str) -> tuple[str, str]:
    """A node's (label, readable name): its name or label text, else its ID."""
    return label, _text(frame_row_name) or node_id


class Explainer:
    """The run's names, relationships, events and linkage evidence, for the wanted IDs only."""

    def __init__(self, ctx: ExplainContext) -> None:
        self.lab: Labels = labels()
        self.violating = ctx.violating
        self._done: dict[str, dict[str, Any]] = {}
        self.names = ctx.names
        self.rels = ctx.rels
        self.events = ctx.events
        self.n_mentions = ctx.n_mentions
        self.mentions = ctx.mentions
        self.evidence = ctx.evidence

    @classmethod
    def for_run(cls, t: RunTables, nodes: set[str], edges: set[str], events: set[str],
                violating: set[str]) -> Explainer:
        """The context of the wanted nodes, relationships and events, read from `t`."""
        names: dict[str, tuple[str, str]] = {}
        for label, frame in t.node_frames.items():
            col = "name" if "name" in frame.columns else "label"
            if col not in frame.columns:
                continue
            hit = frame[frame["id"].isin(nodes)]
            for node, name in zip(hit["id"], hit[col], strict=True):
                names[str(node)] = node_name(label, name, str(node))
        rels: dict[str, tuple[str, str, str]] = {}
        for rtype in NETWORK_TYPES:
            f = t.rel_frames[rtype]
            hit = f[f["id"].isin(edges)]
            for eid, src, dst in zip(hit["id"], hit["src"], hit["dst"], strict=True):
                rels[str(eid)] = (rtype, str(src), str(dst))
        ev = t.events[t.events["event_id"].isin(events)]
        rows: dict[str, dict[str, Any]] = {
            str(r["event_id"]): {str(k): v for k, v in r.items()}
            for r in ev.to_dict("records")}
        owners = {str(r["entity_id"]) for r in rows.values()}
        ent = t.entities[t.entities["entity_id"].isin(owners)]
        men = t.mentions[t.mentions["entity_id"].isin(owners)]
        mentions: dict[str, list[str]] = {}
        for entity, mention in zip(men["entity_id"], men["mention_id"], strict=True):
            mentions.setdefault(str(entity), []).append(str(mention))
        evi = t.evidence[t.evidence["entity_id"].isin(owners)]
        evidence: dict[str, list[dict[str, Any]]] = {}
        for row in evi.to_dict("records"):
            evidence.setdefault(str(row["entity_id"]), []).append(
                {str(k): v for k, v in row.items()})
        return cls(ExplainContext(
            names=names, rels=rels, events=rows,
            n_mentions=dict(zip(ent["entity_id"], ent["n_mentions"].fillna(1), strict=True)),
            mentions=mentions, evidence=evidence, violating=violating))

    # --- pieces -------------------------------------------------------------------------------
    def node(self, node_id: str) -> dict[str, Any]:
        kind, name = self.names.get(node_id, ("", node_id))
        return {"id": node_id, "kind": kind, "kind_label": self.lab.kind(kind), "name": name,
                "violating": node_id in self.violating}

    def name(self, node_id: str) -> str:
        return self.names.get(node_id, ("", node_id))[1]

    def step(self, a: str, b: str, eids: list[str]) -> dict[str, Any]:
        rels = [(e, *self.rels[e]) for e in eids if e in self.rels]
        return {
            "a": a, "b": b,
            "relations": [{"id": e, "type": rt, "type_label": self.lab.relationship(rt),
                           "source": s, "target": d} for e, rt, s, d in rels],
        }

    def attachment(self, event: dict[str, Any]) -> dict[str, Any]:
        """How the event's record was merged into its entity, from the linkage evidence."""
        entity = str(event["entity_id"])
        subject = _text(event.get("subject_mention_id"))
        prefix = f"{event.get('source')}:{event.get('record_id')}:"
        mine = self.mentions.get(entity, [])
        candidates = {subject} if subject else {m for m in mine if m.startswith(prefix)}
        if self.n_mentions.get(entity, 1) <= 1 or len(mine) <= 1:
            return self._attached("single_record", 1.0, None)
        rows = [r for r in self.evidence.get(entity, [])
                if r["mention_id_l"] in candidates or r["mention_id_r"] in candidates]
        if not rows:
            return self._attached("cluster", None, None)
        best = min(rows, key=lambda r: (-(_amount(r["match_probability"]) or 0.0),
                                        _METHOD_RANK.get(str(r["method"]), 9)))
        features = best.get("features")
        parsed = json.loads(features) if isinstance(features, str) and features else []
        return self._attached(str(best["method"]), _amount(best["match_probability"]), parsed)

    def _attached(self, method: str, probability: float | None,
                  features: list[dict[str, Any]] | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": method, "method_label": self.lab.method(method),
            "match_probability": probability,
            "low_confidence": probability is not None
            and probability < self.lab.low_confidence_below,
            "identifier": None, "identifier_label": None, "identifier_value": None,
            "matched_on": [],
        }
        for feat in features or []:
            column = str(feat.get("column", ""))
            out["matched_on"].append({"column": column, "level": _text(feat.get("level"))})
            if method == "exact_id" and out["identifier"] is None:
                out.update(identifier=column, identifier_label=self.lab.identifier(column),
                           identifier_value=_text(feat.get("value_l")))
        return out

    def event(self, event_id: str) -> dict[str, Any] | None:
        if event_id in self._done:  # a counterpart's events recur in its neighbours' reasons
            return self._done[event_id]
        row = self.events.get(event_id)
        if row is None:
            return None
        day = row.get("date")
        self._done[event_id] = {
            "event_id": event_id, "type": row["type"], "type_label": self.lab.event(row["type"]),
            "date": None if day is None or pd.isna(day) else str(day)[:10],
            "agency": self.lab.agency(_text(row.get("source"))),
            "source": _text(row.get("source")), "category": _text(row.get("category")),
            "amount": _amount(row.get("amount")), "entity_id": str(row["entity_id"]),
            "attachment": self.attachment(row),
        }
        return self._done[event_id]

    def inline(self, event_ids: Iterable[str]) -> list[dict[str, Any]]:
        found = [e for e in (self.event(i) for i in event_ids) if e is not None]
        found.sort(key=lambda e: (e["date"] or "", e["event_id"]), reverse=True)
        return found[:MAX_EVENTS]

    # --- one reason ---------------------------------------------------------------------------
    def explain(self, rule: str, points: float, nodes: list[str], steps: list[list[str]],
                event_ids: list[str], info: dict[str, Any]) -> dict[str, Any]:
        events = self.inline(event_ids)
        path_steps = [self.step(a, b, eids)
                      for a, b, eids in zip(nodes, nodes[1:], steps, strict=False)]
        summary, detail = self._texts(rule, nodes, path_steps, events, len(event_ids), info)
        return {
            "rule": rule, "rule_label": self.lab.rule(rule), "contribution": round(points, 2),
            "summary": summary, "detail": detail, "path_nodes": nodes,
            "path_edges": [s[0] for s in steps if s], "steps": path_steps,
            "nodes": [self.node(n) for n in nodes], "counterpart": info.get("counterpart"),
            "routes": int(info.get("routes", 1)), "event_ids": list(event_ids),
            "events": events,
        }

    def _events_text(self, events: list[dict[str, Any]], total: int) -> str:
        if not events:
            return ""
        latest = events[0]
        agency = f"{latest['agency']}" if latest["agency"] else ""
        return (f"共{total}条违法记录，最近一次{latest['date'] or '日期不详'}{agency}"
                f"{latest['type_label']}{_yuan(latest['amount'])}")

    def _roles(self, step: dict[str, Any]) -> str:
        return "、".join(dict.fromkeys(r["type_label"] for r in step["relations"]))

    def _chain(self, steps: list[dict[str, Any]]) -> str:
        parts = []
        for s in steps:
            for r in s["relations"][:1]:
                parts.append(f"{self.name(r['source'])} —{self._roles(s)}→ "
                             f"{self.name(r['target'])}")
        return "；".join(parts)

    def _texts(self, rule: str, nodes: list[str], steps: list[dict[str, Any]],
               events: list[dict[str, Any]], total: int, info: dict[str, Any]
               ) -> tuple[str, str]:
        ev = self._events_text(events, total)
        me = self.name(nodes[0])
        if rule in _SELF_RULES:
            what = "被列入失信名单" if rule == "blacklisting" else "自身有违法记录"
            return f"{what}：{ev}", f"{me}{what}：{ev}"
        if rule.startswith("network_"):
            other = nodes[-1]
            kind = self.lab.kind(self.names.get(other, ("", ""))[0])
            hops = len(nodes) - 1
            routes = int(info.get("routes", 1))
            more = f"（经{routes}条不同路径关联）" if routes > 1 else ""
            if hops == 1:
                tie = f"关联{kind}（{self._roles(steps[0])}）" if steps else f"关联{kind}"
            else:
                tie = f"经{hops - 1}个中间方关联的{kind}"
            return (f"{tie}{ev}{more}",
                    f"{self.name(other)}（{kind}）{ev}；关联：{self._chain(steps)}{more}")
        if rule == "hub":
            hub = nodes[1]
            kind = self.lab.kind(self.names.get(hub, ("", ""))[0])
            n, nv = int(info.get("n", 0)), int(info.get("nv", 0))
            return (f"与其他{max(n - 1, 0)}家企业共用同一{kind}，其中{nv}家有违法记录",
                    f"{me}与其他{max(n - 1, 0)}家企业共用{kind}“{self.name(hub)}”，"
                    f"其中{nv}家有违法记录")
        if rule == "phoenix":
            via, pred = nodes[1], nodes[2]
            kind = self.lab.kind(self.names.get(via, ("", ""))[0])
            return (f"前身企业受处罚后注销或吊销，本企业随后设立并与其共用{kind}：{ev}",
                    f"前身企业{self.name(pred)}受处罚后注销或吊销，{me}随后设立，"
                    f"共用{kind}“{self.name(via)}”：{ev}")
        firms = nodes[1:]
        return (f"控制{len(firms)}家有违法记录的企业：{ev}",
                f"{me}控制{len(firms)}家有违法记录的企业："
                f"{'、'.join(self.name(f) for f in firms)}；{ev}")
