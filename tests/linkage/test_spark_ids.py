"""Stable IDs on Spark (`linkage.spark.ids`) equal `linkage.resolve.ids.assign_ids` on the
whole table: kept, merged, split (the split-off part re-minted with a salt), new and removed
entities, though each bucket of overlap components is named in its own pandas call."""

from __future__ import annotations

import pandas as pd
import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest

from linkage.resolve.ids import assign_ids
from linkage.resolve.spark import spark_session
from linkage.spark import ids as spark_ids

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def test_spark_ids_equal_the_whole_table_assignment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spark_ids, "BUCKET_ROWS", 4)  # several buckets on a tiny table
    mention_ids = [f"s:{n:03d}" for n in range(24)]
    kinds = ["enterprise"] * 12 + ["person"] * 12
    # clusters now (label = smallest index)
    labels = [0, 0, 0, 3, 3, 5, 5, 5, 8, 9, 9, 11, 12, 12, 14, 14, 14, 17, 18, 19, 19, 21,
              21, 23]
    old = assign_ids(pd.Series(mention_ids), pd.Series(kinds),
                     pd.Series([0, 0, 0, 0, 0, 5, 5, 7, 7, 9, 9, 11, 12, 12, 12, 15, 15, 15,
                                18, 19, 20, 21, 22, 22]).to_numpy())
    previous = pd.DataFrame({"mention_id": mention_ids, "entity_id": old.entity_of})
    previous = pd.concat([previous, pd.DataFrame({"mention_id": ["gone:1"],
                                                  "entity_id": ["Pffffffffffff"]})])
    whole = assign_ids(pd.Series(mention_ids), pd.Series(kinds), pd.Series(labels).to_numpy(),
                       previous)

    spark = spark_session(2)
    mentions = spark.createDataFrame(
        [(i, m, k) for i, (m, k) in enumerate(zip(mention_ids, kinds, strict=True))],
        "i long, mention_id string, kind string")
    label_frame = spark.createDataFrame(list(enumerate(labels)), "i long, label long")
    prev = spark.createDataFrame(previous)
    named, changes = spark_ids.entity_ids(spark, mentions, label_frame, prev)
    got = {r["i"]: r["entity_id"] for r in named.collect()}
    assert [got[i] for i in range(len(mention_ids))] == list(whole.entity_of)
    log = spark_ids.changelog(changes, prev).toPandas()
    expected = whole.changelog.assign(previous_ids=whole.changelog["previous_ids"].map(tuple))
    log = log.assign(previous_ids=log["previous_ids"].map(tuple))
    key = ["change", "entity_id", "previous_ids"]
    assert sorted(map(tuple, log[key].astype(str).to_numpy())) == sorted(
        map(tuple, expected[key].astype(str).to_numpy()))
    assert set(log["change"]) >= {"kept", "merged", "split", "removed"}
