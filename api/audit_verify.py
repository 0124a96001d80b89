"""Verification of the audit trail: the keyed chain, the signed checkpoints, the counters.

`verify` walks the log and stops at the first entry that is missing or wrong: a line that
is not a JSON object, a sequence number out of order (a removed, inserted or reordered
entry), a broken link to the entry before, a key ID not in the key ring, or a MAC that does
not match (an entry edited, or a range rewritten with recomputed hashes, which needs the key).
Then every checkpoint in the anchor store, the persisted counter and (from the running
service) the live counter must each name an entry the log holds, with the same hash: a cut
tail, a deleted log or a log replaced by an older copy is reported with the first missing
entry. A missing log, anchor store or counter is a failure, never "0 entries".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from api.audit_files import GENESIS, AuditConfig, mac_ok, read_records
from api.audit_keys import AuditKeyError, KeyRing, load_ring


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_line: int | None = None
    first_bad_seq: int | None = None
    reason: str | None = None
    checkpoints: int = 0
    attested: int = 0  # entries the checkpoints and counters vouch for


@dataclass
class _Attestation:
    seq: int
    head: str
    what: str


@dataclass
class _Walk:
    entries: int = 0
    prev: str = GENESIS
    heads: dict[int, str] = field(default_factory=dict)


def _lines(config: AuditConfig) -> Iterator[tuple[int, dict[str, Any] | None]]:
    with config.log_path.open("rb") as f:
        n = 0
        for raw in f:
            if not raw.strip() or not raw.endswith(b"\n"):
                continue  # blank, or the end of a batch the writer is writing right now
            n += 1
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            yield n, value if isinstance(value, dict) else None


def _attestations(config: AuditConfig, ring: KeyRing,
                  live: tuple[int, str] | None) -> tuple[list[_Attestation], str | None, int]:
    """Checkpoints, counter and live counter; or a reason they cannot be trusted."""
    out: list[_Attestation] = []
    if not config.anchor_path.exists():
        return out, f"the anchor store {config.anchor_path} is missing", 0
    checkpoints = read_records(config.anchor_path)
    last_seq = 0
    for n, cp in enumerate(checkpoints, start=1):
        if cp is None or not mac_ok(cp, ring, "mac"):
            return out, (f"checkpoint {n} in {config.anchor_path} is altered or forged "
                         "(its MAC does not match)"), n - 1
        seq = int(cp["seq"])
        if seq < last_seq:
            return out, f"checkpoint {n} goes back from {last_seq} to {seq} entries", n - 1
        last_seq = seq
        out.append(_Attestation(seq, str(cp["head"]), f"checkpoint {n} of {cp.get('time')}"))
    if not config.counter_path.exists():
        return out, f"the audit counter {config.counter_path} is missing", len(checkpoints)
    counter = read_records(config.counter_path)
    if len(counter) != 1 or counter[0] is None or not mac_ok(counter[0], ring, "mac"):
        return out, f"the audit counter {config.counter_path} is altered", len(checkpoints)
    out.append(_Attestation(int(counter[0]["seq"]), str(counter[0]["head"]),
                            f"the counter of {counter[0].get('time')}"))
    if live is not None:
        out.append(_Attestation(live[0], live[1], "the running service's counter"))
    return out, None, len(checkpoints)


def _entry_problem(entry: dict[str, Any] | None, walk: _Walk, ring: KeyRing) -> str | None:
    expected = walk.entries
    if entry is None:
        return "not a JSON object"
    seq = entry.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return "no sequence number"
    if seq > expected:
        return (f"entries {expected}..{seq - 1} are missing (the line holds entry {seq})"
                if seq > expected + 1 else f"entry {expected} is missing")
    if seq < expected:
        return f"entry {seq} is out of order (entry {expected} expected)"
    if entry.get("prev") != walk.prev:
        return "the link to the entry before is broken (an entry was removed or reordered)"
    valid = mac_ok(entry, ring, "hash")
    if valid is None:
        return f"its key {entry.get('kid')!r} is not in the audit key ring"
    if not valid:
        return "its content does not match its hash (an HMAC): altered or forged"
    return None


def verify(config: AuditConfig, ring: KeyRing | None = None,
           live: tuple[int, str] | None = None) -> Verification:
    """Check the whole trail; `live` is the running service's (entries, last hash)."""
    missing_log = f"the audit log {config.log_path} does not exist"
    if ring is None:
        try:
            ring = load_ring(config.key_env, config.key_file, create=False)
        except AuditKeyError as exc:
            if not config.log_path.exists():
                return Verification(False, 0, 1, 0, missing_log)
            return Verification(False, 0, None, None, f"cannot verify: {exc}")
    attestations, trouble, n_checkpoints = _attestations(config, ring, live)
    if not config.log_path.exists():
        attested = max((a.seq for a in attestations), default=0)
        if attested:
            missing_log += (f": entries 0..{attested - 1} are missing" if attested > 1
                            else ": entry 0 is missing")
        return Verification(False, 0, 1, 0, missing_log, n_checkpoints, attested)
    wanted = {a.seq - 1 for a in attestations if a.seq > 0}
    walk = _Walk()
    for n, entry in _lines(config):
        problem = _entry_problem(entry, walk, ring)
        if problem is not None:
            return Verification(False, walk.entries, n, walk.entries,
                                f"entry {walk.entries} (line {n}): {problem}", n_checkpoints)
        assert entry is not None
        walk.prev = str(entry["hash"])
        if walk.entries in wanted:
            walk.heads[walk.entries] = walk.prev
        walk.entries += 1
    attested = max((a.seq for a in attestations), default=0)
    longest = max(attestations, key=lambda a: a.seq, default=None)
    if longest is not None and longest.seq > walk.entries:
        missing = (f"entries {walk.entries}..{longest.seq - 1} are missing"
                   if longest.seq > walk.entries + 1 else f"entry {walk.entries} is missing")
        return Verification(False, walk.entries, walk.entries + 1, walk.entries,
                            f"{missing}: the log ends after {walk.entries} entries but "
                            f"{longest.what} attests {longest.seq}", n_checkpoints, attested)
    for a in sorted(attestations, key=lambda a: a.seq):
        if a.seq > 0 and walk.heads.get(a.seq - 1) != a.head:
            return Verification(False, walk.entries, a.seq, a.seq - 1,
                                f"entry {a.seq - 1} differs from the one {a.what} attests",
                                n_checkpoints, attested)
    if trouble is not None:
        return Verification(False, walk.entries, None, None, trouble, n_checkpoints, attested)
    return Verification(True, walk.entries, None, None, None, n_checkpoints, attested)
