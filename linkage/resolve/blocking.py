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
        _k("phone"),
        _k("address_std"),
        _k("uscc"),
        _k("customs_code"),
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
    ),
}

# Identifier keys of the exact pre-clustering (see pipeline.EXACT_IDS), for blocking recall.
EXACT_KEYS: dict[Kind, tuple[tuple[str, str], ...]] = {
    "enterprise": (("uscc", "uscc_valid"), ("customs_code", ""), ("reg_no", "")),
    "person": (("id_number", "id_valid"),),
}

# EM sessions: each fixes the columns of its rule and trains the others.
_TRAINING: dict[Kind, tuple[str, ...]] = {
    "enterprise": ("l.name_std = r.name_std", "l.phone = r.phone"),
    "person": ("l.id_number = r.id_number", "l.name_std = r.name_std AND l.phone = r.phone"),
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
