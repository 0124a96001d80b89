"""Splink's Spark backend with pyspark in local mode (`--engine spark`, optional extra).

pyspark is imported only here and only when the Spark engine is asked for; install it with
`pip install -e '.[spark]'` (pyspark 4, which needs Java 17 or newer).

The session runs in local mode (`local[N]`), binds to the loopback interface, has no UI and
loads Splink's similarity UDF jar (Jaro-Winkler, Damerau-Levenshtein ...) from the splink
wheel itself, so it works offline. Deployment knobs are environment variables with the prefix
`GUANLIAN_SPARK_` (see `SparkSettings`). One session is created per process and reused by
both kinds' models; Splink's intermediate tables are written under a private temporary
checkpoint folder removed at exit.

Differences from the DuckDB engine: none found since stop 39 (same model declaration, same
pipeline, the same training samples, the same Jaro-Winkler; measured on the committed small
fixture, the generator's medium set, seed 7, and the small `hard` profile, seed 21 - see
docs/scale.md "Spark engine"): identical models, partitions and entity IDs. Three causes of
difference were removed in stop 39:

- The u sample: each engine drew its own (its own hash over differently numbered rows), so
  "phone exact" could move from 0.0119 to 0.0147 and take name-and-phone person links
  across 0.9 on one engine only (small `hard`, seed 21: five more person entities on
  Spark). Both now sample by mention ID with one hash (`linkage.resolve.sampling`).
- Jaro-Winkler: the Splink jar's `jaro_winkler` differs from DuckDB's
  `jaro_winkler_similarity` on about half of all pairs (by up to 0.14), so the JW levels
  counted different pairs. The session's `jaro_winkler` is now DuckDB's definition
  (`use_duckdb_jaro_winkler`: a Java UDF built from `java/JaroWinkler.java`, equal to
  DuckDB's to the last bit, or rapidfuzz in an Arrow UDF where no JDK compiler is found).
- The ambiguity rule: a record without an identifier linking about equally well to two
  identifier holders lost all its links on Spark, only those to the holders on DuckDB
  (`pipeline._drop_ambiguous`); Spark now drops only those (three links on medium).
- Not different: blocking (the same pairs compared), exact-identifier pre-clusters, human
  judgements, cannot-link identifier tags and context links (Python on the same frame); the
  comparison levels (the same SQL transpiled per dialect); row order (the pipeline sorts
  accepted links by match weight, then record IDs, before clustering).
- Speed: every Splink query is one or more Spark jobs, so local Spark is far slower than
  DuckDB on one machine. EM's iterations, over the agreement-pattern counts (a table bounded
  by the model: one row per distinct comparison vector), run in Splink's in-process DuckDB
  (`LOCAL_TABLES`), with the same SQL and the same results (docs/scale.md "Speed").
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from linkage.resolve.sampling import use_neutral_sampling

log = logging.getLogger(__name__)


# The local session's JVM runs the driver and the executor on the same cores as the Python
# workers, so every CPU-second the JVM spends beside the tasks is lost to them. Per-thread CPU
# of the JVM (docs/scale.md "Where the CPU goes") put G1's concurrent marking at 19-22 of
# 237-241 CPU-s on medium and 111 of 805 on large; the throughput collector has no concurrent
# phase: large 525 s -> 457 s, medium 149-152 s -> 125-133 s (alternating runs). The quick
# JIT tier alone (-XX:TieredStopAtLevel=1) helps medium (128 s: hundreds of short jobs, each
# with new generated code) but slows the tasks of large (561 s), so it is left to
# GUANLIAN_SPARK_JAVA_OPTIONS; "" keeps the JVM's defaults.
JAVA_OPTIONS = "-XX:+UseParallelGC"


class SparkSettings(BaseSettings):
    """Local Spark session settings (env prefix `GUANLIAN_SPARK_`)."""

    model_config = SettingsConfigDict(env_prefix="GUANLIAN_SPARK_", extra="ignore", frozen=True)

    threads: int | None = Field(
        default=None, ge=1, description="cores of local[N]; default: the engine's thread count"
    )
    driver_memory: str = Field(default="2g", description="spark.driver.memory")
    shuffle_partitions: int = Field(default=8, ge=1, description="spark.sql.shuffle.partitions")
    break_lineage: Literal["persist", "parquet", "checkpoint"] = Field(
        default="parquet",
        description="how Splink materialises intermediate tables (parquet: written to the "
        "temporary checkpoint folder, bounded memory)",
    )
    java_options: str = Field(
        default=JAVA_OPTIONS,
        description="spark.driver.extraJavaOptions of the local session (its JVM is driver "
        "and executor): the throughput collector, see JAVA_OPTIONS",
    )
    local_dir: str | None = Field(
        default=None, description="parent of the scratch and checkpoint folders (default: TMPDIR)"
    )
    udf_dir: str | None = Field(
        default=None,
        description="where the Java UDF jar is built and kept (default: XDG_CACHE_HOME or "
        "~/.cache, then guanlian)",
    )


@lru_cache(maxsize=1)
def get_spark_settings() -> SparkSettings:
    return SparkSettings()


@lru_cache(maxsize=1)
def scratch_dir() -> str:
    """A private scratch folder for this process, removed at exit."""
    path = tempfile.mkdtemp(prefix="guanlian-spark-", dir=get_spark_settings().local_dir)
    atexit.register(shutil.rmtree, path, True)
    return path


def spark_uri(path: Path | str) -> str:
    """A local path as Spark should open it: `file://` and the absolute path, so a cluster whose
    default filesystem is HDFS reads the shared mount the driver sees; a URI is kept as is."""
    text = str(path)
    if "://" in text:
        return text
    return "file://" + str(Path(text).absolute())


def _import_pyspark() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            from pyspark.sql import SparkSession
    except ImportError as exc:
        raise RuntimeError(
            "--engine spark needs pyspark: pip install -e '.[spark]' (and Java 17+)"
        ) from exc
    return SparkSession


def _add_jar(spark: Any, jar: str) -> None:
    """Put `jar` on the class path of a session made elsewhere (a notebook, spark-submit)."""
    spark.sql("ADD JAR '" + jar.replace("'", "") + "'")


def spark_session(threads: int = 2) -> Any:
    """The process's local SparkSession (created on first use, with Splink's UDF jar and
    ours, `udf_jar`)."""
    spark_session_cls = _import_pyspark()
    from splink.backends.spark import similarity_jar_location

    # pyspark 4 warns on every pandas conversion that pandas 3 is not fully supported; the
    # frames exchanged here are plain object/int/bool/float columns, which convert fine
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )
    settings = get_spark_settings()
    cores = settings.threads or threads
    scratch = scratch_dir()
    jar = similarity_jar_location()
    active = spark_session_cls.getActiveSession()
    if active is not None:
        # a session made elsewhere (a notebook, a test, spark-submit): make sure Splink's UDF
        # jar is on it (ours: `use_duckdb_jaro_winkler`)
        if jar not in (active.sparkContext.getConf().get("spark.jars") or ""):
            _add_jar(active, jar)
        spark = active
    else:
        # bind the driver to loopback before the JVM starts (no network, no hostname warning)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers (mapInArrow, pandas UDFs) run this venv's interpreter
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        spark = (
            spark_session_cls.builder.master(f"local[{cores}]")
            .appName("guanlian-linkage")
            .config("spark.jars", ",".join([jar, *filter(None, [udf_jar()])]))
            .config("spark.driver.memory", settings.driver_memory)
            .config("spark.driver.extraJavaOptions", settings.java_options)
            .config("spark.pyspark.python", sys.executable)  # workers use this venv
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
            .config("spark.default.parallelism", str(settings.shuffle_partitions))
            .config("spark.local.dir", scratch)
            .config("spark.sql.warehouse.dir", f"{scratch}/warehouse")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            # broadcast a join side only on its measured size (adaptive execution), never on
            # the planner's estimate: a checkpointed table's estimate can be far too small,
            # and a million-row broadcast overran the bounded driver on the large run
            .config("spark.sql.autoBroadcastJoinThreshold", "-1")
            .config("spark.sql.adaptive.enabled", "true")
            .config("spark.sql.adaptive.autoBroadcastJoinThreshold", "10MB")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        log.info("started local Spark %s with %d cores, scratch %s", spark.version, cores, scratch)
    spark.sparkContext.setCheckpointDir(spark_uri(f"{scratch}/checkpoints"))
    return spark


# Splink's EM iterates over the agreement-pattern counts: one row per distinct comparison
# vector, a few hundred rows whatever the number of pairs. On Spark each iteration is a UNION
# of one aggregate per comparison (a dozen jobs, about a second even on a few hundred rows);
# in the process's DuckDB it is milliseconds, with the same SQL (transpiled) and arithmetic.
LOCAL_TABLES = ("__splink__agreement_pattern_counts",)
# u sampling crosses the random sample (a thousand rows or so: bounded by `max_pairs`) with
# itself: P partitions make P x P tasks whatever the input's partitioning
U_SAMPLE_PARTITIONS = 2


def _local_api_class() -> Any:
    """`SparkAPI` whose tables named in `LOCAL_TABLES` - bounded by the model, not by the data
    - are gathered from Spark into Splink's own in-process DuckDB, and whose queries reading
    only such tables (and the tables they produce) run there; everything else runs on
    Spark as before. The u sample is spread over `U_SAMPLE_PARTITIONS` partitions."""
    import duckdb
    import sqlglot
    from splink import SparkAPI
    from splink.internals.duckdb.dataframe import DuckDBDataFrame

    class LocalPatternsSparkAPI(SparkAPI):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._local: set[str] = set()

        def _repartition_if_needed(self, spark_df: Any, templated_name: str) -> Any:
            if templated_name == "__splink__df_concat_sample":
                return spark_df.repartition(U_SAMPLE_PARTITIONS)
            return super()._repartition_if_needed(spark_df, templated_name)

        def _is_local(self, sql: str) -> bool:
            return any(name in sql for name in self._local)

        def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
            if self._is_local(sql):
                return str(sqlglot.transpile(sql, read="spark", write="duckdb")[0])
            return str(super()._setup_for_execute_sql(sql, physical_name))

        def _execute_sql_against_backend(self, final_sql: str) -> Any:
            if self._is_local(final_sql):
                return self.duckdb_con.sql(final_sql)
            return super()._execute_sql_against_backend(final_sql)

        def _cleanup_for_execute_sql(self, table: Any, templated_name: str,
                                     physical_name: str) -> Any:
            if isinstance(table, duckdb.DuckDBPyRelation):
                table.create(physical_name)
            elif templated_name in LOCAL_TABLES:
                self.duckdb_con.register("__guanlian_arrow", table.toArrow())
                self.duckdb_con.execute(
                    f"CREATE TABLE {physical_name} AS SELECT * FROM __guanlian_arrow")
                self.duckdb_con.unregister("__guanlian_arrow")
            else:
                return super()._cleanup_for_execute_sql(table, templated_name, physical_name)
            self._local.add(physical_name)
            return DuckDBDataFrame(templated_name, physical_name, self)

        def delete_table_from_database(self, name: str) -> None:
            if name in self._local:
                self.duckdb_con.execute(f"DROP TABLE IF EXISTS {name}")
                self._local.discard(name)
            else:
                super().delete_table_from_database(name)

    return LocalPatternsSparkAPI


# DuckDB's Jaro-Winkler for Spark SQL: a Java UDF (source in the package, built into a jar
# with the JDK's javac on first use and kept in a cache folder), registered as the session's
# `jaro_winkler`, the name Splink's Spark SQL calls.
JAVA_UDF_SOURCE = Path(__file__).with_name("java") / "JaroWinkler.java"
JAVA_UDF_CLASS = "guanlian.spark.JaroWinkler"


def _udf_cache_dir() -> Path:
    configured = get_spark_settings().udf_dir
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "guanlian"


@lru_cache(maxsize=1)
def udf_jar() -> str | None:
    """The jar holding DuckDB's Jaro-Winkler for Spark (`JAVA_UDF_CLASS`), compiled from
    `JAVA_UDF_SOURCE` against pyspark's own jars the first time and then reused (its name
    carries a digest of the source and the Spark version). None, with a warning, when no
    `javac` is found or the build fails: the session then uses the slower Arrow UDF."""
    import hashlib
    import subprocess
    import zipfile

    import pyspark

    source = JAVA_UDF_SOURCE.read_bytes()
    digest = hashlib.sha256(source + pyspark.__version__.encode()).hexdigest()[:16]
    folder = _udf_cache_dir()
    jar = folder / f"guanlian-spark-udf-{digest}.jar"
    if jar.is_file():
        return str(jar)
    home = os.environ.get("JAVA_HOME")
    javac = shutil.which("javac", path=f"{home}/bin" if home else None) or shutil.which("javac")
    if javac is None:
        log.warning("no javac: Spark's jaro_winkler is the Arrow UDF (slower; DuckDB's to "
                    "about 1e-16, not to the last bit)")
        return None
    classpath = str(Path(pyspark.__file__).parent / "jars" / "*")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as work:
            subprocess.run([javac, "--release", "17", "-nowarn", "-cp", classpath,
                            "-d", work, str(JAVA_UDF_SOURCE)],
                           check=True, capture_output=True, text=True, timeout=300)
            part = Path(work) / jar.name
            with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
                for compiled in sorted(Path(work).rglob("*.class")):
                    archive.write(compiled, compiled.relative_to(work).as_posix())
            os.replace(part, jar)  # atomic: concurrent builders leave one whole jar
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        log.warning("could not build %s (%s): Spark's jaro_winkler is the Arrow UDF", jar, detail)
        return None
    log.info("built %s", jar)
    return str(jar)


def _jaro_winkler(a: pd.Series, b: pd.Series) -> pd.Series:
    """Jaro-Winkler similarity of each pair (null where either side is null, 0 where either
    is empty, as DuckDB's `jaro_winkler_similarity`): rapidfuzz's, the fallback when the
    Java UDF cannot be built. It differs from DuckDB's in the last bit on about a fifth of
    random pairs (rapidfuzz sums and rounds in another order)."""
    from rapidfuzz.distance import JaroWinkler

    similarity = JaroWinkler.normalized_similarity
    return pd.Series(pd.array(
        [None if x is None or y is None or x != x or y != y
         else (similarity(x, y) if x and y else 0.0)
         for x, y in zip(a, b, strict=True)], dtype="Float64"), index=a.index)


def use_duckdb_jaro_winkler(spark: Any) -> str:
    """Replace the session's `jaro_winkler` (the Splink jar's, which Splink's Spark SQL
    calls) by DuckDB's definition; returns which one: "java" (`JAVA_UDF_CLASS`, equal to
    DuckDB's to the last bit) or "arrow" (`_jaro_winkler`, when the jar is missing). The
    Splink jar's disagrees with DuckDB's on about half of all pairs of firm names in pinyin,
    by up to 0.14, and a few pairs cross a level's threshold (74 of 1.1 M random pairs at
    0.92 on medium), so the engines' models and links differed there; with one definition
    they do not."""
    from pyspark.sql.types import DoubleType

    def register() -> bool:
        try:
            spark.udf.registerJavaFunction("jaro_winkler", JAVA_UDF_CLASS, DoubleType())
        except Exception as exc:  # not on the session's class path: Spark says which way
            log.debug("%s not registered: %s", JAVA_UDF_CLASS, exc)
            return False
        return True

    # on the class path already: the local session's spark.jars, or spark-submit's --jars
    if register():
        return "java"
    jar = udf_jar()
    if jar is not None:
        _add_jar(spark, jar)
        if register():
            return "java"
        log.warning("could not register %s from %s: using the Arrow UDF", JAVA_UDF_CLASS, jar)
    from pyspark.sql.functions import pandas_udf

    udf = pandas_udf(_jaro_winkler, "double")  # type: ignore[call-overload]
    spark.udf.register("jaro_winkler", udf)
    return "arrow"


def spark_db_api(threads: int = 2) -> Any:
    """A Splink SparkAPI over the process's local SparkSession using `threads` cores (EM
    iterations on the agreement patterns in Splink's DuckDB: `LOCAL_TABLES`), sampling as
    the DuckDB engine does (`linkage.resolve.sampling`) and with its Jaro-Winkler."""
    spark = spark_session(threads)
    settings = get_spark_settings()
    api = use_neutral_sampling(_local_api_class()(
        spark_session=spark,
        break_lineage_method=settings.break_lineage,
        num_partitions_on_repartition=settings.shuffle_partitions,
    ))
    use_duckdb_jaro_winkler(spark)  # after the jar's functions, which the API registers
    return api


def stop_spark() -> None:
    """Stop the process's SparkSession, if one is running (tests, long-lived services)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
