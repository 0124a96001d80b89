"""Excel workbooks as sources (`format: xlsx`): every cell read as text, a title above the
header skipped, rows numbered as data rows, and a number Excel could not hold (an 18-digit ID
typed into a number cell) a bad row naming its file, row and column, never a wrong ID."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook

from linkage.errors import MappingError, SourceReadError
from linkage.extract import extract
from linkage.mapping import load_mapping
from linkage.readers import read_columns, read_table
from linkage.xlsx import LostDigits, cell_text

ID = "310101195311203938"


@pytest.mark.parametrize(("value", "number_format", "text"), [
    (None, "General", ""),
    ("张伟", "General", "张伟"),
    (True, "General", "true"),
    (int(ID), "General", ID),  # a whole number written exactly stays exact
    (5000.0, "General", "5000"),
    (1234.5, "General", "1234.5"),
    (101683453, "0000000000", "0101683453"),  # a customs code kept in a zero-padded cell
    (101683453.0, "0000000000", "0101683453"),
    (0.6, "0%", "60%"),
    (0.125, "0.0%", "12.5%"),
    (dt.datetime(2023, 5, 1), "yyyy-mm-dd", "2023-05-01"),
    (dt.datetime(2023, 5, 1, 13, 30), "yyyy-mm-dd hh:mm", "2023-05-01 13:30:00"),
    (dt.date(2023, 5, 2), "yyyy-mm-dd", "2023-05-02"),
    (999_999_999_999_999.0, "General", "999999999999999"),  # 15 digits: exact
])
def test_cell_text(value: Any, number_format: str, text: str) -> None:
    assert cell_text(value, number_format) == text


@pytest.mark.parametrize("value", [3.10101195311203e17, 1e15, -4.4e16])
def test_a_number_beyond_fifteen_digits_has_lost_digits(value: float) -> None:
    with pytest.raises(LostDigits):
        cell_text(value)


def _workbook(path: Path, rows: list[list[Any]], *, title: bool = True,
              sheet: str = "处罚决定") -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "说明"
    ws.append(["本表为公示信息"])
    data = wb.create_sheet(sheet)
    if title:
        data.append(["2024年行政处罚公示"])
        data.append([])
    for row in rows:
        data.append(row)
    wb.save(path)
    return path


HEADER = ["决定书文号", "当事人名称", "统一社会信用代码", "法定代表人", "证件号码", "处罚日期",
          "罚款金额"]
ROWS: list[list[Any]] = [
    HEADER,
    ["D1", "上海华信贸易有限公司", "91310000MA1000012X", "张伟", ID,
     dt.datetime(2023, 5, 1), 5000.0],
    [],  # an empty row is no row
    ["D2", "宁波宏达贸易有限公司", None, "李娜", 3.10101195311203e17,  # typed as a number
     dt.datetime(2023, 5, 2), 10000],
    ["D3", "青岛海汇水产品有限公司", None, "王强", "#N/A", "2023-05-03", None, None, "多余"],
    ["D4", "天津天成国际机电设备有限公司", None, "NULL", None, dt.date(2023, 5, 4), "5万元"],
]


def _mapping(tmp: Path, **extra: Any) -> Path:
    mapping = {"sources": {"penalties": {
        "path": "penalties.xlsx", "format": "xlsx", "key": "决定书文号", **extra,
        "mentions": {
            "firm": {"kind": "enterprise", "required": ["name"],
                     "properties": {"name": "当事人名称", "uscc": "统一社会信用代码"}},
            "rep": {"kind": "person", "required": ["name"],
                    "properties": {"name": "法定代表人", "id_number": "证件号码"}},
        },
        "relations": [{"type": "LEGAL_REP_OF", "src": "rep", "dst": "firm"}],
        "events": [{"type": "PENALTY", "subject": "firm", "date": "处罚日期",
                    "amount": "罚款金额"}],
    }}}
    (tmp / "sources.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True),
                                      encoding="utf-8")
    return tmp / "sources.yaml"


def test_a_sheet_below_its_title_read_as_text(tmp_path: Path) -> None:
    book = _workbook(tmp_path / "penalties.xlsx", ROWS)
    assert read_columns(book, "xlsx", "utf-8", sheet="处罚决定", header_row=3) == HEADER
    table = read_table(book, "xlsx", sheet="处罚决定", header_row=3)
    frame = table.frame
    # data row N is the sheet's row header_row + N: D1 row 1, the empty row 2 is no row
    assert list(frame.index) == [1, 5]
    assert list(frame.loc[1]) == ["D1", "上海华信贸易有限公司", "91310000MA1000012X", "张伟",
                                     ID, "2023-05-01", "5000"]
    assert frame.loc[5, "罚款金额"] == "5万元" and frame.loc[5, "处罚日期"] == "2023-05-04"
    bad = {b.row_number: b for b in table.bad_rows}
    assert set(bad) == {3, 4} and table.rows_in == 4
    assert bad[3].field == "证件号码" and "15" in bad[3].reason and "D2" in bad[3].raw
    assert "9 cells, the header has 7" in bad[4].reason and "多余" in bad[4].raw


def test_link_reads_a_workbook_and_quarantines_what_excel_lost(tmp_path: Path) -> None:
    _workbook(tmp_path / "penalties.xlsx", ROWS)
    x = extract(_mapping(tmp_path, sheet="处罚决定", header_row=3))
    reps = x.mentions[x.mentions["role"] == "rep"].set_index("record_id")
    assert reps.loc["D1", "id_number"] == ID and bool(reps.loc["D1", "id_valid"])
    assert "D4" not in reps.index  # a representative written NULL is no one
    firms = x.mentions[x.mentions["role"] == "firm"].set_index("record_id")
    assert set(firms.index) == {"D1", "D4"}
    q = x.quarantine.set_index("row_number")
    assert set(q.index) == {3, 4}
    assert q.loc[3, "field"] == "证件号码" and "Excel kept only 15" in str(q.loc[3, "reason"])
    assert str(q.loc[3, "file"]).endswith("penalties.xlsx")
    counts = x.counts["penalties"]
    assert counts["rows_in"] == 4 == counts["rows_mapped"] + counts["rows_quarantined"]


def test_the_first_sheet_and_row_by_default(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in ROWS[:2]:
        ws.append(row)
    wb.save(tmp_path / "penalties.xlsx")
    x = extract(_mapping(tmp_path))
    assert x.mentions["record_id"].unique().tolist() == ["D1"]


def test_a_workbook_that_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    book = _workbook(tmp_path / "penalties.xlsx", ROWS)
    with pytest.raises(SourceReadError, match="no worksheet '罚款'.*'说明', '处罚决定'"):
        read_table(book, "xlsx", sheet="罚款")
    with pytest.raises(SourceReadError, match="empty header row 2"):
        read_columns(book, "xlsx", "utf-8", sheet="处罚决定", header_row=2)
    (tmp_path / "not.xlsx").write_text("编号,名称\n1,a\n", encoding="utf-8")
    with pytest.raises(SourceReadError, match="not a readable xlsx workbook"):
        read_table(tmp_path / "not.xlsx", "xlsx")
    (tmp_path / "old.xls").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    with pytest.raises(SourceReadError, match="not a readable .xls workbook"):
        read_columns(tmp_path / "old.xls", "xlsx", "utf-8")
    gap = _workbook(tmp_path / "gap.xlsx", [["编号", None, "名称"], ["1", "", "a"]], title=False)
    with pytest.raises(SourceReadError, match="column B of the header"):
        read_table(gap, "xlsx", sheet="处罚决定")
    twice = _workbook(tmp_path / "twice.xlsx", [["编号", "编号"]], title=False)
    with pytest.raises(SourceReadError, match="appears twice"):
        read_table(twice, "xlsx", sheet="处罚决定")


def _as(path: Path, fmt: str) -> Path:
    path.write_text(path.read_text(encoding="utf-8").replace("xlsx", fmt), encoding="utf-8")
    return path


def test_sheet_belongs_to_workbooks_and_header_row_to_workbooks_and_csv(tmp_path: Path
                                                                        ) -> None:
    with pytest.raises(MappingError, match="sheet is for format xlsx only"):
        load_mapping(_as(_mapping(tmp_path, sheet="处罚决定"), "csv"))
    load_mapping(_as(_mapping(tmp_path, header_row=3), "csv"))
    for fmt in ("jsonl", "parquet"):
        with pytest.raises(MappingError, match="header_row is for formats csv and xlsx only"):
            load_mapping(_as(_mapping(tmp_path, header_row=3), fmt))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_title_above_the_header_is_named_in_the_error(tmp_path: Path, fmt: str) -> None:
    """A mapping that does not say where the header is: the error says which line holds
    the mapped columns; with `header_row` the file reads."""
    extra: dict[str, Any] = {"sheet": "处罚决定"} if fmt == "xlsx" else {"encoding": "gbk"}
    if fmt == "xlsx":
        _workbook(tmp_path / "penalties.xlsx", ROWS)
    else:
        # a title saved from merged cells: empty fields after it, '' twice in a header
        lines = ["2024年行政处罚公示,,,,,,", "", ",".join(HEADER),
                 "D1,上海华信贸易有限公司,,张伟,,,"]
        (tmp_path / "penalties.csv").write_text("\n".join(lines) + "\n", encoding="gbk")
    where = "sheet row" if fmt == "xlsx" else "line"
    with pytest.raises((MappingError, SourceReadError),
                       match=f"the header seems to be on {where} 3: set header_row: 3"):
        extract(_as(_mapping(tmp_path, **extra), fmt))
    x = extract(_as(_mapping(tmp_path, header_row=3, **extra), fmt))
    assert x.mentions["record_id"].iloc[0] == "D1"
    assert x.mentions["name"].iloc[0] == "上海华信贸易有限公司"


def test_a_csv_with_a_header_and_no_row_is_an_empty_source(tmp_path: Path) -> None:
    (tmp_path / "penalties.csv").write_text(",".join(HEADER) + "\n", encoding="utf-8")
    path = _mapping(tmp_path)
    text = path.read_text(encoding="utf-8").replace("xlsx", "csv")
    path.write_text(text, encoding="utf-8")
    x = extract(path)
    assert x.mentions.empty and x.counts["penalties"]["rows_in"] == 0
    (tmp_path / "penalties.csv").write_text(",".join(HEADER) + "\nD1,a\n", encoding="utf-8")
    x = extract(path)  # every row bad
    assert x.counts["penalties"]["rows_quarantined"] == 1


def test_a_workbook_of_text_reads_as_its_csv(tmp_path: Path) -> None:
    """The committed fixture's shareholders, saved as a workbook of text cells: the same
    table, row for row, as the CSV file's."""
    import csv

    source = Path(__file__).parents[1] / "fixtures" / "small" / "data" / "registry_shareholders.csv"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("股东")
    with source.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            ws.append(row)
    wb.save(tmp_path / "shareholders.xlsx")
    book = read_table(tmp_path / "shareholders.xlsx", "xlsx")
    text = read_table(source, "csv")
    assert len(book.frame) > 1000
    assert book.frame.equals(text.frame) and book.bad_rows == text.bad_rows == []


def xls_workbook(path: Path, rows: list[list[Any]], *, sheet: str = "处罚决定") -> Path:
    """`_workbook`'s sheets as an Excel 97-2003 .xls file (xlwt; a title above the header)."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    book.add_sheet("说明").write(0, 0, "本表为公示信息")
    data = book.add_sheet(sheet)
    data.write(0, 0, "2024年行政处罚公示")
    day = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(rows, 2):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, (dt.date, dt.datetime)):
                data.write(r, c, value, day)
            else:
                data.write(r, c, value)
    book.save(str(path))
    return path


def test_an_xls_workbook_reads_as_the_same_xlsx(tmp_path: Path) -> None:
    """A 97-2003 workbook (xlrd) gives the rows, bad rows and reasons of the same sheet saved
    as .xlsx: dates, whole numbers, a number that lost digits, a row too wide."""
    xlsx = _workbook(tmp_path / "penalties.xlsx", ROWS)
    xls = xls_workbook(tmp_path / "penalties.xls", ROWS)
    assert read_columns(xls, "xlsx", "utf-8", sheet="处罚决定", header_row=3) == HEADER
    new, old = (read_table(b, "xlsx", sheet="处罚决定", header_row=3) for b in (xls, xlsx))
    assert new.frame.equals(old.frame)
    assert [(b.row_number, b.reason, b.field) for b in new.bad_rows] == [
        (b.row_number, b.reason, b.field) for b in old.bad_rows]
    with pytest.raises(SourceReadError, match="no worksheet '罚款'.*'说明', '处罚决定'"):
        read_table(xls, "xlsx", sheet="罚款")
    assert list(read_table(xls, "xlsx").frame.columns) == ["本表为公示信息"]  # the first sheet


def test_xls_cells_as_text(tmp_path: Path) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("codes")
    for c, name in enumerate(["海关编码", "持股", "是否", "日期时间", "金额"]):
        sheet.write(0, c, name)
    sheet.write(1, 0, 101683453, xlwt.easyxf(num_format_str="0000000000"))
    sheet.write(1, 1, 0.6, xlwt.easyxf(num_format_str="0%"))
    sheet.write(1, 2, True)
    sheet.write(1, 3, dt.datetime(2023, 5, 1, 13, 30),
                xlwt.easyxf(num_format_str="YYYY-MM-DD hh:mm"))
    sheet.write(1, 4, 1234.5)
    book.save(str(tmp_path / "codes.xls"))
    frame = read_table(tmp_path / "codes.xls", "xlsx").frame
    assert list(frame.loc[1]) == ["0101683453", "60%", "true", "2023-05-01 13:30:00", "1234.5"]
    (tmp_path / "broken.xls").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    with pytest.raises(SourceReadError, match="not a readable .xls workbook"):
        read_table(tmp_path / "broken.xls", "xlsx")
