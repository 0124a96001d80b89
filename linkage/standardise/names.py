"""Enterprise and person names: one comparable form per raw spelling, computed once per
distinct value.

Enterprise names (region + trade name + industry + legal form) are normalised so that the ways
agencies write the same firm compare equal: full/half width (NFKC), spaces, traditional
characters (OpenCC t2s), legal-form variants (有限责任公司 / 股份有限公司 -> 有限公司), and
the region, whether a prefix (上海 / 广东省深圳市) or bracketed (华信贸易（上海）有限公司), moved
into its own field. `name_pinyin` is a toneless pinyin string without spaces; English / pinyin
customs names map to the same form (the vocabulary module translates industry words and legal
forms).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import opencc
from pypinyin import lazy_pinyin

from linkage.standardise.regions import district_at, district_in, gazetteer, match_at
from linkage.standardise.surnames import COMPOUND, READINGS, SURNAMES, surname_first
from linkage.standardise.text import readable
from linkage.standardise.vocabulary import (
    CHINESE_GENERIC,
    LATIN_GENERIC_FIRST_WORDS,
    LONGEST_PHRASE,
    PHRASES,
)

_T2S = opencc.OpenCC("t2s")
SPACE = re.compile(r"\s+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")",
                           "{": "(", "}": ")"})
_BRACKETED = re.compile(r"\(([^()]*)\)")
_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u9fff\uf900-\ufaff]+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_DOTS = re.compile(r"[·•・‧∙.]+")
_FORMS = (("有限责任公司", "有限公司"), ("股份有限公司", "有限公司"))
_FORM_ONLY = {"有限公司", "公司", "分公司", "集团", "集团有限公司", ""}
_MIN_CORE = 2
_LONGEST_SURNAME = max(len(s) for s in SURNAMES)
_MAX_REGION_SYLLABLES = 4  # HA ER BIN, WU LU MU QI
_SYLLABLE = 6  # the longest pinyin syllable (zhuang, shuang)
# Characters OpenCC t2s rewrites although they are standard simplified characters with their own
# reading in names: 乾 (qián, 乾坤; t2s makes it 干 gān), 著 (zhù, 著名; t2s makes it 着).
_KEEP = frozenset("乾著")
# What agencies write around a person's name in characters: a label before it (法定代表人：,
# 姓名:) and a role or a form of address after it (张伟 法人, 张伟/经理, 张伟先生, 李女士),
# with or without a separator (spaces are gone by then)
_LABEL = re.compile(r"^[\u3400-\u9fff]{1,6}[:：]")
_ROLE_AFTER = re.compile(
    r"[/／\\_、,，;；|-]*(?:法定代表人|法人代表|法人|负责人|执行董事|董事长|董事|监事|总经理|经理|"
    r"股东|经办人|报关员|申报员|业务员|联系人|代理人|委托人|会计|出纳|厂长|主任|职员|"
    r"先生|女士|小姐|同志|"
    # 张伟等, 张伟等3人: "and others" after the first party a decision names
    r"等(?:[0-9]+|[一二三四五六七八九十两]+)?[人名]?)+$")
# forms of address written before a Latin-script name (Mr. ZHANG WEI, MS LI NA)
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mister", "madam", "mdm", "mme", "dr", "prof",
                     "sir"})
# a note in brackets after an enterprise's name, not part of it: a former name (原名：…,
# 曾用名…, 原…) or the firm's status (已注销, 吊销, 失信 …)
_FIRM_NOTE = re.compile(r"^(?:原名|曾用名|曾用|又名|原(?=.{4})|现名|已?注销|已?吊销|吊销未注销|"
                        r"失信|被执行人|存续|在业|开业|停业|歇业|迁出|撤销|清算)")
_NOT_HAN = re.compile(r"[^\u3400-\u9fff\uf900-\ufaff]+")
_PUNCT = re.compile(r"[\"'“”‘’「」『』《》〈〉,，。;；!！]+")  # quotes and stops around a name
# two or more people written in one cell (张三、李四; 张三/李四): the first is the one named
_SEVERAL = re.compile(r"\s*[、,，;；/／]\s*")
_ONE_HAN_NAME = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2,4}")
# an enterprise name in characters followed by its English name (上海华信贸易有限公司
# SHANGHAI HUAXIN TRADING CO., LTD.): the characters' name
_ENGLISH_AFTER = re.compile(
    r"^(.*[\u3400-\u9fff\uf900-\ufaff][)）]?)\s+[A-Za-z][A-Za-z0-9 .,&()'/-]*$")
# An anonymised person, as penalty decisions and published lists write one: the surname, at
# most two characters more, and one to three marks for the rest (王某某, 王某, 张**, 李×,
# 欧阳某, 刘XX, 陈○○). After NFKC (＊ is *, Ｘ is X).
_U_DIAERESIS = str.maketrans({**dict.fromkeys("üǖǘǚǜ", "v"), **dict.fromkeys("ÜǕǗǙǛ", "V")})
# the passports' spelling of pinyin ü after l and n (LYU, NYU; LYUE): pinyin tools write v
_YU = re.compile(r"\b([lnLN])[yY](?=[uU](?:[eE])?\b)[uU]", re.ASCII)
_MARKS = r"(?:某|[*×xX○〇?])"
_LATIN_MASK = re.compile(r"[*×]")  # a Latin-script name published masked: ZHANG **
_ANONYMISED = re.compile(rf"((?!某)[\u3400-\u9fff\uf900-\ufaff]{{1,3}}?){_MARKS}{{1,3}}|{_MARKS}+")


class EnterpriseName(NamedTuple):
    name_std: str | None
    name_pinyin: str | None
    region: str | None  # city (or province) named in the name: 上海市 / 深圳市 / 广东省


class PersonName(NamedTuple):
    name_std: str | None
    name_pinyin: str | None
    # the name as read, in either order: surname and given name in pinyin, sorted (张伟,
    # ZHANG WEI and WEI ZHANG read alike); for resolution by context, not for Splink
    name_read: str | None = None
    # the surname in characters (a name in characters only): all an anonymised name keeps
    # (王某某: no name_std, pinyin or read name); for resolution by context, not for Splink
    surname: str | None = None


# --------------------------------------------------------------------------- shared steps


def _keep_standard(original: str, converted: str) -> str:
    """Undo t2s for characters that are standard simplified characters too (乾坤 is not 干坤)."""
    if _KEEP.isdisjoint(original) or len(original) != len(converted):
        return converted
    return "".join(o if o in _KEEP else c for o, c in zip(original, converted, strict=True))


def to_simplified(values: list[str]) -> list[str]:
    """OpenCC t2s over many strings in one call (much faster than one call per string)."""
    if not values:
        return []
    flat = [v.replace("\n", " ") for v in values]
    out = str(_T2S.convert("\n".join(flat))).split("\n")
    if len(out) != len(flat):  # pragma: no cover - t2s never adds or removes line breaks
        out = [str(_T2S.convert(v)) for v in flat]
    return [_keep_standard(o, c) for o, c in zip(flat, out, strict=True)]


def width_and_space(text: str) -> str:
    """NFKC (full width -> half width, compatibility forms), no invisible characters
    (`text.readable`) and no whitespace at all."""
    return SPACE.sub("", readable(text))


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


@lru_cache(maxsize=200_000)
def _pinyin(text: str) -> str:
    return _NOT_ALNUM.sub("", "".join(lazy_pinyin(text)).lower())


def core_pinyin(core: str) -> str:
    """Pinyin of a name core as trade name (first two characters) + the rest, each cached:
    the rest (industry + legal form) repeats across firms, and the trade name alone reads as
    it is romanised in English names."""
    if len(core) <= 3:
        return _pinyin(core)
    return _pinyin(core[:2]) + _pinyin(core[2:])


# --------------------------------------------------------------------------- enterprises


def _region_of(text: str) -> str | None:
    """Canonical city / province for a region written alone: 上海 -> 上海市, 广东省 -> 广东省."""
    g = gazetteer()
    if text in g.cities:
        return g.cities[text].name
    if text in g.provinces:
        return g.provinces[text].name
    if text == "中国":
        return "中国"
    d = district_in(text, None, None)
    return d.city if d is not None else None


def _strip_region_prefix(text: str) -> tuple[str | None, str]:
    """广东省深圳市华信… -> ('深圳市', '华信…'); a province, then a city of it, then a district."""
    g = gazetteer()
    pos = 0
    province = city = None
    key = match_at(g.provinces, text, pos)
    if key is not None:
        province = g.provinces[key].name
        pos += len(key)
    key = match_at(g.cities, text, pos)
    if key is not None and (province is None or g.cities[key].province == province):
        city = g.cities[key].name
        pos += len(key)
    elif province in g.cities:  # a municipality: 上海 is both
        city = province
    if province or city:
        d = district_at(text, pos, province, city)
        if d is not None:
            pos += len(d.name)
    rest = text[pos:]
    if pos == 0 or len(rest) < _MIN_CORE or rest in _FORM_ONLY or rest.startswith(CHINESE_GENERIC):
        return None, text  # no region, or nothing like a trade name would be left
    return city or province, rest


def chinese_enterprise(text: str) -> tuple[str, str | None]:
    """(core name, region) of a simplified, width-normalised Chinese enterprise name."""
    text = text.translate(_BRACKETS).lower()
    region: str | None = None

    def bracket(m: re.Match[str]) -> str:
        nonlocal region
        inner = m.group(1)
        if _FIRM_NOTE.match(inner):  # a former name or a status noted beside the name
            return ""
        found = _region_of(inner)
        if found is not None:
            region = region or found
            return ""
        return inner

    text = _BRACKETED.sub(bracket, text)
    text = _NOT_WORD.sub("", text)
    changed = True
    while changed:  # to a fixed point, so that standardising twice changes nothing
        before = text
        for variant, canonical in _FORMS:
            text = text.replace(variant, canonical)
        changed = text != before
    prefix_region: str | None = None
    while True:
        found, core = _strip_region_prefix(text)
        if found is None:
            break
        prefix_region = prefix_region or found
        text = core
    return text, prefix_region or region


def _latin_words(text: str) -> tuple[list[str], str | None]:
    """Lower-case words of a Latin-script name, with a leading or bracketed region taken out."""
    g = gazetteer()
    text = text.lower().replace("&", " and ")
    region: str | None = None

    def bracket(m: re.Match[str]) -> str:
        nonlocal region
        key = _NOT_ALNUM.sub("", m.group(1))
        if key in g.pinyin:
            region = region or g.pinyin[key]
            return " "
        return f" {m.group(1)} "

    text = _BRACKETED.sub(bracket, text.translate(_BRACKETS))
    words = _NOT_ALNUM.sub(" ", text).split()
    # a leading region, one word (TIANJIN) or one per syllable (TIAN JIN, HA ER BIN), when a
    # trade name follows it (TAIAN TRADING keeps its trade name)
    for n in range(_MAX_REGION_SYLLABLES, 0, -1):
        joined = "".join(words[:n])
        if (len(words) > n + 1 and joined in g.pinyin
                and words[n] not in LATIN_GENERIC_FIRST_WORDS
                and (n == 1 or all(len(w) <= _SYLLABLE for w in words[:n]))):
            return words[n:], region or g.pinyin[joined]
    return words, region


def latin_phrases(text: str) -> list[str]:
    """The words of a Latin-script name, industry words and legal forms mapped to the pinyin
    of their Chinese original, region taken out ('TIANJIN HUAXIN TRADING CO LTD' ->
    ['huaxin', 'maoyi', 'youxiangongsi'])."""
    return _latin_parts(_latin_words(text)[0])


def fold_latin(text: str) -> str:
    """Latin letters without their accents, as ASCII reads them: pinyin with tone marks
    (Zhāng Wěi -> Zhang Wei), ü as pinyin tools write it (Lǚ -> Lv), and the passports' yu
    for it (LYU -> LV); any other text unchanged."""
    if text.isascii():
        return _YU.sub(_v, text)
    decomposed = unicodedata.normalize("NFD", text.translate(_U_DIAERESIS))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _YU.sub(_v, unicodedata.normalize("NFC", bare))


def _v(m: re.Match[str]) -> str:
    """LYU -> LV, Lyu -> Lv: the letter's case kept."""
    return m[1] + ("V" if m[0][-1] == "U" else "v")


# a foreign firm's umlaut as German writes it without one (Müller, Muller, MUELLER: muller);
# not after j, q, x, y, l or n, where ue is a pinyin final (xue, yue, lue)
_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U"})
_UMLAUT_SPELLED = re.compile(r"(?<=[a-z])(?:(?<![jqxyln])ue|ae|oe)")


def _latin_enterprise(text: str) -> tuple[str, str | None]:
    words, region = _latin_words(fold_latin(text.translate(_UMLAUTS)))
    return "".join(_latin_parts(words, foreign=True)), region


def _latin_parts(words: list[str], *, foreign: bool = False) -> list[str]:
    """Each phrase of `words` as the pinyin of its Chinese original, the other words as they
    are (`foreign`: their umlauts spelled out folded, `_UMLAUT_SPELLED`)."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for length in range(min(LONGEST_PHRASE, len(words) - i), 0, -1):
            phrase = PHRASES.get(tuple(words[i : i + length]))
            if phrase is not None:
                out.append(phrase)
                i += length
                break
        else:
            out.append(_UMLAUT_SPELLED.sub(lambda m: m[0][0], words[i]) if foreign
                       else words[i])
            i += 1
    return out


def standardise_enterprise_names(values: Iterable[str]) -> dict[str, EnterpriseName]:
    """Standardise each distinct raw enterprise name once; returns raw -> EnterpriseName."""
    raw = [v for v in dict.fromkeys(values) if isinstance(v, str)]
    simplified = to_simplified([readable(v) for v in raw])
    pinyin_of: dict[str, str] = {}
    out: dict[str, EnterpriseName] = {}
    for original, text in zip(raw, simplified, strict=True):
        if not text.strip():
            out[original] = EnterpriseName(None, None, None)
            continue
        if has_han(text):
            english = _ENGLISH_AFTER.match(text.strip())
            text = english[1] if english and len(english[0]) - len(english[1]) > 5 else text
            core, region = chinese_enterprise(_unlabelled(SPACE.sub("", text)))
            if core not in pinyin_of:
                pinyin_of[core] = core_pinyin(core)
            out[original] = EnterpriseName(core or None, pinyin_of[core] or None, region)
        else:
            latin, region = _latin_enterprise(text)
            out[original] = EnterpriseName(latin or None, latin or None, region)
    return out


def _unlabelled(text: str) -> str:
    """`text` without a label before it (企业名称：, 当事人:), when characters are left."""
    bare = _LABEL.sub("", text)
    return bare if has_han(bare) else text


def enterprise_name(raw: str) -> EnterpriseName:
    """Standardise one enterprise name (use `standardise_enterprise_names` for many)."""
    return standardise_enterprise_names([raw])[raw]


# --------------------------------------------------------------------------- persons


# a note in brackets after a person's name: (法定代表人), （曾用名张卫）, 【已注销】,
# or one left open
_ANNOTATION = re.compile(r"[(\[【〔][^)\]】〕]*(?:[)\]】〕]|$)")
_BRACKET_CHARS = re.compile(r"[()\[\]【】〔〕]")


def _without_annotation(text: str) -> str:
    """`text` without bracketed notes; a name written wholly in brackets keeps its text."""
    return _ANNOTATION.sub("", text) or _BRACKET_CHARS.sub("", text)


def standardise_person_names(values: Iterable[str]) -> dict[str, PersonName]:
    """Person names: NFKC, no spaces or invisible characters, no bracketed note, t2s, no
    middle dot (买买提·艾力 and 买买提艾力 are one name, as their pinyin always was); pinyin
    without spaces; a Latin-script name with its surname first where its writing says which
    word that is (Wei ZHANG, Xiaoming Li: `linkage.standardise.surnames`)."""
    raw = [v for v in dict.fromkeys(values) if isinstance(v, str)]
    simplified = to_simplified([_without_annotation(_rare_marked(width_and_space(v)))
                                for v in raw])
    out: dict[str, PersonName] = {}
    for original, text in zip(raw, simplified, strict=True):
        if has_han(text):
            text = _first_of_several(text)
            std, around = _around_name(_PUNCT.sub("", _DOTS.sub("", text)))
            if around and _surname_of_part(std) == std:  # 李先生, 欧阳女士: the surname only
                out[original] = PersonName(None, None, None, std)
                continue
            anonymised = _ANONYMISED.fullmatch(std)
            if anonymised:  # the surname is all that is written: no name to compare
                out[original] = PersonName(None, None, None, _surname_of_part(anonymised[1]))
                continue
            if _UNTYPED.search(std):  # 王〓yan〓明, 周○玲: a character no keyboard had
                out[original] = _with_untyped(std)
                continue
            # quotes, punctuation, a namesake's number, a transliteration beside it (张伟
            # ZHANG WEI): a name in characters is its characters
            std = _NOT_HAN.sub("", std) or std
            parts = _han_parts(std)
            out[original] = PersonName(std or None, "".join(parts) or None, _read(parts),
                                       _han_surname(std))
        elif _LATIN_MASK.search(text):  # ZHANG **, Zhang W*: anonymised, no name to compare
            out[original] = PersonName(None, None, None, None)
        else:
            words = [_NOT_ALNUM.sub("", w.lower()) for w in _latin_surname_first(original)]
            words = [w for w in words if w]
            latin = "".join(words)
            parts = (words[0], "".join(words[1:])) if len(words) > 1 else _joined_parts(latin)
            out[original] = PersonName(latin or None, latin or None, _read(parts))
    return out


# A character a system could not type (生僻字), between two of a name's characters: its
# pinyin in brackets (王(yan)明), or a mark in its place (周○玲, 王?明, 王□明). Marked 〓
# (a geta mark) with its pinyin when given: never dropped (周○玲 is not 周玲)
_HAN_CHARS = "\u3400-\u9fff\uf900-\ufaff"
_RARE_PINYIN = re.compile(
    rf"(?<=[{_HAN_CHARS}])\s*[(（]\s*([A-Za-z]{{1,6}})[1-5]?\s*[)）]\s*(?=[{_HAN_CHARS}])")
_RARE_MARK = re.compile(rf"(?<=[{_HAN_CHARS}])[○〇□■?？*＊](?=[{_HAN_CHARS}])")
_UNTYPED = re.compile(r"〓([a-z]*)〓")


def _rare_marked(text: str) -> str:
    """`text` with each untyped character between two characters written 〓pinyin〓 (〓〓
    when only a mark stands for it)."""
    if "(" not in text and "（" not in text and not _RARE_MARK.search(text):
        return text
    text = _RARE_PINYIN.sub(lambda m: f"〓{m[1].lower()}〓", text)
    return _RARE_MARK.sub("〓〓", text)


def _with_untyped(std: str) -> PersonName:
    """A name in characters with untyped characters (`_UNTYPED`): 〓 stands for each; its
    pinyin and read name where every untyped character's pinyin is given, else none."""
    shown = _UNTYPED.sub("〓", std)
    shown = "".join(c for c in shown if c == "〓" or _NOT_HAN.fullmatch(c) is None)
    syllables: list[str] = []
    known = True
    for piece in re.split(r"(〓[a-z]*〓)", std):
        if piece.startswith("〓"):
            known = known and len(piece) > 2
            syllables.append(piece[1:-1])
        elif piece:
            syllables.extend(lazy_pinyin(_NOT_HAN.sub("", piece)))
    pinyin = _NOT_ALNUM.sub("", "".join(syllables).lower()) if known else None
    surname = _han_surname(shown) if shown[:1] != "〓" else None
    if known and syllables:
        first = 2 if _compound(shown) else 1
        parts = ("".join(syllables[:first]), "".join(syllables[first:]))
        read = _read(parts)
    else:
        read = None
    return PersonName(shown, pinyin or None, read, surname)


def _first_of_several(text: str) -> str:
    """The first of several names in characters written in one cell (张三、李四 -> 张三), a
    name with a role after it left to `_around_name` (冯宏英/业务员); `text` otherwise."""
    parts = _SEVERAL.split(text.strip())
    if len(parts) > 1 and all(_ONE_HAN_NAME.fullmatch(p) for p in parts) \
            and not _ROLE_AFTER.fullmatch(parts[-1]):
        return parts[0]
    return text


def _latin_surname_first(raw: str) -> list[str]:
    """A Latin-script name's words, the surname first when the writing says which it is
    (`surnames.surname_first`: Wei ZHANG, Xiaoming Li, ZHANG, Wei)."""
    text = fold_latin(_without_annotation(readable(raw)))
    head, comma, _ = text.partition(",")
    words = [w for w in SPACE.split(text.replace(",", " ")) if w]
    named = [w for w in words if _NOT_ALNUM.sub("", w.lower()) not in _TITLES]
    if named and len(named) < len(words):  # Mr. ZHANG WEI: the name without its title
        head = head if _NOT_ALNUM.sub("", head.lower()) not in _TITLES else ""
        words = named
    return surname_first(words, comma=bool(comma and head.strip()))


def _around_name(std: str) -> tuple[str, bool]:
    """A name in characters without a label before it or a role or form of address after it
    (`_LABEL`, `_ROLE_AFTER`), and whether there was one; the text as it is when nothing
    would be left."""
    bare = _ROLE_AFTER.sub("", _unlabelled(std))
    return (bare, True) if bare != std and has_han(bare) else (std, False)


def _compound(std: str) -> bool:
    """Whether a name in characters starts with a two-character surname (欧阳, 尉迟)."""
    return len(std) > 2 and (std[:2] in READINGS or _pinyin(std[:2]) in COMPOUND)


def _han_surname(std: str) -> str | None:
    """The surname of a name in characters, in characters: the first two when they read as
    one surname (欧阳), else the first (None for a name with no character)."""
    if not has_han(std[:1]):
        return None
    return std[:2] if _compound(std) else std[:1]


def _surname_of_part(written: str) -> str | None:
    """The surname of the written part of a name whose given name is hidden or left out
    (王某某 -> 王, 欧阳** -> 欧阳: the part may be the surname alone)."""
    return _han_surname(written + "某") if written else None


def _han_parts(std: str) -> tuple[str, str]:
    """(surname, given name) of a name in characters, in pinyin: a two-character surname
    when the first two read as one (欧阳, 尉迟), else the first character; a surname read as
    surnames are (`surnames.READINGS`: 曾 zeng, not ceng)."""
    if _compound(std):
        return READINGS.get(std[:2]) or _pinyin(std[:2]), _pinyin(std[2:])
    return READINGS.get(std[:1]) or _pinyin(std[:1]), _pinyin(std[1:])


def _joined_parts(word: str) -> tuple[str, str]:
    """(surname, given name) of a Latin name written as one word (ZHANGWEI), the surname
    first as customs writes it: its longest common-surname prefix, when more follows."""
    for size in range(min(len(word) - 1, _LONGEST_SURNAME), 0, -1):
        if word[:size] in SURNAMES:
            return word[:size], word[size:]
    return word, ""


def _read(parts: tuple[str, str]) -> str | None:
    """The name as read in either order: the two parts sorted, or the one part."""
    surname, given = parts
    if not given:
        return surname or None
    return "|".join(sorted((surname, given)))


def person_name(raw: str) -> PersonName:
    return standardise_person_names([raw])[raw]
