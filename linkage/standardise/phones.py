"""Phone numbers to E.164 with phonenumbers (region CN): mobiles and landlines with area code.

Extensions (转 801, 分机, ext., a trailing -801 after a full landline) are dropped: the node is the
line, not the desk. A local landline number without its area code is placed by the
city of the record's address (`local_phone`, area codes from phonenumbers' geocoding data),
else None. Of several numbers in one cell (138…/139…, 021-…；138…) the first mobile is the
phone, else the first that reads as one: a desk's landline written first is the firm's, and
the mobile after it is the person's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, geocoder

from linkage.standardise.text import readable

_EXTENSION = re.compile(r"(?:转|分机|ext\.?|extn\.?|x|#)\s*\d{1,6}\s*$", re.IGNORECASE)
_TRAILING_GROUP = re.compile(r"[\s\-]+\d{1,5}$")
_ALLOWED = re.compile(r"[^0-9+()\s\-]")
_SEPARATORS = re.compile(r"[\s\-()]+")
# 179 starts carrier-selection (IP call) prefixes (17900, 17911, 17951…): left to phonenumbers
_PLAIN_MOBILE = re.compile(r"^(?:\+86|0086|86)?(1(?!79)[3-9]\d{9})$")
_PLAIN_LANDLINE = re.compile(r"^(?:(?:\+86|0086)0?|0)((?:10|2\d|[3-9]\d{2})[2-9]\d{6,7})$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_E164_MOBILE = re.compile(r"^\+861[3-9]\d{9}$")
_LIST = re.compile(r"[/,，;；、|]|或|及")  # several numbers in one cell: 138…/139…
_LANDLINE = re.compile(r"^(?:10|2\d|[3-9]\d{2})[2-9]\d{6,7}$")  # area code + 7-8 digit local


def _parse(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "CN")
    except NumberParseException:
        return None
    if number.country_code != 86:
        if not phonenumbers.is_valid_number(number):
            return None
    elif not phonenumbers.is_valid_number(number) and not _cn_shaped(text, number):
        return None
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def _cn_shaped(text: str, number: PhoneNumber) -> bool:
    """A possible Chinese number outside the allocated ranges phonenumbers knows (new mobile
    prefixes, new landline blocks): a mobile shape, or a landline written with its area code."""
    if not phonenumbers.is_possible_number(number):
        return False
    national = str(number.national_number)
    if _MOBILE.match(national):
        return True
    with_area_code = text.lstrip("(").startswith("0") or text.startswith("+")
    return with_area_code and _LANDLINE.match(national) is not None


def normalise_phone(raw: str) -> str | None:
    """'021-6238 1234 转 801', '(021)62381234', '+86 21 62381234' -> '+862162381234'."""
    text = readable(raw).strip()
    if not text:
        return None
    found = _one_phone(text)
    if found is None and _LIST.search(text):  # several numbers: the first mobile, else the first
        parts = [one for one in (_one_phone(part.strip()) for part in _LIST.split(text)
                                 if part.strip()) if one]
        found = next((one for one in parts if _E164_MOBILE.match(one)),
                     parts[0] if parts else None)
    return found


def _one_phone(text: str) -> str | None:
    """`normalise_phone` of a value holding one number."""
    digits = _SEPARATORS.sub("", text)
    fast = _PLAIN_MOBILE.match(digits) or _PLAIN_LANDLINE.match(digits)
    if fast:  # the common cases, answered as phonenumbers would: +86 and the national number
        return "+86" + fast.group(1)
    text = _EXTENSION.sub("", text)
    text = _ALLOWED.sub("", text).strip()
    if text.startswith("0086"):
        text = "+86" + text[4:]
    found = _parse(text)
    if found is None and _TRAILING_GROUP.search(text):
        found = _parse(_TRAILING_GROUP.sub("", text))  # 021-62381234-801: an extension
    return found


_LOCAL = re.compile(r"^[2-9]\d{6,7}$")  # a landline's local number, 7 or 8 digits
_PROVINCE = re.compile(r"^.*?(?:省|自治区|特别行政区)")


@cache
def area_codes() -> dict[str, str]:
    """City (as addresses name it: 深圳市, 上海市) -> its landline area code, from
    phonenumbers' own geocoding data; a city two codes claim is left out."""
    claims: dict[str, set[str]] = {}
    codes = ["10", *(f"2{i}" for i in range(10)),
             *(f"{a}{b:02d}" for a in range(3, 10) for b in range(100))]
    for code in codes:
        for local in _GEOCODE_SAMPLES:
            where = geocoder.description_for_number(phonenumbers.parse(f"+86{code}{local}"),
                                                    "zh")
            if where:
                for city in _PROVINCE.sub("", where).split("、"):
                    if city:
                        claims.setdefault(city, set()).add(code)
                break
    return {city: next(iter(c)) for city, c in claims.items() if len(c) == 1}


# local numbers whose first digits phonenumbers places in each area (it geocodes by prefix)
_GEOCODE_SAMPLES = ("62381234", "87654321", "22345678", "5234567", "8234567", "6234567",
                    "3234567", "2234567", "7234567", "4234567", "55555555", "33333333")


def local_phone(raw: str, city: str | None) -> str | None:
    """A landline written without its area code (87680542), placed by the city the same
    record's address names; None when the value is no local number or the city unknown."""
    if not city:
        return None
    digits = _SEPARATORS.sub("", _EXTENSION.sub("", readable(raw).strip()))
    code = area_codes().get(city)
    if code is None or not _LOCAL.match(digits):
        return None
    return _one_phone(f"0{code}{digits}")


def normalise_many_phones(values: Iterable[str]) -> dict[str, str | None]:
    return {v: normalise_phone(v) for v in dict.fromkeys(values)}
