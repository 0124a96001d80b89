"""End to end on the small fixture world: run folder, evidence, reruns, judgements, atomicity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pyarrow.parquet as pq
import pytest

import linkage.run as run_module
from linkage.run import link_extraction
from runfolder.folder import validate_run
from runfolder.ids import entity_id as mint
from runfolder.schema import TABLES
from tests.support.linkage_fixture import FakeExtraction, build

CONTRACT = {
    "mentions": ["mention_id", "source", "record_id", "role", "kind", "entity_id", "name",
                 "name_std", "name_pinyin", "uscc", "uscc_valid", "id_number", "id_valid",
                 "customs_code", "reg_no", "phone", "address", "address_std", "province",
                 "city", "district", "birth_date", "established", "status", "record_date",
                 "run_id"],
    "entities": ["entity_id", "kind", "name", "names", "name_pinyin", "uscc", "customs_code",
                 "reg_no", "id_number", "phone", "address", "address_std", "province", "city",
                 "established", "status", "birth_date", "n_mentions", "sources", "mention_ids",
                 "run_id"],
    "relations": ["relation_id", "type", "src", "dst", "share_pct", "role", "start_date",
                  "end_date", "mention_ids", "sources", "run_id"],
    "events": ["event_id", "type", "entity_id", "date", "category", "amount", "description",
               "source", "record_id", "mention_id", "run_id"],
    "evidence": ["entity_id", "mention_id_l", "mention_id_r", "match_weight",
                 "match_probability", "method", "features", "run_id"],
    "quarantine": ["source", "file", "row_number", "record_id", "field", "reason", "raw",
                   "run_id"],
    "changelog": ["change", "entity_id", "previous_ids", "run_id"],
}


@pytest.fixture(scope="module")
def world() -> FakeExtraction:
    return build()


@pytest.fixture(scope="module")
def run1(world: FakeExtraction, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run1"
    link_extraction(world, out, quiet=True)
    return out


def _table(run: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(run / f"{name}.parquet")


def test_run_folder_follows_the_contract(run1: Path) -> None:
    report = json.loads((run1 / "report.json").read_text(encoding="utf-8"))
    for name, columns in CONTRACT.items():
        frame = _table(run1, name)
        assert set(columns) <= set(frame.columns), name
        assert (frame["run_id"] == report["run_id"]).all()
    assert report["version"] == 1 and report["reconciled"] is True
    assert report["sources"]["customs"]["rows_quarantined"] == 1
    assert set(report["models"]) == {"enterprise", "person"}
    for kind in ("enterprise", "person"):
        model = json.loads((run1 / "models" / f"{kind}.json").read_text(encoding="utf-8"))
        assert model["link_type"] == "dedupe_only" and model["comparisons"]
        assert (run1 / "charts" / f"{kind}_match_weights.html").exists()
    page = (run1 / "report.html").read_text(encoding="utf-8")
    assert "Reconciliation" in page and "charts/enterprise_match_weights.html" in page
    assert not list(run1.parent.glob("run1.tmp-*"))


def test_run_folder_validates_against_the_runfolder_contract(run1: Path) -> None:
    """linkage writes every table in the column order and with the Arrow types of
    `runfolder.schema` (the optional columns included), so `validate_run` accepts it."""
    assert validate_run(run1)["version"] == 1
    for name, spec in TABLES.items():
        if name == "risk":  # written by `guanlian score`, not by linkage
            continue
        assert tuple(pq.read_schema(run1 / spec.file).names) == spec.written, name


def test_entities_match_the_truth(world: FakeExtraction, run1: Path) -> None:
    mentions = _table(run1, "mentions")
    truth = mentions["mention_id"].map(world.truth)
    # every true entity is exactly one predicted entity and vice versa
    assert (mentions.groupby(truth)["entity_id"].nunique() == 1).all()
    assert (mentions.groupby("entity_id")["mention_id"].apply(
        lambda s: s.map(world.truth).nunique()) == 1).all()
    entities = _table(run1, "entities")
    firm = entities[entities["kind"] == "enterprise"].iloc[0]
    assert firm["entity_id"].startswith("E") and len(firm["entity_id"]) == 13
    assert firm["entity_id"] == mint("enterprise", min(firm["mention_ids"]))
    assert firm["uscc"] is not None and firm["n_mentions"] == 4


def test_name_only_legal_rep_joins_the_namesake_at_the_same_firm(
    world: FakeExtraction, run1: Path
) -> None:
    mentions = _table(run1, "mentions").set_index("mention_id")
    ids = mentions.index.astype(str)
    entity = dict(zip(ids, mentions["entity_id"].astype(str), strict=True))
    name = dict(zip(ids, mentions["name_std"].astype(str), strict=True))
    # 王伟 is legal representative of firm 0 and firm 10 (different people, same name)
    rep0, rep10 = entity["registry:R0000:legal_rep"], entity["registry:R0010:legal_rep"]
    assert name["registry:R0000:legal_rep"] == name["registry:R0010:legal_rep"]
    assert rep0 != rep10
    assert entity["penalties:P0000:legal_rep"] == rep0
    assert entity["penalties:P0010:legal_rep"] == rep10


def test_evidence_is_a_spanning_tree_per_entity(run1: Path) -> None:
    evidence = _table(run1, "evidence")
    entities = _table(run1, "entities").set_index("entity_id")
    per_entity = evidence.groupby("entity_id").size()
    for entity_id, n in per_entity.items():
        assert n == int(cast(Any, entities.at[entity_id, "n_mentions"])) - 1
    assert set(evidence["method"]) == {"exact_id", "splink", "context"}
    splink_row = evidence[evidence["method"] == "splink"].iloc[0]
    features = json.loads(splink_row["features"])
    assert {f["column"] for f in features} >= {"name", "uscc"}
    assert all({"column", "level", "weight", "value_l", "value_r"} <= set(f) for f in features)
    assert splink_row["match_probability"] >= 0.99


def test_rerun_keeps_ids_and_judgements_win(
    world: FakeExtraction, run1: Path, tmp_path: Path
) -> None:
    before = _table(run1, "mentions").set_index("mention_id")["entity_id"]
    judgements = tmp_path / "judgements.csv"
    judgements.write_text(
        "mention_id_l,mention_id_r,judgement,who,when\n"
        "customs:C0003b:consignee,registry:R0003:enterprise,different,li,2026-03-01T09:00:00\n"
        "registry:R0004:enterprise,registry:R0005:enterprise,same,li,2026-03-01T09:00:00\n",
        encoding="utf-8",
    )
    run2 = tmp_path / "run2"
    link_extraction(world, run2, previous=run1, judgements=judgements, quiet=True)
    after = _table(run2, "mentions").set_index("mention_id")["entity_id"]
    assert after["customs:C0003b:consignee"] != after["registry:R0003:enterprise"]
    assert after["registry:R0004:enterprise"] == after["registry:R0005:enterprise"]
    # the split firm's ID stays with one of its parts (largest overlap, then smallest mention)
    old3 = before["registry:R0003:enterprise"]
    assert old3 in {after["registry:R0003:enterprise"], after["customs:C0003b:consignee"]}
    affected = {before[f"registry:R000{f}:enterprise"] for f in (3, 4, 5)}
    untouched = before.index[~before.isin(affected)]
    assert len(untouched) > 100
    assert (after[untouched] == before[untouched]).all()
    log = _table(run2, "changelog")
    assert "merged" in set(log["change"]) and "split" in set(log["change"])
    evidence = _table(run2, "evidence")
    assert "judgement" in set(evidence["method"])

    # a third run with --previous run2 and no judgements file still applies them
    run3 = tmp_path / "run3"
    link_extraction(world, run3, previous=run2, quiet=True)
    again = _table(run3, "mentions").set_index("mention_id")["entity_id"]
    assert (again == after).all()


def test_failed_run_leaves_previous_folder_intact(
    world: FakeExtraction, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "marker.txt").write_text("previous run", encoding="utf-8")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(run_module, "_write_run", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        link_extraction(world, out, quiet=True)
    assert (out / "marker.txt").read_text(encoding="utf-8") == "previous run"
    assert not list(tmp_path.glob("run.tmp-*"))
