"""A record key of several columns (`key: [报关单号, 项号]`): a customs declaration's goods
lines share its number, each line is a record of its own; a line missing a part of its key,
or repeating a whole key, is quarantined naming the key's columns."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from linkage.errors import MappingError
from linkage.extract import Extraction, extract
from linkage.mapping import join_key, load_mapping

HEADER = ["报关单号", "项号", "收发货人", "商品名称"]
ROWS = [
    ["220120231000000001", "1", "上海华信进出口贸易有限公司", "冻虾仁"],
    ["220120231000000001", "2", "上海华信进出口贸易有限公司", "冻鱿鱼"],
    ["531620231000000002", " 1 ", "深圳市鑫达电子有限公司", "电容器"],
    ["531620231000000002", "1", "深圳市鑫达电子有限公司", "电阻器"],  # the key again
    ["010120231000000003", "", "北京恒通化工有限公司", "甲醇"],  # a part missing
]
MAPPING = """\
version: 1
sources:
  customs:
    path: goods.{ext}
    format: {fmt}
    key: [报关单号, 项号]
    mentions:
      consignee:
        kind: enterprise
        required: [name]
        properties:
          name: {{column: 收发货人}}
"""


def write_goods(folder: Path, fmt: str) -> Path:
    """The goods lines as `fmt` (csv, jsonl, parquet, xlsx) and their mapping."""
    ext = fmt
    if fmt == "csv":
        text = "\n".join(",".join(r) for r in [HEADER, *ROWS]) + "\n"
        (folder / "goods.csv").write_text(text, encoding="utf-8")
    elif fmt == "jsonl":
        lines = [json.dumps(dict(zip(HEADER, r, strict=True)), ensure_ascii=False)
                 for r in ROWS]
        (folder / "goods.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for row in [HEADER, *ROWS]:
            sheet.append(row)
        book.save(folder / "goods.xlsx")
    else:
        pd.DataFrame(ROWS, columns=HEADER).to_parquet(folder / "goods.parquet")
    (folder / "sources.yaml").write_text(MAPPING.format(ext=ext, fmt=fmt), encoding="utf-8")
    return folder / "sources.yaml"


def check_goods(x: Extraction) -> None:
    assert x.mentions["record_id"].tolist() == [
        "220120231000000001|1", "220120231000000001|2", "531620231000000002|1"]
    q = x.quarantine.sort_values("row_number")
    assert q["row_number"].tolist() == [4, 5]
    assert q["field"].tolist() == ["报关单号+项号"] * 2
    assert q["reason"].tolist() == ["duplicate record key 531620231000000002|1 (first at row 3)",
                                    "missing record key"]
    counts = x.counts["customs"]
    assert counts["rows_in"] == 5 == counts["rows_mapped"] + counts["rows_quarantined"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "xlsx"])
def test_goods_lines_are_records_of_their_own(tmp_path: Path, fmt: str) -> None:
    check_goods(extract(write_goods(tmp_path, fmt)))


def test_a_key_of_one_column_in_a_list_is_that_column(tmp_path: Path) -> None:
    path = write_goods(tmp_path, "csv")
    path.write_text(path.read_text(encoding="utf-8").replace("[报关单号, 项号]", "[报关单号]"),
                    encoding="utf-8")
    assert load_mapping(path).sources["customs"].key == "报关单号"
    for bad in ("[]", "[报关单号, 报关单号]", '[报关单号, ""]'):
        path.write_text(MAPPING.format(ext="csv", fmt="csv").replace("[报关单号, 项号]", bad),
                        encoding="utf-8")
        with pytest.raises(MappingError, match="key"):
            load_mapping(path)


def test_join_key() -> None:
    assert join_key([" A1 "]) == "A1"
    assert join_key(["A1", " 2"]) == "A1|2"
    assert join_key(["A1", " "]) == ""
