"""Risk reasons an investigator can sign (issue 18): a counterpart counted once whatever its
roles, Chinese rule names and texts, every node named, triggering events inline with the
linkage merge that attached each, low-confidence attachments flagged."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import tests.support.graph_fixture as F
from graph.labels import labels
from graph.models import RiskReason
from graph.tables import load_run
from risk.score import compute_scores
from runfolder.folder import read_table, write_table
from runfolder.ids import address_id, relation_id
from tests.risk.test_risk_score import CFG


def _records(frame: Any) -> list[dict[str, Any]]:
    """A run table's rows as Python values (nulls as None, not NaN)."""
    return list(pa.Table.from_pandas(frame, preserve_index=False).to_pylist())


def _add_roles(run: Path, person: str, firm: str, types: list[str]) -> None:
    """More relationships of `person` to `firm` (one row each, as the linkage writes them)."""
    rows = _records(read_table(run, "relations"))
    for i, rtype in enumerate(types):
        mention = f"registry_officers:EXTRA{i}:officer"
        rows.append({
            "relation_id": relation_id(rtype, person, firm, mention), "type": rtype,
            "src": person, "dst": firm, "share_pct": None, "role": None, "start_date": None,
            "end_date": None, "mention_ids": [mention], "sources": ["registry_officers"],
            "run_id": F.RUN_ID,
        })
    write_table(run, "relations", rows)


def _drop_roles(run: Path, person: str, firm: str, keep: str) -> None:
    rel = read_table(run, "relations")
    same = (rel["src"] == person) & (rel["dst"] == firm) & (rel["type"] != keep)
    write_table(run, "relations", _records(rel[~same]))


def _scores(run: Path) -> tuple[dict[str, float], dict[str, list[dict[str, Any]]]]:
    frame = compute_scores(load_run(run), CFG)
    return (dict(zip(frame["entity_id"], frame["score"], strict=True)),
            {e: json.loads(r) for e, r in zip(frame["entity_id"], frame["reasons"], strict=True)})


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run with the blacklisted 周杰 also legal representative and director of H3
    (he already holds 10% of it): three roles to one firm."""
    run = F.build_tiny_run(tmp_path_factory.mktemp("roles"))
    _add_roles(run, F.BLK_P, F.H3, ["LEGAL_REP_OF", "DIRECTOR_OF"])
    return run


def test_a_person_with_three_roles_is_one_reason_counted_once(
        planted: Path, tmp_path: Path) -> None:
    score, reasons = _scores(planted)
    about_him = [r for r in reasons[F.H3] if r["rule"].startswith("network_")
                 and r["counterpart"] == F.BLK_P]
    assert len(about_him) == 1, reasons[F.H3]
    [reason] = about_him
    assert reason["rule"] == "network_1" and reason["routes"] == 1
    [step] = reason["steps"]
    assert [r["type"] for r in step["relations"]] == ["LEGAL_REP_OF", "SHAREHOLDER_OF",
                                                      "DIRECTOR_OF"]  # strongest first
    assert all(r["source"] == F.BLK_P and r["target"] == F.H3 for r in step["relations"])
    assert reason["path_edges"] == [step["relations"][0]["id"]]
    assert "法定代表人、股东、董事" in reason["summary"]
    # counted once: the same score as with his strongest role alone
    alone = F.build_tiny_run(tmp_path)
    _add_roles(alone, F.BLK_P, F.H3, ["LEGAL_REP_OF"])
    _drop_roles(alone, F.BLK_P, F.H3, keep="LEGAL_REP_OF")
    score_alone, reasons_alone = _scores(alone)
    assert score[F.H3] == score_alone[F.H3]
    assert [r["contribution"] for r in reasons[F.H3]] == [
        r["contribution"] for r in reasons_alone[F.H3]]


def test_distinct_routes_to_one_counterpart_are_one_reason(planted: Path) -> None:
    _, reasons = _scores(planted)
    for entity, listed in reasons.items():
        pairs = [r["counterpart"] for r in listed if r["rule"].startswith("network_")]
        assert len(pairs) == len(set(pairs)), (entity, listed)
    # PHX_NEW reaches PHX_OLD through the shared legal rep and the shared address: one reason
    [old] = [r for r in reasons[F.PHX_NEW] if r.get("counterpart") == F.PHX_OLD]
    assert old["routes"] == 2 and "2条不同路径" in old["summary"]


def test_reasons_are_chinese_named_and_whole(planted: Path) -> None:
    _, reasons = _scores(planted)
    lab = labels()
    ident = re.compile(r"\b[EPAT][0-9a-f]{12}\b")
    seen_rules = set()
    for listed in reasons.values():
        for r in listed:
            RiskReason.model_validate(r)  # what both stores parse
            seen_rules.add(r["rule"])
            assert r["rule_label"] == lab.rule(r["rule"]) != r["rule"]
            for text in (r["summary"], r["detail"]):
                assert not ident.search(text), text  # no raw node IDs
                assert not re.search(r"[A-Za-z]{3,}", text), text  # Chinese, no English
                assert not text.rstrip().endswith(("经", "via", "：", "，", "；")), text
            assert [n["id"] for n in r["nodes"]] == r["path_nodes"]
            assert all(n["name"] and not ident.fullmatch(n["name"]) for n in r["nodes"])
    assert {"own_events", "blacklisting", "network_1", "network_2", "hub", "phoenix",
            "shared_controller"} <= seen_rules
    hub = next(r for r in reasons[F.D[5]] if r["rule"] == "hub")
    assert hub["nodes"][1] == {"id": address_id(F.HUB_ADDR), "kind": "Address",
                               "kind_label": "地址", "name": F.HUB_ADDR, "violating": False}
    assert F.HUB_ADDR in hub["detail"] and F.HUB_ADDR not in hub["summary"]


def test_triggering_events_are_inline_with_their_attachment(planted: Path) -> None:
    _, reasons = _scores(planted)
    # A4 is clean; its reasons name the penalised firms of its legal rep and their events
    top = next(r for r in reasons[F.A4] if r["counterpart"] == F.A1)
    [event] = top["events"]
    assert (event["date"], event["type"], event["agency"], event["amount"]) == (
        "2024-05-10", "PENALTY", "海关", 50000.0)
    assert event["type_label"] == "行政处罚" and event["entity_id"] == F.A1
    assert "2024-05-10" in top["summary"] and "50,000元" in top["summary"]
    attached = event["attachment"]
    profile = load_run(planted).entities.set_index("entity_id").loc[F.A1]
    assert attached["method"] == "exact_id" and not attached["low_confidence"]
    assert (attached["identifier"], attached["identifier_value"]) == ("uscc", profile["uscc"])
    assert attached["identifier_label"] == "统一社会信用代码"
    # the blacklisted person's own reason lists his blacklisting
    own = next(r for r in reasons[F.BLK_P] if r["rule"] == "blacklisting")
    assert [e["category"] for e in own["events"]] == ["失信被执行人"]


def test_a_name_only_merge_is_flagged_low_confidence(tmp_path: Path) -> None:
    run = F.build_tiny_run(tmp_path)
    evidence = read_table(run, "evidence")
    events = read_table(run, "events")
    penalty = events[(events["entity_id"] == F.A1) & (events["type"] == "PENALTY")].iloc[0]
    party = f"{penalty['source']}:{penalty['record_id']}:party"
    touches = (evidence["mention_id_l"] == party) | (evidence["mention_id_r"] == party)
    assert touches.any()
    evidence.loc[touches, "method"] = "splink"
    evidence.loc[touches, "match_probability"] = 0.88
    evidence.loc[touches, "match_weight"] = 2.9
    evidence.loc[touches, "features"] = json.dumps(
        [{"column": "name_std", "level": "exact", "weight": 2.9}])
    write_table(run, "evidence", _records(evidence))
    _, reasons = _scores(run)
    own = next(r for r in reasons[F.A1] if r["rule"] == "own_events")
    [event] = [e for e in own["events"] if e["event_id"] == penalty["event_id"]]
    attached = event["attachment"]
    assert attached["method"] == "splink" and attached["match_probability"] == 0.88
    assert attached["low_confidence"] is True and attached["identifier"] is None
    assert attached["matched_on"] == [{"column": "name_std", "level": "exact"}]


def test_exact_identifier_evidence_has_no_weight_zero(tmp_path: Path) -> None:
    run = F.build_tiny_run(tmp_path)
    evidence = read_table(run, "evidence")
    evidence["match_weight"] = None  # what the linkage writes for an exact-identifier merge
    write_table(run, "evidence", _records(evidence))
    _, reasons = _scores(run)
    top = next(r for r in reasons[F.A4] if r["evidence"])
    rows = [row for rows in top["evidence"].values() for row in rows]
    assert rows and all(row["match_weight"] is None for row in rows)
    assert all(row["features"][0]["column"] in ("uscc", "id_number") for row in rows)
