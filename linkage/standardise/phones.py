"""Phone numbers to E.164 with phonenumbers (region CN): mobiles and landlines with area code.

Extensions (转 801, 分机, ext., a trailing -801 after a full landline) are dropped: the node is the
line, not the desk. A local landline number without its area code cannot be placed and yields
None. Of several numbers in one cell (138…/139…, 138…；021-…) the first that reads as one is
the phone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

from linkage.standardise.text import readable

_EXTENSION = re.compile(r"(?:转|分机|ext\.?|extn\.?|x|#)\s*\d{1,6}\s*$", re.IGNORECASE)
_TRAILING_GROUP = re.compile(r"[\s\-]+\d{1,5}$")
_ALLOWED = re.compile(r"[^0-9+()\s\-]")
_SEPARATORS = re.compile(r"[\s\-()]+")
# 179 starts carrier-selection (IP call) prefixes (17900, 17911, 17951…): left to phonenumbers
_PLAIN_MOBILE = re.compile(r"^(?:\+86|0086|86)?(1(?!79)[3-9]\d{9})$")
_PLAIN_LANDLINE = re.compile(r"^(?:(?:\+86|0086)0?|0)((?:10|2\d|[3-9]\d{2})[2-9]\d{6,7})$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
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
    if found is None and _LIST.search(text):  # the first of several numbers that reads
        parts = (_one_phone(part.strip()) for part in _LIST.split(text) if part.strip())
        found = next((one for one in parts if one), None)
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


def normalise_many_phones(values: Iterable[str]) -> dict[str, str | None]:
    return {v: normalise_phone(v) for v in dict.fromkeys(values)}
