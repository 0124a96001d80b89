"""Joining Spark part files into one run-folder table: order, schema, run_id, and batches
sized by bytes (a wide row makes a small batch)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from runfolder.parts import batch_rows, join_parts
from runfolder.schema import RUN_ID

SCHEMA = pa.schema([("entity_id", pa.string()), ("score", pa.float64()), ("reasons", pa.string())])


def _part(path: Path, start: int, n: int, width: int) -> Path:
    ids = [f"E{i:06d}" for i in range(start, start + n)]
    table = pa.table({"entity_id": ids, "score": [float(i) for i in range(start, start + n)],
                      "reasons": [f"{i:06d}" + "x" * width for i in range(start, start + n)],
                      "extra": [1] * n})  # a column the target schema does not have
    pq.write_table(table, path, row_group_size=max(n, 1))  # one row group per part, as Spark writes
    return path


def test_parts_are_joined_in_order_with_the_schema_and_run_id(tmp_path: Path) -> None:
    parts = [_part(tmp_path / "part-00000.parquet", 0, 300, 10),
             _part(tmp_path / "part-00001.parquet", 300, 5, 10),
             _part(tmp_path / "part-00002.parquet", 305, 0, 10)]
    target = tmp_path / "out.parquet"
    assert join_parts(parts, target, SCHEMA, run_id="run-1") == 305
    out = pq.read_table(target)
    assert out.schema.names == [*SCHEMA.names, RUN_ID]
    assert out.column("entity_id").to_pylist() == [f"E{i:06d}" for i in range(305)]
    assert set(out.column(RUN_ID).to_pylist()) == {"run-1"}
    assert pq.read_table(target).column("reasons")[304].as_py().startswith("000304")


def test_wide_rows_are_read_and_written_in_small_batches(tmp_path: Path) -> None:
    wide = _part(tmp_path / "part-00000.parquet", 0, 400, 20_000)  # ~8 MB in one row group
    narrow = _part(tmp_path / "part-00001.parquet", 400, 400, 10)
    budget = 1 << 20
    assert batch_rows(pq.ParquetFile(wide), budget) <= budget // 20_000
    assert batch_rows(pq.ParquetFile(narrow), budget) >= 400  # narrow: the whole row group
    target = tmp_path / "out.parquet"
    assert join_parts([wide, narrow], target, SCHEMA, batch_bytes=budget) == 800
    meta = pq.ParquetFile(target).metadata
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    wide_groups = [g for g in groups if g.total_byte_size > 100_000]
    assert len(wide_groups) >= 8 and all(g.num_rows <= budget // 20_000 for g in wide_groups)
    assert pq.read_table(target).column("score").to_pylist() == [float(i) for i in range(800)]
