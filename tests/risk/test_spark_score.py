"""`guanlian score --engine spark` gives every entity the pandas engine's score, level and
reasons (`risk.spark_score`; the difference allowed is none: both engines compute the same
floats in the same order).

Real data: the small fixture (tests/fixtures/small) linked with DuckDB, scored with the
configured weights through the CLI (every rule fires on it); and the hand-made tiny run under
a configuration that exercises what the default one leaves off (three hops, the network cap,
a degree cap that blocks inner nodes, a whitelisted hub).

pyspark is imported at module level on purpose: without it (the `dev` extra) this file errors
instead of being skipped.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest
from typer.testing import CliRunner

import tests.support.graph_fixture as tiny
from api.cli import app
from graph.neo4j.rows import MANIFEST, PREPARED_DIR, prepare_rows
from graph.tables import load_run
from pipeline.run import link_step
from risk.config import RiskConfig, load_risk_config
from risk.learned_run import LEARNED_REPORT
from risk.score import compute_scores
from risk.spark_score import spark_score_run
from runfolder.folder import validate_run
from tests.support.prepared import prepared_differences, unprepared_copy

pytestmark = [pytest.mark.slow, pytest.mark.spark]
SMALL = Path(__file__).parents[1] / "fixtures" / "small" / "sources.yaml"
RULES = {"own_events", "blacklisting", "network_1", "network_2", "hub", "phoenix",
         "shared_controller"}
TINY_CFG = RiskConfig(hubs_whitelist=tiny.tiny_whitelist(), as_of=date(2024, 12, 31),
                      max_hops=3, network_cap=2.0, degree_cap=4)


def differing(pandas: pd.DataFrame, spark: pd.DataFrame) -> list[str]:
    """Entities whose score, level or reasons (the stored JSON text) differ between the two
    risk tables, or that only one of them has."""
    a, b = pandas.set_index("entity_id"), spark.set_index("entity_id")
    out = sorted(set(a.index) ^ set(b.index))
    both = a.index.intersection(b.index)
    for col in ("score", "level", "reasons", "run_id"):
        ne = a.loc[both, col].to_numpy() != b.loc[both, col].to_numpy()
        out += [str(e) for e in both[ne]]
    return sorted(set(out))


def test_differing_names_every_changed_entity() -> None:
    base = pd.DataFrame({"entity_id": ["e1", "e2", "e3"], "score": [1.0, 0.0, 2.5],
                         "level": ["low", "low", "low"], "reasons": ["[1]", "[]", "[2]"],
                         "run_id": "r"})
    assert differing(base, base.copy()) == []
    changed = base.assign(score=[1.0, 0.0, 2.5000001], reasons=["[1]", "[3]", "[2]"])
    assert differing(base, changed) == ["e2", "e3"]
    assert differing(base, base.iloc[:2]) == ["e3"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("spark-score") / "run"
    link_step(SMALL, run)
    return run


def test_cli_spark_engine_equals_pandas_on_small(small_run: Path, tmp_path: Path) -> None:
    pandas = compute_scores(load_run(small_run), load_risk_config())
    out = CliRunner().invoke(app, ["score", "--run", str(small_run), "--engine", "spark"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["engine"] == "spark" and summary["entities"] == len(pandas)
    assert summary["levels"] == {k: int((pandas["level"] == k).sum())
                                 for k in ("low", "medium", "high")}
    assert summary["max_score"] == pandas["score"].max()
    # the graph rows are prepared on Spark too, and they are the pandas path's
    assert summary["graph_rows_seconds"] > 0
    manifest = json.loads((small_run / PREPARED_DIR / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["engine"] == "spark" and manifest["dangling"] == 0
    on_pandas = unprepared_copy(small_run, tmp_path / "pandas")
    prepare_rows(on_pandas)
    assert prepared_differences(on_pandas, small_run) == []
    validate_run(small_run)  # the contract's risk.parquet
    spark = pd.read_parquet(small_run / "risk.parquet")
    assert list(spark["entity_id"]) == sorted(spark["entity_id"])
    rules = {r["rule"] for text in spark["reasons"] for r in json.loads(text)}
    assert rules == RULES  # every rule is compared, not only the network
    assert differing(pandas, spark) == []
    learned = json.loads((small_run / LEARNED_REPORT).read_text(encoding="utf-8"))
    assert learned["shipped"] is False and "--engine spark" in learned["note"]
    assert "learned_score" not in spark.columns


def test_spark_engine_equals_pandas_on_tiny_with_every_option(tmp_path: Path) -> None:
    run = tiny.build_tiny_run(tmp_path)
    pandas = compute_scores(load_run(run), TINY_CFG)
    # the options change the scores (else this test would repeat the small one)
    assert not pandas["score"].equals(compute_scores(load_run(run), RiskConfig(
        hubs_whitelist=TINY_CFG.hubs_whitelist, as_of=TINY_CFG.as_of))["score"])
    assert any(r["rule"] == "network_3" for text in pandas["reasons"]
               for r in json.loads(text))
    summary = spark_score_run(run, TINY_CFG)
    assert summary["as_of"] == "2024-12-31" and summary["entities"] == len(pandas)
    assert differing(pandas, pd.read_parquet(run / "risk.parquet")) == []
