"""Comparison keys of enterprise names: what is left of a name once region and legal form go.

`name_std` (linkage.standardise.names) keeps the legal form and takes the region out only where
it leads the name or stands in brackets. Agencies write more variants of one firm than that; the
keys below are what the enterprise model compares when the standardised names differ:

- `name_key`: the standardised core without any legal form, whole or cut by a narrow form field
  (…股份有限公司, …股份有限, …有限责), and without a region token standing between the trade name
  and the industry (海汇青岛水产品 -> 海汇水产品), with or without 省 / 市 / 区 / 县.
  A branch (分公司, 分厂, 办事处…) keeps its whole name behind a `#`: it is a different entity
  from its parent, and the parent's key is never the start of the branch's.
- `name_key_pinyin`: its pinyin for a Chinese name; for a Latin-script name (customs English)
  the words mapped through the vocabulary without the legal form, so "TIAN JIN TIANCHENGGUOJI
  MECHANICAL AND ELECTRICAL EQUIPMENT CO., LTD." and 天津天成国际机电设备有限公司 share
  `tianchengguojijidianshebei`.

The region itself is compared separately (the `region` comparison), so two namesake firms of
different cities share a key but not a region. Each distinct raw value is keyed once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import pandas as pd

from linkage.standardise.names import (
    SPACE,
    chinese_enterprise,
    core_pinyin,
    has_han,
    latin_phrases,
    to_simplified,
)
from linkage.standardise.regions import district_at, gazetteer, match_at
from linkage.standardise.text import readable
from linkage.standardise.vocabulary import (
    CHINESE_GENERIC,
    EQUIVALENT_READINGS,
    english_words,
    same_industry_words,
)

# Legal forms dropped from the key, with the cut forms narrow fields leave (longest first).
_FULL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "公司", "有")
_CUT_FORMS = tuple(
    form[:n] for form in ("股份有限公司", "有限责任公司", "有限公司") for n in range(2, len(form))
)
_FORMS = tuple(sorted(set(_FULL_FORMS + _CUT_FORMS), key=len, reverse=True))
# A branch or office of a firm is a registered entity of its own, named after its parent.
BRANCH_MARKERS = ("分公司", "分厂", "办事处", "营业部", "分部", "分店", "分社", "代表处", "分所")
# Leads the key of a branch, so that its parent's key is never a prefix of it (prefix level).
BRANCH_KEY = "#"
_LATIN_BRANCH = frozenset({"branch", "office"})
_LATIN_FORMS = frozenset({"youxiangongsi", "gongsi"})
_MIN_KEY = 2
_MIN_TRADE = 2


class NameKeys(NamedTuple):
    name_key: str | None
    name_key_pinyin: str | None


def is_branch(core: str) -> bool:
    return any(marker in core for marker in BRANCH_MARKERS)


def _drop_form(core: str) -> str:
    """华信贸易有限公司 / 华信贸易股份有限 / 华信贸易有限责 -> 华信贸易 (never emptied, and a
    name that is nothing but a legal form stays as it is)."""
    if core in _FORMS or core in _FULL_FORMS:
        return core
    for form in _FORMS:
        if core.endswith(form) and len(core) - len(form) >= _MIN_KEY:
            return core[: -len(form)]
    return core


def _region_length(text: str, pos: int) -> int:
    """Length of a province / city / district name starting at `pos` (0 when none)."""
    g = gazetteer()
    best = 0
    for table in (g.cities, g.provinces):
        key = match_at(table, text, pos)
        if key is not None:
            best = max(best, len(key))
    d = district_at(text, pos, None, None)
    if d is not None:
        best = max(best, len(d.name))
    if best and text.startswith(("省", "市"), pos + best):  # 青岛 + 市 written apart
        best += 1
    return best


def _drop_inner_region(core: str) -> str:
    """海汇青岛水产品 -> 海汇水产品: a region between a trade name and an industry word (or at the
    very end) is the firm's location, not part of its name."""
    pos = _MIN_TRADE
    while pos < len(core) - 1:
        length = _region_length(core, pos)
        if length:
            rest = core[pos + length:]
            if not rest or rest.startswith(CHINESE_GENERIC):
                return core[:pos] + rest
        pos += 1
    return core


def chinese_key(core: str) -> str:
    """The key of a standardised Chinese core (as `names` leaves it: region prefix and bracketed
    region out, legal forms unified)."""
    if is_branch(core):
        return BRANCH_KEY + core
    key = _drop_form(core)
    if len(key) > _MIN_TRADE + 1:
        key = _drop_inner_region(key)
    return same_industry_words(_drop_form(key), _MIN_TRADE)


def latin_key(text: str) -> str:
    """Mapped words of a Latin-script name without the legal form (kept for a branch)."""
    words = english_words(text)
    parts = [EQUIVALENT_READINGS.get(p, p) for p in latin_phrases(text)]
    if not _LATIN_BRANCH.isdisjoint(words):
        return BRANCH_KEY + "".join(parts)
    while len(parts) > 1 and parts[-1] in _LATIN_FORMS:
        parts.pop()
    return "".join(parts)


def enterprise_keys(values: Iterable[str]) -> dict[str, NameKeys]:
    """raw enterprise name -> NameKeys, each distinct value once; any string is accepted."""
    raw = [v for v in dict.fromkeys(values) if isinstance(v, str)]
    simplified = to_simplified([readable(v) for v in raw])
    pinyin_of: dict[str, str] = {}
    out: dict[str, NameKeys] = {}
    for original, text in zip(raw, simplified, strict=True):
        if not text.strip():
            out[original] = NameKeys(None, None)
        elif has_han(text):
            core, _ = chinese_enterprise(SPACE.sub("", text))
            key = chinese_key(core)
            if key not in pinyin_of:
                pinyin_of[key] = core_pinyin(key)
            out[original] = NameKeys(key or None, pinyin_of[key] or None)
        else:
            latin = latin_key(text)
            out[original] = NameKeys(latin or None, latin or None)
    return out


def keys_from_standardised(pairs: Iterable[tuple[str, str | None]]) -> dict[str, NameKeys]:
    """raw name -> NameKeys from (raw name, its `name_std`) pairs, as extraction standardised
    them: a Chinese name's key starts from its `name_std` (not standardised twice), a
    Latin-script name is keyed from its words. Gives what `enterprise_keys` gives."""
    out: dict[str, NameKeys] = {}
    latin: list[str] = []
    pinyin_of: dict[str, str] = {}
    for raw, std in pairs:
        if raw in out or not isinstance(raw, str):
            continue
        if std is None or not has_han(std):
            latin.append(raw)
            continue
        key = chinese_key(std)
        if key not in pinyin_of:
            pinyin_of[key] = core_pinyin(key)
        out[raw] = NameKeys(key or None, pinyin_of[key] or None)
    out.update(enterprise_keys(latin))
    return out


def enterprise_key(raw: str) -> NameKeys:
    """The keys of one enterprise name (use `enterprise_keys` for many)."""
    return enterprise_keys([raw])[raw]


def keys_of_names(names: pd.Series, std: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`name_key` and `name_key_pinyin` of each enterprise name in `names`, one computation
    per distinct name, from its standardised form (`std`) where extraction made one."""
    frame = pd.DataFrame({"raw": names, "std": std}).dropna(subset=["raw"])
    pairs = frame.drop_duplicates("raw").itertuples(index=False)
    keys = keys_from_standardised((str(r), s if isinstance(s, str) else None) for r, s in pairs)
    return (names.map({k: v.name_key for k, v in keys.items()}).astype(object),
            names.map({k: v.name_key_pinyin for k, v in keys.items()}).astype(object))
