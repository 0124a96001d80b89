"""Comparing two runs' prepared graph rows (`RUN/graph/`), for the tests of the engines that
prepare them (`graph.neo4j.rows` in pandas, `graph.neo4j.spark_rows` on Spark)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

from graph.neo4j.rows import MANIFEST, PREPARED_DIR, prepared_file, read_arrow


def _value(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


def prepared_differences(a: Path, b: Path) -> list[str]:
    """What differs between two runs' prepared graph rows (`RUN/graph/`): the manifests'
    tables, counts and run, each table's schema, and its rows by ID (NaN as null); rows
    are listed as `kind-name: id`."""
    ma = json.loads((a / PREPARED_DIR / MANIFEST).read_text(encoding="utf-8"))
    mb = json.loads((b / PREPARED_DIR / MANIFEST).read_text(encoding="utf-8"))
    out = [f"manifest {k}" for k in ("fingerprint", "run_id", "dangling", "nodes", "rels",
                                     "loader_version") if ma[k] != mb[k]]
    for kind in ("nodes", "rels"):
        for name in ma[kind]:
            ta = read_arrow(a / PREPARED_DIR / prepared_file(kind, name))
            tb = read_arrow(b / PREPARED_DIR / prepared_file(kind, name))
            if ta.schema != tb.schema:
                out.append(f"{kind}-{name}: schema {ta.schema.names} vs {tb.schema.names}")
                continue
            rows_a = {r["id"]: {k: _value(v) for k, v in r.items()}
                      for r in ta.sort_by("id").to_pylist()}
            rows_b = {r["id"]: {k: _value(v) for k, v in r.items()}
                      for r in tb.sort_by("id").to_pylist()}
            out += [f"{kind}-{name}: {i}" for i in sorted(rows_a.keys() | rows_b.keys())
                    if rows_a.get(i) != rows_b.get(i)]
    return out


def unprepared_copy(run: Path, to: Path) -> Path:
    """The run folder copied without its prepared rows."""
    shutil.copytree(run, to, ignore=shutil.ignore_patterns(PREPARED_DIR, ".*"))
    return to
