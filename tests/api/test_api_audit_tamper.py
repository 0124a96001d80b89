"""Every tamper case of issue 14 is reported, with the first missing or altered entry, by
both `GET /admin/audit/verify` (live service) and `guanlian audit verify` (afterwards)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.audit_verify import verify
from api.cli import app as cli
from tests.api.test_api_support import Served, serve, tiny_run
from tests.support.graph_fixture import A1

INSPECTOR_LOOKUPS = 40
OTHER_REQUESTS = 430
Lines = list[str]


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


def _plain_hash(entry: dict[str, Any]) -> str:
    """What a forger without the key can compute: sha256 of the entry without `hash`."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _rechain(entries: list[dict[str, Any]], start: int) -> Lines:
    """Renumber and re-hash from `start` on, as the old sha256 chain would have it."""
    for i in range(start, len(entries)):
        entries[i]["seq"] = i
        entries[i]["prev"] = entries[i - 1]["hash"] if i else "0" * 64
        entries[i]["hash"] = _plain_hash(entries[i])
    return [json.dumps(e, separators=(",", ":")) for e in entries]


def _write(path: Path, lines: Lines) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="ascii")


def cut_last_line(path: Path, n: int) -> int:
    _write(path, path.read_text().splitlines()[:-1])
    return n - 1


def cut_last_420(path: Path, n: int) -> int:
    _write(path, path.read_text().splitlines()[:-420])
    return n - 420


def delete_file(path: Path, n: int) -> int:
    path.unlink()
    return 0


def delete_33_inspector_entries(path: Path, n: int) -> int:
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    inspector = [i for i, e in enumerate(entries) if e.get("role") == "inspector"][:33]
    assert len(inspector) == 33
    kept = [e for i, e in enumerate(entries) if i not in set(inspector)]
    _write(path, _rechain(kept, inspector[0]))
    return inspector[0]


def reorder(path: Path, n: int) -> int:
    lines = path.read_text().splitlines()
    lines[200], lines[201] = lines[201], lines[200]
    _write(path, lines)
    return 200


def rewrite_range(path: Path, n: int) -> int:
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    for e in entries[100:160]:
        e["key_name"], e["entity_ids"] = "someone-else", []
    _write(path, _rechain(entries, 100))
    return 100


CASES: list[Callable[[Path, int], int]] = [
    cut_last_line, cut_last_420, delete_file, delete_33_inspector_entries, reorder,
    rewrite_range,
]


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
    _write(config.anchor_path, [*lines[:-1], json.dumps(forged)])
    result = verify(config)
    assert not result.ok and "altered or forged" in (result.reason or "")
    config.anchor_path.unlink()
    result = verify(config)
    assert not result.ok and "anchor store" in (result.reason or "")
    _write(config.anchor_path, lines)
    config.counter_path.unlink()
    result = verify(config)
    assert not result.ok and "counter" in (result.reason or "")
