"""`guanlian link`, `guanlian score` and `guanlian load`: the pipeline's steps on the command
line (registered in api/cli.py); `link --score` runs the first two in one process."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from graph.neo4j import DEFAULT_BATCH_SIZE
from risk.cli import ConfigOption, RunOption, risk_config


class EngineName(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def link_command(
    sources: Annotated[Path, typer.Option(help="sources.yaml describing the agency files")],
    out: Annotated[Path, typer.Option(help="run folder to write (replaced atomically)")],
    previous: Annotated[Path | None, typer.Option(help="previous run: keep its entity IDs")] = None,
    engine: Annotated[EngineName, typer.Option(help="Splink backend")] = EngineName.duckdb,
    judgements: Annotated[Path | None, typer.Option(
        help="human judgements (CSV/JSON: mention_id_l, mention_id_r, judgement, who, when)")
    ] = None,
    retrain: Annotated[bool, typer.Option(
        help="with --previous: train new models instead of reusing the previous run's")] = False,
    score: Annotated[bool, typer.Option(
        help="then score the run and prepare its graph rows, as `guanlian score` does, in "
        "this process (duckdb: the pandas score; spark: the Spark score in the same Spark "
        "session, one JVM for the whole batch)")] = False,
) -> None:
    """Resolve enterprises and persons across the sources into a run folder."""
    from linkage.errors import LinkageError
    from linkage.run import link
    from runfolder.folder import RunFolderError

    try:
        result = link(sources, out, previous=previous, engine=engine.value,
                      judgements=judgements, retrain=retrain)
    except LinkageError as exc:  # a file, a mapping or a row the user can fix: no traceback
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    for name, counts in result.report.get("sources", {}).items():
        if not counts.get("rows_in"):
            typer.echo(f"warning: source {name!r} has no data rows (a header only, or an "
                       f"empty file)", err=True)
        elif counts.get("rows_quarantined") == counts["rows_in"]:
            typer.echo(f"warning: every row of source {name!r} is in quarantine "
                       f"({counts['rows_in']} rows; see RUN/quarantine.parquet)", err=True)
    line: dict[str, object] = {"run_id": result.run_id, "run_dir": str(result.run_dir),
                               "entities": result.entities,
                               "timings": result.report["timings"]}
    if score:
        try:
            line["score"] = score_linked(result.run_dir, engine.value, previous)
        except (RunFolderError, ValueError) as exc:  # as `guanlian score` reports them
            typer.echo(f"error: the run was linked ({result.run_dir}) but not scored: {exc}",
                       err=True)
            raise typer.Exit(code=2) from exc
    typer.echo(json.dumps(line, ensure_ascii=False))


def score_linked(run_dir: Path, engine: str, previous: Path | None) -> dict[str, object]:
    """`--score` of a link just written: `guanlian score` on the link's engine (DuckDB's is
    the pandas score), in this process (Spark's: on the session the link used)."""
    from pipeline.run import score_and_prepare, score_engine_of

    return score_and_prepare(run_dir, engine=score_engine_of(engine), previous=previous)


class ScoreEngine(StrEnum):
    pandas = "pandas"
    spark = "spark"


def score_command(
    run: RunOption,
    config: ConfigOption = None,
    engine: Annotated[ScoreEngine, typer.Option(
        help="pandas: rule and learned score in this process; spark: the rule score and the "
        "graph rows on Spark (the learned score is not computed, RUN/learned.json says "
        "so)")] = ScoreEngine.pandas,
    prepare_graph: Annotated[bool, typer.Option(
        help="also prepare the run's graph rows for `guanlian load` (RUN/graph/), on the "
        "score's engine")] = True,
    previous: Annotated[Path | None, typer.Option(
        help="the run this one reruns (`guanlian link --previous`): its learned model is "
        "kept, not retrained, until a run's newest event is learned.retrain_after_days past "
        "its labels", show_default=False)] = None,
) -> None:
    """Score every enterprise and person of a run and write RUN/risk.parquet."""
    from pipeline.run import score_and_prepare
    from runfolder.folder import RunFolderError

    try:
        summary = score_and_prepare(run, risk_config(config), engine=engine.value,
                                    previous=previous, prepare_graph=prepare_graph)
    except (RunFolderError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(json.dumps(summary, ensure_ascii=False))


def load_command(
    run: Annotated[Path, typer.Option("--run", help="run folder written by `guanlian link`")],
    neo4j: Annotated[
        str | None, typer.Option("--neo4j", help="bolt URI (default: NEO4J_URI)")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="default: NEO4J_USER")] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="default: NEO4J_PASSWORD")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="rows per UNWIND batch")
    ] = DEFAULT_BATCH_SIZE,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
    full_diff: Annotated[
        bool,
        typer.Option("--full-diff", help="diff against the graph even if it holds this run"),
    ] = False,
    bulk: Annotated[
        bool,
        typer.Option("--bulk", help="first load into an EMPTY database of the server "
                     "scripts/neo4j manages: Spark writes the importer's files, the server is "
                     "stopped, neo4j-admin imports, the server restarts, counts and checksum "
                     "are verified"),
    ] = False,
) -> None:
    """Load (or sync) a run into Neo4j: writes only what changed since the loaded run."""
    from graph.neo4j.bulk import BulkLoadError
    from graph.neo4j.conn import describe_error, get_settings
    from graph.store import StoreUnavailable
    from pipeline.run import Neo4jTarget, publish_bulk, publish_neo4j
    from runfolder.folder import RunFolderError

    target = Neo4jTarget(uri=neo4j, user=user, password=password, batch_size=batch_size,
                         progress=not quiet, full_diff=full_diff)
    try:
        summary = publish_bulk(run, target) if bulk else publish_neo4j(run, target)
    except (RunFolderError, StoreUnavailable, BulkLoadError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    except Exception as exc:  # driver errors mid-load: one line, non-zero exit
        typer.echo(f"error: {describe_error(exc, neo4j or get_settings().uri)}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(summary)


def register(app: typer.Typer) -> None:
    """Add this package's subcommands to the `guanlian` app."""
    app.command("link")(link_command)
    app.command("load")(load_command)
    app.command("score")(score_command)
