"""Dates as other writers write them: day or month first with the year last (read when a
value over 12 says which is which, refused with a clear message when it does not), English
month names, Chinese numerals as official documents write them (二〇二〇年三月五日), and a
spreadsheet's day number; `亿` in amounts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.standardise.dates import BadValue, parse_date, parse_number

_DIGITS = "〇一二三四五六七八九"


def han_number(n: int) -> str:
    tens, units = divmod(n, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")) + (
        _DIGITS[units] if units else "")


def han_date(day: dt.date) -> str:
    year = "".join(_DIGITS[int(c)] for c in str(day.year))
    return f"{year}年{han_number(day.month)}月{han_number(day.day)}日"


DAYS = st.dates(dt.date(1930, 1, 1), dt.date(2099, 12, 31))


@settings(max_examples=200, deadline=None)
@given(DAYS, st.sampled_from(["%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y"]))
def test_year_last_reads_when_a_value_over_12_tells(day: dt.date, fmt: str) -> None:
    text = day.strftime(fmt)
    if day.day > 12 or day.day == day.month:
        assert parse_date(text) == day
    else:
        with pytest.raises(BadValue, match="either way round"):
            parse_date(text)
    assert parse_date(text, fmt) == day  # a declared format decides


@settings(max_examples=200, deadline=None)
@given(DAYS, st.sampled_from(["%b %d, %Y", "%B %d %Y", "%d %b %Y", "%d-%b-%Y", "%d %B, %Y"]),
       st.booleans())
def test_english_month_names(day: dt.date, fmt: str, upper: bool) -> None:
    text = day.strftime(fmt)
    assert parse_date(text.upper() if upper else text) == day


@settings(max_examples=200, deadline=None)
@given(DAYS)
def test_chinese_numerals_and_spreadsheet_day_numbers(day: dt.date) -> None:
    assert parse_date(han_date(day)) == day
    assert parse_date(han_date(day).replace("〇", "零")) == day
    serial = (day - dt.date(1899, 12, 30)).days
    if serial >= 10_000:
        assert parse_date(str(serial)) == day
        assert parse_date(f"{serial}.5") == day  # a day number with its time of day


@settings(max_examples=100, deadline=None)
@given(DAYS, st.sampled_from(["%Y%m%d", "%Y%m%d%H%M%S", "%Y%m%d %H%M%S", "%Y%m%dT%H%M",
                              "%Y%m%d %H:%M:%S"]))
def test_compact_dates_and_database_timestamps(day: dt.date, fmt: str) -> None:
    assert parse_date(dt.datetime.combine(day, dt.time(8, 30, 5)).strftime(fmt)) == day


def test_zoned_time_stamps_epochs_and_the_days_that_mean_no_date() -> None:
    for text in ("2023-04-30T16:00:00Z", "2023-04-30 16:00:00+00:00", "2023-05-01T00:00+0800",
                 "1682870400000", "1682870400", "1682870400.25", "2023年5月1号"):
        assert parse_date(text) == dt.date(2023, 5, 1), text  # the day in Beijing
    assert parse_date("2023-04-30T15:59:59Z") == dt.date(2023, 4, 30)
    for no_date in ("1900-01-01", "1900/1/1 00:00:00", "9999-12-31", "99991231", "1899-12-30",
                    "0001-01-01"):
        assert parse_date(no_date) is None, no_date
    assert parse_date("1970-01-01") == dt.date(1970, 1, 1)  # a real birthday


def test_what_stays_unread() -> None:
    assert han_number(31) == "三十一" and han_number(10) == "十" and han_number(7) == "七"
    for bad in ("1953", "Foo 20, 1953", "二〇二〇年二月三十日", "二〇二〇年十三月一日",
                "13/13/2020", "99999", "32/01/2020", "2023050108", "202305010830001",
                "1982870400", "682870400000", "0982870400"):
        with pytest.raises(BadValue):
            parse_date(bad)


def test_amounts_in_hundred_millions() -> None:
    assert parse_number("1.5亿元") == 150_000_000.0
    assert parse_number("2亿") == 200_000_000.0
    with pytest.raises(BadValue):
        parse_number("亿")


@pytest.mark.parametrize("written,amount", [
    ("罚款人民币伍万元整", 50_000.0), ("伍万元", 50_000.0), ("五万三千元", 53_000.0),
    ("一亿二千万元", 120_000_000.0), ("十五万元", 150_000.0), ("三千零五十元", 3_050.0),
    ("壹佰万元整", 1_000_000.0), ("两千元", 2_000.0), ("罚款5000元", 5_000.0),
    ("罚款人民币5万元整", 50_000.0), ("伍万元伍角", 50_000.5), ("1,200元5角3分", 1_200.53),
    ("叁仟圆伍角贰分整", 3_000.52), ("罚款人民币伍万元零伍分", 50_000.05), ("壹佰圆整", 100.0),
])
def test_amounts_as_decisions_write_them(written: str, amount: float) -> None:
    assert parse_number(written) == amount


@pytest.mark.parametrize("written", ["五角", "万", "五万abc", "约五万元", "伍万元伍角abc",
                                     "5分", "伍万元十角"])
def test_amounts_that_stay_unread(written: str) -> None:
    with pytest.raises(BadValue):
        parse_number(written)
