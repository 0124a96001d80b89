"""The `--engine spark` bench harness (`bench.engines`): the Python driver bound kills a child
that passes it, stage windows are laid back from the child's exit, the link child's JSON is
read from its output, and the table carries both engines' counts."""

from __future__ import annotations

import sys

from bench.engines import Sampled, last_json, run_sampled, stage_figures, table_rows


def test_a_child_past_the_python_bound_is_killed_and_says_so() -> None:
    grow = "import time; b = b'x' * (400 * 2**20); time.sleep(60)"
    child = run_sampled([sys.executable, "-c", grow], python_max_mb=200)
    assert child.returncode != 0
    assert child.wall_s < 30
    assert "MB > 200 MB" in child.over_bound
    assert max(p for _, p, _ in child.samples) > 200


def test_a_child_under_the_bound_runs_and_its_last_json_is_read() -> None:
    script = ("import sys, json; print('noise {not json}'); print(json.dumps({'a': 1}, indent=1));"
              "print('x' * (50 * 2**20) and 'done', file=sys.stderr)")
    child = run_sampled([sys.executable, "-c", script], python_max_mb=2048)
    assert (child.returncode, child.over_bound) == (0, "")
    assert last_json(child.stdout) == {"a": 1}
    assert "done" in child.output
    assert last_json("Spark says hi\n{\n \"x\": [1, 2]\n}\n") == {"x": [1, 2]}
    assert last_json("no json here {") == {}


def test_stage_windows_are_laid_back_from_the_exit() -> None:
    child = Sampled(0, 10.0, "", [(t / 2, t * 5.0, 100.0 - t) for t in range(21)])
    stages = stage_figures(child, {"extract": 4.0, "resolve": 5.0})
    assert list(stages) == ["extract", "resolve"]
    assert stages["resolve"] == {"s": 5.0, "python_mb": 100, "jvm_mb": 90}  # [5, 10] s
    assert stages["extract"] == {"s": 4.0, "python_mb": 50, "jvm_mb": 98}  # [1, 5] s


def test_the_table_carries_ratios_f1_and_count_differences() -> None:
    duck = {"stages": {"extract": {"s": 2.0}}, "link_wall_s": 10.0, "f1_enterprise": 0.99,
            "counts": {"entities_enterprise": 100, "relations": 50}}
    spark = {"stages": {"extract": {"s": 3.0, "python_mb": 300, "jvm_mb": 700}},
             "link_wall_s": 30.0, "f1_enterprise": 0.989,
             "link_driver_python_maxrss_mib": 310, "link_driver_python_cpu_s": 12.5,
             "counts": {"entities_enterprise": 101, "relations": 50},
             "score": "not available"}
    result = {"duckdb": duck, "spark": spark, "ratio": {"extract": 1.5, "link_wall_s": 3.0},
              "f1_gap": {"f1_enterprise": 0.001}}
    rows = {r[0]: r for r in table_rows(result)}
    assert rows["extract"] == ("extract", "2.0 s", "3.0 s", "1.5", "py 300 MB / jvm 700 MB")
    assert rows["link (process)"][3] == "3.0"
    assert "py max 310 MiB, cpu 12.5 s" in rows["link (process)"][4]
    assert rows["score (process)"][2] == "not available"
    assert rows["entities_enterprise"][1:4] == ("100", "101", "diff +1")
    assert rows["relations"][3] == "diff +0"
    assert rows["f1_enterprise"][3] == "gap 0.001"
    assert "score: graph rows" not in rows  # neither engine's score said
    duck.update(score_wall_s=20.0, score_rules_s=5.0, score_graph_rows_s=8.0)
    spark.update(score_wall_s=60.0, score_rules_s=30.0, score_graph_rows_s=24.0)
    result["ratio"] = {"extract": 1.5, "link_wall_s": 3.0, "score_graph_rows_s": 3.0}
    rows = {r[0]: r for r in table_rows(result)}
    assert rows["score: graph rows"][1:4] == ("8.0 s", "24.0 s", "3.0")
    assert rows["score: rules"][1:3] == ("5.0 s", "30.0 s")
    assert "link --score (one process)" not in rows  # no batch run
    duck.update(end_to_end_s=30.0, batch_wall_s=28.0)
    spark.update(end_to_end_s=90.0, batch_wall_s=70.0, batch_python_peak_mb=400,
                 batch_jvm_peak_mb=1500)
    result["ratio"] = {"extract": 1.5, "link_wall_s": 3.0, "score_graph_rows_s": 3.0,
                       "end_to_end_s": 3.0, "batch_wall_s": 2.5}
    rows = {r[0]: r for r in table_rows(result)}
    assert rows["link + score (two processes)"][1:4] == ("30.0 s", "90.0 s", "3.0")
    assert rows["link --score (one process)"] == (
        "link --score (one process)", "28.0 s", "70.0 s", "2.5", "py 400 MB / jvm 1500 MB")
