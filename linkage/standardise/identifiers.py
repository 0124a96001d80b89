"""Identifiers: USCC, resident ID, customs code, old registration number.

Each is compacted (width, case, separators) and checked; an invalid value is kept as evidence
with its flag set to False, and must never count as an exact identifier match.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import NamedTuple

from stdnum.cn import ric
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_11_10

_SEPARATORS = re.compile(r"[\s\-_./·:：]+")
_CUSTOMS = re.compile(r"^[0-9A-Z]{10}$")
_DIGITS15 = re.compile(r"^\d{15}$")
_DIGITS17 = re.compile(r"^\d{17}[0-9X]$")


class Checked(NamedTuple):
    value: str | None
    valid: bool | None  # None when there is no value


class CheckedId(NamedTuple):
    value: str | None
    valid: bool | None
    birth_date: dt.date | None  # from a valid resident ID only


def compact(raw: str) -> str:
    """NFKC, upper case, no spaces or separators: ' 9131 0115-mA1k… ' -> '91310115MA1K…'."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"^\d{8}[0-9A-HJ-NP-RTUWXY]{10}$")


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
    return Checked(value, uscc_is_valid(value))


def upgrade_ric15(value: str) -> str:
    """A first-generation 15-digit ID (YYMMDD birth date, no check) in its 18-character form."""
    body = value[:6] + "19" + value[6:]
    return body + ric.calc_check_digit(body + "0")


@cache
def _birth_place_known(region: str, year: int) -> bool:
    """stdnum's birth-place rule (the division existed in the birth year), cached per pair."""
    try:
        ric.get_birth_place(f"{region}{year:04d}0101000")
    except ValidationError:
        return False
    return True


def ric_is_valid(value: str) -> bool:
    """Same answer as `stdnum.cn.ric.is_valid` on a compacted value, without its per-call cost:
    length, digits, check character, birth date, and birth place (cached per region and year)."""
    if len(value) != 18 or not _DIGITS17.match(value):
        return False
    checksum = (1 - 2 * int(value[:-1], 13)) % 11  # ISO 7064 MOD 11-2, as stdnum computes it
    if value[-1] != ("X" if checksum == 10 else str(checksum)):
        return False
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return _birth_place_known(value[:6], birth.year)


def check_ric(raw: str) -> CheckedId:
    """Resident ID: valid means length, check character, birth date and birth place all hold."""
    value = compact(raw)
    if not value:
        return CheckedId(None, None, None)
    if _DIGITS15.match(value):
        value = upgrade_ric15(value)
    if ric_is_valid(value):
        return CheckedId(value, True, dt.date(int(value[6:10]), int(value[10:12]),
                                              int(value[12:14])))
    return CheckedId(value, False, None)


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


def check_many_ric(values: Iterable[str]) -> dict[str, CheckedId]:
    return {v: check_ric(v) for v in dict.fromkeys(values)}


def check_many_customs(values: Iterable[str]) -> dict[str, Checked]:
    return {v: check_customs_code(v) for v in dict.fromkeys(values)}


def check_many_reg_no(values: Iterable[str]) -> dict[str, Checked]:
    return {v: check_reg_no(v) for v in dict.fromkeys(values)}
