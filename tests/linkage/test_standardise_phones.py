"""Phone normalisation to E.164."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.extract import extract
from linkage.standardise.phones import _parse, area_codes, local_phone, normalise_phone

# mobile numbers of allocated ranges: 13x, 15x, 17x but 179 (an IP-call prefix, rightly
# refused below, which "17" + any nine digits drew now and then: a flaky failure), 18x, 19x
MOBILE_PREFIXES = ([f"1{a}{b}" for a in "3589" for b in "0123456789"]
                   + [f"17{b}" for b in "012345678"])
mobiles = st.builds(lambda p, rest: p + rest, st.sampled_from(MOBILE_PREFIXES),
                    st.text("0123456789", min_size=8, max_size=8))
AREA_CODES = ["010", "021", "022", "020", "0755", "0571", "0574", "0532", "0592", "028"]


@settings(max_examples=200, deadline=None)
@given(mobiles, st.sampled_from(["{n}", "{a}-{b}-{c}", "{a} {b} {c}", "+86 {a} {b} {c}",
                                 "86-{n}", "+86{n}", "0086 {n}", "({a}){b}{c}"]))
def test_mobile_formats_give_one_number(number: str, fmt: str) -> None:
    text = fmt.format(n=number, a=number[:3], b=number[3:7], c=number[7:])
    assert normalise_phone(text) == "+86" + number


@settings(max_examples=200, deadline=None)
@given(mobiles)
def test_mobile_fast_path_agrees_with_phonenumbers(number: str) -> None:
    assert normalise_phone(number) == _parse(number)


def test_carrier_selection_prefix_is_left_to_phonenumbers() -> None:
    # 17900 is an IP-call prefix, not a mobile range: hypothesis once found the fast path
    # answering +8617900001000 where phonenumbers finds no number
    for number in ("17900001000", "17910001000", "17950001000", "17901234567", "17911234567"):
        assert normalise_phone(number) == _parse(number)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(AREA_CODES), st.text("2345678", min_size=1, max_size=1),
       st.text("0123456789", min_size=7, max_size=7), st.integers(100, 9999),
       st.sampled_from(["{ac}-{local}", "{ac}{local}", "({ac}){local}", "{ac}-{local}-{ext}",
                        "+86-{ac1}-{local}", "{ac} {local} 转 {ext}", "{ac}-{local} ext. {ext}",
                        "０{ac1}－{local}"]))
def test_landline_formats_give_one_number(
    area: str, first: str, rest: str, ext: int, fmt: str
) -> None:
    local = first + rest
    text = fmt.format(ac=area, ac1=area[1:], local=local, ext=ext)
    assert normalise_phone(text) == "+86" + area[1:] + local


def test_unplaceable_numbers() -> None:
    assert normalise_phone("62381234") is None  # a landline without its area code
    assert normalise_phone("12345") is None
    assert normalise_phone("") is None
    assert normalise_phone("tel: n/a") is None


def test_foreign_number_must_be_valid() -> None:
    assert normalise_phone("+1 650 253 0000") == "+16502530000"
    assert normalise_phone("+1 000 000 0000") is None


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789", min_size=9, max_size=13),
       st.sampled_from(["{d}", "0{d}", "+86{d}", "+86 0{d}", "0086{d}", "86{d}"]))
def test_fast_paths_agree_with_phonenumbers(digits: str, fmt: str) -> None:
    # without separators there is no extension to drop: the answer is phonenumbers' own
    text = fmt.format(d=digits)
    assert normalise_phone(text) == _parse(text)


@pytest.mark.parametrize("written, phone", [
    ("13812345678/13987654321", "+8613812345678"),
    ("138****5678/13987654321", "+8613987654321"),  # a masked first number: the second
    ("021-61234567；13812345678", "+8613812345678"),  # the desk's line first: the mobile
    ("0571-88234567／13958112233", "+8613958112233"),
    ("021-61234567/021-61234568", "+862161234567"),  # no mobile: the first that reads
    ("13812345678或13987654321", "+8613812345678"),
    ("021/61234567", "+862161234567"),  # a slash after the area code: one number
    ("无/无", None),
    ("/", None),
])
def test_of_several_numbers_in_a_cell_the_first_mobile_is_the_phone(
        written: str, phone: str | None) -> None:
    assert normalise_phone(written) == phone


@pytest.mark.parametrize("written,city,phone", [
    ("87680542", "深圳市", "+8675587680542"),
    ("6238 1234", "上海市", "+862162381234"),
    ("8768054", "宁波市", "+865748768054"),  # a 7-digit local number
    ("87680542 转 801", "北京市", "+861087680542"),
    ("87680542", "铁岭市", "+862487680542"),  # an area code several cities share
    ("87680542", None, None),  # no city: cannot be placed
    ("87680542", "不存在市", None),
    ("1234", "上海市", None),  # no local number
    ("13812345678", "上海市", None),  # a mobile is read without any city (normalise_phone)
])
def test_a_local_number_is_placed_by_the_records_city(written: str, city: str | None,
                                                       phone: str | None) -> None:
    assert local_phone(written, city) == phone


def test_area_codes_of_the_cities_addresses_name() -> None:
    codes = area_codes()
    assert len(codes) > 300
    assert (codes["北京市"], codes["上海市"], codes["深圳市"], codes["苏州市"]) == (
        "10", "21", "755", "512")


def test_extraction_places_a_local_number_by_the_address(tmp_path: Path) -> None:
    (tmp_path / "reg.csv").write_text(
        "编号,企业名称,住所,电话\n"
        "R1,深圳市鑫达电子有限公司,广东省深圳市南山区科技园1号,87680542\n"
        "R2,上海华信贸易有限公司,,62381234\n", encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "version: 1\nsources:\n  reg:\n    path: reg.csv\n    format: csv\n    key: 编号\n"
        "    mentions:\n      firm:\n        kind: enterprise\n        required: [name]\n"
        "        properties: {name: 企业名称, address: 住所, phone: 电话}\n", encoding="utf-8")
    x = extract(tmp_path / "sources.yaml")
    phones = x.mentions.set_index("record_id")["phone"]
    assert phones["R1"] == "+8675587680542"
    assert phones["R2"] == "+862162381234"  # no address: the region the firm's name carries
