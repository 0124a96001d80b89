"""The audit trail fails closed (issue 14): no answer without its durable entry, any input
encodable, identifiers masked, sizes bounded, files owner-only."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.audit_keys import load_ring
from api.audit_record import Redactor
from api.audit_verify import verify
from api.cli import app as cli
from tests.api.test_api_support import Served, serve
from tests.support.graph_fixture import A1

SURROGATE_BODY = '{"declarant_id":"310101195311203938","declarant_name":"\\ud800"}'
RESIDENT_ID = "310101195311203938"


def _entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


def _by_request(s: Served, rid: str) -> list[dict[str, Any]]:
    return [e for e in _entries(s.settings.audit_path) if e.get("request_id") == rid]


def _raw_post(s: Served, path: str, body: str, role: str, rid: str) -> Any:
    return s.client.post(path, content=body.encode("ascii"),
                         headers={**s.auth(role), "Content-Type": "application/json",
                                  "X-Request-ID": rid})


def test_the_lone_surrogate_lookup_of_the_issue_is_audited(tmp_path: Path) -> None:
    # the lone surrogate is refused as unprintable text (422, api/validation.py); the refusal,
    # like every answer, leaves exactly one entry, and the resident ID never reaches the log
    with serve(tmp_path) as s:
        answer = _raw_post(s, "/inspection/lookup", SURROGATE_BODY, "inspector", "surrogate-1")
        assert answer.status_code == 422, answer.text
        entries = _by_request(s, "surrogate-1")
        text = s.settings.audit_path.read_text(encoding="ascii")
    assert len(entries) == 1
    entry = entries[0]
    assert entry["endpoint"] == "/inspection/lookup" and entry["role"] == "inspector"
    assert entry["status"] == 422 and entry["outcome"] == "rejected"
    assert RESIDENT_ID not in text


def test_a_52_subject_screen_with_a_surrogate_has_one_entry_listing_every_subject(
    tmp_path: Path,
) -> None:
    subjects = [f'{{"uscc":"91310000MA1000003E","name":"firm {i}"}}' for i in range(51)]
    subjects.insert(17, SURROGATE_BODY)
    body = '{"subjects":[' + ",".join(subjects) + "]}"
    with serve(tmp_path) as s:
        answer = _raw_post(s, "/inspection/screen", body, "inspector", "screen-52")
        # refused whole for the unprintable name (422), and audited once
        assert answer.status_code == 422, answer.text
        entries = _by_request(s, "screen-52")
        text = s.settings.audit_path.read_text(encoding="ascii")
    assert len(entries) == 1
    assert entries[0]["status"] == 422 and entries[0]["outcome"] == "rejected"
    assert RESIDENT_ID not in text


def test_an_entry_is_on_disk_before_its_answer_is_released(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        for i in range(20):
            rid = f"order-{i}"
            r = s.get(f"/entities/{A1}", headers={"X-Request-ID": rid})
            assert r.status_code == 200
            # read the file with a fresh handle the moment the answer arrives
            assert len(_by_request(s, rid)) == 1
            seq, _ = s.client.app.state.services.audit.durable()  # type: ignore[attr-defined]
            assert seq == i + 1


def _withheld(response: Any, s: Served) -> None:
    """A 503 audit problem and nothing of the real answer."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "audit_unavailable" and int(response.headers["Retry-After"]) >= 1
    assert set(body) == {"type", "title", "status", "detail", "code", "request_id"}
    assert A1 not in response.text and "risk" not in response.text


def test_an_unwritable_log_path_withholds_answers_then_recovers(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        assert s.get(f"/entities/{A1}").status_code == 200
        log = s.settings.audit_path
        moved = log.with_name("audit.moved.jsonl")
        log.rename(moved)
        log.mkdir()  # the log path is now a directory: no file can be opened there
        for role, path in (("investigator", f"/entities/{A1}"),
                           ("inspector", f"/entities/{A1}/risk")):
            _withheld(s.get(path, role=role), s)
        lookup = s.post("/inspection/lookup", role="inspector",
                        json={"declarant_id": RESIDENT_ID})
        _withheld(lookup, s)
        assert RESIDENT_ID not in lookup.text
        log.rmdir()
        assert s.get(f"/entities/{A1}").status_code == 200  # recovers by itself
        api_check = s.get("/admin/audit/verify", role="admin").json()
    # the first entry stayed in the moved file; the new log starts after a visible gap
    assert len(_entries(moved)) == 1
    fresh = _entries(log)
    assert [e["seq"] for e in fresh] == [1, 2]  # failed entries were rolled back, not lost
    assert api_check["ok"] is False and api_check["first_bad_seq"] == 0


def _chattr(flag: str, path: Path) -> bool:
    try:
        return subprocess.run(["chattr", flag, str(path)], capture_output=True,
                              check=False).returncode == 0
    except OSError:
        return False


def test_an_immutable_log_withholds_answers_without_breaking_the_chain(tmp_path: Path) -> None:
    """The real file system refuses the write (`chattr +i`: even root cannot write)."""
    with serve(tmp_path) as s:
        log = s.settings.audit_path
        assert s.get("/whoami").status_code == 200
        if not _chattr("+i", log):
            pytest.skip("chattr +i needs root on ext4/xfs; the directory test covers the rest")
        try:
            _withheld(s.get(f"/entities/{A1}"), s)
            _withheld(s.post("/inspection/screen", role="inspector",
                             json={"subjects": [{"declarant_id": RESIDENT_ID}] * 3}), s)
        finally:
            _chattr("-i", log)
        assert s.get(f"/entities/{A1}").status_code == 200  # recovers by itself
        check = s.get("/admin/audit/verify", role="admin").json()
        config = s.settings.audit_config
    assert check["ok"] is True and check["entries"] == 2, check  # nothing half-written
    result = verify(config)
    assert result.ok and result.entries == 3, result


def test_files_are_owner_only_and_a_readable_key_is_refused(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        s.get("/whoami")
        config = s.settings.audit_config
    for path in (config.log_path, config.anchor_path, config.counter_path, config.key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    config.key_file.chmod(0o644)
    refused = CliRunner().invoke(cli, ["audit", "verify", "--state-dir",
                                       str(s.settings.state_dir)])
    assert refused.exit_code == 1 and "chmod 600" in refused.output
    try:
        with serve(tmp_path, run=s.settings.run_dir, state_dir=s.settings.state_dir):
            raise AssertionError("the service started with a world-readable audit key")
    except Exception as exc:  # noqa: BLE001 - the lifespan's own error
        assert "chmod 600" in str(exc)


def test_a_missing_log_is_a_failure_not_zero_entries(tmp_path: Path) -> None:
    empty = CliRunner().invoke(cli, ["audit", "verify", "--state-dir", str(tmp_path / "none")])
    assert empty.exit_code == 1 and "does not exist" in empty.output
    with serve(tmp_path) as s:
        s.get("/whoami")
        state = s.settings.state_dir
    assert CliRunner().invoke(cli, ["audit", "verify", "--state-dir", str(state)]).exit_code == 0
    (state / "audit.jsonl").unlink()
    gone = CliRunner().invoke(cli, ["audit", "verify", "--state-dir", str(state)])
    assert gone.exit_code == 1 and "does not exist" in gone.output


def test_identifiers_are_masked_and_entity_ids_kept(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        s.post("/inspection/lookup", role="inspector",
               json={"declarant_id": RESIDENT_ID, "declarant_name": "张伟",
                     "uscc": "91310000MA1000003E"})
        s.get("/search", params={"q": "张伟 13812345678"})
        s.get(f"/entities/{A1}/network")
        text = s.settings.audit_path.read_text(encoding="ascii")
        config = s.settings.audit_config
    lookup, search, network = _entries(config.log_path)
    ring = load_ring(None, config.key_file, create=False)
    digest = Redactor(ring.active.digest_key).digest
    assert lookup["params"]["subject"]["declarant_name"] == f"#{digest('张伟')}"
    assert lookup["params"]["subject"]["uscc"] == "91310000MA1000003E"  # a firm's code
    assert "张伟" not in json.dumps(lookup, ensure_ascii=False)
    # free text keeps its words; identifiers inside it are masked with their digest
    assert search["params"]["q"] == f"张伟 138****5678#{digest('13812345678')}"
    assert network["params"]["entity_id"] == A1 and A1 in network["entity_ids"]
    assert RESIDENT_ID not in text and "13812345678" not in text


def test_a_60_kb_parameter_does_not_grow_the_log_by_60_kb(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        s.get("/whoami")
        before = s.settings.audit_path.stat().st_size
        junk = "A" * 60_000
        r = s.get("/whoami", params={"junk": junk, "more": ["x" * 1500] * 3})
        assert r.status_code == 200
        grown = s.settings.audit_path.stat().st_size - before
        entry = _entries(s.settings.audit_path)[-1]
    assert grown < 1500, grown
    assert entry["params"]["junk"].startswith("A" * 48) and "60000 chars #" in \
        entry["params"]["junk"]


def test_a_garbled_line_reads_as_unreadable_and_waits_are_measured(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        s.get("/whoami")
        with s.settings.audit_path.open("a", encoding="ascii") as f:
            f.write('{"seq": "x"}\nnot json\n')
        page = s.get("/admin/audit", role="admin", params={"limit": 10})
        assert page.status_code == 200, page.text
        events = [e.get("event") for e in page.json()["items"]]
        metrics = s.get("/metrics", role="admin").text
    assert events == [None, "unreadable", "unreadable"]
    assert "guanlian_audit_wait_seconds_count" in metrics
    assert "guanlian_audit_failures_total 0.0" in metrics
