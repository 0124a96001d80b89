"""The `guanlian` command: one typer app whose subcommands call library functions.

Each package contributes its own commands module; this file only assembles them.
"""

from __future__ import annotations

import typer

from alerts import cli as alerts_commands
from api import commands as api_commands
from graph import worklist_cli
from inspection import cli as inspection_commands
from linkage import commands as linkage_commands
from pipeline import commands as pipeline_commands
from risk import cli as risk_commands

app = typer.Typer(
    name="guanlian",
    help="Guanlian (关联): entity linkage and network risk for customs supervision.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("version")
def version() -> None:
    """Print the version of Guanlian and of its main dependencies."""
    from importlib.metadata import version as v

    for name in ("guanlian", "splink", "duckdb", "neo4j", "fastapi"):
        typer.echo(f"{name} {v(name)}")


for module in (linkage_commands, pipeline_commands, risk_commands, worklist_cli,
               alerts_commands, inspection_commands, api_commands):
    module.register(app)

# `guanlian --help` lists the commands in the order a batch and its use go: data, linkage and
# its evaluation, the score and the graph, the risk figures, inspection, then the service.
COMMAND_ORDER = ("generate", "link", "evaluate", "score", "load", "evaluate-risk", "worklist",
                 "alerts", "draw", "inspection-report", "serve", "version")
# (the command groups, inspectors, outcomes, keys and audit, follow the commands)
app.registered_commands.sort(key=lambda command: (
    COMMAND_ORDER.index(command.name) if command.name in COMMAND_ORDER else len(COMMAND_ORDER)))


if __name__ == "__main__":  # pragma: no cover
    app()
