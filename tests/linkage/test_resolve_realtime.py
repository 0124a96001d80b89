"""Real-time scoring with a run's trained models: right entity first, fast."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest

from linkage.realtime import RealtimeMatcher
from linkage.resolve.models import SPECS
from linkage.run import link_extraction
from tests.support.linkage_fixture import build


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rt") / "run"
    link_extraction(build(), out, quiet=True)
    return out


def test_level_conditions_match_splink_labels() -> None:
    spec = {s.name: s for s in SPECS["enterprise"]}["uscc"]
    left = {"uscc": "91310115MA1FL8LQ0T", "uscc_valid": True}
    assert spec.levels[spec.level_index(left, dict(left))].label == "valid USCC exact"
    swapped = {"uscc": "91310115MA1FL8QL0T", "uscc_valid": False}
    assert "one edit" in spec.levels[spec.level_index(left, swapped)].label
    assert spec.level_index(left, {"uscc": None}) == 0


def test_scores_the_true_entity_first_within_20ms(run: Path) -> None:
    matcher = RealtimeMatcher.from_run(run)
    entities = pd.read_parquet(run / "entities.parquet")
    firms = cast(list[dict[str, Any]],
                 entities[entities["kind"] == "enterprise"].to_dict("records"))
    target = firms[3]
    record = {"name": target["name"], "uscc": target["uscc"], "phone": target["phone"]}
    candidates = firms[:20]
    matches = matcher.score("enterprise", record, candidates)  # cold: loads OpenCC tables
    assert matches[0].entity_id == target["entity_id"]
    assert matches[0].match_probability > 0.99 > matches[1].match_probability
    assert {f["column"] for f in matches[0].features} >= {"name", "uscc", "phone"}
    timings = []
    for _ in range(5):
        warm = time.perf_counter()
        matcher.score("enterprise", record, candidates)
        timings.append(time.perf_counter() - warm)
    assert min(timings) < 0.02


def test_person_name_alone_is_not_a_match(run: Path) -> None:
    matcher = RealtimeMatcher.from_run(run)
    entities = pd.read_parquet(run / "entities.parquet")
    rows = entities[(entities["kind"] == "person") & entities["id_number"].notna()]
    person = cast(dict[str, Any], rows.iloc[0].to_dict())
    by_name = matcher.score("person", {"name": person["name"]}, [person])
    with_id = matcher.score("person", {"name": person["name"], "id_number": person["id_number"]},
                            [person])
    assert by_name[0].match_probability < 0.5 < with_id[0].match_probability
    assert with_id[0].match_weight - by_name[0].match_weight > 4
    id_feature = next(f for f in with_id[0].features if f["column"] == "id_number")
    assert id_feature["level"] == "valid ID exact"
