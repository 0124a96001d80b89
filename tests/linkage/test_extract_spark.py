"""Extraction on Spark gives the pandas extraction's frames, row for row, and its counts.

Four inputs: the committed small fixture (a GBK source with undecodable bytes, JSON lines,
Parquet), the generator's `hard` noise profile (every kind of noise at once), an Excel
workbook with a title above its header and bad rows, and a hand-made
set of awkward files read in blocks of a few hundred bytes, so that quoted CSV fields span
lines and block boundaries, blank lines and bad rows fall at block edges, and JSON lines have
keys that first appear late.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest
from pyspark.sql import SparkSession

from linkage.errors import EncodingMismatch, SourceReadError
from linkage.extract import Extraction, extract
from linkage.resolve.spark import spark_session
from linkage.spark.ingest import PARTS, SparkExtraction, extract_spark, part_schema
from linkage.synth import generate
from tests.linkage.test_extract_composite_key import check_goods, write_goods
from tests.linkage.test_extract_shares import write_holders
from tests.linkage.test_extract_xlsx import ROWS, _mapping, _workbook, xls_workbook

pytestmark = [pytest.mark.slow, pytest.mark.spark]
SMALL = Path(__file__).parents[1] / "fixtures" / "small" / "sources.yaml"
SORT = {
    "mention": ["mention_id"],
    "relation": ["src_mention", "dst_mention", "type", "start_date"],
    "event": ["event_mention_id"],
    "quarantine": ["source", "row_number"],
    "malformed": ["source", "row_number", "field"],
    "dropped": ["source", "row_number", "role"],
}
FRAMES = {"mention": "mentions", "relation": "relations", "event": "events",
          "quarantine": "quarantine", "malformed": "malformed", "dropped": "dropped"}
SPARK_TYPE = {"str": "string", "boolean": "boolean", "bool": "boolean", "int64": "bigint",
              "float64": "double", "date32[day][pyarrow]": "date",
              "list<item: string>[pyarrow]": "array<string>"}


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = spark_session(2)
    yield session
    session.conf.unset("spark.sql.files.maxPartitionBytes")


def _value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):  # a numpy scalar (np.True_ has `tolist` too)
        return _value(v.item())
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_value(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)]
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return v


def _rows(frame: pd.DataFrame, part: str) -> list[tuple[Any, ...]]:
    columns = PARTS[part]
    rows = [tuple(_value(v) for v in row)
            for row in frame.reindex(columns=columns).itertuples(index=False, name=None)]
    keys = [columns.index(c) for c in SORT[part]]
    return sorted(rows, key=lambda r: tuple("" if r[k] is None else str(r[k]) for k in keys))


def assert_same(pandas_x: Extraction, spark_x: SparkExtraction) -> None:
    assert spark_x.counts == pandas_x.counts
    for part, attr in FRAMES.items():
        expected = getattr(pandas_x, attr)
        frame = getattr(spark_x, attr)
        assert frame.columns == PARTS[part] == list(expected.columns), part
        assert frame.schema.simpleString() == part_schema(part).simpleString(), part
        for column, dtype in expected.dtypes.items():
            if len(expected) and str(dtype) != "object":
                assert frame.schema[column].dataType.simpleString() == SPARK_TYPE[str(dtype)], (
                    part, column, dtype)
        got = _rows(frame.toPandas(), part)
        want = _rows(expected, part)
        assert len(got) == len(want), part
        for g, w in zip(got, want, strict=True):
            assert g == w, (part, dict(zip(PARTS[part], zip(g, w, strict=True), strict=True)))


@contextmanager
def both_engines(spark: SparkSession, sources: Path, block_bytes: int | None = None
                 ) -> Iterator[tuple[Extraction, SparkExtraction]]:
    """The pandas and the Spark extraction of `sources` (Spark reading file blocks of
    `block_bytes`), for the caller's checks; then `assert_same`."""
    if block_bytes is not None:
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(block_bytes))
    try:
        spark_x = extract_spark(sources, spark)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    try:
        pandas_x = extract(sources)
        yield pandas_x, spark_x
        assert_same(pandas_x, spark_x)
    finally:
        spark_x.unpersist()


def test_small_fixture_same_as_pandas(spark: SparkSession) -> None:
    spark_x = extract_spark(SMALL, spark)
    try:
        pandas_x = extract(SMALL)
        assert pandas_x.quarantine["reason"].str.contains("undecodable").any()  # GBK noise
        assert_same(pandas_x, spark_x)
    finally:
        spark_x.unpersist()


def test_hard_profile_same_as_pandas(spark: SparkSession, tmp_path: Path) -> None:
    generate("small", 3, tmp_path, profile="hard")
    spark_x = extract_spark(tmp_path / "sources.yaml", spark)
    try:
        assert_same(extract(tmp_path / "sources.yaml"), spark_x)
    finally:
        spark_x.unpersist()


@pytest.mark.parametrize("old", [False, True])
def test_workbook_same_as_pandas(spark: SparkSession, tmp_path: Path, old: bool) -> None:
    """An Excel source, .xlsx or 97-2003 .xls (staged by the driver as Parquet): the same
    rows, bad rows and quarantine reasons as the pandas reader's."""
    if old:
        xls_workbook(tmp_path / "penalties.xlsx", ROWS)  # the format is read from the bytes
    else:
        _workbook(tmp_path / "penalties.xlsx", ROWS)
    sources = _mapping(tmp_path, sheet="处罚决定", header_row=3)
    with both_engines(spark, sources) as (pandas_x, _):
        assert len(pandas_x.quarantine) == 2 and len(pandas_x.mentions) == 3


AWKWARD_YAML = """\
version: 1
sources:
  people:
    path: people.csv
    format: csv
    encoding: gb18030
    key: id
    mentions:
      person:
        kind: person
        required: [name]
        properties:
          name: {column: name}
          address: {column: address}
          birth_date: {column: born, on_error: "null"}
  firms:
    path: firms.jsonl
    format: jsonl
    encoding: gbk
    key: id
    mentions:
      firm:
        kind: enterprise
        required: [name]
        properties:
          name: {column: name}
          phone: {column: phone}
          established: {column: founded}
"""


def _awkward(folder: Path, title: str = "") -> Path:
    """The awkward files; `title`: lines written above the people's CSV header."""
    rows = [*title.splitlines(), "id,name,address,born"]
    for i in range(120):
        if i == 50:  # a quoted field longer than a block: blocks that lie inside one row
            long = "\n".join(f"第{j}行" for j in range(120))
            rows.append(f'P{i},周{i},"{long}",1980-01-01')
        elif i % 7 == 3:  # a quoted address over three lines
            rows.append(f'P{i},张{i}三,"北京市\n朝阳区\n""建国路"" {i}号",1980-01-0{i % 9 + 1}')
        elif i % 23 == 5:
            rows.append(f"P{i},李{i},only three")  # a field short
        elif i % 19 == 7:
            rows.append("")  # a blank line, not a row
            rows.append(f"P{i - 1},王{i},重复的键,1990-02-03")  # a repeated key
        elif i % 29 == 11:
            rows.append(f"P{i},赵{i},上海市,1990-13-45")  # a bad date left empty
        else:
            rows.append(f"P{i},陈{i}明,广州市天河区{i}号,1975-06-{i % 28 + 1:02d}")
    data = "\r\n".join(rows).encode("gb18030")
    data = data.replace("张3三".encode("gb18030"), b"\xff\xfe")  # undecodable bytes
    (folder / "people.csv").write_bytes(data + b'\r\nP999,"end,"no newline')
    lines = []
    for i in range(90):
        rec: dict[str, Any] = {"id": f"F{i}", "name": f"华{i}贸易有限公司"}
        if i > 60:
            rec["phone"] = "0755-8888" + f"{i:04d}" if i % 2 else "not a phone"
        if i > 70:
            rec["founded"] = 2001 if i % 3 else 2001.0
        lines.append(json.dumps(rec, ensure_ascii=False))
    lines[40] = '{"id": "F40", "name": broken'
    lines[50] = "[1, 2]"
    lines.insert(30, "   ")
    (folder / "firms.jsonl").write_bytes("\n".join(lines).encode("gbk") + b"\n")
    mapping = AWKWARD_YAML
    if title:
        header_row = f"    header_row: {len(title.splitlines()) + 1}\n"
        mapping = mapping.replace("    key: id\n", "    key: id\n" + header_row, 1)
    (folder / "sources.yaml").write_text(mapping, encoding="utf-8")
    return folder / "sources.yaml"


def test_awkward_files_in_small_blocks_same_as_pandas(spark: SparkSession,
                                                     tmp_path: Path) -> None:
    with both_engines(spark, _awkward(tmp_path), block_bytes=300) as (pandas_x, _):
        reasons = " ".join(pandas_x.quarantine["reason"])
        for why in ("undecodable bytes", "fields, the header has", "duplicate record key",
                    "not a JSON object", "unparseable row"):
            assert why in reasons
        assert len(pandas_x.malformed) > 0
        assert pandas_x.mentions["address"].str.contains("\n").any()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "xlsx"])
def test_composite_key_same_as_pandas(spark: SparkSession, tmp_path: Path, fmt: str) -> None:
    """`key: [报关单号, 项号]` read by Spark from each text and table format: the pandas
    records, duplicates and missing parts."""
    with both_engines(spark, write_goods(tmp_path, fmt)) as (pandas_x, _):
        check_goods(pandas_x)


def test_shares_written_as_fractions_same_as_pandas(spark: SparkSession,
                                                   tmp_path: Path) -> None:
    with both_engines(spark, write_holders(tmp_path, ["0.6", "0.4", "1"])) as (pandas_x,
                                                                              spark_x):
        assert pandas_x.fractions == spark_x.fractions == ["holders"]


TITLE = "某市市场监督管理局 人员名单\n导出日期：2026年12月1日\n"


def test_title_above_the_csv_header_in_small_blocks_same_as_pandas(spark: SparkSession,
                                                                   tmp_path: Path) -> None:
    """Lines above a CSV's header (`header_row`) are skipped by both readers: the rows, row
    numbers and quarantine are those of the same file without them."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "titled").mkdir()
    plain = extract(_awkward(tmp_path / "plain"))
    titled = _awkward(tmp_path / "titled", title=TITLE)
    with both_engines(spark, titled, block_bytes=300) as (pandas_x, _):
        for part in ("mentions", "quarantine", "malformed"):
            with_title, without = getattr(pandas_x, part), getattr(plain, part)
            assert len(with_title) == len(without) > 0
            assert with_title.drop(columns=["file"], errors="ignore").equals(
                without.drop(columns=["file"], errors="ignore"))


def test_title_past_the_first_block_on_spark_is_an_error(spark: SparkSession,
                                                         tmp_path: Path) -> None:
    sources = _awkward(tmp_path, title="标题" * 200 + "\n")
    extract(sources)  # the whole file is one read for pandas
    spark.conf.set("spark.sql.files.maxPartitionBytes", "300")
    try:
        with pytest.raises(SourceReadError, match="header_row 2: the lines above the header"):
            extract_spark(sources, spark)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")


def test_wrong_encoding_past_the_sample_fails_like_pandas(spark: SparkSession,
                                                          tmp_path: Path) -> None:
    # ASCII for the first 64 KiB the header check reads, then UTF-8 text declared GB18030
    rows = ["id,name,address,born"] + [f"P{i},Wang {i},Road {i},1980-01-01" for i in range(3000)]
    rows += [f"Q{i},王{i},北京市,1980-01-01" for i in range(5)]
    (tmp_path / "people.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "x").mkdir()
    _awkward(tmp_path / "x")
    (tmp_path / "firms.jsonl").write_bytes((tmp_path / "x" / "firms.jsonl").read_bytes())
    sources = tmp_path / "sources.yaml"
    sources.write_text(AWKWARD_YAML, encoding="utf-8")
    with pytest.raises(EncodingMismatch) as pandas_error:
        extract(sources)
    with pytest.raises(EncodingMismatch) as spark_error:
        extract_spark(sources, spark)
    assert "valid UTF-8" in str(pandas_error.value)
    assert str(spark_error.value) == str(pandas_error.value)


def write_oversized(folder: Path) -> Path:
    """A CSV and a JSON lines file, each with one cell longer than `MAX_CELL_CHARS` and (the
    CSV) a row with undecodable bytes: sources the run must go on past."""
    from linkage.readers import MAX_CELL_CHARS

    big = "长" * (MAX_CELL_CHARS + 1)
    rows = ["id,name,address,born", "P1,陈明,广州市,1975-06-01", f"P2,王芳,{big},1980-01-01",
            "P3,张伟,上海市,1990-02-03", "P4,李娜,北京市,1991-03-04"]
    data = "\n".join(rows).encode("gb18030").replace("李娜".encode("gb18030"), b"\xff\xfe")
    (folder / "people.csv").write_bytes(data + b"\n")
    firms = [{"id": "F1", "name": "华信贸易有限公司"},
             {"id": "F2", "name": "宏远食品有限公司", "phone": "9" * (MAX_CELL_CHARS + 5)},
             {"id": "F3", "name": "恒通电子有限公司", "phone": "0755-88880001",
              "founded": "2001"}]
    (folder / "firms.jsonl").write_bytes(
        "\n".join(json.dumps(f, ensure_ascii=False) for f in firms).encode("gbk") + b"\n")
    (folder / "sources.yaml").write_text(AWKWARD_YAML, encoding="utf-8")
    return folder / "sources.yaml"


def test_an_oversized_cell_quarantines_its_row_same_as_pandas(spark: SparkSession,
                                                              tmp_path: Path) -> None:
    with both_engines(spark, write_oversized(tmp_path)) as (pandas_x, _):
        q = pandas_x.quarantine.set_index("record_id")
        assert set(q.index) == {"P2", "P4", "F2"}  # each bad row named by its record key
        assert q.loc["P2", "field"] == "address" and q.loc["F2", "field"] == "phone"
        assert str(q.loc["P2", "reason"]).startswith("cell too large: 1,000,001 characters")
        assert len(str(q.loc["P2", "raw"])) < 1_000  # the quarantine keeps the cell's start
        assert q.loc["P4", "reason"] == "undecodable bytes"
        assert sorted(pandas_x.mentions["record_id"]) == ["F1", "F3", "P1", "P3"]
