"""The audit key ring: the secret the audit chain and checkpoints are MAC'd with.

The key is kept apart from the log: in `GUANLIAN_AUDIT_KEY` (one or more secrets separated
by commas, the LAST one active) or in a key file (`GUANLIAN_AUDIT_KEY_FILE`, default
`<state_dir>/audit.key`): one hex secret per line, the last line active, mode 0600 (a file
others may read is refused). Each key is named by its key ID, an HMAC of a fixed label under
the key (it names the key without revealing it). Rotation appends a new key (`guanlian audit
rotate-key`); the service uses it from its next start, when it begins a new segment of the
chain; older keys stay in the ring so older segments still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

KEY_BYTES = 32
MIN_SECRET_CHARS = 32
_KID_LABEL = b"guanlian-audit-key-id"
_DIGEST_LABEL = b"guanlian-audit-pseudonym"


class AuditKeyError(Exception):
    """The audit key is missing, unreadable, too short or readable by others."""


@dataclass(frozen=True)
class AuditKey:
    kid: str
    secret: bytes

    def mac(self, data: bytes) -> str:
        return hmac.digest(self.secret, data, "sha256").hex()  # one call, no HMAC object

    @property
    def digest_key(self) -> bytes:
        """The key of the personal-identifier digests (derived, never the MAC key itself)."""
        return hmac.new(self.secret, _DIGEST_LABEL, hashlib.sha256).digest()


def make_key(secret: bytes) -> AuditKey:
    kid = hmac.new(secret, _KID_LABEL, hashlib.sha256).hexdigest()[:16]
    return AuditKey(kid=kid, secret=secret)


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[AuditKey, ...]
    source: str

    @property
    def active(self) -> AuditKey:
        return self.keys[-1]

    def get(self, kid: object) -> AuditKey | None:
        for key in self.keys:
            if key.kid == kid:
                return key
        return None


def _secret(text: str, where: str) -> bytes:
    text = text.strip()
    if len(text) < MIN_SECRET_CHARS:
        raise AuditKeyError(f"{where}: an audit key needs at least {MIN_SECRET_CHARS} "
                            "characters (64 hex characters from `guanlian audit rotate-key`)")
    try:
        return bytes.fromhex(text)
    except ValueError:
        return text.encode("utf-8", "surrogatepass")


def check_private(path: Path) -> None:
    """Refuse a key file that others than its owner may read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise AuditKeyError(f"{path}: the audit key file has mode {mode:04o}; "
                            f"run `chmod 600 {path}` (only its owner may read it)")


def load_ring(env_value: str | None, key_file: Path, *, create: bool) -> KeyRing:
    """The ring from `env_value` (when set) or `key_file` (created with a fresh key when
    `create` and missing)."""
    if env_value:
        parts = [p for p in env_value.split(",") if p.strip()]
        if not parts:
            raise AuditKeyError("GUANLIAN_AUDIT_KEY is set but holds no key")
        keys = tuple(make_key(_secret(p, f"GUANLIAN_AUDIT_KEY key {i + 1}"))
                     for i, p in enumerate(parts))
        return KeyRing(keys, "GUANLIAN_AUDIT_KEY")
    if not key_file.exists():
        if not create:
            raise AuditKeyError(f"no audit key: {key_file} does not exist and "
                                "GUANLIAN_AUDIT_KEY is not set")
        add_key(key_file)
    check_private(key_file)
    try:
        lines = key_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"{key_file}: cannot read the audit key: {exc}") from exc
    keys = tuple(make_key(_secret(line, f"{key_file} line {n}"))
                 for n, line in enumerate(lines, start=1) if line.strip())
    if not keys:
        raise AuditKeyError(f"{key_file}: the audit key file holds no key")
    return KeyRing(keys, str(key_file))


def add_key(key_file: Path) -> AuditKey:
    """Append a fresh random key to `key_file` (created 0600); it becomes the active key."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if key_file.exists():
        check_private(key_file)
    secret = secrets.token_bytes(KEY_BYTES)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, secret.hex().encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return make_key(secret)
