"""English words of customs-style enterprise names, in the pinyin of their usual Chinese original.

Customs declarations often carry an enterprise's English name ("SHANGHAI HUAXIN IMPORT AND EXPORT
TRADING CO., LTD."): the region and trade name in pinyin, the industry and legal form translated.
Mapping the translated words back to the pinyin of the Chinese words they usually translate makes
the English name comparable with the pinyin form of the Chinese name
(华信进出口贸易有限公司 -> huaxin jinchukou maoyi youxiangongsi).

The dictionary is data: `vocabulary.yaml` beside this module (Chinese word -> English phrases);
the pinyin of each Chinese word is computed here, so the two sides always agree. Keys of
`PHRASES` are lower-case word sequences; the longest match wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pypinyin import lazy_pinyin

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.yaml")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
# Legal forms written differently but standing for one form (names.py writes all three 有限公司).
_SAME_FORM = {"股份有限公司": "有限公司", "有限责任公司": "有限公司"}


class VocabularyError(ValueError):
    """The vocabulary file is malformed (names the file and the entry)."""


@dataclass(frozen=True)
class Vocabulary:
    industry: dict[str, str]  # English phrase -> pinyin of its Chinese word
    legal_forms: dict[str, str]  # English phrase -> pinyin of its (canonical) Chinese form
    chinese_generic: tuple[str, ...]  # Chinese industry words and forms, longest first
    chinese_forms: tuple[str, ...]  # Chinese legal forms, longest first
    equivalent: dict[str, str]  # Chinese industry word -> the first word of its group

    @property
    def phrases(self) -> dict[tuple[str, ...], str]:
        return {tuple(k.split()): v for k, v in {**self.industry, **self.legal_forms}.items()}


def _pinyin(word: str) -> str:
    return _NOT_ALNUM.sub("", "".join(lazy_pinyin(word)).lower())


def english_words(text: str) -> list[str]:
    """'Import & Export' -> ['import', 'and', 'export'] (the tokenisation of English names)."""
    return _NOT_ALNUM.sub(" ", text.lower().replace("&", " and ")).split()


def _section(data: dict[str, Any], name: str, file: Path) -> dict[str, list[str]]:
    section = data.get(name) or {}
    if not isinstance(section, dict):
        raise VocabularyError(f"{file}: `{name}` must map Chinese words to lists of phrases")
    out: dict[str, list[str]] = {}
    for word, phrases in section.items():
        if not isinstance(word, str) or not word.strip():
            raise VocabularyError(f"{file}: {name}: {word!r} is not a Chinese word")
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise VocabularyError(f"{file}: {name}.{word}: give a list of English phrases")
        out[word] = phrases
    return out


def _english(sections: dict[str, dict[str, list[str]]], file: Path) -> dict[str, dict[str, str]]:
    """Per section, normalised English phrase -> pinyin; a phrase may name one word only."""
    owner: dict[str, str] = {}
    out: dict[str, dict[str, str]] = {}
    for name, section in sections.items():
        table: dict[str, str] = {}
        for word, phrases in section.items():
            reading = _pinyin(_SAME_FORM.get(word, word))
            for phrase in phrases:
                key = " ".join(english_words(phrase))
                if not key:
                    raise VocabularyError(f"{file}: {name}.{word}: empty phrase {phrase!r}")
                if key in owner and owner[key] != word:
                    raise VocabularyError(
                        f"{file}: {name}.{word}: phrase {phrase!r} already names {owner[key]}")
                owner[key] = word
                table[key] = reading
        out[name] = table
    return out


def load_vocabulary(file: Path = VOCABULARY_FILE) -> Vocabulary:
    """Read and check a vocabulary file (see vocabulary.yaml for the format)."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise VocabularyError(f"{file}: cannot read vocabulary: {exc}") from None
    if not isinstance(data, dict):
        raise VocabularyError(f"{file}: expected a mapping with industry / legal_forms")
    sections = {name: _section(data, name, file) for name in ("industry", "legal_forms")}
    english = _english(sections, file)
    extra = data.get("generic_only") or []
    if not isinstance(extra, list) or not all(isinstance(w, str) for w in extra):
        raise VocabularyError(f"{file}: `generic_only` must be a list of Chinese words")
    equivalent = _groups(data.get("equivalent") or [], file)
    generic = {*sections["industry"], *sections["legal_forms"], *extra, *equivalent}
    forms = sorted(sections["legal_forms"], key=len, reverse=True)
    return Vocabulary(
        industry=english["industry"],
        legal_forms=english["legal_forms"],
        chinese_generic=tuple(sorted(generic, key=len, reverse=True)),
        chinese_forms=tuple(forms),
        equivalent=equivalent,
    )


def _groups(groups: Any, file: Path) -> dict[str, str]:
    """`equivalent:` groups -> word -> the group's first word (a word in one group only)."""
    if not isinstance(groups, list):
        raise VocabularyError(f"{file}: `equivalent` must be a list of lists of Chinese words")
    out: dict[str, str] = {}
    for i, group in enumerate(groups):
        if (not isinstance(group, list) or len(group) < 2
                or not all(isinstance(w, str) and w for w in group)):
            raise VocabularyError(f"{file}: equivalent[{i}]: give two or more Chinese words")
        for word in group:
            if word in out:
                raise VocabularyError(f"{file}: equivalent[{i}]: {word} is in two groups")
            out[word] = group[0]
    return out


VOCABULARY = load_vocabulary()
LEGAL_FORMS: dict[str, str] = VOCABULARY.legal_forms
INDUSTRY_WORDS: dict[str, str] = VOCABULARY.industry
PHRASES: dict[tuple[str, ...], str] = VOCABULARY.phrases
LONGEST_PHRASE = max(len(k) for k in PHRASES)
# Equivalent industry words (name_keys writes each group as its first word), in Chinese and as
# the pinyin of a mapped English phrase.
EQUIVALENT: dict[str, str] = VOCABULARY.equivalent
_LONGEST_EQUIVALENT = max((len(w) for w in EQUIVALENT), default=0)


def same_industry_words(text: str, start: int = 0) -> str:
    """塑料制品 -> 塑料, 商贸 -> 贸易, 信息技术 -> 信息科技 from `start` on (the `equivalent`
    groups), reading left to right, longest word first."""
    out = [text[:start]]
    pos = start
    while pos < len(text):
        for length in range(min(_LONGEST_EQUIVALENT, len(text) - pos), 1, -1):
            word = text[pos:pos + length]
            if word in EQUIVALENT:
                out.append(EQUIVALENT[word])
                pos += length
                break
        else:
            out.append(text[pos])
            pos += 1
    return "".join(out)


def _equivalent_readings() -> dict[str, str]:
    """Pinyin of a dictionary word -> pinyin of the word with its equivalents unified."""
    words = {*EQUIVALENT, *(w for w in VOCABULARY_WORDS)}
    out = {}
    for word in words:
        unified = same_industry_words(word)
        if unified != word:
            out[_pinyin(word)] = _pinyin(unified)
    return out


VOCABULARY_WORDS: frozenset[str] = frozenset(VOCABULARY.chinese_generic)
EQUIVALENT_READINGS: dict[str, str] = _equivalent_readings()

# Chinese industry words and legal forms: what follows the trade name. A region prefix is only
# taken off a name when a trade name follows it (上海泰安贸易 keeps 泰安, a trade name that is also
# a city), so a name never loses its trade name to region stripping.
CHINESE_GENERIC: tuple[str, ...] = VOCABULARY.chinese_generic
LATIN_GENERIC_FIRST_WORDS = frozenset(k[0] for k in PHRASES)
