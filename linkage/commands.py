"""CLI commands contributed by `linkage/` (registered in api/cli.py): `generate` and
`evaluate`. `guanlian link` is the pipeline's first step (pipeline.commands)."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Size(StrEnum):
    tiny = "tiny"
    small = "small"
    medium = "medium"
    large = "large"


def generate_command(
    size: Annotated[Size, typer.Option(help="tiny≈200, small≈2,000, medium≈10,000, "
                                            "large≈100,000 firms")] = Size.small,
    seed: Annotated[int, typer.Option(help="random seed; same seed and size, same bytes")] = 7,
    out: Annotated[Path, typer.Option(help="output folder (data/, sources.yaml, truth/)")] = Path(
        "generated"),
    profile: Annotated[str, typer.Option(
        help="noise profile: a name in linkage/synth/profiles.yaml (default, malformed_ids, "
             "customs_english, messy_registry, person_spellings, masked_ids, anonymised, "
             "pasted, dates_written, hard) or a profile YAML file")] = "default",
) -> None:
    """Generate a synthetic multi-agency data set with ground truth."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from linkage.synth import generate, load_profile

    console = Console(stderr=True)
    try:
        chosen = load_profile(profile)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    started = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("generating", total=None)

        def step(msg: str) -> None:
            progress.update(task, description=f"[{size.value}] {msg}")

        generate(size.value, seed, out, progress=step, profile=chosen)
    elapsed = time.perf_counter() - started
    console.print(f"wrote {out} ({size.value}, seed {seed}, profile {chosen.name}) "
                  f"in {elapsed:.1f}s")


def evaluate_command(
    run: Annotated[Path, typer.Option(help="run folder written by `guanlian link`")],
    truth: Annotated[Path, typer.Option(
        help="truth CSV (source, record_id, role, entity or mention_id, entity) or the folder "
             "holding mentions.csv")],
    out: Annotated[Path | None, typer.Option(
        help="write the JSON here (default RUN/evaluation.json)")] = None,
) -> None:
    """Pairwise and B-cubed P/R/F1, namesake false merges, blocking recall per kind."""
    import json

    from linkage.evaluate import evaluate

    try:
        result = evaluate(run, truth)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    text = json.dumps(result, ensure_ascii=False, indent=2)
    (out or run / "evaluation.json").write_text(text, encoding="utf-8")
    typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add this package's subcommands to the `guanlian` app."""
    app.command("generate")(generate_command)
    app.command("evaluate")(evaluate_command)
