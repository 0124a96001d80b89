"""Excel workbooks (`format: xlsx`) read as the agencies' files are read: every cell as text,
every row accounted for. A 97-2003 workbook (.xls, many government systems still export
them) is read the same way, through xlrd; which one a file is, its bytes say.

Registries, penalty lists and blacklists are often handed over as spreadsheets. A sheet is
read in a stream (openpyxl's read-only mode: a sheet holds at most 1,048,576 rows), from its
header row (`header_row`, 1 by default: a title above the header is common) in the worksheet
`sheet` (the first by default). Row numbers are data rows, as in a CSV file: data row N is
the sheet's row `header_row + N`; empty rows are not rows.

A cell is read as its text:

- text as written; a formula as its last computed value (none: empty); an error value
  (#N/A, #VALUE!) as its text, which the mapping reads as an empty cell
  (`linkage.standardise.missing`);
- a whole number without a decimal point; a number cell formatted with leading zeros
  (`0000000000`, a customs code) with its zeros; a percentage cell as a share (60%);
- a date as `YYYY-MM-DD`, with ` HH:MM:SS` when it has a time of day;
- true / false.

Excel keeps 15 significant digits of a number: an 18-digit resident ID or declaration number
typed into a number cell has lost its last digits (310101195311203938 is kept as
310101195311203000) and can no longer be told from its neighbours. A number cell of more than
15 digits is therefore a bad row (`BadRow`, quarantined with its file, row and column), as a
row with undecodable bytes is: store identifiers as text. A whole number a program wrote
exactly (no exponent, no decimal point) is read as written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkage.errors import SourceReadError
from linkage.readers import check_header, value_text

EXACT_DIGITS = 15  # significant digits Excel keeps of a number
_ZEROS = re.compile(r"0+")
_OLE2 = bytes.fromhex("d0cf11e0a1b11ae1")  # the start of a .xls (BIFF) workbook


class LostDigits(ValueError):
    """A number cell whose value Excel could not hold exactly."""


def _open(file: Path) -> Any:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with file.open("rb") as fh:
            if fh.read(8) == _OLE2:
                return _XlsBook(file)
        return load_workbook(file, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, InvalidFileException) as exc:
        raise SourceReadError(file, f"not a readable xlsx workbook: {exc}") from None


@dataclass(frozen=True)
class _Cell:
    """A cell of a .xls sheet as openpyxl's read-only cells are read here."""

    value: Any
    number_format: str = "General"


class _XlsBook:
    """An Excel 97-2003 workbook (.xls, BIFF in an OLE2 file) read by xlrd, with the little of
    openpyxl's read-only interface this module uses. Such a workbook holds at most 65,536 rows
    a sheet, so it is read whole."""

    def __init__(self, file: Path) -> None:
        import xlrd

        try:
            self._book = xlrd.open_workbook(str(file), formatting_info=True, on_demand=True)
        except Exception as exc:  # xlrd's own errors, and any a damaged file raises in it
            raise SourceReadError(file, f"not a readable .xls workbook: {exc}") from None

    @property
    def sheetnames(self) -> list[str]:
        return list(self._book.sheet_names())

    @property
    def worksheets(self) -> list[_XlsSheet]:
        return [self[name] for name in self.sheetnames[:1]]  # the first is all that is asked

    def __getitem__(self, name: str) -> _XlsSheet:
        return _XlsSheet(self._book, self._book.sheet_by_name(name))

    def close(self) -> None:
        self._book.release_resources()


class _XlsSheet:
    def __init__(self, book: Any, sheet: Any) -> None:
        self._book, self._sheet = book, sheet

    def iter_rows(self, min_row: int = 1, max_row: int | None = None
                  ) -> Iterator[tuple[_Cell, ...]]:
        last = self._sheet.nrows if max_row is None else min(max_row, self._sheet.nrows)
        for r in range(min_row - 1, last):
            yield tuple(self._cell(c) for c in self._sheet.row(r))

    def _cell(self, cell: Any) -> _Cell:
        import xlrd

        kind = cell.ctype
        if kind == xlrd.XL_CELL_TEXT:
            return _Cell(cell.value)
        if kind == xlrd.XL_CELL_NUMBER:
            xf = self._book.xf_list[cell.xf_index]
            shown = self._book.format_map.get(xf.format_key)
            return _Cell(cell.value, shown.format_str if shown is not None else "General")
        if kind == xlrd.XL_CELL_DATE:
            try:
                return _Cell(xlrd.xldate_as_datetime(cell.value, self._book.datemode))
            except (xlrd.xldate.XLDateError, OverflowError, ValueError):
                return _Cell(cell.value)  # a number no date can be: the number
        if kind == xlrd.XL_CELL_BOOLEAN:
            return _Cell(bool(cell.value))
        if kind == xlrd.XL_CELL_ERROR:
            return _Cell(xlrd.error_text_from_code.get(cell.value, "#N/A"))
        return _Cell(None)  # empty, blank


def _sheet(book: Any, file: Path, sheet: str | None) -> Any:
    if sheet is None:
        return book.worksheets[0]
    if sheet not in book.sheetnames:
        raise SourceReadError(file, f"no worksheet {sheet!r}; the workbook has "
                                    f"{', '.join(map(repr, book.sheetnames))}")
    return book[sheet]


def cell_text(value: Any, number_format: str = "General") -> str:
    """The text of one cell's value (see the module's doc); `LostDigits` for a number of more
    than `EXACT_DIGITS` digits held as a floating-point number."""
    if isinstance(value, dt.datetime):
        return (value.date().isoformat() if value.time() == dt.time()
                else value.isoformat(sep=" ", timespec="seconds"))
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number(value, number_format or "General")
    return value_text(value)  # empty, text, true / false


def _number(value: int | float, number_format: str) -> str:
    if "%" in number_format:
        return f"{value * 100:.10g}%"
    if isinstance(value, float):
        if not value.is_integer():
            return repr(value)
        if abs(value) >= 10 ** EXACT_DIGITS:
            raise LostDigits(f"{value:.15g}")
        value = int(value)
    text = str(value)
    zeros = number_format if _ZEROS.fullmatch(number_format) else ""
    return text.rjust(len(zeros), "0") if value >= 0 else text


def _header(file: Path, cells: tuple[Any, ...] | None, header_row: int) -> list[str]:
    if cells is None:
        raise SourceReadError(file, f"no header: the sheet has no row {header_row}")
    names = [cell_text(c.value).strip() for c in cells]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise SourceReadError(file, f"empty header row {header_row}")
    for i, name in enumerate(names):
        if not name:
            raise SourceReadError(file, f"column {_letter(i)} of the header (sheet row "
                                        f"{header_row}) has no name")
    return check_header(file, names)


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(i + 1))


def xlsx_columns(file: Path, sheet: str | None, header_row: int) -> list[str]:
    """The header of the sheet."""
    book = _open(file)
    try:
        ws = _sheet(book, file, sheet)
        rows = ws.iter_rows(min_row=header_row, max_row=header_row)
        return _header(file, next(rows, None), header_row)
    finally:
        book.close()


def first_rows(file: Path, sheet: str | None, n: int) -> list[list[str]]:
    """The sheet's first `n` rows as text (a number that lost digits as written)."""
    book = _open(file)
    try:
        ws = _sheet(book, file, sheet)
        return [[_shown(c) for c in cells] for cells in ws.iter_rows(max_row=n)]
    finally:
        book.close()


def _shown(cell: Any) -> str:
    try:
        return cell_text(cell.value, getattr(cell, "number_format", "General"))
    except LostDigits as lost:
        return str(lost)


Row = tuple[int, list[str] | None, str | None, str | None, str]
"""(data row number, values or None for a bad row, bad reason, bad column, a bad row's raw
JSON)."""


def xlsx_rows(file: Path, sheet: str | None, header_row: int
              ) -> tuple[list[str], Iterator[Row]]:
    """The header and, lazily, every data row that is not empty: its values (one per
    column) or why it is a bad row (a value beyond the header's columns, lost digits)."""
    book = _open(file)
    try:
        ws = _sheet(book, file, sheet)
        rows = ws.iter_rows(min_row=header_row)
        header = _header(file, next(rows, None), header_row)
    except BaseException:
        book.close()
        raise

    def data() -> Iterator[Row]:
        try:
            for offset, cells in enumerate(rows, 1):
                row = _row(header, cells, offset)
                if row is not None:
                    yield row
        finally:
            book.close()

    return header, data()


def _row(header: list[str], cells: tuple[Any, ...], row_number: int) -> Row | None:
    width = len(header)
    values: list[str] = []
    lost: str | None = None
    for i, cell in enumerate(cells):
        try:
            text = cell_text(cell.value, getattr(cell, "number_format", "General"))
        except LostDigits as exc:
            lost = lost or (header[i] if i < width else _letter(i))
            text = str(exc)
        values.append(text)
    while len(values) > width and not values[-1].strip():
        values.pop()
    if not any(v.strip() for v in values):
        return None  # an empty row is not a row
    if len(values) > width:
        return (row_number, None, f"unparseable row: {len(values)} cells, the header has "
                f"{width}", None, json.dumps(values, ensure_ascii=False))
    if lost is not None:
        raw = json.dumps(dict(zip(header, values, strict=False)), ensure_ascii=False)
        return (row_number, None, f"a number of more than {EXACT_DIGITS} digits in a number "
                f"cell: Excel kept only {EXACT_DIGITS}, the rest are lost (store "
                f"identifiers as text)", lost, raw)
    return row_number, values + [""] * (width - len(values)), None, None, ""
