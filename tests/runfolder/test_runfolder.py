"""The run-folder contract in code: IDs, the atomic write, check and validate."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from runfolder.folder import (
    RunFolderError,
    check_run,
    read_table,
    staged,
    validate_run,
    write_table,
)
from runfolder.ids import address_id, entity_id, event_id, phone_id, relation_id, ring_id
from runfolder.schema import REQUIRED_TABLES, SCHEMAS, TABLES
from tests.support.graph_fixture import build_tiny_run


def _sha12(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def test_ids_follow_the_documented_formats() -> None:
    assert entity_id("enterprise", "s:1:r") == "E" + _sha12("s:1:r")
    assert entity_id("person", "s:1:r") == "P" + _sha12("s:1:r")
    assert entity_id("person", "s:1:r", salt=2) == "P" + _sha12("s:1:r#2")
    assert relation_id("LEGAL_REP_OF", "P1", "E1", "m") == "R" + _sha12("LEGAL_REP_OF|P1|E1|m")
    assert event_id("penalties:X1:event") == "V" + _sha12("penalties:X1:event")
    assert address_id("北京市朝阳区1号") == "A" + _sha12("北京市朝阳区1号")
    assert phone_id("+86 138-0013-8000") == "T8613800138000"
    assert ring_id("E0") == "G" + _sha12("E0")
    with pytest.raises(KeyError):
        entity_id("vessel", "s:1:r")


def test_contract_schemas_leave_optional_columns_out() -> None:
    assert "district" in TABLES["entities"].written
    assert "district" not in SCHEMAS["entities"].names
    assert "subject_mention_id" not in SCHEMAS["events"].names
    for spec in TABLES.values():
        assert spec.written[-1] == "run_id" and "run_id" not in spec.columns


def test_staged_write_replaces_the_folder_only_when_it_completes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with staged(out) as tmp:
        (tmp / "a.txt").write_text("first", encoding="utf-8")
    assert (out / "a.txt").read_text(encoding="utf-8") == "first"
    with pytest.raises(RuntimeError), staged(out) as tmp:
        (tmp / "a.txt").write_text("second", encoding="utf-8")
        raise RuntimeError("writer died")
    assert (out / "a.txt").read_text(encoding="utf-8") == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_fixture_run_validates_and_reads_back_with_contract_columns(tmp_path: Path) -> None:
    run = build_tiny_run(tmp_path / "run")
    report = validate_run(run)
    assert report == check_run(run)
    entities = read_table(run, "entities", ("entity_id", "kind"))
    assert list(entities.columns) == ["entity_id", "kind"]
    # a table missing a contract column still reads (as nulls) but does not validate
    pq.write_table(pq.read_table(run / "events.parquet").drop_columns(["category"]),
                   run / "events.parquet")
    assert read_table(run, "events")["category"].isna().all()
    with pytest.raises(RunFolderError, match=r"events\.parquet: column 'category' is missing"):
        validate_run(run)


def test_validate_names_file_and_column_of_a_wrong_type(tmp_path: Path) -> None:
    run = build_tiny_run(tmp_path / "run")
    table = pq.read_table(run / "entities.parquet")
    at = table.column_names.index("n_mentions")
    table = table.set_column(at, "n_mentions", table["n_mentions"].cast(pa.string()))
    pq.write_table(table, run / "entities.parquet")
    with pytest.raises(RunFolderError, match=r"entities\.parquet: column 'n_mentions' is string"):
        validate_run(run)


@pytest.mark.parametrize("damage", ["no_report", "bad_json", "old_version", "no_table", "list"])
def test_check_run_refuses_an_incomplete_folder(tmp_path: Path, damage: str) -> None:
    run = build_tiny_run(tmp_path / "run")
    report = run / "report.json"
    if damage == "no_report":
        report.unlink()
    elif damage == "bad_json":
        report.write_text("{", encoding="utf-8")
    elif damage == "old_version":
        report.write_text(json.dumps({"version": 0}), encoding="utf-8")
    elif damage == "list":
        report.write_text("[]", encoding="utf-8")
    else:
        (run / TABLES[REQUIRED_TABLES[-1]].file).unlink()
    with pytest.raises(RunFolderError, match=str(run)):
        check_run(run)


def test_write_table_writes_the_contract_schema(tmp_path: Path) -> None:
    path = write_table(tmp_path, "risk", [])
    assert pq.read_schema(path).names == SCHEMAS["risk"].names
    path = write_table(tmp_path, "risk", [{"entity_id": "E1", "score": 1.5, "level": "low",
                                           "reasons": "[]", "run_id": "r"}])
    assert pq.read_table(path).to_pylist()[0]["score"] == 1.5
