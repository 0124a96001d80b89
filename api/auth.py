"""API keys: stored hashed (sha256 over a per-key salt), roles, revocation without restart.

A key reads `gl_<key_id>_<secret>`; only `key_id`, the salt and sha256(salt + secret) are
stored, in SQLite under the state folder. Every process (the service, `guanlian keys …`)
opens the same database; the service checks SQLite's `data_version` on each request and
reloads its in-memory copy when another connection changed the table, so a revocation takes
effect on the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from api.context import Principal
from api.validation import printable_problem

Role = Literal["inspector", "investigator", "admin"]
ROLES: tuple[Role, ...] = ("inspector", "investigator", "admin")
RANK: dict[str, int] = {role: i for i, role in enumerate(ROLES)}
KEY_PREFIX = "gl"
MAX_NAME = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    salt       TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
"""


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    name: str
    role: Role
    created_at: str
    revoked_at: str | None = None


@dataclass(frozen=True)
class _Stored:
    record: KeyRecord
    salt: bytes
    digest: bytes


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


def allows(role: str, needed: Role) -> bool:
    """Roles are ordered: inspector < investigator < admin."""
    return RANK.get(role, -1) >= RANK[needed]


def parse_key(key: str) -> tuple[str, str] | None:
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class KeyStore:
    """The API key table; thread-safe; shared with other processes through SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(_SCHEMA)
        self._version = -1
        self._keys: dict[str, _Stored] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- management -------------------------------------------------------------------
    def create(self, name: str, role: Role) -> tuple[KeyRecord, str]:
        """Create a key; returns its record and the full key (shown once, never stored)."""
        if role not in RANK:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        if not name.strip():
            raise ValueError("a key needs a name")
        if len(name) > MAX_NAME:
            raise ValueError(f"a key name is at most {MAX_NAME} characters")
        problem = printable_problem(name)
        if problem is not None:
            raise ValueError(f"key name: {problem}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32).replace("_", "-")
        salt = secrets.token_bytes(16)
        record = KeyRecord(key_id, name.strip(), role, datetime.now(UTC).isoformat())
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys (key_id, name, role, salt, hash, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, record.name, role, salt.hex(), _digest(salt, secret).hex(),
                 record.created_at),
            )
            self._version = -1
        return record, f"{KEY_PREFIX}_{key_id}_{secret}"

    def revoke(self, key_id: str) -> bool:
        """Revoke a key; False when no active key has this ID."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), key_id),
            )
            self._version = -1
            return cur.rowcount > 0

    def list(self) -> list[KeyRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key_id, name, role, created_at, revoked_at FROM api_keys "
                "ORDER BY created_at"
            ).fetchall()
        return [KeyRecord(*row) for row in rows]

    # --- authentication ---------------------------------------------------------------
    def _refresh(self) -> None:
        (version,) = self._db.execute("PRAGMA data_version").fetchone()
        if version == self._version:
            return
        rows = self._db.execute(
            "SELECT key_id, name, role, created_at, revoked_at, salt, hash FROM api_keys"
        ).fetchall()
        self._keys = {
            r[0]: _Stored(KeyRecord(*r[:5]), bytes.fromhex(r[5]), bytes.fromhex(r[6]))
            for r in rows
        }
        self._version = version

    def authenticate(self, key: str) -> Principal | None:
        """The caller behind `key`, or None when it is unknown, malformed or revoked."""
        parsed = parse_key(key)
        if parsed is None:
            return None
        key_id, secret = parsed
        with self._lock:
            self._refresh()
            stored = self._keys.get(key_id)
        if stored is None:
            _digest(b"0" * 16, secret)  # same work whether or not the ID exists
            return None
        if not hmac.compare_digest(_digest(stored.salt, secret), stored.digest):
            return None
        if stored.record.revoked_at is not None:
            return None
        return Principal(stored.record.key_id, stored.record.name, stored.record.role)
