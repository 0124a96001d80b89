"""The risk score on the tiny run: stored, explained, configurable, and ranking what it should."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import tests.support.graph_fixture as F
from api.cli import app
from graph.embedded.store import EmbeddedStore
from graph.tables import load_run
from risk.config import RiskConfig, read_risk_config
from risk.evaluate import precision_at, roc_auc
from risk.score import compute_scores, score_run
from runfolder.folder import write_table
from runfolder.ids import address_id

CFG = RiskConfig(hubs_whitelist=F.tiny_whitelist(), as_of=date(2024, 12, 31))


class Scores:
    """The risk rows as plain dicts: score, level and parsed reasons per entity."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.score: dict[str, float] = dict(zip(frame["entity_id"], frame["score"], strict=True))
        self.level: dict[str, str] = dict(zip(frame["entity_id"], frame["level"], strict=True))
        self.reasons: dict[str, list[dict[str, Any]]] = {
            e: json.loads(r) for e, r in zip(frame["entity_id"], frame["reasons"], strict=True)
        }


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> Scores:
    run = F.build_tiny_run(tmp_path_factory.mktemp("tiny"))
    return Scores(compute_scores(load_run(run), CFG))


def _reasons(scores: Scores, entity_id: str) -> list[dict[str, Any]]:
    return scores.reasons[entity_id]


def test_every_entity_is_scored_with_a_level(scores: Scores) -> None:
    assert all(0 <= s <= 100 for s in scores.score.values())
    assert set(scores.level.values()) <= {"low", "medium", "high"}
    assert len(scores.score) == 39 and set(scores.frame["run_id"]) == {F.RUN_ID}
    assert scores.score[F.C1] == 0 and _reasons(scores, F.C1) == []


def test_network_raises_clean_firms_tied_to_violators(scores: Scores) -> None:
    # A4 has no event of its own, but its legal rep runs three violating firms
    assert scores.score[F.A4] > scores.score[F.H1] == 0
    top = _reasons(scores, F.A4)[0]
    assert top["rule"] == "network_2"
    assert top["path_nodes"][:2] == [F.A4, F.CTRL] and top["path_nodes"][2] in {F.A1, F.A2, F.A3}
    assert len(top["path_edges"]) == 2
    # the merged legal representative's linkage evidence travels with the reason
    evidence = top["evidence"][F.CTRL]
    assert evidence[0]["method"] == "exact_id"
    assert evidence[0]["features"][0]["column"] == "id_number"


def test_namesake_does_not_inherit_risk(scores: Scores) -> None:
    assert scores.score[F.NAMESAKE_1] == 0
    assert scores.score[F.NAMESAKE_2] > 0  # legal rep of the penalised H2


def test_indicators(scores: Scores) -> None:
    rules = {r["rule"] for r in _reasons(scores, F.PHX_NEW)}
    assert "phoenix" in rules
    phoenix = next(r for r in _reasons(scores, F.PHX_NEW) if r["rule"] == "phoenix")
    assert phoenix["path_nodes"][2] == F.PHX_OLD
    assert "hub" in {r["rule"] for r in _reasons(scores, F.D[3])}
    assert "hub" not in {r["rule"] for r in _reasons(scores, F.F[3])}  # whitelisted agent
    assert scores.score[F.F[3]] == 0
    assert "shared_controller" in {r["rule"] for r in _reasons(scores, F.CTRL)}
    assert "blacklisting" in {r["rule"] for r in _reasons(scores, F.BLK_P)}


def test_contributions_sum_to_at_most_the_score(scores: Scores) -> None:
    for entity_id, score in scores.score.items():
        reasons = _reasons(scores, entity_id)
        total = sum(r["contribution"] for r in reasons)
        assert total <= score + 0.05
        assert [r["contribution"] for r in reasons] == sorted(
            (r["contribution"] for r in reasons), reverse=True)


def test_recency_and_severity_weigh(tmp_path: Path) -> None:
    tables = load_run(F.build_tiny_run(tmp_path))
    now = Scores(compute_scores(tables, CFG)).score
    later = Scores(compute_scores(tables, CFG.model_copy(update={"as_of": date(2030, 1, 1)})))
    assert later.score[F.A1] < now[F.A1]
    heavy = Scores(compute_scores(tables, CFG.model_copy(update={"severity": {"PENALTY": 5.0}})))
    assert heavy.score[F.H2] > now[F.H2]


def test_score_run_writes_parquet_read_by_the_store(tmp_path: Path) -> None:
    run = F.build_tiny_run(tmp_path)
    summary = score_run(run, CFG)
    assert summary["entities"] == 39
    store = EmbeddedStore.from_run(run, CFG)
    risk = store.get_risk(F.A4)
    assert risk is not None and risk.reasons and risk.reasons[0].path_nodes[0] == F.A4
    hit = store.search("上海华宁物流")[0]
    assert hit.entity_id == F.A4 and hit.risk_level == risk.level


def test_cli_score_and_bad_run(tmp_path: Path) -> None:
    runner = CliRunner()
    run = F.build_tiny_run(tmp_path)
    result = runner.invoke(app, ["score", "--run", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "risk.parquet").is_file()
    missing = runner.invoke(app, ["score", "--run", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "guanlian link" in missing.output


def test_config_file_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "risk.yaml"
    path.write_text("hubs_whitelist: ['x']\nhop_decay: 0.3\n", encoding="utf-8")
    cfg = read_risk_config(path)
    assert cfg.hop_decay == 0.3 and cfg.hubs_whitelist == ["x"] and cfg.half_life_days == 1095
    path.write_text("hop_decayy: 0.3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="hop_decayy"):
        read_risk_config(path)
    assert cfg.level(10) == "low" and cfg.level(45) == "medium" and cfg.level(90) == "high"


def test_auc_and_precision_helpers() -> None:
    import numpy as np

    labels = np.array([1, 0, 1, 0, 0], dtype=float)
    assert roc_auc(labels, np.array([0.9, 0.1, 0.8, 0.3, 0.2])) == 1.0
    assert roc_auc(labels, np.array([0.5] * 5)) == 0.5
    assert precision_at(labels, np.array([0.9, 0.1, 0.8, 0.3, 0.2]), 0.4) == 1.0


def test_hub_address_id_in_reason(scores: Scores) -> None:
    hub = next(r for r in _reasons(scores, F.D[5]) if r["rule"] == "hub")
    assert hub["path_nodes"] == [F.D[5], address_id(F.HUB_ADDR)]


def test_network_cap_gives_diminishing_returns(tmp_path: Path) -> None:
    tables = load_run(F.build_tiny_run(tmp_path))
    free = Scores(compute_scores(tables, CFG))
    capped = Scores(compute_scores(tables, CFG.model_copy(update={"network_cap": 0.2})))
    assert 0 < capped.score[F.A4] < free.score[F.A4]  # A4's risk is all network
    assert capped.score[F.H2] == free.score[F.H2]  # H2's risk is all its own penalty


def test_run_without_events_or_relations_scores_quietly(tmp_path: Path) -> None:
    run = F.build_tiny_run(tmp_path)
    write_table(run, "events", [])
    quiet = Scores(compute_scores(load_run(run), CFG))
    assert len(quiet.score) == 39 and max(quiet.score.values()) < 30  # only hub membership
    assert all(r["rule"] == "hub" for rs in quiet.reasons.values() for r in rs)
    write_table(run, "relations", [])
    assert len(compute_scores(load_run(run), CFG)) == 39
