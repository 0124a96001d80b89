"""CLI commands contributed by `api/` (registered in api/cli.py)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's subcommands to the `guanlian` app."""
    del app
