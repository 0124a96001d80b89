"""`guanlian evaluate-risk` (registered in api/cli.py) and the options the risk commands share;
`guanlian score` runs the pipeline's score step (pipeline.commands)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from risk.config import RiskConfig, load_risk_config, read_risk_config

RunOption = Annotated[Path, typer.Option("--run", help="run folder written by `guanlian link`")]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="risk weights YAML (default: risk/risk.yaml)")
]


def risk_config(path: Path | None) -> RiskConfig:
    """The risk configuration of `--config`, else the configured one."""
    return read_risk_config(path) if path else load_risk_config()


def evaluate_risk_command(
    run: RunOption,
    truth: Annotated[Path, typer.Option("--truth", help="the generator's DIR/truth folder")],
    out: Annotated[Path | None, typer.Option("--out", help="also write the JSON here")] = None,
    config: ConfigOption = None,
) -> None:
    """Score prediction of held-out future violators and recall/precision of each query."""
    from risk.evaluate import evaluate_risk
    from runfolder.folder import RunFolderError

    if not (truth / "risk.json").is_file() or not (truth / "mentions.csv").is_file():
        typer.echo(f"error: {truth} lacks risk.json / mentions.csv; pass DIR/truth of "
                   "`guanlian generate`", err=True)
        raise typer.Exit(code=2)
    try:
        result = evaluate_risk(run, truth, risk_config(config))
    except (RunFolderError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add this package's subcommands to the `guanlian` app."""
    app.command("evaluate-risk")(evaluate_risk_command)
