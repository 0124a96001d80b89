"""Every read query of the Neo4j store, each written whole.

Conventions (the semantics are those of `graph.store.GraphReader`):
- `@network` is the alternation of `schema.NETWORK_TYPES`, `@control` of
  `schema.CONTROL_TYPES`, `@ring_person` of `graph.catalogue.RING_PERSON_TYPES`; they are
  filled in when this module is imported. Other holes (`@label`, `@rels`, `@kind`, `@hops`)
  vary with the call and are filled by `graph.neo4j.template.fill` with names checked against
  `graph.schema`. Every value is a parameter.
- `$cap` (degree cap) and `$wl` (hubs whitelist) are bound to every query by
  `graph.neo4j.cypher.Cypher.run`, from the store's walk policy.
- An entity *summary* is `{entity_id, kind, name, uscc, customs_code, id_number, risk_level,
  risk_score, violating}` (violating: it has a SUBJECT_OF event); an *event* is `{event_id,
  type, date, category, amount, description, source, record_id}` with `type` the
  events.parquet type of its label.
- *Blocked*: `(COUNT { (x)-[:@network]-() } > $cap OR <x whitelisted>)`; *whitelisted*: an
  Address / Phone whose id, label, address_std or phone is in `$wl`; *violating*: an Enterprise
  or Person with a SUBJECT_OF event.
Labels written out (Enterprise, Person, Address, Phone, the event labels, SHAREHOLDER_OF ...)
are schema names; `tests/graph/test_neo4j_queries.py` holds every one to the schema.
"""

from __future__ import annotations

from graph import schema
from graph.catalogue import MAX_PATH_HOPS, RING_PERSON_TYPES
from graph.hits import PERSON_TIES as HIT_TIES
from graph.neo4j.template import fill

NETWORK = "|".join(schema.check_rel_types(None))
CONTROL = "|".join(schema.check_rel_types(schema.CONTROL_TYPES))
RING_PERSON = "|".join(schema.check_rel_types(sorted(RING_PERSON_TYPES)))
PERSON_TIES = "|".join(schema.check_rel_types(list(HIT_TIES)))


def _static(text: str) -> str:
    """The text with the import-time holes filled (the others stay for the call)."""
    return fill(text, partial=True, network=NETWORK, control=CONTROL, ring_person=RING_PERSON,
                person_ties=PERSON_TIES)


# --- state and lookups (graph.neo4j.store) ----------------------------------------------------

PING = "RETURN 1 AS ok"

# the entities holding identifier `@kind` (one of graph.store.IDENTIFIERS) = $v
IDS_BY_IDENTIFIER = """
CALL () {
  MATCH (n:Enterprise {@kind: $v}) RETURN n
  UNION
  MATCH (n:Person {@kind: $v}) RETURN n
}
RETURN n.id AS id
"""

# a brief (`p`): the attribute properties, names and stored risk of an entity, never the
# source_records / evidence JSON a profile needs
_IDENTIFIER_BRIEF = """n {entity_id: n.id, kind: labels(n)[0], name: coalesce(n.name, n.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (n)-[:SUBJECT_OF]->() }} AS s,
       n {.names, .address, .address_std, .birth_date, .city, .district, .established,
          .n_mentions, .name_pinyin, .phone, .province, .reg_no, .sources, .status,
          .risk_score, .risk_level, .risk_reasons, .learned_score, .learned_level,
          .learned_reasons} AS p
"""
BRIEFS_BY_IDENTIFIER = """
CALL () {
  MATCH (n:Enterprise {@kind: $v}) RETURN n
  UNION
  MATCH (n:Person {@kind: $v}) RETURN n
}
RETURN """ + _IDENTIFIER_BRIEF

# the briefs of the entities holding any of the exact identifiers in the lists $uscc,
# $customs_code, $id_number (each value as `identifier_text` writes it), each row tagged with
# the identifier's kind and value: a declaration's identifiers, or a screen's, in one round
# trip (an index seek per value and label)
BRIEFS_BY_IDENTIFIERS = """
CALL () {
  UNWIND $uscc AS v MATCH (n:Enterprise {uscc: v}) RETURN n, 'uscc' AS kind, v
  UNION
  UNWIND $uscc AS v MATCH (n:Person {uscc: v}) RETURN n, 'uscc' AS kind, v
  UNION
  UNWIND $customs_code AS v MATCH (n:Enterprise {customs_code: v})
  RETURN n, 'customs_code' AS kind, v
  UNION
  UNWIND $customs_code AS v MATCH (n:Person {customs_code: v})
  RETURN n, 'customs_code' AS kind, v
  UNION
  UNWIND $id_number AS v MATCH (n:Enterprise {id_number: v}) RETURN n, 'id_number' AS kind, v
  UNION
  UNWIND $id_number AS v MATCH (n:Person {id_number: v}) RETURN n, 'id_number' AS kind, v
}
RETURN kind, v, """ + _IDENTIFIER_BRIEF

# briefs of $ids, in their order
_BRIEFS_HEAD = """
UNWIND range(0, size($ids) - 1) AS i
MATCH (n:Enterprise|Person {id: $ids[i]})
RETURN i,
       n {entity_id: n.id, kind: labels(n)[0], name: coalesce(n.name, n.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (n)-[:SUBJECT_OF]->() }} AS s,
       n {.names, .address, .address_std, .birth_date, .city, .district, .established,
          .n_mentions, .name_pinyin, .phone, .province, .reg_no, .sources, .status,
          .risk_score, .risk_level"""
_BRIEFS_TAIL = """} AS p
ORDER BY i
"""
BRIEFS = (_BRIEFS_HEAD + ", .risk_reasons, .learned_score, .learned_level, .learned_reasons"
          + _BRIEFS_TAIL)
# BRIEFS without the stored risk's reasons and explanations (the bulk of a brief: kilobytes
# of JSON each), for candidates that are scored, not answered
BRIEFS_NO_RISK = _BRIEFS_HEAD + _BRIEFS_TAIL

# one round trip: every identifier hit, tagged with its kind's position in
# graph.store.IDENTIFIERS (uscc 0, customs_code 1, id_number 2, reg_no 3), and the best $n
# full-text candidates for the Lucene query $q (tag -1), of the labels $labels only, each with
# what the ranking reads (ID, names, pinyin; a page's details are one more query, a lookup's
# briefs too); the rows come back as one list in
# one record (hundreds of one-row records cost the driver far more)
SEARCH = """
CALL () {
  MATCH (n:Enterprise {uscc: $v}) RETURN n, 0 AS ident
  UNION ALL MATCH (n:Person {uscc: $v}) RETURN n, 0 AS ident
  UNION ALL MATCH (n:Enterprise {customs_code: $v}) RETURN n, 1 AS ident
  UNION ALL MATCH (n:Person {customs_code: $v}) RETURN n, 1 AS ident
  UNION ALL MATCH (n:Enterprise {id_number: $v}) RETURN n, 2 AS ident
  UNION ALL MATCH (n:Person {id_number: $v}) RETURN n, 2 AS ident
  UNION ALL MATCH (n:Enterprise {reg_no: $v}) RETURN n, 3 AS ident
  UNION ALL MATCH (n:Person {reg_no: $v}) RETURN n, 3 AS ident
  UNION ALL
  CALL db.index.fulltext.queryNodes('entity_names', $q, {limit: $n}) YIELD node
  RETURN node AS n, -1 AS ident
}
WITH n, ident WHERE any(l IN labels(n) WHERE l IN $labels)
RETURN collect([n.id, n.name, n.names, n.name_pinyin, ident]) AS rows
"""

SUMMARIES = """
UNWIND $ids AS i
MATCH (n:Enterprise|Person {id: i})
RETURN n {entity_id: n.id, kind: labels(n)[0], name: coalesce(n.name, n.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (n)-[:SUBJECT_OF]->() }} AS s
"""

# a search page's hits: summary, the attributes telling namesakes apart, and a person's
# enterprises (graph.hits.PERSON_TIES) as [id, name, type, violating] rows
SEARCH_DETAILS = _static("""
UNWIND $ids AS i
MATCH (n:Enterprise|Person {id: i})
RETURN n {entity_id: n.id, kind: labels(n)[0], name: coalesce(n.name, n.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (n)-[:SUBJECT_OF]->() }} AS s,
       n {.birth_date, .province, .city} AS p,
       CASE WHEN n:Person THEN COLLECT {
         MATCH (n)-[r:@person_ties]->(f:Enterprise)
         RETURN [f.id, coalesce(f.name, f.id), type(r), EXISTS { (f)-[:SUBJECT_OF]->() }]
       } ELSE [] END AS ties
""")

ENTITY = """
MATCH (n:Enterprise|Person {id: $id})
RETURN n {entity_id: n.id, kind: labels(n)[0], name: coalesce(n.name, n.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (n)-[:SUBJECT_OF]->() }} AS s,
       properties(n) AS p,
       COLLECT {
         MATCH (n)-[:SUBJECT_OF]->(e)
         RETURN {event_id: e.id,
                 type: CASE WHEN e:Penalty THEN 'PENALTY'
                            WHEN e:InspectionFailure THEN 'INSPECTION_FAILURE'
                            WHEN e:Blacklisting THEN 'BLACKLISTING' END,
                 date: e.date, category: e.category, amount: e.amount,
                 description: e.description, source: e.source, record_id: e.record_id}
       } AS events
"""

RISK = """
MATCH (n:Enterprise|Person {id: $id})
WHERE n.risk_score IS NOT NULL
RETURN n.risk_score AS score, n.risk_level AS level, n.risk_reasons AS reasons,
       n.learned_score AS learned_score, n.learned_level AS learned_level,
       n.learned_reasons AS learned_reasons
"""

# after a load: resample the outdated indexes, then drop the cached plans (warm_up_walks)
PREPARE_FOR_REPLANNING = "CALL db.prepareForReplanning($seconds)"

# one enterprise and one person to plan the walk queries from (Neo4jStore.warm_up)
WARM_UP_STARTS = """
CALL () {
  MATCH (n:Enterprise) RETURN n.id AS id LIMIT 1
  UNION ALL
  MATCH (n:Person) RETURN n.id AS id LIMIT 1
}
RETURN id
"""

# real keys for a timed warm-up (Neo4jStore.warm_up with seconds): the first $n firms and
# $n people of the label scans, their identifiers, names and pinyin names
WARM_UP_KEYS = """
CALL () {
  MATCH (n:Enterprise) RETURN n LIMIT $n
  UNION ALL
  MATCH (n:Person) RETURN n LIMIT $n
}
RETURN n.id AS id, labels(n)[0] AS kind, n.name AS name, n.name_pinyin AS pinyin,
       n.uscc AS uscc, n.customs_code AS customs_code, n.id_number AS id_number,
       n.reg_no AS reg_no
"""

# --- walks (graph.neo4j.walks) -------------------------------------------------------------

LOCATE = """
MATCH (n:@label {id: $id})
RETURN n.id AS id
"""

# a walk's start: blocked and violating flags
START = _static("""
MATCH (n:@label {id: $id})
RETURN (COUNT { (n)-[:@network]-() } > $cap
        OR ((n:Address OR n:Phone) AND any(k IN [n.id, n.label, n.address_std, n.phone]
                                           WHERE k IS NOT NULL AND k IN $wl))) AS bb,
       ((n:Enterprise OR n:Person) AND EXISTS { (n)-[:SUBJECT_OF]->() }) AS bv,
       elementId(n) AS e
""")

# every relationship of @rels at the frontier nodes (element IDs $eids), both directions,
# with the far node's label, element ID and blocked / violating flags
EXPAND = _static("""
UNWIND $eids AS e
MATCH (a) WHERE elementId(a) = e
MATCH (a)-[r:@rels]-(b)
RETURN a.id AS a, r.id AS r, type(r) AS t, b.id AS b, labels(b)[0] AS bl,
       (COUNT { (b)-[:@network]-() } > $cap
        OR ((b:Address OR b:Phone) AND any(k IN [b.id, b.label, b.address_std, b.phone]
                                           WHERE k IS NOT NULL AND k IN $wl))) AS bb,
       ((b:Enterprise OR b:Person) AND EXISTS { (b)-[:SUBJECT_OF]->() }) AS bv,
       elementId(b) AS be
""")

# the kept nodes of a neighbourhood (label @label) as graph nodes
NEIGHBOURHOOD_NODES = """
UNWIND $ids AS i
MATCH (n:@label {id: i})
RETURN n.id AS id, labels(n)[0] AS kind,
       CASE WHEN n:Enterprise OR n:Person THEN coalesce(n.name, n.id)
            WHEN n:Address OR n:Phone THEN coalesce(n.label, n.id)
            ELSE coalesce(n.category, labels(n)[0]) END AS label,
       n.risk_level AS risk_level, EXISTS { (n)-[:SUBJECT_OF]->() } AS violating,
       CASE WHEN n:Enterprise OR n:Person OR n:Address OR n:Phone THEN null
            ELSE toString(n.date) END AS date
"""

# a walked neighbourhood's kept nodes and their relationships of @rels among them, in one
# round trip: the nodes sought by their element IDs $eids (whatever their labels), the edges
# from each to kept nodes $kept (IDs)
NEIGHBOURHOOD = """
UNWIND $eids AS e
MATCH (n) WHERE elementId(n) = e
RETURN n.id AS id, labels(n)[0] AS kind,
       CASE WHEN n:Enterprise OR n:Person THEN coalesce(n.name, n.id)
            WHEN n:Address OR n:Phone THEN coalesce(n.label, n.id)
            ELSE coalesce(n.category, labels(n)[0]) END AS label,
       n.risk_level AS risk_level, EXISTS { (n)-[:SUBJECT_OF]->() } AS violating,
       CASE WHEN n:Enterprise OR n:Person OR n:Address OR n:Phone THEN null
            ELSE toString(n.date) END AS date,
       COLLECT {
         MATCH (n)-[r:@rels]->(b) WHERE b.id IN $kept
         RETURN {id: r.id, type: type(r), source: n.id, target: b.id, share_pct: r.share_pct,
                 start_date: toString(r.start_date)}
       } AS out
"""

# Exposure: one query per BFS level. A level's row is a newly reached node `b` with its best
# parent `m` = min over its parents of [parent rank, relationship ID, parent id, type, parent
# element ID] (the first shortest path in path ordering). The first level starts from the
# node $id (label @label); later levels from `$front` = [element ID, rank, id] of the expanded
# nodes, skipping `$seen` = {element ID: true} of the nodes already reached. A level that is
# not the last also returns each node's degree and whitelist flag (to decide its expansion);
# the last returns only violating nodes. Violating nodes come with their summary `s` and the
# labels of their events `ev`.
EXPOSURE_FIRST_LEVEL = _static("""
MATCH (a:@label {id: $id})
WITH a, [elementId(a), 0, a.id] AS f
MATCH (a)-[r:@network]-(b) WHERE b <> a
WITH b, min([f[1], r.id, f[2], type(r), f[0]]) AS m
WITH b, m, ((b:Enterprise OR b:Person) AND EXISTS { (b)-[:SUBJECT_OF]->() }) AS bv
RETURN b.id AS id, elementId(b) AS e, m[2] AS p, m[4] AS pe, m[1] AS r, m[3] AS t,
       CASE WHEN bv THEN b {entity_id: b.id, kind: labels(b)[0], name: coalesce(b.name, b.id),
                            .uscc, .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (b)-[:SUBJECT_OF]->() }} END AS s,
       CASE WHEN bv THEN COLLECT { MATCH (b)-[:SUBJECT_OF]->(e) RETURN DISTINCT labels(e)[0] }
            ELSE [] END AS ev,
       COUNT { (b)-[:@network]-() } AS deg,
       ((b:Address OR b:Phone) AND any(k IN [b.id, b.label, b.address_std, b.phone]
                                       WHERE k IS NOT NULL AND k IN $wl)) AS wl
""")

EXPOSURE_ONLY_LEVEL = _static("""
MATCH (a:@label {id: $id})
WITH a, [elementId(a), 0, a.id] AS f
MATCH (a)-[r:@network]-(b) WHERE b <> a
WITH b, min([f[1], r.id, f[2], type(r), f[0]]) AS m
WHERE ((b:Enterprise OR b:Person) AND EXISTS { (b)-[:SUBJECT_OF]->() })
RETURN b.id AS id, m[2] AS p, m[4] AS pe, m[1] AS r, m[3] AS t,
       b {entity_id: b.id, kind: labels(b)[0], name: coalesce(b.name, b.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (b)-[:SUBJECT_OF]->() }} AS s,
       COLLECT { MATCH (b)-[:SUBJECT_OF]->(e) RETURN DISTINCT labels(e)[0] } AS ev
""")

EXPOSURE_LEVEL = _static("""
UNWIND $front AS f
MATCH (a) WHERE elementId(a) = f[0]
MATCH (a)-[r:@network]-(b) WHERE $seen[elementId(b)] IS NULL
WITH b, min([f[1], r.id, f[2], type(r), f[0]]) AS m
WITH b, m, ((b:Enterprise OR b:Person) AND EXISTS { (b)-[:SUBJECT_OF]->() }) AS bv
RETURN b.id AS id, elementId(b) AS e, m[2] AS p, m[4] AS pe, m[1] AS r, m[3] AS t,
       CASE WHEN bv THEN b {entity_id: b.id, kind: labels(b)[0], name: coalesce(b.name, b.id),
                            .uscc, .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (b)-[:SUBJECT_OF]->() }} END AS s,
       CASE WHEN bv THEN COLLECT { MATCH (b)-[:SUBJECT_OF]->(e) RETURN DISTINCT labels(e)[0] }
            ELSE [] END AS ev,
       COUNT { (b)-[:@network]-() } AS deg,
       ((b:Address OR b:Phone) AND any(k IN [b.id, b.label, b.address_std, b.phone]
                                       WHERE k IS NOT NULL AND k IN $wl)) AS wl
""")

EXPOSURE_LAST_LEVEL = _static("""
UNWIND $front AS f
MATCH (a) WHERE elementId(a) = f[0]
MATCH (a)-[r:@network]-(b) WHERE $seen[elementId(b)] IS NULL
WITH b, min([f[1], r.id, f[2], type(r), f[0]]) AS m
WHERE ((b:Enterprise OR b:Person) AND EXISTS { (b)-[:SUBJECT_OF]->() })
RETURN b.id AS id, m[2] AS p, m[4] AS pe, m[1] AS r, m[3] AS t,
       b {entity_id: b.id, kind: labels(b)[0], name: coalesce(b.name, b.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (b)-[:SUBJECT_OF]->() }} AS s,
       COLLECT { MATCH (b)-[:SUBJECT_OF]->(e) RETURN DISTINCT labels(e)[0] } AS ev
""")

# Paths: element ID, network degree and whitelist flag of the nodes $ids (any label)
PATH_ROOTS = _static("""
UNWIND $ids AS i
CALL (i) {
  MATCH (n:Enterprise {id: i}) RETURN n
  UNION MATCH (n:Person {id: i}) RETURN n
  UNION MATCH (n:Address {id: i}) RETURN n
  UNION MATCH (n:Phone {id: i}) RETURN n
  UNION MATCH (n:Penalty {id: i}) RETURN n
  UNION MATCH (n:InspectionFailure {id: i}) RETURN n
  UNION MATCH (n:Blacklisting {id: i}) RETURN n
}
RETURN n.id AS id, elementId(n) AS e, COUNT { (n)-[:@network]-() } AS deg,
       ((n:Address OR n:Phone) AND any(k IN [n.id, n.label, n.address_std, n.phone]
                                       WHERE k IS NOT NULL AND k IN $wl)) AS wl,
       CASE WHEN $avoid AND (n:Address OR n:Phone)
            THEN COUNT { MATCH (n)<-[:LOCATED_AT|HAS_PHONE]-(x:Enterprise) RETURN DISTINCT x }
                 >= $hub_min
            ELSE false END AS hub
""")

# one level of the bidirectional path BFS over @rels: every new node (not in `$seen`) with
# all its parents in the frontier `$front` = [element ID, id] ([parent, relationship ID, type,
# parent is the relationship's start]), its network degree, whitelist flag and (with
# `$avoid`) hub flag: an Address / Phone of >= `$hub_min` enterprises (graph.policy)
PATH_LEVEL = _static("""
UNWIND $front AS f
MATCH (a) WHERE elementId(a) = f[0]
MATCH (a)-[r:@rels]-(b) WHERE $seen[elementId(b)] IS NULL
WITH b, collect([f[1], r.id, type(r), startNode(r) = a]) AS ps
RETURN b.id AS id, elementId(b) AS e, ps, COUNT { (b)-[:@network]-() } AS deg,
       ((b:Address OR b:Phone) AND any(k IN [b.id, b.label, b.address_std, b.phone]
                                       WHERE k IS NOT NULL AND k IN $wl)) AS wl,
       CASE WHEN $avoid AND (b:Address OR b:Phone)
            THEN COUNT { MATCH (b)<-[:LOCATED_AT|HAS_PHONE]-(x:Enterprise) RETURN DISTINCT x }
                 >= $hub_min
            ELSE false END AS hub
""")

# --- the risk catalogue (graph.neo4j.catalogue) ----------------------------------------------

SHARED_CONTROLLERS = _static("""
MATCH (c:Enterprise|Person)-[r:@control]->(f:Enterprise)
WHERE EXISTS { (f)-[:SUBJECT_OF]->() }
WITH c, f, collect(DISTINCT type(r)) AS roles
WITH c, f, roles,
     COLLECT {
       MATCH (f)-[:SUBJECT_OF]->(e)
       RETURN {event_id: e.id,
               type: CASE WHEN e:Penalty THEN 'PENALTY'
                          WHEN e:InspectionFailure THEN 'INSPECTION_FAILURE'
                          WHEN e:Blacklisting THEN 'BLACKLISTING' END,
               date: e.date, category: e.category, amount: e.amount,
               description: e.description, source: e.source, record_id: e.record_id}
     } AS events
WITH c, collect({entity_id: f.id, name: coalesce(f.name, f.id), roles: roles,
                 events: events}) AS firms, sum(size(events)) AS n_events
WHERE size(firms) >= $min_firms
RETURN c {entity_id: c.id, kind: labels(c)[0], name: coalesce(c.name, c.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (c)-[:SUBJECT_OF]->() }} AS controller,
       firms, size(firms) AS n_firms, n_events
ORDER BY n_firms DESC, n_events DESC, c.id ASC
LIMIT $limit
""")

# predecessor p (status containing one of $status, penalising event dates), the tying node x
# (not blocked) and each successor s established on or after one of those dates
PHOENIX = _static("""
MATCH (p:Enterprise)
WHERE p.status IS NOT NULL AND any(k IN $status WHERE toLower(p.status) CONTAINS k)
WITH p, [(p)-[:SUBJECT_OF]->(ev) WHERE (ev:Penalty OR ev:Blacklisting)
         AND ev.date IS NOT NULL | ev.date] AS dates
WHERE size(dates) > 0
CALL (p) {
    MATCH (p)<-[:LEGAL_REP_OF]-(x:Person)
    WHERE NOT (COUNT { (x)-[:@network]-() } > $cap
               OR ((x:Address OR x:Phone) AND any(k IN [x.id, x.label, x.address_std, x.phone]
                                                  WHERE k IS NOT NULL AND k IN $wl)))
    MATCH (x)-[:LEGAL_REP_OF]->(s:Enterprise) WHERE s <> p
    RETURN s, x, 'legal_rep' AS kind
  UNION
    MATCH (p)<-[:SHAREHOLDER_OF]-(x)
    WHERE NOT (COUNT { (x)-[:@network]-() } > $cap
               OR ((x:Address OR x:Phone) AND any(k IN [x.id, x.label, x.address_std, x.phone]
                                                  WHERE k IS NOT NULL AND k IN $wl)))
    MATCH (x)-[:SHAREHOLDER_OF]->(s:Enterprise) WHERE s <> p
    RETURN s, x, 'shareholder' AS kind
  UNION
    MATCH (p)-[:LOCATED_AT]->(x:Address)
    WHERE NOT (COUNT { (x)-[:@network]-() } > $cap
               OR ((x:Address OR x:Phone) AND any(k IN [x.id, x.label, x.address_std, x.phone]
                                                  WHERE k IS NOT NULL AND k IN $wl)))
    MATCH (x)<-[:LOCATED_AT]-(s:Enterprise) WHERE s <> p
    RETURN s, x, 'address' AS kind
}
WITH p, s, x, kind, [d IN dates WHERE s.established IS NOT NULL
                     AND d <= s.established] AS before
WHERE size(before) > 0
RETURN p {entity_id: p.id, kind: labels(p)[0], name: coalesce(p.name, p.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (p)-[:SUBJECT_OF]->() }} AS pre,
       s {entity_id: s.id, kind: labels(s)[0], name: coalesce(s.name, s.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (s)-[:SUBJECT_OF]->() }} AS suc,
       kind, x.id AS via,
       reduce(m = before[0], d IN before | CASE WHEN d > m THEN d ELSE m END) AS pdate,
       s.established AS est
""")

HUBS = """
MATCH (h:Address|Phone)<-[:LOCATED_AT|HAS_PHONE]-(e:Enterprise)
WITH h, collect(DISTINCT e) AS firms
WHERE size(firms) >= $min
WITH h, firms,
     ((h:Address OR h:Phone) AND any(k IN [h.id, h.label, h.address_std, h.phone]
                                     WHERE k IS NOT NULL AND k IN $wl)) AS whitelisted
WHERE $include OR NOT whitelisted
WITH h, firms, whitelisted,
     size([f IN firms WHERE EXISTS { (f)-[:SUBJECT_OF]->() }]) AS n_violating
RETURN h.id AS hub_id, labels(h)[0] AS kind, coalesce(h.label, h.id) AS label,
       size(firms) AS n_enterprises, n_violating, [f IN firms | f.id] AS enterprises,
       whitelisted
ORDER BY n_violating DESC, n_enterprises DESC, hub_id ASC
LIMIT $limit
"""

# cycles of 1..@hops SHAREHOLDER_OF relationships, each once: from its smallest node ID
# (a variable-length pattern takes no parameter: @hops is a validated int)
OWNERSHIP_CYCLES = """
MATCH p = (a:Enterprise)-[:SHAREHOLDER_OF*1..@hops]->(a)
WITH p, [n IN nodes(p) | n.id] AS ids
WHERE all(i IN ids[1..-1] WHERE i > ids[0])
RETURN ids[0..-1] AS nodes, [r IN relationships(p) | r.id] AS edges,
       [r IN relationships(p) | r.share_pct] AS shares
"""

# every ownership path of at most MAX_PATH_HOPS relationships with known shares up to $id,
# with the owners of its first node (to tell terminal owners)
OWNERSHIP_PATHS = fill("""
MATCH (t:Enterprise|Person {id: $id})
OPTIONAL MATCH p = (o)-[:SHAREHOLDER_OF*1..@hops]->(t)
WHERE all(r IN relationships(p) WHERE r.share_pct IS NOT NULL)
RETURN [n IN nodes(p) | n.id] AS nodes, [r IN relationships(p) | r.id] AS edges,
       [r IN relationships(p) | r.share_pct] AS shares, labels(o)[0] AS owner_label,
       [(x)-[r:SHAREHOLDER_OF]->(o) WHERE r.share_pct IS NOT NULL | x.id] AS owners_of_o
""", hops=MAX_PATH_HOPS)

# the legal representative with the smallest ID (an actual controller without owners)
LEGAL_REPRESENTATIVE = """
MATCH (p)-[:LEGAL_REP_OF]->(:Enterprise|Person {id: $id})
RETURN p {entity_id: p.id, kind: labels(p)[0], name: coalesce(p.name, p.id), .uscc,
          .customs_code, .id_number, .risk_level, .risk_score,
          violating: EXISTS { (p)-[:SUBJECT_OF]->() }} AS s
ORDER BY p.id
LIMIT 1
"""

# ring ties: each unblocked connector (a Person through a ring relationship, an Address or a
# Phone) with the 2..$ring_cap enterprises it ties
RING_TIES = _static("""
CALL () {
    MATCH (c:Person)
    WHERE NOT (COUNT { (c)-[:@network]-() } > $cap
               OR ((c:Address OR c:Phone) AND any(k IN [c.id, c.label, c.address_std, c.phone]
                                                  WHERE k IS NOT NULL AND k IN $wl)))
    MATCH (c)-[:@ring_person]-(e:Enterprise)
    RETURN c, e
  UNION
    MATCH (c:Address|Phone)
    WHERE NOT (COUNT { (c)-[:@network]-() } > $cap
               OR ((c:Address OR c:Phone) AND any(k IN [c.id, c.label, c.address_std, c.phone]
                                                  WHERE k IS NOT NULL AND k IN $wl)))
    MATCH (c)-[:@network]-(e:Enterprise)
    RETURN c, e
}
WITH c, collect(DISTINCT e.id) AS firms
WHERE 2 <= size(firms) <= $ring_cap
RETURN c.id AS connector, firms
""")

VIOLATING_ENTERPRISES = """
UNWIND $ids AS i
MATCH (e:Enterprise {id: i})
WHERE EXISTS { (e)-[:SUBJECT_OF]->() }
RETURN e.id AS id
"""
