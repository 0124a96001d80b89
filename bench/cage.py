"""Issue 14's "done when" figures in one place: the audit trail behind the fuzzing run, the
tamper cases against a copy of it, and the figures of the other stages (fuzz, frozen, api).

- `audit_coverage`: every answer the fuzzing run received (its `X-Request-ID`) looked up in
  the audit log the service wrote; an answer whose request ID has fewer entries than answers
  is counted as answered without audit (measured, not assumed; public probes and docs are
  not audited by design and are left out).
- `tamper_trial`: each case of `api.audit_tamper` applied to a fresh copy of the trail (shut
  down, so its last checkpoint covers every entry); a case is detected when `verify` fails
  and names the case's first missing or altered entry.
- `summary`: the cage section of the results from the sections the stages filled.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from api.audit_files import AuditConfig
from api.audit_middleware import PUBLIC_PREFIXES
from api.audit_tamper import CASES, TamperNotApplicable
from api.audit_verify import verify

CAGE_KEYS = (
    "requests_fuzzed_inspector", "requests_fuzzed_investigator", "requests_fuzzed_admin",
    "server_errors_500", "answered", "answered_without_audit", "audit_verify_ok",
    "tamper_cases_tried", "tamper_cases_detected", "frozen_first_503_s",
    "frozen_open_503_s", "recovered_without_restart", "recovered_after_sigcont_s",
    "api_p50_ms", "raw_p50_ms", "api_over_raw_p50", "raw_paced_p50_ms",
    "api_over_raw_paced_p50", "api_b2b_p50_ms", "api_b2b_over_raw_p50", "idle_penalty_p50",
)


def audited(path: str) -> bool:
    """Whether the audit middleware writes an entry for a request to `path`."""
    return not path.startswith(PUBLIC_PREFIXES)


def audit_coverage(request_ids: Iterable[str | None], log_path: Path) -> dict[str, Any]:
    """Answers (by request ID) against the entries of the log at `log_path`."""
    answers: Counter[str | None] = Counter(request_ids)
    entries: Counter[str | None] = Counter()
    unreadable = 0
    if log_path.exists():
        with log_path.open("rb") as f:
            for line in f:
                try:
                    entries[json.loads(line).get("request_id")] += 1
                except (ValueError, AttributeError):
                    unreadable += 1
    short = {rid: n - entries[rid] for rid, n in answers.items() if n > entries[rid]}
    return {"answered": sum(answers.values()), "audit_entries": sum(entries.values()),
            "answered_without_audit": sum(short.values()), "audit_unreadable_lines": unreadable,
            "unaudited_request_ids": sorted(str(r) for r in short)[:10]}


def tamper_trial(config: AuditConfig) -> dict[str, Any]:
    """Every tamper case against its own copy of the (shut-down) trail of `config`."""
    baseline = verify(config)
    out: dict[str, Any] = {"audit_verify_ok": baseline.ok, "audit_verify_entries":
                           baseline.entries, "tamper_cases_tried": 0,
                           "tamper_cases_detected": 0, "tamper_cases": {}}
    if not baseline.ok:
        out["audit_verify_reason"] = baseline.reason
        return out  # a trail that fails as it is proves nothing about tampering
    for case in CASES:
        with tempfile.TemporaryDirectory(prefix="guanlian-tamper-") as scratch:
            copy = _copy(config, Path(scratch))
            try:
                first_bad = case(copy.log_path, baseline.entries)
            except TamperNotApplicable as exc:
                out["tamper_cases"][case.__name__] = f"not applicable: {exc}"
                continue
            result = verify(copy)
        detected = not result.ok and result.first_bad_seq == first_bad
        out["tamper_cases_tried"] += 1
        out["tamper_cases_detected"] += int(detected)
        out["tamper_cases"][case.__name__] = (
            f"detected at entry {first_bad}" if detected else
            f"NOT detected (expected entry {first_bad}; verify: ok={result.ok}, "
            f"first_bad_seq={result.first_bad_seq}, reason={result.reason})")
    return out


def _copy(config: AuditConfig, folder: Path) -> AuditConfig:
    """The trail of `config` copied into `folder` (same layout, same key)."""
    copied = AuditConfig.in_folder(folder, key_env=config.key_env)
    for source, target in ((config.log_path, copied.log_path),
                           (config.counter_path, copied.counter_path),
                           (config.key_file, copied.key_file)):
        if source.exists():
            shutil.copy2(source, target)
    shutil.copytree(config.anchor_dir, copied.anchor_dir)
    return copied


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The cage section from the fuzz, resilience and api sections of `result`."""
    fuzz = result.get("fuzz") or {}
    frozen = result.get("resilience") or {}
    api = result.get("api") or {}
    out: dict[str, Any] = {f"requests_fuzzed_{role}": fuzz.get(f"requests_{role}")
                           for role in ("inspector", "investigator", "admin")}
    for key in ("server_errors_500", "answered", "answered_without_audit", "audit_verify_ok",
                "tamper_cases_tried", "tamper_cases_detected"):
        out[key] = fuzz.get(key)
    for key in ("frozen_first_503_s", "frozen_open_503_s", "recovered_without_restart",
                "recovered_after_sigcont_s"):
        out[key] = frozen.get(key)
    out["api_p50_ms"] = api.get("lookup_id_p50_ms")
    out["raw_p50_ms"] = api.get("raw_p50_ms")
    out["api_over_raw_p50"] = api.get("api_over_raw_p50")
    # the raw read again at the API load's arrival rate (bench.serving.raw_beside)
    out["raw_paced_p50_ms"] = api.get("raw_paced_p50_ms")
    out["api_over_raw_paced_p50"] = api.get("api_over_raw_paced_p50")
    # and the API back to back from one client, over the raw read back to back; the
    # machine's own penalty for work that arrives after an idle gap (bench.serving)
    out["api_b2b_p50_ms"] = api.get("lookup_id_b2b_p50_ms")
    out["api_b2b_over_raw_p50"] = api.get("api_b2b_over_raw_p50")
    out["idle_penalty_p50"] = api.get("idle_penalty_p50")
    return out
