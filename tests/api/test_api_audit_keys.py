"""The audit key: kept apart from the log, rotated into a new segment, required to verify;
checkpoints written at their interval and at shutdown."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from api.audit import AuditConfig, AuditLog
from api.audit_verify import verify
from api.cli import app as cli
from tests.api.test_api_support import serve, tiny_run

SECRET_A = "a" * 64
SECRET_B = "b" * 64


def _entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli, ["audit", *args])


def test_rotation_starts_a_new_segment_and_old_segments_still_verify(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    with serve(tmp_path, run) as s:
        s.get("/whoami")
        state = s.settings.state_dir
    first_kid = _entries(state / "audit.jsonl")[0]["kid"]
    rotated = _cli("rotate-key", "--state-dir", str(state))
    assert rotated.exit_code == 0, rotated.output
    assert len((state / "audit.key").read_text().splitlines()) == 2
    with serve(tmp_path, run, state_dir=state) as s2:
        s2.get("/whoami")
    entries = _entries(state / "audit.jsonl")
    assert [e.get("event") for e in entries] == [None, "segment_start", None]
    assert entries[1]["previous_kid"] == first_kid and entries[1]["kid"] != first_kid
    assert entries[2]["kid"] == entries[1]["kid"] and entries[1]["prev"] == entries[0]["hash"]
    ok = _cli("verify", "--state-dir", str(state))
    assert ok.exit_code == 0 and "3 entries" in ok.output, ok.output
    # without the old key the old segment cannot be vouched for
    key_file = state / "audit.key"
    key_file.write_text(key_file.read_text().splitlines()[1] + "\n")
    broken = _cli("verify", "--state-dir", str(state))
    assert broken.exit_code == 1 and first_kid in broken.output, broken.output


def test_a_key_from_the_environment_and_no_key_no_verification(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    with serve(tmp_path, run, audit_key=SECRET_A) as s:
        s.get("/whoami")
        config = s.settings.audit_config
    assert not config.key_file.exists()  # nothing of the key is next to the log
    no_key = verify(AuditConfig.in_folder(config.log_path.parent))
    assert not no_key.ok and "no audit key" in (no_key.reason or "")
    assert verify(AuditConfig.in_folder(config.log_path.parent, key_env=SECRET_A)).ok
    wrong = verify(AuditConfig.in_folder(config.log_path.parent, key_env=SECRET_B))
    assert not wrong.ok and wrong.first_bad_seq == 0
    # rotation through the environment: old key first, the new one last
    with serve(tmp_path, run, state_dir=config.log_path.parent,
               audit_key=f"{SECRET_A},{SECRET_B}") as s2:
        s2.get("/whoami")
    both = AuditConfig.in_folder(config.log_path.parent, key_env=f"{SECRET_A},{SECRET_B}")
    result = verify(both)
    assert result.ok and result.entries == 3, result


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    try:
        AuditLog(AuditConfig.in_folder(tmp_path, key_env="short"))
        raise AssertionError("a 5-character audit key was accepted")
    except Exception as exc:  # noqa: BLE001 - AuditKeyError
        assert "at least 32" in str(exc)


def test_checkpoints_at_their_interval_catch_a_cut_while_the_service_runs(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, audit_checkpoint_interval_s=0.1) as s:
        for _ in range(5):
            s.get("/whoami")
        config = s.settings.audit_config
        deadline = time.monotonic() + 10
        while json.loads(config.counter_path.read_text())["seq"] < 5:
            assert time.monotonic() < deadline, "no checkpoint within 10 s"
            time.sleep(0.05)
        lines = config.log_path.read_text().splitlines()
        config.log_path.write_text("\n".join(lines[:-1]) + "\n")
        offline = verify(config)  # no live counter: the interval checkpoint suffices
        assert not offline.ok and offline.first_bad_seq == 4, offline
    checkpoints = _entries(config.anchor_path)
    assert checkpoints[0]["reason"] == "start" and checkpoints[-1]["reason"] == "shutdown"
    assert any(c["reason"] == "interval" and c["seq"] == 5 for c in checkpoints)
