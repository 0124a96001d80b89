"""`guanlian worklist`: the risk worklist of a run (embedded) or of the Neo4j server."""

from __future__ import annotations

import csv
import io
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the worklist (pandas, the stores) loads when the command runs
    from graph.worklist import WorklistPage

CSV_COLUMNS = ("rank", "entity_id", "kind", "name", "score", "level", "province", "city", "rules",
               "learned", "learned_level")


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def render(page: WorklistPage, fmt: Format) -> str:
    """The page as a rich table, CSV (header + one row per item) or JSON."""
    if fmt is Format.json:
        return page.model_dump_json(indent=2)
    rows = [
        (str(page.offset + i + 1), it.entity.entity_id, it.entity.kind, it.entity.name,
         f"{it.score:.2f}", it.level, it.province or "", it.city or "", " ".join(it.rules),
         "" if it.learned_score is None else f"{it.learned_score:.4f}", it.learned_level or "")
        for i, it in enumerate(page.items)
    ]
    if fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
        return buf.getvalue()
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"risk worklist: {len(rows)} of {page.total} from #{page.offset + 1}")
    for column in CSV_COLUMNS:
        right = column in ("rank", "score", "learned")
        table.add_column(column, justify="right" if right else "left")
    for row in rows:
        table.add_row(*row)
    console = Console(file=io.StringIO(), width=160, force_terminal=False)
    console.print(table)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return str(out)


def worklist_command(
    run: Annotated[Path | None, typer.Option(
        "--run", help="run folder (scored) to read with the embedded store")] = None,
    neo4j: Annotated[bool, typer.Option(
        "--neo4j", help="read the Neo4j server of NEO4J_URI instead")] = False,
    kind: Annotated[list[str] | None, typer.Option(help="Enterprise | Person")] = None,
    level: Annotated[list[str] | None, typer.Option(help="low | medium | high")] = None,
    rule: Annotated[list[str] | None, typer.Option(help="a reason rule, e.g. phoenix")] = None,
    province: Annotated[list[str] | None, typer.Option()] = None,
    city: Annotated[list[str] | None, typer.Option()] = None,
    agency: Annotated[list[str] | None, typer.Option(
        help="source name of a triggering event")] = None,
    event_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    event_to: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    changed_since: Annotated[Path | None, typer.Option(
        help="an earlier run folder: only entities whose score or level changed")] = None,
    min_score: Annotated[float, typer.Option()] = 0.0,
    score: Annotated[str, typer.Option(
        help="rank by the rule score (rules) or the learned score (learned), where shipped")
    ] = "rules",
    limit: Annotated[int, typer.Option()] = 50,
    offset: Annotated[int, typer.Option()] = 0,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Scored entities ranked by score (desc, ties by ID), filtered and paged."""
    from pydantic import ValidationError

    from graph.store import GraphReader, StoreUnavailable
    from graph.worklist import WorklistQuery, changed_entities

    if (run is None) == (not neo4j):
        typer.echo("error: give exactly one of --run RUN or --neo4j", err=True)
        raise typer.Exit(code=2)
    try:
        ids = None
        if changed_since is not None:
            if run is None:
                raise ValueError("--changed-since needs --run (the run to compare)")
            ids = changed_entities(run, changed_since)
        query = WorklistQuery.model_validate({
            "kinds": kind or [], "levels": level or [], "rules": rule or [],
            "provinces": province or [], "cities": city or [], "sources": agency or [],
            "event_from": date.fromisoformat(event_from) if event_from else None,
            "event_to": date.fromisoformat(event_to) if event_to else None,
            "entity_ids": ids, "min_score": min_score, "score": score, "limit": limit,
            "offset": offset,
        })
        store: GraphReader
        if run is not None:
            from graph.embedded.store import EmbeddedStore

            store = EmbeddedStore.from_run(run)
        else:
            from graph.neo4j.conn import open_driver
            from graph.neo4j.store import Neo4jStore

            store = Neo4jStore(open_driver())
        try:
            page = store.worklist(query)
        finally:
            store.close()
    except (ValidationError, ValueError, FileNotFoundError, StoreUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(render(page, fmt), nl=False)
    if fmt is Format.json:
        typer.echo("")


def register(app: typer.Typer) -> None:
    """Add `guanlian worklist` to the app (api/cli.py assembles the commands)."""
    app.command("worklist")(worklist_command)
