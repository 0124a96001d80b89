"""The `spark-submit` entry of `guanlian link --engine spark` (a cluster run).

    spark-submit [--master yarn | k8s://... | local[2]] [SPARK OPTIONS] \\
        "$(python -c 'import pipeline.submit as m; print(m.__file__)')" \\
        --sources sources.yaml --out RUN [--previous RUN0] [--judgements FILE] [--score]

(`scripts/spark-link` does this and adds Splink's similarity jar.) The session is the one
spark-submit configures: master, executors, memory and shuffle partitions come from its
options, nothing is forced to local mode. This module only adds the two SQL settings the
Spark path relies on (UTC session time zone, Arrow transfers), then runs the same
`linkage.run.link(..., engine="spark")` as the CLI, which reuses the active session
(`linkage.resolve.spark.spark_session`). With `--score` the same application then scores the
run and prepares its graph rows on Spark (`guanlian score --engine spark`; the CLI's
`guanlian link --engine spark --score`), so a rerun is one cluster job. Prints the same JSON
line as `guanlian link` (with `score`: the score's summary).

Paths (the sources' files, `--out`, `GUANLIAN_SPARK_LOCAL_DIR`) must be on a filesystem that
the driver and every executor see at the same path: the driver reads the mapping and joins
the part files Spark writes into the run folder (docs/scale.md, "Running on a cluster").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

APP_NAME = "guanlian-link"
# what the Spark path needs of any session, whoever created it
SESSION_SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pipeline.submit",
        description="guanlian link --engine spark, on the SparkSession of spark-submit")
    parser.add_argument("--sources", type=Path, required=True,
                        help="sources.yaml describing the agency files")
    parser.add_argument("--out", type=Path, required=True,
                        help="run folder to write (replaced atomically)")
    parser.add_argument("--previous", type=Path, default=None,
                        help="previous run: keep its entity IDs and judgements")
    parser.add_argument("--judgements", type=Path, default=None,
                        help="human judgements (CSV/JSON)")
    parser.add_argument("--score", action="store_true",
                        help="then score the run and prepare its graph rows on the same "
                        "session (`guanlian score --engine spark`): the whole batch in one "
                        "application")
    parser.add_argument("--quiet", action="store_true", help="no stage lines on stderr")
    parser.add_argument("--spark-log-level", default="WARN",
                        help="Spark's log level for this application (spark-submit: INFO)")
    return parser.parse_args(argv)


def session() -> Any:
    """The SparkSession spark-submit set up (created here from its configuration)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(APP_NAME)
    for key, value in SESSION_SQL_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in SESSION_SQL_CONF.items():  # also on a session that existed already
        spark.conf.set(key, value)
    return spark


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from linkage.run import link
    from pipeline.commands import score_linked

    spark = session()
    spark.sparkContext.setLogLevel(args.spark_log_level)
    master = spark.sparkContext.master
    try:
        result = link(args.sources, args.out, previous=args.previous, engine="spark",
                      judgements=args.judgements, quiet=args.quiet)
        line: dict[str, Any] = {"run_id": result.run_id, "run_dir": str(result.run_dir),
                                "master": master, "entities": result.entities,
                                "timings": result.report["timings"]}
        if args.score:
            line["score"] = score_linked(result.run_dir, "spark", args.previous)
    finally:
        spark.stop()
    print(json.dumps(line, ensure_ascii=False))
    return 0


def _not_from_this_folder() -> None:
    """Run as a file (spark-submit's primary resource), this file's folder comes first on
    `sys.path`, where a module there could shadow a package of the same name: drop it."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]


if __name__ == "__main__":
    _not_from_this_folder()
    sys.exit(main())
