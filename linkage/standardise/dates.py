"""Dates and numbers written by agencies: parse each distinct value once, flag the bad ones.

An empty value is missing, not bad; a non-empty value that is not a date (or number) is bad:
`linkage.rowmap` leaves it empty with a counted note or quarantines its row (`on_error`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from linkage.standardise.text import readable

_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T\s].*)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMBER_NOISE = re.compile(r"[\s,，_]|人民币|RMB|CNY|[¥￥元]", re.IGNORECASE)
MIN_YEAR, MAX_YEAR = 1900, 2100


class BadValue(ValueError):
    """A non-empty value that cannot be read as the expected type."""


def parse_date(raw: str, fmt: str | None = None) -> dt.date | None:
    """'2023-05-01', '2023/5/1', '2023年5月1日', '20230501', '2023-05-01 10:00:00' -> date."""
    text = readable(raw).strip()
    if not text:
        return None
    value: dt.date | None = None
    if fmt:
        try:
            value = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            value = None
    if value is None:
        m = _DATE.match(text) or _COMPACT.match(text)
        if m is None:
            raise BadValue(f"not a date: {raw!r}" + (f" (expected {fmt})" if fmt else ""))
        try:
            value = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise BadValue(f"not a calendar date: {raw!r}") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadValue(f"date out of range: {raw!r}")
    return value


def parse_number(raw: str, percent: bool = False) -> float | None:
    """'1,200.50', '￥3000元', '5万元' -> float; with percent=True, '30%' -> 30.0 (a share,
    between 0 and 100)."""
    text = _NUMBER_NOISE.sub("", readable(raw))
    if not text:
        return None
    scale = 1.0
    if text.endswith("万"):
        text, scale = text[:-1], 10_000.0
    if percent and text.endswith("%"):
        text = text[:-1]
    try:
        value = float(text) * scale
    except ValueError:
        raise BadValue(f"not a number: {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadValue(f"not a finite number: {raw!r}")
    if percent and not 0.0 <= value <= 100.0:
        raise BadValue(f"share out of range 0-100%: {raw!r}")
    return value


def parse_many_dates(values: Iterable[str], fmt: str | None) -> dict[str, dt.date | None | str]:
    """raw -> date (or None when empty); a bad value maps to its error message (a str)."""
    out: dict[str, dt.date | None | str] = {}
    for v in dict.fromkeys(values):
        try:
            out[v] = parse_date(v, fmt)
        except BadValue as exc:
            out[v] = str(exc)
    return out


def parse_many_numbers(values: Iterable[str], percent: bool) -> dict[str, float | None | str]:
    out: dict[str, float | None | str] = {}
    for v in dict.fromkeys(values):
        try:
            out[v] = parse_number(v, percent)
        except BadValue as exc:
            out[v] = str(exc)
    return out
