"""A value written to say there is no value (NULL, \\N, #N/A, 无, 不详, -) is read as missing in
a mention's properties and identifiers and in every date and number, never as a name, an
address or a bad date; a relation's or an event's string stays as written."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from linkage.extract import extract
from linkage.standardise.missing import (
    WORDS,
    could_be_placeholder,
    is_placeholder,
    placeholders,
)
from linkage.synth.styles import PLACEHOLDERS


@pytest.mark.parametrize("value", [
    "NULL", "null", "Null", "\\N", "None", "NaN", "nil", "N/A", "n/a", "NA", "#N/A", "#VALUE!",
    "#REF!", "Unknown", "无", "暂无", "不详", "未知", "空", "没有", "不适用", "待定", "-", "--",
    "——", "/", "\\", ".", "...", "…", "?", "？", "***", "_", " - ", "（空）", "(无)", "[NULL]",
    "<null>", "【暂无】", "ＮＵＬＬ", "\u200bNULL", "NULL\ufeff", " 无 ",
    "同上", "（同上）", "同左", "见上", "〃", "Ditto",  # a hand-kept sheet's ditto
])
def test_placeholders_are_read_as_missing(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", [
    "", " ", "张伟", "无锡华信贸易有限公司", "空港物流有限公司", "王*", "张某某", "0", "00",
    "Na Li", "Nana", "NULL TRADING CO", "上海市浦东新区不详路1号", "N/A 张伟",
    "310101195311203938", "2023-01-02", "60%", "(有限合伙)", "（原名：华信贸易）",
    "同上贸易有限公司",
])
def test_values_that_hold_something_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)


def test_every_placeholder_the_generator_writes_is_read_as_missing() -> None:
    assert all(is_placeholder(p) for p in PLACEHOLDERS)
    assert placeholders(["张伟", *PLACEHOLDERS, ""]) == set(PLACEHOLDERS)


@given(st.text(max_size=30))
def test_any_text_is_judged_without_an_error(value: str) -> None:
    judged = is_placeholder(value)
    # spaces and invisible characters around a value do not change its judgement
    assert is_placeholder(f" \u200b{value}\ufeff ") == judged


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


_DRESSED = st.builds(
    lambda word, upper, wide, bracket, around: around + (
        (lambda w: _fullwidth(w) if wide else w)(
            bracket[0] + (word.upper() if upper else word) + bracket[1])) + around,
    st.sampled_from(sorted(WORDS) + ["-", "——", "/", "...", "?", "***"]),
    st.booleans(), st.booleans(),
    st.sampled_from([("", ""), ("(", ")"), ("（", "）"), ("[", "]"), ("【", "】")]),
    st.sampled_from(["", " ", "\u200b", "\ufeff", "\u3000", "\t"]))


@given(_DRESSED)
def test_a_dressed_placeholder_is_one_and_passes_the_vectorised_filter(value: str) -> None:
    assert is_placeholder(value)
    pattern = could_be_placeholder().pattern
    assert re.fullmatch(pattern, value)
    assert bool(pd.Series([value], dtype="str").str.fullmatch(pattern).iloc[0])  # pyarrow's


@given(st.text(max_size=20))
def test_the_vectorised_filter_never_drops_a_placeholder(value: str) -> None:
    if is_placeholder(value):
        assert re.fullmatch(could_be_placeholder().pattern, value)


def test_the_filter_keeps_identifiers_names_and_phones_out() -> None:
    values = pd.Series(["310101195311203938", "13812345678", "张伟", "上海华信贸易有限公司",
                        "91310000MA1000012X", "NULL", "（空）"], dtype="str")
    kept = values.str.fullmatch(could_be_placeholder().pattern).tolist()
    assert kept == [False] * 5 + [True, True]


HEADER = ["编号", "企业名称", "住所", "电话", "统一社会信用代码", "成立日期", "股东", "证件号码",
          "持股比例", "退出日期", "处罚日期", "罚款", "处罚结果"]
ROWS = [
    # every optional cell of the firm and the holder written as an export writes an empty one
    ["R1", "上海华信贸易有限公司", "NULL", "\\N", "#N/A", "NULL", "张伟", "无", "N/A", "NULL",
     "2023-01-02", "-", "无"],
    # the same words again, in another firm: nothing may agree on them
    ["R2", "宁波宏达贸易有限公司", "NULL", "\\N", "#N/A", "不详", "李娜", "无", "N/A", "NULL",
     "2023-01-03", "—", "N/A"],
    # names that say nothing: no mention of the firm (the row has no mention left: quarantined)
    # and no mention of the holder
    ["R3", "#N/A", "上海市浦东新区外高桥路93号", "021-62381234", "", "2015-03-01", "不详",
     "310101195311203938", "10%", "", "2023-01-04", "5000", ""],
    # a firm named, its holder not (the holder's mention is dropped, the firm kept)
    ["R4", "青岛海汇水产品有限公司", "（空）", "/", "", "2016-05-01", "NULL", "", "", "", "",
     "", ""],
]


def _write(tmp: Path) -> Path:
    with (tmp / "registry.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    mapping: dict[str, Any] = {"sources": {"registry": {
        "path": "registry.csv", "format": "csv", "key": "编号",
        "mentions": {
            "firm": {"kind": "enterprise", "required": ["name"],
                     "properties": {"name": "企业名称", "address": "住所", "phone": "电话",
                                    "uscc": "统一社会信用代码", "established": "成立日期"}},
            "holder": {"kind": "person", "required": ["name"],
                       "properties": {"name": "股东", "id_number": "证件号码"}},
        },
        "relations": [{"type": "SHAREHOLDER_OF", "src": "holder", "dst": "firm",
                       "share_pct": "持股比例", "end_date": "退出日期"}],
        "events": [{"type": "PENALTY", "subject": "firm", "date": "处罚日期", "amount": "罚款",
                    "description": "处罚结果",
                    "filter": {"column": "处罚日期", "present": True}}],
    }}}
    (tmp / "sources.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True),
                                      encoding="utf-8")
    return tmp / "sources.yaml"


def test_an_exports_empty_cells_are_missing_values(tmp_path: Path) -> None:
    x = extract(_write(tmp_path))
    m = x.mentions.set_index(["record_id", "role"])
    firms = m.xs("firm", level="role")
    holders = m.xs("holder", level="role")
    assert set(firms.index) == {"R1", "R2", "R4"}  # R3's firm is named #N/A: no firm
    assert set(holders.index) == {"R1", "R2"}  # 不详 and NULL name no one
    for column in ("address", "address_std", "phone", "uscc"):
        assert firms.loc[["R1", "R2", "R4"], column].isna().all(), column
    assert firms.loc[["R1", "R2"], "established"].isna().all()
    assert str(firms.loc["R4", "established"]) == "2016-05-01"
    assert holders["id_number"].isna().all()
    # nothing was malformed: an empty cell is not a bad date, phone or number
    assert x.malformed.empty, x.malformed.to_dict("records")
    rel = x.relations.set_index("record_id")
    assert rel["share_pct"].isna().all() and rel["end_date"].isna().all()
    events = x.events.set_index("record_id")
    assert events["amount"].isna().loc["R1"]  # the dash says none
    assert events.loc["R1", "description"] == "无"  # an event's text says what it says
    assert events["description"].isna().loc["R2"]  # an export's N/A says nothing
    # R3 holds no mention: quarantined, naming the field and why; the counts reconcile
    q = x.quarantine.set_index("record_id")
    assert list(q.index) == ["R3"]
    assert "missing required name" in str(q.loc["R3", "reason"])
    assert q.loc["R3", "field"] == "企业名称"
    # R4's holder is dropped with its reason
    dropped = x.dropped.set_index(["record_id", "role"])
    assert "missing required name" in str(dropped.loc[("R4", "holder"), "reason"])
    counts = x.counts["registry"]
    assert counts["rows_in"] == counts["rows_mapped"] + counts["rows_quarantined"] == 4


@pytest.mark.parametrize("distinct", [10, 25_000])  # below and above the vectorised path
def test_a_columns_placeholders_are_blanked_on_both_paths(distinct: int) -> None:
    from linkage.rowmap import without_placeholders

    values = pd.Series([f"张伟{i}" for i in range(distinct)]
                       + ["NULL", "无", "（空）", "#N/A", "无锡"], dtype="str")
    out = without_placeholders(values)
    assert out.tolist()[-5:] == ["", "", "", "", "无锡"]
    assert out.iloc[:distinct].equals(values.iloc[:distinct])
    kept = without_placeholders(values, exports_only=True).tolist()[-5:]
    assert kept == ["", "无", "（空）", "", "无锡"]
