"""Address parsing and the deterministic address_std; date and number parsing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.standardise.addresses import standardise_address
from linkage.standardise.dates import BadValue, parse_date, parse_number

# (province, city, district) as written in full
PLACES = [
    ("上海市", "上海市", "浦东新区"), ("北京市", "北京市", "海淀区"),
    ("广东省", "深圳市", "南山区"), ("浙江省", "宁波市", "北仑区"),
    ("山东省", "青岛市", "黄岛区"), ("天津市", "天津市", "滨海新区"),
]
STREETS = ["张江路", "南海大道", "学院路", "明州路", "长江中路"]


@st.composite
def addresses(draw: st.DrawFn) -> tuple[str, tuple[str, str, str]]:
    province, city, district = draw(st.sampled_from(PLACES))
    head = province + ("" if city == province else city) + district
    number = draw(st.integers(1, 999))
    extra = draw(st.sampled_from(["", "5楼", "3幢101室"]))
    return f"{head}{draw(st.sampled_from(STREETS))}{number}号{extra}", (province, city, district)


def test_parts() -> None:
    a = standardise_address("广东省深圳市南山区南海大道12号3幢101室")
    assert (a.province, a.city, a.district, a.street, a.number) == (
        "广东省", "深圳市", "南山区", "南海大道", "12号")
    assert a.address_std == "广东省深圳市南山区南海大道12号3幢101室"


def test_missing_levels_are_filled_from_lower_ones() -> None:
    a = standardise_address("深圳南山区南海大道12号")
    assert (a.province, a.city, a.district) == ("广东省", "深圳市", "南山区")


def test_ambiguous_district_is_not_guessed() -> None:
    a = standardise_address("朝阳区建国路88号")  # Beijing and Changchun both have one
    assert a.province is None and a.district is None


def test_postcode_and_country_are_dropped() -> None:
    a = standardise_address("中国北京市朝阳区建国路88号 100022")
    assert a.address_std == "北京市朝阳区建国路88号"


@settings(max_examples=150, deadline=None)
@given(addresses(), st.data())
def test_spellings_of_one_address_agree(case: tuple[str, tuple[str, str, str]],
                                        data: st.DataObject) -> None:
    text, (province, city, district) = case
    a = standardise_address(text)
    assert (a.province, a.city, a.district) == (province, city, district)
    # idempotent
    assert a.address_std is not None and standardise_address(a.address_std) == a
    # full-width digits, a stray space, the province dropped, "市" dropped once
    full = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    cut = data.draw(st.integers(1, len(text) - 1))
    variants = [full, text[:cut] + " " + text[cut:], text.replace("市", "", 1)]
    if province != city:
        variants.append(text.removeprefix(province))
    for v in variants:
        assert standardise_address(v).address_std == a.address_std, v


@settings(max_examples=100, deadline=None)
@given(st.dates(dt.date(1950, 1, 1), dt.date(2030, 12, 31)),
       st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d", "%Y-%m-%d 00:00:00",
                        "%Y.%m.%d"]))
def test_dates_in_common_formats(day: dt.date, fmt: str) -> None:
    assert parse_date(day.strftime(fmt)) == day
    assert parse_date(day.strftime(fmt), fmt) == day


def test_bad_and_empty_dates() -> None:
    assert parse_date("  ") is None
    for bad in ("2024-13-45", "yesterday", "1800-01-01", "2023-02-30"):
        with pytest.raises(BadValue):
            parse_date(bad)


def test_numbers() -> None:
    assert parse_number("1,200.50") == 1200.5
    assert parse_number("￥3000元") == 3000.0
    assert parse_number("5万元") == 50_000.0
    assert parse_number("30%", percent=True) == 30.0
    assert parse_number("") is None
    with pytest.raises(BadValue):
        parse_number("about ten")
    with pytest.raises(BadValue):
        parse_number("nan")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="上海市北京广东省深圳南山区浦东新区朝阳县路街道大道号楼室0123456789 -，",
               max_size=30))
def test_address_std_is_idempotent_on_any_text(text: str) -> None:
    a = standardise_address(text)
    if a.address_std is not None:
        assert standardise_address(a.address_std).address_std == a.address_std
