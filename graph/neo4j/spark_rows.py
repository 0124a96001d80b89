"""The run's graph rows (`RUN/graph/`, what `guanlian load` syncs and `--bulk` imports),
prepared by Spark: nothing of the run passes through the driver but the files' batches.

`prepare_rows_spark(run_dir, spark)` writes the same folder as `graph.neo4j.rows.prepare_rows`
(one Arrow IPC file per label / relationship type with its `_hash` column, and the manifest
with the run's fingerprint), with the same rows, properties and content hashes; only the
row order of the Address table differs (by ID here, by address there). What each table is
made of, as `graph.tables` / `graph.neo4j.rows.build_rows` derive it:

- Enterprise / Person: the entities with a district (their lowest mention ID's that has
  one), lists made empty where null (`mention_ids` sorted), the risk columns of
  `risk.parquet` joined by entity (the learned ones only where shipped), and the source
  records and evidence JSON of `rows.provenance` (DuckDB, the same SQL) built over one
  bucket of entities per Python call (`cogroup().applyInPandas`);
- Address / Phone: the entities' distinct `address_std` / `phone`; an address's province,
  city and district those of the lowest entity ID holding it;
- events: per type, with `mention_ids` = the event's mention;
- entity relationships: per type, both ends entities of the run;
- LOCATED_AT / HAS_PHONE: per entity with an address / phone, the sorted IDs of its
  mentions agreeing with it; IDs by `runfolder.ids` in vectorised UDFs;
- SUBJECT_OF: the events of entities of the run.

Each table is hashed per Arrow batch by `graph.neo4j.hash.table_hashes` (`mapInArrow`, the
loader's own function), sorted by ID and written by Spark as Parquet parts, which the driver
streams into the table's Arrow file batch by batch (`runfolder.parts.part_tables`: about 16
MB decoded at a time, however wide the rows). The relationships with an end that is no node
of the run (`dangling`, never loaded) are counted from the written parts by two semi-joins.

Still in one process after this: a load's diff and a bulk load's expected checksum read the
ID and hash columns of the prepared files (two short strings per element).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from graph import schema
from graph.neo4j.hash import HASH_PROP, PROP_TYPES, node_prefix, rel_prefix, table_hashes
from graph.neo4j.rows import (
    EVIDENCE_PROP,
    LEARNED_PROPS,
    LOADER_VERSION,
    PROVENANCE_EVIDENCE,
    PROVENANCE_MENTIONS,
    SOURCES_PROP,
    prepared_file,
    provenance,
    publish_prepared,
    run_fingerprint,
)
from linkage.spark.frames import checkpoint
from runfolder.folder import check_run, has_table
from runfolder.ids import DERIVED
from runfolder.parts import part_tables
from runfolder.schema import TABLES
from runfolder.spark_ids import id_udfs

log = logging.getLogger(__name__)

BUCKET_ENTITIES = 20_000  # entities whose provenance one Python call builds (about)
_RISK_COLUMNS = {"risk_score": "score", "risk_level": "level", "risk_reasons": "reasons"}
_PROVENANCE_SCHEMA = f"entity_id string, {SOURCES_PROP} string, {EVIDENCE_PROP} string"


def _sql() -> Any:
    from pyspark.sql import functions as F  # noqa: N812 - the pyspark convention

    return F


def spark_type(typ: pa.DataType) -> str:
    """The Spark DDL type of a prepared column's Arrow type."""
    if pa.types.is_list(typ):
        return f"array<{spark_type(typ.value_type)}>"
    for test, name in ((pa.types.is_string, "string"), (pa.types.is_float64, "double"),
                       (pa.types.is_int64, "bigint"), (pa.types.is_date32, "date"),
                       (pa.types.is_boolean, "boolean")):
        if test(typ):
            return name
    raise ValueError(f"no Spark type for the prepared column type {typ}")


def table_schema(columns: list[str]) -> pa.Schema:
    """A prepared table's Arrow schema: its columns typed as the loader types them."""
    return pa.schema([(c, PROP_TYPES[c]) for c in columns])


def _hashed(prefix: str, target: pa.Schema
            ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """`mapInArrow`: each batch typed as `target` with its `_hash` column appended."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            table = pa.Table.from_batches([batch]).cast(target)  # the frame's own columns
            hashes = pa.array(table_hashes(prefix, table), type=pa.string())
            yield from table.append_column(HASH_PROP, hashes).to_batches()

    return task


def _provenance_group(mentions: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """`applyInPandas`: the source records and evidence of one bucket's entities (a cogroup
    calls it for buckets with rows on at least one side)."""
    return provenance(mentions[list(PROVENANCE_MENTIONS)], evidence[list(PROVENANCE_EVIDENCE)])


class _Tables:
    """The run's tables as Spark DataFrames, and the UDFs of its derived IDs."""

    def __init__(self, spark: Any, run_dir: Path) -> None:
        self.spark, self.run_dir = spark, run_dir
        read = self.read
        self.mentions = read("mentions")
        self.entities = self._with_district(read("entities"))
        self.relations = read("relations")
        self.events = read("events")
        self.evidence = read("evidence")
        self.risk = read("risk") if has_table(run_dir, "risk") else None
        ids = id_udfs()
        self.value_id, self.relation_id = ids.value_id, ids.relation_id

    def read(self, name: str) -> Any:
        return self.spark.read.parquet(str(self.run_dir / TABLES[name].file))

    def _with_district(self, entities: Any) -> Any:
        """The entities with a district: their own, or (the contract's entities have none)
        that of their lowest mention ID with one, as `graph.tables` derives it."""
        if "district" in entities.columns:
            return entities
        F = _sql()
        district = (self.mentions.where(F.col("district").isNotNull())
                    .groupBy("entity_id")
                    .agg(F.min_by("district", "mention_id").alias("district")))
        return entities.join(district, "entity_id", "left")


def _list(column: str, *, sort: bool = False) -> Any:
    """A list column with null made empty (and sorted), as `graph.tables._lists`."""
    F = _sql()
    col = F.coalesce(F.col(column), F.array().cast("array<string>"))
    return (F.array_sort(col) if sort else col).alias(column)


def _one(column: str) -> Any:
    """A list of the one value of `column` (empty where null)."""
    F = _sql()
    return F.when(F.col(column).isNotNull(), F.array(F.col(column))).otherwise(
        F.array().cast("array<string>"))


def _entity_tables(t: _Tables) -> dict[str, tuple[Any, list[str]]]:
    F = _sql()
    ent = t.entities
    extra_names: list[str] = []
    if t.risk is not None and t.risk.limit(1).count():  # an empty risk table adds nothing
        risk = t.risk
        learned = ("learned_score" in risk.columns
                   and risk.where(F.col("learned_score").isNotNull()).limit(1).count() > 0)
        picked = [F.col(src).alias(prop) for prop, src in _RISK_COLUMNS.items()]
        if learned:
            picked += [F.col(p).alias(p) for p in LEARNED_PROPS]
        # the last row of a repeated entity stands (as `rows._risk`)
        order = F.monotonically_increasing_id()
        risk = risk.select(F.col("entity_id").cast("string").alias("entity_id"),
                           order.alias("_row"), *picked)
        last = risk.groupBy("entity_id").agg(F.max("_row").alias("_row"))
        risk = risk.join(last, ["entity_id", "_row"]).drop("_row")
        ent = ent.join(risk, "entity_id", "left")
        extra_names = [*(_RISK_COLUMNS), *(LEARNED_PROPS if learned else ())]
    n = t.read("entities").count()  # the file's own count (its metadata), no join
    buckets = max(int(t.spark.conf.get("spark.sql.shuffle.partitions")),
                  -(-n // BUCKET_ENTITIES), 1)

    def bucketed(frame: Any) -> Any:
        return frame.where(F.col("entity_id").isNotNull()).withColumn(
            "_b", F.pmod(F.hash("entity_id"), F.lit(buckets)))

    mentions = bucketed(t.mentions.select(*PROVENANCE_MENTIONS))
    evidence = bucketed(t.evidence.select(*PROVENANCE_EVIDENCE))
    prov = mentions.groupBy("_b").cogroup(evidence.groupBy("_b")).applyInPandas(
        _provenance_group, _PROVENANCE_SCHEMA)
    ent = ent.join(prov, "entity_id", "left")
    extra_names += [SOURCES_PROP, EVIDENCE_PROP]
    lists = {"mention_ids": _list("mention_ids", sort=True), "names": _list("names"),
             "sources": _list("sources")}
    out: dict[str, tuple[Any, list[str]]] = {}
    for kind, label in schema.ENTITY_LABEL_BY_KIND.items():
        props = [p for p in schema.NODE_TYPES[label].properties if p in ent.columns]
        columns = [schema.KEY, *props, *extra_names]
        frame = ent.where(F.col("kind") == kind).select(
            F.col("entity_id").alias(schema.KEY),
            *[lists.get(p, F.col(p)) for p in props], *extra_names)
        out[label] = (frame, columns)
    return out


def _value_nodes(t: _Tables) -> dict[str, tuple[Any, list[str]]]:
    from pyspark.sql import Window

    F = _sql()
    out: dict[str, tuple[Any, list[str]]] = {}
    for _, column, label in DERIVED:
        held = t.entities.where(F.col(column).isNotNull())
        if label == "Address":  # the lowest entity ID holding the address gives its place
            first = Window.partitionBy(column).orderBy("entity_id")
            held = held.withColumn("_n", F.row_number().over(first)).where(F.col("_n") == 1)
            extra = [F.col(c) for c in ("province", "city", "district")]
        else:
            held = held.select(column).distinct()
            extra = []
        frame = held.select(t.value_id[column](F.col(column)).alias(schema.KEY),
                            F.col(column).alias("label"), F.col(column), *extra)
        props = [p for p in schema.NODE_TYPES[label].properties if p in frame.columns]
        out[label] = (frame, [schema.KEY, *props])
    return out


def _event_nodes(t: _Tables) -> dict[str, tuple[Any, list[str]]]:
    F = _sql()
    ev = t.events.withColumn("mention_ids", _one("mention_id"))
    out: dict[str, tuple[Any, list[str]]] = {}
    for etype, label in schema.EVENT_LABEL_BY_TYPE.items():
        props = [p for p in schema.NODE_TYPES[label].properties if p in ev.columns]
        frame = ev.where(F.col("type") == etype).select(
            F.col("event_id").alias(schema.KEY), *props)
        out[label] = (frame, [schema.KEY, *props])
    return out


def _rel_tables(t: _Tables) -> dict[str, tuple[Any, list[str]]]:
    F = _sql()
    known = t.entities.select("entity_id")
    rel = (t.relations.join(known.withColumnRenamed("entity_id", "src"), "src", "left_semi")
           .join(known.withColumnRenamed("entity_id", "dst"), "dst", "left_semi"))
    lists = {"mention_ids": _list("mention_ids", sort=True), "sources": _list("sources")}
    base = [schema.KEY, "src", "dst"]
    out: dict[str, tuple[Any, list[str]]] = {}
    for rtype in schema.ENTITY_REL_TYPES:
        props = [p for p in schema.REL_TYPES[rtype].properties if p in rel.columns]
        frame = rel.where(F.col("type") == rtype).select(
            F.col("relation_id").alias(schema.KEY), "src", "dst",
            *[lists.get(p, F.col(p)) for p in props])
        out[rtype] = (frame, [*base, *props])
    for rtype, column, _ in DERIVED:
        held = t.entities.where(F.col(column).isNotNull()).select("entity_id", column)
        agree = (t.mentions.where(F.col(column).isNotNull() & F.col("entity_id").isNotNull())
                 .join(held, ["entity_id", column])
                 .groupBy("entity_id", column)
                 .agg(F.array_sort(F.collect_list("mention_id")).alias("mention_ids")))
        pairs = held.join(agree, ["entity_id", column], "left").select(
            F.col("entity_id").alias("src"), t.value_id[column](F.col(column)).alias("dst"),
            _list("mention_ids"))
        first = F.coalesce(F.element_at("mention_ids", 1), F.lit(""))
        frame = pairs.select(t.relation_id(F.lit(rtype), "src", "dst", first).alias(schema.KEY),
                             "src", "dst", "mention_ids")
        out[rtype] = (frame, [*base, "mention_ids"])
    ev = t.events.join(known, "entity_id", "left_semi").withColumn(
        "mention_ids", _one("mention_id"))
    first = F.coalesce(F.element_at("mention_ids", 1), F.lit(""))
    out["SUBJECT_OF"] = (ev.select(
        t.relation_id(F.lit("SUBJECT_OF"), "entity_id", "event_id", first).alias(schema.KEY),
        F.col("entity_id").alias("src"), F.col("event_id").alias("dst"), "mention_ids"),
        [*base, "mention_ids"])
    return out


def _write_table(frame: Any, columns: list[str], prefix: str, parts: Path,
                 target: Path) -> int:
    """The table hashed and sorted by ID on Spark, its parts streamed into `target`."""
    typed = table_schema(columns)
    out = typed.append(pa.field(HASH_PROP, pa.string()))
    ddl = ", ".join(f"`{f.name}` {spark_type(f.type)}" for f in out)
    # computed once: the sort samples its input, which would otherwise build the table twice
    hashed = checkpoint(frame.select(*columns).mapInArrow(_hashed(prefix, typed), ddl))
    hashed.orderBy(schema.KEY).write.mode("overwrite").parquet(str(parts))
    rows = 0
    with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, out) as writer:
        for table in part_tables(sorted(parts.glob("part-*.parquet")), out):
            writer.write_table(table)
            rows += table.num_rows
    return rows


def _dangling(spark: Any, nodes: list[Path], rels: list[Path]) -> int:
    """Relationships with an end that is no node of the run, from the written parts (their
    ID and end columns: nothing is derived again)."""
    F = _sql()
    ids = spark.read.parquet(*map(str, nodes)).select(F.col(schema.KEY).alias("nid")).distinct()
    ends = spark.read.parquet(*map(str, rels)).select("src", "dst")
    kept = (ends.join(ids.withColumnRenamed("nid", "src"), "src", "left_semi")
            .join(ids.withColumnRenamed("nid", "dst"), "dst", "left_semi"))
    return int(ends.count() - kept.count())


def prepare_rows_spark(run_dir: Path | str, spark: Any, *,
                       fingerprint: str | None = None) -> dict[str, Any]:
    """Prepare the run's graph rows on Spark into `RUN/graph/` (see the module docstring);
    returns the manifest written. `fingerprint`: the run's, when the caller has it."""
    started = time.perf_counter()
    run_dir = Path(run_dir)
    report = check_run(run_dir)
    run_id = str(report.get("run_id") or run_dir.name)
    fingerprint = fingerprint or run_fingerprint(run_dir)
    t = _Tables(spark, run_dir)
    nodes = {**_entity_tables(t), **_value_nodes(t), **_event_nodes(t)}
    rels = _rel_tables(t)
    labels = [label for label in schema.NODE_TYPES if label in nodes]
    types = [rtype for rtype in schema.REL_TYPES if rtype in rels]
    scratch = Path(tempfile.mkdtemp(prefix=".graph-spark-", dir=run_dir))
    build_seconds = time.perf_counter() - started
    manifest: dict[str, Any] = {}
    try:
        def write(tmp: Path) -> dict[str, Any]:
            tables: dict[str, dict[str, float]] = {}
            for kind, names, frames, prefix in (("nodes", labels, nodes, node_prefix),
                                                ("rels", types, rels, rel_prefix)):
                for name in names:
                    frame, columns = frames[name]
                    clock = time.perf_counter()
                    rows = _write_table(frame, columns, prefix(name), scratch / f"{kind}-{name}",
                                        tmp / prepared_file(kind, name))
                    tables[f"{kind}-{name}"] = {"rows": rows, "s": round(
                        time.perf_counter() - clock, 2)}
            log.info("graph rows on Spark: %s", json.dumps(tables))
            dangling = _dangling(spark, [scratch / f"nodes-{n}" for n in labels],
                                 [scratch / f"rels-{r}" for r in types])
            manifest.update({
                "fingerprint": fingerprint, "run_id": run_id, "loader_version": LOADER_VERSION,
                "dangling": dangling, "nodes": labels, "rels": types, "engine": "spark",
                "build_seconds": round(build_seconds, 2),
                "write_seconds": round(time.perf_counter() - started - build_seconds, 2),
                "tables": tables})
            return manifest

        publish_prepared(run_dir, write)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest
