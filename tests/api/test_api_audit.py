"""The audit log: what it records, its hash chain across restarts, tamper detection, masking."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.audit import GENESIS, AuditConfig, AuditLog
from api.audit_verify import verify
from api.cli import app as cli
from api.logs import JsonFormatter, MaskingFilter, mask
from tests.api.test_api_support import serve, tiny_run
from tests.support.graph_fixture import A1, CTRL, NAMESAKE_1


def _entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_reads_are_audited_with_caller_parameters_and_entities(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        assert s.get(f"/entities/{A1}/network", params={"depth": 2}).status_code == 200
        assert s.post("/inspection/lookup", role="inspector",
                      json={"uscc": "91310000MA1000003E"}).status_code == 200
        assert s.get(f"/entities/{A1}", role="inspector").status_code == 403
        assert s.client.get("/healthz").status_code == 200  # not audited: no caller
        entries = _entries(s.settings.audit_path)
    network, lookup, refused = entries
    assert network["key_id"] == s.key_ids["investigator"]
    assert network["key_name"] == "test-investigator" and network["role"] == "investigator"
    assert network["endpoint"] == "/entities/{entity_id}/network"
    assert network["params"] == {"depth": "2", "entity_id": A1}
    assert A1 in network["entity_ids"] and CTRL in network["entity_ids"]
    assert network["status"] == 200 and network["outcome"] == "ok"
    assert network["request_id"] and network["time"]
    assert lookup["params"]["subject"] == {"uscc": "91310000MA1000003E"}
    assert lookup["entity_ids"][0] == A1
    assert refused["status"] == 403 and refused["outcome"] == "denied"
    assert refused["entity_ids"] == []
    assert [e["seq"] for e in entries] == [0, 1, 2]
    assert entries[0]["prev"] == GENESIS
    assert entries[1]["prev"] == entries[0]["hash"]


def _ids_in(value: Any) -> list[str]:
    """Every entity ID string of a parsed answer, in document order, once."""
    if isinstance(value, dict):
        return [i for v in value.values() for i in _ids_in(v)]
    if isinstance(value, list):
        return [i for v in value for i in _ids_in(v)]
    if isinstance(value, str) and len(value) == 13 and value[0] in "EP":
        return [value] if all(c in "0123456789abcdef" for c in value[1:]) else []
    return []


def test_entry_lists_every_entity_id_the_answer_carries(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        answers = [s.get(f"/entities/{A1}/network", params={"depth": 2}),
                   s.post("/inspection/lookup", json={"uscc": "91310000MA1000003E"}),
                   s.post("/inspection/screen", json={"subjects": [
                       {"uscc": "91310000MA1000003E"}, {"name": "华信"}]}),
                   s.get(f"/entities/{A1}/risk")]
        entries = _entries(s.settings.audit_path)
    assert [a.status_code for a in answers] == [200] * 4
    for answer, entry in zip(answers, entries, strict=True):
        expected = list(dict.fromkeys(_ids_in(answer.json())))
        assert expected and entry["entity_ids"] == expected


def test_chain_survives_restart_and_admin_can_read_and_verify(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    with serve(tmp_path, run) as s:
        for _ in range(3):
            s.get("/whoami")
        state = s.settings.state_dir
    # a second process on the same state folder continues the chain
    with serve(tmp_path, run, state_dir=state) as s2:
        s2.get("/risk/hubs")
        page = s2.get("/admin/audit", role="admin", params={"offset": 1, "limit": 2}).json()
        assert [e["seq"] for e in page["items"]] == [1, 2]
        assert page["total"] == 4  # the read of this page is written after it is answered
        check = s2.get("/admin/audit/verify", role="admin").json()
        # the answer now also counts checkpoints and attested entries
        assert {k: check[k] for k in ("ok", "entries", "first_bad_line", "reason")} == {
            "ok": True, "entries": 5, "first_bad_line": None, "reason": None}
        config = s2.settings.audit_config
    entries = _entries(state / "audit.jsonl")
    assert [e["seq"] for e in entries] == list(range(6))
    assert entries[3]["prev"] == entries[2]["hash"]
    assert verify(config).ok


def test_editing_a_line_is_detected(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        s.get(f"/entities/{A1}")
        s.get(f"/entities/{NAMESAKE_1}")
        s.get("/whoami")
        path = s.settings.audit_path
        lines = path.read_text(encoding="utf-8").splitlines()
        forged = json.loads(lines[1])
        forged["entity_ids"] = []  # hide what was read
        lines[1] = json.dumps(forged, ensure_ascii=False)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        api_check = s.get("/admin/audit/verify", role="admin").json()
        state = str(s.settings.state_dir)
    assert api_check["ok"] is False and api_check["first_bad_line"] == 2
    result = verify(s.settings.audit_config)
    assert not result.ok and result.first_bad_line == 2 and "hash" in (result.reason or "")
    cli_check = CliRunner().invoke(cli, ["audit", "verify", "--state-dir", state])
    assert cli_check.exit_code == 1
    assert "line 2" in cli_check.output


def test_removing_or_reordering_lines_is_detected(tmp_path: Path) -> None:
    log = AuditLog(AuditConfig.in_folder(tmp_path))
    for i in range(4):
        log.append_sync({"endpoint": f"/e{i}"})
    log.close()
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    (tmp_path / "a.jsonl").write_text("\n".join([lines[0], lines[2], lines[3]]) + "\n")
    a = AuditConfig.in_folder(tmp_path, log_path=tmp_path / "a.jsonl")
    assert verify(a).first_bad_line == 2
    (tmp_path / "b.jsonl").write_text("\n".join([lines[1], lines[0], *lines[2:]]) + "\n")
    b = AuditConfig.in_folder(tmp_path, log_path=tmp_path / "b.jsonl")
    assert verify(b).first_bad_line == 1
    ok = CliRunner().invoke(cli, ["audit", "verify", "--state-dir", str(tmp_path)])
    assert ok.exit_code == 0 and "4 entries" in ok.output


def test_background_fsync_keeps_the_chain(tmp_path: Path) -> None:
    config = AuditConfig.in_folder(tmp_path, checkpoint_interval_s=0.05)
    log = AuditLog(config)
    for i in range(50):
        log.append_sync({"i": i})
    log.close()
    reopened = AuditLog(config)
    assert reopened.append_sync({"i": 50})["seq"] == 50
    reopened.close()
    assert verify(config).entries == 51


def test_a_slow_durable_write_is_logged_with_the_answers_it_held(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from api import audit

    log = AuditLog(AuditConfig.in_folder(tmp_path))
    try:
        with caplog.at_level(logging.WARNING, logger="guanlian.api.audit"):
            monkeypatch.setattr(audit, "SLOW_SYNC_S", 0.0)  # every write is now "slow"
            log.append_sync({"i": 0})  # a real write + fdatasync
    finally:
        log.close()
    assert "writing 1 audit entries durably took" in caplog.text
    assert "held" in caplog.text


def test_nothing_in_the_api_alters_the_audit_log(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        s.get("/whoami")
        for method in ("PUT", "PATCH", "DELETE", "POST"):
            r = s.client.request(method, "/admin/audit", headers=s.auth("admin"))
            assert r.status_code == 405, method
        spec = s.client.app.openapi()  # type: ignore[attr-defined]
        assert set(spec["paths"]["/admin/audit"]) == {"get"}
        assert set(spec["paths"]["/admin/audit/verify"]) == {"get"}
        assert verify(s.settings.audit_config).ok


RESIDENT_ID = "110101199003071234"


def test_mask_hides_resident_ids_and_mobiles() -> None:
    assert mask(f"id {RESIDENT_ID} tel 13812345678") == "id 110101********1234 tel 138****5678"
    assert mask("+8613812345678") == "+86138****5678"
    assert mask("uscc 91310000MA1000003E stays") == "uscc 91310000MA1000003E stays"


def test_application_logs_are_masked_and_so_is_the_audit_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    handler_records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            handler_records.append(self.format(record))

    keep = Keep()
    keep.addFilter(MaskingFilter())
    keep.setFormatter(JsonFormatter())
    logger = logging.getLogger("guanlian")
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    try:
        with serve(tmp_path) as s:
            r = s.get("/search", params={"q": RESIDENT_ID})
            assert r.status_code == 200
            rid = r.headers["X-Request-ID"]
            audit_text = s.settings.audit_path.read_text(encoding="utf-8")
    finally:
        logger.removeHandler(keep)
    access = [json.loads(line) for line in handler_records if rid in line]
    assert access, handler_records
    assert all(RESIDENT_ID not in line for line in handler_records)
    assert access[0]["request_id"] == rid and access[0]["status"] == 200
    # issue 14: the audit log masks it too, with a keyed digest for accountability
    assert RESIDENT_ID not in audit_text
    assert "110101********1234#" in audit_text


# a generated request ID (uuid4 hex) whose digits "14917898397" read as a mobile number: the
# bench's fuzzing run found such answers whose entry held a masked, unfindable request ID
PHONE_LIKE_ID = "77687fee91e14917898397dc935c60d7"


def test_a_generated_request_id_is_kept_as_its_answer_carries_it(tmp_path: Path) -> None:
    from api.audit_middleware import service_fields

    generated = {"state": {"request_id": PHONE_LIKE_ID}, "headers": []}
    chosen = {"state": {"request_id": PHONE_LIKE_ID},
              "headers": [(b"x-request-id", PHONE_LIKE_ID.encode())]}
    assert service_fields(generated) == {"request_id": PHONE_LIKE_ID}
    assert service_fields(chosen) == {} and service_fields({"headers": []}) == {}
    log = AuditLog(AuditConfig.in_folder(tmp_path))
    try:
        kept = log.append_sync({"request_id": PHONE_LIKE_ID, "q": PHONE_LIKE_ID},
                               service_fields(generated))
        masked = log.append_sync({"request_id": PHONE_LIKE_ID}, service_fields(chosen))
    finally:
        log.close()
    assert kept["request_id"] == PHONE_LIKE_ID
    assert kept["q"] != PHONE_LIKE_ID and "****" in kept["q"]  # other text is still masked
    assert masked["request_id"] != PHONE_LIKE_ID and "****" in masked["request_id"]
    assert verify(AuditConfig.in_folder(tmp_path)).ok


def test_every_answer_s_request_id_is_in_the_log(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        answers = [s.get("/whoami").headers["x-request-id"] for _ in range(40)]
        chosen = s.get("/whoami", headers={"X-Request-ID": "caller-13812345678"})
        entries = _entries(s.settings.audit_path)
    logged = [e["request_id"] for e in entries]
    assert all(rid in logged for rid in answers)
    assert chosen.headers["x-request-id"] == "caller-13812345678"
    assert logged[-1].startswith("caller-138****5678#")  # the caller's text stays masked


def test_entity_ids_are_found_standing_alone_anywhere_in_an_answer() -> None:
    from api.context import entity_ids_in

    body = ('E0000000000a1 {"id":"P0000000000c1","t":"见E0000000000a2与",'
            '"no":["XE0000000000a3","E0000000000a4x","9P0000000000c2","E0000000000A5"]}'
            ).encode()
    assert entity_ids_in(body) == ["E0000000000a1", "P0000000000c1", "E0000000000a2"]
    assert entity_ids_in(b"P0000000000c3") == ["P0000000000c3"]
    assert entity_ids_in(b"") == []
