"""Spark readers of agency files: the rows of `linkage.readers`, numbered the same way.

A source becomes a DataFrame of *records*: `row_number` (1-based data row, as the pandas reader
counts it), the row's values (CSV and Parquet: one string column per file column, `c0`, `c1`,
...; JSON lines: `record`, the row as a JSON object of strings), `key` (the stripped record key)
and, for the rows the reader cannot use, `bad_reason` / `bad_field` / `bad_raw`.

CSV and JSON lines are read by Spark as lines of raw bytes (`spark.read.text`, split at b"\\n"
only, each file block in its own task) and decoded and parsed in Python by the same functions
as the pandas reader (`linkage.readers`). Two passes over the lines:

1. a scan gives, per file block, the encoding tally (`EncodingTally`: the declared encoding is
   judged on the driver exactly as `check_encoding` judges a whole file) and the number of
   rows the block starts. A CSV record may span lines, and so block boundaries: the scan
   parses each block twice, from the start of a record and from inside a quoted field, and
   the driver chains the blocks (a few values per block, never rows) to learn which state
   each block starts in, the first row number of each block and which block owns a record
   that crosses into the next ones;
2. the read parses each block from its known state; the few records that cross a block
   boundary leave their blocks as text fragments, are grouped by their owning block and
   parsed whole.

Parquet is read by Spark (`_metadata.row_index` numbers the rows) and its values turned into
strings per Arrow batch by `linkage.readers.parquet_strings`. An Excel workbook (a zip file no
task can split) is streamed once by the driver into a staged Parquet file of the records'
layout (`read_xlsx_source`).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from linkage.errors import SourceReadError
from linkage.mapping import SourceSpec, join_key
from linkage.readers import (
    SAMPLE_BYTES,
    BadRow,
    EncodingTally,
    csv_bad_row,
    decode_marked,
    is_blank_record,
    jsonl_record,
    judge_encoding,
    parquet_strings,
    tally_line,
)
from linkage.resolve.spark import scratch_dir, spark_uri

_BOM = b"\xef\xbb\xbf"
_BAD = [StructField("bad_reason", StringType()), StructField("bad_field", StringType()),
        StructField("bad_raw", StringType())]
_SCAN_SCHEMA = StructType([
    StructField(n, t) for n, t in (
        ("block", LongType()), ("non_ascii", LongType()), ("bad", LongType()),
        ("header_bad", LongType()), ("utf8", LongType()), ("bom", LongType()),
        # per start state s (0: at a record start, 1: inside a quoted field):
        ("rows0", LongType()), ("rows1", LongType()),  # rows the block starts
        ("open0", LongType()), ("open1", LongType()),  # 1: the block ends inside a record
        ("head1", LongType()),  # lines of the record continued from before (-1: all)
        ("error0", StringType()), ("error1", StringType()),  # CSV that cannot be parsed
        ("error_row0", LongType()), ("error_row1", LongType()),
        ("lines", LongType()),  # the block's lines
    )
])


@dataclass(frozen=True)
class SourceRecords:
    """One source read by Spark: its records and its column names (in file order)."""

    records: DataFrame
    columns: list[str]


def value_column(i: int) -> str:
    """The records column holding the file's `i`-th column (CSV, Parquet)."""
    return f"c{i}"


def _record_schema(width: int | None) -> StructType:
    """CSV / Parquet: `width` value columns; JSON lines (None): one `record` column."""
    values = ([StructField(value_column(i), StringType()) for i in range(width)]
              if width is not None else [StructField("record", StringType())])
    return StructType([StructField("row_number", LongType(), False), *values,
                       StructField("key", StringType()), *_BAD])


@dataclass(frozen=True)
class _Format:
    """What the Python side of a text read needs to know about the file."""

    fmt: str  # csv | jsonl
    encoding: str
    delimiter: str
    columns: list[str]  # CSV header (JSON lines: filled in after the read)
    keys: tuple[str, ...]  # the record key's columns
    ends_with_newline: bool
    skip: int = 0  # CSV: the lines above the header (`header_row - 1`), in block 0


# ----------------------------------------------------------------------------- lines


def _lines(spark: SparkSession, path: Path) -> DataFrame:
    # raw bytes, split at b"\n" only (the encoding is applied in Python); a file block is a task
    meta = "_metadata.file_block_"
    return (spark.read.option("lineSep", "\n").text(spark_uri(path))
            .select(F.col("value").cast("binary").alias("line"),
                    F.col(meta + "start").alias("block"),
                    (F.col(meta + "start") + F.col(meta + "length")
                     >= F.col("_metadata.file_size")).alias("last")))


def _blocks(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[int, bool, list[bytes]]]:
    """The lines of a task, grouped by file block, in file order (and whether the block is the
    file's last)."""
    block: int | None = None
    last = False
    lines: list[bytes] = []
    for batch in batches:
        starts = batch.column("block").to_pylist()
        lasts = batch.column("last").to_pylist()
        for start, is_last, line in zip(starts, lasts, batch.column("line").to_pylist(),
                                        strict=True):
            if start != block:
                if block is not None:
                    yield block, last, lines
                block, last, lines = start, is_last, []
            lines.append(line)
    if block is not None:
        yield block, last, lines


def _texts(fmt: _Format, block: int, last: bool, lines: list[bytes]) -> list[str]:
    """The block's lines decoded (undecodable bytes marked), each with its b"\\n" back except
    the file's last line when the file does not end with one."""
    if block == 0 and lines and fmt.encoding == "utf-8" and lines[0].startswith(_BOM):
        lines = [lines[0][len(_BOM):], *lines[1:]]
    if block == 0:
        lines = lines[fmt.skip:]  # a title above the header
    texts = [decode_marked(line, fmt.encoding) + "\n" for line in lines]
    if last and texts and not fmt.ends_with_newline:
        texts[-1] = texts[-1][:-1]
    return texts


# ----------------------------------------------------------------------------- CSV records


@dataclass
class _Parsed:
    """One block parsed from a start state."""

    head: int | None  # start state 1: lines of the record begun before (None: the whole block)
    records: list[tuple[int, list[str]]]  # (first line, values) of the records begun here
    open_from: int | None  # the block ends inside the record begun at this line
    error: str | None = None


def _parse_block(texts: list[str], in_quotes: bool, delimiter: str, last: bool) -> _Parsed:
    """Parse a block's lines with the csv module, starting at a record start or (`in_quotes`)
    inside a quoted field, as when the whole file is read."""
    consumed = 0
    exhausted = False

    def feed() -> Iterator[str]:
        nonlocal consumed, exhausted
        for i, text in enumerate(texts):
            consumed = i + 1
            for j, piece in enumerate(io.StringIO(text, newline="")):
                # inside a quoted field: an opening quote puts the parser in the same state
                yield '"' + piece if in_quotes and i == 0 and j == 0 else piece
        exhausted = True

    reader = csv.reader(feed(), delimiter=delimiter)
    parsed = _Parsed(head=None if in_quotes else 0, records=[], open_from=None)
    start = 0
    first = True
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.error = str(exc)
            break
        if exhausted and not last:  # the input ended inside this record: it goes on after
            if first and in_quotes:
                parsed.head = None
            else:
                parsed.open_from = start
            break
        if first and in_quotes:
            parsed.head = consumed
        else:
            parsed.records.append((start, values))
        first = False
        start = consumed
    return parsed


def _scan(fmt: _Format) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for block, last, lines in _blocks(batches):
            tally = EncodingTally()
            for i, line in enumerate(lines):
                tally_line(tally, line, fmt.encoding, first=block == 0 and i == 0)
            row: dict[str, Any] = {
                "block": block, "non_ascii": tally.non_ascii, "bad": tally.bad,
                "header_bad": int(tally.header_bad), "utf8": int(tally.utf8),
                "bom": int(tally.bom), "head1": 0, "error0": None, "error1": None,
                "error_row0": None, "error_row1": None, "open0": 0, "open1": 0,
                "lines": len(lines),
            }
            texts = _texts(fmt, block, last, lines)
            if fmt.fmt == "jsonl":
                rows = sum(1 for t in texts for sub in t.splitlines() if sub.strip())
                row["rows0"] = row["rows1"] = rows
            else:
                for state in (0, 1):
                    p = _parse_block(texts, state == 1, fmt.delimiter, last)
                    rows = sum(1 for _, v in p.records if not is_blank_record(v))
                    if block == 0 and state == 0 and p.records:
                        rows -= not is_blank_record(p.records[0][1])  # the header
                    row[f"rows{state}"] = rows + (p.open_from is not None)
                    row[f"open{state}"] = int(p.open_from is not None or p.head is None)
                    row[f"error{state}"] = p.error
                    row[f"error_row{state}"] = rows + 1 if p.error else None
                    if state == 1:
                        row["head1"] = -1 if p.head is None else p.head
            yield pa.RecordBatch.from_pylist([row], schema=_arrow(_SCAN_SCHEMA))
    return run


def _arrow(schema: StructType) -> pa.Schema:
    types = {"bigint": pa.int64(), "string": pa.string(), "boolean": pa.bool_()}
    return pa.schema([pa.field(f.name, types[f.dataType.simpleString()], f.nullable)
                      for f in schema.fields])


@dataclass(frozen=True)
class _Block:
    """Where a block stands in its file, as the driver worked out from the scan."""

    state: int  # 0: starts at a record start; 1: inside a quoted field
    first_row: int  # row number of the first row it starts
    owner: int  # the block where the record its first lines continue began (state 1)


def _chain(scan: list[dict[str, Any]], file: Path) -> dict[int, _Block]:
    blocks: dict[int, _Block] = {}
    state, row, owner = 0, 1, -1
    for s in sorted(scan, key=lambda r: r["block"]):
        if s[f"error{state}"]:
            raise SourceReadError(file, f"CSV cannot be parsed past here: {s[f'error{state}']}",
                                  row=row + s[f"error_row{state}"] - 1)
        blocks[s["block"]] = _Block(state, row, owner)
        row += s[f"rows{state}"]
        whole = state == 1 and s["head1"] == -1  # the block lies inside one record
        if not whole:
            owner = s["block"]
        state = s[f"open{state}"]
    return blocks


def _judge(scan: list[dict[str, Any]], fmt: _Format, file: Path) -> None:
    tally = EncodingTally()
    for s in scan:
        tally = tally.merge(EncodingTally(s["non_ascii"], s["bad"], bool(s["header_bad"]),
                                          bool(s["utf8"]), bool(s["bom"])))

    def sample() -> bytes:
        with file.open("rb") as fh:
            return fh.read(SAMPLE_BYTES)

    judge_encoding(tally, fmt.encoding, file, sample)


def _bad_fields(bad: BadRow) -> dict[str, Any]:
    return {"bad_reason": bad.reason, "bad_field": bad.field, "bad_raw": bad.raw}


def _emit(fmt: _Format, rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """Records as a batch of `schema`; `key` is stripped as the pandas mapping strips it."""
    batch = pa.RecordBatch.from_pylist(rows, schema=schema)
    keys = pd.Series(batch.column("key").to_pylist(), dtype="str").fillna("").str.strip()
    good = batch.column("bad_reason").is_null().to_pylist()
    key = pa.array([k if g else None for k, g in zip(keys.tolist(), good, strict=True)],
                   pa.string())
    return batch.set_column(batch.schema.get_field_index("key"), "key", key)


def _record(fmt: _Format, row_number: int, values: list[str]) -> dict[str, Any]:
    bad = csv_bad_row(fmt.columns, values, fmt.delimiter, row_number)
    if bad is not None:
        return {"row_number": row_number, **_bad_fields(bad)}
    rec: dict[str, Any] = {value_column(i): v for i, v in enumerate(values)}
    return {"row_number": row_number, **rec,
            "key": join_key([values[fmt.columns.index(k)] if k in fmt.columns else ""
                             for k in fmt.keys])}


def _jsonl_records(fmt: _Format, first_row: int, texts: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    row = first_row
    for text in texts:
        for sub in text.splitlines():
            if not sub.strip():
                continue
            rec = jsonl_record(sub, row)
            if isinstance(rec, BadRow):
                out.append({"row_number": row, **_bad_fields(rec)})
            else:
                out.append({"row_number": row, "record": json.dumps(rec, ensure_ascii=False),
                            "key": join_key([rec.get(k, "") for k in fmt.keys])})
            row += 1
    return out


# fragments of records that cross block boundaries: (owner block, order, text, row number)
_FRAGMENT = StructType([StructField("owner", LongType()), StructField("part", LongType()),
                        StructField("text", StringType()), StructField("row_number", LongType())])


def _read(fmt: _Format, blocks: dict[int, _Block], schema: StructType
          ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """Records (and fragments, CSV) of each block; one output schema: the record columns plus
    `owner` / `part` / `text` (set on fragments only)."""
    out_schema = _arrow(_with_fragments(schema))

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for block, last, lines in _blocks(batches):
            where = blocks[block]
            texts = _texts(fmt, block, last, lines)
            if fmt.fmt == "jsonl":
                rows = _jsonl_records(fmt, where.first_row, texts)
            else:
                rows = _csv_block(fmt, block, last, where, texts)
            if rows:
                yield _emit(fmt, rows, out_schema)
    return run


def _csv_block(fmt: _Format, block: int, last: bool, where: _Block, texts: list[str]
               ) -> list[dict[str, Any]]:
    p = _parse_block(texts, where.state == 1, fmt.delimiter, last)
    rows: list[dict[str, Any]] = []
    if where.state == 1:  # the lines that end a record begun in an earlier block
        end = len(texts) if p.head is None else p.head
        rows.append({"owner": where.owner, "part": block, "text": "".join(texts[:end]),
                     "row_number": 0})
    row = where.first_row
    records = p.records[1:] if block == 0 else p.records  # block 0 starts with the header
    for _, values in records:
        if is_blank_record(values):
            continue
        rows.append(_record(fmt, row, values))
        row += 1
    if p.open_from is not None:
        rows.append({"owner": block, "part": block, "text": "".join(texts[p.open_from:]),
                     "row_number": row})
    return rows


def _with_fragments(schema: StructType) -> StructType:
    fields = [f for f in schema.fields if f.name != "row_number"]
    return StructType([StructField("row_number", LongType()), *fields,
                       *[f for f in _FRAGMENT.fields if f.name != "row_number"]])


def _join_fragments(fmt: _Format, schema: StructType
                    ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """Parse the records that crossed block boundaries, each from its fragments' text."""
    out_schema = _arrow(schema)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = []
            for row_number, text in zip(batch.column("row_number").to_pylist(),
                                        batch.column("text").to_pylist(), strict=True):
                records = list(csv.reader(io.StringIO(text, newline=""),
                                          delimiter=fmt.delimiter))
                if len(records) != 1:  # pragma: no cover - the scan and the read disagree
                    raise AssertionError(f"row {row_number}: {len(records)} records in one")
                rows.append(_record(fmt, row_number, records[0]))
            if rows:
                yield _emit(fmt, rows, out_schema)
    return run


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            return True
        fh.seek(size - 1)
        return fh.read(1) == b"\n"


def read_text_source(spark: SparkSession, path: Path, spec: SourceSpec, header: list[str],
                     storage: StorageLevel) -> SourceRecords:
    """Records of a CSV or JSON lines source (`header`: the CSV header, checked already),
    persisted at `storage` (the caller unpersists them)."""
    lines = _lines(spark, path)
    fmt = _Format(spec.format, spec.encoding, spec.delimiter,
                  header if spec.format == "csv" else [], tuple(spec.key_columns),
                  _ends_with_newline(path),
                  spec.header_row - 1 if spec.format == "csv" else 0)
    scan = [r.asDict() for r in lines.mapInArrow(_scan(fmt), _SCAN_SCHEMA).collect()]
    _judge(scan, fmt, path)
    first = min(scan, key=lambda r: r["block"], default=None)
    if first is not None and fmt.skip and first["lines"] <= fmt.skip and len(scan) > 1:
        raise SourceReadError(path, f"header_row {spec.header_row}: the lines above the "
                                    f"header run past Spark's first file block")
    blocks = _chain(scan, path)
    width = len(header) if spec.format == "csv" else None
    schema = _record_schema(width)
    read = lines.mapInArrow(_read(fmt, blocks, schema), _with_fragments(schema))
    names = [f.name for f in schema.fields]
    records = read.where(F.col("owner").isNull()).select(*names)
    if spec.format == "csv":
        fragments = (read.where(F.col("owner").isNotNull())
                     .groupBy("owner")
                     .agg(F.sort_array(F.collect_list(F.struct("part", "text"))).alias("parts"),
                          F.max("row_number").alias("row_number"))
                     .select("row_number", F.concat_ws("", "parts.text").alias("text")))
        records = records.unionByName(fragments.mapInArrow(_join_fragments(fmt, schema),
                                                           schema))
        return SourceRecords(records.persist(storage), header)
    records = records.persist(storage)
    return SourceRecords(records, _jsonl_columns(records))


def _jsonl_columns(records: DataFrame) -> list[str]:
    """The keys of the good JSON lines in order of first appearance (a few names)."""
    keys = (records.where(F.col("bad_reason").isNull())
            .select("row_number", F.posexplode(F.map_keys(
                F.from_json("record", "map<string,string>"))).alias("pos", "name"))
            .groupBy("name").agg(F.min(F.struct("row_number", "pos")).alias("first"))
            .collect())
    return [r["name"] for r in sorted(keys, key=lambda r: (r["first"][0], r["first"][1]))]


# ----------------------------------------------------------------------------- Parquet


def read_parquet_source(spark: SparkSession, path: Path, spec: SourceSpec,
                        columns: list[str], storage: StorageLevel) -> SourceRecords:
    """Records of a Parquet source: values as the pandas reader turns them into strings
    (persisted at `storage`)."""
    schema = _record_schema(len(columns))
    out_schema = _arrow(schema)
    keys = [columns.index(k) if k in columns else None for k in spec.key_columns]

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            values = parquet_strings(batch.drop_columns(["row_number"]))
            arrays: list[Any] = [pc.add(batch.column("row_number"), 1)]
            arrays += [values[c] for c in columns]
            blank = pa.array([""] * batch.num_rows, pa.string())
            if len(keys) == 1:  # stripped below
                arrays.append(values[columns[keys[0]]] if keys[0] is not None else blank)
            else:
                parts = [(values[columns[k]] if k is not None else blank).to_pylist()
                         for k in keys]
                arrays.append(pa.array([join_key(p) for p in zip(*parts, strict=True)],
                                       pa.string()))
            arrays += [pa.nulls(batch.num_rows, pa.string())] * 3
            out = pa.RecordBatch.from_arrays(arrays, schema=out_schema)
            stripped = pd.Series(out.column("key").to_pylist(), dtype="str").str.strip()
            yield out.set_column(out.schema.get_field_index("key"), "key",
                                 pa.array(stripped.tolist(), pa.string()))

    frame = spark.read.parquet(spark_uri(path))
    frame = frame.select(*[F.col(f"`{c}`") for c in columns],
                         F.col("_metadata.row_index").alias("row_number"))
    return SourceRecords(frame.mapInArrow(run, schema).persist(storage), columns)


# ----------------------------------------------------------------------------- Excel


XLSX_CHUNK = 50_000  # rows per staged Parquet row group


def read_xlsx_source(spark: SparkSession, path: Path, spec: SourceSpec,
                     storage: StorageLevel) -> SourceRecords:
    """Records of an Excel source. A workbook is a zip file no task can split: the driver
    streams the sheet once (`linkage.xlsx.xlsx_rows`, read-only, `XLSX_CHUNK` rows at a time;
    a sheet holds at most 1,048,576 rows) into a staged Parquet file of the records' own
    layout, which Spark then reads (persisted at `storage`)."""
    import pyarrow.parquet as pq

    from linkage.xlsx import xlsx_rows

    header, rows = xlsx_rows(path, spec.sheet, spec.header_row)
    schema = _record_schema(len(header))
    out_schema = _arrow(schema)
    keys = [header.index(k) if k in header else None for k in spec.key_columns]
    staged = Path(scratch_dir()) / f"{path.stem}-{uuid.uuid4().hex}.parquet"
    chunk: list[dict[str, Any]] = []
    with pq.ParquetWriter(staged, out_schema) as writer:
        def flush() -> None:
            writer.write_batch(pa.RecordBatch.from_pylist(chunk, schema=out_schema))
            chunk.clear()

        for row_number, values, reason, column, raw in rows:
            if values is None:
                chunk.append({"row_number": row_number, "bad_reason": reason,
                              "bad_field": column, "bad_raw": raw})
            else:
                rec: dict[str, Any] = {value_column(i): v for i, v in enumerate(values)}
                rec["key"] = join_key([values[k] if k is not None else "" for k in keys])
                chunk.append({"row_number": row_number, **rec})
            if len(chunk) >= XLSX_CHUNK:
                flush()
        if chunk:
            flush()
    records = spark.read.schema(schema).parquet(spark_uri(staged))
    return SourceRecords(records.persist(storage), header)
