"""evaluate-risk maps truth entities through mentions and scores queries and predictions."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import tests.support.graph_fixture as F
from api.cli import app
from graph.tables import load_run
from risk.config import RiskConfig
from risk.evaluate import evaluate_risk
from risk.score import score_run


def _truth(run: Path, out: Path) -> Path:
    """A truth folder for the tiny run: truth IDs are 't-' + run IDs, planted = the fixture's."""
    out.mkdir(parents=True)
    mentions = load_run(run).mentions
    lines = ["source,record_id,role,entity"] + [
        f"{s},{r},{ro},t-{e}" for s, r, ro, e in zip(
            mentions["source"], mentions["record_id"], mentions["role"], mentions["entity_id"],
            strict=True)
    ]
    (out / "mentions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    firms = sorted(e for e in mentions["entity_id"].unique() if e.startswith("E"))
    risk = {
        "controllers": [f"t-{F.CTRL}", "t-P999999999999"],
        "phoenix_pairs": [[f"t-{F.PHX_OLD}", f"t-{F.PHX_NEW}"]],
        "cycles": [[f"t-{F.C1}", f"t-{F.C2}", f"t-{F.C3}"]],
        "rings": [[f"t-{g}" for g in F.G]],
        "hubs": [{"kind": "address", "legitimate": False, "enterprises": [f"t-{d}" for d in F.D]}],
        "future_violators": [f"t-{F.A4}", f"t-{F.D[4]}"],
        "active_at_cutoff": [f"t-{e}" for e in firms if e != F.PHX_OLD],
    }
    (out / "risk.json").write_text(json.dumps(risk), encoding="utf-8")
    return out


def test_evaluate_risk_on_tiny_run(tmp_path: Path) -> None:
    cfg = RiskConfig(hubs_whitelist=F.tiny_whitelist())
    run = F.build_tiny_run(tmp_path)
    score_run(run, cfg)
    truth = _truth(run, tmp_path / "truth")
    result = evaluate_risk(run, truth, cfg)
    q = result["queries"]
    # the unknown planted controller cannot be mapped, so it is not counted
    assert q["controllers"] == {"planted": 1, "found": 1, "recall": 1.0, "reported": 2,
                                "precision": 0.5}
    assert q["phoenix_pairs"]["recall"] == 1.0 and q["phoenix_pairs"]["precision"] == 1.0
    assert q["cycles"]["recall"] == 1.0
    assert q["rings"]["recall"] == 1.0 and q["rings"]["reported"] == 3
    assert q["hubs"]["recall"] == 1.0
    pred = result["prediction"]
    assert pred["entities"] == 28 and pred["positives"] == 2
    # both future violators are clean today but tied to violators: the network score sees them
    assert pred["baseline_auc"] < 0.5 < pred["auc"]


def test_cli_evaluate_risk(tmp_path: Path) -> None:
    run = F.build_tiny_run(tmp_path)
    truth = _truth(run, tmp_path / "truth")
    runner = CliRunner()
    assert runner.invoke(app, ["score", "--run", str(run)]).exit_code == 0
    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["evaluate-risk", "--run", str(run), "--truth", str(truth),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["queries"]["cycles"]["found"] == 1
    bad = runner.invoke(app, ["evaluate-risk", "--run", str(run), "--truth", str(tmp_path)])
    assert bad.exit_code == 2 and "risk.json" in bad.output
