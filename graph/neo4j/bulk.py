"""`guanlian load --bulk`: a run into an EMPTY database with the offline importer.

The online loader (`graph.neo4j.loader`) writes through Bolt, about 14,000 elements a second;
a first load of a national run goes through `neo4j-admin database import full` instead:

1. the managed server (`scripts/neo4j`, `ManagedServer`) is started if it is not running,
   the connection is checked to reach it (the importer replaces the managed server's
   database whatever the connection reaches) and the database to hold no node at all: another
   server or a non-empty database is refused (`BulkLoadError`) before anything is touched;
2. the database being empty, the server is stopped at once, beside the next two steps
   (nothing can be written meanwhile, and there is nothing to serve);
3. the run's prepared rows (`RUN/graph/`; prepared on Spark first if missing,
   `graph.neo4j.spark_rows`) and the checksum the graph must have after loading them
   (`expected_digest`: the element lines of `graph.neo4j.hash.graph_digest` from the
   prepared IDs and hashes, folded 50,000 at a time), while Spark starts;
4. Spark writes the importer's files (`graph.neo4j.bulk_files`), `neo4j-admin database
   import full` replaces the database, the server is started again (also when a step
   failed);
5. constraints and indexes are created (`graph.neo4j.indexes`; Community's importer cannot:
   its `--schema` needs the Enterprise `block` format) while node / relationship counts and
   the content checksum are read back (`graph_digest` in `VERIFY_PROCESSES` processes) and
   compared with the run's; only when they agree is the meta node written
   (`status = 'ready'`, the run's fingerprint and folder), exactly as an online load leaves
   it. A later `guanlian load` of the next run is then the usual online diff sync against
   this run's prepared rows.

Called from a Python script rather than `guanlian load --bulk`: the checksum processes are
spawned, and a spawned process runs the calling script's top level again, so the script
must keep its work under `if __name__ == "__main__":`. Without it each checksum process
would start the bulk load again and stop the server under the first one's read-back (seen
at stop 33 with a throwaway script: the restarted server found its store locked);
`bulk_load` now refuses to start inside such a process (`refuse_spawned_bootstrap`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from neo4j import Driver

from graph.neo4j import write_queries as wq
from graph.neo4j.apply import switch_params
from graph.neo4j.hash import (
    DigestSource,
    GraphDigest,
    checksum_of,
    graph_digest,
    lines_sum,
    node_prefix,
    rel_prefix,
)
from graph.neo4j.indexes import ensure_schema
from graph.neo4j.rows import is_prepared, prepared_state, read_rows, run_fingerprint
from runfolder.folder import check_run

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "neo4j"
# neo4j-admin's off-heap memory for the import (its default is 90% of free memory)
DEFAULT_IMPORT_MEMORY = "2g"
# processes reading the checksum back at once (with the connection's `DigestSource`)
VERIFY_PROCESSES = max(1, min(8, os.cpu_count() or 1))
EXPECTED_CHUNK = 50_000  # elements whose lines the expected checksum builds at once
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _timed(fn: Callable[..., Any], *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return round(time.perf_counter() - started, 2)


class BulkLoadError(RuntimeError):
    """A bulk load that cannot start (non-empty database, unmanaged server) or did not
    verify; the message names the fix."""


@dataclass(frozen=True)
class ManagedServer:
    """The Neo4j server `scripts/neo4j` runs for this checkout (ports and state folder from
    the environment: NEO4J_BOLT_PORT, NEO4J_STATE_DIR, ...)."""

    script: Path = SCRIPT
    env: dict[str, str] | None = None

    @property
    def bolt_port(self) -> int:
        return int((self.env or os.environ).get("NEO4J_BOLT_PORT") or 7687)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.script), *args], env=self.env, capture_output=True,
                              text=True, check=False)

    def _must(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = self._run(*args)
        if done.returncode != 0:
            tail = (done.stderr.strip() or done.stdout.strip())[-2000:]
            raise BulkLoadError(f"scripts/neo4j {' '.join(args[:4])} failed: {tail}")
        return done

    def running(self) -> bool:
        return self._run("status").returncode == 0

    def start(self) -> None:
        self._must("start")

    def stop(self) -> None:
        self._must("stop")

    def admin(self, *args: str) -> str:
        return self._must("admin", *args).stdout

    def check_target(self, uri: str) -> None:
        """Refuse a bolt URI that is not this managed server (the importer writes to its
        state folder, not through the URI)."""
        parsed = urlparse(uri)
        self.check_address(parsed.hostname, parsed.port, uri)

    def check_address(self, host: str | None, port: int | None, shown: str) -> None:
        if host not in _LOOPBACK or port != self.bolt_port:
            raise BulkLoadError(
                f"--bulk loads the server scripts/neo4j manages (bolt://127.0.0.1:"
                f"{self.bolt_port}, NEO4J_BOLT_PORT), but the connection is {shown}: point "
                "NEO4J_URI / --neo4j at it, or load online without --bulk")


def digest_source(uri: str | None = None, user: str | None = None,
                  password: str | None = None) -> DigestSource:
    """The checksum processes' connection: the values given, else the NEO4J_* settings."""
    from graph.neo4j.conn import get_settings

    s = get_settings()
    return DigestSource(uri or s.uri, user or s.user,
                        password if password is not None else s.password.get_secret_value())


OVERLAPPED_IN = {"schema": "verify", "stop": "read_run + write_files"}


@dataclass
class BulkReport:
    run_id: str
    nodes: int = 0
    relationships: int = 0
    checksum: str = ""
    seconds: float = 0.0  # from the prepared rows to a verified, indexed graph
    # the steps one after the other (they add up to `seconds`); `verify` is the phase in
    # which the constraints populate while the checksum is read back, and `overlapped` holds
    # what ran beside another step: `schema` (the constraints, inside verify) and `stop`
    # (the server's, beside read_run and write_files)
    timings: dict[str, float] = field(default_factory=dict)
    overlapped: dict[str, float] = field(default_factory=dict)

    @property
    def elements(self) -> int:
        return self.nodes + self.relationships

    def elements_per_second(self) -> float:
        """The whole bulk path: prepared rows to a verified, indexed graph."""
        return self.elements / max(self.seconds, 1e-9)

    def unverified_elements_per_second(self) -> float:
        """The bulk path without the checksum read-back: the verify phase replaced by the
        constraints' own time (the online loader verifies nothing)."""
        secs = (self.seconds - self.timings.get("verify", 0.0)
                + self.overlapped.get("schema", 0.0))
        return self.elements / max(secs, 1e-9)

    def import_elements_per_second(self) -> float:
        """`neo4j-admin database import full` alone (its JVM start included)."""
        return self.elements / max(self.timings.get("import", 0.0), 1e-9)

    def summary(self) -> str:
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
        steps += "".join(f", ({k} {v:.1f}s inside {OVERLAPPED_IN[k]})"
                         for k, v in self.overlapped.items())
        return (f"run {self.run_id} (bulk): {self.nodes} nodes, {self.relationships} "
                f"relationships imported and verified (checksum {self.checksum[:12]}) in "
                f"{self.seconds:.1f}s: {self.elements_per_second():.0f} elements/s in all, "
                f"{self.unverified_elements_per_second():.0f}/s without the read-back, "
                f"neo4j-admin alone {self.import_elements_per_second():.0f}/s [{steps}]")


def expected_digest(run_dir: Path, fingerprint: str) -> GraphDigest:
    """The digest `graph_digest` gives after a load of the run (from its prepared rows)."""
    state = prepared_state(run_dir, fingerprint)
    if state is None:
        raise BulkLoadError(f"the prepared graph rows of {run_dir} are missing or stale")
    n_nodes, nodes_sum = _folded(state.node_ids, state.node_hashes, node_prefix)
    n_rels, rels_sum = _folded(state.rel_ids, state.rel_hashes, rel_prefix)
    return GraphDigest(checksum_of(nodes_sum + rels_sum), n_nodes, n_rels, 0)


def _folded(ids_of: dict[str, Any], hashes_of: dict[str, Any], prefix: Callable[[str], str]
            ) -> tuple[int, int]:
    """(elements, `lines_sum` of their lines) of prepared IDs and hashes per label / type,
    `EXPECTED_CHUNK` lines at a time."""
    count = total = 0
    for name, ids in ids_of.items():
        for start in range(0, len(ids), EXPECTED_CHUNK):
            part = zip(ids.slice(start, EXPECTED_CHUNK).to_pylist(),
                       hashes_of[name].slice(start, EXPECTED_CHUNK).to_pylist(), strict=True)
            total += lines_sum(f"{prefix(name)}|{i}|{h}" for i, h in part)
        count += len(ids)
    return count, total


def node_count(driver: Driver, database: str | None) -> int:
    """Nodes in the database, counted up to 1 (is it empty?)."""
    records, _, _ = driver.execute_query("MATCH (n) WITH n LIMIT 1 RETURN count(n) AS c",
                                         database_=database)
    return int(records[0]["c"])


def _refuse_non_empty(connect: Callable[[], Driver], database: str | None,
                      server: ManagedServer) -> None:
    """Refuse a connection to another server than `server` (the importer replaces the
    managed server's database, whatever `connect` reaches) or a non-empty database."""
    driver = connect()
    try:
        address = driver.get_server_info().address
        server.check_address(address.host, address.port, f"{address.host}:{address.port}")
        if node_count(driver, database):
            raise BulkLoadError(
                f"the database {database or 'neo4j'} is not empty: --bulk imports into an empty "
                "database only (it replaces the database whole); load online (without --bulk) "
                "to sync, or empty it first")
    finally:
        driver.close()


def refuse_spawned_bootstrap() -> None:
    """Refuse (`BulkLoadError`) when called while a spawned process runs its parent's script
    again (the checksum processes are spawned: see the module docstring), before anything is
    touched: a bulk load started there would stop the server under the parent's."""
    # what multiprocessing itself checks before it starts a process from one that is still
    # bootstrapping: `_inheriting` is set while a spawned process runs its parent's script
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise BulkLoadError(
            "a bulk load was started while a spawned process ran its parent's script again; "
            'keep the script\'s work under `if __name__ == "__main__":`')


def bulk_load(run_dir: Path, connect: Callable[[], Driver], spark: Callable[[], Any], *,
              server: ManagedServer | None = None, database: str = "neo4j",
              work_dir: Path | None = None,
              import_memory: str = DEFAULT_IMPORT_MEMORY,
              source: DigestSource | None = None) -> BulkReport:
    """Import the run into the managed server's empty database (see the module docstring).

    `connect` opens a driver to the managed server; `spark` gives the SparkSession (called
    only once the database was found empty); `source`, the same server's address and
    credentials, lets `VERIFY_PROCESSES` processes read the checksum back (without it, this
    process alone does), and is refused (`BulkLoadError`) when it is not `server`."""
    from graph.neo4j.bulk_files import write_import_files
    from graph.neo4j.spark_rows import prepare_rows_spark

    refuse_spawned_bootstrap()
    server = server or ManagedServer()
    if source is not None:  # the connection must be the server the importer replaces
        server.check_target(source.uri)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    overlapped: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 2)
        return now

    check_run(run_dir)
    fingerprint = run_fingerprint(run_dir)
    if not server.running():
        server.start()
    _refuse_non_empty(connect, database, server)
    t = lap("check_empty", started)
    # The database is empty, so nothing is lost while the server is down: it stops while
    # Spark starts and writes the importer's files (and nothing can be written meanwhile).
    tmp = Path(tempfile.mkdtemp(prefix="guanlian-bulk-", dir=work_dir))
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bulk")
    try:
        stopping = pool.submit(_timed, server.stop)
        session = pool.submit(spark)
        if not is_prepared(run_dir, fingerprint):  # prepared on Spark, once it has started
            prepare_rows_spark(run_dir, session.result(), fingerprint=fingerprint)
            t = lap("prepare_rows", t)
        rows = read_rows(run_dir, fingerprint)
        expected = expected_digest(run_dir, fingerprint)
        t = lap("read_run", t)  # while Spark starts
        files = write_import_files(run_dir, tmp / "import", session.result())
        t = lap("write_files", t)
        overlapped["stop"] = stopping.result()
        t = lap("stop", t)  # what was left of it
        out = server.admin("database", "import", "full", database,
                           "--overwrite-destination=true", "--threads=2",
                           f"--max-off-heap-memory={import_memory}",
                           f"--report-file={tmp / 'import.report'}", *files.admin_args())
        log.info("neo4j-admin import: %s", out.strip().splitlines()[-1:] or "")
        t = lap("import", t)
    finally:
        pool.shutdown(wait=True)
        shutil.rmtree(tmp, ignore_errors=True)
        server.start()  # also when a step failed
    t = lap("start", t)
    driver = connect()
    try:
        # the constraints populate their indexes (the server's work) while the checksum is
        # read back and recomputed (mostly the client's): both at once
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="schema") as pool:
            schema_done = pool.submit(_timed, ensure_schema, driver, database)
            got = graph_digest(driver, database, source=source, processes=VERIFY_PROCESSES)
            overlapped["schema"] = schema_done.result()
        t = lap("verify", t)
        if (got.nodes, got.relationships) != (expected.nodes, expected.relationships):
            raise BulkLoadError(
                f"bulk load of {rows.run_id} holds {got.nodes} nodes / {got.relationships} "
                f"relationships, the run has {expected.nodes} / {expected.relationships}")
        if got.checksum != expected.checksum or got.stale_hashes:
            raise BulkLoadError(
                f"bulk load of {rows.run_id}: graph checksum {got.checksum[:12]} differs from "
                f"the run's {expected.checksum[:12]} ({got.stale_hashes} stale hashes)")
        driver.execute_query(wq.SWITCH_META, **switch_params(rows.run_id, rows),
                             database_=database)
    finally:
        driver.close()
    report = BulkReport(run_id=rows.run_id, nodes=got.nodes, relationships=got.relationships,
                        checksum=got.checksum, seconds=time.perf_counter() - started,
                        timings=timings, overlapped=overlapped)
    log.info("graph bulk load: %s", report.summary(), extra={"run_id": rows.run_id})
    return report

