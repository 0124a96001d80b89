"""Person name variants against the person model's name comparison and the blocking rules.

Table-driven: each pair of spellings of one person's name, on records with the same birth date
and no identity number (the case where the name decides), must compare at a matching name
level and be offered to Splink by a prediction rule. The generator never varies a person's
name, so these cases are written here: characters and pinyin, homophones, traditional forms,
middle dots, a slip in a Latin name. Different people of one birth date stay apart.
"""

from __future__ import annotations

from typing import Any

import pytest

from linkage.resolve.blocking import predict_rule_objects
from linkage.resolve.models import PERSON, ComparisonSpec
from linkage.standardise.names import person_name

NAME: ComparisonSpec = next(c for c in PERSON if c.name == "name")
MATCHING = {"name exact", "pinyin exact", "name one edit apart"}
assert MATCHING <= {lv.label for lv in NAME.levels}
BORN = "1980-05-17"


def record(name: str, born: str = BORN) -> dict[str, Any]:
    std = person_name(name)
    return {"name_std": std.name_std, "name_pinyin": std.name_pinyin, "birth_date": born,
            "id_number": None, "phone": None, "address_std": None, "other_id": None}


def name_level(a: str, b: str) -> str:
    return NAME.levels[NAME.level_index(record(a), record(b))].label


def key_value(side: dict[str, Any], rule: tuple[Any, ...]) -> tuple[str, ...] | None:
    parts = []
    for key in rule:
        v = side.get(key.column)
        if v is None:
            return None
        if key.part == "prefix":
            v = v[: key.length]
        elif key.part == "suffix":
            v = v[-key.length:]
        parts.append(v)
    return tuple(parts)


def blocked_together(left: dict[str, Any], right: dict[str, Any]) -> bool:
    for rule in predict_rule_objects("person"):
        value = key_value(left, rule)
        if value is not None and value == key_value(right, rule):
            return True
    return False


SAME_PERSON = [
    ("张伟", "ZHANG WEI"),  # characters and customs' pinyin
    ("张伟", "Zhang Wei"),
    ("王晓明", "WANG XIAOMING"),
    ("张伟", "张玮"),  # homophones
    ("王小明", "王晓明"),
    ("張偉", "张伟"),  # traditional
    ("阿卜杜·热合曼", "阿卜杜•热合曼"),  # middle dots
    ("阿卜杜·热合曼", "阿卜杜热合曼"),
    ("timothy modystach", "timothy modystacuh"),  # a slip in a Latin name
    ("李建国", "李建囯"),  # a slip in a character
]


@pytest.mark.parametrize(("a", "b"), SAME_PERSON)
def test_one_persons_spellings_compare_as_one_name(a: str, b: str) -> None:
    assert name_level(a, b) in MATCHING, f"{a} / {b}: {name_level(a, b)}"


@pytest.mark.parametrize(("a", "b"), SAME_PERSON)
def test_one_persons_spellings_are_compared(a: str, b: str) -> None:
    assert blocked_together(record(a), record(b)), f"{a} / {b} never reach Splink"


@pytest.mark.parametrize(("a", "b"), [("张伟", "李娜"), ("ZHANG WEI", "WANG FANG")])
def test_different_people_of_one_birth_date(a: str, b: str) -> None:
    assert name_level(a, b) == "different"
    assert not blocked_together(record(a), record(b))


def test_one_name_of_another_birth_date_is_not_offered_by_the_name_rules() -> None:
    """Characters and pinyin of one name, born on different days, no other shared value."""
    assert not blocked_together(record("张伟"), record("ZHANG WEI", "1981-05-17"))
