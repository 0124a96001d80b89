"""Append-only, hash-chained audit log (JSON lines under the state folder).

Each entry carries `prev` (the hash of the entry before it; 64 zeros for the first) and
`hash` = sha256 of the entry's canonical JSON without `hash`. Editing, inserting or removing
a line breaks the chain at that line, which `verify` reports. The file is only ever opened in
append mode; a new process continues the chain from the last line. Writes are buffered,
flushed per entry (so a crashed process loses nothing the OS has) and fsync'd by a background
thread at most `fsync_interval` seconds later (0: after every entry).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

log = logging.getLogger("guanlian.api.audit")
GENESIS = "0" * 64


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_line: int | None = None
    reason: str | None = None


def _last_line(path: Path) -> bytes | None:
    """The last non-empty line of a file, read backwards from its end."""
    if not path.exists():
        return None
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        chunk, data = 4096, b""
        pos = end
        while pos > 0:
            step = min(chunk, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
            stripped = data.rstrip(b"\n")
            if b"\n" in stripped:
                return stripped.rsplit(b"\n", 1)[1]
        stripped = data.rstrip(b"\n")
        return stripped or None


class AuditLog:
    def __init__(self, path: Path, fsync_interval: float = 0.2) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._prev, self._seq = GENESIS, 0
        last = _last_line(path)
        if last is not None:
            try:
                entry = json.loads(last)
                self._prev, self._seq = str(entry["hash"]), int(entry["seq"]) + 1
            except (ValueError, KeyError, TypeError):
                log.error("last audit line is unreadable; chaining on from its raw hash")
                self._prev = hashlib.sha256(last).hexdigest()
                self._seq = sum(1 for _ in path.open("rb"))
        self._file = path.open("a", encoding="utf-8")
        self._interval = fsync_interval
        self._dirty = threading.Event()
        self._closed = threading.Event()
        self._syncer: threading.Thread | None = None
        if fsync_interval > 0:
            self._syncer = threading.Thread(target=self._sync_loop, name="audit-fsync",
                                            daemon=True)
            self._syncer.start()

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Chain and write one entry; returns it with `seq`, `time`, `prev` and `hash`."""
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("audit log is closed")
            entry = {"seq": self._seq, "time": datetime.now(UTC).isoformat(), **record,
                     "prev": self._prev}
            entry["hash"] = entry_hash(entry)
            self._file.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
            self._file.flush()
            if self._interval <= 0:
                os.fsync(self._file.fileno())
            else:
                self._dirty.set()
            self._prev, self._seq = entry["hash"], self._seq + 1
        return entry

    def _sync_loop(self) -> None:
        while not self._closed.is_set():
            self._dirty.wait()
            if self._closed.wait(self._interval):
                break
            with self._lock:
                if self._closed.is_set():
                    break
                self._dirty.clear()
                os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            self._dirty.set()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        if self._syncer is not None:
            self._syncer.join(timeout=2)

    @property
    def count(self) -> int:
        return self._seq

    def read(self, offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Entries `offset` .. `offset + limit - 1` in file order."""
        with self.path.open("r", encoding="utf-8") as f:
            return [json.loads(line) for line in islice(_nonblank(f), offset, offset + limit)]


def _nonblank(lines: Iterator[str]) -> Iterator[str]:
    return (line for line in lines if line.strip())


def verify(path: Path) -> Verification:
    """Recompute the chain; the first line whose content or link is wrong is reported."""
    prev, n = GENESIS, 0
    if not path.exists():
        return Verification(ok=True, entries=0)
    with path.open("r", encoding="utf-8") as f:
        for n, line in enumerate(_nonblank(f), start=1):
            try:
                entry = json.loads(line)
            except ValueError:
                return Verification(False, n - 1, n, "not valid JSON")
            if not isinstance(entry, dict):
                return Verification(False, n - 1, n, "not a JSON object")
            if entry.get("prev") != prev:
                return Verification(False, n - 1, n, "link to the previous entry is broken")
            if entry.get("seq") != n - 1:
                return Verification(False, n - 1, n, "sequence number out of order")
            if entry.get("hash") != entry_hash(entry):
                return Verification(False, n - 1, n, "entry content does not match its hash")
            prev = entry["hash"]
    return Verification(ok=True, entries=n)
