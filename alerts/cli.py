"""`guanlian alerts --run NEW --previous OLD`: what a rerun will raise, before it is published."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # the comparison (pandas, the graph readers) loads when a command runs
    from alerts.models import Alert


def read_ledger(path: Path | None) -> set[str]:
    """Alert keys already raised (one JSON object with `alert_key` per line)."""
    if path is None or not path.is_file():
        return set()
    keys = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            keys.add(str(json.loads(line)["alert_key"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: line {n}: not an alert record ({exc})") from exc
    return keys


def offline_alerts(run: Path, previous: Path, watched: list[str] | None = None,
                   seen: set[str] | None = None) -> tuple[list[Alert], dict[str, Any]]:
    """The alerts of `run` against `previous`, the seconds the comparison took and how each
    run's snapshot was read ("kept": RUN/alert_snapshot/, "derived": from the tables)."""
    from alerts.detect import compare
    from alerts.snapshot import read_snapshot

    started = time.perf_counter()
    new, old = read_snapshot(run), read_snapshot(previous)
    alerts = compare(new, old, watched or [], seen or set())
    return alerts, {"seconds": round(time.perf_counter() - started, 3), "snapshots": {
        name: "kept" if snap.kept else "derived" for name, snap in (("run", new),
                                                                    ("previous", old))}}


def alerts_command(
    run: Annotated[Path, typer.Option("--run", help="the new (scored) run folder")],
    previous: Annotated[Path, typer.Option("--previous", help="the run it replaces")],
    watch: Annotated[list[str] | None, typer.Option(
        help="a watched entity ID (its merge or split raises an alert)")] = None,
    ledger: Annotated[Path | None, typer.Option(
        help="JSON lines of alerts already raised: their conditions are not raised again; "
             "the new alerts are appended")] = None,
    out: Annotated[Path | None, typer.Option(help="write the alerts here (JSON lines)")] = None,
) -> None:
    """Alerts a rerun raises: new material risk only, each explained as data."""
    try:
        alerts, timing = offline_alerts(run, previous, watch, read_ledger(ledger))
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    lines = [a.model_dump_json() for a in alerts]
    for target in (p for p in (out, ledger) if p is not None):
        with target.open("a" if target == ledger else "w", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for line in lines)
    counts: dict[str, int] = {}
    for a in alerts:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    if out is None:
        for line in lines:
            typer.echo(line)
    typer.echo(json.dumps({"alerts": len(alerts), "by_kind": counts, **timing}),
               err=out is None)


def register(app: typer.Typer) -> None:
    app.command("alerts")(alerts_command)
