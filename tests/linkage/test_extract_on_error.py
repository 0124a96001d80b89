"""A value that cannot be read: left empty with a counted note (`on_error: null`, the default
for optional fields) or its row quarantined (`on_error: quarantine`, the default for required
ones); notes name the file, the row and the field, and the run report counts them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

from linkage.errors import MappingError
from linkage.extract import extract
from linkage.mapping import load_mapping
from linkage.resolve.report import render_html
from linkage.run import malformed_counts

HEADER = ["编号", "企业名称", "成立日期", "电话", "股东", "持股比例", "处罚日期", "罚款"]
ROWS = [
    ["R1", "上海华信贸易有限公司", "2015-03-01", "021-62381234", "张伟", "60%", "2023-01-02",
     "5万元"],
    ["R2", "宁波宏达贸易有限公司", "2015-13-45", "not a phone", "李娜", "六成", "2023-01-03",
     "很多"],
    ["R3", "青岛海汇水产品有限公司", "", "", "王强", "", "someday", ""],
    ["R4", "天津天成国际机电设备有限公司", "20\x0015-0\u200b3-99", "13800138000", "赵敏", "150%",
     "2023-01-05", ""],
]


def _mapping(established: dict[str, Any], share: dict[str, Any]) -> dict[str, Any]:
    return {"sources": {"registry": {
        "path": "registry.csv", "format": "csv", "key": "编号",
        "mentions": {
            "firm": {"kind": "enterprise", "required": ["name"],
                     "properties": {"name": "企业名称", "established": established,
                                    "phone": "电话"}},
            "holder": {"kind": "person", "required": ["name"], "properties": {"name": "股东"}},
        },
        "relations": [{"type": "SHAREHOLDER_OF", "src": "holder", "dst": "firm",
                       "share_pct": share}],
        "events": [{"type": "PENALTY", "subject": "firm", "date": "处罚日期",
                    "amount": "罚款", "filter": {"column": "处罚日期", "present": True}}],
    }}}


def _write(tmp: Path, mapping: dict[str, Any]) -> Path:
    with (tmp / "registry.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    (tmp / "sources.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True),
                                      encoding="utf-8")
    return tmp / "sources.yaml"


def test_optional_fields_default_to_null_with_a_note(tmp_path: Path) -> None:
    x = extract(_write(tmp_path, _mapping({"column": "成立日期"}, {"column": "持股比例"})))
    firms = x.mentions[x.mentions["role"] == "firm"].set_index("record_id")
    # the event date is required of an event: R3's undated penalty quarantines its row
    assert x.quarantine[["record_id", "field"]].values.tolist() == [["R3", "处罚日期"]]
    assert set(firms.index) == {"R1", "R2", "R4"}
    assert firms.loc["R1", "established"] is not None
    assert firms["established"].isna().loc[["R2", "R4"]].all()
    shares = x.relations.set_index("record_id")["share_pct"]
    assert shares.loc["R1"] == 60.0 and shares.isna().loc[["R2", "R4"]].all()  # 150% is no share
    notes = x.malformed
    got = list(zip(notes["record_id"], notes["field"], strict=True))
    assert len(got) == 6 and set(got) == {
        ("R2", "firm.phone"), ("R2", "成立日期"), ("R2", "罚款"), ("R2", "持股比例"),
        ("R4", "成立日期"), ("R4", "持股比例")}
    assert notes["file"].str.endswith("registry.csv").all()
    assert (notes["row_number"] > 0).all()
    reason = notes.set_index(["record_id", "field"])["reason"]
    assert "2015-13-45" in str(reason.loc[("R2", "成立日期")])
    assert "not a phone" in str(reason.loc[("R2", "firm.phone")])
    assert malformed_counts(notes) == {
        "registry": {"firm.phone": 1, "成立日期": 2, "持股比例": 2, "罚款": 1}}
    counts = x.counts["registry"]
    assert counts["rows_in"] == counts["rows_mapped"] + counts["rows_quarantined"] == 4


def test_quarantine_on_request_names_file_row_and_field(tmp_path: Path) -> None:
    mapping = _mapping({"column": "成立日期", "on_error": "quarantine"},
                       {"column": "持股比例", "on_error": "null"})
    x = extract(_write(tmp_path, mapping))
    q = x.quarantine.set_index("record_id")
    assert set(q.index) == {"R2", "R3", "R4"}
    assert q.loc["R2", "field"] == "成立日期"
    assert str(q.loc["R2", "reason"]).startswith(
        "bad date in mentions.firm.properties.established")
    assert str(q.loc["R2", "file"]).endswith("registry.csv")
    assert set(x.mentions["record_id"]) == {"R1"}
    assert malformed_counts(x.malformed) == {}  # R2 and R4 left with their quarantine only


def test_on_error_takes_null_or_quarantine_only(tmp_path: Path) -> None:
    path = _write(tmp_path, _mapping({"column": "成立日期", "on_error": "skip"},
                                     {"column": "持股比例"}))
    with pytest.raises(MappingError, match="on_error"):
        load_mapping(path)


def test_report_html_lists_the_values_left_empty() -> None:
    report: dict[str, Any] = {
        "run_id": "r1", "created_at": "2026-01-01T00:00:00", "engine": "duckdb",
        "entities": {"enterprise": 1}, "mentions": {"enterprise": 1},
        "sources": {"registry": {"rows_in": 1, "rows_mapped": 1, "rows_quarantined": 0,
                                 "mentions": 1}},
        "malformed_values": {"registry": {"成立日期": 2, "firm.phone": 1}},
        "resolution": {}, "timings": {}, "models": {},
    }
    page = render_html(report, {})
    assert "Values that could not be read" in page
    assert "<td>成立日期</td><td>2</td>" in page
    assert "Values that could not be read" not in render_html(
        {**report, "malformed_values": {}}, {})
