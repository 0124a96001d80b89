"""`link()`: agency files -> a run folder (see docs/contracts.md, "Run folder").

extract -> resolve (exact identifiers, Splink, context, judgements) -> stable IDs against
`--previous` (whose saved models also score this run, unless `retrain`) -> entity-level
tables -> Parquet + JSON + HTML report. The folder is written
as `RUN.tmp-<pid>` and renamed into place at the end, so a failed or killed run leaves the
previous contents of `RUN` intact.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from linkage.resolve.evidence import evidence_frame
from linkage.resolve.ids import assign_ids
from linkage.resolve.judgements import Judgement, latest, read_judgements
from linkage.resolve.models import KINDS, Kind
from linkage.resolve.outputs import (
    entities_table,
    events_table,
    mentions_table,
    relations_table,
)
from linkage.resolve.pipeline import Resolution, ResolveOptions, Scorer, resolve
from linkage.resolve.report import JUDGEMENTS_FILE, render_html, write_models
from linkage.resolve.scoring import Engine, Scored, saved_model, score_with_model
from runfolder.folder import REPORT_VERSION, staged, write_frame, write_report
from runfolder.schema import TABLES

log = logging.getLogger(__name__)
EXTRACTION_DIR = "extraction"  # mention-level inputs, kept for incremental linking


class ExtractionLike(Protocol):
    mentions: pd.DataFrame
    relations: pd.DataFrame
    events: pd.DataFrame
    quarantine: pd.DataFrame
    counts: dict[str, dict[str, int]]
    malformed: pd.DataFrame  # values left empty because they could not be read (rowmap notes)


@dataclass
class Reuse:
    """For incremental linking: links kept from the previous run and a scorer that only
    scores new records with the previous run's models."""

    fixed: list[tuple[str, str, str, float | None, float, str]]
    scorer: Scorer


@dataclass
class RunResult:
    run_dir: Path
    run_id: str
    report: dict[str, Any]
    entities: dict[str, int] = field(default_factory=dict)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("run-%Y%m%dT%H%M%S%fZ")


@contextmanager
def _stages(quiet: bool) -> Iterator[Any]:
    """A rich status line for long stages (silent when `quiet` or not a terminal)."""
    if quiet:
        yield lambda _msg: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("linking") as status:
        def update(msg: str) -> None:
            status.update(f"[bold]linking[/bold]: {msg}")
            log.info("stage: %s", msg)

        yield update


def _load_previous(previous: Path | None) -> tuple[pd.DataFrame | None, list[Judgement]]:
    if previous is None:
        return None, []
    table = previous / "mentions.parquet"
    if not table.exists():
        raise FileNotFoundError(f"--previous {previous}: no mentions.parquet")
    prev = pd.read_parquet(table, columns=["mention_id", "entity_id"])
    judged: list[Judgement] = []
    if (previous / JUDGEMENTS_FILE).exists():
        judged = read_judgements(previous / JUDGEMENTS_FILE)
    return prev, judged


def link(
    sources_yaml: Path | str,
    out_dir: Path | str,
    previous: Path | str | None = None,
    engine: Engine = "duckdb",
    judgements: Path | str | None = None,
    *,
    quiet: bool = False,
    retrain: bool = False,
) -> RunResult:
    """Extract the sources of `sources_yaml` and write a run folder at `out_dir`.

    With `previous`, the previous run's trained models score this run's pairs (no training),
    unless `retrain` is set or the saved models no longer fit the code (then it trains)."""
    from linkage.extract import extract

    if engine == "spark":
        return link_spark_run(sources_yaml, out_dir, previous, judgements, quiet)
    t0 = time.perf_counter()
    extraction = extract(Path(sources_yaml))
    t_extract = time.perf_counter() - t0
    reuse = None if previous is None or retrain else previous_models(Path(previous), engine)
    return link_extraction(
        extraction, out_dir, previous=previous, engine=engine, judgements=judgements,
        quiet=quiet, extra_timings={"extract": t_extract}, reuse=reuse,
    )


def link_spark_run(sources_yaml: Path | str, out_dir: Path | str, previous: Path | str | None,
                   judgements: Path | str | None, quiet: bool) -> RunResult:
    """`link --engine spark`: every stage from the extracted mentions on as Spark DataFrame
    work (`linkage.spark.link`); the models are trained afresh (a previous run's IDs and
    judgements carry over)."""
    from linkage.spark.link import link_spark

    with _stages(quiet) as stage:
        report = link_spark(sources_yaml, out_dir, previous=previous, judgements=judgements,
                            progress=stage)
    return RunResult(Path(out_dir), report["run_id"], report, dict(report["entities"]))


def previous_models(previous: Path, engine: Engine) -> Reuse | None:
    """A scorer that applies the previous run's saved models to every blocked pair, or None
    when a model is missing or no longer fits the code (the run then trains afresh)."""
    models = {}
    for kind in KINDS:
        try:
            models[kind] = saved_model(previous, kind, engine)
        except (OSError, ValueError) as exc:
            log.info("previous model not reused (%s): retraining", exc)
            return None

    def scorer(kind: Kind, table: pd.DataFrame) -> Scored:
        return score_with_model(kind, table, models[kind], engine=engine)

    return Reuse(fixed=[], scorer=scorer)


def link_extraction(
    extraction: ExtractionLike,
    out_dir: Path | str,
    previous: Path | str | None = None,
    engine: Engine = "duckdb",
    judgements: Path | str | None = None,
    *,
    quiet: bool = False,
    options: ResolveOptions | None = None,
    extra_timings: dict[str, float] | None = None,
    reuse: Reuse | None = None,
) -> RunResult:
    """Resolve an already extracted set of mentions and write the run folder."""
    out = Path(out_dir)
    run_id = new_run_id()
    timings = dict(extra_timings or {})
    prev_mentions, prev_judgements = _load_previous(Path(previous) if previous else None)
    judged = list(prev_judgements)
    if judgements is not None:
        judged += read_judgements(Path(judgements))
    judged = latest(judged)
    opts = options or ResolveOptions(engine=engine)

    with _stages(quiet) as stage:
        mentions = extraction.mentions.reset_index(drop=True)
        resolution = resolve(
            mentions, extraction.relations, judged, opts, progress=stage,
            fixed=reuse.fixed if reuse else (), scorer=reuse.scorer if reuse else None,
        )
        timings.update(resolution.timings)
        stage("naming entities")
        t = time.perf_counter()
        assignment = assign_ids(mentions["mention_id"], mentions["kind"], resolution.labels,
                                prev_mentions)
        timings["ids"] = time.perf_counter() - t
        stage("writing tables")
        t = time.perf_counter()
        with staged(out) as tmp:
            report = _write_run(tmp, run_id, extraction, mentions, resolution, assignment,
                                judged, opts, timings, t)
    return RunResult(out, run_id, report, dict(report["entities"]))


def _write_run(
    tmp: Path, run_id: str, extraction: ExtractionLike, mentions: pd.DataFrame,
    resolution: Resolution, assignment: Any, judged: list[Judgement], opts: ResolveOptions,
    timings: dict[str, float], t_write: float,
) -> dict[str, Any]:
    """Write the run folder's tables, models, charts and report into `tmp`.

    The cyclic garbage collector is paused meanwhile: the tables are built from millions
    of short-lived objects and nothing here makes reference cycles, while each full
    collection would walk every live object of the run (links, predictions)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _write_tables(tmp, run_id, extraction, mentions, resolution, assignment,
                             judged, opts, timings, t_write)
    finally:
        if enabled:
            gc.enable()


def _write_tables(
    tmp: Path, run_id: str, extraction: ExtractionLike, mentions: pd.DataFrame,
    resolution: Resolution, assignment: Any, judged: list[Judgement], opts: ResolveOptions,
    timings: dict[str, float], t_write: float,
) -> dict[str, Any]:
    entity_of = assignment.entity_of
    m_table = mentions_table(mentions, entity_of)
    entity_by_mention = pd.Series(entity_of, index=mentions["mention_id"].astype(str).to_numpy())
    entities = entities_table(m_table)
    relations = relations_table(extraction.relations, entity_by_mention)
    events = events_table(extraction.events, entity_by_mention)
    predictions = {k: s.predictions for k, s in resolution.scored.items()}
    evidence = evidence_frame(resolution.links, mentions["mention_id"].astype(str), entity_of,
                              predictions, mentions["kind"].astype(str))
    quarantine = extraction.quarantine
    save_extraction(tmp / EXTRACTION_DIR, extraction)

    for name, frame in (
        ("mentions", m_table), ("entities", entities), ("relations", relations),
        ("events", events), ("evidence", evidence), ("quarantine", quarantine),
        ("changelog", assignment.changelog),
    ):
        write_frame(frame, tmp / TABLES[name].file, run_id=run_id)

    summaries, charts = write_models(tmp, resolution, judged)

    timings["write"] = time.perf_counter() - t_write
    kinds = entities["kind"].value_counts()
    report: dict[str, Any] = {
        "run_id": run_id,
        "created_at": datetime.now(UTC).isoformat(),
        "version": REPORT_VERSION,
        "engine": opts.engine,
        "sources": extraction.counts,
        "reconciled": all(
            c["rows_in"] == c["rows_mapped"] + c["rows_quarantined"]
            for c in extraction.counts.values()
        ),
        "entities": {k: int(kinds.get(k, 0)) for k in ("enterprise", "person")},
        "mentions": {k: int((m_table["kind"] == k).sum()) for k in ("enterprise", "person")},
        "relations": len(relations),
        "events": len(events),
        "quarantined_rows": len(quarantine),
        "malformed_values": malformed_counts(extraction.malformed),
        "shares_read_as_fractions": getattr(extraction, "fractions", []),
        "pairs_compared": resolution.stats["pairs_compared"],
        "resolution": {
            **resolution.stats,
            "thresholds": opts.thresholds,
            "changelog": assignment.changelog["change"].value_counts().to_dict(),
        },
        "models": summaries,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    write_report(tmp, report)
    (tmp / "report.html").write_text(render_html(report, charts), encoding="utf-8")
    return report


def malformed_counts(notes: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per source and field, how many values could not be read and were left empty."""
    if notes.empty:
        return {}
    sizes = notes.groupby(["source", "field"], sort=True).size().reset_index(name="n")
    out: dict[str, dict[str, int]] = {}
    for source, field_name, n in sizes.itertuples(index=False):
        out.setdefault(str(source), {})[str(field_name)] = int(n)
    return out


def save_extraction(directory: Path, extraction: ExtractionLike) -> None:
    """Keep the mention-level tables so `linkage.incremental` can add records later."""
    directory.mkdir(parents=True, exist_ok=True)
    write_frame(extraction.mentions, directory / "mentions.parquet", drop=("is_new",))
    write_frame(extraction.relations, directory / "relations.parquet")
    write_frame(extraction.events, directory / "events.parquet")
    write_frame(extraction.quarantine, directory / "quarantine.parquet")
    write_frame(extraction.malformed.astype({"row_number": "int64"}),
                directory / "malformed.parquet")
    (directory / "counts.json").write_text(
        json.dumps(extraction.counts, ensure_ascii=False, indent=1), encoding="utf-8"
    )
