"""A gazetteer of Chinese administrative divisions, built from python-stdnum's division table.

python-stdnum ships the GB/T 2260 division codes (province, prefecture, county, with the years
each name was in use) to validate resident ID birth places; we reuse that table to recognise
region names in enterprise names and addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import stdnum
from pypinyin import Style, lazy_pinyin, pinyin

_LINE = re.compile(r'^(\s*)(\d+) (?:province|county)="(.*)"$')
_PERIOD = re.compile(r"^\[(\d*)-(\d*)\]")
_PROVINCE_SUFFIXES = (
    "壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市",
)
_CITY_SUFFIXES = ("自治州", "地区", "盟", "市")
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "省直辖行政单位"}
_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")


@dataclass(frozen=True)
class Division:
    name: str  # full name: 广东省 / 深圳市 / 南山区
    level: str  # province | city | district
    province: str
    city: str | None  # the prefecture-level city (the municipality itself for 北京市 …)
    current: bool  # still in use in the latest table


def short_name(name: str) -> str:
    """广东省 -> 广东, 深圳市 -> 深圳, 内蒙古自治区 -> 内蒙古 (districts keep their suffix)."""
    for suffix in _PROVINCE_SUFFIXES + _CITY_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _names(field: str) -> list[tuple[str, bool]]:
    """'[-1991]东郊区,[1992-]东丽区' -> [('东郊区', False), ('东丽区', True)]."""
    out = []
    for part in field.split(","):
        m = _PERIOD.match(part)
        current = True
        if m:
            current = not m.group(2)
            part = part[m.end():]
        if part:
            out.append((part, current))
    return out


@dataclass(frozen=True)
class Gazetteer:
    provinces: dict[str, Division]  # by full and short name
    cities: dict[str, Division]  # by full and short name
    districts: dict[str, list[Division]]  # by full name (names repeat across cities)
    pinyin: dict[str, str]  # pinyin of province / city short names -> full name
    first_chars: frozenset[str]  # first characters of every province and city key


def _readings(text: str) -> list[str]:
    """Every pinyin reading of a short place name (长治: changzhi and zhangzhi), default first."""
    readings = [""]
    for options in pinyin(text, style=Style.NORMAL, heteronym=True):
        readings = [r + o for r in readings for o in dict.fromkeys(options)][:16]
    default = "".join(lazy_pinyin(text))
    return [default, *[r for r in readings if r != default]]


def _table_path() -> Path:
    return Path(stdnum.__file__).parent / "cn" / "loc.dat"


@cache
def gazetteer() -> Gazetteer:
    provinces: dict[str, Division] = {}
    cities: dict[str, Division] = {}
    districts: dict[str, list[Division]] = {}
    province = ""
    city_names: dict[str, str] = {}  # 4-digit prefecture code -> city name
    for line in _table_path().read_text(encoding="utf-8").splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        indent, code, field = m.groups()
        if not indent:
            province = field.replace("特別行政區", "特别行政区").replace("澳門", "澳门")
            div = Division(province, "province", province, None, True)
            provinces.setdefault(province, div)
            provinces.setdefault(short_name(province), div)
            city_names.clear()
            continue
        if code == "0000":
            continue
        for name, current in _names(field):
            if code.endswith("00"):
                if name in _PLACEHOLDERS or "直辖" in name:
                    if province in _MUNICIPALITIES:
                        city_names[code[:2]] = province
                    continue
                city_names[code[:2]] = name
                div = Division(name, "city", province, name, current)
                for key in (name, short_name(name)):
                    if key not in cities or (current and not cities[key].current):
                        cities[key] = div
            else:
                if name in _PLACEHOLDERS or "直辖" in name:
                    continue
                city = city_names.get(code[:2])
                if city is None and province in _MUNICIPALITIES:
                    city = province
                div = Division(name, "district", province, city, current)
                bucket = districts.setdefault(name, [])
                if all((d.province, d.city) != (div.province, div.city) for d in bucket):
                    bucket.append(div)
    for muni in _MUNICIPALITIES:  # a municipality is both a province and a city
        cities.setdefault(muni, Division(muni, "city", muni, muni, True))
        cities.setdefault(short_name(muni), cities[muni])
    by_pinyin: dict[str, str] = {}
    for table in (provinces, cities):
        for key, div in table.items():
            if key == div.name and div.current:
                for reading in _readings(short_name(key)):
                    by_pinyin.setdefault(reading, div.name)
    first = frozenset(k[0] for k in (*provinces, *cities))
    return Gazetteer(provinces, cities, districts, by_pinyin, first)


def district_at(text: str, pos: int, province: str | None,
                city: str | None) -> Division | None:
    """The longest district name (ending in 区 / 县 / 市 / 旗) starting at `pos`, within the
    given province / city, or the only district of that name anywhere."""
    districts = gazetteer().districts
    for length in range(min(8, len(text) - pos), 1, -1):
        piece = text[pos : pos + length]
        if piece[-1] in "区县市旗" and piece in districts:
            found = district_in(piece, province, city)
            if found is not None:
                return found
    return None


def district_in(name: str, province: str | None, city: str | None) -> Division | None:
    """The district called `name` within the given province / city, or the only one of that name."""
    candidates = gazetteer().districts.get(name, [])
    if city:
        candidates = [d for d in candidates if d.city == city]
    elif province:
        candidates = [d for d in candidates if d.province == province]
    current = [d for d in candidates if d.current]
    if len(current) == 1:
        return current[0]
    return candidates[0] if len(candidates) == 1 else None


def match_at(table: dict[str, Division], text: str, pos: int) -> str | None:
    """The longest key of `table` (a province or city name, full or short) starting at `pos`.

    A short name directly followed by 区 / 县 / 旗 is part of a district's name (朝阳区 is not the
    city 朝阳), so it does not count.
    """
    if pos >= len(text) or text[pos] not in gazetteer().first_chars:
        return None
    for length in range(min(10, len(text) - pos), 1, -1):
        key = text[pos : pos + length]
        if key not in table:
            continue
        after = text[pos + length : pos + length + 1]
        if key != table[key].name and after and after in "区县旗":
            continue
        return key
    return None
