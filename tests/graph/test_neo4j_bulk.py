"""`guanlian load --bulk`: the importer's CSV dialect, and a bulk load of the small fixture's
run against the real (managed) server: the same checksum as an online load, a non-empty
database refused, and a later online diff sync that converges to a clean load."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pytest
from neo4j import Driver, GraphDatabase

from bench.bench_load import changed_run
from graph.neo4j.bulk import BulkLoadError, ManagedServer, bulk_load, expected_digest
from graph.neo4j.bulk_files import (
    ARRAY_DELIMITER,
    ImportFiles,
    _descriptors,
    _has_line_break,
    csv_lines,
    header,
    write_import_files,
    write_lines,
)
from graph.neo4j.hash import (
    HASH_PROP,
    DigestSource,
    _blake,
    _row_hashes,
    checksum_of,
    graph_digest,
    lines_sum,
)
from graph.neo4j.loader import publish_run
from graph.neo4j.meta import read_meta
from graph.neo4j.rows import (
    MANIFEST,
    PREPARED_DIR,
    _write_arrow,
    prepared_file,
    read_arrow,
    read_rows,
    run_fingerprint,
)
from tests.conftest import Neo4jSettings, empty_database
from tests.support.graph_fixture import build_tiny_run

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "fixtures" / "small" / "sources.yaml"


def test_csv_lines_quote_strings_keep_empty_strings_and_drop_nulls() -> None:
    table = pa.table({
        "id": ["E1", "E2"],
        "name": ['a "quoted", name\non two lines', ""],
        "names": pa.array([["x", None, "y"], []], type=pa.list_(pa.string())),
        "risk_score": [float("nan"), 0.1 + 0.2],
        "n_mentions": pa.array([3, None], type=pa.int64()),
        "established": pa.array([date(2020, 1, 2), None], type=pa.date32()),
        HASH_PROP: ["h1", "h2"],
    })
    head = header(table.schema, rel=False)
    assert head == ("id:ID,name,names:string[],risk_score:double,n_mentions:long,"
                    "established:date,run_id,_hash")
    lines = csv_lines(table, "run-1", rel=False).to_pylist()
    rows = list(csv.reader(io.StringIO("\n".join(lines))))  # RFC 4180, as neo4j-admin reads
    assert rows[0] == ["E1", 'a "quoted", name\non two lines', f"x{ARRAY_DELIMITER}y", "", "3",
                       "2020-01-02", "run-1", "h1"]
    assert rows[1][:3] + rows[1][4:] == ["E2", "", "", "", "", "run-1", "h2"]
    assert float(rows[1][3]) == 0.1 + 0.2  # a double's text reads back as the same double
    assert f'"x{ARRAY_DELIMITER}y",,3,' in lines[0]  # NaN: an empty unquoted field (no property)
    # "" and [] stay (quoted) values; nulls are empty unquoted fields
    assert lines[1].startswith('"E2","","",0.3') and ",,," in lines[1]


def test_relationship_header_has_endpoints_first() -> None:
    table_schema = pa.schema([("id", pa.string()), ("src", pa.string()), ("dst", pa.string()),
                              ("share_pct", pa.float64()), (HASH_PROP, pa.string())])
    assert header(table_schema, rel=True) == ":START_ID,:END_ID,id,share_pct:double,run_id,_hash"


def test_write_lines_ends_every_line_and_flags_line_breaks(tmp_path: Path) -> None:
    lines = pa.array(['"E1","名称"', '"E2","a\nb"', '""'])
    write_lines(lines.slice(1), tmp_path / "a.csv")  # an offset into the buffer
    assert (tmp_path / "a.csv").read_bytes() == b'"E2","a\nb"\n""\n'
    write_lines(pa.array([], pa.string()), tmp_path / "empty.csv")
    assert (tmp_path / "empty.csv").read_bytes() == b""
    assert _has_line_break(lines) and _has_line_break(pa.array(["a\rb"]))
    assert not _has_line_break(lines.slice(0, 1))
    assert _has_line_break(pa.array(["x" * 5 * 2**20, "\n"]))  # past the first 4 MiB searched
    assert not _has_line_break(pa.array(["x" * 5 * 2**20, "y"]))
    head, plain, broken = (tmp_path / n for n in ("h.csv", "p.csv", "b.csv"))
    files = ImportFiles(folder=tmp_path, run_id="r", nodes={"Enterprise": [head, plain, broken]},
                        multiline=[broken])
    args = files.admin_args()
    assert f"--nodes=Enterprise={head},{plain},{broken}" in args
    assert "--multiline-fields-format=v2" in args and f"--multiline-fields={broken}" in args
    assert not any(a.startswith("--multiline") for a in
                   ImportFiles(folder=tmp_path, run_id="r").admin_args())


def test_the_checksum_folds_lines_in_any_order_and_by_parts() -> None:
    lines = [f"N|Enterprise|E{i}|{_blake(str(i))}" for i in range(1_000)]
    whole = checksum_of(lines_sum(lines))
    assert len(whole) == 64 and whole == checksum_of(lines_sum(reversed(lines)))
    assert checksum_of(lines_sum(lines[:300]) + lines_sum(lines[300:])) == whole
    assert checksum_of(lines_sum([*lines, lines[0]])) != whole  # a line twice counts twice
    edited = [*lines[:-1], lines[-1][:-1] + ("1" if lines[-1].endswith("0") else "0")]
    assert checksum_of(lines_sum(edited)) != whole
    assert checksum_of(lines_sum(lines[:-1])) != whole
    assert checksum_of(lines_sum([])) == "0" * 64


def test_row_hashes_hash_arrow_bytes_as_the_strings() -> None:
    values = ["", "a", "名称\x1e=3:x", "x" * 5000]
    rows = pa.array(["skip", *values])
    assert _row_hashes(rows.slice(1)) == [_blake(v) for v in values]
    assert _row_hashes(pa.array(values, pa.large_string())) == [_blake(v) for v in values]


# --- against the real server --------------------------------------------------------------


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The small fixture linked and scored (graph rows prepared), and a 1%-changed rerun."""
    root = tmp_path_factory.mktemp("bulk")
    run = root / "run"
    link = ["link", "--sources", str(SMALL), "--out", str(run)]
    for args in (link, ["score", "--run", str(run)]):
        subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, check=True,
                       capture_output=True)
    return run, changed_run(run, root)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from linkage.resolve.spark import spark_session, stop_spark

    yield spark_session(2)
    stop_spark()


def _import_rows(files: ImportFiles) -> dict[str, list[list[str]]]:
    """Each label's / type's data rows as neo4j-admin reads them (RFC 4180), sorted."""
    out: dict[str, list[list[str]]] = {}
    for kind, groups in (("nodes", files.nodes), ("rels", files.rels)):
        for name, (_, *parts) in groups.items():
            text = "".join(p.read_text(encoding="utf-8") for p in parts)
            out[f"{kind}-{name}"] = sorted(csv.reader(io.StringIO(text)))
    return out


@pytest.mark.slow
@pytest.mark.spark
def test_import_files_do_not_depend_on_the_slicing(
    small_runs: tuple[Path, Path], spark: Any, tmp_path: Path
) -> None:
    run, _ = small_runs
    read_rows(run, run_fingerprint(run))  # the prepared tables
    manifest = json.loads((run / PREPARED_DIR / MANIFEST).read_text(encoding="utf-8"))
    small_slices = 64 * 2**10
    descs, _ = _descriptors(run, manifest, small_slices)
    names = {(d["kind"], d["name"]) for d in descs}
    assert len(descs) > 2 * len(names)  # several slices per table
    whole = write_import_files(run, tmp_path / "whole", spark, slice_bytes=2**40)
    sliced = write_import_files(run, tmp_path / "sliced", spark, slice_bytes=small_slices)
    rows = _import_rows(whole)
    assert rows == _import_rows(sliced)
    assert sum(len(r) for r in rows.values()) > 20_000


def _connect(settings: Neo4jSettings) -> Driver:
    return GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password or ""))


@pytest.mark.slow
@pytest.mark.spark
def test_bulk_load_equals_online_load_refuses_non_empty_and_syncs_after(
    neo4j_clean: Driver, neo4j_settings: Neo4jSettings, small_runs: tuple[Path, Path],
    spark: Any,
) -> None:
    run, changed = small_runs
    server = ManagedServer()
    server.check_target(neo4j_settings.uri)  # the suite's server is the managed one

    def connect() -> Driver:
        return _connect(neo4j_settings)

    publish_run(neo4j_clean, run, progress=False)
    online = graph_digest(neo4j_clean)
    assert online.nodes > 10_000 and online.relationships > 10_000
    enterprise = read_arrow(run / PREPARED_DIR / prepared_file("nodes", "Enterprise"))
    assert "learned_score" in enterprise.schema.names  # shipped on the small fixture
    assert expected_digest(run, run_fingerprint(run)) == online

    with pytest.raises(BulkLoadError, match="not empty"):
        bulk_load(run, connect, lambda: spark, server=server)
    assert graph_digest(neo4j_clean) == online  # refused before anything was touched

    empty_database(neo4j_clean)
    # rows not prepared (the online load's were, by pandas): the bulk load prepares them on
    # Spark, and the graph they make is the online one (learned score's columns included)
    shutil.rmtree(run / PREPARED_DIR)
    source = DigestSource(neo4j_settings.uri, neo4j_settings.user, neo4j_settings.password or "")
    report = bulk_load(run, connect, lambda: spark, server=server, source=source)
    assert "prepare_rows" in report.timings
    manifest = json.loads((run / PREPARED_DIR / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["engine"] == "spark"
    assert (report.nodes, report.relationships) == (online.nodes, online.relationships)
    with connect() as driver:
        bulk = graph_digest(driver)
        meta = read_meta(driver)
        assert bulk == online  # same checksum, counts, and no stale stored hash
        assert (meta.status, meta.run_id) == ("ready", report.run_id)
        assert meta.fingerprint == run_fingerprint(run)

        synced = publish_run(driver, changed, progress=False)  # the daily online diff sync
        assert synced.mode in ("atomic", "batched")
        assert 0 < synced.nodes_written < online.nodes // 10
        after_sync = graph_digest(driver)
        empty_database(driver)
        publish_run(driver, changed, progress=False)
        assert after_sync == graph_digest(driver)  # == a clean online load of the rerun


@pytest.mark.slow
def test_cli_bulk_refuses_a_non_empty_database(
    neo4j_clean: Driver, neo4j_settings: Neo4jSettings, small_runs: tuple[Path, Path]
) -> None:
    run, _ = small_runs
    neo4j_clean.execute_query("CREATE (:Enterprise {id: 'E-someone-else'})")
    done = subprocess.run([sys.executable, "-m", "api.cli", "load", "--run", str(run), "--bulk",
                           "--neo4j", neo4j_settings.uri, "--password",
                           neo4j_settings.password or ""],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1
    assert "is not empty: --bulk imports into an empty database only" in done.stderr
    records, _, _ = neo4j_clean.execute_query("MATCH (n) RETURN collect(n.id) AS ids")
    assert records[0]["ids"] == ["E-someone-else"]  # untouched, server still answering


@pytest.mark.slow
def test_the_checksum_read_back_sees_a_changed_extra_or_missing_element(
    neo4j_clean: Driver, neo4j_settings: Neo4jSettings, small_runs: tuple[Path, Path]
) -> None:
    """The verification of a bulk load (`graph_digest` read in slices by several processes)
    equals the plain one and the run's expected digest, and differs after any change."""
    run, _ = small_runs
    publish_run(neo4j_clean, run, progress=False)
    expected = expected_digest(run, run_fingerprint(run))
    plain = graph_digest(neo4j_clean)
    assert plain == expected
    source = DigestSource(neo4j_settings.uri, neo4j_settings.user, neo4j_settings.password or "")

    def digest() -> Any:  # many slices, three processes
        return graph_digest(neo4j_clean, chunk=997, source=source, processes=3)

    assert digest() == expected

    one = "MATCH (n:Person) WITH n ORDER BY n.id LIMIT 1 "
    neo4j_clean.execute_query(one + "SET n.name = n.name + ' '")  # one value, _hash kept
    changed = digest()
    assert (changed.checksum != expected.checksum, changed.stale_hashes) == (True, 1)
    neo4j_clean.execute_query(one + "SET n.name = substring(n.name, 0, size(n.name) - 1)")
    assert digest() == expected  # restored
    neo4j_clean.execute_query(one + "SET n.extra = 1")  # a property the run does not have
    extra = digest()
    assert (extra.checksum != expected.checksum, extra.stale_hashes) == (True, 1)
    neo4j_clean.execute_query(one + "REMOVE n.extra")
    neo4j_clean.execute_query(one + "SET n.n_mentions = toString(n.n_mentions)")  # a type
    assert digest().checksum != expected.checksum
    neo4j_clean.execute_query(one + "SET n.n_mentions = toInteger(n.n_mentions)")
    assert digest() == expected
    neo4j_clean.execute_query("MATCH ()-[r:SHAREHOLDER_OF]->() WITH r LIMIT 1 DELETE r")
    missing = digest()
    assert missing.relationships == expected.relationships - 1
    assert missing.checksum != expected.checksum


def test_bulk_load_refuses_a_connection_that_is_not_the_managed_server(
        tmp_path: Path) -> None:
    """The importer replaces the managed server's database: a connection elsewhere (a test
    server on another port with NEO4J_BOLT_PORT left at its default) is refused first."""
    server = ManagedServer(env={"NEO4J_BOLT_PORT": "7999", "PATH": os.environ["PATH"]})
    touched: list[str] = []

    def never() -> Any:
        touched.append("called")
        raise AssertionError("nothing may be touched")

    with pytest.raises(BulkLoadError, match="bolt://127.0.0.1:7999"):
        bulk_load(tmp_path, never, never, server=server,
                  source=DigestSource("bolt://127.0.0.1:7688", "neo4j", "x"))
    assert touched == []


def test_bulk_load_refuses_to_start_in_a_spawned_process_rerunning_its_script(
        tmp_path: Path) -> None:
    """The checksum processes are spawned, and a spawned process runs its parent's script
    again: a script without the `__main__` guard would start a second bulk load in each,
    stopping the server under the first. Run for real: a guard-less script calls
    `bulk_load` (refused before anything is touched, inside the child only) and spawns one
    process."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import multiprocessing\n"
        "from pathlib import Path\n"
        "from graph.neo4j.bulk import BulkLoadError, ManagedServer, bulk_load\n"
        "def never():\n"
        "    raise AssertionError('touched')\n"
        "main = multiprocessing.current_process().name == 'MainProcess'\n"
        "where = 'parent' if main else 'child'\n"
        "try:\n"
        "    bulk_load(Path('no-such-run'), never, never, server=ManagedServer())\n"
        "except BulkLoadError as exc:\n"
        "    print(where, 'refused:', exc, flush=True)\n"
        "except Exception as exc:\n"
        "    print(where, 'went on:', type(exc).__name__, flush=True)\n"
        "if where == 'parent':\n"
        "    p = multiprocessing.get_context('spawn').Process(target=print, args=('ran',))\n"
        "    p.start()\n"
        "    p.join()\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    lines = done.stdout.splitlines()
    # the parent went on to check the run (and failed there: no such run folder)
    assert any(line.startswith("parent went on:") for line in lines), done
    assert any(line.startswith("child refused:") and "__main__" in line
               for line in lines), done
    assert "ran" in lines, done


@contextmanager
def _forwarded(port: int) -> Iterator[int]:
    """A TCP forwarder on a free loopback port to `port` (another address, same server)."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def serve() -> None:
        while not done.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        listener.close()


def test_bulk_load_refuses_a_driver_to_another_address_without_a_source(
        neo4j_driver: Driver, neo4j_settings: Neo4jSettings, tmp_path: Path) -> None:
    """Without a `source`, the driver `connect` opens is checked: one that reaches another
    address than the managed server's (here the same server through a forwarder, as a
    second server on another port would be) is refused before Spark is asked for, and the
    server keeps running."""
    server = ManagedServer()
    bolt = urlparse(neo4j_settings.uri).port
    if not server.running() or bolt != server.bolt_port:
        pytest.skip("the test server is not the one scripts/neo4j manages here")
    asked: list[str] = []

    def no_spark() -> Any:
        asked.append("spark")
        raise AssertionError("nothing may be imported")

    def connect(port: int) -> Driver:
        return GraphDatabase.driver(f"bolt://127.0.0.1:{port}",
                                    auth=(neo4j_settings.user, neo4j_settings.password or ""))

    with _forwarded(server.bolt_port) as port:
        connect(port).verify_connectivity()  # the forwarder does reach the server
        with pytest.raises(BulkLoadError, match=rf"connection is 127\.0\.0\.1:{port}"):
            bulk_load(build_tiny_run(tmp_path), lambda: connect(port), no_spark,
                      server=server)
    assert asked == [] and server.running()
    neo4j_driver.verify_connectivity()


@pytest.mark.slow
@pytest.mark.spark
def test_bulk_load_refuses_an_import_that_differs_from_the_run(
    neo4j_clean: Driver, neo4j_settings: Neo4jSettings, small_runs: tuple[Path, Path],
    spark: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One string value changed in the importer's files: the import succeeds, the checksum
    read back differs from the run's, the load fails and no meta node says 'ready'."""
    import graph.neo4j.bulk_files as bulk_files

    run, _ = small_runs
    real = bulk_files.write_import_files

    def tampered(run_dir: Path, out: Path, session: Any, **kw: Any) -> ImportFiles:
        files = real(run_dir, out, session, **kw)
        part = files.nodes["Person"][1]
        text = part.read_text(encoding="utf-8")
        first_id_end = text.index('","')  # "id","<first property>...: prefix its value
        part.write_text(text[:first_id_end] + '","X' + text[first_id_end + 3:],
                        encoding="utf-8")
        return files

    monkeypatch.setattr(bulk_files, "write_import_files", tampered)
    source = DigestSource(neo4j_settings.uri, neo4j_settings.user, neo4j_settings.password or "")
    with pytest.raises(BulkLoadError, match="graph checksum .* differs from the run's"):
        bulk_load(run, lambda: _connect(neo4j_settings), lambda: spark, source=source)
    with _connect(neo4j_settings) as driver:
        got = graph_digest(driver)
        assert (got.nodes, got.stale_hashes) == (
            expected_digest(run, run_fingerprint(run)).nodes, 1)
        assert read_meta(driver).status != "ready"


@pytest.mark.slow
@pytest.mark.spark
def test_import_files_leave_out_dangling_relationships(
    small_runs: tuple[Path, Path], spark: Any, tmp_path: Path
) -> None:
    """A relationship to a node the run does not have (the loader's `dangling`, never
    loaded) is dropped by the semi-joins; everything else is as written without it."""
    run, _ = small_runs
    read_rows(run, run_fingerprint(run))
    clean = write_import_files(run, tmp_path / "clean", spark)
    copy = tmp_path / "run"
    shutil.copytree(run / PREPARED_DIR, copy / PREPARED_DIR)
    path = copy / PREPARED_DIR / prepared_file("rels", "SHAREHOLDER_OF")
    table = read_arrow(path)
    extra = dict(table.slice(0, 1).to_pylist()[0], id="R-dangling", src="P-nobody")
    _write_arrow(pa.concat_tables([table, pa.Table.from_pylist([extra], schema=table.schema)]),
                 path)
    manifest = json.loads((copy / PREPARED_DIR / MANIFEST).read_text(encoding="utf-8"))
    (copy / PREPARED_DIR / MANIFEST).write_text(json.dumps(dict(manifest, dangling=1)),
                                                encoding="utf-8")
    files = write_import_files(copy, tmp_path / "dangling", spark)
    assert _import_rows(files) == _import_rows(clean)
    joined = [p for _, *parts in files.rels.values() for p in parts]
    assert joined and set(joined) <= set(files.multiline)  # Spark's files: read multi-line
