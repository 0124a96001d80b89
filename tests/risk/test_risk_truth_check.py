"""evaluate-risk refuses a truth of another shape or data set with a clear error, never NaN."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import tests.support.graph_fixture as F
from api.cli import app
from risk.truth import check_risk_truth
from tests.risk.test_risk_eval import _truth


def _invoke(run: Path, truth: Path) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["evaluate-risk", "--run", str(run), "--truth", str(truth)])
    return res.exit_code, res.output


def test_a_good_truth_passes_and_a_risk_json_file_names_its_folder(tmp_path: Path) -> None:
    run = F.build_tiny_run(tmp_path)
    truth = _truth(run, tmp_path / "truth")
    assert check_risk_truth(truth, run) == truth
    assert check_risk_truth(truth / "risk.json", run) == truth


def test_truths_of_another_shape_are_refused(tmp_path: Path) -> None:
    run = F.build_tiny_run(tmp_path)
    truth = _truth(run, tmp_path / "truth")
    # a linkage truth CSV passed as the truth
    code, out = _invoke(run, truth / "mentions.csv")
    assert code == 2 and "not a single file" in out
    # risk.json without the planted lists
    (truth / "risk.json").write_text(json.dumps({"cutoff_date": "2025-06-30"}), encoding="utf-8")
    code, out = _invoke(run, truth)
    assert code == 2 and "missing or not a list" in out and "active_at_cutoff" in out
    # a risk.json that is a list
    (truth / "risk.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object"):
        check_risk_truth(truth)


def test_a_truth_of_another_data_set_is_refused(tmp_path: Path) -> None:
    run = F.build_tiny_run(tmp_path)
    truth = _truth(run, tmp_path / "truth")
    other = pd.read_csv(truth / "mentions.csv", dtype=str)
    other["source"] = "febrl3"
    other.to_csv(truth / "mentions.csv", index=False)
    code, out = _invoke(run, truth)
    assert code == 2 and "none of its mentions" in out
    pd.DataFrame({"id": ["1"], "cluster": ["2"]}).to_csv(truth / "mentions.csv", index=False)
    code, out = _invoke(run, truth)
    assert code == 2 and "needs the columns" in out


def test_no_violator_to_score_is_refused(tmp_path: Path) -> None:
    run = F.build_tiny_run(tmp_path)
    truth = _truth(run, tmp_path / "truth")
    risk = json.loads((truth / "risk.json").read_text(encoding="utf-8"))
    risk["future_violators"] = []
    (truth / "risk.json").write_text(json.dumps(risk), encoding="utf-8")
    code, out = _invoke(run, truth)
    assert code == 2 and "both future violators and others" in out
