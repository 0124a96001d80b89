"""Blocking rules: which record pairs Splink scores, trains on, and counts as sure matches.

Rules are data (conjunctions of equal keys), turned into Splink SQL here and evaluated on
pandas frames by `linkage.evaluate` to measure blocking recall. Every prediction rule also
requires `l.pc <> r.pc`: records already joined by an exact valid identifier (the
pre-cluster `pc`) are never compared again, so Splink only scores what it must.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from linkage.resolve.models import Kind


@dataclass(frozen=True)
class Key:
    """A blocking key: a column, or its first / last `length` characters."""

    column: str
    part: str = ""  # "" (whole value) | "prefix" | "suffix"
    length: int = 0

    def sql(self, side: str) -> str:
        if self.part == "prefix":
            return f"left({side}.{self.column}, {self.length})"
        if self.part == "suffix":
            return f"right({side}.{self.column}, {self.length})"
        return f"{side}.{self.column}"

    def values(self, frame: pd.DataFrame) -> pd.Series:
        if self.column not in frame.columns:  # e.g. a run written before the column existed
            return pd.Series(pd.NA, index=frame.index, dtype="string")
        col = frame[self.column].astype("string")
        if self.part == "prefix":
            return col.str.slice(0, self.length)
        if self.part == "suffix":
            return col.str.slice(-self.length)
        return col


Rule = tuple[Key, ...]


def _k(*columns: str) -> Rule:
    return tuple(Key(c) for c in columns)


_PREDICT: dict[Kind, tuple[Rule, ...]] = {
    "enterprise": (
        _k("name_std"),
        # a mistyped, dropped or swapped character leaves two of three thirds of a USCC intact
        (Key("uscc", "prefix", 12),),
        (Key("uscc", "suffix", 12),),
        (Key("uscc", "prefix", 6), Key("uscc", "suffix", 6)),
        _k("name_pinyin"),
        # names written with the region elsewhere, a cut legal form, or in English / pinyin
        _k("name_key"),
        _k("name_key_pinyin"),
        # names cut short: the trade name and the start of the industry
        (Key("name_key", "prefix", 4), Key("region")),
        _k("phone"),
        _k("address_std"),
        _k("uscc"),
        _k("customs_code"),
        _k("other_id"),
    ),
    "person": (
        _k("name_std", "birth_date"),
        _k("name_std", "phone"),
        _k("phone", "birth_date"),
        _k("name_std", "address_std"),
        _k("id_number"),
        # one mistyped, dropped or swapped character leaves one end of the ID intact
        (Key("name_std"), Key("id_number", "prefix", 9)),
        (Key("name_std"), Key("id_number", "suffix", 8)),
        _k("other_id"),
        # a declared identifier with a slip in its first digits (fuzzy schemes)
        (Key("other_id", "suffix", 4), Key("birth_date", "prefix", 4)),
        _k("birth_date", "address_std"),
        # a slip in the name and in the ID at once (FEBRL4: 121 of its 154 pairs no other rule
        # met): the birth date and one end of the name (in Chinese, the surname or the last
        # character of the given name)
        (Key("birth_date"), Key("name_std", "prefix", 1)),
        (Key("birth_date"), Key("name_std", "suffix", 1)),
        # one name in characters and in pinyin (customs writes ZHANG WEI for 张伟), or two
        # homophones: the model's "pinyin exact" level, which no rule above offers without an ID
        _k("name_pinyin", "birth_date"),
    ),
}

# Identifier keys of the exact pre-clustering (see pipeline.EXACT_IDS), for blocking recall.
EXACT_KEYS: dict[Kind, tuple[tuple[str, str], ...]] = {
    "enterprise": (("uscc", "uscc_valid"), ("customs_code", ""), ("reg_no", ""),
                   ("org_code", "")),
    "person": (("id_number", "id_valid"),),
}

# EM sessions: each fixes the columns of its rule and trains the others. Enterprise names are
# trained on records sharing an identifier (how one firm's name is written across agencies);
# a shared phone says little about names (agents and shared lines).
_TRAINING: dict[Kind, tuple[str, ...]] = {
    "enterprise": ("l.name_std = r.name_std", "l.uscc = r.uscc",
                   "l.customs_code = r.customs_code"),
    "person": (
        "l.id_number = r.id_number",
        "l.name_std = r.name_std AND l.phone = r.phone",
        "l.name_std = r.name_std AND l.birth_date = r.birth_date",
    ),
}

# Rules that admit (almost) no false positives, for the prior match probability: the pairs
# meeting any of them (the pre-cluster `pc` included) are counted once. An identifier counts
# whether or not it passes its check: validity is not what makes two records share a value.
_DETERMINISTIC: dict[Kind, tuple[Rule, ...]] = {
    "enterprise": (
        _k("pc"), _k("uscc"), _k("customs_code"), _k("other_id"), _k("name_std", "phone"),
        _k("name_std", "address_std"),
    ),
    "person": (
        _k("pc"), _k("id_number", "id_scheme"), _k("other_id"), _k("name_std", "birth_date"),
        _k("name_std", "phone"),
        # the same name and the same ID body: at most the check character differs
        (Key("name_std"), Key("id_number", "prefix", 17)),
    ),
}


def rule_sql(rule: Rule) -> str:
    return " AND ".join(f"{key.sql('l')} = {key.sql('r')}" for key in rule)


def predict_rule_objects(kind: Kind) -> tuple[Rule, ...]:
    return _PREDICT[kind]


def predict_rules(kind: Kind) -> list[str]:
    """Rules generating the pairs to score (pre-clustered pairs excluded)."""
    return [f"{rule_sql(rule)} AND l.pc <> r.pc" for rule in _PREDICT[kind]]


def training_rules(kind: Kind) -> list[str]:
    return list(_TRAINING[kind])


def deterministic_rules(kind: Kind) -> tuple[Rule, ...]:
    """Keys on which equal (non-null) values make two records a sure match."""
    return _DETERMINISTIC[kind]
