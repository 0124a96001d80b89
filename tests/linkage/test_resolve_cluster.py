"""Clustering, judgements and stable IDs: the parts of resolution that need no Splink."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkage.resolve.cluster import ConstrainedUnionFind, Link
from linkage.resolve.ids import assign_ids
from linkage.resolve.judgements import JudgementError, read_judgements
from runfolder.ids import entity_id as mint


def _link(a: int, b: int) -> Link:
    return Link(a, b, "splink", 10.0, 0.999, "[]")


def test_chain_of_links_cannot_fuse_two_coded_firms() -> None:
    # 0 and 4 carry different valid USCCs; 1..3 are code-less mentions chained between them
    uf = ConstrainedUnionFind(5)
    uf.tag(0, "enterprise:uscc", "91310000AAAAAAAAAA")
    uf.tag(4, "enterprise:uscc", "91310000BBBBBBBBBB")
    accepted = uf.apply([_link(0, 1), _link(1, 2), _link(2, 3), _link(3, 4)])
    assert len(accepted) == 3
    assert uf.find(0) != uf.find(4)
    assert uf.find(0) == uf.find(3)


def test_forced_union_overrides_tags_and_accepted_links_form_a_spanning_tree() -> None:
    uf = ConstrainedUnionFind(4)
    uf.tag(0, "person:id_number", "A")
    uf.tag(1, "person:id_number", "B")
    assert not uf.union(0, 1)
    assert uf.union(0, 1, force=True)
    accepted = uf.apply([_link(0, 2), _link(1, 2), _link(2, 3), _link(0, 3)])
    assert [(lk.left, lk.right) for lk in accepted] == [(0, 2), (2, 3)]
    assert len(set(uf.labels())) == 1


@given(st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19)), max_size=60))
def test_tags_never_meet_whatever_the_link_order(edges: list[tuple[int, int]]) -> None:
    uf = ConstrainedUnionFind(20)
    for i in range(0, 20, 5):
        uf.tag(i, "k", str(i))
    uf.apply([_link(a, b) for a, b in edges])
    roots = [uf.find(i) for i in range(0, 20, 5)]
    assert len(set(roots)) == 4


def test_read_judgements_keeps_latest_per_pair(tmp_path: Path) -> None:
    path = tmp_path / "j.csv"
    path.write_text(
        "mention_id_l,mention_id_r,judgement,who,when\n"
        "a:1:x,b:2:y,same,li,2026-01-01T10:00:00\n"
        "b:2:y,a:1:x,different,wang,2026-02-01T10:00:00\n"
        "c:3:z,d:4:w,same,li,2026-01-05T00:00:00\n",
        encoding="utf-8",
    )
    judged = read_judgements(path)
    verdicts = {j.pair: (j.judgement, j.who) for j in judged}
    assert verdicts[("a:1:x", "b:2:y")] == ("different", "wang")
    assert verdicts[("c:3:z", "d:4:w")] == ("same", "li")


def test_read_judgements_rejects_bad_verdict(tmp_path: Path) -> None:
    path = tmp_path / "j.json"
    path.write_text(json.dumps([{"mention_id_l": "a", "mention_id_r": "b", "judgement": "maybe",
                                 "who": "li", "when": "2026-01-01"}]), encoding="utf-8")
    with pytest.raises(JudgementError, match="entry 1"):
        read_judgements(path)


def _assign(
    labels: list[int], previous: pd.DataFrame | None = None
) -> tuple[list[str], pd.DataFrame]:
    ids = pd.Series([f"s:{i}:r" for i in range(len(labels))])
    kinds = pd.Series(["enterprise"] * len(labels))
    result = assign_ids(ids, kinds, np.asarray(labels), previous)
    return list(result.entity_of), result.changelog


def test_ids_are_minted_from_smallest_mention_and_deterministic() -> None:
    first, log = _assign([0, 0, 2, 2, 4])
    again, _ = _assign([0, 0, 2, 2, 4])
    assert first == again
    assert first[0] == mint("enterprise", "s:0:r")
    assert first[0].startswith("E") and len(first[0]) == 13
    assert set(log["change"]) == {"new"}


def test_ids_carry_forward_through_merge_and_split() -> None:
    before, _ = _assign([0, 0, 0, 3, 3, 5])
    previous = pd.DataFrame({"mention_id": [f"s:{i}:r" for i in range(6)], "entity_id": before})
    # rerun: entity {0,1,2} splits into {0,1} and {2}; {3,4} merges with {5}; mention 6 is new
    after, log = _assign([0, 0, 2, 3, 3, 3, 6], previous)
    assert after[0] == before[0]  # larger part of the split keeps the ID
    assert after[2] != before[0]
    assert after[3] == before[3]  # merge keeps the larger predecessor's ID
    by_id = {row.entity_id: (row.change, row.previous_ids) for row in log.itertuples()}
    assert by_id[after[0]][0] == "split"
    assert by_id[after[2]][0] == "split"
    assert by_id[after[3]] == ("merged", sorted([before[3], before[5]]))
    assert by_id[after[6]][0] == "new"
    assert len(set(after)) == 4


def test_removed_entities_are_logged() -> None:
    previous = pd.DataFrame({"mention_id": ["gone:1:r"], "entity_id": ["E000000000001"]})
    _, log = _assign([0], previous)
    removed = log[log["change"] == "removed"]
    assert list(removed["previous_ids"].iloc[0]) == ["E000000000001"]
