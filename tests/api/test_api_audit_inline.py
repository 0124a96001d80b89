"""A request alone in the server writes its own audit entry (`AuditLog.write_now`); requests
that overlap share the writer thread's fsync. Either way: one entry per answer, durable before
the answer, in chain order, and a failed write withholds the answer."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from api import audit
from api.audit import AuditConfig, AuditLog, AuditUnavailable
from api.audit_verify import verify
from graph.embedded.store import EmbeddedStore
from tests.api.test_api_support import serve
from tests.support.graph_fixture import A1


def _entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_an_entry_written_by_its_caller_is_durable_when_it_returns(tmp_path: Path) -> None:
    config = AuditConfig.in_folder(tmp_path)
    log = AuditLog(config)
    try:
        entry = log.write_now({"endpoint": "/e0"})
        assert entry is not None and entry["seq"] == 0
        # on disk (a fresh read) and counted the moment it returns
        assert _entries(config.log_path)[-1]["hash"] == entry["hash"]
        assert log.durable() == (1, entry["hash"])
        assert log.append_sync({"endpoint": "/e1"})["prev"] == entry["hash"]
        assert log.write_now({"endpoint": "/e2"})["seq"] == 2  # type: ignore[index]
    finally:
        log.close()
    assert verify(config).entries == 3


def test_the_caller_defers_to_a_write_under_way_and_order_holds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = AuditConfig.in_folder(tmp_path)
    log = AuditLog(config)
    entered, release = threading.Event(), threading.Event()
    real = AuditLog._durable_write

    def held_write(self: AuditLog, data: bytes) -> None:
        if b'"/held"' in data:
            entered.set()
            release.wait(5)
        real(self, data)

    monkeypatch.setattr(AuditLog, "_durable_write", held_write)
    try:
        writer = threading.Thread(target=log.append_sync, args=({"endpoint": "/held"},))
        writer.start()
        assert entered.wait(5)
        # the writer thread is writing: the caller writes nothing itself
        assert log.write_now({"endpoint": "/now"}) is None
        queued: list[dict[str, Any]] = []
        waiter = threading.Thread(
            target=lambda: queued.append(log.append_sync({"endpoint": "/queued"})))
        waiter.start()
        time.sleep(0.05)
        assert log.write_now({"endpoint": "/now"}) is None  # one is queued: still not
        release.set()
        writer.join(5)
        waiter.join(5)
        assert queued and queued[0]["seq"] == 1
        assert log.write_now({"endpoint": "/after"})["seq"] == 2  # type: ignore[index]
    finally:
        release.set()
        log.close()
    assert [e["endpoint"] for e in _entries(config.log_path)] == ["/held", "/queued", "/after"]
    assert verify(config).ok


def test_a_slow_disk_sends_entries_back_to_the_writer_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog(AuditConfig.in_folder(tmp_path))
    try:
        assert log.write_now({"i": 0}) is not None
        monkeypatch.setattr(audit, "INLINE_MAX_SYNC_S", -1.0)  # every write is now "slow"
        assert log.write_now({"i": 1}) is None
        assert log.append_sync({"i": 1})["seq"] == 1  # the writer thread, under its time-out
    finally:
        log.close()


def test_a_failed_write_by_the_caller_raises_and_rolls_the_chain_back(tmp_path: Path) -> None:
    config = AuditConfig.in_folder(tmp_path)
    log = AuditLog(config)
    try:
        first = log.write_now({"i": 0})
        moved = config.log_path.with_name("audit.moved.jsonl")
        config.log_path.rename(moved)
        config.log_path.mkdir()  # no file can be opened at the log path
        with pytest.raises(AuditUnavailable):
            log.write_now({"i": 1})
        assert log.durable() == (1, first["hash"])  # type: ignore[index]
        config.log_path.rmdir()
        again = log.write_now({"i": 2})
        assert again is not None and again["seq"] == 1 and again["prev"] == first["hash"]  # type: ignore[index]
    finally:
        log.close()


def test_overlapping_requests_share_the_writer_and_each_has_one_entry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"write_now": 0, "written_now": 0, "append": 0}
    real_now, real_append = AuditLog.write_now, AuditLog.append
    real_entity = EmbeddedStore.get_entity

    def write_now(self: AuditLog, *a: Any, **k: Any) -> Any:
        calls["write_now"] += 1
        written = real_now(self, *a, **k)
        calls["written_now"] += written is not None
        return written

    async def append(self: AuditLog, *a: Any, **k: Any) -> Any:
        calls["append"] += 1
        return await real_append(self, *a, **k)

    def slow_entity(self: EmbeddedStore, *a: Any, **k: Any) -> Any:
        time.sleep(0.02)  # in the worker thread: the requests overlap
        return real_entity(self, *a, **k)

    monkeypatch.setattr(AuditLog, "write_now", write_now)
    monkeypatch.setattr(AuditLog, "append", append)
    with serve(tmp_path, rate_limit_rps=10_000, rate_limit_burst=10_000) as s:
        assert s.get(f"/entities/{A1}", headers={"X-Request-ID": "alone"}).status_code == 200
        assert calls == {"write_now": 1, "written_now": 1, "append": 0}  # alone: its own
        monkeypatch.setattr(EmbeddedStore, "get_entity", slow_entity)

        def one(i: int) -> int:
            r = s.get(f"/entities/{A1}", headers={"X-Request-ID": f"c-{i}"})
            return int(r.status_code)

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, range(40)))
        middleware = _audit_middleware(s.client.app)
        assert middleware.in_flight == 0
        check = s.get("/admin/audit/verify", role="admin").json()
        entries = _entries(s.settings.audit_path)
    assert statuses == [200] * 40
    assert calls["append"] > 0  # overlapping requests went to the writer thread
    ids = [e["request_id"] for e in entries]
    assert sorted(i for i in ids if i.startswith("c-")) == sorted(f"c-{i}" for i in range(40))
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    assert check["ok"] is True


def _audit_middleware(app: Any) -> Any:
    """The running app's AuditMiddleware (walks the built middleware stack)."""
    layer = app.middleware_stack
    while layer is not None and type(layer).__name__ != "AuditMiddleware":
        layer = getattr(layer, "app", None)
    assert layer is not None
    return layer
