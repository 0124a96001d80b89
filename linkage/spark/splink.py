"""Splink on Spark fed a Spark DataFrame, its predictions kept as a Spark DataFrame.

The same training as the DuckDB engine (`linkage.resolve.scoring.train_linker`: prior from
the deterministic rules, u by random sampling, EM per training rule, bounds); the prior's
pair counts are one Spark query (two shuffles for every combination of rules), so are the
u counts of every comparison (`linkage.spark.u_sampling`),
and the pairs at or above the floor probability are written as Parquet in the session's
scratch folder, so nothing but the model and a few counts reaches the driver.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from linkage.resolve import blocking
from linkage.resolve.models import FLAG_COLUMNS, MODEL_COLUMNS, Kind, settings_dict
from linkage.resolve.sampling import SAMPLE_KEY
from linkage.resolve.scoring import (
    model_charts,
    prediction_columns,
    prior_from_pair_counts,
    train_linker,
)


@dataclass
class SparkScored:
    """The trained model and the scored pairs (a Spark DataFrame) of one kind."""

    kind: Kind
    model: dict[str, Any]
    predictions: Any  # Spark DataFrame: rid_l, rid_r, match_weight, match_probability, ...
    pairs_compared: int
    charts: dict[str, str] = field(default_factory=dict)
    training_notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def splink_input(table: Any, kind: Kind) -> Any:
    """The Splink table's columns with Splink's types (flags boolean, the rest text)."""
    from pyspark.sql import functions as F

    cols = [F.col("rid").cast("long"), F.col("pc").cast("long"),
            F.col(SAMPLE_KEY).cast("string")]
    for col in MODEL_COLUMNS[kind]:
        if col in FLAG_COLUMNS:
            cols.append(F.coalesce(F.col(col).cast("boolean"), F.lit(False)).alias(col))
        else:
            cols.append(F.col(col).cast("string").alias(col))
    return table.select(*cols)


def _pair_counts(spark: Any, view: str, rules: list[blocking.Rule]) -> dict[frozenset[Any], float]:
    """Pairs of rows agreeing (non-null, equal) on every key of each combination of rules,
    in one query over one pass of the table: each row yields, per key set it has every key
    of, the set's number and its key values; the rows are counted per (set, key values) and
    the pairs summed per set (two shuffles, whatever the number of combinations)."""
    import itertools

    sets = list(dict.fromkeys(
        frozenset(key for i in combo for key in rules[i])
        for size in range(1, len(rules) + 1)
        for combo in itertools.combinations(range(len(rules)), size)))
    items = []
    for n, keys in enumerate(sets):
        exprs = [key.sql("t") for key in sorted(keys, key=repr)]
        where = " AND ".join(f"{e} IS NOT NULL" for e in exprs)
        values = ", ".join(f"CAST({e} AS STRING)" for e in exprs)
        items.append(f"named_struct('s', {n}, 'k', CASE WHEN {where} THEN array({values}) END)")
    rows = spark.sql(
        "SELECT s, coalesce(sum(c * (c - 1) / 2), 0) AS pairs FROM ("
        "SELECT s, k, count(*) AS c FROM ("
        f"SELECT inline(filter(array({', '.join(items)}), x -> x.k IS NOT NULL)) FROM {view} t"
        ") GROUP BY s, k) GROUP BY s").collect()  # one row per key set met by a pair
    got = {int(r["s"]): float(r["pairs"]) for r in rows}
    return {keys: got.get(n, 0.0) for n, keys in enumerate(sets)}


def train_and_score(kind: Kind, table: Any, *, floor_probability: float = 0.5,
                    seed: int = 42) -> SparkScored:
    """Train the `kind` model on the Spark DataFrame `table` (`rid`, `pc` and the model
    columns) and return the pairs scoring at least `floor_probability` as a Spark
    DataFrame (Parquet in the scratch folder)."""
    from splink import Linker

    from linkage.resolve.spark import get_spark_settings, scratch_dir, spark_db_api, spark_uri

    started = time.perf_counter()
    db_api = spark_db_api(get_spark_settings().threads or 2)
    spark = db_api.spark
    frame = splink_input(table, kind).persist()
    # a name of this call's own: Splink refuses to register over a table of the same name,
    # and the session may hold one (the caller's `released` drops the views of a link)
    view = f"__guanlian_{kind}_records_{uuid.uuid4().hex[:12]}"
    sdf = db_api.register(frame, table_name=view)
    linker = Linker(sdf, settings_dict(kind, blocking.predict_rules(kind)),
                    log_level=logging.ERROR)
    rules = list(blocking.deterministic_rules(kind))
    counts = _pair_counts(spark, view, rules)
    n = frame.count()
    prior = prior_from_pair_counts(n, rules, counts.__getitem__)
    notes, timings = train_linker(linker, kind, n, prior, started, seed=seed)

    t = time.perf_counter()
    predictions = linker.inference.predict(warning_mode="never")
    name = predictions.physical_name
    pairs_compared = int(spark.sql(f"SELECT count(*) AS n FROM {name}").first()["n"])
    wanted = prediction_columns(kind, [c.unquote().name for c in predictions.columns])
    kept = spark.sql(f"SELECT {', '.join(wanted)} FROM {name} "
                     f"WHERE match_probability >= {float(floor_probability)!r}")
    path = spark_uri(f"{scratch_dir()}/predictions-{kind}-{uuid.uuid4().hex}")
    kept.write.parquet(path)
    model = linker.misc.save_model_to_json()
    predicted = time.perf_counter()
    charts = model_charts(linker)
    timings.update(predict=predicted - t, charts=time.perf_counter() - predicted)
    frame.unpersist()
    return SparkScored(kind, model, spark.read.parquet(path), pairs_compared, charts, notes,
                       timings)
