"""`guanlian --help`: every command listed, in the order of a batch and its use."""

from __future__ import annotations

from typer.testing import CliRunner

from api.cli import COMMAND_ORDER, app


def test_help_lists_the_commands_in_batch_order() -> None:
    names = [command.name for command in app.registered_commands]
    assert set(names) <= set(COMMAND_ORDER), "place a new command in COMMAND_ORDER"
    assert names == [name for name in COMMAND_ORDER if name in names]
    shown = CliRunner().invoke(app, ["--help"], terminal_width=200).stdout
    positions = [shown.index(f" {name} ") for name in ("generate", "link", "evaluate", "score",
                                                       "load", "serve")]
    assert positions == sorted(positions)
