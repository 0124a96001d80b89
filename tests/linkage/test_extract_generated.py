"""Extraction over the generator's committed small data set.

Nothing is lost and every truth mention is made.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from linkage.extract import Extraction, extract

SMALL = Path(__file__).parents[1] / "fixtures" / "small"


@pytest.fixture(scope="module")
def small() -> Extraction:
    if not (SMALL / "sources.yaml").is_file():
        pytest.skip("the generator's small fixture is not there")
    return extract(SMALL / "sources.yaml")


def test_rows_reconcile_per_source(small: Extraction) -> None:
    mapping_sources = set(small.counts)
    assert mapping_sources == set(small.quarantine["source"]) | set(small.mentions["source"])
    for name, c in small.counts.items():
        assert c["rows_in"] == c["rows_mapped"] + c["rows_quarantined"], name
        assert c["rows_mapped"] > 0


def test_every_truth_mention_is_produced_and_no_other(small: Extraction) -> None:
    truth = pd.read_csv(SMALL / "truth" / "mentions.csv", dtype=str, keep_default_na=False)
    expected = set(truth["source"] + ":" + truth["record_id"] + ":" + truth["role"])
    assert set(small.mentions["mention_id"]) == expected


def test_quarantine_rows_carry_row_number_and_reason(small: Extraction) -> None:
    q = small.quarantine
    assert len(q) > 0
    assert (q["row_number"] >= 1).all()
    assert q["reason"].notna().all() and (q["reason"] != "").all()
    assert not q.duplicated(["source", "row_number"]).any()


def test_standardisation_is_filled(small: Extraction) -> None:
    m = small.mentions
    named = m[m["name"].notna()]
    assert named["name_std"].notna().all() and named["name_pinyin"].notna().all()
    ent = m[m["kind"] == "enterprise"]
    assert ent["uscc_valid"].dropna().mean() > 0.9  # the generator mistypes a few
    assert m.loc[m["phone"].notna(), "phone"].str.match(r"^\+\d{6,15}$").all()
    # relations and events point at mentions that exist
    ids = set(m["mention_id"])
    assert set(small.relations["src_mention"]) <= ids
    assert set(small.relations["dst_mention"]) <= ids
    assert set(small.events["subject_mention"]) <= ids
