"""Identifiers: USCC, resident ID (and other identity documents), customs code, old
registration number, organisation code.

Each is compacted (width, case, separators, brackets) and checked by structure, plausibility and
check character only. An identifier is in one of three states: valid; present but malformed
(kept as evidence with its flag False: the same value still counts, a different one counts
against); absent. Every function here accepts any string.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import NamedTuple

from stdnum.iso7064 import mod_11_10

from linkage.standardise.text import readable

_SEPARATORS = re.compile(r"[\s\-_./·:：()\[\]（）【】]+")
_CODE_CHAR = re.compile(r"[0-9A-Za-z*]")
_HAN_AROUND = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+|[\u3400-\u9fff\uf900-\ufaff]+$")
_CUSTOMS = re.compile(r"^[0-9A-Z]{10}$")
_DIGITS15 = re.compile(r"^[0-9]{15}$")
_DIGITS17 = re.compile(r"^[0-9]{17}[0-9X]$")
_DIGITS15_OR_17 = re.compile(r"^[0-9]{14}(?:[0-9]{3})?[0-9X]$")


class Checked(NamedTuple):
    value: str | None
    valid: bool | None  # None when there is no value


def compact(raw: str) -> str:
    """NFKC, upper case, no spaces, separators or invisible characters (`text.readable`):
    ' 9131 0115-mA1k… ' -> '91310115MA1K…'; without a label before the code (身份证号：,
    USCC:, a colon's left side) or words in characters around it (身份证 310…, 310…（本人）)."""
    if not isinstance(raw, str):
        return ""
    text = readable(raw)
    _, colon, code = text.rpartition(":")  # NFKC: the full-width colon is one too
    if colon and _CODE_CHAR.search(code):
        text = code
    value = _SEPARATORS.sub("", text).upper()
    bare = _HAN_AROUND.sub("", value)
    return bare if _CODE_CHAR.search(bare) else value


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_LOOKALIKES = str.maketrans({"O": "0", "I": "1"})
_USCC_SHAPE = re.compile(r"^[0-9]{8}[0-9A-HJ-NP-RTUWXY]{10}$")


def uscc_is_valid(value: str) -> bool:
    """Same answer as `stdnum.cn.uscc.is_valid` on a compacted value (GB 32100-2015: 8 digits,
    10 characters of the code alphabet, the last a weighted mod-31 check), without its per-call
    cleaning cost."""
    if not _USCC_SHAPE.match(value):
        return False
    total = sum(_USCC_VALUE[c] * w for c, w in zip(value, _USCC_WEIGHTS, strict=False))
    return value[-1] == _USCC_ALPHABET[(31 - total) % 31]


def check_uscc(raw: str) -> Checked:
    value = compact(raw)
    if not value:
        return Checked(None, None)
    if uscc_is_valid(value):
        return Checked(value, True)
    # the code's alphabet has no O or I: typed for 0 and 1 where that makes it valid
    candidate = value.translate(_USCC_LOOKALIKES)
    if candidate != value and uscc_is_valid(candidate):
        return Checked(candidate, True)
    return Checked(value, False)


# 组织机构代码 (GB 11714): 8 digits or capitals and a check character (0-9 or X), written
# 47835372-9; characters 9-17 of every USCC. Older records name a firm by it.
_ORG_SHAPE = re.compile(r"^[0-9A-Z]{8}[0-9X]$")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code_is_valid(value: str) -> bool:
    """A compacted organisation code with its check character (11 minus the weighted sum
    mod 11; 10 is X, 11 is 0)."""
    if not _ORG_SHAPE.match(value):
        return False
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w
                for c, w in zip(value, _ORG_WEIGHTS, strict=False))
    check = 11 - total % 11
    return value[-1] == ("X" if check == 10 else "0" if check == 11 else str(check))


def org_code(raw: str) -> str | None:
    """The organisation code `raw` writes (47835372-9 -> 478353729), or None."""
    value = compact(raw)
    return value if org_code_is_valid(value) else None


def org_code_of_uscc(uscc: str) -> str:
    """The organisation code inside a valid USCC (its characters 9-17)."""
    return uscc[8:17]


def check_many_org_codes(values: Iterable[str]) -> dict[str, tuple[str | None]]:
    return {v: (org_code(v),) for v in dict.fromkeys(values)}


# Province-level codes (GB/T 2260, first two digits of a resident ID): the 31 mainland
# provinces, Taiwan (71), Hong Kong (81), Macao (82) and the residence permits of
# Hong Kong / Macao / Taiwan residents (83).
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
})
OLDEST_BIRTH_YEAR = 1900  # earlier birth years are not plausible for a living holder
_RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))

# Other identity documents a declarant or shareholder may present instead of a resident ID.
# Each is a present identifier of its own scheme (never compared with another scheme).
_OTHER_SCHEMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("passport", re.compile(r"^(?:[EG][0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|[DSP][0-9]{7})$")),
    ("hk_macao_permit", re.compile(r"^(?:[HM][0-9]{8}(?:[0-9]{2})?|C[0-9A-Z][0-9]{7})$")),
    ("taiwan_permit", re.compile(r"^(?:[0-9]{8}|[0-9]{10}[A-Z]?)$")),
)
_PLACEHOLDER_MIN = 6  # fewer characters than this cannot identify anyone


class CheckedRic(NamedTuple):
    value: str | None
    valid: bool | None
    birth_date: dt.date | None  # from a valid resident ID only
    scheme: str | None  # 'ric' | 'passport' | 'hk_macao_permit' | 'taiwan_permit' | 'other'
    stated_birth: dt.date | None = None  # the birth date any resident ID states (valid or not)
    masked: str | None = None  # a resident ID written with masked characters (see `masked_ric`)


def ric_check_digit(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    total = sum(int(c) * w for c, w in zip(body17, _RIC_WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def _plausible_birth(text: str, today: dt.date) -> dt.date | None:
    """YYYYMMDD as a real date, not in the future and not before OLDEST_BIRTH_YEAR."""
    try:
        born = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    return born if OLDEST_BIRTH_YEAR <= born.year and born <= today else None


def ric_birth_date(value: str, today: dt.date | None = None) -> dt.date | None:
    """The birth date of a valid 18-character resident ID, else None. Valid means structure
    (17 ASCII digits + digit or X), a province-level code, a plausible birth date and the check
    character - never the historical division table (the address code says where the ID was
    issued, which may be a district created after the holder's birth)."""
    if len(value) != 18 or not _DIGITS17.match(value) or value[:2] not in PROVINCE_CODES:
        return None
    if value[-1] != ric_check_digit(value[:17]):
        return None
    return _plausible_birth(value[6:14], today or dt.date.today())


def ric_is_valid(value: str) -> bool:
    """Whether a compacted value is a valid resident ID (see `ric_birth_date`)."""
    return ric_birth_date(value) is not None


def upgrade_ric15(value: str) -> str:
    """A first-generation 15-digit ID (YYMMDD birth date, no check) in its 18-character form."""
    body = value[:6] + "19" + value[6:]
    return body + ric_check_digit(body)


def _looks_like_placeholder(value: str) -> bool:
    """无 / 不详 / 000000 / 123456789: nothing that could tell two people apart."""
    if len(value) < _PLACEHOLDER_MIN or len(set(value)) <= 2:
        return True
    if not value.isascii() or not value.isalnum():
        return True
    if value in "0123456789012345678901234567890" or value in "98765432109876543210":
        return True
    # a resident ID's form filled with zeros after a real district: 310101000000000000, or
    # no birth date at all (310101 00000000 0012): a form's default, not a person's number
    return len(value) in (15, 18) and value[:6].isdigit() and (
        set(value[6:]) <= {"0"} or set(value[6:12 if len(value) == 15 else 14]) <= {"0"})


def id_scheme(value: str) -> str:
    """Which document a compacted, non-placeholder identity number looks like."""
    if len(value) in (15, 18) and _DIGITS15_OR_17.match(value):
        return "ric"
    for name, pattern in _OTHER_SCHEMES:
        if pattern.match(value):
            return name
    digits = sum(c.isdigit() for c in value)
    return "ric" if len(value) >= 14 and digits >= len(value) - 1 else "other"


def check_ric(raw: str) -> CheckedRic:
    """An identity number in one of three states: valid resident ID (value, True, birth date);
    present but malformed or another document (value, False, None) - still evidence; absent
    (None, None, None) - empty or a placeholder. Accepts any string."""
    value = _read_lookalikes(compact(raw))
    masked = masked_ric(value)
    if masked is not None:  # no identifier to compare; resolution reads its visible part
        return CheckedRic(None, None, None, None, masked=masked)
    if not value or _looks_like_placeholder(value):
        return CheckedRic(None, None, None, None)
    scheme = id_scheme(value)
    if scheme == "ric" and _DIGITS15.match(value) and value[:2] in PROVINCE_CODES:
        # a first-generation number in its 18-character form, even when its date is wrong:
        # the same person's second-generation number then compares equal (or one edit away)
        value = upgrade_ric15(value)
    if scheme == "ric":
        born = ric_birth_date(value)
        if born is not None:
            return CheckedRic(value, True, born, scheme, born)
        return CheckedRic(value, False, None, scheme, stated_birth_date(value))
    if scheme == "hk_macao_permit" and len(value) == 11:
        value = value[:9]  # H01234567 and its issue count, 01: the holder's number is the first
    return CheckedRic(value, False, None, scheme)


MASK = "*"
MIN_VISIBLE = 8  # visible characters a masked ID must keep to tell people apart
_MASKED = re.compile(r"^[0-9*]{17}[0-9X*]$")


def masked_ric(value: str) -> str | None:
    """A compacted resident ID as public lists write it, some characters masked
    (310101********3938, 3101011953****3938, 31010119531120****): the value with every mask
    character as `MASK` (the full-width ＊ is one after NFKC), when it has 18 positions, a
    real province code, at least one masked and `MIN_VISIBLE` visible characters; else None."""
    if MASK not in value or len(value) != 18 or not _MASKED.match(value):
        return None
    if value[:2] not in PROVINCE_CODES or len(value) - value.count(MASK) < MIN_VISIBLE:
        return None
    return value


def mask_shape(masked: str) -> str:
    """Which positions a masked ID hides: '.' visible, `MASK` hidden."""
    return "".join(MASK if c == MASK else "." for c in masked)


def visible_part(value: str, shape: str) -> str:
    """The characters of an 18-character `value` at the visible positions of `shape`."""
    return "".join(c for c, s in zip(value, shape, strict=False) if s != MASK)


# characters typed for a resident ID's own: the multiplication sign (an input method's ×) or a
# Cyrillic / Greek capital for the check character X, the letter O for 0, I or L for 1
_LOOKALIKES = str.maketrans({"×": "X", "Х": "X", "Χ": "X", "O": "0", "I": "1", "L": "1"})


def _read_lookalikes(value: str) -> str:
    """A compacted resident ID with look-alike characters read as the ID's own: a last ×
    (or Х) after 17 digits as the check character X; O, I and L only where that gives a
    valid ID (31O1O1… -> 310101…); with two or more ×, a masked ID (310101××××××××3938);
    else the value as it is."""
    if value.count("×") > 1:
        masked = masked_ric(value.replace("×", MASK))
        if masked is not None:
            return masked
    if len(value) == 18 and value[-1] in "×ХΧ" and value[:17].isdigit():
        return value[:17] + "X"  # the check character, whether the ID then checks or not
    candidate = value.translate(_LOOKALIKES)
    if candidate != value and len(candidate) == 18 and ric_birth_date(candidate) is not None:
        return candidate
    return value


def stated_birth_date(value: str) -> dt.date | None:
    """The birth date a malformed 18-character resident ID still states (a real province code
    and a plausible date in positions 7-14): most slips hit another position or the check
    character, and a birth date one edit apart is compared as such."""
    if len(value) != 18 or not _DIGITS17.match(value) or value[:2] not in PROVINCE_CODES:
        return None
    return _plausible_birth(value[6:14], dt.date.today())


def check_customs_code(raw: str) -> Checked:
    """海关编码: 10 characters, digits and capitals (the first 4 name the customs district)."""
    value = compact(raw)
    if not value:
        return Checked(None, None)
    return Checked(value, bool(_CUSTOMS.match(value)))


def check_reg_no(raw: str) -> Checked:
    """Pre-2015 registration number (注册号): 15 digits, ISO 7064 MOD 11,10 check digit."""
    value = compact(raw)
    if not value:
        return Checked(None, None)
    return Checked(value, bool(_DIGITS15.match(value)) and bool(mod_11_10.is_valid(value)))


def check_many_uscc(values: Iterable[str]) -> dict[str, Checked]:
    return {v: check_uscc(v) for v in dict.fromkeys(values)}


def check_many_ric(values: Iterable[str]) -> dict[str, CheckedRic]:
    return {v: check_ric(v) for v in dict.fromkeys(values)}


def check_many_customs(values: Iterable[str]) -> dict[str, Checked]:
    return {v: check_customs_code(v) for v in dict.fromkeys(values)}


def check_many_reg_no(values: Iterable[str]) -> dict[str, Checked]:
    return {v: check_reg_no(v) for v in dict.fromkeys(values)}
