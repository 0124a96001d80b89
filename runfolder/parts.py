"""One run-folder Parquet file from the part files a Spark write leaves, in part order.

The driver only streams: each part is read in batches sized by bytes, not rows, so a batch
holds about `BATCH_BYTES` of decoded data however wide the rows are. A risk table's reasons
run to kilobytes per entity (a 45,000-row Spark row group of them decodes to ~290 MB), so a
fixed row count per batch would make the driver's memory follow the widest rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from runfolder.folder import with_run_id
from runfolder.schema import RUN_ID

BATCH_BYTES = 16 << 20  # decoded bytes per batch read from a part (and row group written)
MAX_ROWS = 64_000  # rows per batch when rows are narrow


def batch_rows(source: pq.ParquetFile, batch_bytes: int = BATCH_BYTES,
               max_rows: int = MAX_ROWS) -> int:
    """Rows per batch for `source` so one batch of its widest row group's rows is about
    `batch_bytes` decoded (its metadata's uncompressed sizes); at least one row."""
    meta = source.metadata
    widest = 0.0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        if group.num_rows:
            widest = max(widest, group.total_byte_size / group.num_rows)
    if widest <= 0:
        return max_rows
    return max(1, min(max_rows, int(batch_bytes // widest)))


def part_tables(files: list[Path], schema: pa.Schema, batch_bytes: int = BATCH_BYTES
                ) -> Iterator[pa.Table]:
    """The rows of `files` (Parquet parts, in this order) as tables of about `batch_bytes`
    decoded each, with `schema`'s columns and types."""
    for path in files:
        source = pq.ParquetFile(path)
        try:
            for batch in source.iter_batches(batch_size=batch_rows(source, batch_bytes),
                                             columns=schema.names):
                yield pa.Table.from_batches([batch]).select(schema.names).cast(schema)
        finally:
            source.close()


def join_parts(files: list[Path], target: Path, schema: pa.Schema, *,
               run_id: str | None = None, batch_bytes: int = BATCH_BYTES) -> int:
    """Write `files` (Parquet parts, in this order) as one Parquet file `target` with `schema`
    (plus a constant `run_id` column when given); returns the number of rows."""
    out_schema = schema.append(pa.field(RUN_ID, pa.string())) if run_id else schema
    rows = 0
    with pq.ParquetWriter(target, out_schema) as writer:
        for table in part_tables(files, schema, batch_bytes):
            if run_id:
                table = with_run_id(table, run_id).cast(out_schema)
            writer.write_table(table)
            rows += table.num_rows
    return rows
