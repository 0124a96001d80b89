"""The audit trail's files: where they live, owner-only creation, checkpoints and counter.

Three stores, kept apart: the log (`audit.jsonl`, one entry a line), the anchor store (a
separate folder, `GUANLIAN_AUDIT_ANCHOR_DIR`, holding `checkpoints.jsonl`: signed
checkpoints, appended) and the counter (`audit.counter`: the last checkpoint, replaced
atomically). Every file is created with mode 0600 and an existing one is brought back to it.
A checkpoint is `{"seq": entries covered, "head": hash of entry seq-1, "time", "kid",
"reason", "mac"}`, MAC'd with the audit key over its canonical form without `mac`.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.audit_keys import AuditKey, KeyRing
from api.audit_record import canonical

GENESIS = "0" * 64
PRIVATE = 0o600


@dataclass(frozen=True)
class AuditConfig:
    """Where the audit trail lives and how it is keyed."""

    log_path: Path
    anchor_dir: Path
    counter_path: Path
    key_file: Path
    key_env: str | None = None
    checkpoint_interval_s: float = 1.0
    write_timeout_s: float = 5.0

    @property
    def anchor_path(self) -> Path:
        return self.anchor_dir / "checkpoints.jsonl"

    @classmethod
    def in_folder(cls, folder: Path, **overrides: Any) -> AuditConfig:
        """The default layout under one state folder (anchor in its own sub-folder)."""
        values: dict[str, Any] = {
            "log_path": folder / "audit.jsonl", "anchor_dir": folder / "audit-anchor",
            "counter_path": folder / "audit.counter", "key_file": folder / "audit.key",
        }
        values.update(overrides)
        return cls(**values)


def open_private(path: Path, flags: int) -> int:
    """os.open with mode 0600 (also enforced on an existing file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, flags | os.O_CREAT, PRIVATE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != PRIVATE:
            os.fchmod(fd, PRIVATE)
    except OSError:
        os.close(fd)
        raise
    return fd


def sync_dir(folder: Path) -> None:
    """fsync a folder so a file created or renamed in it survives a crash."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def with_mac(body: dict[str, Any], key: AuditKey, field: str) -> bytes:
    """The line of `body` with `field` = its MAC (canonical body, MAC appended last)."""
    raw = canonical(body)
    return raw[:-1] + f',"{field}":"{key.mac(raw)}"}}'.encode() + b"\n"


def mac_ok(record: dict[str, Any], ring: KeyRing, field: str) -> bool | None:
    """Whether `record[field]` is the MAC of the rest; None when its key is not in the ring."""
    key = ring.get(record.get("kid"))
    if key is None:
        return None
    body = {k: v for k, v in record.items() if k != field}
    return key.mac(canonical(body)) == record.get(field)


def last_entry(path: Path) -> dict[str, Any] | None:
    """The last complete line of the log, parsed; a trailing partial line (a crash while
    writing an entry that was never acknowledged) is cut off first."""
    if not path.exists():
        return None
    with path.open("r+b") as f:
        end = f.seek(0, os.SEEK_END)
        pos, tail = end, b""
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            f.seek(pos)
            tail = f.read(step) + tail
            if tail.count(b"\n") >= 2 or (pos == 0 and tail):
                break
        if tail and not tail.endswith(b"\n"):
            keep = tail.rfind(b"\n") + 1
            f.truncate(pos + keep)
            os.fsync(f.fileno())
            tail = tail[:keep]
    lines = [line for line in tail.split(b"\n") if line.strip()]
    if not lines:
        return None
    try:
        entry = json.loads(lines[-1])
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


def checkpoint_line(seq: int, head: str, time: str, key: AuditKey, reason: str) -> bytes:
    body = {"seq": seq, "head": head, "time": time, "kid": key.kid, "reason": reason}
    return with_mac(body, key, "mac")


def append_checkpoint(config: AuditConfig, line: bytes) -> None:
    fd = open_private(config.anchor_path, os.O_WRONLY | os.O_APPEND)
    try:
        write_all(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_counter(config: AuditConfig, line: bytes) -> None:
    path = config.counter_path
    tmp = path.with_name(path.name + ".tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC)
    try:
        write_all(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    sync_dir(path.parent)


def read_records(path: Path) -> list[dict[str, Any] | None]:
    """Each non-blank line parsed (None for a line that is not a JSON object)."""
    out: list[dict[str, Any] | None] = []
    with path.open("rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                value = None
            out.append(value if isinstance(value, dict) else None)
    return out


def read_counter(config: AuditConfig, ring: KeyRing) -> dict[str, Any] | None:
    """The persisted counter when present and its MAC is valid, else None."""
    path = config.counter_path
    if not path.exists():
        return None
    records = read_records(path)
    if len(records) != 1 or records[0] is None or not mac_ok(records[0], ring, "mac"):
        return None
    return records[0]


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
