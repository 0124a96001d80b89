"""Every Cypher statement the loader runs, each written whole.

Holes (`@label`, `@type`, ...) are filled by `graph.neo4j.template.fill` with names checked
against `graph.schema`; values are parameters. Read queries are in `graph.neo4j.queries`.
"""

from __future__ import annotations

# --- schema setup (graph.neo4j.indexes) ------------------------------------------------

NODE_KEY_CONSTRAINT = """
CREATE CONSTRAINT @name IF NOT EXISTS FOR (n:@label) REQUIRE n.@key IS UNIQUE
"""

NODE_PROPERTY_INDEX = """
CREATE INDEX @name IF NOT EXISTS FOR (n:@label) ON (n.@prop)
"""

REL_KEY_CONSTRAINT = """
CREATE CONSTRAINT @name IF NOT EXISTS FOR ()-[r:@type]-() REQUIRE r.@key IS UNIQUE
"""

META_KEY_CONSTRAINT = """
CREATE CONSTRAINT meta_id IF NOT EXISTS FOR (n:GuanlianMeta) REQUIRE n.id IS UNIQUE
"""

# schema.FULLTEXT_INDEX over schema.FULLTEXT_PROPS of the entity labels
FULLTEXT_INDEX = """
CREATE FULLTEXT INDEX entity_names IF NOT EXISTS FOR (n:Enterprise|Person)
ON EACH [n.name, n.name_pinyin]
OPTIONS {indexConfig: {`fulltext.analyzer`: 'cjk'}}
"""

AWAIT_INDEXES = "CALL db.awaitIndexes(300)"

# --- the graph's current state (graph.neo4j.state) -------------------------------------

# (id, stored hash) of every element, as two collected lists in one record
NODE_HASHES = """
MATCH (n:@label)
RETURN collect(coalesce(n.id, '')) AS ids, collect(coalesce(n._hash, '')) AS hs
"""

REL_HASHES = """
MATCH ()-[r:@type]->()
RETURN collect(coalesce(r.id, '')) AS ids, collect(coalesce(r._hash, '')) AS hs
"""

# every element with its properties (graph.neo4j.hash: hashes recomputed from the content)
NODE_PROPERTIES = """
MATCH (n:@label)
RETURN properties(n) AS p
"""

REL_PROPERTIES = """
MATCH (a)-[r:@type]->(b)
RETURN a.id AS src, b.id AS dst, properties(r) AS p
"""

# graph_digest reads a label / type in slices of internal IDs [$lo, $hi): the property keys
# the slice's elements hold, then the values of those keys as one list per element. Each
# query in two forms, by `seek`: True looks the slice's IDs up one by one (a dense slice, as
# an import or a first load leaves them), False scans the label / type and filters (sparse
# IDs, where a seek would mostly try IDs of nothing or of other labels). A scan per slice
# reads the whole label again for every slice (3-15% of a large graph's digest time here).


def _in_range(text: str, var: str) -> dict[bool, str]:
    return {True: text.replace("@where", f"id({var}) IN range($lo, $hi - 1)"),
            False: text.replace("@where", f"$lo <= id({var}) < $hi")}


NODE_KEYS_IN_RANGE = _in_range("""
MATCH (n:@label) WHERE @where
UNWIND keys(n) AS k
RETURN collect(DISTINCT k) AS keys
""", "n")

NODE_VALUES_IN_RANGE = _in_range("""
MATCH (n:@label) WHERE @where
RETURN [k IN $keys | n[k]] AS v
""", "n")

REL_KEYS_IN_RANGE = _in_range("""
MATCH ()-[r:@type]->() WHERE @where
UNWIND keys(r) AS k
RETURN collect(DISTINCT k) AS keys
""", "r")

REL_VALUES_IN_RANGE = _in_range("""
MATCH (a)-[r:@type]->(b) WHERE @where
RETURN a.id AS src, b.id AS dst, [k IN $keys | r[k]] AS v
""", "r")

# lowest and highest internal ID and the number of elements of a label / type
NODE_ID_RANGE = """
MATCH (n:@label)
RETURN min(id(n)) AS lo, max(id(n)) AS hi, count(n) AS n
"""

REL_ID_RANGE = """
MATCH ()-[r:@type]->()
RETURN min(id(r)) AS lo, max(id(r)) AS hi, count(r) AS n
"""

# --- writing a diff (graph.neo4j.apply), in this order ---------------------------------

DELETE_RELS = """
UNWIND $rows AS id
MATCH ()-[r:@type {id: id}]->()
DELETE r
"""

DELETE_NODES = """
UNWIND $rows AS id
MATCH (n:@label {id: id})
DETACH DELETE n
"""

# a changed node: `SET n = row` replaces every property
UPSERT_NODES = """
UNWIND $rows AS row
MERGE (n:@label {id: row.id})
SET n = row
"""

# a node absent from the graph's state: no lookup (the uniqueness constraint on `id` still
# refuses a duplicate)
CREATE_NODES = """
UNWIND $rows AS row
CREATE (n:@label)
SET n = row
"""

CREATE_RELS = """
UNWIND $rows AS row
MATCH (a:@src {id: row.src})
MATCH (b:@dst {id: row.dst})
CREATE (a)-[r:@type]->(b)
SET r = row.p
"""

# --- the meta node (graph.neo4j.meta) --------------------------------------------------

MARK_LOADING = """
MERGE (m:GuanlianMeta {id: $id})
SET m.status = 'loading', m.loading_run_id = $run_id, m.schema_version = $schema_version
"""

SWITCH_META = """
MERGE (m:GuanlianMeta {id: $id})
SET m.run_id = $run_id, m.status = 'ready', m.loading_run_id = null,
    m.loaded_at = $loaded_at, m.schema_version = $schema_version,
    m.nodes = $nodes, m.relationships = $relationships, m.fingerprint = $fingerprint,
    m.run_dir = $run_dir
"""
