"""Read agency files (CSV, Parquet, JSON lines, Excel: `linkage.xlsx`) into string tables,
keeping every row accounted for.

A reader returns a `RawTable`: a DataFrame of strings ('' for missing) indexed by the 1-based
data row number, plus the rows it could not use (`BadRow`: unparseable, undecodable bytes).
A declared encoding that does not fit the file is an `EncodingMismatch` naming the file and
suggesting the likely encoding; a few undecodable rows in an otherwise well-declared file are
bad rows, not an abort.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from charset_normalizer import from_bytes

from linkage.errors import EncodingMismatch, LinkageError, SourceReadError

MARK = "\ufdd0"  # stands in for undecodable bytes; a Unicode noncharacter no codec produces
_MARK_HANDLER = "guanlian-undecodable"
SAMPLE_BYTES = 64 * 1024  # how much of a file the header and encoding checks read
_BOM = codecs.BOM_UTF8
_MISMATCH_SHARE = 0.5  # more than this share of non-ASCII lines undecodable: wrong encoding
# A cell longer than this is no agency's value (a pasted file, a runaway quote): its row is
# quarantined, the run goes on. The csv module's own bound (128 KB) would abort the file, so
# it is lifted and this one applied per row instead.
MAX_CELL_CHARS = 1_000_000
_SHOWN_CHARS = 200  # of an oversized cell, what the quarantine keeps
csv.field_size_limit(2**31 - 1)
# A CSV without even a header is a failed export, not a source with no rows (that has its header
# and passes with a warning): the run stops rather than link without it unnoticed.
EMPTY_FILE = ("empty file: no header row (a failed export? supply the file, or take the "
              "source out of sources.yaml)")


def _mark(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return MARK, exc.end


codecs.register_error(_MARK_HANDLER, _mark)


@dataclass(frozen=True)
class BadRow:
    row_number: int
    reason: str
    raw: str
    field: str | None = None


@dataclass
class RawTable:
    file: Path
    frame: pd.DataFrame  # str columns, index = 1-based data row number
    bad_rows: list[BadRow] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return len(self.frame) + len(self.bad_rows)


# ----------------------------------------------------------------------------- encodings


def suggest_encoding(data: bytes) -> str | None:
    """charset-normalizer's best guess for these bytes, spelled like Python codec names."""
    best = from_bytes(data[:SAMPLE_BYTES]).best()
    if best is None:
        return None
    return str(best.encoding).replace("_", "-")


@dataclass
class EncodingTally:
    """What the encoding check needs to know about a file's lines (split at b"\\n"); tallies of
    parts of a file add up (`merge`), so the check can run over a file read in pieces."""

    non_ascii: int = 0
    bad: int = 0  # non-ASCII lines that do not decode
    header_bad: bool = False  # the first line does not decode
    utf8: bool = True  # every line is valid UTF-8
    bom: bool = False  # the file starts with a UTF-8 byte order mark

    def merge(self, other: EncodingTally) -> EncodingTally:
        return EncodingTally(self.non_ascii + other.non_ascii, self.bad + other.bad,
                             self.header_bad or other.header_bad, self.utf8 and other.utf8,
                             self.bom or other.bom)


def tally_line(tally: EncodingTally, line: bytes, declared: str, first: bool = False,
               last_partial: bool = False) -> None:
    """Add one line (without its b"\\n") to `tally`. `first`: the file's first line (its BOM
    is noted and skipped); `last_partial`: the last line of a sample that may end inside a
    character (it is not held against the declaration)."""
    if first and line.startswith(_BOM):
        tally.bom = True
        line = line[len(_BOM):]
    if line.isascii():
        return
    tally.non_ascii += 1
    if tally.utf8:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(line, final=not last_partial)
        except UnicodeDecodeError:
            tally.utf8 = False
    try:
        codecs.decode(line, declared, "strict")
    except UnicodeDecodeError:
        if last_partial:
            return
        tally.bad += 1
        tally.header_bad = tally.header_bad or first


def judge_encoding(tally: EncodingTally, declared: str, file: Path,
                   sample: Callable[[], bytes]) -> None:
    """Raise `EncodingMismatch` when the tallied lines do not fit `declared` (see
    `check_encoding`); `sample` gives the bytes the suggestion is made from."""
    if declared != "utf-8" and (tally.bom or (tally.non_ascii and tally.utf8)):
        raise EncodingMismatch(file, declared, "utf-8", "the bytes are valid UTF-8 text")
    if tally.header_bad:
        raise EncodingMismatch(
            file, declared, suggest_encoding(sample()), "the header line does not decode"
        )
    if tally.bad >= 2 and tally.bad / tally.non_ascii > _MISMATCH_SHARE:
        raise EncodingMismatch(
            file, declared, suggest_encoding(sample()),
            f"{tally.bad} of {tally.non_ascii} non-ASCII lines do not decode",
        )


# files a text format was declared for that are of another kind, by their first bytes
_OTHER_FORMATS = (
    (b"PK\x03\x04", "a ZIP archive, as an Excel workbook is (declare `format: xlsx`)"),
    (b"PAR1", "a Parquet file (declare `format: parquet`)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) workbook (save it as .xlsx or CSV)"),
)


def check_encoding(data: bytes, declared: str, file: Path) -> None:
    """Raise `EncodingMismatch` when `declared` does not fit `data` (a file or its beginning).

    The declaration is wrong when the header line does not decode, when more than half of the
    non-ASCII lines (and at least two) do not decode, or when a GBK / GB18030 file is in fact
    valid UTF-8 text (GBK-decoding UTF-8 bytes rarely fails, it silently produces mojibake).
    """
    for magic, what in _OTHER_FORMATS:
        if data.startswith(magic):
            raise SourceReadError(file, f"not a text file: {what}")
    tally = EncodingTally()
    lines = data.split(b"\n")
    sampled = not data.endswith(b"\n") and len(data) >= SAMPLE_BYTES
    for i, line in enumerate(lines):
        tally_line(tally, line, declared, first=i == 0,
                   last_partial=sampled and i == len(lines) - 1)
    judge_encoding(tally, declared, file, lambda: data)


def _read_bytes(file: Path, limit: int | None = None) -> bytes:
    try:
        with file.open("rb") as fh:
            return fh.read() if limit is None else fh.read(limit)
    except OSError as exc:
        raise SourceReadError(file, f"cannot read: {exc.strerror or exc}") from None


def _decode(data: bytes, encoding: str) -> str:
    if encoding == "utf-8" and data.startswith(_BOM):
        data = data[len(_BOM):]
    return decode_marked(data, encoding)


def decode_marked(data: bytes, encoding: str) -> str:
    """`data` decoded, each undecodable byte sequence replaced by `MARK`."""
    return data.decode(encoding, errors=_MARK_HANDLER)


def _sample(file: Path) -> bytes:
    data = _read_bytes(file, SAMPLE_BYTES)
    if len(data) == SAMPLE_BYTES and b"\n" in data:
        data = data[: data.rindex(b"\n") + 1]
    return data


# ----------------------------------------------------------------------------- headers


def read_columns(file: Path, fmt: str, encoding: str, delimiter: str = ",",
                 sheet: str | None = None, header_row: int = 1) -> list[str]:
    """The column names of a source, read cheaply (and the encoding checked on a sample)."""
    if fmt == "xlsx":
        from linkage.xlsx import xlsx_columns

        return xlsx_columns(file, sheet, header_row)
    if fmt == "parquet":
        try:
            return list(pq.read_schema(file).names)
        except (OSError, pa.ArrowException) as exc:
            raise SourceReadError(file, f"not a readable Parquet file: {exc}") from None
    sample = _sample(file)
    check_encoding(sample, encoding, file)
    text = _decode(sample, encoding)
    if fmt == "csv":
        text = below_title(file, text, header_row)
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
        if not header:
            raise SourceReadError(file, EMPTY_FILE if header_row == 1
                                  else f"empty header line {header_row}")
        return check_header(file, header)
    cols: dict[str, None] = {}
    for line in text.splitlines()[:1000]:
        try:
            obj = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            cols.update(dict.fromkeys(obj))
    return list(cols)


def below_title(file: Path, text: str, header_row: int) -> str:
    """A CSV's text from its header line on: the `header_row - 1` lines above it (a title,
    a date of export, a blank line) are not part of the table."""
    start = 0
    for _ in range(header_row - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            raise SourceReadError(file, f"no header: header_row is {header_row} and the file "
                                        f"has fewer lines")
    return text[start:]


def header_hint(file: Path, fmt: str, encoding: str, delimiter: str, sheet: str | None,
                wanted: set[str], within: int = 20) -> int | None:
    """The line (CSV) or sheet row (xlsx) among the first `within` whose cells hold every
    column in `wanted`, when the header is not where the mapping says: a title above it."""
    lines: list[list[str]]
    try:
        if fmt == "xlsx":
            from linkage.xlsx import first_rows

            lines = first_rows(file, sheet, within)
        elif fmt == "csv":
            text = _decode(_sample(file), encoding)
            lines = [next(csv.reader([line], delimiter=delimiter), [])
                     for line in text.split("\n")[:within]]
        else:
            return None
    except (LinkageError, OSError, csv.Error):
        return None
    for number, cells in enumerate(lines, 1):
        if wanted <= {c.strip() for c in cells}:
            return number
    return None


_OTHER_DELIMITERS = ("\t", ";", "|", ",", "，")


def delimiter_hint(file: Path, encoding: str, delimiter: str, header_row: int,
                   wanted: set[str]) -> str | None:
    """Another delimiter that splits a CSV's header into every column in `wanted`, when the
    declared one does not (a tab-separated export read as comma-separated)."""
    try:
        text = below_title(file, _decode(_sample(file), encoding), header_row)
    except (LinkageError, OSError):
        return None
    line = text.split("\n", 1)[0].rstrip("\r")
    for other in _OTHER_DELIMITERS:
        if other != delimiter and other in line:
            cells = next(csv.reader([line], delimiter=other), [])
            if wanted <= {c.strip() for c in cells}:
                return other
    return None


def check_header(file: Path, header: list[str]) -> list[str]:
    """`header` stripped, and a byte order mark before its first name (GB18030's, which the
    decoder keeps); a column named twice is a `SourceReadError`."""
    header = [h.strip() for h in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0].lstrip("\ufeff").strip()
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise SourceReadError(file, f"column {h!r} appears twice in the header")
        seen.add(h)
    return header


# ----------------------------------------------------------------------------- tables


def read_table(file: Path, fmt: str, encoding: str = "utf-8", delimiter: str = ",",
               sheet: str | None = None, header_row: int = 1) -> RawTable:
    """Read a whole source file. Unparseable and undecodable rows become `BadRow`s."""
    if fmt == "parquet":
        return _read_parquet(file)
    if fmt == "xlsx":
        return _read_xlsx(file, sheet, header_row)
    data = _read_bytes(file)
    check_encoding(data, encoding, file)
    text = _decode(data, encoding)
    del data
    if fmt == "csv":
        return _read_csv(file, below_title(file, text, header_row), delimiter)
    return _read_jsonl(file, text)


def _undecodable(columns: list[str], values: list[str]) -> str | None:
    for col, value in zip(columns, values, strict=False):
        if MARK in value:
            return col
    return None


def _frame(columns: list[str], rows: list[list[str]], index: list[int]) -> pd.DataFrame:
    if rows:
        data = {col: list(vals)
                for col, vals in zip(columns, zip(*rows, strict=True), strict=True)}
    else:  # a header and no row, or no good row
        data = {col: [] for col in columns}
    frame = pd.DataFrame(data, index=pd.Index(index, dtype="int64", name="row_number"),
                         columns=columns, dtype="str")
    return frame


def _read_csv(file: Path, text: str, delimiter: str) -> RawTable:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise SourceReadError(file, EMPTY_FILE) from None
    except csv.Error as exc:
        raise SourceReadError(file, f"header is not valid CSV: {exc}", row=0) from None
    header = check_header(file, header)
    rows: list[list[str]] = []
    index: list[int] = []
    bad: list[BadRow] = []
    row_number = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise SourceReadError(file, f"CSV cannot be parsed past here: {exc}",
                                  row=row_number + 1) from None
        if is_blank_record(values):
            continue  # blank line, not a row
        row_number += 1
        problem = csv_bad_row(header, values, delimiter, row_number)
        if problem is not None:
            bad.append(problem)
            continue
        rows.append(values)
        index.append(row_number)
    return RawTable(file, _frame(header, rows, index), bad)


def is_blank_record(values: list[str]) -> bool:
    """A CSV record that is a blank line, not a row."""
    return not values or (len(values) == 1 and not values[0].strip())


def csv_bad_row(header: list[str], values: list[str], delimiter: str,
                row_number: int) -> BadRow | None:
    """Why a CSV row cannot be used (wrong field count, undecodable bytes), or None."""
    width = len(header)
    if len(values) != width:
        raw = delimiter.join(values).replace(MARK, "\ufffd")
        return BadRow(row_number, f"unparseable row: {len(values)} fields, "
                                  f"the header has {width}", raw)
    col = _undecodable(header, values)
    if col is not None:
        return BadRow(row_number, "undecodable bytes", _raw_json(header, values), field=col)
    return oversized_row(header, values, row_number)


def oversized_row(columns: list[str], values: list[str], row_number: int) -> BadRow | None:
    """The row as a bad row when one of its cells is longer than `MAX_CELL_CHARS`."""
    for col, value in zip(columns, values, strict=False):
        if len(value) > MAX_CELL_CHARS:
            return BadRow(row_number, f"cell too large: {len(value):,} characters (at most "
                                      f"{MAX_CELL_CHARS:,})", _raw_json(columns, values),
                          field=col)
    return None


def _raw_json(columns: list[str], values: list[str]) -> str:
    return json.dumps({c: _shown(v) for c, v in zip(columns, values, strict=False)},
                      ensure_ascii=False)


def _shown(value: str) -> str:
    value = value.replace(MARK, "\ufffd")
    if len(value) <= MAX_CELL_CHARS:
        return value
    return f"{value[:_SHOWN_CHARS]}… ({len(value):,} characters)"


# a float holds whole numbers exactly below 2**53 (16 digits): an 18-digit ID stored as one
# has lost its last digits, and is kept as the float writes it (4.403041978090479e+17, never
# an identifier) rather than with digits it never had
EXACT_FLOAT = 2.0**53


def value_text(value: Any) -> str:
    """A JSON or Parquet value as the text a CSV cell would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < EXACT_FLOAT else f"{value:.15e}"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _read_jsonl(file: Path, text: str) -> RawTable:
    records: list[dict[str, str]] = []
    index: list[int] = []
    bad: list[BadRow] = []
    columns: dict[str, None] = {}
    row_number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        row_number += 1
        rec = jsonl_record(line, row_number)
        if isinstance(rec, BadRow):
            bad.append(rec)
            continue
        columns.update(dict.fromkeys(rec))
        records.append(rec)
        index.append(row_number)
    cols = list(columns)
    rows = [[rec.get(c, "") for c in cols] for rec in records]
    return RawTable(file, _frame(cols, rows, index), bad)


def jsonl_record(line: str, row_number: int) -> dict[str, str] | BadRow:
    """One non-blank JSON line as a record of strings, or why it cannot be used."""
    shown = line.replace(MARK, "\ufffd")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        reason = "undecodable bytes" if MARK in line else f"unparseable row: {exc.msg}"
        return BadRow(row_number, reason, shown)
    if not isinstance(obj, dict):
        return BadRow(row_number, "unparseable row: not a JSON object", shown)
    rec = {str(k): value_text(v) for k, v in obj.items()}
    if MARK in line:
        col = _undecodable(list(rec), list(rec.values()))
        return BadRow(row_number, "undecodable bytes", shown, field=col)
    return oversized_row(list(rec), list(rec.values()), row_number) or rec


def parquet_strings(table: pa.Table | pa.RecordBatch) -> dict[str, pa.Array | pa.ChunkedArray]:
    """Every column of a Parquet table as strings ('' for missing; floats holding integers
    read like integers: 12.0 -> "12", 12.5 -> "12.5"; one past `EXACT_FLOAT` as the float
    writes it)."""
    data: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_floating(col.type):
            as_int = pc.cast(col, pa.int64(), safe=False)
            whole = pc.and_(pc.equal(pc.cast(as_int, col.type, safe=False), col),
                            pc.less(pc.abs(col), EXACT_FLOAT))
            col = pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(col, pa.string()))
        elif not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            try:
                col = pc.cast(col, pa.string())
            except pa.ArrowException:
                col = pa.array([value_text(v) for v in col.to_pylist()], pa.string())
        data[name] = pc.fill_null(col, "")
    return data


def _read_xlsx(file: Path, sheet: str | None, header_row: int) -> RawTable:
    from linkage.xlsx import xlsx_rows

    header, rows = xlsx_rows(file, sheet, header_row)
    good: list[list[str]] = []
    index: list[int] = []
    bad: list[BadRow] = []
    for row_number, values, reason, column, raw in rows:
        if values is None:
            bad.append(BadRow(row_number, str(reason), raw, field=column))
            continue
        good.append(values)
        index.append(row_number)
    return RawTable(file, _frame(header, good, index), bad)


def _read_parquet(file: Path) -> RawTable:
    try:
        table = pq.read_table(file)
    except (OSError, pa.ArrowException) as exc:
        raise SourceReadError(file, f"not a readable Parquet file: {exc}") from None
    data = parquet_strings(table)
    frame = pd.DataFrame(
        {name: pd.Series(arr.to_pylist(), dtype="str") for name, arr in data.items()},
        columns=table.column_names,
    )
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row_number")
    check_header(file, list(table.column_names))
    return RawTable(file, frame)
