"""Every tamper case of issue 14 is reported, with the first missing or altered entry, by
both `GET /admin/audit/verify` (live service) and `guanlian audit verify` (afterwards)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.audit_tamper import CASES, cut_last_line, write_lines
from api.audit_verify import verify
from api.cli import app as cli
from tests.api.test_api_support import Served, serve, tiny_run
from tests.support.graph_fixture import A1

INSPECTOR_LOOKUPS = 40
OTHER_REQUESTS = 430


def _traffic(s: Served) -> int:
    """Inspector lookups among many other reads; returns the number of entries."""
    for i in range(INSPECTOR_LOOKUPS + OTHER_REQUESTS):
        if i % 11 == 3 and i // 11 < INSPECTOR_LOOKUPS:
            r = s.post("/inspection/lookup", role="inspector",
                       json={"uscc": "91310000MA1000003E", "declarant_id": f"{i:018d}"})
        elif i % 2:
            r = s.get("/whoami", role="admin")
        else:
            r = s.get(f"/entities/{A1}")
        assert r.status_code == 200, r.text
    return s.client.app.state.services.audit.count  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("tamper-run"))


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory, run_dir: Path) -> tuple[Path, int]:
    """A state folder whose audit trail holds the traffic (served once, shut down)."""
    base = tmp_path_factory.mktemp("tamper-traffic")
    with serve(base, run_dir) as s:
        n = _traffic(s)
        state = s.settings.state_dir
    assert n > 420 + INSPECTOR_LOOKUPS
    return state, n


def _copy(traffic: tuple[Path, int], tmp_path: Path) -> tuple[Path, int]:
    state = tmp_path / "state"
    shutil.copytree(traffic[0], state)
    return state, traffic[1]


def _cli(state: Path) -> Any:
    return CliRunner().invoke(cli, ["audit", "verify", "--state-dir", str(state)])


@pytest.mark.parametrize("tamper", CASES, ids=lambda f: f.__name__)
def test_tampering_with_the_live_log_is_reported(tmp_path: Path, run_dir: Path,
                                                 traffic: tuple[Path, int],
                                                 tamper: Callable[[Path, int], int]) -> None:
    state, n = _copy(traffic, tmp_path)
    with serve(tmp_path, run_dir, state_dir=state) as s:
        assert s.client.app.state.services.audit.count == n  # type: ignore[attr-defined]
        assert s.get("/admin/audit/verify", role="admin").json()["ok"] is True
        first_bad = tamper(s.settings.audit_path, n + 1)
        check = s.get("/admin/audit/verify", role="admin").json()
    assert check["ok"] is False, check
    assert check["first_bad_seq"] == first_bad, check
    assert re.search(rf"\bentr(y|ies) {first_bad}\b", check["reason"]), check
    after = _cli(state)
    assert after.exit_code == 1, after.output
    assert f"at entry {first_bad} " in after.output, after.output


@pytest.mark.parametrize("tamper", CASES, ids=lambda f: f.__name__)
def test_tampering_after_shutdown_is_reported(tmp_path: Path, traffic: tuple[Path, int],
                                              tamper: Callable[[Path, int], int]) -> None:
    state, n = _copy(traffic, tmp_path)
    assert _cli(state).exit_code == 0
    first_bad = tamper(state / "audit.jsonl", n)
    result = _cli(state)
    assert result.exit_code == 1, result.output
    assert f"at entry {first_bad} " in result.output, result.output


def test_a_restart_after_a_cut_keeps_the_gap_visible(tmp_path: Path, run_dir: Path) -> None:
    with serve(tmp_path, run_dir) as s:
        for _ in range(10):
            s.get("/whoami")
        state = s.settings.state_dir
    cut_last_line(state / "audit.jsonl", 10)
    with serve(tmp_path, run_dir, state_dir=state) as s2:
        s2.get("/whoami")
        live = s2.get("/admin/audit/verify", role="admin").json()
        config = s2.settings.audit_config
    assert live["ok"] is False and live["first_bad_seq"] == 9, live
    offline = verify(config)
    assert not offline.ok and offline.first_bad_seq == 9
    entries = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in entries][-3:] == [8, 10, 11]  # continued from the counter


def test_forged_checkpoints_or_a_lost_anchor_are_reported(tmp_path: Path, run_dir: Path) -> None:
    with serve(tmp_path, run_dir) as s:
        for _ in range(5):
            s.get("/whoami")
        config = s.settings.audit_config
    lines = config.anchor_path.read_text().splitlines()
    forged = json.loads(lines[-1])
    forged["seq"] = 2
    write_lines(config.anchor_path, [*lines[:-1], json.dumps(forged)])
    result = verify(config)
    assert not result.ok and "altered or forged" in (result.reason or "")
    config.anchor_path.unlink()
    result = verify(config)
    assert not result.ok and "anchor store" in (result.reason or "")
    write_lines(config.anchor_path, lines)
    config.counter_path.unlink()
    result = verify(config)
    assert not result.ok and "counter" in (result.reason or "")
