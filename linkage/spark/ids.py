"""Stable entity IDs on Spark: `linkage.resolve.ids.assign_ids` per bucket of whole
components of the (cluster, previous entity) overlap graph.

Clusters that share no mention with a previous entity are their own component; a cluster
and the previous entities it overlaps (and their other clusters, and so on) are one
component, so the greedy pairing, the lineage (kept / merged / split) and the salted
re-minting of an ID taken by a split all happen inside one pandas call. Previous entities
with no mention left are `removed` (an anti-join). A minted ID can only collide across
buckets if two different smallest mention IDs hash alike (12 hex digits of SHA-1) or one
equals a salted previous ID of an unrelated entity; `entity_ids` checks that no two
clusters got one ID and fails loudly otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from linkage.resolve.ids import assign_ids
from linkage.spark.components import connected_components
from linkage.spark.frames import checkpoint, plain

BUCKET_ROWS = 50_000
ROWS_SCHEMA = ("row string, i long, entity_id string, change string, "
               "previous_ids array<string>")


def _assign(group: pd.DataFrame) -> pd.DataFrame:
    group = group.sort_values("i", kind="stable")
    prev = group[group["prev_entity"].notna()]
    previous = pd.DataFrame({"mention_id": prev["mention_id"].astype(str),
                             "entity_id": prev["prev_entity"].astype(str)}) if len(prev) \
        else None
    got = assign_ids(group["mention_id"], group["kind"], group["label"].to_numpy(), previous)
    rows = pd.DataFrame({"row": "mention", "i": group["i"].to_numpy(dtype=np.int64),
                         "entity_id": got.entity_of, "change": None, "previous_ids": None})
    log = got.changelog
    changes = pd.DataFrame({"row": "change", "i": np.full(len(log), -1, dtype=np.int64),
                            "entity_id": log["entity_id"].to_numpy(dtype=object),
                            "change": log["change"].to_numpy(dtype=object),
                            "previous_ids": [list(v) for v in log["previous_ids"]]})
    return plain(pd.concat([rows, changes], ignore_index=True))


def entity_ids(spark: Any, mentions: Any, labels: Any, previous: Any | None
               ) -> tuple[Any, Any]:
    """Per mention `i` its `entity_id` (a DataFrame `i`, `entity_id`) and one changelog row
    per cluster (`change`, `entity_id`, `previous_ids`)."""
    from pyspark.sql import functions as F

    frame = mentions.select("i", "mention_id", "kind").join(labels, "i")
    if previous is not None:
        prev = previous.select(F.col("mention_id"), F.col("entity_id").alias("prev_entity"))
        frame = frame.join(prev, "mention_id", "left")
        # previous entities as negative node IDs beside the (non-negative) cluster labels
        node = -(F.abs(F.xxhash64("prev_entity")) + 1)
        edges = frame.where(F.col("prev_entity").isNotNull()).select(
            F.col("label").alias("src"), node.alias("dst")).distinct()
        comps = connected_components(edges).select(F.col("node").alias("label"), "component")
        frame = frame.join(comps, "label", "left").withColumn(
            "component", F.coalesce("component", "label"))
    else:
        frame = frame.withColumn("prev_entity", F.lit(None).cast("string")).withColumn(
            "component", F.col("label"))
    n = max(1, -(-frame.count() // BUCKET_ROWS))
    keyed = frame.withColumn("bucket", F.abs(F.xxhash64("component")) % n).drop("component")
    rows = checkpoint(keyed.groupBy("bucket").applyInPandas(_assign, ROWS_SCHEMA))
    changes = rows.where(F.col("row") == "change").select("change", "entity_id",
                                                         "previous_ids")
    clusters = changes.count()
    distinct = changes.select("entity_id").distinct().count()
    if distinct != clusters:
        raise RuntimeError(f"{clusters - distinct} entity IDs minted twice across buckets")
    return rows.where(F.col("row") == "mention").select("i", "entity_id"), changes


def changelog(changes: Any, previous: Any | None) -> Any:
    """The changelog: one row per cluster (`new` / `kept` / `merged` / `split`), then one
    `removed` row per previous entity with no mention left."""
    from pyspark.sql import functions as F

    if previous is None:
        return changes.orderBy("entity_id")
    kept = changes.select(F.explode("previous_ids").alias("entity_id")).distinct()
    gone = previous.select("entity_id").distinct().join(kept, "entity_id", "left_anti")
    removed = gone.select(F.lit("removed").alias("change"),
                          F.lit(None).cast("string").alias("entity_id"),
                          F.array("entity_id").alias("previous_ids"))
    return changes.orderBy("entity_id").unionByName(removed)
