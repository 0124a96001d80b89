"""Extraction on Spark: `sources.yaml` + agency files -> the frames of `linkage.extract.extract`
as Spark DataFrames, nothing gathered into the driver.

Spark reads every source (`linkage.spark.ingest_read`: CSV and JSON lines in any declared
encoding, GBK / GB18030 included, and Parquet) into numbered records; the record keys' first
rows are found by a Spark aggregation; then each Arrow batch of records goes through the pandas
code of the single-process path (`mapInArrow`): `linkage.rowmap.map_source` (quarantine
decisions, mentions, relations, events) and `linkage.extract.assemble` (standardisation,
types, context mentions, unreadable-value notes). So the same code decides every value; a
batch holds whole rows, and every decision of that code is per row or per value except the
duplicate record key, which is why its first rows come from Spark.

A batch yields one wide Arrow batch per output (`part`: mention, relation, event, quarantine,
malformed, dropped) plus one `tally` row (the batch's rows in and rows mapped); the wide frame
is persisted once and each output is a selection of it. `counts` is a Spark aggregation of
the tallies and of the output rows, checked to reconcile (rows in = mapped + quarantined).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from linkage.errors import MissingColumn
from linkage.extract import (
    EVENT_COLUMNS,
    MENTION_COLUMNS,
    RELATION_COLUMNS,
    Assembled,
    assemble,
    check_columns,
    fraction_sources,
)
from linkage.mapping import LoadedMapping, SourceSpec, load_mapping
from linkage.readers import BadRow, RawTable, read_columns
from linkage.resolve.spark import scratch_dir, spark_uri
from linkage.rowmap import DROPPED_COLUMNS, NOTE_COLUMNS, QUARANTINE_COLUMNS, map_source
from linkage.spark.ingest_read import (
    SourceRecords,
    read_parquet_source,
    read_text_source,
    read_xlsx_source,
    value_column,
)

_S, _B, _D, _L, _F = StringType(), BooleanType(), DateType(), LongType(), DoubleType()
_TYPES: dict[str, DataType] = {
    # mentions
    **dict.fromkeys(MENTION_COLUMNS, _S),
    **dict.fromkeys(("uscc_valid", "id_valid", "customs_code_valid", "reg_no_valid",
                     "other_id_fuzzy"), _B),
    **dict.fromkeys(("birth_date", "established", "record_date", "id_birth"), _D),
    "row_number": _L,
    "context_mentions": ArrayType(_S),
    # relations, events, quarantine, notes
    **dict.fromkeys(("src_mention", "dst_mention", "event_mention_id", "subject_mention",
                     "category", "description", "file", "field", "reason", "raw", "type"), _S),
    **dict.fromkeys(("share_pct", "amount"), _F),
    **dict.fromkeys(("start_date", "end_date", "date"), _D),
}
PARTS: dict[str, list[str]] = {
    "mention": MENTION_COLUMNS,
    "relation": RELATION_COLUMNS,
    "event": EVENT_COLUMNS,
    "quarantine": QUARANTINE_COLUMNS,
    "malformed": NOTE_COLUMNS,
    "dropped": DROPPED_COLUMNS,
}
_NON_NULL = {("mention", "row_number"), ("mention", "other_id_fuzzy"),
             ("quarantine", "row_number"), ("malformed", "row_number"),
             ("dropped", "row_number")}


def part_schema(part: str) -> StructType:
    """The Spark schema of one output: the columns of the pandas frame, in its order."""
    return StructType([StructField(c, _TYPES[c], (part, c) not in _NON_NULL)
                       for c in PARTS[part]])


def _wide_schema() -> StructType:
    names: dict[str, None] = {"part": None}
    for columns in PARTS.values():
        names.update(dict.fromkeys(columns))
    fields = [StructField(n, _TYPES.get(n, _S)) for n in names]
    return StructType([*fields, StructField("rows_in", _L), StructField("rows_mapped", _L)])


WIDE = _wide_schema()


@dataclass
class SparkExtraction:
    """`linkage.extract.Extraction` as Spark DataFrames (of one persisted wide frame)."""

    mentions: DataFrame
    relations: DataFrame
    events: DataFrame
    quarantine: DataFrame
    malformed: DataFrame
    dropped: DataFrame
    counts: dict[str, dict[str, int]]
    wide: DataFrame  # persisted; `unpersist()` when done
    fractions: list[str] = field(default_factory=list)  # sources whose shares were fractions

    def unpersist(self) -> None:
        self.wide.unpersist()


def _arrow_type(t: DataType) -> pa.DataType:
    if isinstance(t, ArrayType):
        return pa.list_(_arrow_type(t.elementType))
    return {"string": pa.string(), "boolean": pa.bool_(), "date": pa.date32(),
            "bigint": pa.int64(), "double": pa.float64()}[t.simpleString()]


_WIDE_ARROW = pa.schema([pa.field(f.name, _arrow_type(f.dataType)) for f in WIDE.fields])


def _wide_batch(part: str, frame: pd.DataFrame) -> pa.Table:
    """One output frame as a batch of the wide schema (other columns null)."""
    n = len(frame)
    arrays = []
    for f in _WIDE_ARROW:
        if f.name == "part":
            arrays.append(pa.array([part] * n, pa.string()))
        elif f.name in frame.columns:
            col = frame[f.name]
            if f.name == "row_number":
                col = col.astype("int64")
            arrays.append(pa.array(col, type=f.type, from_pandas=True))
        else:
            arrays.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(arrays, schema=_WIDE_ARROW)


def _tally(source: str, rows_in: int, rows_mapped: int) -> pa.Table:
    frame = pd.DataFrame({"source": [source], "rows_in": [rows_in],
                          "rows_mapped": [rows_mapped]})
    return _wide_batch("tally", frame)


def _table(columns: list[str], file: Path, batch: pa.RecordBatch
           ) -> tuple[RawTable, pd.Series]:
    """The batch as the pandas reader's table of the same rows, and each good row's first
    row of its record key."""
    frame = batch.to_pandas(types_mapper={pa.string(): pd.StringDtype(na_value=float("nan"))}
                            .get)
    good = frame[frame["bad_reason"].isna()]
    index = pd.Index(good["row_number"].to_numpy(dtype="int64"), name="row_number")
    if "record" in frame.columns:
        records = [json.loads(r) for r in good["record"].tolist()]
        data = {c: [r.get(c, "") for r in records] for c in columns}
    else:
        data = {c: good[value_column(i)].tolist() for i, c in enumerate(columns)}
    table = pd.DataFrame(data, index=index, columns=columns, dtype="str")
    bad = frame[frame["bad_reason"].notna()]
    bad_rows = [
        BadRow(int(r), str(reason), str(raw), None if pd.isna(fld) else str(fld))
        for r, reason, raw, fld in zip(bad["row_number"], bad["bad_reason"], bad["bad_raw"],
                                       bad["bad_field"], strict=True)
    ]
    first_at = pd.Series(good["first_at"].to_numpy(dtype="float64"), index=index)
    return RawTable(file, table, bad_rows), first_at


def _map(name: str, spec: SourceSpec, columns: list[str], file: Path
         ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            table, first_at = _table(columns, file, batch)
            result = map_source(name, spec, table, first_at)
            parts: Assembled = assemble([result], {name: str(file)})
            for part, frame in (("mention", parts.mentions), ("relation", parts.relations),
                                ("event", parts.events), ("quarantine", parts.quarantine),
                                ("malformed", parts.malformed), ("dropped", parts.dropped)):
                if len(frame):
                    yield from _wide_batch(part, frame).to_batches()
            tally = _tally(name, result.counts["rows_in"], result.counts["rows_mapped"])
            yield from tally.to_batches()
    return run


def _read(spark: SparkSession, loaded: LoadedMapping, name: str,
          storage: StorageLevel) -> SourceRecords:
    spec = loaded.sources[name]
    path = loaded.data_path(name)
    if spec.format == "xlsx":
        return read_xlsx_source(spark, path, spec, storage)
    columns = read_columns(path, spec.format, spec.encoding, spec.delimiter,
                           header_row=spec.header_row)
    if spec.format == "parquet":
        return read_parquet_source(spark, path, spec, columns, storage)
    source = read_text_source(spark, path, spec, columns, storage)
    if spec.format == "jsonl":
        for column, key in spec.columns_used().items():
            if column not in source.columns:
                raise MissingColumn(loaded.file, f"sources.{name}.{key}", column, path)
    return source


def _with_first_rows(records: DataFrame) -> DataFrame:
    """Each good row whose record key is repeated, with the row number of the key's first row
    (a Spark aggregation over the whole source: a batch sees only its own rows). Repeated
    keys are few: the join is usually a broadcast, the records are not shuffled."""
    repeated = (records.where(F.col("bad_reason").isNull() & (F.col("key") != ""))
                .groupBy("key").agg(F.min("row_number").alias("first_at"),
                                    F.count("*").alias("n"))
                .where(F.col("n") > 1).drop("n"))
    return records.join(repeated, on="key", how="left")


def extract_spark(sources_yaml: Path, spark: SparkSession,
                  storage: StorageLevel = StorageLevel.MEMORY_AND_DISK) -> SparkExtraction:
    """`linkage.extract.extract` on Spark: the same frames (as DataFrames) and counts."""
    loaded = load_mapping(sources_yaml)
    check_columns(loaded)
    wide: DataFrame | None = None
    persisted: list[DataFrame] = []
    for name, spec in loaded.sources.items():
        source = _read(spark, loaded, name, storage)  # persisted: read once, used twice
        persisted.append(source.records)
        records = _with_first_rows(source.records)
        mapped = records.mapInArrow(
            _map(name, spec, source.columns, loaded.data_path(name)), WIDE)
        wide = mapped if wide is None else wide.unionByName(mapped)
    if wide is None:
        wide = spark.createDataFrame([], WIDE)
    # staged as Parquet, not cached: a task streams its rows to disk, so the heap holds a
    # batch, not a partition (an in-memory cache of the large run overran a 1 GiB driver)
    staged = spark_uri(f"{scratch_dir()}/extract-{uuid.uuid4().hex}")
    wide.write.parquet(staged)
    wide = spark.read.parquet(staged)
    counts = _counts(wide, list(loaded.sources))
    for frame in persisted:
        frame.unpersist()

    def part(p: str) -> DataFrame:
        return wide.where(F.col("part") == p).select(*PARTS[p])

    relations, fractions = _shares_as_percent(part("relation"))
    return SparkExtraction(part("mention"), relations, part("event"),
                           part("quarantine"), part("malformed"), part("dropped"), counts,
                           wide, fractions)


def _shares_as_percent(relations: DataFrame) -> tuple[DataFrame, list[str]]:
    """`linkage.extract.shares_as_percent` on Spark: three numbers per source reach the
    driver (`fraction_sources` decides), the shares are scaled by Spark."""
    share = F.col("share_pct")
    rows = (relations.where(share.isNotNull()).groupBy("source")
            .agg(F.count("*").alias("n"), F.max(share).alias("largest"),
                 F.count(F.when((share > 0) & (share < 1), 1)).alias("between"))
            .collect())
    scaled = fraction_sources({r["source"]: (int(r["n"]), float(r["largest"]),
                                             int(r["between"])) for r in rows})
    if not scaled:
        return relations, []
    return relations.withColumn("share_pct", F.when(F.col("source").isin(scaled), share * 100)
                                .otherwise(share)), scaled


def _counts(wide: DataFrame, sources: list[str]) -> dict[str, dict[str, int]]:
    """Per source: rows in, rows mapped, rows quarantined and mentions, from one Spark
    aggregation (a few numbers per source reach the driver); they must reconcile."""
    rows = (wide.groupBy("source")
            .agg(F.sum("rows_in").alias("rows_in"), F.sum("rows_mapped").alias("rows_mapped"),
                 F.count(F.when(F.col("part") == "quarantine", 1)).alias("rows_quarantined"),
                 F.count(F.when(F.col("part") == "mention", 1)).alias("mentions"))
            .collect())
    got: dict[str, dict[str, Any]] = {r["source"]: r.asDict() for r in rows}
    counts: dict[str, dict[str, int]] = {}
    for name in sources:
        r = got.get(name, {})
        counts[name] = {k: int(r.get(k) or 0)
                        for k in ("rows_in", "rows_mapped", "rows_quarantined", "mentions")}
        c = counts[name]
        if c["rows_in"] != c["rows_mapped"] + c["rows_quarantined"]:
            raise AssertionError(f"{name}: rows do not reconcile: {c}")
    return counts
