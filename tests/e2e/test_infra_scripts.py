"""The shell entry points: they parse, are executable, and scripts/neo4j hands out its settings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

EXECUTABLES = ["scripts/neo4j", "scripts/test", "scripts/demo", ".ci/run"]


@pytest.mark.parametrize("path", [*EXECUTABLES, "scripts/venv.sh"])
def test_script_parses(path: str) -> None:
    result = subprocess.run(["bash", "-n", str(ROOT / path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", EXECUTABLES)
def test_script_is_executable(path: str) -> None:
    assert os.access(ROOT / path, os.X_OK)


def test_neo4j_env_round_trips_awkward_passwords(tmp_path: Path) -> None:
    password = "a'b c$d\"e`f\\g"
    env = dict(
        os.environ,
        NEO4J_PASSWORD=password,
        NEO4J_USER="reader",
        NEO4J_BOLT_PORT="17999",
        NEO4J_STATE_DIR=str(tmp_path / "state"),
    )
    shell = (
        'eval "$(scripts/neo4j env)" && '
        'printf "%s\\n%s\\n%s" "$NEO4J_URI" "$NEO4J_USER" "$NEO4J_PASSWORD"'
    )
    result = subprocess.run(
        ["bash", "-c", shell], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n") == ["bolt://127.0.0.1:17999", "reader", password]


def test_neo4j_generates_a_password_once_and_keeps_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NEO4J_PASSWORD"}
    env.update(NEO4J_BOLT_PORT="17998", NEO4J_STATE_DIR=str(tmp_path / "state"))

    def password() -> str:
        out = subprocess.run(
            [str(ROOT / "scripts/neo4j"), "env"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return next(line for line in out.splitlines() if "NEO4J_PASSWORD=" in line).split("=", 1)[1]

    first = password()
    assert len(first) >= 16
    assert password() == first
    stored = tmp_path / "state" / "password"
    assert stored.read_text().strip() == first
    assert stored.stat().st_mode & 0o077 == 0


def test_neo4j_rejects_unknown_commands() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts/neo4j"), "restart-everything"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "start | stop | status | wait" in result.stderr
