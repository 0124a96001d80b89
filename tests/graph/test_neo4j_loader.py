"""The Neo4j loader against the real server: schema, counts, provenance, sync, crash safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from neo4j import Driver

from graph import schema
from graph.neo4j.apply import LoadOptions
from graph.neo4j.conn import Neo4jSettings, open_driver
from graph.neo4j.hash import GraphDigest, graph_digest
from graph.neo4j.loader import load_rows, publish_run
from graph.neo4j.meta import META_LABEL, read_meta
from graph.neo4j.rows import (
    GraphRows,
    build_rows,
    prepare_rows,
    prepared_hashes,
    read_rows,
    run_fingerprint,
)
from graph.neo4j.state import existing_nodes, existing_rels
from graph.neo4j.store import Neo4jStore
from graph.store import NoRunLoaded, StoreUnavailable
from graph.tables import load_run as read_tables
from risk.config import RiskConfig
from runfolder.folder import RunFolderError, write_table
from tests.conftest import empty_database
from tests.support.graph_fixture import A1, BLK_P, CTRL, H3, RUN_ID, build_tiny_run

ROOT = Path(__file__).resolve().parents[2]


class Boom(RuntimeError):
    pass


def _clean_load_digest(driver: Driver, run: Path) -> GraphDigest:
    """The digest of a clean load of `run` into the empty database, emptied again after."""
    publish_run(driver, run, progress=False)
    digest = graph_digest(driver)
    empty_database(driver)
    return digest


def _die_at(at: int) -> Callable[[str, int], None]:
    """A batch callback that raises on its `at`-th call (a crash part-way through a load)."""
    calls: list[str] = []

    def die(step: str, n: int) -> None:
        calls.append(step)
        if len(calls) == at:
            raise Boom(step)

    return die


def _counts(driver: Driver) -> tuple[dict[str, int], dict[str, int]]:
    nodes = {
        label: driver.execute_query(f"MATCH (n:{label}) RETURN count(n) AS c").records[0]["c"]
        for label in schema.NODE_TYPES
    }
    rels = {
        t: driver.execute_query(f"MATCH ()-[r:{t}]->() RETURN count(r) AS c").records[0]["c"]
        for t in schema.REL_TYPES
    }
    return nodes, rels


def _rows(run: Path, name: str) -> list[dict[str, object]]:
    return list(pq.read_table(run / f"{name}.parquet").to_pylist())


def _modified_run(base: Path, out: Path) -> Path:
    """A rerun of the tiny run: one renamed firm, one removed firm, one new firm, new run_id."""
    run = out / "run_tiny2"
    shutil.copytree(base, run)
    ents = []
    for row in _rows(run, "entities"):
        row["run_id"] = "run_tiny2"
        if row["entity_id"] == H3:
            continue
        if row["entity_id"] == A1:
            row["name"] = "上海华信国际贸易有限公司"
            added = dict(row, entity_id="E0000000000z9", uscc=None,
                         mention_ids=["registry_enterprises:QY9999:enterprise"])
            ents.append(added)
        ents.append(row)
    write_table(run, "entities", ents)
    write_table(run, "relations", [r for r in _rows(run, "relations") if r["dst"] != H3])
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    report["run_id"] = "run_tiny2"
    (run / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return run


@pytest.fixture
def tiny_run(tmp_path: Path) -> Path:
    return build_tiny_run(tmp_path)


def test_constraints_and_fulltext_index_exist(neo4j_clean: Driver, tiny_run: Path) -> None:
    publish_run(neo4j_clean, tiny_run, progress=False)
    names = {r["name"] for r in neo4j_clean.execute_query("SHOW CONSTRAINTS").records}
    for c in schema.constraints():
        assert c.name in names
    for rel_type in schema.REL_TYPES:
        assert f"rel_{rel_type.lower()}_id" in names
    indexes = {
        r["name"]: r
        for r in neo4j_clean.execute_query(
            "SHOW INDEXES YIELD name, type, labelsOrTypes, properties, options"
        ).records
    }
    ft = indexes[schema.FULLTEXT_INDEX]
    assert ft["type"] == "FULLTEXT"
    assert set(ft["labelsOrTypes"]) == set(schema.ENTITY_LABELS)
    assert set(ft["properties"]) == set(schema.FULLTEXT_PROPS)
    assert ft["options"]["indexConfig"]["fulltext.analyzer"] == "cjk"
    assert "enterprise_id_uscc" in indexes


def test_counts_and_provenance_match_run_tables(neo4j_clean: Driver, tiny_run: Path) -> None:
    report = publish_run(neo4j_clean, tiny_run, progress=False)
    tables = read_tables(tiny_run)
    nodes, rels = _counts(neo4j_clean)
    assert nodes == {label: len(f) for label, f in tables.node_frames.items()}
    assert rels == {t: len(f) for t, f in tables.rel_frames.items()}
    assert report.nodes_total == sum(nodes.values()) and report.rels_total == sum(rels.values())
    missing = neo4j_clean.execute_query(
        "MATCH (n) WHERE NOT n:GuanlianMeta AND (n.run_id <> $run OR size(n.mention_ids) = 0) "
        "RETURN count(n) AS c",
        run=RUN_ID,
    ).records[0]["c"]
    assert missing == 0
    bad_rels = neo4j_clean.execute_query(
        "MATCH ()-[r]->() WHERE r.run_id <> $run OR size(r.mention_ids) = 0 RETURN count(r) AS c",
        run=RUN_ID,
    ).records[0]["c"]
    assert bad_rels == 0
    rec = neo4j_clean.execute_query(
        "MATCH (p:Person {id: $p})-[r:SHAREHOLDER_OF]->(e:Enterprise {id: $e}) "
        "RETURN r.share_pct AS pct, p.birth_date AS born",
        p=CTRL, e="E0000000000a3",
    ).records[0]
    assert rec["pct"] == 60.0 and rec["born"].year == 1975
    meta = read_meta(neo4j_clean)
    assert (meta.run_id, meta.status, meta.nodes) == (RUN_ID, "ready", sum(nodes.values()))


def test_reload_of_same_run_writes_nothing(neo4j_clean: Driver, tiny_run: Path) -> None:
    publish_run(neo4j_clean, tiny_run, progress=False)
    before = graph_digest(neo4j_clean)
    again = publish_run(neo4j_clean, tiny_run, progress=False)
    assert again.mode == "noop"
    assert (again.nodes_written, again.rels_written, again.nodes_deleted, again.rels_deleted) == (
        0, 0, 0, 0,
    )
    after = graph_digest(neo4j_clean)
    assert after == before and after.stale_hashes == 0
    # the same without the fingerprint shortcut: the diff against the graph is empty
    diffed = publish_run(neo4j_clean, tiny_run, progress=False, full_diff=True)
    assert (diffed.mode, diffed.nodes_written, diffed.rels_written) == ("noop", 0, 0)
    assert diffed.timings["read_state"] > 0
    assert graph_digest(neo4j_clean) == before


def test_digest_reads_dense_and_sparse_ids_alike(
        neo4j_clean: Driver, tiny_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slices read by ID seeks (dense IDs) and by filtered scans (sparse) give the same
    digest, in slices of a few elements or in one, and after deletions leave holes."""
    from graph.neo4j import hash as graph_hash

    publish_run(neo4j_clean, tiny_run, progress=False)

    def digests() -> list[GraphDigest]:
        out = []
        for density in (0.0, 2.0):  # every slice sought / every slice scanned
            monkeypatch.setattr(graph_hash, "SEEK_DENSITY", density)
            for chunk in (3, 1000):
                out.append(graph_digest(neo4j_clean, chunk=chunk))
        return out

    whole = digests()
    assert all(d == whole[0] for d in whole) and whole[0].nodes > 10
    neo4j_clean.execute_query("MATCH (n:Person) WITH n LIMIT 3 DETACH DELETE n")
    holed = digests()
    assert all(d == holed[0] for d in holed) and holed[0] != whole[0]
    assert holed[0].nodes == whole[0].nodes - 3


def test_full_diff_repairs_an_edited_graph(neo4j_clean: Driver, tiny_run: Path) -> None:
    publish_run(neo4j_clean, tiny_run, progress=False)
    before = graph_digest(neo4j_clean)
    neo4j_clean.execute_query("MATCH (n:Enterprise {id: $id}) SET n.name = 'edited'", id=A1)
    neo4j_clean.execute_query("MATCH ()-[r:LEGAL_REP_OF]->() WITH r LIMIT 1 DELETE r")
    edited = graph_digest(neo4j_clean)
    assert edited != before and edited.stale_hashes == 1
    assert publish_run(neo4j_clean, tiny_run, progress=False).mode == "noop"  # fingerprint
    repaired = publish_run(neo4j_clean, tiny_run, progress=False, full_diff=True)
    assert (repaired.nodes_written, repaired.rels_written) == (1, 1)
    assert graph_digest(neo4j_clean) == before


def test_sync_writes_only_the_diff_and_converges(
    neo4j_clean: Driver, tiny_run: Path, tmp_path: Path
) -> None:
    run2 = _modified_run(tiny_run, tmp_path)
    clean = _clean_load_digest(neo4j_clean, run2)
    publish_run(neo4j_clean, tiny_run, progress=False)
    sync = publish_run(neo4j_clean, run2, progress=False)
    assert sync.mode == "atomic"
    # renamed A1; new firm (+ its LOCATED_AT); removed H3 (its address node, its LOCATED_AT and
    # the SHAREHOLDER_OF from BLK_P)
    assert sync.nodes_written == 2
    assert sync.nodes_deleted == 2
    assert sync.rels_written == 1
    assert sync.rels_deleted == 2
    assert graph_digest(neo4j_clean) == clean
    assert read_meta(neo4j_clean).run_id == "run_tiny2"
    # unchanged nodes keep the run that wrote them; rewritten ones carry the new run
    runs: dict[str, str] = dict(
        neo4j_clean.execute_query(
            "MATCH (n:Enterprise) WHERE n.id IN [$a, $b] RETURN n.id AS id, n.run_id AS run",
            a=A1, b="E0000000000a2",
        ).records
    )
    assert runs == {A1: "run_tiny2", "E0000000000a2": RUN_ID}
    assert neo4j_clean.execute_query(
        "MATCH (:Person {id: $p})-[r:SHAREHOLDER_OF]->() RETURN count(r) AS c", p=BLK_P
    ).records[0]["c"] == 0


def test_load_killed_midway_converges_and_readers_keep_previous_run(
    neo4j_clean: Driver, tiny_run: Path, tmp_path: Path
) -> None:
    run2 = _modified_run(tiny_run, tmp_path)
    publish_run(neo4j_clean, run2, progress=False)
    clean_run2 = graph_digest(neo4j_clean)
    empty_database(neo4j_clean)
    publish_run(neo4j_clean, tiny_run, progress=False)
    batches: list[str] = []

    def die_after_three(step: str, n: int) -> None:
        batches.append(step)
        if len(batches) == 3:
            raise Boom(step)

    # a large diff (atomic_limit=0) is written in batches and killed part-way
    with pytest.raises(Boom):
        publish_run(neo4j_clean, run2, batch_size=1, progress=False, atomic_limit=0,
                 on_batch=die_after_three)
    meta = read_meta(neo4j_clean)
    assert meta.run_id == RUN_ID and meta.status == "loading"
    assert meta.loading_run_id == "run_tiny2"
    reader = Neo4jStore(neo4j_clean, RiskConfig.model_validate({}))
    assert reader.run_info().run_id == RUN_ID  # readers still see the previous run
    assert graph_digest(neo4j_clean) != clean_run2

    resumed = publish_run(neo4j_clean, run2, batch_size=2, progress=False, atomic_limit=0)
    assert resumed.mode == "batched"
    assert graph_digest(neo4j_clean) == clean_run2
    meta = read_meta(neo4j_clean)
    assert (meta.run_id, meta.status, meta.loading_run_id) == ("run_tiny2", "ready", None)


def test_first_load_killed_then_restarted_equals_clean_load(
    neo4j_clean: Driver, tiny_run: Path
) -> None:
    clean = _clean_load_digest(neo4j_clean, tiny_run)
    for kill_at in (1, 7, 20):
        die = _die_at(kill_at)

        with pytest.raises(Boom):
            publish_run(neo4j_clean, tiny_run, batch_size=5, progress=False, on_batch=die)
        assert read_meta(neo4j_clean).run_id is None  # nothing complete to serve yet
        with pytest.raises(NoRunLoaded):
            Neo4jStore(neo4j_clean, RiskConfig.model_validate({})).run_info()
    publish_run(neo4j_clean, tiny_run, batch_size=5, progress=False)
    assert graph_digest(neo4j_clean) == clean


def test_atomic_sync_is_invisible_until_commit(
    neo4j_clean: Driver, tiny_run: Path, tmp_path: Path
) -> None:
    """A small sync runs in one transaction: a failure inside leaves the previous run intact."""
    publish_run(neo4j_clean, tiny_run, progress=False)
    before = graph_digest(neo4j_clean)
    run2 = _modified_run(tiny_run, tmp_path)
    steps: list[str] = []

    def die_late(step: str, n: int) -> None:
        steps.append(step)
        if step.startswith("rels"):  # deletes and node writes already ran in this transaction
            raise Boom(step)

    with pytest.raises(Boom):
        publish_run(neo4j_clean, run2, progress=False, batch_size=1, on_batch=die_late)
    assert any(s.startswith("nodes") for s in steps)
    assert graph_digest(neo4j_clean) == before
    assert read_meta(neo4j_clean).run_id == RUN_ID


def test_risk_scores_become_node_properties(neo4j_clean: Driver, tiny_run: Path) -> None:
    reasons = json.dumps([{"rule": "direct_events", "contribution": 40.0, "summary": "x"}])
    write_table(tiny_run, "risk", [
        {"entity_id": A1, "score": 72.5, "level": "high", "reasons": reasons, "run_id": RUN_ID},
    ])
    publish_run(neo4j_clean, tiny_run, progress=False)
    rec = neo4j_clean.execute_query(
        "MATCH (n:Enterprise {id: $id}) RETURN n.risk_score AS s, n.risk_level AS l, "
        "n.risk_reasons AS r", id=A1,
    ).records[0]
    assert (rec["s"], rec["l"], json.loads(rec["r"])[0]["rule"]) == (72.5, "high", "direct_events")


def test_missing_or_incompatible_run_folder(neo4j_clean: Driver, tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="does not exist"):
        publish_run(neo4j_clean, tmp_path / "nope", progress=False)
    run = build_tiny_run(tmp_path)
    (run / "report.json").write_text(json.dumps({"run_id": "x", "version": 99}))
    with pytest.raises(RunFolderError, match="version"):
        publish_run(neo4j_clean, run, progress=False)


@pytest.mark.neo4j  # the wrong password needs the real server
def test_wrong_password_and_unreachable_server_give_one_line_errors() -> None:
    settings = Neo4jSettings(connection_timeout=2.0)
    uri = os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687")
    with pytest.raises(StoreUnavailable, match="NEO4J_PASSWORD") as wrong:
        open_driver(uri, "neo4j", "definitely-wrong", settings=settings)
    assert "\n" not in str(wrong.value)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="unreachable") as down:
        open_driver("bolt://127.0.0.1:1", "neo4j", "x", settings=settings)
    assert "\n" not in str(down.value) and time.monotonic() - started < 10


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


@pytest.mark.neo4j  # the wrong password needs a live server to refuse it
def test_cli_load_errors_exit_nonzero(neo4j_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = dict(os.environ, NEO4J_URI=neo4j_settings.uri, NEO4J_USER=neo4j_settings.user,
               NEO4J_PASSWORD=neo4j_settings.password or "")
    missing = subprocess.run(_cli("load", "--run", str(tmp_path / "nope")), env=env,
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert missing.returncode != 0
    assert "does not exist" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    run = build_tiny_run(tmp_path)
    wrong = subprocess.run(_cli("load", "--run", str(run), "--password", "wrong"), env=env,
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert wrong.returncode != 0 and "NEO4J_PASSWORD" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1


_SLOW_LOADER = """
import sys, time
from collections.abc import Callable
from pathlib import Path
from graph.neo4j.conn import open_driver
from graph.neo4j.loader import publish_run
driver = open_driver()
publish_run(driver, Path(sys.argv[1]), batch_size=3, progress=False,
         on_batch=lambda step, n: time.sleep(0.05))
"""


def test_loader_process_killed_then_rerun_converges(
    neo4j_clean: Driver, neo4j_settings, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """SIGKILL a loading process part-way; `guanlian load` afterwards gives the clean graph."""
    run = build_tiny_run(tmp_path)
    clean = _clean_load_digest(neo4j_clean, run)
    env = dict(os.environ, NEO4J_URI=neo4j_settings.uri, NEO4J_USER=neo4j_settings.user,
               NEO4J_PASSWORD=neo4j_settings.password or "")
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_LOADER, str(run)], env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    written = 0
    while time.monotonic() < deadline and written < 20:
        written = neo4j_clean.execute_query(
            f"MATCH (n) WHERE NOT n:{META_LABEL} RETURN count(n) AS c"
        ).records[0]["c"]
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert read_meta(neo4j_clean).status == "loading"
    assert graph_digest(neo4j_clean) != clean
    done = subprocess.run(_cli("load", "--run", str(run)), env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert graph_digest(neo4j_clean) == clean
    assert read_meta(neo4j_clean).status == "ready"


def test_store_on_unreachable_server_raises_store_unavailable_fast() -> None:
    settings = Neo4jSettings(connection_timeout=1.0, acquisition_timeout=2.0, max_retry_time=1.0)
    driver = open_driver("bolt://127.0.0.1:1", "neo4j", "x", verify=False, settings=settings)
    store = Neo4jStore(driver, RiskConfig.model_validate({}), uri="bolt://127.0.0.1:1")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="unreachable"):
        store.run_info()
    with pytest.raises(StoreUnavailable):
        store.shared_controllers()
    assert store.ping() is False
    assert time.monotonic() - started < 20
    store.close()


def _rows_with(label_of_x: str, run_id: str) -> GraphRows:
    rows = GraphRows(run_id=run_id)
    firm = {"id": "E00000000002", "name": "乙公司", "mention_ids": ["s:2:a"]}
    rows.nodes = {"Enterprise": [firm]}
    rows.nodes.setdefault(label_of_x, []).append(
        {"id": "X00000000001", "name": "甲", "mention_ids": ["s:1:a"]}
    )
    rows.rels = {
        "SHAREHOLDER_OF": [{"id": "R00000000001", "src": "X00000000001", "dst": "E00000000002",
                            "share_pct": 30.0, "mention_ids": ["s:1:a"]}],
    }
    return rows


def test_a_node_changing_label_keeps_its_relationships(neo4j_clean: Driver) -> None:
    load_rows(neo4j_clean, _rows_with("Enterprise", "r1"), LoadOptions(progress=False))
    report = load_rows(neo4j_clean, _rows_with("Person", "r2"), LoadOptions(progress=False))
    assert (report.nodes_deleted, report.nodes_written, report.rels_written) == (1, 1, 1)
    rec = neo4j_clean.execute_query(
        "MATCH (p:Person {id: 'X00000000001'})-[r:SHAREHOLDER_OF]->(e:Enterprise) "
        "RETURN count(r) AS c, COUNT { (:Enterprise {id: 'X00000000001'}) } AS old"
    ).records[0]
    assert (rec["c"], rec["old"]) == (1, 0)
    synced = graph_digest(neo4j_clean)
    empty_database(neo4j_clean)
    load_rows(neo4j_clean, _rows_with("Person", "r2"), LoadOptions(progress=False))
    assert graph_digest(neo4j_clean) == synced


def test_prepared_rows_are_kept_in_the_run_and_rebuilt_when_it_changes(
    tiny_run: Path, tmp_path: Path
) -> None:
    built = build_rows(tiny_run)
    prepared = prepare_rows(tiny_run)
    manifest = json.loads((tiny_run / "graph" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["fingerprint"] == run_fingerprint(tiny_run)
    again = read_rows(tiny_run)
    for rows in (prepared, again):
        assert rows.node_labels() == built.node_labels()
        for label in built.node_labels():
            assert rows.node_table(label).equals(built.node_table(label))
            assert rows.node_hash_array(label).equals(built.node_hash_array(label))
        for t in built.rel_types():
            assert rows.rel_table(t).equals(built.rel_table(t))
            assert rows.rel_hash_array(t).equals(built.rel_hash_array(t))
    # a copied and edited run carries the old prepared folder: it is noticed and rebuilt
    run2 = _modified_run(tiny_run, tmp_path)
    rows2 = read_rows(run2)
    fresh = build_rows(run2)
    assert rows2.node_table("Enterprise").equals(fresh.node_table("Enterprise"))
    manifest2 = json.loads((run2 / "graph" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest2["fingerprint"] == run_fingerprint(run2) != manifest["fingerprint"]


def test_sync_reads_the_graph_state_from_the_prepared_rows_of_the_loaded_run(
    neo4j_clean: Driver, tiny_run: Path, tmp_path: Path
) -> None:
    run2 = _modified_run(tiny_run, tmp_path)
    clean = _clean_load_digest(neo4j_clean, run2)

    publish_run(neo4j_clean, tiny_run, progress=False)
    meta = read_meta(neo4j_clean)
    assert meta.run_dir == str(tiny_run.resolve())
    # what the prepared rows say the graph holds is what the server holds
    state = prepared_hashes(tiny_run, meta.fingerprint or "")
    assert state is not None
    assert state == (existing_nodes(neo4j_clean, None), existing_rels(neo4j_clean, None))
    sync = publish_run(neo4j_clean, run2, progress=False)
    assert "read_state_prepared" in sync.timings and "read_state" not in sync.timings
    assert graph_digest(neo4j_clean) == clean

    # a graph left 'loading' (a killed load) is diffed against what the server holds
    publish_run(neo4j_clean, tiny_run, progress=False)
    neo4j_clean.execute_query(f"MATCH (m:{META_LABEL}) SET m.status = 'loading'")
    again = publish_run(neo4j_clean, run2, progress=False)
    assert "read_state" in again.timings and "read_state_prepared" not in again.timings
    assert graph_digest(neo4j_clean) == clean


def test_a_sync_with_too_much_row_data_for_one_transaction_goes_in_batches(
    neo4j_clean: Driver, tiny_run: Path, tmp_path: Path
) -> None:
    run2 = _modified_run(tiny_run, tmp_path)
    clean = _clean_load_digest(neo4j_clean, run2)
    publish_run(neo4j_clean, tiny_run, progress=False)
    sync = publish_run(neo4j_clean, run2, progress=False, atomic_max_bytes=0)
    assert sync.mode == "batched"
    assert graph_digest(neo4j_clean) == clean
    assert read_meta(neo4j_clean).status == "ready"
