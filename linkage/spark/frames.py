"""Frames handed back to Spark from pandas UDFs."""

from __future__ import annotations

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


def checkpoint(frame: Any) -> Any:
    """`frame` materialised once, its plan cut: in local mode a local checkpoint (the
    executor's block manager, spilling to its disk), since an executor lost there is the
    driver lost; on a cluster a reliable one (the checkpoint folder, surviving an executor)."""
    if frame.sparkSession.sparkContext.master.startswith("local"):
        return frame.localCheckpoint()
    return frame.checkpoint()
