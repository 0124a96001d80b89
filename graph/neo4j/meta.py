"""The meta node: the one node that says which run the graph holds and in what state.

`(:GuanlianMeta {id: 'current'})` holds `run_id`, `loaded_at`, `schema_version`, `status`
('ready' or 'loading'), `loading_run_id`, the run's `fingerprint` and folder (`run_dir`) and
its `nodes` / `relationships` counts. The loader writes it (graph.neo4j.loader); the store
reads it (`Neo4jStore.run_info`). Both take its label, key and read query from here, so the
reader never imports the writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from neo4j import Driver

META_LABEL = "GuanlianMeta"
META_ID = "current"

READ_META = """
MATCH (m:GuanlianMeta {id: $id})
RETURN properties(m) AS p
"""


@dataclass
class MetaState:
    run_id: str | None = None
    status: str | None = None
    loading_run_id: str | None = None
    loaded_at: str | None = None
    schema_version: int | None = None
    fingerprint: str | None = None
    run_dir: str | None = None  # the folder of the run it holds (its prepared rows)
    nodes: int = 0
    relationships: int = 0


def read_meta(driver: Driver, database: str | None = None) -> MetaState:
    """The meta node's fields (all None / 0 when the graph has no meta node)."""
    records, _, _ = driver.execute_query(READ_META, id=META_ID, database_=database)
    if not records:
        return MetaState()
    p = records[0]["p"]
    return MetaState(
        run_id=p.get("run_id"),
        status=p.get("status"),
        loading_run_id=p.get("loading_run_id"),
        loaded_at=p.get("loaded_at"),
        schema_version=p.get("schema_version"),
        fingerprint=p.get("fingerprint"),
        run_dir=p.get("run_dir"),
        nodes=int(p.get("nodes") or 0),
        relationships=int(p.get("relationships") or 0),
    )
