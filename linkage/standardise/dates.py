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
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?:[T\s].*)?$"
)
# a time stamp with its zone (2023-04-30T16:00:00Z, ...+00:00): its day in Beijing
_ZONED = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                    r"\s*(?:Z|[+-]\d{2}:?\d{2})$")
# milliseconds since 1970-01-01 UTC, as JSON exports write (13 digits: 2001-09-09 on), and
# seconds as Unix tools write them (10 digits, 1000000000-1899999999: 2001-09-09 to
# 2030-03-17); 19xxxxxxxx or 20xxxxxxxx could be a compact date and hour (2023050108), and
# fewer digits a number of another kind, so those stay unread
_EPOCH = re.compile(r"^(\d{13})(?:\.\d+)?$")
_EPOCH_S = re.compile(r"^(1[0-8]\d{8})(?:\.\d+)?$")
BEIJING = dt.timezone(dt.timedelta(hours=8))
# 20230501, and a database's timestamp: 20230501083000, 20230501 083000, 20230501T0830
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:\d{6}|[T\s]\d{2}:?\d{2}(?::?\d{2})?)?$")
# 20/11/1953, 11/20/1953, 20.11.1953: day and month in an order only a value over 12 tells
_YEAR_LAST = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})(?:[T\s].*)?$")
# Nov 20, 1953 / November 20 1953 / 20 Nov 1953 / 20-NOV-1953
_MONTH_FIRST = re.compile(r"^([A-Za-z]{3,9})\.?[\s-]*(\d{1,2})(?:st|nd|rd|th)?,?[\s-]*(\d{4})$")
_DAY_FIRST = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s-]*([A-Za-z]{3,9})\.?,?[\s-]*(\d{4})$")
_MONTHS = {name: i for i, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
    ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
    ("oct", "october"), ("nov", "november"), ("dec", "december")), start=1) for name in names}
# 一九五三年十一月二十日, 二〇二〇年三月五日: dates as official documents write them
_HAN_DATE = re.compile(r"^([〇○零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月"
                       r"([一二三四五六七八九十]{1,3})日?$")
_HAN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "○": 0}
# a spreadsheet's day number (days since 1899-12-30): five digits, 1927-05-18 on; four
# digits are read as nothing (a year alone is likelier)
_SERIAL = re.compile(r"^(\d{5})(?:\.\d+)?$")
_SERIAL_EPOCH = dt.date(1899, 12, 30)
_NUMBER_NOISE = re.compile(r"[\s,，_]|人民币|RMB|CNY|[¥￥元圆]", re.IGNORECASE)
MIN_YEAR, MAX_YEAR = 1900, 2100
# the days systems write for "no date": a default (1900-01-01, .NET's 0001-01-01), a
# spreadsheet's day 0 (1899-12-30 / -31) and an open end (9999-12-31, "valid to"): no date,
# so a relation written as ending on 1900-01-01 stays current and unknown births never agree
NO_DATE = frozenset({(1900, 1, 1), (1899, 12, 30), (1899, 12, 31), (9999, 12, 31), (1, 1, 1)})


class BadValue(ValueError):
    """A non-empty value that cannot be read as the expected type."""


def parse_date(raw: str, fmt: str | None = None) -> dt.date | None:
    """'2023-05-01', '2023/5/1', '2023年5月1日', '20230501', '2023-05-01 10:00:00' -> date;
    also as other writers write dates: '01/05/2023' or '5/13/2023' (refused when day and
    month could be either way round), 'May 1, 2023' / '1 May 2023', 二〇二三年五月一日, and a
    spreadsheet's day number (45047). `fmt` (a source's declared format) is tried first."""
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
        ymd = _year_month_day(text, raw)
        if ymd is None:
            raise BadValue(f"not a date: {raw!r}" + (f" (expected {fmt})" if fmt else ""))
        if isinstance(ymd, dt.date):
            value = ymd
        else:
            try:
                value = dt.date(*ymd)
            except ValueError:
                raise BadValue(f"not a calendar date: {raw!r}") from None
    if (value.year, value.month, value.day) in NO_DATE:
        return None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadValue(f"date out of range: {raw!r}")
    return value


def _year_month_day(text: str, raw: str) -> tuple[int, int, int] | dt.date | None:
    """(year, month, day) of the forms agencies write, a date for a spreadsheet's day
    number, None when `text` is none of them; `BadValue` when day and month could be
    either."""
    if _ZONED.match(text):
        try:
            return dt.datetime.fromisoformat(text.replace(" ", "T", 1).replace(" ", "")
                                             ).astimezone(BEIJING).date()
        except ValueError:
            return None
    m = _DATE.match(text) or _COMPACT.match(text)
    if m is not None:
        return int(m.group(1)), int(m.group(2)), int(m.group(3))
    m = _YEAR_LAST.match(text)
    if m is not None:
        first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if first > 12 >= second:
            return year, second, first
        if second > 12 >= first:
            return year, first, second
        if first == second:
            return year, first, first
        raise BadValue(f"day and month could be either way round: {raw!r} (declare the "
                       f"field's format)")
    m = _MONTH_FIRST.match(text)
    if m is not None and m.group(1).lower() in _MONTHS:
        return int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2))
    m = _DAY_FIRST.match(text)
    if m is not None and m.group(2).lower() in _MONTHS:
        return int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1))
    m = _HAN_DATE.match(text)
    if m is not None:
        year = int("".join(str(_HAN_DIGITS[c]) for c in m.group(1)))
        return year, _han_number(m.group(2)), _han_number(m.group(3))
    m = _SERIAL.match(text)
    if m is not None:
        return _SERIAL_EPOCH + dt.timedelta(days=int(m.group(1)))
    m = _EPOCH.match(text)
    if m is not None:
        return dt.datetime.fromtimestamp(int(m.group(1)) / 1000, BEIJING).date()
    m = _EPOCH_S.match(text)
    if m is not None:
        return dt.datetime.fromtimestamp(int(m.group(1)), BEIJING).date()
    return None


def _han_number(text: str) -> int:
    """一 .. 三十一 (十 = 10, 十一 = 11, 二十 = 20, 二十一 = 21); 0 when malformed."""
    tens, _, units = text.rpartition("十")
    if "十" not in text:
        return _HAN_DIGITS.get(text, 0) if len(text) == 1 else 0
    if len(tens) > 1 or len(units) > 1:
        return 0
    return (_HAN_DIGITS.get(tens, 0) if tens else 1) * 10 + (_HAN_DIGITS.get(units, 0)
                                                              if units else 0)


def parse_number(raw: str, percent: bool = False) -> float | None:
    """'1,200.50', '￥3000元', '5万元', '1.5亿元' -> float; with percent=True, '30%' -> 30.0
    (a share, between 0 and 100); '1200元5角', '伍万元伍角贰分' -> with the cents."""
    if not percent and ("角" in raw or "分" in raw):
        return _with_cents(raw)
    text = _AMOUNT_WORDS.sub("", _NUMBER_NOISE.sub("", readable(raw)))
    if not text:
        return None
    scale = 1.0
    if text.endswith("万"):
        text, scale = text[:-1], 10_000.0
    elif text.endswith("亿"):
        text, scale = text[:-1], 100_000_000.0
    if percent and text.endswith("%"):
        text = text[:-1]
    try:
        value = float(text) * scale
    except ValueError:
        han = _han_amount(text + ("万" if scale == 10_000.0 else
                                  "亿" if scale > 10_000.0 else ""))
        if han is None:
            raise BadValue(f"not a number: {raw!r}") from None
        value = float(han)
    if value != value or value in (float("inf"), float("-inf")):
        raise BadValue(f"not a finite number: {raw!r}")
    if percent and not 0.0 <= value <= 100.0:
        raise BadValue(f"share out of range 0-100%: {raw!r}")
    return value


# an amount as a decision or a cheque writes it: 罚款人民币伍万元整, 五万三千元, 一亿二千万元
_AMOUNT_WORDS = re.compile(r"^(?:罚款|罚金|金额|没收违法所得|没收|合计|共计)+|整$")
_HAN_DIGIT_VALUES = ({c: i for i, c in enumerate("零一二三四五六七八九")}
                     | {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")} | {"〇": 0, "两": 2})
_HAN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}


def _han_amount(text: str) -> int | None:
    """A whole amount in Chinese numerals (伍万 -> 50000, 一亿二千万 -> 120000000, 十五万 ->
    150000), or None when `text` is anything else."""
    if not any(ch in _HAN_DIGIT_VALUES or ch in _HAN_UNITS for ch in text):
        return None
    total = section = number = 0
    for ch in text:
        if ch in _HAN_DIGIT_VALUES:
            number = _HAN_DIGIT_VALUES[ch]
        elif ch in _HAN_UNITS:
            section += (number or 1) * _HAN_UNITS[ch]
            number = 0
        elif ch == "万":
            section = (section + number) * 10_000
            number = 0
        elif ch == "亿":
            total += (section + number) * 100_000_000
            section = number = 0
        else:
            return None
    return total + section + number


# the jiao and fen after the yuan: 1200元5角, 伍万元零伍分, 叁仟圆伍角贰分整
_CENT_DIGIT = r"[0-9零一二三四五六七八九壹贰叁肆伍陆柒捌玖两]"
_CENTS = re.compile(rf"^(?P<yuan>.*?)[元圆]零?(?:(?P<jiao>{_CENT_DIGIT})角)?零?"
                    rf"(?:(?P<fen>{_CENT_DIGIT})分)?整?$")


def _with_cents(raw: str) -> float:
    m = _CENTS.match(re.sub(r"[\s,，_]", "", readable(raw)))
    if m is None or not (m.group("jiao") or m.group("fen")):
        raise BadValue(f"not a number: {raw!r}")
    yuan = parse_number(m.group("yuan")) if m.group("yuan") else 0.0
    cents = sum(10 ** (1 - i) * (int(d) if d.isdigit() else _HAN_DIGIT_VALUES[d])
                for i, d in enumerate((m.group("jiao") or "0", m.group("fen") or "0")))
    return round((yuan or 0.0) + cents / 100, 2)


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
