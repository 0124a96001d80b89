"""The Neo4j store's risk worklist (semantics: `graph.worklist`) in parameterised Cypher.

Three whole queries, every value a parameter (an empty list = no filter):
- TRIGGER_EVENTS: the IDs of the events passing the event filters (source, date range), read
  only when one is given;
- COUNT and PAGE: the entities passing the filters, counted, and one page of them ranked by
  score desc, entity ID asc (`$learned`: the learned score and level instead of the rules').
A stored reason lists its rule as `"rule": "<name>"` and its events by quoted ID in the reasons
JSON (`risk.score` writes it with json.dumps' default separators), so the rule and event
filters are substring tests of `n.risk_reasons`; the rules of the page's items are read from
the same JSON in Python.
"""

from __future__ import annotations

from typing import Any

from graph.models import EntitySummary
from graph.neo4j.cypher import Cypher
from graph.worklist import (
    WorklistItem,
    WorklistPage,
    WorklistQuery,
    parse_reasons,
    reason_rules,
)

TRIGGER_EVENTS = """
MATCH (v:Penalty|InspectionFailure|Blacklisting)
WHERE (size($sources) = 0 OR v.source IN $sources)
  AND ($from IS NULL OR v.date >= $from)
  AND ($to IS NULL OR v.date <= $to)
RETURN collect(v.id) AS ids
"""

_FILTER = """
MATCH (n:Enterprise|Person)
WHERE n.risk_score IS NOT NULL AND n.risk_score >= $min_score
  AND (NOT $learned OR n.learned_score IS NOT NULL)
  AND any(l IN labels(n) WHERE l IN $kinds)
  AND (size($levels) = 0
       OR (CASE WHEN $learned THEN n.learned_level ELSE n.risk_level END) IN $levels)
  AND (size($provinces) = 0 OR n.province IN $provinces)
  AND (size($cities) = 0 OR n.city IN $cities)
  AND ($ids IS NULL OR n.id IN $ids)
  AND (size($rules) = 0
       OR any(r IN $rules WHERE n.risk_reasons CONTAINS ('"rule": "' + r + '"')))
  AND ($events IS NULL
       OR any(e IN $events WHERE n.risk_reasons CONTAINS ('"' + e + '"')))
"""

COUNT = _FILTER + """RETURN count(n) AS total
"""

PAGE = _FILTER + """WITH n
ORDER BY (CASE WHEN $learned THEN n.learned_score ELSE n.risk_score END) DESC, n.id
SKIP $offset LIMIT $limit
RETURN n {entity_id: n.id, kind: labels(n)[0], name: coalesce(n.name, n.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (n)-[:SUBJECT_OF]->() }} AS entity,
       n.risk_score AS score, n.risk_level AS level, n.province AS province, n.city AS city,
       n.risk_reasons AS reasons, n.learned_score AS learned_score,
       n.learned_level AS learned_level
"""


def worklist(cypher: Cypher, q: WorklistQuery) -> WorklistPage:
    params: dict[str, Any] = {
        "min_score": q.min_score, "kinds": list(q.kinds or ("Enterprise", "Person")),
        "levels": list(q.levels), "provinces": list(q.provinces), "cities": list(q.cities),
        "ids": None if q.entity_ids is None else list(q.entity_ids), "rules": list(q.rules),
        "events": None, "learned": q.score == "learned",
    }
    if q.filters_events:
        rows = cypher.run(TRIGGER_EVENTS, sources=list(q.sources), **{
            "from": q.event_from, "to": q.event_to})
        params["events"] = rows[0]["ids"] if rows else []
    total = cypher.run(COUNT, **params)[0]["total"]
    rows = cypher.run(PAGE, offset=q.offset, limit=q.limit, **params)
    items = [
        WorklistItem(
            entity=EntitySummary(**r["entity"]), score=float(r["score"]), level=r["level"],
            province=r["province"], city=r["city"], rules=reason_rules(parse_reasons(r["reasons"])),
            learned_score=r["learned_score"], learned_level=r["learned_level"],
        )
        for r in rows
    ]
    return WorklistPage(items=items, total=int(total), limit=q.limit, offset=q.offset)
