"""The full-text query that gathers a name's candidates, built with the linkage's name
standardisation (`linkage.standardise.names`).

The `entity_names` index analyses names with Lucene's CJK analyzer (Han text as bigrams).
Querying a whole Chinese name ORs all its bigrams; those of the region (北京, 深圳) and of the
legal form (有限, 限公, 公司) match nearly every enterprise, so Lucene scores most of the index
for each lookup (the Neo4j name lookup's p99). The candidates are re-scored by name
similarity and the linkage model afterwards, so the query only has to gather the firms that
share the distinctive part of the name: the core name the linkage compares (region prefix and
legal form removed). Latin text keeps its words and pinyin syllables and gains prefixes of
its compact form and of its standardised pinyin's first syllables (the trade name), instead
of an infix wildcard that scans the whole term dictionary.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')
# legal forms and group words left at the end of a standardised core name
_TRAILING_FORMS = ("有限公司", "分公司", "公司", "集团", "有限")
MIN_CORE = 2
TRADE_SYLLABLES = 2


def lucene_escape(text: str) -> str:
    return "".join("\\" + ch if ch in _LUCENE_SPECIAL else ch for ch in text)


def _has_han(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


@lru_cache(maxsize=4096)
def core_name(text: str) -> str | None:
    """The linkage's standardised enterprise name without its trailing legal form; None
    when that leaves fewer than MIN_CORE characters."""
    from linkage.standardise.names import enterprise_name

    std = enterprise_name(text).name_std or ""
    changed = True
    while changed:
        changed = False
        for form in _TRAILING_FORMS:
            if std.endswith(form) and len(std) - len(form) >= MIN_CORE:
                std, changed = std[: -len(form)], True
    return std if len(std) >= MIN_CORE else None


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable. The dictionary's 40,000 readings hold about 1,500
    distinct toned syllables: converting those only is 30x quicker (a served Latin-name
    lookup used to pay seconds for this on first use)."""
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    toned = {p for v in pinyin_dict.values() for p in v.split(",")}
    return frozenset(to_normal(p) for p in toned)


def warm_up() -> None:
    """Load the syllable table and the linkage's name tools before the first lookup."""
    _syllables()
    core_name("上海预热进出口贸易有限公司")


def pinyin_terms(text: str) -> list[str]:
    """Split run-together pinyin ("shanghaihuaxin") into syllables, greedy longest match.

    The full-text index holds `name_pinyin` one syllable per token, so this lets a compact or
    differently spaced pinyin query reach its candidates."""
    known = _syllables()
    letters = "".join(ch for ch in text.lower() if "a" <= ch <= "z")
    out, i = [], 0
    while i < len(letters):
        for size in range(min(6, len(letters) - i), 0, -1):
            if letters[i : i + size] in known:
                out.append(letters[i : i + size])
                i += size
                break
        else:
            i += 1
    return out


def name_query(text: str, syllables: Callable[[str], list[str]] | None = None) -> str:
    """The OR-query of `text` for `db.index.fulltext.queryNodes` (lower-case: no AND/OR/NOT)."""
    lowered = text.lower()
    if _has_han(text):
        core = core_name(text)
        return lucene_escape((core or lowered).lower())
    if syllables is None:
        syllables = pinyin_terms
    terms = [lucene_escape(lowered), *syllables(text)]
    compact = "".join(ch for ch in lowered if "a" <= ch <= "z" or ch.isdigit())
    if len(compact) >= 3 and compact.isascii():
        terms.append(f"{compact}*")
        std = core_name(text)
        trade = "".join(syllables(std)[:TRADE_SYLLABLES]) if std else ""
        if len(trade) >= 3 and trade != compact:
            terms.append(f"{trade}*")
    return " ".join(t for t in terms if t.strip())
