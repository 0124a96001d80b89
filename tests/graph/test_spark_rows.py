"""The graph rows prepared on Spark (`graph.neo4j.spark_rows`) are the pandas path's
(`graph.neo4j.rows.prepare_rows`): the same files, columns, types, rows and content hashes.

Real data: the hand-made tiny run, unscored and scored (risk columns on the entities);
`tests/risk/test_spark_score.py` compares the small fixture scored on Spark and
`tests/graph/test_neo4j_bulk.py` bulk-loads rows prepared here (with the learned score's
columns) against an online load of the pandas ones.

pyspark is imported at module level on purpose: without it (the `dev` extra) this file errors
instead of being skipped.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest

import tests.support.graph_fixture as tiny
from graph.neo4j.rows import MANIFEST, PREPARED_DIR, prepare_rows, prepared_file, read_arrow
from graph.neo4j.spark_rows import prepare_rows_spark, spark_type
from risk.config import RiskConfig
from risk.score import score_run
from tests.support.prepared import prepared_differences, unprepared_copy

pytestmark = [pytest.mark.slow, pytest.mark.spark]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from linkage.resolve.spark import spark_session

    yield spark_session(2)


def test_prepared_differences_names_what_changed(tmp_path: Path) -> None:
    run = tiny.build_tiny_run(tmp_path / "a")
    prepare_rows(run)
    other = unprepared_copy(run, tmp_path / "b")
    shutil.copytree(run / PREPARED_DIR, other / PREPARED_DIR)
    assert prepared_differences(run, other) == []
    path = other / PREPARED_DIR / prepared_file("nodes", "Enterprise")
    table = read_arrow(path)
    names = table["name"].to_pylist()
    names[0] = names[0] + "x"
    changed = table.set_column(table.schema.get_field_index("name"), "name",
                               pa.array(names, type=pa.string()))
    path.unlink()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, changed.schema) as w:
        w.write_table(changed)
    assert prepared_differences(run, other) == [f"nodes-Enterprise: {table['id'][0]}"]


@pytest.mark.parametrize("scored", [False, True], ids=["unscored", "scored"])
def test_spark_rows_equal_the_pandas_rows_on_tiny(spark: Any, tmp_path: Path,
                                                  scored: bool) -> None:
    run = tiny.build_tiny_run(tmp_path / "run")
    if scored:
        score_run(run, RiskConfig(hubs_whitelist=tiny.tiny_whitelist()))
    on_spark = unprepared_copy(run, tmp_path / "spark")
    prepare_rows(run)
    manifest = prepare_rows_spark(on_spark, spark)
    assert manifest["engine"] == "spark"
    assert manifest == json.loads((on_spark / PREPARED_DIR / MANIFEST).read_text())
    assert prepared_differences(run, on_spark) == []
    enterprise = read_arrow(on_spark / PREPARED_DIR / prepared_file("nodes", "Enterprise"))
    assert enterprise.num_rows > 0
    assert ("risk_reasons" in enterprise.schema.names) is scored
    assert enterprise["source_records"].null_count < enterprise.num_rows  # provenance built
    assert enterprise["id"].to_pylist() == sorted(enterprise["id"].to_pylist())
    assert not list(on_spark.glob(".graph-spark-*"))  # its scratch folder is gone


def test_spark_types_of_every_prepared_column() -> None:
    assert spark_type(pa.list_(pa.string())) == "array<string>"
    assert [spark_type(t) for t in (pa.string(), pa.float64(), pa.int64(), pa.date32())] == [
        "string", "double", "bigint", "date"]
    with pytest.raises(ValueError, match="no Spark type"):
        spark_type(pa.float16())
