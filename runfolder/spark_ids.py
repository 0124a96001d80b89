"""The derived IDs of `runfolder.ids` as Spark pandas UDFs (the Spark risk score and the graph
rows prepared on Spark derive LOCATED_AT / HAS_PHONE and their Address / Phone ends as
`graph.tables` does, from `runfolder.ids.DERIVED`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from runfolder.ids import VALUE_ID, relation_id


@dataclass(frozen=True)
class IdUdfs:
    value_id: dict[str, Any]  # entity column -> UDF of the node ID of its value
    relation_id: Any  # UDF (type, src, dst, first mention ID or "") -> relationship ID


def id_udfs() -> IdUdfs:
    """The UDFs (made on call: they need an active Spark session's pyspark)."""
    from pyspark.sql.functions import pandas_udf

    def value_udf(make: Callable[[str], str]) -> Any:
        @pandas_udf("string")  # type: ignore[call-overload]
        def udf(v: pd.Series) -> pd.Series:
            return v.map(make)

        return udf

    @pandas_udf("string")  # type: ignore[call-overload]
    def relation_udf(t: pd.Series, s: pd.Series, d: pd.Series, m: pd.Series) -> pd.Series:
        return pd.Series([relation_id(*x) for x in zip(t, s, d, m, strict=True)])

    return IdUdfs({column: value_udf(make) for column, make in VALUE_ID.items()},
                  relation_udf)
