"""A rerun with `--previous` scores with the previous run's saved models (no training)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from linkage.resolve.scoring import saved_model
from linkage.run import link_extraction, previous_models
from tests.support.linkage_fixture import build


def _models(run: Path) -> dict[str, dict[str, object]]:
    return {k: json.loads((run / "models" / f"{k}.json").read_text(encoding="utf-8"))
            for k in ("enterprise", "person")}


def _weights(run: Path) -> pd.Series:
    ev = pd.read_parquet(run / "evidence.parquet")
    ev = ev[ev["method"].astype(str).str.startswith("splink")]
    return ev.set_index(["mention_id_l", "mention_id_r"])["match_weight"].sort_index()


def test_a_rerun_reuses_the_saved_models_and_keeps_evidence_identical(tmp_path: Path) -> None:
    world = build()
    first = link_extraction(world, tmp_path / "first", quiet=True)
    reuse = previous_models(tmp_path / "first", "duckdb")
    assert reuse is not None
    second = link_extraction(world, tmp_path / "second", previous=tmp_path / "first",
                             quiet=True, reuse=reuse)

    notes = {k: m["training_notes"] for k, m in second.report["models"].items()}
    assert all(n == ["model reused from the previous run"] for n in notes.values()), notes
    assert all("model reused" not in " ".join(m["training_notes"])
               for m in first.report["models"].values())
    old, new = _models(tmp_path / "first"), _models(tmp_path / "second")
    for kind in old:
        assert new[kind]["comparisons"] == old[kind]["comparisons"]
        assert (new[kind]["probability_two_random_records_match"]
                == old[kind]["probability_two_random_records_match"])
    w1, w2 = _weights(tmp_path / "first"), _weights(tmp_path / "second")
    assert len(w1) > 0
    pd.testing.assert_series_equal(w1, w2)
    e1 = pd.read_parquet(tmp_path / "first" / "mentions.parquet").set_index("mention_id")
    e2 = pd.read_parquet(tmp_path / "second" / "mentions.parquet").set_index("mention_id")
    assert (e1["entity_id"] == e2.loc[e1.index, "entity_id"]).all()


def test_saved_models_that_no_longer_fit_are_not_reused(tmp_path: Path) -> None:
    link_extraction(build(), tmp_path / "first", quiet=True)
    path = tmp_path / "first" / "models" / "person.json"
    model = json.loads(path.read_text(encoding="utf-8"))
    model["comparisons"] = model["comparisons"][:-1]  # a comparison the code no longer has
    path.write_text(json.dumps(model), encoding="utf-8")
    assert previous_models(tmp_path / "first", "duckdb") is None
    assert previous_models(tmp_path / "first", "spark") is None  # another SQL dialect
    (tmp_path / "first" / "models" / "enterprise.json").unlink()
    assert previous_models(tmp_path / "first", "duckdb") is None


def test_a_saved_model_is_read_only_when_present_and_fitting(tmp_path: Path) -> None:
    """Reruns and incremental linking read saved models through one check: a missing model
    and one written for other comparisons are refused with the file named."""
    with pytest.raises(FileNotFoundError, match="models/person.json"):
        saved_model(tmp_path, "person", "duckdb")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "person.json").write_text(
        json.dumps({"comparisons": [{"output_column_name": "shoe_size"}],
                    "sql_dialect": "duckdb"}), encoding="utf-8")
    with pytest.raises(ValueError, match="person.json: the saved person model does not fit"):
        saved_model(tmp_path, "person", "duckdb")
