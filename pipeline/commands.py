"""`guanlian score` and `guanlian load`: pipeline steps on the command line (registered in
api/cli.py). `guanlian link` (linkage.commands) is the first step."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from graph.neo4j import DEFAULT_BATCH_SIZE
from risk.cli import ConfigOption, RunOption, risk_config


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
    from pipeline.run import prepare_step, score_step
    from runfolder.folder import RunFolderError

    try:
        summary = score_step(run, risk_config(config), engine=engine.value, previous=previous)
        if prepare_graph:
            summary["graph_rows_seconds"] = prepare_step(run, engine=engine.value)
        else:
            summary["graph_rows"] = "not prepared (`guanlian load` prepares them)"
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
    app.command("load")(load_command)
    app.command("score")(score_command)
