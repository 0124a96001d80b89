"""Reading CSV / JSON lines / Parquet: encodings, undecodable and unparseable rows."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from linkage.errors import EncodingMismatch, SourceReadError
from linkage.readers import check_encoding, header_hint, read_columns, read_table

ROWS = [
    ["R1", "上海华信进出口贸易有限公司", "张伟"],
    ["R2", "深圳市鑫源电子科技有限公司", "李秀英"],
    ["R3", "宁波盛达水产有限公司", "王建国"],
    ["R4", "青岛恒通化工有限公司", "陈静"],
]
HEADER = "编号,企业名称,法定代表人"


def _csv_bytes(encoding: str, rows: list[list[str]] = ROWS) -> bytes:
    text = HEADER + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    return text.encode(encoding)


def test_gbk_file_read_as_gbk(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(_csv_bytes("gbk"))
    table = read_table(path, "csv", "gbk")
    assert list(table.frame.columns) == ["编号", "企业名称", "法定代表人"]
    assert table.frame.loc[2, "企业名称"] == "深圳市鑫源电子科技有限公司"
    assert list(table.frame.index) == [1, 2, 3, 4]
    assert table.rows_in == 4 and not table.bad_rows


def test_utf8_file_declared_gbk_fails_naming_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(_csv_bytes("utf-8"))
    with pytest.raises(EncodingMismatch) as info:
        read_table(path, "csv", "gbk")
    assert str(path) in str(info.value)
    assert info.value.suggested == "utf-8"
    with pytest.raises(EncodingMismatch):  # the header check finds it too, before any work
        read_columns(path, "csv", "gbk")


def test_gbk_file_declared_utf8_fails_with_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(_csv_bytes("gbk", ROWS * 5))
    with pytest.raises(EncodingMismatch) as info:
        read_table(path, "csv", "utf-8")
    assert str(path) in str(info.value) and "'utf-8'" in str(info.value)
    assert info.value.suggested is not None and info.value.suggested.startswith("gb")


def test_undecodable_row_in_a_good_file_is_a_bad_row(tmp_path: Path) -> None:
    data = _csv_bytes("gbk").replace("宁波".encode("gbk"), b"\xff\xfe")
    path = tmp_path / "a.csv"
    path.write_bytes(data)
    table = read_table(path, "csv", "gbk")
    assert list(table.frame.index) == [1, 2, 4]
    [bad] = table.bad_rows
    assert (bad.row_number, bad.reason, bad.field) == (3, "undecodable bytes", "企业名称")
    assert json.loads(bad.raw)["编号"] == "R3"


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _csv_bytes("utf-8"))
    assert read_columns(path, "csv", "utf-8")[0] == "编号"
    assert list(read_table(path, "csv", "utf-8").frame.columns)[0] == "编号"


TITLE = "上海市市场监督管理局企业名录,,\n导出时间：2026年12月1日 09:30\n\n"


@pytest.mark.parametrize("encoding,bom", [("utf-8", True), ("gbk", False), ("gb18030", False)])
def test_title_lines_above_the_csv_header(tmp_path: Path, encoding: str, bom: bool) -> None:
    """`header_row`: the lines above the header (a title, an export time, a blank line) are
    skipped; rows are numbered from the header as in the same file without them."""
    path = tmp_path / "a.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + TITLE.encode(encoding)
                     + _csv_bytes(encoding))
    assert read_columns(path, "csv", encoding, header_row=4) == ["编号", "企业名称", "法定代表人"]
    table = read_table(path, "csv", encoding, header_row=4)
    plain = tmp_path / "b.csv"
    plain.write_bytes(_csv_bytes(encoding))
    assert table.frame.equals(read_table(plain, "csv", encoding).frame)
    with pytest.raises(SourceReadError, match="column '' appears twice"):
        read_columns(path, "csv", encoding)  # the title read as the header


def test_header_row_past_the_end_of_the_csv(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("标题\n", encoding="utf-8")
    for read in (read_columns, read_table):
        with pytest.raises(SourceReadError, match="header_row is 3 and the file has fewer"):
            read(path, "csv", "utf-8", header_row=3)  # type: ignore[operator]


def test_where_the_header_seems_to_be(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(TITLE.encode("gbk") + _csv_bytes("gbk"))
    assert header_hint(path, "csv", "gbk", ",", None, {"编号", "企业名称"}) == 4
    assert header_hint(path, "csv", "gbk", ",", None, {"编号", "注册号"}) is None
    assert header_hint(path, "jsonl", "gbk", ",", None, {"编号"}) is None


def test_unparseable_csv_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(HEADER + '\nR1,a,b\nR2,"multi\nline",c\n\nR3,only-two\nR4,a,b,extra\n',
                    encoding="utf-8")
    table = read_table(path, "csv", "utf-8")
    assert table.frame.loc[2, "企业名称"] == "multi\nline"  # a quoted newline is one row
    assert [(b.row_number, b.reason.split(":")[0]) for b in table.bad_rows] == [
        (3, "unparseable row"), (4, "unparseable row")]
    assert table.rows_in == 4  # the blank line is not a row


def test_duplicate_header_column(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b,a\n1,2,3\n", encoding="utf-8")
    with pytest.raises(SourceReadError, match="appears twice"):
        read_table(path, "csv")


def test_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    lines = [json.dumps({"id": "1", "n": 12.0, "x": None, "nested": {"k": 1}}),
             "{broken", "[1, 2]", json.dumps({"id": "2", "extra": True}, ensure_ascii=False)]
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030") + b'{"id": "\xff"}\n')
    table = read_table(path, "jsonl", "gb18030")
    assert list(table.frame.columns) == ["id", "n", "x", "nested", "extra"]
    assert list(table.frame.loc[1]) == ["1", "12", "", '{"k": 1}', ""]
    assert table.frame.loc[4, "extra"] == "true"
    assert [(b.row_number, b.reason.split(":")[0]) for b in table.bad_rows] == [
        (2, "unparseable row"), (3, "unparseable row"), (5, "undecodable bytes")]


def test_parquet_values_become_strings(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pd.DataFrame({
        "id": ["a", "b", None],
        "pct": [30.0, 12.5, None],
        "n": pd.array([1, None, 3], dtype="Int64"),
        "day": [dt.date(2020, 1, 2), None, dt.date(2021, 3, 4)],
    }).to_parquet(path)
    table = read_table(path, "parquet")
    assert table.frame.to_dict("list") == {
        "id": ["a", "b", ""], "pct": ["30", "12.5", ""], "n": ["1", "", "3"],
        "day": ["2020-01-02", "", "2021-03-04"]}
    assert list(table.frame.index) == [1, 2, 3]


def test_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(SourceReadError, match="Parquet"):
        read_table(path, "parquet")


def test_check_encoding_tolerates_few_bad_lines() -> None:
    good = _csv_bytes("gbk", ROWS * 3)
    check_encoding(good + b"R9,\xff\xff,x\n", "gbk", Path("x.csv"))  # one bad row: no error
    with pytest.raises(EncodingMismatch, match="header"):
        check_encoding(b"\xff\xfe,a\n1,2\n", "gbk", Path("x.csv"))


def test_a_gb18030_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeff".encode("gb18030") + _csv_bytes("gb18030"))
    assert read_columns(path, "csv", "gb18030") == ["编号", "企业名称", "法定代表人"]
    table = read_table(path, "csv", "gb18030")
    assert list(table.frame.columns) == ["编号", "企业名称", "法定代表人"]
    assert table.frame.loc[1, "编号"] == "R1"


def test_control_characters_in_a_cell_are_not_part_of_its_value(tmp_path: Path) -> None:
    """A NUL or an escape left in a cell by an export: dropped from the key and the values."""
    from linkage.extract import extract

    rows = [["R\x001", "上海华信\x00进出口贸易有限公司", "张\x1b伟"], *ROWS[1:]]
    (tmp_path / "a.csv").write_bytes(_csv_bytes("utf-8", rows))
    (tmp_path / "sources.yaml").write_text(
        "version: 1\nsources:\n  reg:\n    path: a.csv\n    format: csv\n    key: 编号\n"
        "    mentions:\n      firm: {kind: enterprise, required: [name], properties: "
        "{name: 企业名称}}\n      rep: {kind: person, required: [name], properties: "
        "{name: 法定代表人}}\n", encoding="utf-8")
    mentions = extract(tmp_path / "sources.yaml").mentions
    first = mentions[mentions["record_id"] == "R1"]
    assert sorted(first["name"]) == sorted(["上海华信进出口贸易有限公司", "张伟"])
    assert not mentions["name"].str.contains("[\x00-\x1f]", regex=True).any()


def test_a_workbook_or_parquet_file_declared_as_text_says_what_it_is(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["编号", "企业名称"])
    book.save(tmp_path / "a.xlsx")
    pd.DataFrame({"编号": ["R1"]}).to_parquet(tmp_path / "a.parquet")
    for name, fmt, declare in (("a.xlsx", "csv", "format: xlsx"),
                               ("a.parquet", "jsonl", "format: parquet")):
        with pytest.raises(SourceReadError, match=declare) as info:
            read_columns(tmp_path / name, fmt, "utf-8")
        assert name in str(info.value)


def test_a_row_with_too_many_or_too_few_fields_keeps_its_leading_key(tmp_path: Path) -> None:
    """Quarantined, with its record key when the key column leads the header (a stray comma
    after it cannot have moved it); not when the key comes after other columns."""
    from linkage.extract import extract

    text = (HEADER + "\nR1,上海华信进出口贸易有限公司,张伟\nR2,深圳市鑫源,电子,李秀英\nR3,宁波\n")
    (tmp_path / "a.csv").write_text(text, encoding="utf-8")
    (tmp_path / "b.csv").write_text("企业名称,编号\n青岛恒通化工有限公司,B1\n青岛,恒通,B2\n",
                                    encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "version: 1\nsources:\n" + "".join(
            f"  {n}:\n    path: {n}.csv\n    format: csv\n    key: 编号\n    mentions:\n"
            "      firm: {kind: enterprise, required: [name], properties: {name: 企业名称}}\n"
            for n in ("a", "b")), encoding="utf-8")
    q = extract(tmp_path / "sources.yaml").quarantine
    got = {(s, r): k for s, r, k in zip(q["source"], q["row_number"], q["record_id"],
                                        strict=True)}
    assert got[("a", 2)] == "R2" and got[("a", 3)] == "R3"
    assert pd.isna(got[("b", 2)])


def test_a_header_line_again_in_the_file_is_quarantined_not_read(tmp_path: Path) -> None:
    """Two exports joined into one file: the second header line is no firm named 企业名称."""
    from linkage.extract import extract

    text = HEADER + "\n" + ",".join(ROWS[0]) + "\n" + HEADER + "\n" + ",".join(ROWS[1]) + "\n"
    (tmp_path / "a.csv").write_text(text, encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "version: 1\nsources:\n  a:\n    path: a.csv\n    format: csv\n    key: 编号\n"
        "    mentions:\n      firm: {kind: enterprise, required: [name], properties: "
        "{name: 企业名称}}\n", encoding="utf-8")
    x = extract(tmp_path / "sources.yaml")
    assert sorted(x.mentions["record_id"]) == ["R1", "R2"]
    assert x.quarantine["row_number"].tolist() == [2]
    assert "header line again" in x.quarantine["reason"].iloc[0]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_an_id_stored_as_a_float_is_noted_never_read_with_made_up_digits(
        tmp_path: Path, fmt: str) -> None:
    """440304197809047926 as a float is 440304197809047936: not that person's ID, nor anyone's.
    The value is left empty with a note naming the row and field; a short number reads."""
    from linkage.extract import extract

    ids = [440304197809047926.0, None, 12.0]
    frame = pd.DataFrame({"编号": ["P1", "P2", "P3"], "姓名": ["张伟", "李娜", "王强"],
                          "证件号码": ids})
    path = tmp_path / f"a.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(path)
    else:
        path.write_text("".join(json.dumps({k: v for k, v in row.items() if v == v})
                                + "\n" for row in frame.to_dict("records")), encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        f"version: 1\nsources:\n  a:\n    path: a.{fmt}\n    format: {fmt}\n    key: 编号\n"
        "    mentions:\n      p: {kind: person, required: [name], properties: "
        "{name: 姓名, id_number: 证件号码}}\n", encoding="utf-8")
    x = extract(tmp_path / "sources.yaml")
    assert len(x.mentions) == 3 and x.quarantine.empty
    ids_read = dict(zip(x.mentions["record_id"], x.mentions["id_number"], strict=True))
    assert pd.isna(ids_read["P1"]) and not str(ids_read["P3"]).startswith("4403")
    notes = x.malformed
    assert notes[["record_id", "field"]].values.tolist() == [["P1", "证件号码"]]
    assert "stored as a float" in notes["reason"].iloc[0]
