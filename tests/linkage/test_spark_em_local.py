"""Splink's EM iterations over the agreement-pattern counts run in its in-process DuckDB
(`linkage.resolve.spark.spark_db_api`), not as Spark jobs; the model and the predictions are
those of Splink's plain `SparkAPI` on the same Spark table."""

from __future__ import annotations

import numpy as np
import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest
from splink import SparkAPI

import linkage.resolve.spark as spark_engine
from linkage.extract import extract
from linkage.resolve.pipeline import splink_table
from linkage.spark.splink import train_and_score
from tests.linkage.test_link_spark import SMALL

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def _levels(model: dict) -> list[tuple[str, float, float]]:
    return [(c["output_column_name"], float(lv.get("m_probability") or 0.0),
             float(lv.get("u_probability") or 0.0))
            for c in model["comparisons"] for lv in c["comparison_levels"]]


def test_em_on_local_patterns_gives_the_spark_model(monkeypatch: pytest.MonkeyPatch) -> None:
    mentions = extract(SMALL).mentions
    table = splink_table(mentions, "person", np.arange(len(mentions)))
    table = table.iloc[: len(table) // 2].copy()  # half the people: the same comparison, sooner
    table["pc"] = table["rid"]
    spark = spark_engine.spark_session(2)
    frame = spark.createDataFrame(table.astype(object).where(table.notna(), None))
    tracker = spark.sparkContext.statusTracker()
    got, jobs = {}, {}
    for name, api in (("local", spark_engine._local_api_class()), ("spark", SparkAPI)):
        monkeypatch.setattr(spark_engine, "_local_api_class", lambda api=api: api)
        spark.catalog.dropTempView("__guanlian_person_records")
        group = f"em-{name}"
        spark.sparkContext.setJobGroup(group, group)
        got[name] = train_and_score("person", frame)
        jobs[name] = len(tracker.getJobIdsForGroup(group))
    spark.sparkContext.setJobGroup("", "")
    local, plain = got["local"], got["spark"]
    assert local.model["probability_two_random_records_match"] == pytest.approx(
        plain.model["probability_two_random_records_match"], rel=1e-9)
    for (name, m1, u1), (_, m2, u2) in zip(_levels(local.model), _levels(plain.model),
                                           strict=True):
        assert m1 == pytest.approx(m2, rel=1e-9, abs=1e-15), name
        assert u1 == pytest.approx(u2, rel=1e-9, abs=1e-15), name
    assert local.training_notes == plain.training_notes
    ours = local.predictions.toPandas().sort_values(["rid_l", "rid_r"], ignore_index=True)
    theirs = plain.predictions.toPandas().sort_values(["rid_l", "rid_r"], ignore_index=True)
    assert len(ours) == len(theirs) > 0
    assert (ours[["rid_l", "rid_r"]].to_numpy() == theirs[["rid_l", "rid_r"]].to_numpy()).all()
    assert np.allclose(ours["match_weight"], theirs["match_weight"], rtol=0, atol=1e-9)
    # each EM iteration was a dozen Spark jobs; now none
    assert jobs["local"] < jobs["spark"] - 20, jobs
