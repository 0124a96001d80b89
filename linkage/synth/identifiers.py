"""Valid identifiers (USCC, resident ID, old registration number, customs code, phone) and their
realistic corruptions. Every "clean" identifier is checked with python-stdnum before it is used."""

from __future__ import annotations

import datetime as dt
import random
from functools import cache

from stdnum.cn import ric, uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 11714 allows digits and capitals
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714): 8 body characters and its own check char."""
    body = "".join(rng.choice("0123456789") for _ in range(2))
    body += "".join(rng.choice(_ORG_ALPHABET) for _ in range(6))
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def make_uscc(division: str, rng: random.Random) -> str:
    """'9' (market regulation) + '1' (enterprise) + division + org code + check character."""
    body = "91" + division + org_code(rng)
    number = body + uscc.calc_check_digit(body)
    if not uscc.is_valid(number):  # pragma: no cover - guards the construction
        raise ValueError(f"generated invalid USCC {number}")
    return number


@cache
def _ric_valid(region: str, birth: dt.date, seq: int) -> bool:
    """stdnum's full check (checksum, birth date, birth place for that year) of one number.

    Cached on (region, birth date, sequence): the place lookup is slow and repeats."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return ric.is_valid(body + ric.calc_check_digit(body + "0"))


def make_ric(region: str, birth: dt.date, male: bool, rng: random.Random) -> str:
    """An 18-character resident ID number; sequence odd for men, even for women."""
    seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    number = body + ric.calc_check_digit(body + "0")
    # the check digit depends only on the body, so validity of (region, year) carries over
    if not _ric_valid(region, dt.date(birth.year, 1, 1), 1) or not _valid_date(birth):
        raise ValueError(f"generated invalid resident ID {number}")
    return number


def _valid_date(birth: dt.date) -> bool:
    return dt.date(1900, 1, 1) <= birth <= dt.date.today()


def make_reg_no(division: str, rng: random.Random) -> str:
    """A pre-2015 15-digit registration number: division + 8 digits + ISO 7064 MOD 11,10 check."""
    body = division + "".join(rng.choice("0123456789") for _ in range(8))
    p = 10
    for ch in body:
        s = (p + int(ch)) % 10 or 10
        p = (2 * s) % 11
    return body + str((11 - p) % 10)


def make_customs_code(customs_district: str, rng: random.Random) -> str:
    """10 characters: 4-digit customs district, zone type, enterprise type, 4-digit sequence."""
    return (
        customs_district + rng.choice("0123456789") + rng.choice("123456789")
        + f"{rng.randrange(0, 10000):04d}"
    )


def make_mobile(rng: random.Random) -> str:
    prefix = rng.choice(("13", "15", "18", "17", "19"))
    return prefix + "".join(rng.choice("0123456789") for _ in range(9))


def make_landline(area_code: str, rng: random.Random) -> str:
    """Area code + 8-digit local number (digits only, no separator)."""
    return area_code + rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(7))


def transpose(value: str, rng: random.Random) -> str:
    """Swap two adjacent differing characters (a typist's slip); returns value if impossible."""
    spots = [i for i in range(len(value) - 1) if value[i] != value[i + 1]]
    if not spots:
        return value
    i = rng.choice(spots)
    return value[:i] + value[i + 1] + value[i] + value[i + 2 :]


def mistype(value: str, rng: random.Random) -> str:
    """A transposition most of the time, otherwise one digit replaced or a character dropped."""
    r = rng.random()
    if r < 0.6:
        return transpose(value, rng)
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    if r < 0.85 and digits:
        i = rng.choice(digits)
        new = rng.choice([d for d in "0123456789" if d != value[i]])
        return value[:i] + new + value[i + 1 :]
    i = rng.randrange(len(value))
    return value[:i] + value[i + 1 :]


def format_phone(number: str, area_code: str | None, rng: random.Random) -> str:
    """One of the many ways a phone number is written in agency records."""
    r = rng.random()
    if area_code is None:  # mobile
        if r < 0.7:
            return number
        if r < 0.8:
            return f"{number[:3]}-{number[3:7]}-{number[7:]}"
        if r < 0.9:
            return f"+86 {number[:3]} {number[3:7]} {number[7:]}"
        return f"86-{number}"
    local = number[len(area_code):]
    if r < 0.55:
        return f"{area_code}-{local}"
    if r < 0.7:
        return number
    if r < 0.8:
        return f"({area_code}){local}"
    if r < 0.9:
        return f"{area_code}-{local}-{rng.randrange(100, 9000)}"
    return f"+86-{area_code[1:]}-{local}"


# Districts created after every birth year the generator draws (1950-2004; 鄞州区 in 2002): an
# ID issued there is well-formed, yet a historical division table rejects it for that birth year.
LATE_DISTRICTS: tuple[str, ...] = ("310151", "120116", "440115", "510116", "330212")
_FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


def late_district_ric(value: str) -> str:
    """The same person's ID as issued by a district created after their birth (valid check)."""
    year = int(value[6:10])
    choices = [c for c in LATE_DISTRICTS if c != "330212" or year < 2002]
    region = choices[int(value[14:17]) % len(choices)]
    body = region + value[6:17]
    return body + ric.calc_check_digit(body + "0")


def _checks(value: str) -> bool:
    return value[-1] == ric.calc_check_digit(value[:-1] + "0")


def invalid_ric(value: str, style: str, rng: random.Random) -> str:
    """An ID as an agency recorded it wrongly, failing validation: 'check_digit' (another check
    character), 'transposition' (two adjacent body digits swapped, check kept), 'region_typo'
    (one digit of the region code replaced) or 'date_typo' (month or day out of range)."""
    body, check = value[:17], value[17]
    if style == "transposition":
        swapped = transpose(body, rng)
        if swapped != body and not _checks(swapped + check):
            return swapped + check
        style = "check_digit"
    if style == "region_typo":
        i = rng.randrange(2, 6)
        digit = rng.choice([d for d in "0123456789" if d != body[i]])
        typo = body[:i] + digit + body[i + 1:]
        return typo + (check if rng.random() < 0.5 else ric.calc_check_digit(typo + "0"))
    if style == "date_typo":
        if rng.random() < 0.5:
            typo = body[:10] + str(rng.randint(13, 19)) + body[12:]
        else:
            typo = body[:12] + str(rng.randint(32, 39)) + body[14:]
        return typo + (check if rng.random() < 0.5 else ric.calc_check_digit(typo + "0"))
    wrong = [c for c in "0123456789X" if c != check]
    return body + rng.choice(wrong)


# (visible prefix, visible suffix) of the masks public lists use on resident IDs
MASKS = ((6, 4), (10, 4), (14, 0), (4, 4))


def mask_ric(value: str, rng: random.Random) -> str:
    """An 18-character ID as a public list writes it: the middle masked with * (one in ten
    with the full-width ＊), e.g. 310101********3938 or 3101011953****3938."""
    head, tail = rng.choice(MASKS)
    star = "＊" if rng.random() < 0.1 else "*"
    return value[:head] + star * (len(value) - head - tail) + value[len(value) - tail:]


def written_ric(value: str, style: str, rng: random.Random) -> str:
    """A formatting slip a careful reader undoes: 'full_width' digits, 'spaces' between the
    region, birth date and sequence, 'lower_x' (a trailing x; spaces when there is no X),
    'first_generation' (the 15-digit form; spaces for people born in 2000 or later) or
    'lookalike' (a character typed for the ID's own: the multiplication sign for a trailing X,
    else the letter O for one 0 or I for one 1; spaces when there is neither)."""
    if style == "first_generation" and value[6:8] == "19" and len(value) == 18:
        return value[:6] + value[8:17]
    if style == "lower_x" and value.endswith("X"):
        return value[:-1] + "x"
    if style == "full_width":
        return value.translate(_FULL_WIDTH)
    if style == "lookalike":
        if value.endswith("X"):
            return value[:-1] + "×"
        places = [i for i, c in enumerate(value[:17]) if c in "01"]
        if places:
            i = rng.choice(places)
            return value[:i] + ("O" if value[i] == "0" else "I") + value[i + 1:]
    sep = " " if rng.random() < 0.7 else "-"
    return f"{value[:6]}{sep}{value[6:14]}{sep}{value[14:]}"
