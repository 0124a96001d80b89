"""The honest backtest: the as-of cut, its metrics, the learned score and `evaluate-risk --as-of`.

The tiny hand-made run (tests/support/graph_fixture.py) carries events before and after
2024-06-30: A1 penalised 2024-05-10; A2 inspected 2024-09-01 (and penalised 2023-01-15); A3
blacklisted 2024-11-20; CTRL is A1's legal representative and A3's 60% shareholder.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from graph.tables import RunTables, load_run
from risk import learned
from risk.asof import active_enterprises, tables_as_of, violations_between
from risk.backtest import BacktestOptions, backtest, measure, simulated_draws
from risk.config import load_risk_config
from risk.evaluate import roc_auc
from risk.features import enterprise_features, own_weight
from risk.score import compute_scores
from tests.support.graph_fixture import (
    A1,
    A2,
    A3,
    CTRL,
    CTRL2,
    PHX_NEW,
    PHX_OLD,
    PHX_REP,
    build_tiny_run,
)

CUT = date(2024, 6, 30)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_run(tmp_path_factory.mktemp("backtest"))


def _with_dates(t: RunTables, dates: dict[tuple[str, str, str], tuple[date | None, date | None]]
                ) -> RunTables:
    """The tables with (type, src, dst) relationships given (start_date, end_date)."""
    rel = t.relations.copy()
    for (rtype, src, dst), (start, end) in dates.items():
        hit = (rel["type"] == rtype) & (rel["src"] == src) & (rel["dst"] == dst)
        assert hit.sum() == 1, (rtype, src, dst)
        rel.loc[hit, "start_date"] = start
        rel.loc[hit, "end_date"] = end
    return RunTables(run_dir=t.run_dir, report=t.report, mentions=t.mentions,
                     entities=t.entities, relations=rel, events=t.events, evidence=t.evidence)


def _planted(run: Path) -> RunTables:
    return _with_dates(load_run(run), {
        ("DIRECTOR_OF", CTRL2, A1): (date(2024, 8, 1), None),  # not yet started on CUT
        ("SHAREHOLDER_OF", CTRL, A3): (date(2017, 1, 4), date(2024, 1, 1)),  # ended before CUT
        ("LEGAL_REP_OF", CTRL, A1): (date(2015, 3, 1), date(2025, 1, 1)),  # ends after CUT
    })


def test_as_of_cut_drops_future_events_and_relationships_not_in_force(run: Path) -> None:
    t = _planted(run)
    known = tables_as_of(t, CUT)
    assert (pd.to_datetime(known.events["date"]) <= pd.Timestamp(CUT)).all()
    kinds = set(zip(known.events["entity_id"], known.events["type"], strict=True))
    assert (A1, "PENALTY") in kinds and (A2, "PENALTY") in kinds
    assert (A2, "INSPECTION_FAILURE") not in kinds and (A3, "BLACKLISTING") not in kinds
    ties = set(zip(known.relations["type"], known.relations["src"], known.relations["dst"],
                   strict=True))
    assert ("DIRECTOR_OF", CTRL2, A1) not in ties  # not yet started
    assert ("SHAREHOLDER_OF", CTRL, A3) not in ties  # already ended
    assert ("LEGAL_REP_OF", CTRL, A1) in ties and ("DIRECTOR_OF", CTRL2, A2) in ties
    assert len(ties) == len(t.relations) - 2
    assert violations_between(t, CUT, date(2025, 1, 1)) == {A2, A3}


def test_as_of_cut_drops_later_firms_and_dates_the_status(run: Path) -> None:
    t = load_run(run)
    early = tables_as_of(t, date(2021, 6, 30))  # PHX_NEW is established 2021-10-08
    assert PHX_NEW not in set(early.entities["entity_id"])
    assert not ((early.relations["src"] == PHX_REP) & (early.relations["dst"] == PHX_NEW)).any()
    status = early.entities.set_index("entity_id")["status"]
    assert pd.isna(status[PHX_OLD])  # deregistered, but not known when: not used
    assert PHX_OLD in active_enterprises(early)
    dated = _with_dates(t, {("LEGAL_REP_OF", PHX_REP, PHX_OLD): (None, date(2021, 5, 1))})
    cut = tables_as_of(dated, date(2021, 6, 30)).entities.set_index("entity_id")["status"]
    assert cut[PHX_OLD] == "注销"
    assert PHX_OLD not in active_enterprises(tables_as_of(dated, date(2021, 6, 30)))
    assert pd.isna(tables_as_of(dated, date(2021, 4, 30)).entities.set_index(
        "entity_id")["status"][PHX_OLD])  # still registered then


def test_the_score_honours_the_cut(run: Path) -> None:
    t = _planted(run)
    cfg = load_risk_config().model_copy(update={"as_of": CUT})
    full = compute_scores(t, cfg).set_index("entity_id")["score"]
    cut = compute_scores(tables_as_of(t, CUT), cfg).set_index("entity_id")["score"]
    assert full[A3] > 0  # its own (future) blacklisting and its tie to CTRL
    assert cut[A3] == 0  # neither is known on CUT
    rows = compute_scores(tables_as_of(t, CUT), cfg).set_index("entity_id")["reasons"]
    reasons = json.loads(str(rows[A1]))
    assert CTRL2 not in {n for r in reasons for n in r["path_nodes"]}


def test_measure_on_hand_computed_figures() -> None:
    labels = np.array([1, 0, 1, 0, 0], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.0])
    fig = measure(labels, scores, BacktestOptions(as_of=CUT, top_k=2, draws=50))
    assert fig["auc"] == pytest.approx(5 / 6, abs=1e-4)  # 0.7 loses to 0.8 only
    assert fig["precision_at_2"] == pytest.approx(0.5)
    assert fig["precision_at_1pct"] == 1.0  # the top one
    draw = fig["draw"]
    assert draw["size"] == 1 and draw["draws"] == 50


def test_simulated_draw_favours_high_scores_and_is_reproducible() -> None:
    labels = np.zeros(1000)
    labels[:50] = 1
    scores = np.where(labels > 0, 10.0, 0.0)
    a = simulated_draws(labels, scores, 0.05, 100, seed=3)
    assert a == simulated_draws(labels, scores, 0.05, 100, seed=3)
    assert a["size"] == 50
    assert a["uniform_hit_rate"] == pytest.approx(0.05, abs=0.02)
    # 50 positives of weight 1.02 against 950 of 0.02: most of each draw is positive
    assert a["weighted_hit_rate"] > 0.6 and a["ratio"] > 10
    flat = simulated_draws(labels, np.zeros(1000), 0.05, 100, seed=3)
    assert flat["weighted_hit_rate"] == pytest.approx(0.05, abs=0.02)


def test_backtest_on_the_tiny_run(run: Path) -> None:
    out = backtest(run, BacktestOptions(as_of=CUT, draws=20))
    t = tables_as_of(load_run(run), CUT)
    population = active_enterprises(t)
    assert out["entities"] == len(population) and out["positives"] == 2
    assert out["horizon_end"] == "2024-11-20"  # the run's last event
    labels = np.array([e in {A2, A3} for e in population], dtype=float)
    cfg = load_risk_config().model_copy(update={"as_of": CUT})
    rule = compute_scores(t, cfg).set_index("entity_id")["score"].reindex(population).fillna(0)
    assert out["rules"]["auc"] == pytest.approx(roc_auc(labels, rule.to_numpy()), abs=1e-4)
    # A3 has no past event of its own; its controller's firm A1 has: the rules see it
    assert rule[A3] > 0 and own_weight(t, CUT, cfg).get(A3, 0.0) == 0
    assert roc_auc(labels, own_weight(t, CUT, cfg).reindex(population).fillna(0).to_numpy()) \
        == pytest.approx(out["baseline"]["auc"], abs=1e-4)
    assert out["rules"]["auc_over_baseline"] == pytest.approx(
        out["rules"]["auc"] - out["baseline"]["auc"], abs=1e-4)
    # two violators before CUT's training window cannot train a model: said, rules shipped
    assert "error" in out["learned"] and out["recommended"] == "rules"


def _synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    gen = np.random.default_rng(seed)
    x = pd.DataFrame({"exposure": gen.poisson(0.5, n).astype(float),
                      "own": gen.poisson(0.2, n).astype(float),
                      "age_days": gen.uniform(100, 5000, n), "noise": gen.normal(size=n)},
                     index=pd.Index([f"E{i:05d}" for i in range(n)], name="entity_id"))
    logit = (-4.0 + 1.5 * x["exposure"] + 1.0 * x["own"] - x["age_days"] / 5000).to_numpy()
    y = (gen.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return x, y


def test_learned_model_contributions_sum_to_the_log_odds() -> None:
    x, y = _synthetic(3000, 1)
    model = learned.train(x, y, learned.TrainOptions(rounds=80))
    x_new, y_new = _synthetic(1500, 2)
    prob = learned.predict(model, x_new)
    assert roc_auc(y_new, prob) > 0.75  # it learned the planted signal
    contrib = learned.contributions(model, x_new)
    assert list(contrib.columns) == [*x.columns, learned.BIAS]
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), np.log(prob / (1 - prob)),
                               atol=1e-6)
    top = x_new.index[int(np.argmax(prob))]
    reasons = learned.reasons(contrib, x_new, top)
    assert reasons and reasons[0]["feature"] == "exposure"
    assert [r["log_odds"] for r in reasons] == sorted((r["log_odds"] for r in reasons),
                                                       reverse=True)
    assert all(r["log_odds"] > 0 for r in reasons)
    assert model.importance["exposure"] > model.importance.get("noise", 0.0)


def test_learned_model_refuses_too_few_violators() -> None:
    x, _ = _synthetic(200, 3)
    y = np.zeros(200)
    y[:2] = 1
    with pytest.raises(ValueError, match="at least"):
        learned.train(x, y)


def test_features_of_the_tiny_run(run: Path) -> None:
    t = tables_as_of(_planted(run), CUT)
    cfg = load_risk_config()
    x = enterprise_features(t, CUT, cfg, active_enterprises(t))
    assert x.index.is_unique and x.dtypes.eq("float64").all()

    def f(entity: str, name: str) -> float:
        return float(x[name].to_dict()[entity])

    assert f(A2, "own_penalty") == 1 and f(A2, "own_inspection_failure") == 0
    assert f(A3, "own_events") == 0
    # A2 sits behind CTRL (legal rep of A1, A2) whose firm A1 violated in May 2024
    assert f(A2, "n2_LEGAL_REP_OF_firms") == 1
    assert f(A3, "n2_SHAREHOLDER_OF_firms") == 0  # that tie had ended
    assert f(A2, "controller_max_violating") >= 1
    assert f(A1, "age_days") == (CUT - date(2015, 3, 1)).days


def test_cli_evaluate_risk_as_of(run: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "bt.json"
    res = runner.invoke(app, ["evaluate-risk", "--run", str(run), "--as-of", "2024-06-30",
                              "--no-learned", "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["as_of"] == "2024-06-30" and got["positives"] == 2
    assert "learned" not in got and got["recommended"] == "rules"
    assert {"auc", "precision_at_1pct", "precision_at_5pct", "draw"} <= set(got["rules"])
    bad = runner.invoke(app, ["evaluate-risk", "--run", str(run), "--as-of", "30/06/2024"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    late = runner.invoke(app, ["evaluate-risk", "--run", str(run), "--as-of", "2025-01-01"])
    assert late.exit_code == 2 and "not before the horizon end" in late.output
    neither = runner.invoke(app, ["evaluate-risk", "--run", str(run)])
    assert neither.exit_code == 2 and "--as-of" in neither.output

