"""People published anonymised (张某某, 张**): a surname is all that is written, so such a
mention is never compared by name; it reaches its person through the firm it is named at,
or through a masked ID's visible characters, under that surname only."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest

from linkage.resolve.cluster import ConstrainedUnionFind, Link
from linkage.resolve.context import anonymised_links, attachments
from linkage.resolve.masked import masked_id_links
from linkage.run import link
from linkage.standardise.identifiers import ric_check_digit
from linkage.standardise.names import person_name, standardise_person_names
from linkage.synth import generate
from linkage.synth.styles import PUBLISHED, person_variant


@pytest.mark.parametrize("written, surname", [
    ("王某某", "王"), ("王某", "王"), ("张*", "张"), ("张**", "张"), ("李×", "李"),
    ("刘XX", "刘"), ("刘ＸＸ", "刘"), ("陈○○", "陈"), ("王 某某", "王"), ("欧阳某", "欧阳"),
    ("欧阳**", "欧阳"), ("王小*", "王"), ("張某某", "张"), ("某某", None), ("＊＊", None),
    ("ZHANG **", None), ("Zhang W*", None), ("LI ×", None),  # Latin: no surname in characters
])
def test_an_anonymised_name_keeps_its_surname_and_nothing_to_compare(
        written: str, surname: str | None) -> None:
    assert person_name(written) == (None, None, None, surname)


@pytest.mark.parametrize("written, std, surname", [
    ("张伟", "张伟", "张"), ("欧阳娜娜", "欧阳娜娜", "欧阳"), ("欧阳", "欧阳", "欧"),
    ("曾伟", "曾伟", "曾"), ("某伟", "某伟", "某"), ("ZHANG WEI", "zhangwei", None),
    ("张伟（法定代表人）", "张伟", "张"),
    # "and others" after the first party a decision names
    ("张伟等", "张伟", "张"), ("张伟等3人", "张伟", "张"), ("张伟 等二人", "张伟", "张"),
])
def test_a_written_name_keeps_its_name_and_gives_its_surname(
        written: str, std: str, surname: str | None) -> None:
    got = person_name(written)
    assert (got.name_std, got.surname) == (std, surname)


def test_the_generator_anonymises_published_names_as_standardisation_reads_them() -> None:
    rng = random.Random(3)
    for name in ("张伟", "欧阳娜娜", "李建国", "王芳"):
        for _ in range(20):
            written = person_variant(name, "anonymised", rng)
            got = person_name(written)
            assert got.name_std is None, written
            assert got.surname == name[:2] if name.startswith("欧阳") else name[:1]
    assert PUBLISHED == {"administrative_penalties", "credit_blacklist"}


def _frame(rows: list[tuple[str, str, str, str | None, str | None]]) -> pd.DataFrame:
    """(mention_id, kind, name, id_number, id_masked), names standardised as extraction
    does."""
    names = standardise_person_names([r[2] for r in rows if r[1] == "person"])
    out: list[dict[str, object]] = []
    for m, kind, name, number, masked in rows:
        std = names.get(name) if kind == "person" else None
        out.append({
            "mention_id": m, "kind": kind, "name": name,
            "name_std": std.name_std if std else name,
            "name_pinyin": std.name_pinyin if std else None,
            "name_read": std.name_read if std else None,
            "surname": std.surname if std else None,
            "id_number": number, "id_valid": number is not None, "id_masked": masked,
            "phone": None, "other_id": None,
            "context_mentions": [],
        })
    return pd.DataFrame(out)


def _tagged(mentions: pd.DataFrame) -> ConstrainedUnionFind:
    uf = ConstrainedUnionFind(len(mentions))
    for i, number in enumerate(mentions["id_number"]):
        if isinstance(number, str):
            uf.tag(i, "person:id_number", number)
    return uf


def _at_firms(mentions: pd.DataFrame, reps: list[tuple[str, str]]
              ) -> tuple[ConstrainedUnionFind, list[Link]]:
    """The anonymised links of persons named at firms (`reps`: person, firm), applied; the
    firms of one name already one entity."""
    ids = mentions["mention_id"].tolist()
    uf = _tagged(mentions)
    firms = mentions[mentions["kind"] == "enterprise"]
    for _, group in firms.groupby("name_std"):
        for other in group.index[1:]:
            uf.union(int(group.index[0]), int(other), force=True)
    relations = pd.DataFrame([{"type": "LEGAL_REP_OF", "src_mention": p, "dst_mention": f}
                              for p, f in reps])
    attached = attachments(mentions, relations, {m: i for i, m in enumerate(ids)})
    links = anonymised_links(mentions, attached, uf, ids)
    uf.apply(links, same_ids=True)
    return uf, links


FIRMS = [
    ("reg:1:firm", "enterprise", "华信贸易有限公司", None, None),  # 0 firm A
    ("pen:1:firm", "enterprise", "华信贸易有限公司", None, None),  # 1 firm A
    ("reg:2:firm", "enterprise", "永安食品有限公司", None, None),  # 2 firm B
    ("pen:2:firm", "enterprise", "永安食品有限公司", None, None),  # 3 firm B
    ("pen:3:firm", "enterprise", "东方物流有限公司", None, None),  # 4 firm C
    ("pen:4:firm", "enterprise", "东方物流有限公司", None, None),  # 5 firm C
]


def test_an_anonymised_rep_joins_the_one_person_of_its_surname_at_the_firm() -> None:
    mentions = _frame([
        *FIRMS,
        ("reg:1:rep", "person", "王建国", "a", None),     # 6 A's only 王
        ("reg:1:sh", "person", "李娜", "b", None),        # 7 another surname at A
        ("pen:1:rep", "person", "王某某", None, None),    # 8 -> 6
        ("reg:2:rep", "person", "张伟", "c", None),       # 9 B: two 张
        ("reg:2:sh", "person", "张峰", "d", None),        # 10
        ("pen:2:rep", "person", "张**", None, None),      # 11 ambiguous: apart
        ("pen:3:rep", "person", "刘某", None, None),      # 12 C: no written 刘
        ("pen:4:rep", "person", "刘XX", None, None),      # 13 -> 12
        ("pen:5:rep", "person", "李某", None, None),      # 14 named at no firm: apart
    ])
    uf, links = _at_firms(mentions, [
        ("reg:1:rep", "reg:1:firm"), ("reg:1:sh", "reg:1:firm"), ("pen:1:rep", "pen:1:firm"),
        ("reg:2:rep", "reg:2:firm"), ("reg:2:sh", "reg:2:firm"), ("pen:2:rep", "pen:2:firm"),
        ("pen:3:rep", "pen:3:firm"), ("pen:4:rep", "pen:4:firm"),
    ])
    assert {(lk.left, lk.right) for lk in links} == {(6, 8), (12, 13)}
    assert uf.find(11) not in {uf.find(9), uf.find(10)}
    assert uf.find(14) == 14 and uf.find(7) != uf.find(8)
    features = json.loads(next(lk for lk in links if lk.right == 8).features)
    assert features[0]["column"] == "surname"
    assert (features[0]["value_l"], features[0]["value_r"]) == ("王建国", "王某某")
    assert features[1]["column"] == "enterprise"


def test_one_person_written_twice_at_the_firm_is_still_one_candidate() -> None:
    """王建国 with an ID and 王建国 name-only (one person read alike) are one candidate; 王芳
    beside them makes two."""
    mentions = _frame([
        *FIRMS[:2],
        ("reg:1:rep", "person", "王建国", "a", None),  # 2
        ("cd:1:decl", "person", "王建国", None, None),  # 3
        ("pen:1:rep", "person", "王某某", None, None),  # 4 -> 2
    ])
    uf, links = _at_firms(mentions, [("reg:1:rep", "reg:1:firm"), ("cd:1:decl", "reg:1:firm"),
                                     ("pen:1:rep", "pen:1:firm")])
    assert uf.find(4) == uf.find(2)
    mentions = _frame([
        *FIRMS[:2],
        ("reg:1:rep", "person", "王建国", "a", None),
        ("reg:1:sh", "person", "王芳", None, None),
        ("pen:1:rep", "person", "王某某", None, None),
    ])
    uf, links = _at_firms(mentions, [("reg:1:rep", "reg:1:firm"), ("reg:1:sh", "reg:1:firm"),
                                     ("pen:1:rep", "pen:1:firm")])
    assert links == []


FULL = "310101195311203938"


def _ric(body17: str) -> str:
    return body17 + ric_check_digit(body17)


def test_an_anonymised_masked_mention_joins_the_holder_of_its_surname_and_characters() -> None:
    other = _ric("31010119680214393")  # 310101 ... 3938 under 6+4 too? check digit differs
    mentions = _frame([
        ("reg:1", "person", "王建国", FULL, None),                 # 0 the holder
        ("reg:2", "person", "李娜", other, None),                  # 1 another surname
        ("bl:1", "person", "王某某", None, "3101011953****3938"),  # 2 -> 0
        ("bl:2", "person", "李**", None, "3101011953****3938"),    # 3 no 李 fits: apart
        ("bl:3", "person", "赵某", None, "440305********1234"),    # 4 no holder
        ("bl:4", "person", "赵**", None, "440305********1234"),    # 5 -> 4 (value, surname)
        ("bl:5", "person", "钱某", None, "440305********1234"),    # 6 another surname: apart
    ])
    uf = _tagged(mentions)
    links = masked_id_links(mentions, uf)
    uf.apply(links, same_ids=True)
    assert {(lk.left, lk.right) for lk in links} == {(0, 2), (4, 5)}
    features = json.loads(links[0].features)
    assert [f["column"] for f in features] == ["id_masked", "surname"]
    assert uf.find(3) == 3 and uf.find(6) == 6


def test_two_holders_of_the_surname_fitting_leave_it_apart() -> None:
    mentions = _frame([
        ("reg:1", "person", "王建国", FULL, None),
        ("reg:2", "person", "王芳", "310101196802143938", None),  # same 6+4 visible part
        ("bl:1", "person", "王某某", None, "310101********3938"),
    ])
    uf = _tagged(mentions)
    assert masked_id_links(mentions, uf) == []


def test_a_generated_anonymised_run_links_them_without_a_false_merge(tmp_path: Path) -> None:
    """End to end (generate `anonymised`, link): no entity holding an anonymised mention
    holds another person's mention, and most of them reach their person's other mentions."""
    data = generate("tiny", 5, tmp_path / "data", profile="anonymised")
    link(data / "sources.yaml", tmp_path / "run", quiet=True)
    mentions = pd.read_parquet(tmp_path / "run" / "mentions.parquet")
    truth = pd.read_csv(data / "truth" / "mentions.csv", dtype=str).merge(
        mentions[["source", "record_id", "role", "entity_id", "name"]],
        on=["source", "record_id", "role"])
    persons = truth[truth["entity"].str.startswith("per-")]
    anonymous = persons[persons["name"].map(lambda n: person_name(n).surname is not None
                                            and person_name(n).name_std is None)]
    assert len(anonymous) >= 5
    reached = 0
    for person, entity in zip(anonymous["entity"], anonymous["entity_id"], strict=True):
        assert set(persons.loc[persons["entity_id"] == entity, "entity"]) == {person}
        reached += (persons.loc[persons["entity"] == person, "entity_id"] == entity).all()
    assert reached >= 0.8 * len(anonymous)
