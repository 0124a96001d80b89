"""Incremental linking (`predict_between`) gives the full run's entities and keeps IDs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from linkage.incremental import link_new_extraction
from linkage.run import link_extraction
from tests.support.linkage_fixture import FakeExtraction, build


def _part(world: FakeExtraction, keep: Callable[[pd.DataFrame], pd.Series]) -> FakeExtraction:
    mentions = world.mentions[keep(world.mentions)]
    sources = set(mentions["source"])
    ids = set(mentions["mention_id"])
    return FakeExtraction(
        mentions,
        world.relations[world.relations["src_mention"].isin(ids)],
        world.events[world.events["subject_mention"].isin(ids)],
        world.quarantine[world.quarantine["source"].isin(sources)],
        {s: c for s, c in world.counts.items() if s in sources},
    )


def _entity_of(run: Path) -> pd.Series:
    return pd.read_parquet(run / "mentions.parquet").set_index("mention_id")["entity_id"]


def test_new_penalties_join_existing_entities_like_a_full_rerun(tmp_path: Path) -> None:
    world = build()
    old = _part(world, lambda m: m["source"] != "penalties")
    new = _part(world, lambda m: m["source"] == "penalties")
    link_extraction(old, tmp_path / "old", quiet=True)
    result = link_new_extraction(tmp_path / "old", new, tmp_path / "new", quiet=True)
    link_extraction(world, tmp_path / "full", quiet=True)

    before, after, full = (_entity_of(tmp_path / n) for n in ("old", "new", "full"))
    assert len(after) == len(full) == len(world.mentions)
    # same partition of mentions as the full run
    assert (after.groupby(full).nunique() == 1).all()
    assert (full.groupby(after).nunique() == 1).all()
    # every existing mention keeps its entity ID; new penalty parties join their firms
    assert (after[before.index] == before).all()
    assert after["penalties:P0007:party"] == before["registry:R0007:enterprise"]
    assert after["penalties:P0007:legal_rep"] == before["registry:R0007:legal_rep"]
    assert set(result.report["resolution"]["changelog"]) == {"kept"}
    # no pair of two existing records was scored again
    assert result.report["pairs_compared"]["enterprise"] <= 20 * 80
