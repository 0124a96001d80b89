"""`guanlian link --engine spark`: the run folder built by Spark, from the agency files on.

extract on Spark (`linkage.spark.ingest.extract_spark`: the files read by Spark, the same
quarantine and reconciled counts as `linkage.extract`) -> mentions with a long index `i` ->
`resolve.resolve` (pre-clusters and clusters as distributed components, constrained
clustering and context per bucket of components, Splink on Spark DataFrames) -> stable IDs
(`ids.py`) -> the tables (mentions, entities, relations, events, evidence, changelog,
quarantine and the kept extraction) built by Spark, the per-group pandas code of
`linkage.resolve.outputs` running on buckets of entities -> Parquet. Nothing gathers a table
in the driver: it receives the models, counts and the report. Spark writes each table as part
files; they are joined into the run folder's single `RUN/<table>.parquet` (the contract) one
row group at a time (`_write`).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from linkage.resolve.judgements import Judgement, latest, read_judgements
from linkage.resolve.pipeline import ResolveOptions
from linkage.resolve.report import JUDGEMENTS_FILE, render_html, write_models
from linkage.resolve.spark import spark_uri
from linkage.spark.frames import checkpoint, released
from linkage.spark.ids import changelog, entity_ids
from linkage.spark.ingest import SparkExtraction, extract_spark
from linkage.spark.outputs import (
    entities_table,
    events_table,
    evidence_table,
    mentions_table,
    relations_table,
)
from linkage.spark.resolve import resolve
from runfolder.folder import REPORT_VERSION, staged, write_report
from runfolder.parts import join_parts
from runfolder.schema import RUN_ID, TABLES

log = logging.getLogger(__name__)
EXTRACTION_DIR = "extraction"


def link_spark(sources_yaml: Path | str, out_dir: Path | str, *,
               previous: Path | str | None = None, judgements: Path | str | None = None,
               options: ResolveOptions | None = None, progress: Any = None) -> dict[str, Any]:
    """Link the sources with Spark and write the run folder at `out_dir`; returns the report."""
    from linkage.resolve.spark import get_spark_settings, spark_session

    # the session may serve more steps (`--score`, an API's rerun jobs)
    with released(spark_session(get_spark_settings().threads or 2)) as spark:
        return _link_spark(spark, Path(sources_yaml), Path(out_dir), previous, judgements,
                           options or ResolveOptions(engine="spark"),
                           progress or (lambda _msg: None))


def _link_spark(spark: Any, sources_yaml: Path, out_dir: Path, previous: Path | str | None,
                judgements: Path | str | None, opts: ResolveOptions,
                say: Callable[[str], None]) -> dict[str, Any]:
    run_id = datetime.now(UTC).strftime("run-%Y%m%dT%H%M%S%fZ")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    extraction = extract_spark(sources_yaml, spark)  # persisted, counts reconciled
    timings["extract"] = time.perf_counter() - t
    judged = _judgements(previous, judgements)
    prev = None
    if previous is not None:
        table = Path(previous) / "mentions.parquet"
        if not table.exists():
            raise FileNotFoundError(f"--previous {previous}: no mentions.parquet")
        prev = spark.read.parquet(spark_uri(table)).select("mention_id", "entity_id")

    from pyspark.sql import functions as F

    mentions = checkpoint(extraction.mentions.withColumn("i", F.monotonically_increasing_id()))
    resolution = resolve(spark, mentions, extraction.relations, judged, opts, say)
    timings.update(resolution.timings)
    say("naming entities")
    t = time.perf_counter()
    named, changes = entity_ids(spark, mentions, resolution.labels, prev)
    timings["ids"] = time.perf_counter() - t
    say("writing tables")
    t = time.perf_counter()
    try:
        with staged(out_dir) as tmp:
            report = _write_run(tmp, run_id, extraction, mentions, named,
                                changelog(changes, prev), resolution, judged, opts, timings, t)
    finally:
        extraction.unpersist()
    return report


def _judgements(previous: Path | str | None, judgements: Path | str | None) -> list[Judgement]:
    judged: list[Judgement] = []
    if previous is not None and (Path(previous) / JUDGEMENTS_FILE).exists():
        judged += read_judgements(Path(previous) / JUDGEMENTS_FILE)
    if judgements is not None:
        judged += read_judgements(Path(judgements))
    return latest(judged)


def _write(frame: Any, tmp: Path, name: str, run_id: str | None, *, file: str | None = None,
           schema: pa.Schema | None = None) -> int:
    """Write a Spark DataFrame as part files, then join them in order into one Parquet file
    with the contract's Arrow schema (and `run_id`), streamed in batches of bounded size.
    Returns the number of rows."""
    spec = TABLES.get(name)
    parts = tmp / "_spark" / name
    frame.write.mode("overwrite").parquet(spark_uri(parts))
    target = tmp / (file or (spec.file if spec else f"{name}.parquet"))
    files = sorted(p for p in parts.glob("part-*.parquet"))
    if schema is None and spec is not None:
        schema = pa.schema([f for f in spec.fields if f.name != RUN_ID
                            and f.name in frame.columns])
    if schema is None:
        schema = pq.read_schema(files[0]) if files else pa.schema([])
    rows = join_parts(files, target, schema, run_id=run_id)
    shutil.rmtree(parts)
    return rows


WRITERS = 3  # tables written at once (Spark runs the jobs of several driver threads together)
# (table name, its frame when called, run_id or None, `_write` options)
WriteJob = tuple[str, Callable[[], Any], str | None, dict[str, Any]]


def _built(frame: Any) -> Callable[[], Any]:
    """A write job's frame that exists already."""
    return lambda: frame


def _write_all(tmp: Path, jobs: list[WriteJob]) -> dict[str, int]:
    """`_write` of every job's table, `WRITERS` at a time; rows written by table name.

    A table's write is a few small Spark jobs (and some build their frame with a count
    first), each leaving a core idle while the driver plans the next and joins the part
    files: several tables side by side keep both cores busy. Medium, local[2]: the write
    stage 21.1-21.9 s one table at a time, 17.9-18.3 s three at a time."""
    def one(job: WriteJob) -> tuple[str, int]:
        name, frame, run_id, options = job
        return name, _write(frame(), tmp, name, run_id, **options)

    # a failed table raises, and `map` cancels the tables not yet started (the staged run
    # folder is then not published)
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="write") as pool:
        return dict(pool.map(one, jobs))


def _write_run(tmp: Path, run_id: str, extraction: SparkExtraction, mentions: Any,
               named: Any, changes: Any, resolution: Any, judged: list[Judgement],
               opts: ResolveOptions, timings: dict[str, float], t_write: float
               ) -> dict[str, Any]:
    from pyspark.sql import functions as F

    entity_of = checkpoint(mentions.select("i", "mention_id").join(named, "i").select(
        "mention_id", "entity_id"))  # read by the relations (twice) and the events
    m_table = mentions_table(mentions.join(named, "i")).persist()
    (tmp / EXTRACTION_DIR).mkdir()
    jobs: list[WriteJob] = [  # the longest first
        ("relations", lambda: relations_table(extraction.relations, entity_of), run_id, {}),
        ("entities", lambda: entities_table(m_table), run_id, {}),
        ("evidence", lambda: evidence_table(resolution, mentions, named), run_id, {}),
        ("mentions", lambda: m_table.orderBy("i").drop("i"), run_id, {}),
        ("events", lambda: events_table(extraction.events, entity_of), run_id, {}),
        ("changelog", lambda: changes, run_id, {}),
        ("quarantine", lambda: extraction.quarantine, run_id, {}),
    ] + [(f"extraction_{name}", _built(frame), None,
          {"file": f"{EXTRACTION_DIR}/{name}.parquet"})
         for name, frame in (("mentions", extraction.mentions),
                             ("relations", extraction.relations),
                             ("events", extraction.events),
                             ("quarantine", extraction.quarantine),
                             ("malformed", extraction.malformed))]
    written = _write_all(tmp, jobs)
    n_mentions, n_entities, n_relations, n_events, n_evidence, n_quarantine = (
        written[name] for name in ("mentions", "entities", "relations", "events", "evidence",
                                   "quarantine"))
    (tmp / EXTRACTION_DIR / "counts.json").write_text(
        json.dumps(extraction.counts, ensure_ascii=False, indent=1), encoding="utf-8")
    (tmp / "_spark").rmdir()

    summaries, charts = write_models(tmp, resolution, judged)

    timings["write"] = time.perf_counter() - t_write
    by_kind = {r["kind"]: (int(r["mentions"]), int(r["entities"])) for r in m_table.groupBy(
        "kind").agg(F.count("*").alias("mentions"),
                    F.countDistinct("entity_id").alias("entities")).collect()}
    change_counts = {r["change"]: int(r["n"]) for r in
                     changes.groupBy("change").agg(F.count("*").alias("n")).collect()}
    malformed: dict[str, dict[str, int]] = {}
    for r in extraction.malformed.groupBy("source", "field").count().collect():
        malformed.setdefault(str(r["source"]), {})[str(r["field"])] = int(r["count"])
    stats = dict(resolution.stats)
    stats["links"]["total_accepted"] = n_evidence
    report: dict[str, Any] = {
        "run_id": run_id,
        "created_at": datetime.now(UTC).isoformat(),
        "version": REPORT_VERSION,
        "engine": "spark",
        "sources": extraction.counts,
        "reconciled": all(c["rows_in"] == c["rows_mapped"] + c["rows_quarantined"]
                          for c in extraction.counts.values()),
        "entities": {k: by_kind.get(k, (0, 0))[1] for k in ("enterprise", "person")},
        "mentions": {k: by_kind.get(k, (0, 0))[0] for k in ("enterprise", "person")},
        "relations": n_relations,
        "events": n_events,
        "quarantined_rows": n_quarantine,
        "malformed_values": malformed,
        "shares_read_as_fractions": extraction.fractions,
        "pairs_compared": stats["pairs_compared"],
        "resolution": {**stats, "thresholds": opts.thresholds, "changelog": change_counts},
        "models": summaries,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    assert n_entities == sum(report["entities"].values()), "entities table and mentions differ"
    assert n_mentions == sum(report["mentions"].values())
    m_table.unpersist()
    write_report(tmp, report)
    (tmp / "report.html").write_text(render_html(report, charts), encoding="utf-8")
    return report
