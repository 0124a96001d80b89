"""One pipeline: link -> score -> prepare graph rows -> publish to a store (+ warm-up).

Each step is a function the CLI calls on its own (`guanlian link`, `guanlian score` = score +
prepare, `guanlian load` = publish to Neo4j); `run_pipeline` runs them all in that order;
the API's rerun jobs (`api/jobs.py`) run `run_batch`, all but the embedded store, in a process
of their own (`pipeline.child`).

- link: `linkage.run.link` writes the run folder (atomically; `previous` keeps entity IDs).
- score: `risk.score.score_run` writes `RUN/risk.parquet` (`guanlian score --engine spark`:
  `risk.spark_score.spark_score_run`, the rule score only). The score runs on the link's
  engine (`score_engine_of`): a Spark link is scored on Spark, in the session it linked in,
  so a rerun job with `GUANLIAN_LINK_ENGINE=spark` gathers no table into the API's process.
- prepare: the Neo4j writer's rows and hashes, kept in `RUN/graph/` (what a load syncs), on
  the score's engine. The embedded store builds its graph from the run tables, so for an
  embedded target this step is skipped unless asked for.
- publish: Neo4j - sync the run into the graph (a diff against the run it holds) and warm up
  the walk queries; embedded - build an `EmbeddedStore` on the run, for the caller to serve.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from graph.memory import release_memory
from graph.policy import WalkPolicy
from graph.store import GraphReader
from linkage.resolve.scoring import Engine
from risk.config import RiskConfig, load_risk_config
from runfolder.folder import check_run

if TYPE_CHECKING:
    from neo4j import Driver

Stage = Literal["linking", "scoring", "preparing", "publishing"]


ScoreBackend = Literal["pandas", "spark"]


def score_engine_of(link_engine: str) -> ScoreBackend:
    """The score's engine for a run linked on `link_engine`: Spark's run is scored on Spark
    (the same session), DuckDB's with pandas."""
    return "spark" if link_engine == "spark" else "pandas"


@dataclass(frozen=True)
class Neo4jTarget:
    """Publish into Neo4j (None: `graph.neo4j.conn`'s settings, i.e. NEO4J_* and .env)."""

    uri: str | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None
    batch_size: int | None = None  # rows per UNWIND batch (None: the loader's default)
    progress: bool = False
    full_diff: bool = False


@dataclass(frozen=True)
class EmbeddedTarget:
    """Publish as an embedded store built on the run folder."""


StoreTarget = Neo4jTarget | EmbeddedTarget


@dataclass(frozen=True)
class PipelineRequest:
    sources: Path  # sources.yaml
    run_dir: Path  # the run folder to write
    previous: Path | None = None  # the run whose entity IDs (and models) carry forward
    engine: Engine = "duckdb"
    target: StoreTarget = field(default_factory=EmbeddedTarget)
    risk_config: RiskConfig | None = None  # None: the configured one
    prepare_graph: bool | None = None  # None: when the target is Neo4j


@dataclass
class PipelineResult:
    run_dir: Path
    run_id: str
    score: dict[str, Any]
    store: GraphReader | None = None  # the embedded store built on the run (embedded target)
    load_summary: str | None = None  # what the Neo4j sync did (Neo4j target)


def link_step(sources: Path, run_dir: Path, previous: Path | None = None,
              engine: Engine = "duckdb", *, quiet: bool = True) -> str:
    """Link `sources` into the run folder `run_dir`; returns the new run ID."""
    from linkage.run import link

    run_dir.parent.mkdir(parents=True, exist_ok=True)
    return link(sources, run_dir, previous=previous, engine=engine, quiet=quiet).run_id


def score_step(run_dir: Path, config: RiskConfig | None = None,
               engine: ScoreBackend = "pandas",
               previous: Path | None = None) -> dict[str, Any]:
    """Score every enterprise and person of the run (RUN/risk.parquet) and keep what the
    alert comparison derives from the scored run (RUN/alert_snapshot/); a small summary.
    `previous`: the run this one reruns (its learned model is kept while it may be).
    `engine="spark"`: the rule score on Spark (`risk.spark_score`), no learned score and no
    snapshot (a pandas pass over the run; `guanlian alerts` derives it from the tables)."""
    if engine == "spark":
        from linkage.resolve.spark import spark_session
        from linkage.spark.frames import released
        from risk.spark_score import spark_score_run

        with released(spark_session()) as spark:  # it may serve more steps (rerun jobs)
            return spark_score_run(run_dir, config, spark)
    from alerts.snapshot import build_snapshot, write_snapshot
    from risk.score import score_run

    summary = score_run(run_dir, config, previous)
    gc.collect()
    started = time.perf_counter()
    write_snapshot(build_snapshot(Path(run_dir)))
    summary["alert_snapshot_seconds"] = round(time.perf_counter() - started, 2)
    return summary


def prepare_step(run_dir: Path, engine: ScoreBackend = "pandas") -> float:
    """Build and keep the run's graph rows (RUN/graph/), in this process or (`engine`
    "spark") on Spark (`graph.neo4j.spark_rows`); returns the seconds it took."""
    from graph.neo4j.rows import prepare_rows

    started = time.perf_counter()
    if engine == "spark":
        from graph.neo4j.spark_rows import prepare_rows_spark
        from linkage.resolve.spark import spark_session
        from linkage.spark.frames import released

        with released(spark_session()) as spark:
            prepare_rows_spark(run_dir, spark)
        return round(time.perf_counter() - started, 2)
    gc.collect()
    release_memory()  # scoring's frames are gone; preparing needs its own room
    prepare_rows(run_dir)
    return round(time.perf_counter() - started, 2)


def score_and_prepare(run_dir: Path, config: RiskConfig | None = None,
                      engine: ScoreBackend = "pandas",
                      previous: Path | None = None, *, prepare_graph: bool = True
                      ) -> dict[str, Any]:
    """What `guanlian score` does: the score (`score_step`) and, unless `prepare_graph` is
    off, the graph rows (`prepare_step`), both on `engine`; the score's summary with the
    graph rows' seconds. `guanlian link --score` and the spark-submit entry's `--score` call
    it right after the link, in the same process (on Spark: the same session)."""
    summary = score_step(run_dir, config, engine=engine, previous=previous)
    if prepare_graph:
        summary["graph_rows_seconds"] = prepare_step(run_dir, engine=engine)
    else:
        summary["graph_rows"] = "not prepared (`guanlian load` prepares them)"
    return summary


def publish_neo4j(run_dir: Path, target: Neo4jTarget) -> str:
    """Sync the run into Neo4j and warm up the walk queries; returns the load summary.

    Raises `RunFolderError` for a run folder that cannot be loaded and `StoreUnavailable`
    when Neo4j cannot be reached; driver errors during the load propagate."""
    from graph.neo4j.apply import DEFAULT_BATCH_SIZE
    from graph.neo4j.conn import open_driver
    from graph.neo4j.loader import publish_run
    from graph.neo4j.store import warm_up_walks

    check_run(run_dir)
    driver = open_driver(target.uri, target.user, target.password)
    try:
        report = publish_run(driver, run_dir,
                             batch_size=target.batch_size or DEFAULT_BATCH_SIZE,
                             progress=target.progress, database=target.database,
                             full_diff=target.full_diff)
        warm_up_walks(driver, target.database)
    finally:
        driver.close()
    return report.summary()


def publish_bulk(run_dir: Path, target: Neo4jTarget) -> str:
    """First load of the run into the EMPTY database of the managed server with the offline
    importer (`graph.neo4j.bulk`), then warm up the walk queries; returns the summary.

    Raises `BulkLoadError` for a non-empty database, a connection that is not the managed
    server, or a graph that does not verify."""
    from graph.neo4j.bulk import ManagedServer, bulk_load, digest_source
    from graph.neo4j.conn import get_settings, open_driver
    from graph.neo4j.store import RESTART_WARM_UP_S, warm_up_walks
    from linkage.resolve.spark import spark_session, stop_spark

    check_run(run_dir)
    server = ManagedServer()
    server.check_target(target.uri or get_settings().uri)
    database = target.database or get_settings().database

    def connect() -> Driver:
        return open_driver(target.uri, target.user, target.password)

    try:
        report = bulk_load(run_dir, connect, spark_session, server=server, database=database,
                           source=digest_source(target.uri, target.user, target.password))
    finally:
        stop_spark()
    driver = connect()
    try:  # the import restarted the server: its first reads are slow until exercised
        warm_up_walks(driver, database, RESTART_WARM_UP_S)
    finally:
        driver.close()
    return report.summary()


def publish_embedded(run_dir: Path, policy: WalkPolicy | None = None) -> GraphReader:
    """An embedded store built on the run folder, walking with `policy` (default: the
    configured risk configuration's degree cap and hubs whitelist, as the API serves)."""
    from graph.embedded.store import EmbeddedStore

    return EmbeddedStore.from_run(run_dir, policy or load_risk_config())


def run_batch(request: PipelineRequest,
              on_stage: Callable[[Stage], None] | None = None) -> PipelineResult:
    """Link, score, prepare and (for a Neo4j target) publish, in that order, the score and
    the graph rows on the link's engine (`score_engine_of`); `on_stage` hears each step
    start. The whole batch but the embedded store, so that it can run in a process of its
    own (`pipeline.child`, the API's rerun jobs)."""
    stage = on_stage or (lambda _stage: None)
    stage("linking")
    run_id = link_step(request.sources, request.run_dir, request.previous, request.engine)
    stage("scoring")
    engine = score_engine_of(request.engine)
    summary = score_step(request.run_dir, request.risk_config, engine=engine,
                         previous=request.previous)
    neo4j = isinstance(request.target, Neo4jTarget)
    prepare = request.prepare_graph if request.prepare_graph is not None else neo4j
    if prepare:
        stage("preparing")
        summary["graph_rows_seconds"] = prepare_step(request.run_dir, engine=engine)
    result = PipelineResult(request.run_dir, run_id, summary)
    if isinstance(request.target, Neo4jTarget):
        stage("publishing")
        result.load_summary = publish_neo4j(request.run_dir, request.target)
    return result


def run_pipeline(request: PipelineRequest,
                 on_stage: Callable[[Stage], None] | None = None) -> PipelineResult:
    """The whole pipeline in this process: `run_batch`, then for an embedded target the
    store built on the run (`publish_embedded`).
    A failing step raises and leaves whatever was served before untouched (the run folder
    is written atomically and published only once scored)."""
    result = run_batch(request, on_stage)
    if isinstance(request.target, EmbeddedTarget):
        (on_stage or (lambda _stage: None))("publishing")
        result.store = publish_embedded(request.run_dir, request.risk_config)
    return result
