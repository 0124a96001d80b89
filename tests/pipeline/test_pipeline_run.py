"""The pipeline end to end on generated data: link -> score -> prepare -> publish, into Neo4j
(the path an API rerun job takes with a Neo4j store) and as an embedded store."""

from __future__ import annotations

from pathlib import Path

import pytest
from neo4j import Driver

from graph.embedded.store import EmbeddedStore
from graph.neo4j.store import Neo4jStore
from pipeline.run import (
    EmbeddedTarget,
    Neo4jTarget,
    PipelineRequest,
    Stage,
    run_pipeline,
)
from risk.config import RiskConfig
from runfolder.folder import read_table, validate_run

pytestmark = pytest.mark.slow


def test_pipeline_publishes_to_neo4j_then_syncs_a_rerun(
    neo4j_clean: Driver, neo4j_target: Neo4jTarget, sources: Path, tmp_path: Path,
) -> None:
    target = neo4j_target
    stages: list[Stage] = []
    first = run_pipeline(PipelineRequest(sources=sources, run_dir=tmp_path / "run1",
                                         target=target), on_stage=stages.append)
    assert stages == ["linking", "scoring", "preparing", "publishing"]
    assert validate_run(first.run_dir)["run_id"] == first.run_id
    assert (first.run_dir / "graph" / "manifest.json").is_file()  # prepared before the load
    assert first.store is None and first.load_summary
    assert first.score["entities"] == len(read_table(first.run_dir, "risk"))
    store = Neo4jStore(neo4j_clean)
    assert store.run_info().run_id == first.run_id

    second = run_pipeline(PipelineRequest(sources=sources, run_dir=tmp_path / "run2",
                                          previous=first.run_dir, target=target))
    assert store.run_info().run_id == second.run_id != first.run_id
    # the rerun keeps every entity ID, so the graph holds the same entities
    ids = set(read_table(first.run_dir, "entities", ("entity_id",))["entity_id"])
    assert set(read_table(second.run_dir, "entities", ("entity_id",))["entity_id"]) == ids


def test_pipeline_builds_an_embedded_store_with_the_given_walk_policy(
    sources: Path, tmp_path: Path,
) -> None:
    stages: list[Stage] = []
    config = RiskConfig(degree_cap=7)
    result = run_pipeline(PipelineRequest(sources=sources, run_dir=tmp_path / "run",
                                          target=EmbeddedTarget(), risk_config=config),
                          on_stage=stages.append)
    assert stages == ["linking", "scoring", "publishing"]  # no Neo4j rows to prepare
    assert not (result.run_dir / "graph").exists()
    assert isinstance(result.store, EmbeddedStore)
    assert result.store.run_info().run_id == result.run_id
    assert result.store.net.degree_cap == 7


def test_link_with_score_is_link_then_score_in_one_process(sources: Path, tmp_path: Path) -> None:
    """`guanlian link --score`: the run linked, scored and its graph rows prepared, the same
    risk table as `guanlian score` run on it afterwards."""
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from api.cli import app
    from graph.neo4j.rows import is_prepared, run_fingerprint

    run = tmp_path / "run"
    done = CliRunner().invoke(app, ["link", "--sources", str(sources), "--out", str(run),
                                    "--score"])
    assert done.exit_code == 0, done.output
    line = json.loads(done.stdout.strip().splitlines()[-1])
    entities = sum(line["entities"].values())
    assert line["score"]["entities"] == entities and line["score"]["run_id"] == line["run_id"]
    assert is_prepared(run, run_fingerprint(run))
    together = read_table(run, "risk")
    assert len(together) == entities
    again = CliRunner().invoke(app, ["score", "--run", str(run), "--no-prepare-graph"])
    assert again.exit_code == 0, again.output
    pd.testing.assert_frame_equal(together, read_table(run, "risk"))


def test_a_spark_rerun_job_scores_and_prepares_on_spark(sources: Path, tmp_path: Path) -> None:
    """A rerun job with `GUANLIAN_LINK_ENGINE=spark` (`PipelineRequest.engine`): the score and
    the graph rows on Spark too (the link's session), not pandas in the API's process. The
    session outlives the job: a view an earlier link left under the name the link used to
    register its records with (the second Spark job of an API process failed on it) does not
    stop it, and the job leaves no view or cached data of its own behind."""
    import json

    from graph.neo4j.rows import is_prepared, run_fingerprint
    from linkage.resolve.spark import spark_session
    from risk.learned_run import LEARNED_REPORT

    spark = spark_session()
    for kind in ("enterprise", "person"):  # what a link before the fix left in the session
        spark.range(1).createOrReplaceTempView(f"__guanlian_{kind}_records")
    views = {t.name for t in spark.catalog.listTables() if t.isTemporary}
    cached = set(spark.sparkContext._jsc.getPersistentRDDs().keySet())
    stages: list[Stage] = []
    result = run_pipeline(PipelineRequest(sources=sources, run_dir=tmp_path / "run",
                                          engine="spark", target=EmbeddedTarget(),
                                          prepare_graph=True), on_stage=stages.append)
    assert stages == ["linking", "scoring", "preparing", "publishing"]
    assert result.score["engine"] == "spark"
    assert result.score["entities"] == len(read_table(result.run_dir, "risk"))
    learned = json.loads((result.run_dir / LEARNED_REPORT).read_text(encoding="utf-8"))
    assert learned["score"] == "rules"  # the learned score is not computed on Spark
    manifest = json.loads((result.run_dir / "graph" / "manifest.json").read_text())
    assert manifest["engine"] == "spark"
    assert is_prepared(result.run_dir, run_fingerprint(result.run_dir))
    assert isinstance(result.store, EmbeddedStore)
    assert result.store.run_info().run_id == result.run_id
    assert {t.name for t in spark.catalog.listTables() if t.isTemporary} == views
    assert set(spark.sparkContext._jsc.getPersistentRDDs().keySet()) <= cached
    for kind in ("enterprise", "person"):
        spark.catalog.dropTempView(f"__guanlian_{kind}_records")
