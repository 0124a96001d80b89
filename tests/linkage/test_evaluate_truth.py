"""`guanlian evaluate --truth` takes a truth CSV file as well as a folder; bad shapes are named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from linkage.evaluate import evaluate, load_truth


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame({
        "mention_id": ["a:1:firm", "b:2:firm", "c:3:firm"],
        "kind": ["enterprise"] * 3, "entity_id": ["E1", "E1", "E2"],
        "name_std": ["华信", "华信", "永安"], "uscc": [None] * 3, "uscc_valid": [False] * 3,
        "customs_code": ["1", "1", "2"], "reg_no": [None] * 3, "name_pinyin": [None] * 3,
        "phone": [None] * 3, "address_std": [None] * 3, "id_number": [None] * 3,
        "id_valid": [False] * 3, "birth_date": [None] * 3,
    }).to_parquet(run / "mentions.parquet")
    return run


def test_a_truth_file_of_either_shape(tmp_path: Path) -> None:
    run = _run(tmp_path)
    long = tmp_path / "truth.csv"
    long.write_text("source,record_id,role,entity\na,1,firm,X\nb,2,firm,Y\nc,3,firm,Y\n",
                    encoding="utf-8")
    short = tmp_path / "pairs.csv"
    short.write_text("mention_id,entity\na:1:firm,X\nb:2:firm,X\nc:3:firm,Z\n", encoding="utf-8")
    assert evaluate(run, long)["enterprise"]["pairwise"]["f1"] == 0.0
    assert evaluate(run, short)["enterprise"]["pairwise"]["f1"] == 1.0
    assert list(load_truth(short).columns) == ["mention_id", "entity"]


def test_cli_evaluate_with_a_truth_file_and_a_wrong_one(tmp_path: Path) -> None:
    run = _run(tmp_path)
    good = tmp_path / "t.csv"
    good.write_text("mention_id,entity\na:1:firm,X\nb:2:firm,X\nc:3:firm,Z\n", encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(app, ["evaluate", "--run", str(run), "--truth", str(good)])
    assert ok.exit_code == 0, ok.output
    assert '"f1": 1.0' in ok.output
    wrong = tmp_path / "w.csv"
    wrong.write_text("id,cluster\n1,2\n", encoding="utf-8")
    bad = runner.invoke(app, ["evaluate", "--run", str(run), "--truth", str(wrong)])
    assert bad.exit_code == 2
    assert "needs the columns" in bad.output and str(wrong) in bad.output
    missing = runner.invoke(app, ["evaluate", "--run", str(run), "--truth",
                                  str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no truth here" in missing.output


def test_an_empty_entity_names_its_row(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("mention_id,entity\na:1:firm,X\nb:2:firm,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="row 3"):
        load_truth(path)
