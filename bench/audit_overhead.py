"""What the durable audit write costs an identifier lookup (issue 14).

    python -m bench.audit_overhead --run RUN [--port 8713] [--requests 2000] [--clients 8]
    python -m bench.audit_overhead --sync-ab FOLDER [--rounds 10]

Starts `guanlian serve --run RUN` (embedded store) on a loopback port with a fresh state
folder and an inspector key, then sends `--requests` identifier lookups one after the other
(p50 / p99 of each) and the same number from `--clients` concurrent clients (where group
commit shares one fsync among the entries written together), and reads the raw store lookup
in-process for the ratio. Prints one JSON object. Run it from a checkout: the checkout's own
`api/` is served, so the same script measures an older commit when run in its worktree.

`--sync-ab FOLDER` measures the disk instead: what one durable write of a ~450-byte entry
costs when appended to a file (`write` + `fdatasync`, the log's way) and when overwriting in
place a preallocated, zero-filled file (no size or block change to commit), in alternating
blocks of 100 so both see the same load of a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered))) - 1))]


def _subjects(run: Path, n: int) -> list[dict[str, str]]:
    ent = pd.read_parquet(run / "entities.parquet", columns=["kind", "uscc"])
    codes = ent[(ent["kind"] == "enterprise") & ent["uscc"].notna()]["uscc"].tolist()
    return [{"uscc": str(codes[i % len(codes)])} for i in range(n)]


def _cli(state: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "api.cli", *args, "--state-dir", str(state)],
                          capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return done.stdout.strip()


def _sequential(base: str, key: str, subjects: list[dict[str, str]]) -> list[float]:
    out = []
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as client:
        for body in subjects:
            t = time.perf_counter()
            r = client.post("/inspection/lookup", json=body)
            out.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
    return out


def _concurrent(base: str, key: str, subjects: list[dict[str, str]],
                clients: int) -> tuple[list[float], float]:
    times: list[float] = []
    lock = threading.Lock()

    def worker(part: list[dict[str, str]]) -> None:
        mine = _sequential(base, key, part)
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=worker, args=(subjects[i::clients],))
               for i in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return times, len(subjects) / (time.perf_counter() - t)


def _raw_p50(run: Path, subjects: list[dict[str, str]]) -> float:
    """The store reads of an identifier lookup (brief by USCC, then its risk), in-process."""
    from graph.embedded.store import EmbeddedStore

    store = EmbeddedStore.from_run(run)
    out = []
    for body in subjects[:1000]:
        t = time.perf_counter()
        for brief in store.briefs_by_identifier("uscc", body["uscc"]):
            store.get_risk(brief.entity_id)
        out.append((time.perf_counter() - t) * 1000)
    return _p(out, 50)


Buckets = dict[float, float]


def _audit_wait(base: str, admin: str) -> Buckets | None:
    """The service's histogram of audit waits (cumulative count per upper bound, and -1: sum)."""
    text = httpx.get(base + "/metrics", headers={"X-API-Key": admin}, timeout=30).text
    out: Buckets = {}
    for line in text.splitlines():
        if line.startswith("guanlian_audit_wait_seconds_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            out[math.inf if bound == "+Inf" else float(bound)] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("guanlian_audit_wait_seconds_sum"):
            out[-1.0] = float(line.rsplit(" ", 1)[1])
    return out or None


def _wait_between(a: Buckets | None, b: Buckets | None) -> dict[str, float] | None:
    """Mean and the bucket holding the median of the waits observed between two reads."""
    if a is None or b is None:
        return None  # a service without the metric (before the fail-closed audit)
    bounds = sorted(k for k in b if k >= 0)
    counts = {k: b[k] - a.get(k, 0.0) for k in bounds}
    total = counts[math.inf]
    if not total:
        return None  # a service that does not audit
    median_bound = next(k for k in bounds if counts[k] >= total / 2)
    return {"mean_ms": round((b[-1.0] - a.get(-1.0, 0.0)) / total * 1000, 3),
            "p50_at_most_ms": median_bound * 1000, "count": total}


def measure(run: Path, port: int, requests: int, clients: int) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="audit-overhead-"))
    key = _cli(state, "keys", "create", "--role", "inspector", "--name", "bench")
    admin = _cli(state, "keys", "create", "--role", "admin", "--name", "bench-metrics")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GUANLIAN_RATE_LIMIT_RPS": "100000",
           "GUANLIAN_RATE_LIMIT_BURST": "100000"}  # measure the audit, not the limiter
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--run", str(run), "--port", str(port),
         "--state-dir", str(state), "--log-level", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the service did not become ready")
            time.sleep(0.3)
        subjects = _subjects(run, requests)
        _sequential(base, key, subjects[:200])  # warm-up
        wait_before = _audit_wait(base, admin)
        seq = _sequential(base, key, subjects)
        wait_seq = _audit_wait(base, admin)
        conc, rps = _concurrent(base, key, subjects, clients)
        wait_conc = _audit_wait(base, admin)
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = state / "audit.jsonl"
    entries = sum(1 for _ in log.open("rb")) if log.exists() else 0
    return {
        "requests": requests, "sequential_p50_ms": round(_p(seq, 50), 3),
        "sequential_p99_ms": round(_p(seq, 99), 3),
        f"concurrent_{clients}_p50_ms": round(_p(conc, 50), 3),
        f"concurrent_{clients}_p99_ms": round(_p(conc, 99), 3),
        f"concurrent_{clients}_rps": round(rps, 1),
        "raw_store_lookup_p50_ms": round(_raw_p50(run, subjects), 4),
        "audit_wait_sequential": _wait_between(wait_before, wait_seq),
        f"audit_wait_concurrent_{clients}": _wait_between(wait_seq, wait_conc),
        "audit_entries": entries, "state": str(state),
    }


def sync_ab(folder: Path, rounds: int = 10, block: int = 100) -> dict[str, Any]:
    """p50 / p90 / p99 (ms) of append + fdatasync against overwrite-in-place + fdatasync."""
    line = b"x" * 449 + b"\n"
    sync = getattr(os, "fdatasync", os.fsync)
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="sync-ab-", dir=folder))
    appended = os.open(scratch / "append", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    in_place = os.open(scratch / "in-place", os.O_RDWR | os.O_CREAT, 0o600)
    times: dict[str, list[float]] = {"append": [], "overwrite_in_place": []}
    try:
        os.write(in_place, bytes(len(line) * rounds * block))
        os.fsync(in_place)
        offset = 0
        for _ in range(rounds):
            for name in times:
                for _ in range(block):
                    t = time.perf_counter()
                    if name == "append":
                        os.write(appended, line)
                        sync(appended)
                    else:
                        os.pwrite(in_place, line, offset)
                        sync(in_place)
                        offset += len(line)
                    times[name].append((time.perf_counter() - t) * 1000)
    finally:
        os.close(appended)
        os.close(in_place)
        shutil.rmtree(scratch, ignore_errors=True)
    return {name: {f"p{q}_ms": round(_p(v, q), 3) for q in (50, 90, 99)} | {"n": len(v)}
            for name, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path)
    parser.add_argument("--sync-ab", type=Path, metavar="FOLDER",
                        help="measure append vs overwrite-in-place syncs in FOLDER instead")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--port", type=int, default=8713)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)
    if args.sync_ab is not None:
        print(json.dumps(sync_ab(args.sync_ab, args.rounds), indent=1))
        return 0
    if args.run is None:
        parser.error("give --run RUN (or --sync-ab FOLDER)")
    print(json.dumps(measure(args.run, args.port, args.requests, args.clients), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
