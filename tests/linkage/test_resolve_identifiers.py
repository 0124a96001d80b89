"""Identifiers as evidence in three states during resolution: a malformed identifier still
counts, a different one keeps namesakes apart, and models cannot collapse silently."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from linkage.resolve.cluster import ConstrainedUnionFind
from linkage.resolve.context import attachments, context_links, declarant_links
from linkage.resolve.health import model_health
from linkage.resolve.pipeline import (
    NAMES_APART,
    _exact_links,
    _malformed_id_links,
    _tag_identifiers,
    names_apart_count,
)
from linkage.resolve.scoring import prior_from_rules

V = "11010119800307001X"  # the shapes only matter here, not the check characters
V_TYPO = "11010119800307001Y"[:-1] + "3"  # one character apart from V
W = "32010219750101002X"  # another person entirely


def _persons(rows: list[dict[str, Any]]) -> pd.DataFrame:
    base: dict[str, Any] = {"kind": "person", "id_number": None, "id_valid": False,
                            "id_scheme": None, "other_id": None, "phone": None,
                            "context_mentions": []}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame.loc[frame["id_number"].notna(), "id_scheme"] = "ric"
    return frame


def test_a_typo_of_the_same_number_is_compatible_a_different_number_is_not() -> None:
    uf = ConstrainedUnionFind(4)
    uf.note_id(0, "id:ric", V)
    uf.note_id(1, "id:ric", V_TYPO)
    uf.note_id(2, "id:ric", W)
    assert uf.compatible(0, 1) and not uf.compatible(0, 2)
    assert uf.compatible(0, 3)  # no identifier: nothing against
    uf.note_id(3, "id:passport", "E12345678")
    assert uf.compatible(2, 3)  # another scheme is not compared


def test_same_malformed_id_links_only_under_the_same_name() -> None:
    m = _persons([
        {"mention_id": "a:1:p", "name_std": "王伟", "id_number": V},
        {"mention_id": "b:1:p", "name_std": "王伟", "id_number": V},
        {"mention_id": "c:1:p", "name_std": "李娜", "id_number": V},
        {"mention_id": "d:1:p", "name_std": "王伟", "id_number": W, "id_valid": True},
        {"mention_id": "e:1:p", "name_std": "王伟", "id_number": W, "id_valid": True},
    ])
    assert [(lk.left, lk.right) for lk in _malformed_id_links(m)] == [(0, 1)]


def test_same_passport_links_a_name_in_either_order() -> None:
    """A passport (no resident ID to check) under JOHN SMITH and SMITH JOHN: one name as read
    (`name_read`, either order), one person; another name under it stays apart."""
    m = _persons([
        {"mention_id": "a:1:p", "name_std": "johnsmith", "name_read": "john|smith",
         "id_number": "E12345678"},
        {"mention_id": "b:1:p", "name_std": "smithjohn", "name_read": "john|smith",
         "id_number": "E12345678"},
        {"mention_id": "c:1:p", "name_std": "marybrown", "name_read": "brown|mary",
         "id_number": "E12345678"},
    ])
    m["id_scheme"] = "passport"
    links = _malformed_id_links(m)
    assert [(lk.left, lk.right) for lk in links] == [(0, 1)]
    assert "name as read" in links[0].features and "smithjohn" in links[0].features


def test_a_valid_id_under_another_name_joins_and_says_so() -> None:
    """The same valid ID under names that share nothing (a clerk's slip: 李秀英 given 张建国's
    ID) still joins, and the evidence says to check the record; a name written otherwise
    (pinyin, a homophone, a slip in the given name) is no other name."""
    rows = [("张建国", "zhangjianguo", "jianguo|zhang", "张"), ("李秀英", "lixiuying",
            "li|xiuying", "李"), ("Jianguo Zhang", "zhangjianguo", "jianguo|zhang", None),
            ("张建华", "zhangjianhua", "jianhua|zhang", "张"),
            ("zhangjianmin", "zhangjianmin", "jianmin|zhang", None)]  # the surname as read
    m = _persons([{"mention_id": f"s:{i}:p", "name_std": std, "name_pinyin": py,
                   "name_read": read, "surname": surname, "id_number": V, "id_valid": True}
                  for i, (std, py, read, surname) in enumerate(rows)])
    links = _exact_links(m, "person")
    assert [(lk.left, lk.right) for lk in links] == [(0, 1), (0, 2), (0, 3), (0, 4)]
    flagged = [NAMES_APART in lk.features for lk in links]
    assert flagged == [True, False, False, False]
    assert names_apart_count(links) == {"offered": 1, "accepted": 1}


def _firm_case(ids: list[str | None]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mentions 0..n-1: persons named 王伟 at one firm (mention n), with the given IDs."""
    rows = [{"mention_id": f"s:{i}:p", "name_std": "王伟", "id_number": v}
            for i, v in enumerate(ids)]
    m = _persons(rows)
    firm = pd.DataFrame([{"mention_id": "reg:1:firm", "kind": "enterprise",
                          "name_std": "华信贸易有限公司", "id_valid": False,
                          "context_mentions": []}])
    m = pd.concat([m, firm], ignore_index=True)
    rel = pd.DataFrame([{"type": "LEGAL_REP_OF", "src_mention": f"s:{i}:p",
                         "dst_mention": "reg:1:firm"} for i in range(len(ids))])
    return m, rel


def _context(m: pd.DataFrame, rel: pd.DataFrame) -> ConstrainedUnionFind:
    ids = m["mention_id"].tolist()
    index_of = {x: i for i, x in enumerate(ids)}
    uf = ConstrainedUnionFind(len(ids))
    _tag_identifiers(uf, m)
    links = context_links(m, attachments(m, rel, index_of), uf, ids)
    uf.apply(links, same_ids=True)
    return uf


def test_same_name_at_the_same_firm_never_joins_different_malformed_ids() -> None:
    uf = _context(*_firm_case([V, W, None]))
    assert uf.find(0) != uf.find(1)
    assert uf.find(2) not in {uf.find(0), uf.find(1)}  # two candidates fit: ambiguous


def test_same_name_at_the_same_firm_joins_a_typo_and_the_id_less_mention() -> None:
    uf = _context(*_firm_case([V, V_TYPO, None]))
    assert uf.find(0) == uf.find(1) == uf.find(2)


@dataclass
class _Scored:
    model: dict[str, Any] = field(default_factory=dict)
    pairs_compared: int = 0


def _declarants(extra: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    m = _persons(extra)
    firm = pd.DataFrame([{"mention_id": "cd:0:consignee", "kind": "enterprise",
                          "name_std": "甲公司", "id_valid": False, "context_mentions": []}])
    m = pd.concat([m, firm], ignore_index=True)
    rel = pd.DataFrame([{"type": "DECLARANT_FOR", "src_mention": r["mention_id"],
                         "dst_mention": "cd:0:consignee"} for r in extra])
    return m, rel


def _declarant_links(m: pd.DataFrame, rel: pd.DataFrame) -> list[tuple[int, int]]:
    ids = m["mention_id"].tolist()
    uf = ConstrainedUnionFind(len(ids))
    _tag_identifiers(uf, m)
    links = declarant_links(m, rel, uf, ids, {x: i for i, x in enumerate(ids)})
    return [(lk.left, lk.right) for lk in uf.apply(links, same_ids=True)]


def test_id_less_declarant_joins_the_only_person_of_its_name_and_phone() -> None:
    m, rel = _declarants([
        {"mention_id": "cd:1:d", "name_std": "赵磊", "id_number": V, "phone": "+8613800000001"},
        {"mention_id": "cd:2:d", "name_std": "赵磊", "id_number": W, "phone": "+8613800000002"},
        {"mention_id": "cd:3:d", "name_std": "赵磊", "phone": "+8613800000002"},
        {"mention_id": "cd:4:d", "name_std": "赵磊"},  # two holders of the name: ambiguous
    ])
    assert _declarant_links(m, rel) == [(1, 2)]


def test_id_less_declarant_stays_apart_when_several_fit_its_phone() -> None:
    m, rel = _declarants([
        {"mention_id": "cd:1:d", "name_std": "赵磊", "id_number": V, "phone": "+8613800000001"},
        {"mention_id": "cd:2:d", "name_std": "赵磊", "id_number": W, "phone": "+8613800000001"},
        {"mention_id": "cd:3:d", "name_std": "赵磊", "phone": "+8613800000001"},
    ])
    assert _declarant_links(m, rel) == []


def test_malformed_id_holder_counts_as_a_candidate_declarant() -> None:
    # before: only valid-ID holders counted, so the ID-less mention joined the valid holder
    # although a namesake with a malformed ID declares too
    m, rel = _declarants([
        {"mention_id": "cd:1:d", "name_std": "陈静", "id_number": V, "id_valid": True},
        {"mention_id": "cd:2:d", "name_std": "陈静", "id_number": W},
        {"mention_id": "cd:3:d", "name_std": "陈静"},
    ])
    assert _declarant_links(m, rel) == []


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = ["pc", "name_std", "id_number", "id_scheme", "birth_date", "phone", "other_id"]
    frame = pd.DataFrame(rows).reindex(columns=cols)
    return frame.astype(object).where(frame.notna(), None)


def test_prior_counts_pairs_of_any_deterministic_rule_once_and_is_bounded() -> None:
    rows = []
    for i in range(200):  # 100 people, each twice, no valid ID at all
        person = i // 2
        rows.append({"pc": i, "name_std": f"n{person}", "birth_date": f"1980-01-{person % 28:02d}",
                     "id_number": f"11010119800101{person:04d}", "id_scheme": "ric"})
    prior, note = prior_from_rules(_table(rows), "person")
    total = 200 * 199 / 2
    # 100 sure pairs (the same ID and name + birth date agree on the same pairs: counted once)
    assert abs(prior - 100 / 0.8 / total) < 1e-12, note
    lonely = _table([{"pc": i, "name_std": f"n{i}"} for i in range(200)])
    floor, note = prior_from_rules(lonely, "person")
    assert floor == 0.05 * 2 / 199 and "bounded" in note


def test_model_health_warns_when_a_model_accepts_nothing_or_everything() -> None:
    quiet = model_health("person", 5000, _Scored({"probability_two_random_records_match": 1e-7},
                                                 3000), 0, 0)
    assert quiet["warning"] and "collapsed" in quiet["warning"]
    assert quiet["links_offered"] == 0 and quiet["prior"] == 1e-7
    greedy = model_health("person", 500, _Scored({}, 2000), 2000, 480)
    assert greedy["warning"] and "everything" in greedy["warning"]
    fine = model_health("person", 5000, _Scored({}, 20000), 3000, 2500)
    assert fine["warning"] is None


def test_a_declared_identifier_pre_clusters_and_notes_for_context() -> None:
    from linkage.resolve.pipeline import _exact_links

    m = _persons([
        {"mention_id": "f:1:p", "name_std": "amelia smith", "other_id": "soc_sec_id:1234567"},
        {"mention_id": "f:2:p", "name_std": "amelia smyth", "other_id": "soc_sec_id:1234567"},
        {"mention_id": "f:3:p", "name_std": "amelia smith", "other_id": "soc_sec_id:7654321"},
    ])
    links = _exact_links(m, "person")
    assert [(lk.left, lk.right) for lk in links] == [(0, 1)]
    uf = ConstrainedUnionFind(3)
    _tag_identifiers(uf, m)
    assert uf.compatible(0, 1) and not uf.compatible(0, 2)
