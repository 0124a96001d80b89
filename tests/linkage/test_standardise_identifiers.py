"""USCC, resident ID, customs code and registration number checks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from linkage.standardise.identifiers import (
    OLDEST_BIRTH_YEAR,
    PROVINCE_CODES,
    check_customs_code,
    check_reg_no,
    check_ric,
    check_uscc,
    compact,
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


def _stdnum_structure_and_check(number: str) -> bool:
    """stdnum's resident ID rules without its historical division table: 18 characters, a
    real birth date, the check character (plus our province-level code and date bounds)."""
    if len(number) != 18 or not number[:17].isdigit() or number[:2] not in PROVINCE_CODES:
        return False
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        return False
    if not dt.date(OLDEST_BIRTH_YEAR, 1, 1) <= born <= dt.date.today():
        return False
    return number[-1] == ric.calc_check_digit(number[:17] + "0")


@settings(max_examples=300, deadline=None)
@given(st.one_of(valid_ric(), st.text("0123456789X", min_size=17, max_size=19),
                 valid_ric().map(lambda n: n[:6] + "1899" + n[10:])))
def test_fast_ric_check_agrees_with_stdnum(number: str) -> None:
    # structure + date plausibility + check character, as stdnum computes them; the
    # division table is deliberately not consulted (see the tests below)
    assert ric_is_valid(number) == _stdnum_structure_and_check(number)


def _ric(region: str, birth: str, seq: str = "123") -> str:
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")


def test_ric_issued_by_a_district_created_after_the_birth_is_valid() -> None:
    # 310115 (浦东新区) was created in 1993: stdnum rejects a holder born in 1960, who
    # legitimately holds an ID issued there
    number = _ric("310115", "19600101")
    assert not ric.is_valid(number)
    assert check_ric(number)[:3] == (number, True, dt.date(1960, 1, 1))


def test_ric_implausible_birth_dates_and_provinces_are_malformed() -> None:
    for number in (_ric("110101", "91630307"), _ric("110101", "18990101"),
                   _ric("110101", f"{dt.date.today().year + 1}0101"),
                   _ric("110101", "19900230"), _ric("990101", "19900101")):
        got = check_ric(number)
        assert got.value == number and got.valid is False and got.scheme == "ric"


def test_mistyped_ric_with_unknown_division_never_crashes() -> None:
    # stdnum's birth-place lookup raises a bare KeyError('county') on these
    number = _ric("110001", "19900101")
    with pytest.raises(KeyError):
        ric.is_valid(number)
    assert check_ric(number)[:3] == (number, True, dt.date(1990, 1, 1))
    typo = number[:-1] + ("0" if number[-1] != "0" else "1")
    got = check_ric(typo)
    assert got.valid is False and got.stated_birth == dt.date(1990, 1, 1)


def test_identity_number_states() -> None:
    assert check_ric(" 1101 0119 9003 0700 7x ").value == "11010119900307007X"
    assert check_ric("１１０１０１１９９００３０７００７Ｘ").value == "11010119900307007X"
    for placeholder in ("无", "不详", "000000000000000000", "123456", "-", "11111111",
                        # a form's zeros after a real district, or no birth date at all
                        "310101000000000000", "310101000000000", "310101000000000012",
                        "31010100000000001X"):
        assert check_ric(placeholder) == (None, None, None, None, None, None)
    assert check_ric("310101195311200000").value == "310101195311200000"  # kept: evidence
    assert check_ric("E12345678")[:4] == ("E12345678", False, None, "passport")
    assert check_ric("H12345678").scheme == "hk_macao_permit"
    assert check_ric("H1234567801")[:4] == ("H12345678", False, None, "hk_macao_permit")
    assert check_ric("C Z1234567").scheme == "hk_macao_permit"
    assert check_ric("1234567890(B)")[:4] == ("1234567890B", False, None, "taiwan_permit")
    assert check_ric("11010119900307007").scheme == "ric"  # a dropped character
    assert check_ric("11010119900307007").valid is False


def test_fifteen_digit_ric_is_upgraded_only_when_plausible() -> None:
    assert check_ric("990101900307007").value == "990101900307007"  # no such province
    # month 13: still upgraded, so that the 18-character copy of the same number compares
    wrong = check_ric("110101901307007")
    assert wrong.valid is False and wrong.value == upgrade_ric15("110101901307007")


_ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_ANY_TEXT, st.text("0123456789Xx -（）()０１２３", max_size=22)))
def test_identifier_functions_accept_any_string(raw: str) -> None:
    got = check_ric(raw)
    assert got.value is None or (got.value == got.value.strip() and got.valid is not None)
    if got.valid:
        assert got.birth_date is not None and got.scheme == "ric"
    for check in (check_uscc, check_customs_code, check_reg_no):
        value, valid = check(raw)
        assert (value is None) == (valid is None)
    assert isinstance(compact(raw), str)


def test_invalid_ids_are_kept_as_evidence() -> None:
    assert check_uscc("91310115MA1K3YJ12X") == ("91310115MA1K3YJ12X", False)
    assert check_ric("11010119900307007X").valid is False
    assert check_ric("11010119900307007X").value == "11010119900307007X"
    assert check_uscc("") == (None, None)
    assert check_ric("  ")[:3] == (None, None, None)


def test_fifteen_digit_ric_is_upgraded() -> None:
    old = "110101900307007"  # born 1990-03-07, first-generation card
    new = upgrade_ric15(old)
    assert len(new) == 18 and new.startswith("11010119900307007")
    got = check_ric(old)
    assert got[:3] == (new, True, dt.date(1990, 3, 7))


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


_LABELS = st.sampled_from(["身份证号：", "身份证号码:", "ID:", "ID No.: ", "证件号码 : ",
                           "统一社会信用代码：", "USCC:", "身份证", "代码 "])
_AFTER = st.sampled_from(["", "（本人）", "(法人)", " 本人", "【已核】"])


@given(valid_ric(), valid_uscc(), _LABELS, _AFTER)
def test_a_label_before_a_code_or_words_around_it_change_nothing(
        number: str, code: str, label: str, after: str) -> None:
    """A cell copied from a form (身份证号：310…, USCC: 913…, 310…（本人）) holds the same code."""
    assert check_ric(label + number + after) == check_ric(number)
    assert check_uscc(label + code + after) == check_uscc(code)
    masked = number[:6] + "********" + number[14:]
    assert check_ric(label + masked).masked == masked


@pytest.mark.parametrize("written", ["无", "不详", "暂无", "N/A", "身份证号：", "ID:"])
def test_a_label_or_placeholder_alone_is_no_identifier(written: str) -> None:
    assert check_ric(written).value is None


@settings(deadline=None)
@given(valid_ric(), st.data())
def test_look_alike_characters_typed_for_an_ids_own_read_as_it(number: str,
                                                               data: st.DataObject) -> None:
    """× (or a Cyrillic Х) for the check character X, O for 0, I or l for 1: the same valid
    ID; and a value the look-alikes do not make valid stays as it was written."""
    look = {"0": "O", "1": data.draw(st.sampled_from(["I", "l", "L"]))}
    positions = data.draw(st.lists(st.integers(0, 16), max_size=3))
    chars = list(number)
    for i in positions:
        chars[i] = look.get(chars[i], chars[i])
    if chars[-1] == "X":
        chars[-1] = data.draw(st.sampled_from(["×", "Х", "X"]))
    assert check_ric("".join(chars)) == check_ric(number)


def test_several_multiplication_signs_are_a_mask() -> None:
    assert check_ric("310101××××××××3938").masked == "310101********3938"
    assert check_ric("31O1O1195311203939").valid is False  # O read as 0 is still no valid ID
    assert check_ric("31O1O1195311203939").value == "31O1O1195311203939"


@given(valid_uscc(), st.lists(st.integers(0, 17), max_size=3))
def test_o_and_i_typed_in_a_uscc_read_as_0_and_1(code: str, positions: list[int]) -> None:
    """The code's alphabet has no O or I: typed for 0 and 1, they read as them."""
    chars = list(code)
    for i in positions:
        chars[i] = {"0": "O", "1": "I"}.get(chars[i], chars[i])
    assert check_uscc("".join(chars)) == check_uscc(code) == (code, True)


@settings(max_examples=60, deadline=None)  # the first example imports the generator
@given(valid_ric(), st.sampled_from(["full_width", "spaces", "lower_x", "lookalike"]),
       st.integers(0, 2**32))
def test_every_slip_the_generator_writes_reads_back_as_the_id(number: str, style: str,
                                                              seed: int) -> None:
    """The generator's written slips (linkage.synth.identifiers.written_ric) are ones a
    careful reader undoes: standardisation reads each as the ID."""
    import random

    from linkage.synth.identifiers import written_ric

    assert check_ric(written_ric(number, style, random.Random(seed))) == check_ric(number)


def test_a_last_multiplication_sign_is_the_check_character_even_of_a_failing_id() -> None:
    got = check_ric("11010519491231003×")  # the check character does not agree
    assert (got.value, got.valid) == ("11010519491231003X", False)
