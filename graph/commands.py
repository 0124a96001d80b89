"""CLI commands contributed by `graph/` (registered in api/cli.py)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's subcommands to the `guanlian` app."""
    from graph.neo4j.cli import load_command
    from graph.risk_cli import register_risk
    from graph.worklist_cli import worklist_command

    app.command("load")(load_command)
    register_risk(app)
    app.command("worklist")(worklist_command)
