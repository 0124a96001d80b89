"""Context resolution of persons without a valid ID: never by name alone."""

from __future__ import annotations

import json

import pandas as pd

from linkage.resolve.cluster import ConstrainedUnionFind, Link
from linkage.resolve.context import attachments, context_links, declarant_links


def _mentions(rows: list[tuple[str, str, str, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"mention_id": m, "kind": k, "name_std": n, "id_valid": v, "context_mentions": []}
         for m, k, n, v in rows]
    )


def _relations(pairs: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"type": t, "src_mention": s, "dst_mention": d} for t, s, d in pairs])


def _holding(mentions: pd.DataFrame, ids_held: dict[int, str]
             ) -> tuple[list[str], ConstrainedUnionFind]:
    """The mention IDs and a union-find whose mentions `ids_held` hold those ID numbers."""
    ids = mentions["mention_id"].tolist()
    uf = ConstrainedUnionFind(len(ids))
    for i, value in ids_held.items():
        uf.tag(i, "person:id_number", value)
    return ids, uf


def _at_firm(mentions: pd.DataFrame, firm: str, people: list[str],
             ids_held: dict[int, str]) -> tuple[ConstrainedUnionFind, list[Link]]:
    """The context links of `people`, each the legal representative of `firm`, applied."""
    relations = _relations([("LEGAL_REP_OF", m, firm) for m in people])
    ids, uf = _holding(mentions, ids_held)
    links = context_links(mentions, attachments(mentions, relations,
                                                {m: i for i, m in enumerate(ids)}), uf, ids)
    uf.apply(links)
    return uf, links


def _declaring(mentions: pd.DataFrame, n: int, ids_held: dict[int, str]) -> list[Link]:
    """The declarant links of declarants cd:1..n, all declaring for cd:1:consignee."""
    relations = _relations([("DECLARANT_FOR", f"cd:{i}:declarant", "cd:1:consignee")
                            for i in range(1, n + 1)])
    ids, uf = _holding(mentions, ids_held)
    return declarant_links(mentions, relations, uf, ids, {m: i for i, m in enumerate(ids)})


MENTIONS = _mentions([
    ("reg:1:firm", "enterprise", "华信贸易有限公司", False),   # 0
    ("reg:1:rep", "person", "王伟", True),                    # 1 王伟 with ID at firm A
    ("pen:1:firm", "enterprise", "华信贸易有限公司", False),   # 2 (same firm A, resolved)
    ("pen:1:rep", "person", "王伟", False),                   # 3 name-only at firm A
    ("reg:2:firm", "enterprise", "永安食品有限公司", False),   # 4 firm B
    ("pen:2:rep", "person", "王伟", False),                   # 5 name-only at firm B: no anchor
    ("reg:3:firm", "enterprise", "东方物流有限公司", False),   # 6 firm C
    ("reg:3:rep", "person", "李娜", True),                    # 7 李娜 (ID x) at C
    ("reg:3:sh", "person", "李娜", True),                     # 8 another 李娜 (ID y) at C
    ("pen:3:rep", "person", "李娜", False),                   # 9 name-only at C: ambiguous
])
RELATIONS = _relations([
    ("LEGAL_REP_OF", "reg:1:rep", "reg:1:firm"),
    ("LEGAL_REP_OF", "pen:1:rep", "pen:1:firm"),
    ("LEGAL_REP_OF", "pen:2:rep", "reg:2:firm"),
    ("LEGAL_REP_OF", "reg:3:rep", "reg:3:firm"),
    ("SHAREHOLDER_OF", "reg:3:sh", "reg:3:firm"),
    ("LEGAL_REP_OF", "pen:3:rep", "reg:3:firm"),
])


def test_name_only_person_joins_the_same_name_at_the_same_resolved_firm_only() -> None:
    ids = MENTIONS["mention_id"].tolist()
    index_of = {m: i for i, m in enumerate(ids)}
    uf = ConstrainedUnionFind(len(ids))
    uf.tag(7, "person:id_number", "x")
    uf.tag(8, "person:id_number", "y")
    uf.union(0, 2)  # the two firm mentions are one resolved enterprise
    links = context_links(MENTIONS, attachments(MENTIONS, RELATIONS, index_of), uf, ids)
    joined = {frozenset((lk.left, lk.right)) for lk in uf.apply(links)}
    assert joined == {frozenset((1, 3))}
    assert uf.find(5) not in {uf.find(1), uf.find(3)}  # namesake at another firm stays apart
    assert uf.find(9) not in {uf.find(7), uf.find(8)}  # two ID holders: ambiguous


def test_declarant_scope_needs_a_unique_id_holding_declarant() -> None:
    mentions = _mentions([
        ("cd:1:declarant", "person", "赵磊", True),
        ("cd:2:declarant", "person", "赵磊", False),
        ("cd:3:declarant", "person", "陈静", True),
        ("cd:4:declarant", "person", "陈静", True),
        ("cd:5:declarant", "person", "陈静", False),
        ("cd:1:consignee", "enterprise", "甲公司", False),
    ])
    links = _declaring(mentions, 5, {2: "a", 3: "b"})
    assert [(lk.left, lk.right, lk.method) for lk in links] == [(0, 1, "context")]


def _read(rows: list[tuple[str, str, str, bool]]) -> pd.DataFrame:
    """Mentions with their names standardised as extraction does (name_std, name_pinyin,
    name_read)."""
    from linkage.standardise.names import person_name

    frame = _mentions(rows)
    frame["name_pinyin"] = [person_name(n).name_pinyin if k == "person" else None
                            for k, n in zip(frame["kind"], frame["name_std"], strict=True)]
    frame["name_read"] = [person_name(n).name_read if k == "person" else None
                          for k, n in zip(frame["kind"], frame["name_std"], strict=True)]
    frame["name_std"] = [person_name(n).name_std if k == "person" else n
                         for k, n in zip(frame["kind"], frame["name_std"], strict=True)]
    return frame


def test_one_name_written_otherwise_at_the_same_firm_joins_its_id_holder() -> None:
    """Customs' pinyin, traditional characters and a homophone read as the registry's name;
    the link's evidence keeps both names as written."""
    mentions = _read([
        ("reg:1:firm", "enterprise", "华信贸易有限公司", False),  # 0
        ("reg:1:rep", "person", "张伟", True),                   # 1 the ID holder
        ("cd:1:declarant", "person", "ZHANG WEI", False),        # 2 customs' pinyin
        ("pen:1:rep", "person", "張偉", False),                  # 3 traditional
        ("bl:1:subject", "person", "张卫", False),               # 4 a homophone
        ("pen:2:rep", "person", "张峰", False),                  # 5 another name: apart
    ])
    uf, links = _at_firm(mentions, "reg:1:firm", ["reg:1:rep", "cd:1:declarant", "pen:1:rep",
                                                  "bl:1:subject", "pen:2:rep"], {1: "x"})
    assert {uf.find(i) for i in (1, 2, 3, 4)} == {uf.find(1)}
    assert uf.find(5) != uf.find(1)
    by_person = {lk.right: json.loads(lk.features)[0] for lk in links}
    assert by_person[2]["column"] == "name_pinyin"
    assert (by_person[2]["value_l"], by_person[2]["value_r"]) == ("张伟", "zhangwei")
    assert by_person[3]["column"] == "name_std"  # 張偉 is 张伟 once simplified


def test_two_id_holders_read_alike_at_one_firm_leave_the_pinyin_apart() -> None:
    """张伟 and 张卫 hold different IDs at one firm: ZHANG WEI could be either, but a
    name-only 张伟 is written as one of them (the exact name is asked first)."""
    mentions = _read([
        ("reg:1:firm", "enterprise", "华信贸易有限公司", False),
        ("reg:1:rep", "person", "张伟", True),
        ("reg:1:sh", "person", "张卫", True),
        ("cd:1:declarant", "person", "ZHANG WEI", False),
        ("pen:1:rep", "person", "张伟", False),
    ])
    uf, _ = _at_firm(mentions, "reg:1:firm", ["reg:1:rep", "reg:1:sh", "cd:1:declarant",
                                              "pen:1:rep"], {1: "x", 2: "y"})
    assert uf.find(3) not in {uf.find(1), uf.find(2)}
    assert uf.find(4) == uf.find(1)


def test_declarant_exact_name_of_two_holders_is_not_read_as_a_third() -> None:
    """Two declarants hold IDs as 李娜 (ambiguous); 李那, read alike, holds one too: a
    name-only 李娜 stays apart instead of joining 李那."""
    mentions = _read([
        ("cd:1:declarant", "person", "李娜", True),
        ("cd:2:declarant", "person", "李娜", True),
        ("cd:3:declarant", "person", "李那", True),
        ("cd:4:declarant", "person", "李娜", False),
        ("cd:1:consignee", "enterprise", "甲公司", False),
    ])
    assert _declaring(mentions, 4, {0: "a", 1: "b", 2: "c"}) == []


def test_declarant_written_in_pinyin_joins_the_one_declarant_holding_an_id() -> None:
    mentions = _read([
        ("cd:1:declarant", "person", "赵磊", True),
        ("cd:2:declarant", "person", "ZHAO LEI", False),
        ("cd:1:consignee", "enterprise", "甲公司", False),
    ])
    links = _declaring(mentions, 2, {})
    assert [(lk.left, lk.right) for lk in links] == [(0, 1)]
    assert json.loads(links[0].features)[0]["value_r"] == "zhaolei"


def test_a_name_written_given_name_first_joins_its_id_holder_at_the_firm() -> None:
    """WEI ZHANG (given name first, in capitals: nothing in the writing says which word is
    the surname) and Wei Zhang read as 张伟 in either order at 张伟's firm; 曾伟 written
    ZENG WEI (曾 read as a surname is zeng) joins 曾伟; 魏章, another name, stays apart."""
    mentions = _read([
        ("reg:1:firm", "enterprise", "华信贸易有限公司", False),  # 0
        ("reg:1:rep", "person", "张伟", True),                   # 1 the ID holder
        ("cd:1:declarant", "person", "WEI ZHANG", False),        # 2
        ("cd:2:declarant", "person", "Wei Zhang", False),        # 3
        ("reg:1:sh", "person", "曾伟", True),                    # 4 another ID holder
        ("cd:3:declarant", "person", "ZENG WEI", False),         # 5
        ("pen:1:rep", "person", "张峰", False),                  # 6 another name: apart
    ])
    uf, links = _at_firm(mentions, "reg:1:firm", ["reg:1:rep", "cd:1:declarant",
                                                  "cd:2:declarant", "reg:1:sh",
                                                  "cd:3:declarant", "pen:1:rep"],
                         {1: "x", 4: "y"})
    assert {uf.find(i) for i in (1, 2, 3)} == {uf.find(1)}
    assert uf.find(5) == uf.find(4) != uf.find(1)
    assert uf.find(6) not in {uf.find(1), uf.find(4)}
    by_person = {lk.right: json.loads(lk.features)[0] for lk in links}
    assert (by_person[2]["value_l"], by_person[2]["value_r"]) == ("张伟", "weizhang")
