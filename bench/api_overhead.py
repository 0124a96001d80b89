"""Where an identifier lookup's time goes: the API beside the same lookup on the same store.

    python -m bench.api_overhead --run RUN [--neo4j] [--requests 500] [--rate 50] [--declarations]
    python -m bench.api_overhead --run RUN [--neo4j] --name-cpu [--requests 300]
    python -m bench.api_overhead --run RUN [--neo4j] --asgi-cpu [--role inspector]
    python -m bench.api_overhead --run RUN [--neo4j] --screen 1000 [--requests 5] [--one-by-one]

Serves the app in this process with uvicorn (the settings `guanlian serve` uses: uvloop,
httptools, a fresh state folder, a durable fail-closed audit) and sends identifier lookups
from a separate client process over loopback, one connection, at a fixed rate (`--rate 0`:
back to back). Each request is timed in spans, from its arrival at the outermost ASGI layer:

- `before_lookup`: middleware, key check, rate limit, body parsing and validation, and (a name
  search, or Neo4j with `GUANLIAN_NEO4J_ASYNC_LOOKUPS=false`) the hop to the worker thread
  that runs the store read;
- `lookup`: `LookupService.lookup` (the store reads and the matching; an identifier lookup on
  the embedded store runs on the event loop), or on Neo4j `LookupService.lookup_async` (the
  identifier reads awaited on the event loop through the async driver, `graph.neo4j.aio`);
- `after_lookup`: the hop back, redaction, response validation, serialising;
- `audit_wait`: building the audit entry (its entity IDs are scanned from the body just
  before) and waiting until it is durable, or writing it (`audit_sync` is the write +
  fdatasync alone; `audit_inline_share`: the share of entries a lone request wrote itself,
  `AuditLog.write_now`, rather than the writer thread);
- `send`: handing the answer to the server; `server`: arrival to the last byte handed over.

With `--neo4j` the graph must hold the run (its meta node `ready` with the run's ID): an
empty or other graph is refused, since every sampled identifier would miss and a miss is a
cheaper read than a hit; `found_share` is the share of the sampled subjects the lookup finds.
Also the CPU time of each server thread per request and the client's own CPU per request.
Then, on the same store object of the same process, in one plain thread: the same lookups
without HTTP (`raw`: the time inside the store's methods, the Cypher round trips and
decoding for Neo4j through the sync driver, which is a little faster per read than the async
one the API uses; `inproc`: the whole in-process lookup), back to back and (`raw_paced`)
at the client's rate: a Bolt round trip after an idle gap of 20 ms costs about three times
one right after the last on this machine, for the API and for the raw read alike. Ratios
are the client's p50 over those. The spans wrap our own functions (the real ones run inside them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CLIENT = "bench.api_overhead"
SPANS = (("before_lookup", "t0", "ep0"), ("lookup", "ep0", "ep1"),
         ("after_lookup", "ep1", "a0"), ("audit_wait", "a0", "a1"), ("send", "send", "end"),
         ("server", "t0", "end"))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 3)


def _stats(values: list[float]) -> dict[str, float]:
    return {"p50": _pct(values, 50), "p90": _pct(values, 90), "p99": _pct(values, 99)}


def _thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of `pid` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[tid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def client(url: str, key: str, bodies_file: str, n: int, rate: float, warmup: int) -> None:
    """The client process: `n` lookups after `warmup`, one connection (the load
    generator's lean HTTP/1.1 `Connection`); prints JSON."""
    from bench.load_test import Connection

    bodies = json.loads(Path(bodies_file).read_text(encoding="utf-8"))
    times: list[float] = []

    async def lookups() -> float:
        http = Connection(url, {"X-API-Key": key}, timeout_s=30)
        try:
            for i in range(warmup):
                await http.send(("POST", "/inspection/lookup", bodies[i % len(bodies)]))
            cpu0, t0 = time.process_time(), time.perf_counter()
            for i in range(n):
                if rate > 0:
                    delay = t0 + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                sent = time.perf_counter()
                status = await http.send(("POST", "/inspection/lookup", bodies[i % len(bodies)]))
                times.append((time.perf_counter() - sent) * 1000)
                if status != 200:
                    raise SystemExit(f"lookup {i} answered {status}")
            return time.process_time() - cpu0
        finally:
            await http.close()

    cpu = asyncio.run(lookups())
    print(json.dumps({"client_ms": times, "client_cpu_ms": cpu / n * 1000}))


@contextmanager
def _app_env(run_dir: Path, neo4j: bool, prefix: str) -> Iterator[None]:
    """The app's settings for a measurement (a fresh state folder, no practical rate limit,
    the run and the store) in this process's environment, restored afterwards."""
    env = {"GUANLIAN_STATE_DIR": tempfile.mkdtemp(prefix=prefix),
           "GUANLIAN_RATE_LIMIT_RPS": "100000", "GUANLIAN_RATE_LIMIT_BURST": "100000",
           "GUANLIAN_RUN_DIR": str(run_dir), "GUANLIAN_STORE": "neo4j" if neo4j else "embedded"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def measure(run_dir: Path, neo4j: bool, n: int, rate: float, warmup: int = 50,
            seed: int = 7, role: str = "investigator", declarations: bool = False
            ) -> dict[str, Any]:
    with _app_env(run_dir, neo4j, "guanlian-overhead-"):
        return _measure(run_dir, n, rate, warmup, seed, neo4j, role, declarations)


def _measure(run_dir: Path, n: int, rate: float, warmup: int, seed: int,
             neo4j: bool, role: str, declarations: bool) -> dict[str, Any]:
    import uvicorn

    from api import audit, inspection
    from api.app import create_app
    from api.auth import KeyStore
    from api.inspection import Subject
    from api.settings import Settings
    from bench.serving import _free_port, sample_declarations, sample_subjects

    current: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar(
        "overhead_span", default=None)
    clock = time.perf_counter_ns
    records: list[dict[str, int]] = []
    syncs: list[float] = []
    real_lookup, real_append = inspection.LookupService.lookup, audit.AuditLog.append
    real_async = inspection.LookupService.lookup_async
    real_now = audit.AuditLog.write_now
    real_write = audit.AuditLog._durable_write

    def lookup(self: Any, store: Any, subject: Any, **kwargs: Any) -> Any:
        rec = current.get()
        if rec is not None:
            rec.setdefault("ep0", clock())  # lookup_async calls it once per read it makes
        try:
            return real_lookup(self, store, subject, **kwargs)
        finally:
            if rec is not None:
                rec["ep1"] = clock()

    async def lookup_async(self: Any, *args: Any) -> Any:
        rec = current.get()
        if rec is not None:
            rec["ep0"] = clock()
        try:
            return await real_async(self, *args)
        finally:
            if rec is not None:
                rec["ep1"] = clock()

    async def append(self: Any, *args: Any, **kwargs: Any) -> Any:
        rec = current.get()
        if rec is not None:
            rec["a0"] = clock()
        try:
            return await real_append(self, *args, **kwargs)
        finally:
            if rec is not None:
                rec["a1"] = clock()

    def write_now(self: Any, *args: Any, **kwargs: Any) -> Any:
        rec = current.get()
        if rec is not None:
            rec["a0"] = clock()
        written = real_now(self, *args, **kwargs)
        if rec is not None and written is not None:
            rec["a1"] = clock()
            rec["inline"] = 1
        return written

    def durable_write(self: Any, data: bytes) -> None:
        started = clock()
        real_write(self, data)
        syncs.append((clock() - started) / 1e6)

    settings = Settings()
    keys = KeyStore(settings.keys_path)
    _, key = keys.create("overhead", role)  # type: ignore[arg-type]
    keys.close()
    app = create_app(settings)

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") != "/inspection/lookup":
            await app(scope, receive, send)
            return
        rec = {"t0": clock()}
        current.set(rec)

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                rec["send"] = clock()
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                rec["end"] = clock()

        await app(scope, receive, timed_send)
        records.append(rec)

    subjects = (sample_declarations(run_dir, 500, seed) if declarations
                else sample_subjects(run_dir, 500, seed)["id"])
    bodies_file = settings.state_dir / "bodies.json"
    bodies_file.write_text(json.dumps(subjects), encoding="utf-8")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(outer, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, log_level="warning"))
    if settings.switch_interval_s is not None:
        sys.setswitchinterval(settings.switch_interval_s)
    result: dict[str, Any] = {}

    def drive() -> None:
        try:
            while not server.started:
                time.sleep(0.1)
            cpu0 = _thread_cpu(os.getpid())
            child = subprocess.run(
                [sys.executable, "-m", CLIENT, "--client", f"http://127.0.0.1:{port}", key,
                 str(bodies_file), str(n), str(rate), str(warmup)],
                capture_output=True, text=True, check=True,
                cwd=Path(__file__).resolve().parents[1])
            cpu1 = _thread_cpu(os.getpid())
            result.update(json.loads(child.stdout.strip().splitlines()[-1]))
            per_thread = sorted(((cpu1[t] - cpu0.get(t, 0.0)) / (n + warmup) * 1000
                                 for t in cpu1), reverse=True)
            result["server_cpu_ms"] = round(sum(per_thread), 3)
            result["server_thread_cpu_ms"] = [round(c, 3) for c in per_thread if c > 0.001]
            result["audit_entries"] = app.state.services.audit.count
            bodies = [Subject(**s) for s in subjects]
            result["raw"] = _raw(app.state.services, bodies, n)
            result["found_share"] = _found_share(app.state.services, bodies)
            if rate > 0:  # and at the client's rate: the same idle gaps between reads
                result["raw_paced"] = _raw(app.state.services, bodies, n, rate)
        except Exception as exc:  # noqa: BLE001 - reported, the server still stops
            result["error"] = repr(exc)
        finally:
            server.should_exit = True

    inspection.LookupService.lookup = lookup  # type: ignore[method-assign]
    inspection.LookupService.lookup_async = lookup_async  # type: ignore[method-assign,assignment]
    audit.AuditLog.append = append  # type: ignore[method-assign]
    audit.AuditLog.write_now = write_now  # type: ignore[method-assign]
    audit.AuditLog._durable_write = durable_write  # type: ignore[method-assign]
    try:
        threading.Thread(target=drive, daemon=True).start()
        server.run()
    finally:
        inspection.LookupService.lookup = real_lookup  # type: ignore[method-assign]
        inspection.LookupService.lookup_async = real_async  # type: ignore[method-assign]
        audit.AuditLog.append = real_append  # type: ignore[method-assign]
        audit.AuditLog.write_now = real_now  # type: ignore[method-assign]
        audit.AuditLog._durable_write = real_write  # type: ignore[method-assign]
    if "error" in result:
        raise RuntimeError(result["error"])
    measured = records[warmup:]
    out: dict[str, Any] = {"store": "neo4j" if neo4j else "embedded", "run": str(run_dir),
                           "role": role, "subjects": "declarations" if declarations
                           else "identifier", "requests": len(measured), "rate": rate,
                           "load_average": [round(x, 2) for x in os.getloadavg()]}
    out["client"] = _stats(result["client_ms"])
    out["client_cpu_ms"] = round(result["client_cpu_ms"], 3)
    for name, start, end in SPANS:
        values = [(r[end] - r[start]) / 1e6 for r in measured if start in r and end in r]
        if values:
            out[name] = _stats(values)
    out["audit_sync"] = _stats(syncs)
    # entries written by the request's own thread (`AuditLog.write_now`: alone in the server)
    out["audit_inline_share"] = round(sum(1 for r in measured if r.get("inline")) /
                                      max(len(measured), 1), 3)
    out["server_cpu_ms"] = result["server_cpu_ms"]
    out["server_thread_cpu_ms"] = result["server_thread_cpu_ms"]
    out["audit_entries"] = result["audit_entries"]
    out["raw"] = result["raw"]
    out["found_share"] = result["found_share"]
    client_p50 = out["client"]["p50"]
    if "raw_paced" in result:
        out["raw_paced"] = result["raw_paced"]
        out["client_over_raw_paced_p50"] = round(
            client_p50 / max(out["raw_paced"]["store_p50"], 1e-6), 1)
    out["client_over_raw_p50"] = round(client_p50 / max(out["raw"]["store_p50"], 1e-6), 1)
    out["client_over_inproc_p50"] = round(client_p50 / max(out["raw"]["inproc_p50"], 1e-6), 1)
    out["server_over_raw_p50"] = round(out["server"]["p50"] / max(out["raw"]["store_p50"],
                                                                   1e-6), 1)
    return out


def require_loaded(run_dir: Path, driver: Any = None) -> None:
    """Refuse to measure Neo4j lookups against a graph that does not hold `run_dir` (ready):
    the sampled identifiers would all miss, and a miss is a cheaper read than a hit."""
    from graph.neo4j.conn import open_driver
    from graph.neo4j.meta import read_meta

    run_id = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))["run_id"]
    own = driver is None
    driver = open_driver() if own else driver
    try:
        meta = read_meta(driver)
    finally:
        if own:
            driver.close()
    if (meta.run_id, meta.status) != (run_id, "ready"):
        raise SystemExit(
            f"Neo4j holds run {meta.run_id} ({meta.status}), not {run_id} of {run_dir}: "
            f"load it first (guanlian load --run {run_dir}, or --bulk into an empty database)")


def _found_share(services: Any, subjects: list[Any]) -> float:
    """The share of the sampled subjects the lookup finds (identifiers of the run: 1.0)."""
    store = services.stores.get()
    found = sum(services.lookup.lookup(store, s).match is not None for s in subjects)
    return round(found / max(len(subjects), 1), 3)


def _raw(services: Any, subjects: list[Any], n: int, rate: float | None = None
         ) -> dict[str, float]:
    """The same lookups on the served store object, no HTTP, one thread: the time inside
    the store's methods and the whole lookup, per subject; back to back, or with `rate` at
    the client's arrival rate (`bench.serving.timed_lookups`)."""

    from bench.serving import TimedStore, timed_lookups

    timed: Any = TimedStore(services.stores.get())
    bodies = [subjects[i % len(subjects)] for i in range(n)]
    store_ms, whole_ms = timed_lookups(services.lookup.lookup, timed, bodies, rate)
    return {"store_p50": _pct(store_ms, 50), "store_p99": _pct(store_ms, 99),
            "inproc_p50": _pct(whole_ms, 50), "inproc_p99": _pct(whole_ms, 99)}


def name_cpu(run_dir: Path, neo4j: bool, n: int, seed: int = 7) -> dict[str, Any]:
    """Name lookups in-process, one thread, on the store the API would serve: the thread CPU
    per lookup in all and in each store method and the matcher (load-independent, unlike
    latency on a shared machine), the calls and (Neo4j) Cypher round trips per lookup."""
    from collections import Counter, defaultdict

    from api.inspection import LookupService, Subject, load_matcher
    from api.settings import Settings
    from bench.serving import sample_subjects

    if neo4j:
        from graph.neo4j.conn import open_driver
        from graph.neo4j.store import Neo4jStore

        store: Any = Neo4jStore(open_driver())
    else:
        from graph.embedded.store import EmbeddedStore

        store = EmbeddedStore.from_run(run_dir)
    matcher = load_matcher(run_dir)
    service = LookupService(Settings(), matcher)
    subjects = [Subject(**s) for s in sample_subjects(run_dir, n, seed)["name"]]
    cpu: defaultdict[str, float] = defaultdict(float)
    calls: Counter[str] = Counter()
    measuring = False

    def timed(obj: Any, name: str, label: str) -> None:
        real = getattr(obj, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return real(*args, **kwargs)
            finally:
                if measuring:
                    cpu[label] += time.thread_time() - started
                    calls[label] += 1

        setattr(obj, name, call)

    for method in ("rank_names", "get_briefs", "get_risk", "search"):
        timed(store, method, method)
    if matcher is not None:
        timed(matcher, "score", "matcher")
    if neo4j:
        timed(store.cypher, "run", "round_trips")
    try:
        for subject in subjects[:10]:  # warm the pool, the caches and the query plans
            service.lookup(store, subject)
        measuring = True
        started = time.thread_time()
        for subject in subjects:
            service.lookup(store, subject)
        total = time.thread_time() - started
    finally:
        store.close()
    out: dict[str, Any] = {"store": "neo4j" if neo4j else "embedded", "run": str(run_dir),
                           "lookups": len(subjects),
                           "cpu_ms_per_lookup": round(total / len(subjects) * 1000, 3)}
    out["cpu_ms_per_lookup_in"] = {k: round(v / len(subjects) * 1000, 3)
                                   for k, v in sorted(cpu.items())}
    out["calls_per_lookup"] = {k: round(v / len(subjects), 2) for k, v in sorted(calls.items())}
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return out


def asgi_cpu(run_dir: Path, neo4j: bool, n: int, role: str, warmup: int = 100,
             seed: int = 7) -> dict[str, Any]:
    """CPU per identifier lookup through the whole app without sockets: the same app (every
    middleware, the durable audit, the role's redaction) called directly as ASGI, one request
    after the other, on the event loop of this thread. `loop_cpu_ms`: this thread's CPU (the
    event loop: middleware, key check, body, the lookup on the embedded store, redaction,
    serialising, building the audit entry); `process_cpu_ms`: every thread's (the worker
    thread of a Neo4j read, the audit writer and its fdatasync). Load-independent, unlike
    latency on a shared machine."""
    with _app_env(run_dir, neo4j, "guanlian-asgi-cpu-"):
        return asyncio.run(_asgi_cpu(run_dir, n, role, warmup, seed, neo4j))


async def _asgi_cpu(run_dir: Path, n: int, role: str, warmup: int, seed: int,
                    neo4j: bool) -> dict[str, Any]:
    from api.app import create_app
    from api.auth import KeyStore
    from api.settings import Settings
    from bench.serving import sample_subjects

    settings = Settings()
    keys = KeyStore(settings.keys_path)
    _, key = keys.create("asgi-cpu", role)  # type: ignore[arg-type]
    keys.close()
    app = create_app(settings)
    bodies = [json.dumps(s).encode() for s in sample_subjects(run_dir, 500, seed)["id"]]
    sizes: list[int] = []
    post = _asgi_post(app, key)

    async def call(body: bytes) -> None:
        sizes.append(len(await post("/inspection/lookup", body)))

    async with app.router.lifespan_context(app):
        for i in range(warmup):
            await call(bodies[i % len(bodies)])
        sizes.clear()
        loop0, proc0, wall0 = time.thread_time(), time.process_time(), time.perf_counter()
        for i in range(n):
            await call(bodies[i % len(bodies)])
        loop1, proc1, wall1 = time.thread_time(), time.process_time(), time.perf_counter()
    return {"store": "neo4j" if neo4j else "embedded", "run": str(run_dir), "role": role,
            "requests": n, "loop_cpu_ms": round((loop1 - loop0) / n * 1000, 3),
            "process_cpu_ms": round((proc1 - proc0) / n * 1000, 3),
            "wall_ms": round((wall1 - wall0) / n * 1000, 3),
            "answer_bytes_mean": round(sum(sizes) / max(len(sizes), 1)),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def _asgi_post(app: Any, key: str) -> Any:
    """`await post(path, body)`: a POST through `app` called directly (no sockets) with the
    key; the answer's body (a RuntimeError for any status but 200)."""

    async def post(path: str, body: bytes) -> bytes:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": path,
                 "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "app": app,
                 "headers": [(b"host", b"127.0.0.1"), (b"x-api-key", key.encode()),
                             (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())]}
        received = False

        async def receive() -> dict[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # no disconnect while the answer is made
            return {"type": "http.disconnect"}

        sent: list[dict[str, Any]] = []

        async def send(message: Any) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 200:
            raise RuntimeError(f"{path} answered {sent[0]['status']}: {sent[1:]}")
        return b"".join(m.get("body", b"") for m in sent[1:])

    return post


def screen_time(run_dir: Path, neo4j: bool, size: int, screens: int, *, one_by_one: bool,
                seed: int = 7) -> dict[str, Any]:
    """Wall time of `screens` screens of `size` declarations each (a firm's USCC and customs
    code, a declarant's ID and name) through the app called directly, as an inspector;
    `one_by_one`: each subject's identifiers read by its own lookup, as before a screen read
    them at once (`LookupService.prefetched`)."""
    from api import inspection

    real = inspection.LookupService.prefetched
    if one_by_one:
        inspection.LookupService.prefetched = (  # type: ignore[method-assign]
            lambda self, store, declared: store)
    try:
        with _app_env(run_dir, neo4j, "guanlian-screen-"):
            return asyncio.run(_screen_time(run_dir, size, screens, seed, neo4j, one_by_one))
    finally:
        inspection.LookupService.prefetched = real  # type: ignore[method-assign]


async def _screen_time(run_dir: Path, size: int, screens: int, seed: int, neo4j: bool,
                       one_by_one: bool) -> dict[str, Any]:
    from api.app import create_app
    from api.auth import KeyStore
    from api.settings import Settings
    from bench.serving import sample_declarations

    settings = Settings()
    keys = KeyStore(settings.keys_path)
    _, key = keys.create("screen", "inspector")
    keys.close()
    app = create_app(settings)
    subjects = sample_declarations(run_dir, size * screens, seed)
    bodies = [json.dumps({"subjects": subjects[i * size:(i + 1) * size]}).encode()
              for i in range(screens)]
    post = _asgi_post(app, key)
    walls: list[float] = []
    async with app.router.lifespan_context(app):
        await post("/inspection/screen", json.dumps({"subjects": subjects[:10]}).encode())
        for body in bodies:
            started = time.perf_counter()
            answer = json.loads(await post("/inspection/screen", body))
            walls.append((time.perf_counter() - started) * 1000)
            if len(answer["results"]) != len(json.loads(body)["subjects"]):
                raise RuntimeError("a screen answered fewer results than subjects")
    return {"store": "neo4j" if neo4j else "embedded", "run": str(run_dir),
            "subjects_per_screen": size, "screens": len(walls),
            "identifiers": "one by one" if one_by_one else "at once",
            "screen_ms": _stats(walls),
            "per_subject_ms_p50": round(_pct(walls, 50) / size, 3),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--client"]:
        url, key, bodies, n, rate, warmup = argv[1:7]
        client(url, key, bodies, int(n), float(rate), int(warmup))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="linked and scored run folder")
    parser.add_argument("--neo4j", action="store_true",
                        help="serve Neo4j (NEO4J_* / .env, the run loaded) instead of the "
                        "embedded store on --run")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0, help="requests/s; 0: back to back")
    parser.add_argument("--stage", action="store_true",
                        help="instead: the benchmark's api stage alone on --run (`guanlian "
                        "serve`, 50 req/s from 8 clients by identifier and by name, the raw "
                        "store time of the same lookups, their ratio)")
    parser.add_argument("--duration-s", type=float, default=20.0, help="with --stage")
    parser.add_argument("--role", default="investigator",
                        choices=("inspector", "investigator", "admin"),
                        help="the key's role (an inspector's answers are redacted)")
    parser.add_argument("--screen", type=int, metavar="SIZE",
                        help="instead: --requests screens of SIZE declarations each through "
                        "the app called directly (wall time per screen)")
    parser.add_argument("--one-by-one", action="store_true",
                        help="with --screen: each subject's identifiers read by its own "
                        "lookup (as before a screen read them at once)")
    parser.add_argument("--declarations", action="store_true",
                        help="send declarations (a firm's USCC and customs code, a "
                        "declarant's ID number and name) instead of one identifier each")
    parser.add_argument("--asgi-cpu", action="store_true",
                        help="instead: --requests identifier lookups through the app called "
                        "directly (no sockets): CPU per request of the event loop and of "
                        "the process")
    parser.add_argument("--name-cpu", action="store_true",
                        help="instead: --requests name lookups in-process, one thread: CPU "
                        "per lookup (in all, per store method, the matcher) and round trips")
    args = parser.parse_args(argv)
    if args.neo4j:
        from dotenv import load_dotenv

        load_dotenv(Path.cwd() / ".env")
        require_loaded(args.run)
    if args.name_cpu:
        print(json.dumps(name_cpu(args.run, args.neo4j, args.requests), indent=1))
        return 0
    if args.screen:
        print(json.dumps(screen_time(args.run, args.neo4j, args.screen, args.requests,
                                     one_by_one=args.one_by_one), indent=1))
        return 0
    if args.asgi_cpu:
        print(json.dumps(asgi_cpu(args.run, args.neo4j, args.requests, args.role), indent=1))
        return 0
    if args.stage:
        print(json.dumps(stage(args.run, args.neo4j, args.duration_s), indent=1))
        return 0
    print(json.dumps(measure(args.run, args.neo4j, args.requests, args.rate,
                             role=args.role, declarations=args.declarations), indent=1))
    return 0


def stage(run_dir: Path, neo4j: bool, duration_s: float, seed: int = 7) -> dict[str, Any]:
    """What `scripts/bench` reports in its api (Neo4j) or embedded_api stage for `run_dir`
    (bench/run.py `_api`), without the maximum-rate search."""
    from bench import serving

    subjects = serving.sample_subjects(run_dir, 500, seed)
    subjects["declaration"] = serving.sample_declarations(
        run_dir, serving.SCREEN_SIZE * (serving.SCREENS + 1), seed)
    args = (["--neo4j", os.environ["NEO4J_URI"], "--run-dir", str(run_dir)] if neo4j
            else ["--run", str(run_dir)])
    with serving.serving(args) as (url, key, pid):
        out = serving.api_load(url, key, subjects, duration_s, find_max=False)
        out["rss_mb"] = serving.rss_mb(pid)
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if neo4j:
        serving.raw_beside(run_dir, subjects["id"][:200], out)
    return out


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    raise SystemExit(main())
