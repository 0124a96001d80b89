"""u by random sampling in one query (`linkage.resolve.u_sampling`), on either engine:

- without pairs of one pre-cluster in the sample, it sets the u values Splink's own
  `estimate_u_using_random_sampling` sets (one query per comparison), level for level, on
  the same table and seed, and on Spark it runs fewer jobs;
- the pairs of one pre-cluster (known matches) are not counted: every record given a twin
  in its pre-cluster leaves every u as it was without the twins, while the same twins in
  pre-clusters of their own make the exact levels likelier.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from splink import Linker

from linkage.extract import extract
from linkage.resolve import blocking
from linkage.resolve.models import Kind, settings_dict
from linkage.resolve.pipeline import splink_table
from linkage.resolve.sampling import SAMPLE_KEY
from linkage.resolve.scoring import (
    U_CHUNKS,
    U_MIN_COUNT_PER_LEVEL,
    _frame_for_splink,
    make_db_api,
)
from linkage.resolve.u_sampling import KNOWN_MATCH, estimate_u_one_pass
from tests.linkage.test_link_spark import SMALL

KIND: Kind = "enterprise"
ENGINES = ["duckdb", pytest.param("spark", marks=[pytest.mark.slow, pytest.mark.spark])]


def _u_levels(linker: Any) -> list[tuple[str, str, Any, list[tuple[Any, str]]]]:
    """Every level's u (exact value, or Splink's 'not observed' text) and its training
    record, in model order."""
    return [(c.output_column_name, lv.label_for_charts, lv._u_probability,
             [(r["probability"], r["description"])
              for r in lv._trained_u_probabilities])
            for c in linker._settings_obj.comparisons for lv in c.comparison_levels]


def _table(rows: int | None) -> pd.DataFrame:
    """The small fixture's enterprise Splink rows (the first `rows`), each its own
    pre-cluster."""
    mentions = extract(SMALL).mentions
    table = splink_table(mentions, KIND, np.arange(len(mentions)))
    table = table.head(rows).copy() if rows is not None else table
    table[KNOWN_MATCH] = table["rid"]
    return table


class _Engine:
    """Linkers over a table on one engine; `done()` releases what it made."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self.made: list[Any] = []

    def linker(self, table: pd.DataFrame) -> tuple[Any, int, Any]:
        """(linker, rows, Spark job tracker or None)."""
        name = f"__guanlian_u_test_{uuid.uuid4().hex[:12]}"  # one Spark session for all
        if self.engine == "duckdb":
            db_api = make_db_api("duckdb")
            frame = _frame_for_splink(table, KIND)
            n, tracker = len(frame), None
        else:
            import linkage.resolve.spark as spark_engine
            from linkage.spark.splink import splink_input

            spark = spark_engine.spark_session(2)
            frame = splink_input(spark.createDataFrame(
                table.astype(object).where(table.notna(), None)), KIND).persist()
            self.made.append(frame)
            n, tracker = frame.count(), spark.sparkContext.statusTracker()
            db_api = spark_engine.spark_db_api(2)
        sdf = db_api.register(frame, table_name=name)
        linker = Linker(sdf, settings_dict(KIND, blocking.predict_rules(KIND)),
                        log_level=logging.ERROR)
        return linker, n, tracker

    def jobs(self, tracker: Any, group: str) -> int:
        return len(tracker.getJobIdsForGroup(group)) if tracker is not None else 0

    def group(self, name: str) -> None:
        if self.engine == "spark":
            import linkage.resolve.spark as spark_engine

            spark_engine.spark_session(2).sparkContext.setJobGroup(name, name)

    def done(self) -> None:
        self.group("")
        for frame in self.made:
            frame.unpersist()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[_Engine]:
    made = _Engine(request.param)
    yield made
    made.done()


# a sample of the small fixture; every record of 400 (proportion 1: all 79,800 pairs)
@pytest.mark.parametrize(("rows", "max_pairs"), [(None, 3e4), (400, 1e9)])
def test_one_query_gives_splinks_u_values(engine: _Engine, rows: int | None,
                                          max_pairs: float) -> None:
    assert (U_CHUNKS, U_MIN_COUNT_PER_LEVEL) == (1, None)  # what the one query stands for
    table = _table(rows)
    got, jobs = {}, {}
    for name in ("splink", "one_query"):
        linker, n, tracker = engine.linker(table)
        engine.group(f"u-{name}")
        if name == "splink":
            linker.training.estimate_u_using_random_sampling(
                max_pairs=max_pairs, seed=42, num_chunks=U_CHUNKS,
                min_count_per_level=U_MIN_COUNT_PER_LEVEL)
        else:
            estimate_u_one_pass(linker, n, max_pairs=max_pairs, seed=42)
        jobs[name] = engine.jobs(tracker, f"u-{name}")
        got[name] = _u_levels(linker)
    assert got["one_query"] == got["splink"]
    estimated = [u for _, _, u, _ in got["splink"] if isinstance(u, float)]
    assert len(estimated) >= 10  # the equality is not vacuous: many levels were estimated
    if engine.engine == "spark":
        assert jobs["one_query"] < jobs["splink"] / 2, jobs


def _with_twins(table: pd.DataFrame, *, same_pre_cluster: bool) -> pd.DataFrame:
    """Every row twice: the twin has its own row ID and sample key, and the pre-cluster of
    its original or one of its own."""
    twins = table.copy()
    twins["rid"] = table["rid"] + len(table)
    twins[SAMPLE_KEY] = table[SAMPLE_KEY] + "~twin"
    twins[KNOWN_MATCH] = table[KNOWN_MATCH] if same_pre_cluster else twins["rid"]
    return pd.concat([table, twins], ignore_index=True)


def test_pairs_of_one_pre_cluster_are_not_counted(engine: _Engine) -> None:
    table = _table(300)  # 300 rows, 600 with twins: every pair in the sample (max_pairs 1e9)
    got = {}
    for name, frame in [("alone", table),
                        ("twins_known", _with_twins(table, same_pre_cluster=True)),
                        ("twins_unknown", _with_twins(table, same_pre_cluster=False))]:
        linker, n, _ = engine.linker(frame)
        estimate_u_one_pass(linker, n, max_pairs=1e9, seed=42)
        got[name] = {(c, label): u for c, label, u, _ in _u_levels(linker)}
    # each pair of different originals is counted four times with its twins, the pairs of a
    # record with its own twin not at all: the same proportions as the records alone
    assert got["twins_known"].keys() == got["alone"].keys()
    for level, u in got["alone"].items():
        if isinstance(u, float):
            assert got["twins_known"][level] == pytest.approx(u, rel=1e-12), level
        else:
            assert got["twins_known"][level] == u, level
    # counted as non-matches, the twins agree exactly on every field they have
    exact = [level for level in got["alone"] if "exact" in level[1].lower()
             and isinstance(got["alone"][level], float)]
    assert exact
    for level in exact:
        assert got["twins_unknown"][level] > got["alone"][level] * 1.5, level
