"""USCC, resident ID, customs code and registration number checks."""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from linkage.standardise.identifiers import (
    check_customs_code,
    check_reg_no,
    check_ric,
    check_uscc,
    ric_is_valid,
    upgrade_ric15,
    uscc_is_valid,
)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
REGIONS = ["110101", "110102", "110105", "110106", "110107"]  # divisions since before 1950


@st.composite
def valid_uscc(draw: st.DrawFn) -> str:
    body = draw(st.text("0123456789", min_size=8, max_size=8))
    body += draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    return body + uscc.calc_check_digit(body)


@st.composite
def valid_ric(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(REGIONS))
    birth = draw(st.dates(dt.date(1950, 1, 1), dt.date(2004, 12, 31)))
    body = f"{region}{birth:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return body + ric.calc_check_digit(body + "0")


def _noisy(value: str, data: st.DataObject) -> str:
    """The same identifier with separators, lower case and full-width characters."""
    out = []
    for c in value:
        if data.draw(st.booleans()):
            c = c.lower()
        if data.draw(st.integers(0, 9)) == 0:
            c = chr(ord(c) + 0xFEE0)  # full width
        out.append(c)
        if data.draw(st.integers(0, 5)) == 0:
            out.append(data.draw(st.sampled_from([" ", "-", "  "])))
    return " " + "".join(out) + " "


def _swap(value: str, i: int) -> str:
    return value[:i] + value[i + 1] + value[i] + value[i + 2 :]


@settings(max_examples=200, deadline=None)
@given(valid_uscc(), st.data())
def test_valid_uscc_stays_valid_through_formatting_noise(number: str, data: st.DataObject) -> None:
    assert check_uscc(_noisy(number, data)) == (number, True)


@settings(max_examples=200, deadline=None)
@given(valid_uscc(), st.integers(0, 15))
def test_uscc_transposition_in_the_body_is_caught(number: str, i: int) -> None:
    # the weights of neighbouring positions differ modulo the prime 31, so swapping two
    # different characters among the first 17 always changes the check character
    assume(number[i] != number[i + 1])
    swapped = _swap(number, i)
    assert check_uscc(swapped) == (swapped, False)


@settings(max_examples=200, deadline=None)
@given(valid_ric(), st.data())
def test_valid_ric_gives_its_birth_date(number: str, data: st.DataObject) -> None:
    got = check_ric(_noisy(number, data))
    assert got.value == number and got.valid is True
    assert got.birth_date == dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


@settings(max_examples=200, deadline=None)
@given(valid_ric(), st.integers(0, 15))
def test_ric_transposition_is_caught(number: str, i: int) -> None:
    # ISO 7064 MOD 11-2: neighbouring weights differ modulo 11
    assume(number[i] != number[i + 1])
    got = check_ric(_swap(number, i))
    assert got.valid is False and got.birth_date is None


@settings(max_examples=300, deadline=None)
@given(st.one_of(valid_ric(), st.text("0123456789X", min_size=17, max_size=19),
                 valid_ric().map(lambda n: n[:6] + "1899" + n[10:])))
def test_fast_ric_check_agrees_with_stdnum(number: str) -> None:
    assert ric_is_valid(number) == ric.is_valid(number)


def test_invalid_ids_are_kept_as_evidence() -> None:
    assert check_uscc("91310115MA1K3YJ12X") == ("91310115MA1K3YJ12X", False)
    assert check_ric("11010119900307007X").valid is False
    assert check_ric("11010119900307007X").value == "11010119900307007X"
    assert check_uscc("") == (None, None)
    assert check_ric("  ") == (None, None, None)


def test_fifteen_digit_ric_is_upgraded() -> None:
    old = "110101900307007"  # born 1990-03-07, first-generation card
    new = upgrade_ric15(old)
    assert len(new) == 18 and new.startswith("11010119900307007")
    got = check_ric(old)
    assert got == (new, True, dt.date(1990, 3, 7))


def test_customs_code_and_registration_number() -> None:
    assert check_customs_code("2201 9612 34") == ("2201961234", True)
    assert check_customs_code("22019") == ("22019", False)
    body = "31011500001234"
    # ISO 7064 MOD 11,10 check digit
    p = 10
    for ch in body:
        s = (p + int(ch)) % 10 or 10
        p = (2 * s) % 11
    good = body + str((11 - p) % 10)
    assert check_reg_no(good) == (good, True)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert check_reg_no(bad) == (bad, False)


@settings(max_examples=300, deadline=None)
@given(st.one_of(valid_uscc(), st.text(USCC_ALPHABET + "IOSVZ", min_size=17, max_size=19),
                 valid_uscc().map(lambda n: n[:17] + "I")))
def test_fast_uscc_check_agrees_with_stdnum(number: str) -> None:
    assert uscc_is_valid(number) == uscc.is_valid(number)
