"""What an audit entry may hold: canonical encoding, bounded sizes, masked identifiers.

`canonical(value)` turns ANY Python value into the bytes the MAC is computed over and the
line the log holds: sorted keys, no spaces, ASCII only (every non-ASCII character, a lone
surrogate included, is a `\\uXXXX` escape). It never raises: values JSON cannot hold
(bytes, sets, NaN, huge integers, arbitrary objects) are turned into bounded strings first.

`Redactor` bounds and masks the caller-supplied parts of an entry (parameters, key names):
strings longer than `MAX_TEXT` keep a prefix plus their length and a keyed digest; resident
ID numbers and mobile numbers anywhere in a string are masked and followed by a keyed digest
(`310101********3938#1f2e3d4c5b6a`), personal fields (a declarant's name or ID) become a keyed
digest; entity IDs (E…/P…) are kept as they are, so accountability stays intact. The digest
is an HMAC under a key derived from the audit key: whoever holds the key can check whether an
entry concerns a given person (compute the digest, search for it); the log alone reveals
nothing.
"""

from __future__ import annotations

import hmac
import json
import math
import re
from typing import Any

MAX_TEXT = 160  # characters of one string value
MAX_KEY = 64  # characters of one mapping key
MAX_KEYS = 40  # keys of one mapping
MAX_ITEMS = 2000  # items of one list (a screen: 1,000 subjects; entity IDs: 2,000)
MAX_DEPTH = 6
KEEP_PREFIX = 48  # characters kept of a truncated string
DIGEST_HEX = 12

PERSONAL_FIELDS = frozenset({
    "declarant_name", "declarant_id", "id_number", "resident_id", "person_name", "phone",
    "mobile", "passport",
})
# 18-character resident ID (region 6, birth date 8, sequence 3, check digit or X)
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
# every identifier below holds at least 11 digits in a row
_ELEVEN_DIGITS = re.compile(r"\d{11}")
# mainland mobile numbers, optionally with +86 / 86
_MOBILE = re.compile(r"(?<!\d)((?:\+?86)?1[3-9]\d)\d{4}(\d{4})(?!\d)")


def canonical(value: Any) -> bytes:
    """The canonical bytes of `value` (see the module docstring); never raises."""
    try:
        plain = _plain(value, 0)
    except Exception as exc:  # noqa: BLE001 - e.g. a __repr__ raising inside a set
        plain = f"<unencodable {type(value).__name__}: {type(exc).__name__}>"
    text = json.dumps(plain, sort_keys=True, ensure_ascii=True, separators=(",", ":"),
                      allow_nan=False)
    return text.encode("ascii")


def _plain(value: Any, depth: int) -> Any:
    """`value` as JSON-safe data (str, int, finite float, bool, None, list, dict[str, …])."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= 63 else f"<int of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= MAX_DEPTH:
        return f"<{type(value).__name__} nested too deep>"
    if isinstance(value, dict):
        return {_key(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [_plain(v, depth + 1) for v in items]
    if isinstance(value, bytes | bytearray):
        return bytes(value[:MAX_TEXT]).decode("latin-1")
    return f"<{type(value).__name__}>"


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    plain = _plain(key, MAX_DEPTH)
    return plain if isinstance(plain, str) else json.dumps(plain)


class Redactor:
    """Bounds and masks caller-supplied values; digests are keyed with `digest_key`."""

    def __init__(self, digest_key: bytes) -> None:
        self._key = digest_key

    def digest(self, text: str) -> str:
        """The keyed digest of a value (12 hex characters)."""
        raw = text.encode("utf-8", "surrogatepass")
        return hmac.digest(self._key, raw, "sha256").hex()[:DIGEST_HEX]

    def value(self, value: Any, field: str = "", depth: int = 0) -> Any:
        """`value` bounded and masked; `field` is the name it is held under."""
        if isinstance(value, str):
            if field in PERSONAL_FIELDS or field.lower() in PERSONAL_FIELDS:
                return self._personal(value)
            return self.text(value)
        if value is None or isinstance(value, bool | int | float):
            return _plain(value, 0)
        if depth >= MAX_DEPTH:
            return f"<{type(value).__name__} nested too deep>"
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for i, (k, v) in enumerate(value.items()):
                if i >= MAX_KEYS:
                    out["<more keys>"] = len(value) - MAX_KEYS
                    break
                name = self.text(_key(k), MAX_KEY)
                out[name] = self.value(v, name, depth + 1)
            return out
        if isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            bounded = [self.value(v, field, depth + 1) for v in items[:MAX_ITEMS]]
            if len(items) > MAX_ITEMS:
                bounded.append(f"<{len(items) - MAX_ITEMS} more items>")
            return bounded
        return _plain(value, MAX_DEPTH)

    def text(self, text: str, limit: int = MAX_TEXT) -> str:
        """Identifiers masked, then bounded to about `limit` characters."""
        masked = self.mask(text)
        if len(masked) <= limit:
            return masked
        return (f"{masked[:min(KEEP_PREFIX, limit)]}…<{len(text)} chars "
                f"#{self.digest(text)}>")

    def mask(self, text: str) -> str:
        """Resident IDs and mobile numbers masked, each followed by its keyed digest."""
        if _ELEVEN_DIGITS.search(text) is None:  # the common case: nothing to mask
            return text
        text = _RESIDENT_ID.sub(
            lambda m: f"{m.group(1)}********{m.group(2)}#{self.digest(m.group(0).upper())}",
            text)
        return _MOBILE.sub(
            lambda m: f"{m.group(1)}****{m.group(2)}#{self.digest(m.group(0)[-11:])}", text)

    def _personal(self, text: str) -> str:
        masked = self.mask(text)
        if masked != text and len(masked) <= MAX_TEXT:
            return masked  # an identifier: masked form and digest
        return f"#{self.digest(text.strip())}"
