"""Addresses: province / city / district / street / number, and one deterministic `address_std`.

Width, spaces and traditional characters are normalised; the administrative prefix is recognised
with the gazetteer (short or full names, 上海 or 上海市), missing levels are filled in when the
lower level names them unambiguously (深圳市南山区 -> 广东省); the street is everything up to the
last road-like word before the house number. `address_std` joins the parts in a fixed order, so
two spellings of one place give the same string (and the same address node ID).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from linkage.standardise.names import SPACE, to_simplified
from linkage.standardise.regions import district_at, gazetteer, match_at
from linkage.standardise.text import readable

_POSTCODE = re.compile(r"(?<=\D)(?:邮编:?)?\d{6}$")  # a postcode after the address proper
_PUNCT = re.compile(r"[,，、;；:：'\"“”‘’()（）\[\]【】]+")
_NUMBER = re.compile(
    r"^(.*?(?:路|街|大道|道|巷|弄|胡同|里|村|镇|乡|公路|环路|线))(\d+(?:-\d+)?号)(.*)$"
)
_DASH_NUMBER = re.compile(r"(\d+)[#＃]")


class Address(NamedTuple):
    address_std: str | None
    province: str | None
    city: str | None
    district: str | None
    street: str | None
    number: str | None


def _parse(text: str) -> Address:
    g = gazetteer()
    text = text.removeprefix("中华人民共和国").removeprefix("中国")
    text = _POSTCODE.sub("", _PUNCT.sub("", text))
    text = _DASH_NUMBER.sub(r"\1号", text)
    if not text:
        return Address(None, None, None, None, None, None)
    pos = 0
    province = city = district = None
    key = match_at(g.provinces, text, pos)
    if key is not None:
        province = g.provinces[key].name
        pos += len(key)
    key = match_at(g.cities, text, pos)
    if key is not None and (province is None or g.cities[key].province == province):
        city = g.cities[key].name
        province = province or g.cities[key].province
        pos += len(key)
    elif province in g.cities:
        city = province  # a municipality: province and city are one
        if text.startswith("市", pos):
            pos += 1
    d = district_at(text, pos, province, city)
    if d is not None:
        pos += len(d.name)
        district = d.name
        city = city or d.city
        province = province or d.province
    rest = text[pos:]
    street = number = None
    m = _NUMBER.match(rest)
    if m:
        street, number, rest = m.group(1), m.group(2), m.group(3)
    parts = [province, city if city != province else None, district, street, number, rest]
    std = "".join(p for p in parts if p)
    return Address(std or None, province, city, district, street, number)


def standardise_addresses(values: Iterable[str]) -> dict[str, Address]:
    """Parse each distinct raw address once; returns raw -> Address."""
    raw = [v for v in dict.fromkeys(values) if isinstance(v, str)]
    cleaned = [SPACE.sub("", readable(v)) for v in raw]
    simplified = to_simplified(cleaned)
    return {r: _parse(s) for r, s in zip(raw, simplified, strict=True)}


def standardise_address(raw: str) -> Address:
    return standardise_addresses([raw])[raw]
