"""The audit log: append-only JSON lines chained by a keyed MAC, written durably by group
commit before an answer is released.

Each entry carries `seq`, `time`, `kid` (the audit key it is MAC'd with), the record, `prev`
(the `hash` of the entry before it; 64 zeros for the first) and `hash` = HMAC-SHA256 under
key `kid` of the entry's canonical form without `hash` (api/audit_record.py). Without the key
nobody can rewrite a range and recompute the chain. A writer thread takes every entry queued
since its last write, writes them with one `write` and one `fsync`, and only then releases
their callers (`await log.append(record)` returns once the entry is on disk, or raises
`AuditUnavailable`): concurrent requests share one fsync, an acknowledged entry is never lost.
A request alone in the server writes its own entry instead (`write_now`: the same write and
fsync in the caller's thread, two thread wake-ups fewer) while nothing else is being written
or queued and the disk syncs fast; one writer at a time either way, so the order holds.
If the log path stops naming the open file (deleted, moved, replaced), the writer reopens
the path, and a batch that cannot be written is failed together with everything chained after
it (the chain is rolled back to the last durable entry, the file truncated back to it).

The same thread writes a signed checkpoint (entries covered, head hash, time) to the anchor
store and the counter file at start, every `checkpoint_interval_s` when entries were added,
and at shutdown. `api.audit_verify.verify` checks the chain against both and against the
running service's own counter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from api.audit_files import (
    GENESIS,
    AuditConfig,
    append_checkpoint,
    checkpoint_line,
    last_entry,
    open_private,
    read_counter,
    sync_dir,
    with_mac,
    write_all,
    write_counter,
)
from api.audit_keys import KeyRing, load_ring
from api.audit_record import Redactor

__all__ = ["GENESIS", "AuditConfig", "AuditLog", "AuditUnavailable"]
log = logging.getLogger("guanlian.api.audit")
Done = Callable[[BaseException | None], None]
# a batch whose write + sync takes longer is logged: every answer waiting for it was held
# that long (a bench run saw 1.9 s during disk writeback; docs/performance.md)
SLOW_SYNC_S = 0.5
# `write_now` writes in the caller's thread only while the last write + sync took less: a
# slower disk is waited for from the writer thread, under the write time-out
INLINE_MAX_SYNC_S = 0.005


class AuditUnavailable(Exception):
    """The audit entry could not be written durably (the answer must not be released)."""


class _Pending:
    __slots__ = ("done", "line", "seq")

    def __init__(self, seq: int, line: bytes, done: Done) -> None:
        self.seq, self.line, self.done = seq, line, done


class AuditLog:
    """The service's writer of the audit trail (one per process)."""

    def __init__(self, config: AuditConfig, ring: KeyRing | None = None) -> None:
        self.config = config
        self.path = config.log_path
        self.ring = ring or load_ring(config.key_env, config.key_file, create=True)
        self.key = self.ring.active
        self.redactor = Redactor(self.key.digest_key)
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._closing = self._closed = False
        self._reopen_next = False  # a failed batch could not be cut back off the file
        self._writing = False  # a batch is being written (by the writer thread or a caller)
        self._last_write_s = 0.0  # how long the last batch's write + sync took
        last = self._resume()
        self._durable = (self._seq, self._prev)
        self._checkpointed = -1
        self._fd = open_private(self.path, os.O_WRONLY | os.O_APPEND)
        sync_dir(self.path.parent)
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        self._checkpoint("start")
        if last is not None and last.get("kid") != self.key.kid:
            self.append_sync({"event": "segment_start", "previous_kid": last.get("kid")})

    # --- start-up ---------------------------------------------------------------------
    def _resume(self) -> dict[str, Any] | None:
        """Continue the chain from the log's last entry, or from the persisted counter when
        the log is missing or shorter than it (the gap stays visible to `verify`)."""
        last = last_entry(self.path)
        counter = read_counter(self.config, self.ring)
        self._seq, self._prev = 0, GENESIS
        if last is not None and isinstance(last.get("seq"), int):
            self._seq, self._prev = int(last["seq"]) + 1, str(last.get("hash"))
        if counter is not None and int(counter["seq"]) > self._seq:
            log.error("the audit log ends at entry %d but its counter attests %d entries: "
                      "entries were removed; continuing the chain from the counter",
                      self._seq, counter["seq"])
            self._seq, self._prev = int(counter["seq"]), str(counter["head"])
        return last

    # --- appending ------------------------------------------------------------------------
    def _enqueue(self, record: dict[str, Any], done: Done,
                 verbatim: dict[str, str] | None = None) -> dict[str, Any]:
        fields = self.redactor.value(record)
        if verbatim:  # values the service made itself (never caller text): kept as they are
            fields.update(verbatim)
        with self._cond:
            if self._closing:
                raise AuditUnavailable("the audit log is closed")
            entry = {"seq": self._seq, "time": datetime.now(UTC).isoformat(),
                     "kid": self.key.kid, **fields, "prev": self._prev}
            line = with_mac(entry, self.key, "hash")
            entry["hash"] = line[-67:-3].decode()
            self._pending.append(_Pending(self._seq, line, done))
            self._seq, self._prev = self._seq + 1, entry["hash"]
            if not self._writing:  # a writer takes the queue when its batch is done
                self._cond.notify()
        return entry

    async def append(self, record: dict[str, Any],
                     verbatim: dict[str, str] | None = None) -> dict[str, Any]:
        """Write one entry; returns it once it is durable (raises `AuditUnavailable`).
        `record` is bounded and masked (api.audit_record); `verbatim` fields, made by the
        service itself, are not (a generated request ID whose hex digits happen to look like
        a mobile number must stay the ID its answer carries)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def done(error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, future, error)

        try:
            entry = self._enqueue(record, done, verbatim)
            await asyncio.wait_for(future, self.config.write_timeout_s)
        except AuditUnavailable:
            raise
        except Exception as exc:  # a time-out, or anything the writer reported
            raise AuditUnavailable(f"audit entry not written: {exc!r}") from exc
        return entry

    def write_now(self, record: dict[str, Any],
                  verbatim: dict[str, str] | None = None) -> dict[str, Any] | None:
        """Write one entry durably in the calling thread, with no hand-off to the writer
        thread, and return it; or None, having written nothing, when another batch is being
        written or queued, the log is closing, or the last write + sync took longer than
        `INLINE_MAX_SYNC_S` (the caller then uses `append`, which shares the writer's fsync
        and is bounded by the write time-out). Raises `AuditUnavailable` when the entry
        cannot be written, like `append`. For a request alone in the server: its answer
        waits for the same write and fsync, without two thread wake-ups around them."""
        failure: list[BaseException] = []

        def done(error: BaseException | None) -> None:
            if error is not None:
                failure.append(error)

        with self._cond:
            if (self._writing or self._pending or self._closing
                    or self._last_write_s > INLINE_MAX_SYNC_S):
                return None
            self._writing = True
        try:
            entry = self._enqueue(record, done, verbatim)
            with self._cond:  # ours, and any entry queued since: they share this write
                batch, self._pending = self._pending, []
            self._write(batch)
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()  # the writer: entries queued meanwhile, or closing
        if failure:
            raise AuditUnavailable(f"audit entry not written: {failure[0]!r}")
        return entry

    def append_sync(self, record: dict[str, Any],
                    verbatim: dict[str, str] | None = None) -> dict[str, Any]:
        """`append` for threads and commands: blocks until the entry is durable."""
        finished = threading.Event()
        failure: list[BaseException] = []

        def done(error: BaseException | None) -> None:
            if error is not None:
                failure.append(error)
            finished.set()

        entry = self._enqueue(record, done, verbatim)
        if not finished.wait(self.config.write_timeout_s):
            raise AuditUnavailable("audit entry not written in time")
        if failure:
            raise AuditUnavailable(f"audit entry not written: {failure[0]!r}")
        return entry

    # --- the writer thread ----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                self._serve()
                return
            except Exception:  # noqa: BLE001 - the writer must outlive any surprise
                log.exception("the audit writer failed; restarting it")
                time.sleep(0.05)

    def _serve(self) -> None:
        interval = self.config.checkpoint_interval_s
        next_checkpoint = time.monotonic() + interval
        while True:
            with self._cond:
                while (not self._pending or self._writing) and not self._closing:
                    wait = next_checkpoint - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                while self._writing:  # a caller's own write (`write_now`) ends first
                    self._cond.wait()
                batch, self._pending = self._pending, []
                closing = self._closing
                self._writing = bool(batch)
            if batch:
                try:
                    self._write(batch)
                finally:
                    with self._cond:
                        self._writing = False
            if time.monotonic() >= next_checkpoint:
                self._checkpoint("interval")
                next_checkpoint = time.monotonic() + interval
            if closing and not batch:
                return

    def _write(self, batch: list[_Pending]) -> None:
        data = b"".join(p.line for p in batch)
        started = time.monotonic()
        try:
            self._ensure_open()
            self._durable_write(data)
            if not self._same_file():  # moved or deleted while we wrote: write it again
                self._ensure_open()
                self._durable_write(data)
        except Exception as exc:  # noqa: BLE001 - every failure fails the batch
            self._last_write_s = time.monotonic() - started
            self._fail(batch, exc)
            return
        took = self._last_write_s = time.monotonic() - started
        if took > SLOW_SYNC_S:
            log.warning("writing %d audit entries durably took %.2f s; their answers were "
                        "held until then (the log's disk syncs slowly)", len(batch), took)
        last = batch[-1]
        with self._cond:
            self._durable = (last.seq + 1, last.line[-67:-3].decode())
        for p in batch:
            _notify(p, None)

    def _durable_write(self, data: bytes) -> None:
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            write_all(self._fd, data)
            _sync(self._fd)
        except OSError:
            try:  # nothing of a failed batch may stay: later entries reuse its numbers
                os.ftruncate(self._fd, start)
            except OSError:
                self._reopen_next = True
            raise

    def _same_file(self) -> bool:
        try:
            on_path, ours = os.stat(self.path), os.fstat(self._fd)
        except OSError:
            return False
        return (on_path.st_ino, on_path.st_dev) == (ours.st_ino, ours.st_dev)

    def _ensure_open(self) -> None:
        if not self._reopen_next and self._same_file():
            return
        log.error("the audit log %s no longer names the open file; reopening it", self.path)
        fd = open_private(self.path, os.O_WRONLY | os.O_APPEND)
        sync_dir(self.path.parent)
        old, self._fd, self._reopen_next = self._fd, fd, False
        try:
            os.close(old)
        except OSError:
            pass

    def _fail(self, batch: list[_Pending], exc: BaseException) -> None:
        log.error("writing %d audit entries failed: %r", len(batch), exc)
        with self._cond:  # roll the chain back to the last durable entry
            later, self._pending = self._pending, []
            self._seq, self._prev = self._durable
        error = AuditUnavailable(f"the audit log cannot be written: {exc!r}")
        for p in [*batch, *later]:
            _notify(p, error)

    def _checkpoint(self, reason: str) -> None:
        with self._cond:
            seq, head = self._durable
        if seq == self._checkpointed and reason == "interval":
            return
        line = checkpoint_line(seq, head, datetime.now(UTC).isoformat(), self.key, reason)
        try:
            append_checkpoint(self.config, line)
            write_counter(self.config, line)
            self._checkpointed = seq
        except OSError as exc:
            log.error("writing the audit checkpoint failed: %r", exc)

    # --- reading, state, shutdown -----------------------------------------------------------
    def durable(self) -> tuple[int, str]:
        """(entries acknowledged, hash of the last one): the service's own counter."""
        with self._cond:
            return self._durable

    @property
    def count(self) -> int:
        return self.durable()[0]

    def read(self, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Entries at lines `offset` .. `offset + limit - 1` in file order (a line that is not
        an entry reads as `{"seq": -1, "event": "unreadable", …}`; `verify` says why)."""
        if offset >= self.count or limit <= 0 or not self.path.exists():
            return []
        with self.path.open("rb") as f:
            lines = (line for line in f if line.strip())
            return [_readable(line) for line in islice(lines, offset, offset + limit)]

    def close(self) -> None:
        """Write what is queued, a last checkpoint, and stop the writer."""
        with self._cond:
            if self._closed:
                return
            self._closing = self._closed = True
            self._cond.notify()
        self._thread.join(timeout=self.config.write_timeout_s + 5)
        self._checkpoint("shutdown")
        try:
            os.close(self._fd)
        except OSError:
            pass


def _notify(pending: _Pending, error: BaseException | None) -> None:
    try:
        pending.done(error)
    except Exception:  # noqa: BLE001 - e.g. the caller's event loop has closed meanwhile
        log.warning("entry %d: its caller could not be told", pending.seq)


_ENTRY_SHAPE = (("seq", int), ("time", str), ("prev", str), ("hash", str))


def _readable(line: bytes) -> dict[str, Any]:
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if isinstance(entry, dict) and all(isinstance(entry.get(k), t) for k, t in _ENTRY_SHAPE):
        return entry
    return {"seq": -1, "time": "", "event": "unreadable", "prev": "", "hash": ""}


def _sync(fd: int) -> None:
    """fdatasync where there is one (the data and the size needed to read it), else fsync."""
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
