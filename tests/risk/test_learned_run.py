"""The learned score of `guanlian score`: backtested against the rules on the run's own dates,
shipped beside the rule score only where it wins, explained by LightGBM's SHAP values, served
by the API (risk, lookup, worklist) and `guanlian worklist`.

Real data: the generator's small data set (seed 7), linked and scored once for the module (the
learned score beats the rules on its backtest: AUC 0.885 vs 0.874).
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from graph.tables import load_run
from linkage.synth import generate
from pipeline.run import link_step, score_step
from risk import learned
from risk.config import load_risk_config
from risk.features import enterprise_features
from risk.learned_run import LEARNED_REPORT, MODEL_FILE, learned_scores
from risk.score import score_run
from runfolder.folder import read_table, validate_run
from tests.api.test_api_support import serve
from tests.support.graph_fixture import build_tiny_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("learned")
    data = generate("small", 7, root / "data")
    run = root / "run"
    link_step(data / "sources.yaml", run)
    score_step(run)
    return run


def _risk(run: Path) -> pd.DataFrame:
    return pd.read_parquet(run / "risk.parquet")


def test_learned_score_shipped_beside_the_rules_where_it_wins(small_run: Path) -> None:
    report = json.loads((small_run / LEARNED_REPORT).read_text(encoding="utf-8"))
    assert report["shipped"] is True and report["score"] == "learned"
    assert report["learned_auc"] > report["rules_auc"]
    bt = report["backtest"]
    assert bt["learned"]["auc"] == report["learned_auc"] and bt["positives"] > 0
    assert report["model"]["train_as_of"] == bt["as_of"]  # the final model: the last split
    validate_run(small_run)  # the optional learned columns fit the contract
    risk = _risk(small_run)
    firms = risk["entity_id"].str.startswith("E")
    assert risk.loc[firms, "learned_score"].notna().all()
    assert risk.loc[~firms, "learned_score"].isna().all()  # persons: rules only
    assert set(risk.loc[firms, "learned_level"]) <= {"low", "medium", "high"}
    assert report["levels"] == risk.loc[firms, "learned_level"].value_counts().reindex(
        ["low", "medium", "high"], fill_value=0).to_dict()
    cfg = load_risk_config()
    top = risk[firms].sort_values("learned_score", ascending=False).head(50)
    for score, level, text in zip(top["learned_score"], top["learned_level"],
                                  top["learned_reasons"], strict=True):
        block = json.loads(text)
        listed = [r["contribution"] for r in block["reasons"]]
        # SHAP: the bias plus every contribution is the raw score, logit(probability)
        assert block["expected_value"] + sum(listed) + block["other"] == pytest.approx(
            block["log_odds"], abs=1e-5)
        assert 1 / (1 + math.exp(-block["log_odds"])) == pytest.approx(score, abs=1e-5)
        assert level == cfg.learned.level(score)
        assert 0 < len(listed) <= cfg.learned.max_reasons
        assert [abs(c) for c in listed] == sorted((abs(c) for c in listed), reverse=True)
        assert all(r["label"] != r["feature"] for r in block["reasons"])  # Chinese labels


def test_learned_reasons_are_the_models_shap_values(small_run: Path) -> None:
    """The stored reasons are LightGBM's pred_contrib of the final model, recomputed here;
    the same tables give the same rows (seeded, deterministic)."""
    tables = load_run(small_run)
    cfg = load_risk_config()
    first = learned_scores(tables, cfg)
    again = learned_scores(tables, cfg)
    assert first.rows is not None and again.rows is not None and first.model is not None
    pd.testing.assert_frame_equal(first.rows, again.rows)
    stored = _risk(small_run).set_index("entity_id")
    by_id = first.rows.set_index("entity_id")
    assert np.allclose(stored.loc[by_id.index, "learned_score"].to_numpy(dtype=float),
                       by_id["learned_score"].to_numpy(dtype=float), atol=1e-9)
    end = date.fromisoformat(first.report["model"]["scored_as_of"])
    x = enterprise_features(tables, end, cfg.model_copy(update={"as_of": end}))
    some = by_id.sort_values("learned_score", ascending=False).index[:30]
    contrib = learned.contributions(first.model, x.loc[some])
    for entity in some:
        block = json.loads(stored.loc[entity, "learned_reasons"])
        row = contrib.loc[entity]
        assert block["expected_value"] == pytest.approx(row[learned.BIAS], abs=1e-5)
        assert block["log_odds"] == pytest.approx(row.sum(), abs=1e-5)
        for reason in block["reasons"]:
            assert reason["contribution"] == pytest.approx(row[reason["feature"]], abs=1e-5)
            value = x.loc[entity, reason["feature"]]
            assert (reason["value"] is None) == bool(np.isnan(value))


def test_not_shipped_when_it_does_not_beat_the_rules(small_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    cfg = load_risk_config().model_copy(deep=True)
    cfg.learned.min_auc_gain = 0.5  # asks more than any score can give
    cfg.learned.parallel_min_entities = 0  # in the second process, as on a large run
    summary = score_run(run, cfg)
    assert summary["learned"]["shipped"] is False
    report = json.loads((run / LEARNED_REPORT).read_text(encoding="utf-8"))
    assert report["shipped"] is False and report["score"] == "rules"
    assert "does not beat the rules" in report["note"] and "learned_auc" in report
    assert "learned_score" not in _risk(run).columns
    firm = str(read_table(run, "entities").query("kind == 'enterprise'")["entity_id"].iloc[0])
    with serve(tmp_path, run) as s:
        assert s.get(f"/entities/{firm}/risk").json()["learned"] is None
        page = s.get("/risk/entities", params={"score": "learned"}).json()
        assert page["total"] == 0 and page["items"] == []


def test_too_short_a_history_ships_nothing_with_a_note(tmp_path: Path) -> None:
    run = build_tiny_run(tmp_path)
    summary = score_run(run)
    report = json.loads((run / LEARNED_REPORT).read_text(encoding="utf-8"))
    assert summary["learned"]["shipped"] is False and report["shipped"] is False
    assert report["note"]  # says what was missing (no backtest / too few violators)
    assert "learned_score" not in _risk(run).columns
    cfg = load_risk_config().model_copy(deep=True)
    cfg.learned.parallel_min_entities = 0  # the same in the second process
    score_run(run, cfg)
    again = json.loads((run / LEARNED_REPORT).read_text(encoding="utf-8"))
    assert {k: v for k, v in again.items() if k not in ("seconds", "timings")} == \
        {k: v for k, v in report.items() if k not in ("seconds", "timings")}


def test_api_and_worklist_serve_the_learned_score(small_run: Path, tmp_path: Path) -> None:
    risk = _risk(small_run)
    ranked = risk.dropna(subset=["learned_score"]).sort_values(
        ["learned_score", "entity_id"], ascending=[False, True])
    top = str(ranked["entity_id"].iloc[0])
    person = str(risk.loc[risk["entity_id"].str.startswith("P"), "entity_id"].iloc[0])
    uscc = read_table(small_run, "entities").set_index("entity_id").loc[top, "uscc"]
    with serve(tmp_path, small_run) as s:
        got = s.get(f"/entities/{top}/risk").json()
        assert got["learned"]["score"] == pytest.approx(ranked["learned_score"].iloc[0])
        assert got["learned"]["reasons"] and "score" in got  # beside the rule score
        seen = s.get(f"/entities/{top}/risk", role="inspector").json()
        assert seen["learned"] == got["learned"]  # an enterprise's own features: kept
        assert all(r["path_nodes"] == [] for r in seen["reasons"])  # rule paths still hidden
        assert s.get(f"/entities/{person}/risk", role="inspector").status_code == 403
        assert s.get(f"/entities/{person}/risk").json()["learned"] is None
        page = s.get("/risk/entities", params={"score": "learned", "limit": 5}).json()
        assert [i["entity"]["entity_id"] for i in page["items"]] == \
            ranked["entity_id"].head(5).tolist()
        assert page["total"] == len(ranked)
        assert s.get("/risk/entities", params={"score": "other"}).status_code == 422
        if isinstance(uscc, str):
            answer = s.post("/inspection/lookup", role="inspector", json={"uscc": uscc}).json()
            assert answer["match"]["entity"]["entity_id"] == top
            assert answer["learned"]["score"] == got["learned"]["score"]
    out = CliRunner().invoke(cli, ["worklist", "--run", str(small_run), "--score", "learned",
                                   "--limit", "3", "--format", "json"])
    assert out.exit_code == 0, out.output
    items = json.loads(out.stdout)["items"]
    assert [i["entity"]["entity_id"] for i in items] == ranked["entity_id"].head(3).tolist()
    assert [i["learned_score"] for i in items] == pytest.approx(
        ranked["learned_score"].head(3).tolist())


def _rerun_copy(run: Path, to: Path) -> Path:
    """A rerun holding the same tables as `run` (its scores and model removed)."""
    shutil.copytree(run, to)
    for name in ("risk.parquet", LEARNED_REPORT, MODEL_FILE):
        (to / name).unlink(missing_ok=True)
    return to


def test_a_rerun_keeps_its_previous_runs_model(small_run: Path, tmp_path: Path) -> None:
    """Scored with `--previous`, a rerun applies the previous run's shipped model to its own
    features: no retraining jitter, so a firm's learned score moves only when its features
    do (a retrained model moved 103,934 of 104,251 firms on a 1%-changed large rerun)."""
    first = json.loads((small_run / LEARNED_REPORT).read_text(encoding="utf-8"))
    assert (small_run / MODEL_FILE).exists()  # the shipped model is kept beside the scores
    rerun = _rerun_copy(small_run, tmp_path / "rerun")
    out = CliRunner().invoke(cli, ["score", "--run", str(rerun), "--previous", str(small_run),
                                   "--no-prepare-graph"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.strip().splitlines()[-1])["learned"]["reused_from"] == \
        first["run_id"]
    report = json.loads((rerun / LEARNED_REPORT).read_text(encoding="utf-8"))
    assert report["shipped"] is True and report["reused_from"] == first["run_id"]
    assert "backtest" not in report["timings"]  # neither backtested nor trained again
    assert report["model"]["labels_until"] == first["model"]["labels_until"]
    assert report["learned_auc"] == first["learned_auc"]
    assert (rerun / MODEL_FILE).read_text() == (small_run / MODEL_FILE).read_text()
    before, after = _risk(small_run), _risk(rerun)
    pd.testing.assert_series_equal(before["learned_score"], after["learned_score"])
    pd.testing.assert_series_equal(before["learned_reasons"], after["learned_reasons"])
    # and the rerun's own rerun still names the run that trained the model
    again = _rerun_copy(rerun, tmp_path / "again")
    score_run(again, previous=rerun)
    assert json.loads((again / LEARNED_REPORT).read_text())["reused_from"] == first["run_id"]


def test_a_rerun_retrains_when_the_model_is_stale_or_does_not_fit(small_run: Path,
                                                                  tmp_path: Path) -> None:
    cfg = load_risk_config()

    def retrained(previous: Path, name: str, config: Any = None) -> dict[str, Any]:
        rerun = _rerun_copy(small_run, tmp_path / name)
        score_run(rerun, config or cfg, previous=previous)
        report = json.loads((rerun / LEARNED_REPORT).read_text(encoding="utf-8"))
        assert report["shipped"] is True
        return report

    # asked never to keep a model
    never = cfg.model_copy(update={"learned": cfg.learned.model_copy(
        update={"retrain_after_days": 0})})
    assert "reused_from" not in retrained(small_run, "never", never)
    # the newest event is further past the model's labels than retrain_after_days
    stale = tmp_path / "stale-previous"
    shutil.copytree(small_run, stale)
    report = json.loads((stale / LEARNED_REPORT).read_text(encoding="utf-8"))
    until = date.fromisoformat(report["model"]["labels_until"])
    report["model"]["labels_until"] = date.fromordinal(
        until.toordinal() - cfg.learned.retrain_after_days).isoformat()
    (stale / LEARNED_REPORT).write_text(json.dumps(report), encoding="utf-8")
    fresh = retrained(stale, "stale")
    assert "reused_from" not in fresh and "backtest" in fresh["timings"]
    # another horizon, a model file that cannot be read, or none at all
    longer = cfg.model_copy(update={"learned": cfg.learned.model_copy(
        update={"horizon_days": cfg.learned.horizon_days + 30})})
    assert "reused_from" not in retrained(small_run, "horizon", longer)
    broken = tmp_path / "broken-previous"
    shutil.copytree(small_run, broken)
    (broken / MODEL_FILE).write_text("not a model", encoding="utf-8")
    assert "reused_from" not in retrained(broken, "broken")
    (broken / MODEL_FILE).unlink()
    assert "reused_from" not in retrained(broken, "none")
