"""Frames handed back to Spark from pandas UDFs; checkpoints; what a batch step leaves in its
session, released."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with NumPy numeric columns as they are and every other column (pandas
    strings, Arrow-backed dates, lists, nullable flags) as Python objects with None for
    missing values: the forms Spark's Arrow conversion of a UDF's result accepts."""
    out: dict[str, pd.Series] = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
            out[name] = column.reset_index(drop=True)
        else:
            values = pa.array(column, from_pandas=True).to_pylist()
            out[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(out, columns=list(frame.columns))


@contextmanager
def released(spark: Any) -> Iterator[Any]:
    """Run a batch step (a link, a score) and then release what it left in `spark`'s session:
    the temporary views made inside (Splink's tables: a few dozen per link) and the data
    cached inside (persisted frames, local checkpoints: the step's intermediate tables, in
    the block manager's memory and disk). A session outlives its step where the step runs
    in a long-lived process (an API's rerun jobs, `link --score`), and each step's leftovers
    would stay there until the process ends. What was there before the step is kept.
    Yields `spark`."""
    jsc = spark.sparkContext._jsc
    views = {t.name for t in spark.catalog.listTables() if t.isTemporary}
    cached = set(jsc.getPersistentRDDs().keySet())
    try:
        yield spark
    finally:
        for table in spark.catalog.listTables():
            if table.isTemporary and table.name not in views:
                spark.catalog.dropTempView(table.name)
        persistent = jsc.getPersistentRDDs()
        for key in list(persistent.keySet()):
            if key not in cached:
                persistent.get(key).unpersist(False)


def checkpoint(frame: Any) -> Any:
    """`frame` materialised once, its plan cut: in local mode a local checkpoint (the
    executor's block manager, spilling to its disk), since an executor lost there is the
    driver lost; on a cluster a reliable one (the checkpoint folder, surviving an executor)."""
    if frame.sparkSession.sparkContext.master.startswith("local"):
        return frame.localCheckpoint()
    return frame.checkpoint()
