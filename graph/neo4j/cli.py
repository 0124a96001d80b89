"""`guanlian load`: sync a run folder into Neo4j (registered by `graph.commands.register`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from graph.neo4j.apply import DEFAULT_BATCH_SIZE


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
) -> None:
    """Load (or sync) a run into Neo4j: writes only what changed since the loaded run."""
    from graph.neo4j.conn import describe_error, get_settings, open_driver
    from graph.neo4j.loader import publish_run
    from graph.neo4j.store import warm_up_walks
    from graph.store import StoreUnavailable
    from graph.tables import RunFolderError

    def fail(message: str) -> None:
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(code=1)

    try:
        from graph.tables import check_run

        check_run(run)
        driver = open_driver(neo4j, user, password)
    except (RunFolderError, StoreUnavailable) as exc:
        fail(str(exc))
        return
    try:
        report = publish_run(
            driver, run, batch_size=batch_size, progress=not quiet, full_diff=full_diff
        )
        warm_up_walks(driver)
    except RunFolderError as exc:
        fail(str(exc))
        return
    except Exception as exc:  # driver errors mid-load: one line, non-zero exit
        fail(describe_error(exc, neo4j or get_settings().uri))
        return
    finally:
        driver.close()
    typer.echo(report.summary())
