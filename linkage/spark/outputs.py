"""The run folder's tables built by Spark: the pandas builders of `linkage.resolve.outputs`
run per batch (mentions, events) or per bucket of whole entities / relations (entities,
relations) in the executors; evidence is plain DataFrame work, Splink features filled from
the predictions by `evidence.features_json` per batch."""

from __future__ import annotations

from typing import Any

import pandas as pd

from linkage.resolve import outputs as pandas_outputs
from linkage.resolve.evidence import features_json
from linkage.resolve.models import KINDS
from linkage.spark.frames import checkpoint, plain
from runfolder.schema import ENTITIES, EVENTS, EVIDENCE, MENTIONS, RELATIONS, RUN_ID, TableSpec

BUCKET_ROWS = 50_000  # rows per Python call, on average
EVIDENCE_KEYS = ("entity_id", "ml", "mr", "match_weight", "match_probability", "method")


def spark_schema(spec: TableSpec, extra: str = "") -> str:
    """The table's columns (without `run_id`) as a Spark DDL schema."""
    from pyspark.sql.pandas.types import from_arrow_type

    cols = [f"`{f.name}` {from_arrow_type(f.type).simpleString()}" for f in spec.fields
            if f.name != RUN_ID]
    return ", ".join(cols + ([extra] if extra else []))


def _buckets(frame: Any) -> int:
    return max(1, -(-frame.count() // BUCKET_ROWS))


def mentions_table(mentions: Any) -> Any:
    """`mentions` (with `i` and `entity_id`) -> the mentions table (plus `i`)."""
    def build(batches: Any) -> Any:
        for batch in batches:
            out = pandas_outputs.mentions_table(batch, batch["entity_id"].to_numpy())
            out["i"] = batch["i"].to_numpy()
            yield plain(out)

    return mentions.mapInPandas(build, spark_schema(MENTIONS, "i long"))


def entities_table(m_table: Any) -> Any:
    """One row per entity, sorted by ID (`outputs.entities_table` per bucket of entities)."""
    from pyspark.sql import functions as F

    n = _buckets(m_table)
    cols = [c for c in MENTIONS.columns]
    keyed = m_table.select(*cols).withColumn(
        "bucket", F.abs(F.xxhash64("entity_id")) % n)

    def build(group: pd.DataFrame) -> pd.DataFrame:
        return plain(pandas_outputs.entities_table(group.drop(columns="bucket")))

    out = keyed.groupBy("bucket").applyInPandas(build, spark_schema(ENTITIES))
    return out.orderBy("entity_id")


def _entity_series(frame: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.Series:
    keys = pd.concat([frame[m] for m, _ in pairs], ignore_index=True).astype(str)
    values = pd.concat([frame[e] for _, e in pairs], ignore_index=True)
    series = pd.Series(values.to_numpy(dtype=object), index=keys.to_numpy())
    series = series[series.notna()]
    return series[~series.index.duplicated()]


def relations_table(relations: Any, entity_of: Any) -> Any:
    """Entity-level relations, sorted by (type, src, dst): `outputs.relations_table` per
    bucket of (type, src entity, dst entity)."""
    from pyspark.sql import functions as F

    src = entity_of.select(F.col("mention_id").alias("src_mention"),
                           F.col("entity_id").alias("_src"))
    dst = entity_of.select(F.col("mention_id").alias("dst_mention"),
                           F.col("entity_id").alias("_dst"))
    joined = relations.join(src, "src_mention").join(dst, "dst_mention")
    joined = checkpoint(joined.where(F.col("_src") != F.col("_dst")))  # counted, then read
    n = _buckets(joined)
    keyed = joined.withColumn("bucket", F.abs(F.xxhash64("type", "_src", "_dst")) % n)
    columns = relations.columns

    def build(group: pd.DataFrame) -> pd.DataFrame:
        series = _entity_series(group, [("src_mention", "_src"), ("dst_mention", "_dst")])
        return plain(pandas_outputs.relations_table(group[columns], series))

    out = keyed.groupBy("bucket").applyInPandas(build, spark_schema(RELATIONS))
    return out.orderBy("type", "src", "dst")


def events_table(events: Any, entity_of: Any) -> Any:
    """Events with their subject's entity, sorted by event ID."""
    from pyspark.sql import functions as F

    subject = entity_of.select(F.col("mention_id").alias("subject_mention"),
                               F.col("entity_id").alias("_entity"))
    joined = events.join(subject, "subject_mention")
    columns = events.columns

    def build(batches: Any) -> Any:
        for batch in batches:
            series = _entity_series(batch, [("subject_mention", "_entity")])
            yield plain(pandas_outputs.events_table(batch[columns], series))

    return joined.mapInPandas(build, spark_schema(EVENTS)).orderBy("event_id")


def evidence_table(resolution: Any, mentions: Any, named: Any) -> Any:
    """One row per accepted link, sorted by (entity_id, mention_id_l, mention_id_r)."""
    from pyspark.sql import functions as F

    links = resolution.links
    ids = mentions.select("i", "mention_id", "kind")
    frame = links.join(ids.select(F.col("i").alias("a"), F.col("mention_id").alias("ml"),
                                  "kind"), "a").join(
        ids.select(F.col("i").alias("b"), F.col("mention_id").alias("mr")), "b")
    frame = frame.join(named.select(F.col("i").alias("a"), "entity_id"), "a")
    filled = frame.where(F.col("method") != "splink").select(
        "entity_id", "ml", "mr", "match_weight", "match_probability", "method", "features")
    for kind in KINDS:
        scored = resolution.scored.get(kind)
        splink = frame.where((F.col("method") == "splink") & (F.col("kind") == kind))
        if scored is None:
            continue
        pred = scored.predictions.withColumnRenamed("match_weight", "_w").withColumnRenamed(
            "match_probability", "_p")
        joined = splink.drop("features").join(
            pred, (pred["rid_l"] == splink["a"]) & (pred["rid_r"] == splink["b"]))
        def build(batches: Any, kind: Any = kind) -> Any:
            for batch in batches:
                out = batch[list(EVIDENCE_KEYS)].copy()
                out["features"] = features_json(kind, batch)
                yield plain(out)

        filled = filled.unionByName(joined.mapInPandas(
            build, "entity_id string, ml string, mr string, match_weight double, "
                   "match_probability double, method string, features string"))
    swap = F.col("mr") < F.col("ml")
    out = filled.select(
        "entity_id",
        F.when(swap, F.col("mr")).otherwise(F.col("ml")).alias("mention_id_l"),
        F.when(swap, F.col("ml")).otherwise(F.col("mr")).alias("mention_id_r"),
        "match_weight", "match_probability", "method", "features")
    assert [c for c in out.columns] == list(EVIDENCE.columns)
    return out.orderBy("entity_id", "mention_id_l", "mention_id_r")
