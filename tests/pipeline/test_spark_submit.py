"""The cluster entry: `scripts/spark-link` runs `pipeline.submit` under a real `spark-submit`
(the one pyspark ships), whose master it takes instead of the project's own local session,
and writes a valid run folder whose counts reconcile like the CLI's; with `--score` the same
application scores it and prepares its graph rows on Spark (one job for the whole batch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest

from graph.neo4j.rows import is_prepared, run_fingerprint
from linkage.synth import generate
from runfolder.folder import read_table, validate_run

pytestmark = [pytest.mark.slow, pytest.mark.spark]
ROOT = Path(__file__).parents[2]


def test_spark_submit_entry_links_and_scores_with_the_submitted_master(tmp_path: Path) -> None:
    generate("tiny", 5, tmp_path / "data")
    out = tmp_path / "run"
    env = {**os.environ, "PYTHON": sys.executable, "GUANLIAN_SPARK_LOCAL_DIR": str(tmp_path)}
    env.pop("SPARK_HOME", None)  # the spark-submit next to this interpreter
    done = subprocess.run(
        [str(ROOT / "scripts" / "spark-link"), "--master", "local[1]",
         "--driver-memory", "1g", "--conf", "spark.sql.shuffle.partitions=2", "--",
         "--sources", str(tmp_path / "data" / "sources.yaml"), "--out", str(out), "--quiet",
         "--score"],
        env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["master"] == "local[1]"  # spark-submit's, not the project's local[2]
    assert line["run_dir"] == str(out) and line["entities"]["enterprise"] > 0
    validate_run(out)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["engine"] == "spark" and report["reconciled"]
    assert sum(report["mentions"].values()) == sum(
        c["mentions"] for c in report["sources"].values())
    # --score: the Spark score and graph rows, in the same application
    score = line["score"]
    assert score["engine"] == "spark" and score["entities"] == sum(line["entities"].values())
    risk = read_table(out, "risk")
    assert len(risk) == score["entities"] and set(risk["level"]) <= {"low", "medium", "high"}
    assert isinstance(score["graph_rows_seconds"], float)
    assert is_prepared(out, run_fingerprint(out))
    manifest = json.loads((out / "graph" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine"] == "spark"
