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


def _backtest(run: Path, as_of: str, until: str | None, draw_share: float, learned: bool,
              config: Path | None) -> dict[str, object]:
    """`evaluate-risk --as-of`: the honest backtest of risk/backtest.py."""
    from datetime import date

    from risk.backtest import BacktestOptions, backtest

    try:
        start = date.fromisoformat(as_of)
        end = date.fromisoformat(until) if until else None
    except ValueError as exc:
        raise ValueError(f"--as-of / --until take a date YYYY-MM-DD ({exc})") from None
    if not 0 < draw_share < 1:
        raise ValueError(f"--draw-share must lie between 0 and 1, got {draw_share}")
    opts = BacktestOptions(as_of=start, horizon_end=end, draw_share=draw_share, learned=learned)
    return backtest(run, opts, risk_config(config))


def evaluate_risk_command(
    run: RunOption,
    truth: Annotated[Path | None, typer.Option(
        "--truth", help="the generator's DIR/truth folder (planted structures and held-out "
        "violators); not needed with --as-of")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="backtest: score with what was known on this date (YYYY-MM-DD), "
        "measure against the violations after it; needs only the run's dates")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="with --as-of: end of the horizon (default: the run's last event)")
    ] = None,
    draw_share: Annotated[float, typer.Option(
        "--draw-share", help="with --as-of: share of the population a simulated draw takes")
    ] = 0.05,
    learned: Annotated[bool, typer.Option(
        "--learned/--no-learned", help="with --as-of: train and measure the learned score")
    ] = True,
    out: Annotated[Path | None, typer.Option("--out", help="also write the JSON here")] = None,
    config: ConfigOption = None,
) -> None:
    """Score prediction of held-out future violators and recall/precision of each query; with
    --as-of, the honest backtest (rules, learned score and own-history baseline)."""
    from risk.evaluate import evaluate_risk
    from risk.truth import check_risk_truth
    from runfolder.folder import RunFolderError

    if as_of is not None:
        try:
            result = _backtest(run, as_of, until, draw_share, learned, config)
        except (RunFolderError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from exc
        _emit(result, out)
        return
    if truth is None:
        typer.echo("error: evaluate-risk needs --truth DIR/truth, or --as-of DATE for a "
                   "backtest on the run's own dates", err=True)
        raise typer.Exit(code=2)
    try:
        truth = check_risk_truth(truth, run)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    try:
        result = evaluate_risk(run, truth, risk_config(config))
    except (RunFolderError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    _emit(result, out)


def _emit(result: dict[str, object], out: Path | None) -> None:
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add this package's subcommands to the `guanlian` app."""
    app.command("evaluate-risk")(evaluate_risk_command)
