"""Every standardiser accepts any string: it returns a value, or "missing" / "malformed", and
never raises. Driven with arbitrary unicode (no surrogates), control characters, long strings."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage.standardise.addresses import standardise_addresses
from linkage.standardise.dates import parse_many_dates, parse_many_numbers
from linkage.standardise.name_keys import enterprise_keys
from linkage.standardise.names import standardise_enterprise_names, standardise_person_names
from linkage.standardise.phones import normalise_many_phones
from linkage.standardise.regions import district_at, district_in, gazetteer, match_at

# Any text without surrogates; control characters included; sometimes very long.
_ALPHABET = st.characters(codec="utf-8")  # every code point but surrogates
_PIECES = st.sampled_from([
    "上海市", "浙江省宁波市", "北仑区", "有限公司", "股份有限", "（青岛）", "(", ")", "（", "）",
    "CO., LTD.", "TIAN JIN", "&", "·", "市", "省", "区", "县", "\x00", "\n", "\r\n", "\t",
    "\u200b", "\ufeff", "２０２３年５月１日", "+86", "转", "%", "万", "1e308", "nan", "-",
])
any_text = st.one_of(
    st.text(_ALPHABET, max_size=40),
    st.lists(st.one_of(_PIECES, st.text(_ALPHABET, max_size=3)), max_size=12).map("".join),
    st.text(_ALPHABET, min_size=500, max_size=3000),
)
SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _optional_str(value: object) -> bool:
    return value is None or (isinstance(value, str) and value != "")


@SETTINGS
@given(st.lists(any_text, min_size=1, max_size=4))
def test_enterprise_names_accept_any_text(values: list[str]) -> None:
    names = standardise_enterprise_names(values)
    keys = enterprise_keys(values)
    for v in values:
        assert all(_optional_str(x) for x in names[v])
        assert all(_optional_str(x) for x in keys[v])


@SETTINGS
@given(st.lists(any_text, min_size=1, max_size=4))
def test_person_names_accept_any_text(values: list[str]) -> None:
    out = standardise_person_names(values)
    for v in values:
        assert all(_optional_str(x) for x in out[v])


@SETTINGS
@given(st.lists(any_text, min_size=1, max_size=4))
def test_addresses_accept_any_text(values: list[str]) -> None:
    out = standardise_addresses(values)
    for v in values:
        assert all(_optional_str(x) for x in out[v])


@SETTINGS
@given(st.lists(any_text, min_size=1, max_size=4))
def test_phones_accept_any_text(values: list[str]) -> None:
    out = normalise_many_phones(values)
    for v in values:
        assert out[v] is None or out[v].startswith("+")  # type: ignore[union-attr]


@SETTINGS
@given(st.lists(any_text, min_size=1, max_size=4), st.sampled_from([None, "%Y-%m-%d", "%d/%m/%Y"]))
def test_dates_accept_any_text(values: list[str], fmt: str | None) -> None:
    out = parse_many_dates(values, fmt)
    for v in values:
        # a date, None (empty), or the message of a malformed value
        assert out[v] is None or isinstance(out[v], (dt.date, str))


@SETTINGS
@given(st.lists(any_text, min_size=1, max_size=4), st.booleans())
def test_numbers_and_shares_accept_any_text(values: list[str], percent: bool) -> None:
    out = parse_many_numbers(values, percent)
    for v in values:
        got = out[v]
        assert got is None or isinstance(got, str) or got == got  # never NaN


@SETTINGS
@given(any_text, st.integers(0, 50))
def test_region_lookups_accept_any_text(text: str, pos: int) -> None:
    g = gazetteer()
    for table in (g.cities, g.provinces):
        key = match_at(table, text, pos)
        assert key is None or key in table
    district_at(text, pos, None, None)
    district_in(text, None, None)
