"""u by random sampling in one Spark query (`linkage.spark.u_sampling`) sets the u values
Splink's own `estimate_u_using_random_sampling` sets (one query per comparison), level for
level, on the same Spark table and seed; and it runs fewer Spark jobs."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest
from splink import Linker

import linkage.resolve.spark as spark_engine
from linkage.extract import extract
from linkage.resolve import blocking
from linkage.resolve.models import settings_dict
from linkage.resolve.pipeline import splink_table
from linkage.resolve.scoring import U_CHUNKS, U_MIN_COUNT_PER_LEVEL
from linkage.spark.splink import splink_input
from linkage.spark.u_sampling import estimate_u_one_pass
from tests.linkage.test_link_spark import SMALL

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def _u_levels(linker: Any) -> list[tuple[str, str, Any, list[tuple[Any, str]]]]:
    """Every level's u (exact value, or Splink's 'not observed' text) and its training
    record, in model order."""
    return [(c.output_column_name, lv.label_for_charts, lv._u_probability,
             [(r["probability"], r["description"])
              for r in lv._trained_u_probabilities])
            for c in linker._settings_obj.comparisons for lv in c.comparison_levels]


# a sample of the small fixture; every record of 400 (proportion 1: all 79,800 pairs)
@pytest.mark.parametrize(("rows", "max_pairs"), [(None, 3e4), (400, 1e9)])
def test_one_query_gives_splinks_u_values(rows: int | None, max_pairs: float) -> None:
    assert (U_CHUNKS, U_MIN_COUNT_PER_LEVEL) == (1, None)  # what the one query stands for
    mentions = extract(SMALL).mentions
    table = splink_table(mentions, "enterprise", np.arange(len(mentions)))
    table = table.head(rows) if rows is not None else table
    table["pc"] = table["rid"]
    spark = spark_engine.spark_session(2)
    frame = splink_input(spark.createDataFrame(
        table.astype(object).where(table.notna(), None)), "enterprise").persist()
    n = frame.count()
    tracker = spark.sparkContext.statusTracker()
    got, jobs = {}, {}
    for name in ("splink", "one_query"):
        db_api = spark_engine.spark_db_api(2)
        sdf = db_api.register(frame, table_name=f"__guanlian_u_{name}_{int(max_pairs)}")
        linker = Linker(sdf, settings_dict("enterprise", blocking.predict_rules("enterprise")),
                        log_level=logging.ERROR)
        group = f"u-{name}"
        spark.sparkContext.setJobGroup(group, group)
        if name == "splink":
            linker.training.estimate_u_using_random_sampling(
                max_pairs=max_pairs, seed=42, num_chunks=U_CHUNKS,
                min_count_per_level=U_MIN_COUNT_PER_LEVEL)
        else:
            estimate_u_one_pass(linker, n, max_pairs=max_pairs, seed=42)
        jobs[name] = len(tracker.getJobIdsForGroup(group))
        got[name] = _u_levels(linker)
    spark.sparkContext.setJobGroup("", "")
    frame.unpersist()
    assert got["one_query"] == got["splink"]
    estimated = [u for _, _, u, _ in got["splink"] if isinstance(u, float)]
    assert len(estimated) >= 10  # the equality is not vacuous: many levels were estimated
    assert jobs["one_query"] < jobs["splink"] / 2, jobs
