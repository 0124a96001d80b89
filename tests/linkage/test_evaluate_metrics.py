"""Evaluation metrics on hand-made clusterings with known answers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from linkage.evaluate import bcubed, evaluate, namesake_false_merges, pairwise


def _frame(pred: list[str], true: list[str], names: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame({
        "mention_id": [f"s:{i}:r" for i in range(len(pred))],
        "entity_id": pred, "entity": true,
        "name_std": names or ["n"] * len(pred),
    })


def test_pairwise_and_bcubed_on_a_known_clustering() -> None:
    # truth: {0,1,2} {3}; prediction: {0,1} {2,3}
    frame = _frame(["a", "a", "b", "b"], ["x", "x", "x", "y"])
    pw = pairwise(frame)
    assert (pw["true_pairs"], pw["predicted_pairs"], pw["correct_pairs"]) == (3, 2, 1)
    assert pw["precision"] == 0.5 and pw["recall"] == pytest.approx(1 / 3, abs=1e-4)
    b3 = bcubed(frame)
    assert b3["precision"] == pytest.approx((1 + 1 + 0.5 + 0.5) / 4)
    assert b3["recall"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4, abs=1e-4)


def test_namesake_rate_counts_only_same_name_different_truth_pairs() -> None:
    # three people named 王伟 (x, y, z); x and y wrongly merged; 李娜 irrelevant
    frame = _frame(["a", "a", "c", "d"], ["x", "y", "z", "w"], ["王伟", "王伟", "王伟", "李娜"])
    got = namesake_false_merges(frame)
    assert got["namesake_pairs"] == 3 and got["merged"] == 1
    assert got["rate"] == pytest.approx(1 / 3, abs=1e-5)


def test_evaluate_reads_run_and_truth(tmp_path: Path) -> None:
    run, truth = tmp_path / "run", tmp_path / "truth"
    run.mkdir()
    truth.mkdir()
    pd.DataFrame({
        "mention_id": ["a:1:firm", "b:2:firm", "c:3:firm"],
        "kind": ["enterprise"] * 3, "entity_id": ["E1", "E1", "E2"],
        "name_std": ["华信", "华信", "永安"], "uscc": [None] * 3, "uscc_valid": [False] * 3,
        "customs_code": ["1", "1", "2"], "reg_no": [None] * 3, "name_pinyin": [None] * 3,
        "phone": [None] * 3, "address_std": [None] * 3, "id_number": [None] * 3,
        "id_valid": [False] * 3, "birth_date": [None] * 3,
    }).to_parquet(run / "mentions.parquet")
    (truth / "mentions.csv").write_text(
        "source,record_id,role,entity\na,1,firm,ent-1\nb,2,firm,ent-1\nc,3,firm,ent-2\n",
        encoding="utf-8")
    result = evaluate(run, truth)
    assert result["enterprise"]["pairwise"]["f1"] == 1.0
    assert result["enterprise"]["blocking_recall"]["recall"] == 1.0
    assert result["person"]["mentions"] == 0
