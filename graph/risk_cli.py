"""`guanlian score` and `guanlian evaluate-risk` (registered by `graph.commands.register`)."""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path
from typing import Annotated

import typer

RunOption = Annotated[Path, typer.Option("--run", help="run folder written by `guanlian link`")]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="risk weights YAML (default: graph/risk.yaml)")
]


def _config(path: Path | None):  # type: ignore[no-untyped-def]
    from graph.risk_config import load_risk_config, read_risk_config

    return read_risk_config(path) if path else load_risk_config()


def score_command(
    run: RunOption,
    config: ConfigOption = None,
    prepare_graph: Annotated[bool, typer.Option(
        help="also prepare the run's graph rows for `guanlian load` (RUN/graph/)")] = True,
) -> None:
    """Score every enterprise and person of a run and write RUN/risk.parquet."""
    from graph.memory import release_memory
    from graph.neo4j.rows import prepare_rows
    from graph.risk import score_run
    from graph.tables import RunFolderError

    try:
        summary = score_run(run, _config(config))
        if prepare_graph:
            gc.collect()
            release_memory()  # scoring's frames are gone; preparing needs its own room
            started = time.perf_counter()
            prepare_rows(run)
            summary["graph_rows_seconds"] = round(time.perf_counter() - started, 2)
    except (RunFolderError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(json.dumps(summary, ensure_ascii=False))


def evaluate_risk_command(
    run: RunOption,
    truth: Annotated[Path, typer.Option("--truth", help="the generator's DIR/truth folder")],
    out: Annotated[Path | None, typer.Option("--out", help="also write the JSON here")] = None,
    config: ConfigOption = None,
) -> None:
    """Score prediction of held-out future violators and recall/precision of each query."""
    from graph.risk_eval import evaluate_risk
    from graph.tables import RunFolderError

    if not (truth / "risk.json").is_file() or not (truth / "mentions.csv").is_file():
        typer.echo(f"error: {truth} lacks risk.json / mentions.csv; pass DIR/truth of "
                   "`guanlian generate`", err=True)
        raise typer.Exit(code=2)
    try:
        result = evaluate_risk(run, truth, _config(config))
    except (RunFolderError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


def register_risk(app: typer.Typer) -> None:
    app.command("score")(score_command)
    app.command("evaluate-risk")(evaluate_risk_command)
