"""Read, write and check a run folder (docs/contracts.md, "Run folder").

A run folder is written whole into `RUN.tmp-<pid>` and renamed into place (`staged`), so a
failed or killed writer leaves the previous contents of `RUN` intact. Readers call `check_run`
(cheap: report.json, format version, required tables) and `read_table` / `read_table_arrow`
(absent contract columns come back as nulls); `validate_run` also checks every table's columns
and Arrow types against `runfolder.schema`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from runfolder.schema import REQUIRED_TABLES, RUN_ID, SCHEMAS, TABLES

REPORT_VERSION = 1
SUPPORTED_VERSIONS = frozenset({REPORT_VERSION})
REPORT_FILE = "report.json"


class RunFolderError(ValueError):
    """The run folder is missing, incomplete or from an incompatible version (one-line message)."""


# --- writing -----------------------------------------------------------------------------------
@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A fresh `OUT.tmp-<pid>` folder to write the run into; on a clean exit it replaces `out`
    (renames only), on an error it is removed and `out` is left as it was."""
    tmp = out.parent / f"{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def swap_into_place(tmp: Path, out: Path) -> None:
    """Replace `out` by `tmp` with renames only (the old folder is removed last)."""
    old = out.parent / f"{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def with_run_id(table: pa.Table, run_id: str) -> pa.Table:
    """`table` with a constant `run_id` column (replacing any it had), without copying."""
    column = pa.array([run_id], type=pa.large_string()).take(
        pa.array(np.zeros(table.num_rows, dtype=np.int32)))
    if RUN_ID in table.column_names:
        return table.set_column(table.column_names.index(RUN_ID), RUN_ID, column)
    return table.append_column(RUN_ID, column)


def write_frame(frame: pd.DataFrame, path: Path, *, run_id: str | None = None,
                drop: tuple[str, ...] = ()) -> None:
    """Write a frame as Parquet without pandas metadata: Arrow types (list<string>, date32)
    describe the columns, and any reader - pandas with or without pyarrow dtypes, DuckDB,
    Spark - can read them back. With `run_id`, a constant `run_id` column is added; `drop`
    names columns left out. Arrow-backed columns are handed over without copies."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.drop_columns([c for c in drop if c in table.column_names])
    if run_id is not None:
        table = with_run_id(table, run_id)
    pq.write_table(table.replace_schema_metadata(None), path)


def write_table(run_dir: Path, name: str, rows: list[dict[str, Any]]) -> Path:
    """Write `rows` as `RUN/<name>.parquet` with the contract's Arrow schema (plus the
    table's optional columns the rows carry)."""
    spec = TABLES[name]
    keys = set(rows[0]) if rows else set()
    schema = pa.schema([f for f in spec.fields if f.name not in spec.optional or f.name in keys])
    table = pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()
    path = Path(run_dir) / TABLES[name].file
    pq.write_table(table, path)
    return path


def write_report(run_dir: Path, report: dict[str, Any]) -> Path:
    path = Path(run_dir) / REPORT_FILE
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str),
                    encoding="utf-8")
    return path


# --- reading -----------------------------------------------------------------------------------
def check_run(run_dir: Path) -> dict[str, Any]:
    """Return report.json of a readable run folder, or raise RunFolderError naming the fix."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(
            f"run folder {run_dir} does not exist; create it with `guanlian link` first"
        )
    report_path = run_dir / REPORT_FILE
    if not report_path.is_file():
        raise RunFolderError(
            f"{run_dir} has no report.json, so it is not a complete run; rerun `guanlian link`"
        )
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunFolderError(
            f"{report_path} is not valid JSON ({exc}); rerun `guanlian link`"
        ) from exc
    version = report.get("version") if isinstance(report, dict) else None
    if version not in SUPPORTED_VERSIONS:
        raise RunFolderError(
            f"{run_dir} has run format version {version!r} but this Guanlian reads "
            f"{sorted(SUPPORTED_VERSIONS)}; relink with the matching `guanlian link` or upgrade"
        )
    for name in REQUIRED_TABLES:
        if not (run_dir / TABLES[name].file).is_file():
            raise RunFolderError(f"{run_dir} lacks {name}.parquet; rerun `guanlian link`")
    return dict(report)


def has_table(run_dir: Path, name: str) -> bool:
    return (Path(run_dir) / TABLES[name].file).is_file()


def read_table(
    run_dir: Path, name: str, columns: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Read one run table, adding missing contract columns as nulls (column order = contract).

    `columns` limits the read to those columns (faster for wide tables); an optional column
    named there and absent from the file is read as nulls."""
    schema = SCHEMAS[name]
    if columns is not None:
        schema = pa.schema([f for f in TABLES[name].fields if f.name in columns])
    df = read_table_arrow(run_dir, name, columns).to_pandas()
    return df[[*schema.names, *[c for c in df.columns if c not in schema.names]]]


def read_table_arrow(
    run_dir: Path, name: str, columns: tuple[str, ...] | None = None
) -> pa.Table:
    """`read_table` as an Arrow table (no pandas objects): missing contract columns are
    added as nulls; `columns` limits the read to those columns (optional ones included)."""
    path = Path(run_dir) / TABLES[name].file
    schema = SCHEMAS[name]
    if columns is not None:
        schema = pa.schema([f for f in TABLES[name].fields if f.name in columns])
        present = set(pq.read_schema(path).names)
        table = pq.read_table(path, columns=[c for c in schema.names if c in present])
    else:
        table = pq.read_table(path)
    for fld in schema:
        if fld.name not in table.column_names:
            table = table.append_column(fld.name, pa.nulls(table.num_rows, type=fld.type))
    return table


# --- validating --------------------------------------------------------------------------------
def _is_list(kind: pa.DataType) -> bool:
    return bool(pa.types.is_list(kind) or pa.types.is_large_list(kind))


def _fits(found: pa.DataType, wanted: pa.DataType) -> bool:
    """Large string / list types fit their plain forms (the contract does not tell them
    apart); an all-null column or list item (Arrow type null) fits every type."""
    if pa.types.is_null(found):
        return True
    if _is_list(found) and _is_list(wanted):
        return _fits(found.value_type, wanted.value_type)
    if pa.types.is_large_string(found):
        return bool(pa.types.is_string(wanted) or pa.types.is_large_string(wanted))
    return bool(found == wanted)


def table_problems(run_dir: Path, name: str) -> list[str]:
    """What is wrong with the columns of one table (empty when it fits the contract)."""
    path = Path(run_dir) / TABLES[name].file
    try:
        found = pq.read_schema(path)
    except (OSError, pa.ArrowInvalid) as exc:
        return [f"{path}: not a readable Parquet file ({exc})"]
    problems = []
    spec = TABLES[name]
    for fld in spec.fields:
        if fld.name not in found.names:
            if fld.name not in spec.optional:
                problems.append(f"{path}: column {fld.name!r} is missing")
            continue
        kind = found.field(fld.name).type
        if not _fits(kind, fld.type):
            problems.append(f"{path}: column {fld.name!r} is {kind}, the contract says {fld.type}")
    return problems


def validate_run(run_dir: Path) -> dict[str, Any]:
    """`check_run`, then every table present against its contract columns and types; raises
    RunFolderError listing the problems (file and column), returns report.json."""
    report = check_run(run_dir)
    problems = [p for name in TABLES if has_table(run_dir, name)
                for p in table_problems(run_dir, name)]
    if problems:
        raise RunFolderError("; ".join(problems))
    return report
