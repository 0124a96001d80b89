"""The tamper cases of issue 14: what `verify` (api.audit_verify) must report.

Each case edits an audit log of `n` entries as an intruder with write access to the log but
without the audit key would, and returns the sequence number of the first entry `verify` has
to name as missing or altered: the last line or the last 420 lines cut, the file deleted, 33
inspector lookups removed and the chain recomputed (as a plain SHA-256 chain would allow),
two entries swapped, a range rewritten and re-hashed. The test suite runs them against a live
service and after shutdown (tests/api/test_api_audit_tamper.py); the benchmark runs them
against a copy of its fuzzing run's trail (bench/cage.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Lines = list[str]
TamperCase = Callable[[Path, int], int]
CUT_TAIL = 420
DELETED_INSPECTOR_ENTRIES = 33
REORDERED_AT = 200
REWRITTEN = (100, 160)
MIN_ENTRIES = CUT_TAIL + 1  # every case applies to a log at least this long


class TamperNotApplicable(ValueError):
    """The log is too short (or holds too few inspector entries) for the case."""


def _plain_hash(entry: dict[str, Any]) -> str:
    """What a forger without the key can compute: sha256 of the entry without `hash`."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _rechain(entries: list[dict[str, Any]], start: int) -> Lines:
    """Renumber and re-hash from `start` on, as the old sha256 chain would have it."""
    for i in range(start, len(entries)):
        entries[i]["seq"] = i
        entries[i]["prev"] = entries[i - 1]["hash"] if i else "0" * 64
        entries[i]["hash"] = _plain_hash(entries[i])
    return [json.dumps(e, separators=(",", ":")) for e in entries]


def write_lines(path: Path, lines: Lines) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="ascii")


def _lines(path: Path, at_least: int) -> Lines:
    lines = path.read_text(encoding="ascii").splitlines()
    if len(lines) < at_least:
        raise TamperNotApplicable(f"{path} holds {len(lines)} entries, the case needs "
                                  f"{at_least}")
    return lines


def cut_last_line(path: Path, n: int) -> int:
    write_lines(path, _lines(path, 1)[:-1])
    return n - 1


def cut_last_420(path: Path, n: int) -> int:
    write_lines(path, _lines(path, CUT_TAIL)[:-CUT_TAIL])
    return n - CUT_TAIL


def delete_file(path: Path, n: int) -> int:
    path.unlink()
    return 0


def delete_33_inspector_entries(path: Path, n: int) -> int:
    entries = [json.loads(line) for line in _lines(path, 1)]
    inspector = [i for i, e in enumerate(entries)
                 if e.get("role") == "inspector"][:DELETED_INSPECTOR_ENTRIES]
    if len(inspector) != DELETED_INSPECTOR_ENTRIES:
        raise TamperNotApplicable(f"{path} holds {len(inspector)} inspector entries")
    removed = set(inspector)
    kept = [e for i, e in enumerate(entries) if i not in removed]
    write_lines(path, _rechain(kept, inspector[0]))
    return inspector[0]


def reorder(path: Path, n: int) -> int:
    lines = _lines(path, REORDERED_AT + 2)
    lines[REORDERED_AT], lines[REORDERED_AT + 1] = lines[REORDERED_AT + 1], lines[REORDERED_AT]
    write_lines(path, lines)
    return REORDERED_AT


def rewrite_range(path: Path, n: int) -> int:
    entries = [json.loads(line) for line in _lines(path, REWRITTEN[1])]
    for e in entries[REWRITTEN[0]:REWRITTEN[1]]:
        e["key_name"], e["entity_ids"] = "someone-else", []
    write_lines(path, _rechain(entries, REWRITTEN[0]))
    return REWRITTEN[0]


CASES: list[TamperCase] = [
    cut_last_line, cut_last_420, delete_file, delete_33_inspector_entries, reorder,
    rewrite_range,
]
