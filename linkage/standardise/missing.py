"""Values written to say that there is no value: NULL, \\N, N/A, #N/A, 无, 暂无, 不详, -.

Database exports write an empty cell as NULL (or \\N: MySQL and Hive dumps), spreadsheets as
#N/A, N/A or a dash, and Chinese forms as 无, 暂无, 不详 or 未知. Read as values, they were
evidence: every address written NULL agreed with every other, a person named 无 was a
person, an enterprise named N/A could gather the mentions of unrelated firms, and a date
written NULL was a bad date. `is_placeholder` says whether a value is such a word or
only dashes, slashes, dots, asterisks and question marks (in brackets or not: （空）, [NULL]);
`linkage.rowmap` reads them as empty in the properties and identifiers of a mention and in
every date and number. In the text of a relation or an event (a role, a category, a
description) only an export's word (NULL, \\N, #N/A, N/A: `EXPORT_WORDS`) is empty: 处罚结果
无 or a dash says something there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from linkage.standardise.text import INVISIBLE, readable

# compared after NFKC, case folding and the brackets around the whole value: what database
# and spreadsheet exports write (no one writes these to say something) ...
EXPORT_WORDS = frozenset({
    "null", "\\n", "none", "nan", "nil", "na", "n/a", "n.a.", "n.a", "#n/a", "#null!",
    "#value!", "#ref!", "#div/0!", "#name?", "#num!", "undefined", "unknown", "not available",
})
# ... and what Chinese forms write where a name, a code or a date would be
WORDS = EXPORT_WORDS | frozenset({
    "无", "暂无", "没有", "空", "空白", "不详", "未知", "不明", "缺失", "未填", "未填写",
    "未提供", "无数据", "暂缺", "待定", "待补充", "不适用", "无此项", "查无",
    # a hand-kept sheet's ditto (同上: as the row above): the value is another row's, and
    # read as written, every ditto of a column agreed with every other, across firms
    "同上", "同左", "见上", "同前", "仝上", "〃", "ditto", "same as above",
})
LONGEST = 64  # characters: a longer value is no placeholder, whatever surrounds it
_OPENING, _CLOSING = "([<{【〔", ")]>}】〕"  # brackets around a whole value
_MARK_CHARS = "-‐‑‒–—―_/\\.·…?*~"  # a value of these only says nothing
_ONLY_MARKS = re.compile(f"[\\s{re.escape(_MARK_CHARS)}]+")
_BRACKETS = re.compile(f"^[{re.escape(_OPENING)}]\\s*(.*?)\\s*[{re.escape(_CLOSING)}]$")


def is_placeholder(value: str, *, exports_only: bool = False) -> bool:
    """Whether `value` says that there is no value (`WORDS`, or marks only); an empty value
    is not one (it is missing already). `exports_only`: an export's word alone
    (`EXPORT_WORDS`, for a text where 无 or a dash may say something)."""
    text = readable(value).strip()
    if not text or len(value) > LONGEST:
        return False
    inner = _BRACKETS.match(text)
    text = inner[1] if inner and inner[1] else text
    if exports_only:
        return text.casefold() in EXPORT_WORDS
    return text.casefold() in WORDS or _ONLY_MARKS.fullmatch(text) is not None


def placeholders(values: Iterable[str], *, exports_only: bool = False) -> set[str]:
    """The values of `values` that are placeholders (each distinct value judged once)."""
    return {v for v in set(values)
            if isinstance(v, str) and is_placeholder(v, exports_only=exports_only)}


@cache
def could_be_placeholder() -> re.Pattern[str]:
    """A pattern every placeholder matches whole (a necessary condition, cheaper to test on a
    column's distinct values than the judgement itself): at most `LONGEST`
    characters, each a space or a character that reads (NFKC, case folded, invisible
    characters dropped) as characters of `WORDS`, marks or brackets. Built once, from the
    characters of Unicode's first two planes."""
    base = set("".join(WORDS)) | set(_OPENING + _CLOSING + _MARK_CHARS) | {" "}
    base |= {c.upper() for c in base}
    allowed = [c for c in map(chr, range(0x20000))
               if not 0xD800 <= ord(c) <= 0xDFFF
               and (c.isspace() or INVISIBLE.fullmatch(c) is not None
                    or (readable(c) and set(readable(c)) <= base
                        and set(readable(c).casefold()) <= base))]
    chars = "".join(re.escape(c) for c in allowed)
    return re.compile(f"[{chars}]{{1,{LONGEST}}}")
