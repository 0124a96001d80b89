"""The Damerau level's SQL (a cheap necessary condition ahead of the costly distance) means
the same as the distance itself: DuckDB's answer equals rapidfuzz's on every pair."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.resolve.models import Level

ALPHABET = "0123456789ABX"


def _edited(value: str, draw: st.DrawFn) -> str:
    """`value` after one random insertion, deletion, substitution or adjacent transposition."""
    op = draw(st.sampled_from(["insert", "delete", "substitute", "transpose"]))
    i = draw(st.integers(min_value=0, max_value=max(len(value) - 1, 0)))
    char = draw(st.sampled_from(ALPHABET))
    if op == "insert":
        return value[:i] + char + value[i:]
    if op == "delete":
        return value[:i] + value[i + 1:]
    if op == "substitute":
        return value[:i] + char + value[i + 1:]
    if len(value) < 2:
        return value
    i = min(i, len(value) - 2)
    return value[:i] + value[i + 1] + value[i] + value[i + 2:]


@st.composite
def pairs(draw: st.DrawFn) -> tuple[str, str]:
    left = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=20))
    right = left
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        right = _edited(right, draw)
    right = right or "0"  # empty values never reach a level: the null level takes them
    if draw(st.booleans()):
        right = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=20))
    return left, right


def _sql_holds(level: Level, batch: list[tuple[str, str]]) -> list[bool]:
    sql = level.creator().get_comparison_level("duckdb").sql_condition
    con = duckdb.connect()
    con.execute("CREATE TABLE p (i INTEGER, uscc_l VARCHAR, uscc_r VARCHAR)")
    con.executemany("INSERT INTO p VALUES (?, ?, ?)",
                    [(i, a, b) for i, (a, b) in enumerate(batch)])
    rows = con.execute(f"SELECT i, coalesce({sql}, false) FROM p ORDER BY i").fetchall()
    return [bool(held) for _, held in rows]


@settings(max_examples=40, deadline=None)
@given(st.lists(pairs(), min_size=1, max_size=60))
def test_damerau_sql_agrees_with_the_distance(batch: list[tuple[str, str]]) -> None:
    for edits in (1, 2):
        level = Level("dlev", "uscc", edits, label="within edits")
        want = [level.holds({"uscc": a}, {"uscc": b}) for a, b in batch]
        assert _sql_holds(level, batch) == want, (edits, batch)


def test_one_edit_at_either_end_of_a_long_code_is_found() -> None:
    code = "91310115MA1FL5LX2P"
    level = Level("dlev", "uscc", 1, label="one edit")
    batch = [(code, "X" + code[1:]), (code, code[:-1] + "Q"), (code, code[1:]),
             (code, code[1] + code[0] + code[2:]), (code, code[:-2] + code[-1] + code[-2]),
             (code, "XX" + code[2:]), (code, "91310115MA1FL5LX")]
    assert _sql_holds(level, batch) == [True, True, True, True, True, False, False]
