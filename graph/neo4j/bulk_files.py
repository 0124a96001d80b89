"""The run's nodes and relationships as `neo4j-admin database import full` input, written by Spark.

The rows are the ones the online loader writes (`graph.neo4j.rows`: the run's prepared tables
in `RUN/graph/`, one Arrow IPC file per label / relationship type with its content hash), so
a bulk-loaded graph holds the same elements, IDs and properties as an online load of the run,
and `graph.neo4j.hash.graph_digest` gives the same checksum.

Layout of the import folder (`write_import_files`):

* `header-nodes-<Label>.csv` / `header-rels-<TYPE>.csv`: one header line each, written by the
  driver from the tables' Arrow schemas (`id:ID`, `:START_ID`, `:END_ID`, `name:type` with
  `long`, `double`, `boolean`, `date`, `string[]`; `run_id` and `_hash` last, as the loader
  stores them).
* `data/<kind>-<name>/part-<slice>.csv`: the data lines. One Spark task per slice of a
  prepared table (about `SLICE_BYTES` of its Arrow file, at most `MAX_SLICE_ROWS` rows;
  memory-mapped, on the executor: nothing of the tables passes through the driver) formats
  it with Arrow compute (`csv_lines`) and writes Arrow's buffer as the file itself
  (`write_lines`): no shuffle, no sort, no copy through the JVM; the driver gets one row per
  file (its path, rows, and whether a value holds a line break). Relationships whose
  endpoint is not a node of the run (the loader's `dangling` ones, never loaded) are dropped,
  when the manifest counts any, by two Spark semi-joins on the node IDs and written by
  Spark's text writer under `joined/grp=rels-<TYPE>/`.

CSV dialect (what `ImportFiles.admin_args` tells neo4j-admin): `,` between fields, strings
always quoted with `"` doubled inside (an empty string stays `""`, a property; an absent one
is an empty unquoted field), list items separated by U+001F (never in the data), numbers,
dates and booleans unquoted. A value may hold a line break: only the files that do are named
to `--multiline-fields` (format v2), so the importer reads all others in parallel chunks
(multi-line reading cost 31% of the import's wall time on the large run).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph import schema
from graph.neo4j.hash import HASH_PROP, RUN_PROP
from graph.neo4j.rows import MANIFEST, PREPARED_DIR, prepared_file, read_arrow

ARRAY_DELIMITER = "\x1f"
ARRAY_DELIMITER_ARG = "U+001F"
SLICE_BYTES = 64 * 2**20  # of a prepared table per Spark task (bounded worker memory)
MAX_SLICE_ROWS = 500_000
_LINE_SCHEMA = "grp string, src string, dst string, line string"


@dataclass
class ImportFiles:
    """The import folder's files per label / type (header first) and what they hold."""

    folder: Path
    run_id: str
    nodes: dict[str, list[Path]] = field(default_factory=dict)
    rels: dict[str, list[Path]] = field(default_factory=dict)
    multiline: list[Path] = field(default_factory=list)  # data files with a line break in a value
    seconds: float = 0.0

    def admin_args(self) -> list[str]:
        """neo4j-admin's `--nodes=` / `--relationships=` arguments and the CSV dialect."""
        args = [f"--nodes={label}={','.join(map(str, files))}"
                for label, files in self.nodes.items()]
        args += [f"--relationships={t}={','.join(map(str, files))}"
                 for t, files in self.rels.items()]
        # only the files with a line break in a value are read as multi-line (v2): the
        # others are split into chunks and parsed in parallel
        if self.multiline:
            args += ["--multiline-fields-format=v2",
                     f"--multiline-fields={','.join(map(str, self.multiline))}"]
        return [*args, f"--array-delimiter={ARRAY_DELIMITER_ARG}", "--delimiter=,",
                "--quote=\"", "--trim-strings=false",
                "--ignore-empty-strings=false", "--skip-bad-relationships=false",
                "--skip-duplicate-nodes=false", "--id-type=string"]


# --- one slice of a prepared table as CSV lines ---------------------------------------------


def _type_suffix(typ: pa.DataType) -> str:
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        inner = _type_suffix(typ.value_type)
        return f"{inner or ':string'}[]"
    if pa.types.is_integer(typ):
        return ":long"
    if pa.types.is_floating(typ):
        return ":double"
    if pa.types.is_boolean(typ):
        return ":boolean"
    if pa.types.is_date(typ):
        return ":date"
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_null(typ):
        return ""
    raise ValueError(f"no neo4j-admin import type for Arrow type {typ}")


def _props(table_schema: pa.Schema, rel: bool) -> list[str]:
    skip = {HASH_PROP, RUN_PROP, *(("src", "dst") if rel else (schema.KEY,))}
    return [n for n in table_schema.names if n not in skip]


def header(table_schema: pa.Schema, rel: bool) -> str:
    """The header line of a prepared table (its `_hash` column included)."""
    names = _props(table_schema, rel)
    head = [":START_ID", ":END_ID"] if rel else [f"{schema.KEY}:ID"]
    head += [n + _type_suffix(table_schema.field(n).type) for n in names]
    return ",".join([*head, RUN_PROP, HASH_PROP])


def _quoted(text: pa.Array) -> pa.Array:
    inner = pc.replace_substring(text, '"', '""')
    return pc.binary_join_element_wise('"', inner, '"', "", null_handling="emit_null")


def _field(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One column as CSV field text (null: an empty unquoted field, i.e. no property)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    typ = col.type
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        if pc.list_flatten(col).null_count:  # null items are not stored (as the loader)
            col = pa.array([None if v is None else [x for x in v if x is not None]
                            for v in col.to_pylist()], type=typ)
        return _quoted(pc.binary_join(pc.cast(col, pa.list_(pa.string())), ARRAY_DELIMITER))
    if pa.types.is_null(typ):
        return pa.nulls(len(col), pa.string())
    if pa.types.is_floating(typ):
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, typ), col)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return _quoted(col)
    return pc.cast(col, pa.string())


def csv_lines(table: pa.Table, run_id: str, rel: bool) -> pa.Array:
    """The data lines of a slice of a prepared table (columns in `header`'s order)."""
    ends = ["src", "dst"] if rel else [schema.KEY]
    fields = [_quoted(pc.cast(table[n], pa.string()).combine_chunks()) for n in ends]
    fields += [_field(table[n]) for n in _props(table.schema, rel)]
    fields.append(_quoted(pa.array([run_id] * table.num_rows, type=pa.string())))
    fields.append(_quoted(table[HASH_PROP].combine_chunks()))
    return pc.binary_join_element_wise(*fields, ",", null_handling="replace",
                                       null_replacement="")


def _slice_lines(d: dict[str, Any]) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(src, dst, line) of one slice descriptor (nodes: dst is null)."""
    rel = d["kind"] == "rels"
    part = read_arrow(Path(d["path"])).slice(d["start"], d["length"])
    if rel:
        src, dst = part["src"].combine_chunks(), part["dst"].combine_chunks()
    else:
        src = part[schema.KEY].combine_chunks()
        dst = pa.nulls(part.num_rows, pa.string())
    return (pc.cast(src, pa.string()), pc.cast(dst, pa.string()),
            csv_lines(part, d["run_id"], rel))


def _format_slices(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Spark `mapInArrow`: slice descriptors in, (group, src, dst, line) batches out (the
    relationships of a run with dangling ones, which go through the semi-joins)."""
    for batch in batches:
        for d in batch.to_pylist():
            src, dst, line = _slice_lines(d)
            grp = pa.array([f"{d['kind']}-{d['name']}"] * len(line), type=pa.string())
            yield pa.RecordBatch.from_arrays([grp, src, dst, line],
                                             names=["grp", "src", "dst", "line"])


def _has_line_break(lines: pa.Array) -> bool:
    """Does a value of the lines hold a line break (so that neo4j-admin must read the file
    as multi-line)? A byte search (memchr) over Arrow's data buffer, 4 MiB at a time."""
    data = _data(lines)
    step = 4 * 2**20
    for start in range(0, len(data), step):
        chunk = data[start:start + step].tobytes()
        if b"\n" in chunk or b"\r" in chunk:
            return True
    return False


def _data(lines: pa.Array) -> memoryview:
    """The bytes of a string array's values, back to back, in place."""
    width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    offsets = np.frombuffer(lines.buffers()[1], dtype=width)[
        lines.offset:lines.offset + len(lines) + 1]
    if not len(lines):
        return memoryview(b"")
    return memoryview(lines.buffers()[2] or b"")[int(offsets[0]):int(offsets[-1])]


def write_lines(lines: pa.Array, path: Path) -> None:
    """The lines, each ended by a newline, as one file (Arrow's data buffer written whole)."""
    ended = pc.binary_join_element_wise(lines, pa.scalar("", lines.type), "\n",
                                        null_handling="replace", null_replacement="")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as sink:
        sink.write(_data(ended))


def _write_slices(out: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """Spark `mapInArrow`: slice descriptors in; each slice's lines written by the task to
    `out/<kind>-<name>/part-<index>.csv`; one row out per file (group, path, rows, whether
    a value holds a line break)."""

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for d in batch.to_pylist():
                _, _, line = _slice_lines(d)
                grp = f"{d['kind']}-{d['name']}"
                path = Path(out) / grp / f"part-{d['index']:06d}.csv"
                write_lines(line, path)
                yield pa.RecordBatch.from_pydict(
                    {"grp": [grp], "file": [str(path)], "rows": [len(line)],
                     "multiline": [_has_line_break(line)]},
                    schema=pa.schema([("grp", pa.string()), ("file", pa.string()),
                                      ("rows", pa.int64()), ("multiline", pa.bool_())]))

    return task


def _node_ids(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Spark `mapInArrow`: node slice descriptors in, their IDs out (for the semi-joins)."""
    for batch in batches:
        for d in batch.to_pylist():
            part = read_arrow(Path(d["path"]), [schema.KEY]).slice(d["start"], d["length"])
            yield pa.RecordBatch.from_arrays([part[schema.KEY].combine_chunks()], names=["nid"])


# --- the Spark job ---------------------------------------------------------------------------


def _descriptors(run_dir: Path, manifest: dict[str, Any],
                 slice_bytes: int) -> tuple[list[dict[str, Any]], dict[str, pa.Schema]]:
    folder = run_dir / PREPARED_DIR
    out: list[dict[str, Any]] = []
    schemas: dict[str, pa.Schema] = {}
    for kind in ("nodes", "rels"):
        for name in manifest[kind]:
            path = folder / prepared_file(kind, name)
            with pa.memory_map(str(path)) as source:
                reader = pa.ipc.open_file(source)
                schemas[f"{kind}-{name}"] = reader.schema
                n = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
            per_row = path.stat().st_size / max(n, 1)
            slice_rows = max(1, min(MAX_SLICE_ROWS, int(slice_bytes / per_row)))
            for start in range(0, n, slice_rows):
                out.append({"kind": kind, "name": name, "path": str(path.resolve()),
                            "start": start, "length": min(slice_rows, n - start),
                            "run_id": str(manifest["run_id"]), "index": len(out)})
    return out, schemas


def write_import_files(run_dir: Path, out: Path, spark: Any,
                       slice_bytes: int = SLICE_BYTES) -> ImportFiles:
    """Write the import folder `out` for the run (its rows prepared in `RUN/graph/`).

    One Spark task per slice formats its lines and writes them itself as one file (no
    shuffle, no sort, nothing but a row per file back to the driver); the relationships of
    a run with dangling ones are semi-joined on the node IDs first and written by Spark's
    text writer."""
    import time

    from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

    from linkage.resolve.spark import spark_uri

    started = time.perf_counter()
    manifest = json.loads((run_dir / PREPARED_DIR / MANIFEST).read_text(encoding="utf-8"))
    descs, schemas = _descriptors(run_dir, manifest, slice_bytes)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data"
    dangling = bool(int(manifest.get("dangling") or 0))
    desc_schema = ("kind string, name string, path string, start long, length long, "
                   "run_id string, index long")
    frame = spark.createDataFrame(descs, desc_schema).repartition(max(len(descs), 1))
    direct = frame.filter(F.col("kind") == "nodes") if dangling else frame
    written = direct.mapInArrow(_write_slices(str(data.absolute())),
                                "grp string, file string, rows long, multiline boolean")
    parts: dict[str, list[tuple[Path, bool]]] = {}
    for row in written.collect():  # one small row per file
        if row["rows"]:
            parts.setdefault(row["grp"], []).append((Path(row["file"]), bool(row["multiline"])))
    if dangling:  # drop relationships the loader never loads (an endpoint not a node)
        ids = frame.filter(F.col("kind") == "nodes").mapInArrow(_node_ids, "nid string")
        rels = frame.filter(F.col("kind") == "rels").mapInArrow(_format_slices, _LINE_SCHEMA)
        rels = (rels.join(ids.withColumnRenamed("nid", "src"), "src", "left_semi")
                .join(ids.withColumnRenamed("nid", "dst"), "dst", "left_semi"))
        joined = out / "joined"
        rels.select("grp", "line").write.mode("overwrite").partitionBy("grp").text(
            spark_uri(joined))
        for folder in sorted(joined.glob("grp=*")):
            parts[folder.name[4:]] = [(f, True) for f in sorted(folder.glob("part-*"))
                                      if f.stat().st_size]
    files = ImportFiles(folder=out, run_id=str(manifest["run_id"]))
    for key, table_schema in schemas.items():
        kind, name = key.split("-", 1)
        found = sorted(parts.get(key, []))
        if not found:
            continue
        head = out / f"header-{key}.csv"
        head.write_text(header(table_schema, kind == "rels") + "\n", encoding="utf-8")
        (files.nodes if kind == "nodes" else files.rels)[name] = [head, *(f for f, _ in found)]
        files.multiline += [f for f, brk in found if brk]
    files.seconds = time.perf_counter() - started
    return files
