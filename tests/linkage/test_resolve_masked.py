"""Resident IDs written masked, as public lists write them (310101********3938)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkage.resolve.cluster import ConstrainedUnionFind, Link
from linkage.resolve.masked import masked_id_links
from linkage.run import link
from linkage.standardise.identifiers import check_ric, mask_shape, ric_check_digit, visible_part
from linkage.standardise.names import standardise_person_names
from linkage.synth import generate
from linkage.synth.identifiers import MASKS, mask_ric

FULL = "310101195311203938"
OTHER = "310101196802143938"  # the same visible part under the 6+4 mask, another person


def _ric(body17: str) -> str:
    return body17 + ric_check_digit(body17)


@pytest.mark.parametrize("written, masked", [
    ("310101********3938", "310101********3938"),
    ("3101011953****3938", "3101011953****3938"),
    ("31010119531120****", "31010119531120****"),
    ("3101**********3938", "3101**********3938"),
    ("310101＊＊＊＊＊＊＊＊3938", "310101********3938"),  # full-width asterisks
    (" 310101 ******** 3938 ", "310101********3938"),
    ("31010119531120393*", "31010119531120393*"),
])
def test_a_masked_id_is_kept_apart_and_holds_no_identifier(written: str, masked: str) -> None:
    got = check_ric(written)
    assert got.masked == masked
    assert got.value is None and got.valid is None and got.scheme is None


@pytest.mark.parametrize("written", [
    "3***************38",  # too little left visible to tell people apart
    "99010119531120****",  # no province has code 99
    "310101*******3938",  # 17 positions
    "310101********393A",
    "**********",
    FULL,
])
def test_other_values_are_not_masked_ids(written: str) -> None:
    assert check_ric(written).masked is None


@given(st.integers(0, 2**32), st.sampled_from([FULL, _ric("44030519900101123")]))
def test_every_generated_mask_reads_back_and_agrees_with_its_id(seed: int, value: str) -> None:
    written = mask_ric(value, random.Random(seed))
    masked = check_ric(written).masked
    assert masked is not None
    shape = mask_shape(masked)
    assert visible_part(value, shape) == visible_part(masked, shape) == masked.replace("*", "")
    assert (shape.index("*"), shape.count(".") - shape.index("*")) in MASKS


def _mentions(rows: list[tuple[str, str, str | None, str | None]]) -> pd.DataFrame:
    """(mention_id, name, id_number, id_masked) of persons, names standardised."""
    names = standardise_person_names([r[1] for r in rows])
    return pd.DataFrame([{
        "mention_id": m, "kind": "person", "name_std": names[n].name_std,
        "name_pinyin": names[n].name_pinyin, "id_number": number,
        "id_valid": number is not None, "id_masked": masked,
    } for m, n, number, masked in rows])


def _links(mentions: pd.DataFrame) -> tuple[list[Link], ConstrainedUnionFind]:
    uf = ConstrainedUnionFind(len(mentions))
    for i, number in enumerate(mentions["id_number"]):
        if isinstance(number, str):  # a missing one is NaN in the frame
            uf.tag(i, "person:id_number", number)
    links = masked_id_links(mentions, uf)
    uf.apply(links, same_ids=True)
    return links, uf


def _pairs(links: list[Link]) -> set[tuple[int, int]]:
    return {(link.left, link.right) for link in links}


def test_a_masked_id_joins_the_one_holder_of_its_visible_characters_and_name() -> None:
    mentions = _mentions([
        ("reg:1", "张伟", FULL, None),                      # 0 the holder
        ("reg:2", "张伟", _ric("31010219531120393"), None),  # 1 another 张伟, another district
        ("reg:3", "李娜", OTHER, None),                     # 2 same visible part, other name
        ("bl:1", "张伟", None, "310101********3938"),        # 3 -> 0
        ("bl:2", "張偉", None, "3101011953****3938"),        # 4 -> 0 (traditional)
        ("bl:3", "ZHANG WEI", None, "31010119531120****"),  # 5 -> 0 (as read)
        ("bl:4", "王芳", None, "310101********3938"),        # 6 no holder of that name
    ])
    links, uf = _links(mentions)
    assert _pairs(links) == {(0, 3), (0, 4), (0, 5)}
    assert uf.find(6) not in {uf.find(0), uf.find(2)}
    features = json.loads(links[0].features)
    assert links[0].method == "masked_id"
    assert features[0]["column"] == "id_masked"
    assert (features[0]["value_l"], features[0]["value_r"]) == (FULL, "310101********3938")
    assert features[1]["value_l"] == features[1]["value_r"] == "张伟"


def test_two_people_fitting_leave_the_masked_mention_apart() -> None:
    mentions = _mentions([
        ("reg:1", "李娜", FULL, None),
        ("reg:2", "李娜", OTHER, None),  # the same visible characters under 6+4
        ("bl:1", "李娜", None, "310101********3938"),
        ("bl:2", "李娜", None, "310101********3938"),
        ("bl:3", "李娜", None, "3101011953****3938"),  # 10+4 tells them apart
    ])
    links, _ = _links(mentions)
    # neither holder, and never each other (they may be the two different people)
    assert _pairs(links) == {(0, 4)}


def test_masked_mentions_no_holder_answers_join_under_one_value_and_name() -> None:
    mentions = _mentions([
        ("bl:1", "刘洋", None, "420222********1234"),
        ("bl:2", "刘洋", None, "420222********1234"),
        ("bl:3", "刘阳", None, "420222********1234"),  # another name as written
        ("bl:4", "刘洋", None, "4202221980****1234"),  # another mask: not the same value
    ])
    links, _ = _links(mentions)
    assert _pairs(links) == {(0, 1)}
    assert json.loads(links[0].features)[0]["level"] == "same masked ID"


def test_nothing_to_do_without_masked_ids() -> None:
    mentions = _mentions([("reg:1", "张伟", FULL, None), ("reg:2", "张伟", FULL, None)])
    assert masked_id_links(mentions, ConstrainedUnionFind(2)) == []
    assert masked_id_links(mentions.drop(columns="id_masked"), ConstrainedUnionFind(2)) == []


def test_a_generated_blacklist_with_masked_ids_reaches_its_people(tmp_path: Path) -> None:
    """End to end (generate, link): every person the credit blacklist names with a masked ID
    is the entity of that person's registry mentions, as the truth says."""
    data = generate("tiny", 3, tmp_path / "data", profile="masked_ids")
    link(data / "sources.yaml", tmp_path / "run", quiet=True)
    mentions = pd.read_parquet(tmp_path / "run" / "mentions.parquet")
    truth = pd.read_csv(data / "truth" / "mentions.csv", dtype=str)
    rows = pd.read_csv(data / "data" / "credit_blacklist.csv", dtype=str)
    masked = set(rows.loc[rows.iloc[:, 3].str.contains("[*＊]", na=False), rows.columns[0]])
    assert len(masked) >= 3
    truth = truth.merge(mentions[["source", "record_id", "role", "entity_id"]],
                        on=["source", "record_id", "role"])
    listed = truth[(truth["source"] == "credit_blacklist") & truth["record_id"].isin(masked)]
    assert len(listed) == len(masked)
    for person, entity in zip(listed["entity"], listed["entity_id"], strict=True):
        others = truth[(truth["entity"] == person) & (truth["source"] != "credit_blacklist")]
        assert len(others) > 0
        assert set(others["entity_id"]) == {entity}, person
    evidence = pd.read_parquet(tmp_path / "run" / "evidence.parquet")
    assert (evidence["method"] == "masked_id").sum() >= len(masked) - 1
