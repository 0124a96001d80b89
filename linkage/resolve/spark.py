"""Splink's Spark backend with pyspark in local mode (`--engine spark`, optional extra).

pyspark is imported only here and only when the Spark engine is asked for; install it with
`pip install -e .[spark]` (a Java runtime is needed).
"""

from __future__ import annotations

from typing import Any


def spark_db_api(threads: int = 2) -> Any:
    """A SparkAPI over a local SparkSession using `threads` cores."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise RuntimeError(
            "--engine spark needs pyspark: pip install -e '.[spark]' (and a Java runtime)"
        ) from exc
    from splink import SparkAPI

    spark = (
        SparkSession.builder.master(f"local[{threads}]")
        .appName("guanlian-linkage")
        .config("spark.sql.shuffle.partitions", str(max(threads * 4, 8)))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setCheckpointDir("/tmp/guanlian-spark-checkpoints")
    return SparkAPI(spark_session=spark, num_partitions_on_repartition=max(threads * 4, 8))
