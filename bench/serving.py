"""Benchmark stages that need a running service: Neo4j load / queries and the API load test."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bench.load_test import LoadResult, LoadSpec, find_max_rps, lookup_requests, run
from bench.stages import GUANLIAN, ROOT, run_child
from runfolder.folder import read_table

T = TypeVar("T")
LOAD_RATE = 50  # requests/s of the API load test (8 clients)
B2B_REQUESTS = 1000  # identifier lookups sent back to back by one client
B2B_WARMUP = 500  # and sent before them, not measured
# the paced load's first seconds after the service starts, measured apart (`cold_*`): on
# large right after the bulk load restarted Neo4j (its query code not yet compiled), the
# first 10 s had name p99 147.7 ms, the 30 s after them 27.3 ms (docs/performance.md)
COLD_S = 10.0


class TimedStore:
    """A store whose method calls add their wall time (seconds) to `spent`: the raw store
    reads of a lookup, timed without HTTP."""

    def __init__(self, store: Any) -> None:
        self.store, self.spent = store, 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - started

        return call

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered))) - 1))]


def timed_ms(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def sample_subjects(run_dir: Path, n: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Lookup bodies built from the run's enterprises: by identifier and by name only."""
    ent = read_table(run_dir, "entities", ("kind", "name", "uscc", "customs_code"))
    ent = ent[ent["kind"] == "enterprise"]
    coded = ent[ent["uscc"].notna() | ent["customs_code"].notna()]
    with_id = coded.sample(n=min(n, len(coded)), random_state=seed)
    by_id = [{"uscc": r.uscc} if isinstance(r.uscc, str) else {"customs_code": r.customs_code}
             for r in with_id.itertuples()]
    by_name = [{"name": r.name} for r in ent.sample(n=min(n, len(ent)), random_state=seed + 1)
               .itertuples()]
    return {"id": by_id, "name": by_name}


def sample_declarations(run_dir: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """Lookup bodies as a customs declaration writes them: a firm's USCC and customs code and
    a declarant's resident ID number and name (people of the run drawn at random)."""
    ent = read_table(run_dir, "entities", ("kind", "name", "uscc", "customs_code",
                                            "id_number"))
    firms = ent[(ent["kind"] == "enterprise") & ent["uscc"].notna() & ent["customs_code"].notna()]
    people = ent[(ent["kind"] == "person") & ent["id_number"].notna()]
    k = min(n, len(firms), len(people))
    firms = firms.sample(n=k, random_state=seed)
    people = people.sample(n=k, random_state=seed + 2)
    return [{"uscc": f.uscc, "customs_code": f.customs_code, "declarant_id": p.id_number,
             "declarant_name": p.name}
            for f, p in zip(firms.itertuples(), people.itertuples(), strict=True)]


def neo4j_load(run_dir: Path, changed_dir: Path) -> dict[str, Any]:
    from bench.bench_load import wipe
    from graph.neo4j.conn import open_driver
    from graph.neo4j.hash import graph_checksum
    from graph.neo4j.loader import publish_run
    from graph.neo4j.store import warm_up_walks

    driver = open_driver()
    try:
        wipe(driver)
        full = publish_run(driver, run_dir, progress=True)
        clean = graph_checksum(driver)  # the reference of the fault-recovery stage
        again = publish_run(driver, run_dir, progress=False)
        sync = publish_run(driver, changed_dir, progress=False)
        back = publish_run(driver, run_dir, progress=False)
        warm_up_walks(driver)  # as `guanlian load` does after every load
    finally:
        driver.close()
    secs = max(full.seconds, 1e-9)
    store_bytes = neo4j_store_bytes()
    prepared = {name: _prepare_seconds(d) for name, d in (("", run_dir), ("sync_", changed_dir))}
    per_element = (round(store_bytes / (full.nodes_total + full.rels_total), 1)
                   if store_bytes else None)
    return {
        "store_bytes": store_bytes, "store_bytes_per_element": per_element,
        "wall_s": round(full.seconds, 2), "nodes": full.nodes_total,
        "relationships": full.rels_total,
        "nodes_per_s": round(full.nodes_total / secs), "relationships_per_s":
        round(full.rels_total / secs), "reload_unchanged_s": round(again.seconds, 2),
        "reload_mode": again.mode, "sync_1pct_s": round(sync.seconds, 2),
        "sync_written": sync.nodes_written + sync.rels_written,
        "sync_deleted": sync.nodes_deleted + sync.rels_deleted,
        "sync_back_s": round(back.seconds, 2),
        # preparing a run's graph rows (RUN/graph/, done by `guanlian score` before the load)
        "prepare_s": prepared[""], "sync_prepare_s": prepared["sync_"],
        "wall_with_prepare_s": round(full.seconds + (prepared[""] or 0.0), 2),
        "sync_mode": sync.mode, "sync_timings": {k: round(v, 2) for k, v in sync.timings.items()},
        "clean_checksum": clean,
    }


def _prepare_seconds(run_dir: Path) -> float | None:
    try:
        manifest = json.loads((run_dir / "graph" / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    parts = [manifest.get("build_seconds"), manifest.get("write_seconds")]
    return round(sum(float(x) for x in parts if x is not None), 2) if parts[0] is not None else None


def neo4j_store_bytes() -> int | None:
    """Bytes on disk of the `neo4j` database of the server scripts/neo4j runs (None if unknown)."""
    from urllib.parse import urlparse

    from graph.neo4j.conn import get_settings

    port = urlparse(get_settings().uri).port or 7687
    folder = Path(os.environ.get("NEO4J_STATE_DIR", ROOT / "var" / "neo4j" / str(port)))
    db = folder / "data" / "databases" / "neo4j"
    if not db.is_dir():
        return None
    return sum(f.stat().st_size for f in db.rglob("*") if f.is_file())


def neo4j_load_fault(run_dir: Path, seed: int, full_s: float,
                     clean: str | None = None) -> dict[str, Any]:
    """Kill `guanlian load` at a random moment, restart it, compare with a clean load (its
    checksum `clean`, taken after this bench's full load of the same run, or made here)."""
    from bench.bench_load import wipe
    from graph.neo4j.conn import open_driver
    from graph.neo4j.hash import graph_checksum
    from graph.neo4j.loader import publish_run

    driver = open_driver()
    try:
        if clean is None:
            wipe(driver)
            publish_run(driver, run_dir, progress=False)
            clean = graph_checksum(driver)
        wipe(driver)
        kill_at = random.Random(seed).uniform(1.0, max(2.0, full_s * 0.8))
        killed = run_child([GUANLIAN, "load", "--run", str(run_dir)], kill_after_s=kill_at)
        restarted = run_child([GUANLIAN, "load", "--run", str(run_dir)])
        after = graph_checksum(driver)
    finally:
        driver.close()
    return {"killed_after_s": round(kill_at, 2), "killed_exit": killed.returncode,
            "restart_exit": restarted.returncode, "ok": restarted.returncode == 0
            and after == clean}


def query_sample(run_dir: Path, seed: int, n: int = 200, cap: int = 200
                  ) -> tuple[list[str], list[tuple[str, str]]]:
    """Entities and entity pairs for the walk queries. Entities: 3/4 uniform, 1/4 from the
    best-connected 1 % (relations plus shared address / phone). Pairs: half uniform (almost
    never connected: the search explores both whole balls), half connected by a random walk
    of 2..4 steps through nodes of degree <= `cap` (the paths exist and are enumerated)."""
    rng = random.Random(seed)
    ent = read_table(run_dir, "entities", ("entity_id", "address_std", "phone"))
    rel = read_table(run_dir, "relations", ("type", "src", "dst"))
    rel = rel[rel["type"] != "SUBJECT_OF"]
    src = [*rel["src"], *ent["entity_id"], *ent["entity_id"]]
    dst = [*rel["dst"], *("addr:" + ent["address_std"].astype(str)),
           *("tel:" + ent["phone"].astype(str))]
    adj: dict[str, list[str]] = {}
    for a, b in zip(src, dst, strict=True):
        if not isinstance(a, str) or not isinstance(b, str) or b.endswith((":None", ":nan")):
            continue
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    ids = sorted(ent["entity_id"])
    by_degree = sorted(ids, key=lambda i: (-len(adj.get(i, ())), i))
    top = by_degree[: max(n // 4, len(ids) // 100)]
    chosen = rng.sample(ids, min(len(ids), n - n // 4)) + rng.sample(top, min(len(top), n // 4))
    entities = list(dict.fromkeys(chosen))
    pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(n // 2)]
    is_entity = set(ids)
    while len(pairs) < n:
        start = rng.choice(entities)
        node, steps = start, rng.randint(2, 4)
        for step in range(8):
            options = [x for x in adj.get(node, ()) if len(adj.get(x, ())) <= cap]
            if not options:
                break
            node = rng.choice(options)
            if step + 1 >= steps and node in is_entity and node != start:
                pairs.append((start, node))
                break
    return entities, pairs


def neo4j_queries(run_dir: Path, seed: int) -> dict[str, Any]:
    """Walk queries against the loaded graph: exposure (2 hops) per sampled entity and
    shortest paths (<= 4 hops) per sampled pair. A first pass over the sample is timed as
    the cold figures and warms the caches; the reported p50 / p99 are of a second pass."""
    from graph.neo4j.conn import open_driver
    from graph.neo4j.store import Neo4jStore

    ids, pairs = query_sample(run_dir, seed)
    store = Neo4jStore(open_driver())
    try:
        def passes() -> tuple[list[float], list[float]]:
            exposure = [timed_ms(partial(store.exposure, i, max_hops=2), 1)[0] for i in ids]
            path = [timed_ms(partial(store.paths, a, b, max_hops=4), 1)[0] for a, b in pairs]
            return exposure, path

        exposure_cold, path_cold = passes()
        exposure, path = passes()
        store.shared_controllers(limit=50)  # warm
        shared = timed_ms(lambda: store.shared_controllers(limit=50), 3)
        found = sum(1 for a, b in pairs if store.paths(a, b, max_hops=4))
    finally:
        store.close()
    return {"shared_controllers_s": round(min(shared) / 1000, 3),
            "exposure_p50_ms": round(_p(exposure, 50), 2),
            "exposure_p99_ms": round(_p(exposure, 99), 2),
            "exposure_max_ms": round(max(exposure), 2),
            "exposure_cold_p99_ms": round(_p(exposure_cold, 99), 2),
            "path_p50_ms": round(_p(path, 50), 2),
            "path_p99_ms": round(_p(path, 99), 2),
            "path_max_ms": round(max(path), 2),
            "path_cold_p99_ms": round(_p(path_cold, 99), 2),
            "query_entities": len(ids), "query_pairs": len(pairs), "query_pairs_connected": found}


def paced(items: Iterable[T], rate: float | None) -> Iterator[T]:
    """`items` one by one; with `rate`, the i-th no sooner than i / rate seconds after the
    first (the arrivals of a load at `rate` requests/s, slept between, never caught up in
    a burst)."""
    started = time.perf_counter()
    for i, item in enumerate(items):
        if rate:
            wait = started + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        yield item


def timed_lookups(lookup: Callable[[Any, Any], Any], timed: TimedStore,
                  bodies: Iterable[Any], rate: float | None = None
                  ) -> tuple[list[float], list[float]]:
    """`lookup(timed, body)` for each body (`paced` at `rate`): the milliseconds each spent
    in the store's methods and in the whole lookup."""
    raw: list[float] = []
    whole: list[float] = []
    for body in paced(bodies, rate):
        timed.spent = 0.0
        started = time.perf_counter()
        lookup(timed, body)
        whole.append((time.perf_counter() - started) * 1000)
        raw.append(timed.spent * 1000)
    return raw, whole


def raw_lookup_ms(run_dir: Path, subjects: list[dict[str, Any]],
                  repeat: int = 1, rate: float | None = None) -> dict[str, float]:
    """The same inspection lookups as the API makes, in-process against Neo4j (NEO4J_* env):
    p50 / p99 of the time spent in store reads (Cypher round trips and decoding: the raw
    query time) and of the whole in-process lookup, per subject. Back to back, or with
    `rate` one lookup every 1 / rate seconds (the arrivals of the API load: a round trip
    after an idle gap costs more than one right after the last)."""
    from api.inspection import LookupService, Subject, load_matcher
    from api.settings import Settings
    from graph.neo4j.conn import open_driver
    from graph.neo4j.store import Neo4jStore

    service = LookupService(Settings(), load_matcher(run_dir))
    store = Neo4jStore(open_driver())
    timed: Any = TimedStore(store)
    bodies = [Subject(**s) for s in subjects]
    try:
        for body in bodies[:10]:  # warm the pool and the query caches
            service.lookup(timed, body)
        raw, whole = timed_lookups(service.lookup, timed, bodies * repeat, rate)
    finally:
        store.close()
    return {"raw_p50_ms": round(_p(raw, 50), 2), "raw_p99_ms": round(_p(raw, 99), 2),
            "lookup_p50_ms": round(_p(whole, 50), 2), "lookup_p99_ms": round(_p(whole, 99), 2),
            "n": len(raw)}


def raw_beside(run_dir: Path, subjects: list[dict[str, Any]], figures: dict[str, Any]
               ) -> None:
    """Add to an API load's `figures` (`lookup_id_p50_ms`) the raw store time of the same
    identifier lookups on Neo4j and the ratios: back to back (`raw_*`, `api_over_raw_p50`,
    `api_over_inproc_lookup_p50`) and at the load's arrival rate, 50/s (`raw_paced_*`,
    `api_over_raw_paced_p50`); the API's back-to-back lookups over the back-to-back raw read
    (`api_b2b_over_raw_p50`, when `figures` has `lookup_id_b2b_p50_ms`); and this
    machine's penalty for work arriving after an idle gap (`idle_penalty`)."""
    api_p50 = figures["lookup_id_p50_ms"]
    for prefix, rate in (("raw_", None), ("raw_paced_", float(LOAD_RATE))):
        raw = raw_lookup_ms(run_dir, subjects, rate=rate)
        figures.update({f"{prefix}{k.removeprefix('raw_')}": v for k, v in raw.items()})
        ratio = "api_over_raw_p50" if rate is None else "api_over_raw_paced_p50"
        if raw["raw_p50_ms"]:
            figures[ratio] = round(api_p50 / raw["raw_p50_ms"], 1)
        if rate is None and raw["lookup_p50_ms"]:  # over the whole lookup, no HTTP
            figures["api_over_inproc_lookup_p50"] = round(api_p50 / raw["lookup_p50_ms"], 1)
    if figures["raw_p50_ms"] and figures.get("lookup_id_b2b_p50_ms"):  # both back to back
        figures["api_b2b_over_raw_p50"] = round(
            figures["lookup_id_b2b_p50_ms"] / figures["raw_p50_ms"], 1)
    figures.update(idle_penalty())


def _busy_work(payload: str) -> int:
    """About a millisecond of plain Python work (no I/O, no other thread or process)."""
    rows = json.loads(payload)
    return len(json.dumps(sorted(rows, key=lambda r: r["v"])))


def idle_penalty(gap_s: float = 1 / LOAD_RATE, repeat: int = 300) -> dict[str, float]:
    """This machine's own cost of arriving idle: the same CPU-only work (`_busy_work`) timed
    back to back and after sleeping `gap_s` (the gap between the requests of the API load,
    50 per second). On the 2-core VM this project is measured on, the work takes 1.2-2.0x
    as long after the gap, with no I/O in it: what a paced load pays on every request here and
    a back-to-back loop does not (the ratio of the two is `idle_penalty_p50`)."""
    rng = random.Random(7)
    payload = json.dumps([{"k": i, "v": "x" * rng.randint(1, 50),
                           "n": [rng.random() for _ in range(5)]} for i in range(300)])
    for _ in range(30):
        _busy_work(payload)
    figures: dict[str, float] = {}
    for name, gap in (("idle_work_b2b_p50_ms", 0.0), ("idle_work_paced_p50_ms", gap_s)):
        times = []
        for _ in range(repeat):
            if gap:
                time.sleep(gap)
            started = time.perf_counter()
            _busy_work(payload)
            times.append((time.perf_counter() - started) * 1000)
        figures[name] = round(_p(times, 50), 3)
    figures["idle_penalty_p50"] = round(
        figures["idle_work_paced_p50_ms"] / max(figures["idle_work_b2b_p50_ms"], 1e-9), 2)
    return figures


@contextmanager
def serving(args: list[str], env: dict[str, str] | None = None) -> Iterator[tuple[str, str, int]]:
    """Start `guanlian serve` with a fresh state folder and an investigator key."""
    state = Path(tempfile.mkdtemp(prefix="guanlian-bench-"))
    base_env = {**os.environ, "GUANLIAN_STATE_DIR": str(state),
                "GUANLIAN_RATE_LIMIT_RPS": "100000",
                "GUANLIAN_RATE_LIMIT_BURST": "100000", **(env or {})}
    made = subprocess.run([GUANLIAN, "keys", "create", "--role", "investigator", "--name",
                           "bench", "--state-dir", str(state)], capture_output=True, text=True,
                          env=base_env, check=True)
    key = made.stdout.strip().splitlines()[-1].split()[-1]
    port = _free_port()
    log = (state / "serve.log").open("w")
    proc = subprocess.Popen([GUANLIAN, "serve", *args, "--host", "127.0.0.1", "--port",
                             str(port), "--state-dir", str(state), "--log-level", "WARNING"],
                            cwd=ROOT, env=base_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 900
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited: {(state / 'serve.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not become ready within 900 s")
            time.sleep(0.5)
        yield url, key, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def rss_mb(pid: int) -> float:
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 1024 / 1024, 1)


SCREEN_SIZE = 1000  # subjects per screen of the api stage (the route's bound)
SCREENS = 3


def api_load(url: str, key: str, subjects: dict[str, list[dict[str, Any]]], duration_s: float,
             find_max: bool = True) -> dict[str, Any]:
    headers = {"X-API-Key": key}

    def paced(kind: str, seconds: float) -> LoadResult:  # LOAD_RATE lookups/s from 8 clients
        return run(LoadSpec(url, lookup_requests(subjects[kind]), rate=LOAD_RATE, clients=8,
                            duration_s=seconds, headers=headers))

    # the first COLD_S seconds of each paced load apart (the service and the store just
    # started): reported as `cold_*`, the steady state after them as the stage's figures
    cold_s = min(COLD_S, duration_s)
    cold = {kind: paced(kind, cold_s) for kind in ("id", "name")}
    by_id, by_name = paced("id", duration_s), paced("name", duration_s)
    # the same identifier lookups back to back from one client (each sent when the last
    # answer came): the API's time beside the raw read measured the same way
    # (`raw_beside`), both without the idle gaps of a paced load (`idle_penalty`)
    # (after B2B_WARMUP unmeasured ones: a freshly started server's first thousand
    # back-to-back answers were 2.4-3.9 ms at p50 from one run to the next)
    back_to_back = run(LoadSpec(url, lookup_requests(subjects["id"]), rate=1e6, clients=1,
                                duration_s=60, max_requests=B2B_REQUESTS, headers=headers,
                                warmup=B2B_WARMUP))
    out: dict[str, Any] = {
        "lookup_id_p50_ms": round(by_id.p50_ms, 2), "lookup_id_p99_ms": round(by_id.p99_ms, 2),
        "lookup_id_b2b_p50_ms": round(back_to_back.pct(50, True), 2),
        "lookup_id_service_p50_ms": round(by_id.pct(50, True), 2),
        "lookup_name_p99_ms": round(by_name.p99_ms, 2),
        "lookup_name_p50_ms": round(by_name.p50_ms, 2),
        "cold_s": cold_s,
        "cold_lookup_id_p99_ms": round(cold["id"].p99_ms, 2),
        "cold_lookup_name_p99_ms": round(cold["name"].p99_ms, 2),
        "errors": sum(r.errors for r in (*cold.values(), by_id, by_name, back_to_back)),
        "requests": sum(r.sent for r in (*cold.values(), by_id, by_name, back_to_back)),
    }
    declarations = subjects.get("declaration")
    if declarations:  # a firm's USCC and customs code and a declarant's ID: one round trip
        by_declaration = paced("declaration", duration_s)
        screens = [{"subjects": declarations[i:i + SCREEN_SIZE]}
                   for i in range(0, len(declarations) - SCREEN_SIZE + 1, SCREEN_SIZE)]
        screened = run(LoadSpec(url, lookup_requests(screens, "/inspection/screen"),
                                rate=1e6, clients=1, duration_s=120, max_requests=SCREENS,
                                timeout_s=60, headers=headers, warmup=1))
        out.update({
            "lookup_declaration_p50_ms": round(by_declaration.p50_ms, 2),
            "lookup_declaration_p99_ms": round(by_declaration.p99_ms, 2),
            "screen_subjects": SCREEN_SIZE,
            "screen_p50_ms": round(screened.pct(50, True), 1),
        })
        out["errors"] += by_declaration.errors + screened.errors
        out["requests"] += by_declaration.sent + screened.sent
    if find_max:
        best, steps = find_max_rps(LoadSpec(url, lookup_requests(subjects["id"]), clients=8,
                                            duration_s=min(duration_s, 10), headers=headers),
                                   p99_target_ms=100)
        out["max_rps_p99_under_100ms"] = best
        out["max_rps_steps"] = [s.summary() for s in steps]
    return out


def soak(url: str, key: str, pid: int, subjects: dict[str, list[dict[str, Any]]],
         duration_s: float, warmup_s: float = 10.0, sample_every_s: float = 15.0) -> dict[str, Any]:
    """Hold 50 req/s from 8 clients for `duration_s` after a warm-up, sampling the API
    process's RSS; growth is end minus start (both after the warm-up)."""
    import threading

    headers = {"X-API-Key": key}
    requests = lookup_requests(subjects["id"])
    boot = rss_mb(pid)
    run(LoadSpec(url, requests, rate=50, clients=8, duration_s=warmup_s, headers=headers))
    samples: list[tuple[float, float]] = []
    done = threading.Event()
    t0 = time.perf_counter()

    def sample() -> None:
        while not done.wait(sample_every_s):
            samples.append((round(time.perf_counter() - t0, 1), rss_mb(pid)))

    start = rss_mb(pid)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        res = run(LoadSpec(url, requests, rate=50, clients=8, duration_s=duration_s,
                           max_requests=int(duration_s * 60), headers=headers))
    finally:
        done.set()
        sampler.join()
    end = rss_mb(pid)
    return {"duration_s": duration_s, "requests": res.sent, "errors": res.errors,
            "achieved_rps": round(res.achieved_rps, 1),
            "p50_ms": round(res.p50_ms, 2), "p99_ms": round(res.p99_ms, 2),
            "rss_boot_mb": boot, "rss_start_mb": start, "rss_end_mb": end,
            "rss_growth_mb": round(end - start, 1), "rss_samples": samples}


def dump(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n",
                    encoding="utf-8")
