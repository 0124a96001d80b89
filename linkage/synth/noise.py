"""How names, addresses and identifiers get written differently by different agencies."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import opencc

from linkage.synth import identifiers as ids
from linkage.synth import names as nm
from linkage.synth.world import Firm

_S2T = opencc.OpenCC("s2t")
_FULL_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")

NAME_NOISE = (
    "form_variant", "region_dropped", "region_bracketed", "region_added", "spaces",
    "traditional", "truncated",
)


@cache
def traditional(text: str) -> str:
    return str(_S2T.convert(text))


@dataclass(frozen=True)
class NoiseLevel:
    """Probabilities of each kind of corruption for one source."""

    name: float = 0.0  # any Chinese-name variant
    english: float = 0.0  # pinyin / English name (customs only)
    id_missing: float = 0.0
    id_mistyped: float = 0.0


def firm_name(f: Firm, level: NoiseLevel, rng: random.Random) -> tuple[str, str]:
    """The firm's name as this record writes it, with the kind of variant ('clean' if none)."""
    r = rng.random()
    if r < level.english:
        ind_en = nm.INDUSTRIES[f.industry][1]
        region = f.region.removesuffix("市") if rng.random() < 0.8 else ""
        text = nm.english_firm_name(region, f.brand, ind_en, nm.FORMS[f.form][1])
        if rng.random() < 0.2:
            text = text.title().replace("Co., Ltd.", "Co.,Ltd")
        return text, "english"
    if r >= level.english + level.name:
        return f.name, "clean"
    kind = rng.choice(NAME_NOISE)
    return _variant(f, kind, rng), kind


def _variant(f: Firm, kind: str, rng: random.Random) -> str:
    industry = nm.INDUSTRIES[f.industry][0]
    form = nm.FORMS[f.form][0]
    core = f.brand + industry
    if kind == "form_variant":
        alt = "有限责任公司" if form == "有限公司" else "有限公司"
        return f.region + core + alt
    if kind == "region_dropped":
        return core + form
    if kind == "region_bracketed":
        region = f.region.removesuffix("市")
        if rng.random() < 0.5:
            return f"{core}（{region}）{form}"
        return f"{core}({region}){form}"
    if kind == "region_added":
        d = nm.DISTRICTS[f.district]
        if d.province != d.city:
            return d.province + d.city + core + form
        return d.city + d.district + core + form
    if kind == "spaces":
        text = f.name
        i = rng.randrange(1, len(text))
        return (" " if rng.random() < 0.3 else "") + text[:i] + " " + text[i:]
    if kind == "traditional":
        return traditional(f.name)
    # truncated: drop the legal form, or cut the tail as narrow form fields do
    if rng.random() < 0.5:
        return f.region + core
    return f.name[: max(4, len(f.name) - rng.randint(2, 4))]


def person_name(name: str, rng: random.Random, p: float) -> str:
    """Person names: a stray space between surname and given name, or traditional characters."""
    if rng.random() >= p:
        return name
    if rng.random() < 0.6:
        return name[0] + " " + name[1:]
    return traditional(name)


def identifier(value: str, level: NoiseLevel, rng: random.Random) -> tuple[str, str]:
    """('', 'missing'), (mistyped, 'mistyped') or (value, 'clean')."""
    r = rng.random()
    if r < level.id_missing:
        return "", "missing"
    if r < level.id_missing + level.id_mistyped:
        return ids.mistype(value, rng), "mistyped"
    return value, "clean"


def address(text: str, rng: random.Random, p: float) -> str:
    """Registry addresses written with full-width digits, dropped province or stray spaces."""
    if rng.random() >= p:
        return text
    r = rng.random()
    if r < 0.35:
        return text.translate(_FULL_DIGITS)
    if r < 0.7:
        for prefix in ("广东省", "浙江省", "江苏省", "山东省", "福建省", "辽宁省", "四川省",
                       "湖北省"):
            if text.startswith(prefix):
                return text[len(prefix):]
        return text.replace("市", "", 1)
    i = rng.randrange(2, len(text))
    return text[:i] + " " + text[i:]
