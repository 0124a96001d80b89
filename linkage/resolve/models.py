"""The two Splink models (enterprises, persons), declared once as data.

Each comparison is a list of `Level`s. The same declaration produces the Splink
comparison (SQL, through Splink's dialect-aware level creators, so DuckDB and Spark
both work) and a pure-Python evaluator used by `linkage.realtime`, so the real-time
matcher scores with exactly the trained levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

Kind = Literal["enterprise", "person"]
KINDS: tuple[Kind, ...] = ("enterprise", "person")
MODEL_VERSION = 1

LevelKind = Literal[
    "null", "exact", "valid_exact", "jw", "lev", "dlev", "flag_dlev", "other_exact", "prefix",
    "else",
]


@dataclass(frozen=True)
class Level:
    """One comparison level, in decreasing order of agreement."""

    kind: LevelKind
    column: str = ""
    threshold: float = 0.0
    tf: bool = False  # term-frequency adjustment (exact levels only)
    valid: str = ""  # boolean column that must hold on both sides (identifier checks)
    label: str = ""
    m: float | None = None  # starting m probability, when the generic one does not fit
    scheme: str = ""  # null level: values of different schemes (this column) are not compared

    def creator(self, m_prior: float | None = None) -> Any:
        """The Splink comparison level creator, labelled, with a starting m probability
        (kept when the data offer EM nothing to learn from)."""
        made = self._creator()
        if self.kind == "null":
            return made
        if m_prior is None:
            return made.configure(label_for_charts=self.label)
        return made.configure(label_for_charts=self.label, m_probability=m_prior)

    def _creator(self) -> Any:
        col = self.column
        if self.kind == "null":
            sql = f"{col}_l IS NULL OR {col}_r IS NULL"
            if self.valid:
                sql += f" OR NOT coalesce({self.valid}_l, false)"
                sql += f" OR NOT coalesce({self.valid}_r, false)"
            if self.scheme:
                sql += f" OR coalesce({self.scheme}_l, '') <> coalesce({self.scheme}_r, '')"
            return cll.CustomLevel(sql, self.label).configure(is_null_level=True)
        if self.kind == "exact":
            return cll.ExactMatchLevel(col, term_frequency_adjustments=self.tf)
        if self.kind == "valid_exact":
            sql = f"{col}_l = {col}_r AND {self.valid}_l AND {self.valid}_r"
            return cll.CustomLevel(sql, self.label)
        if self.kind == "jw":
            return cll.JaroWinklerLevel(col, self.threshold)
        if self.kind == "lev":
            return cll.LevenshteinLevel(col, int(self.threshold))
        if self.kind == "dlev":
            return _damerau_within(col, int(self.threshold))
        if self.kind == "flag_dlev":
            made = _damerau_within(col, int(self.threshold))
            return cll.And(made, cll.CustomLevel(f"{self.valid}_l AND {self.valid}_r"))
        if self.kind == "other_exact":
            return cll.CustomLevel(f"{col}_l = {col}_r", self.label)
        if self.kind == "prefix":
            return cll.CustomLevel(_prefix_sql(col, int(self.threshold)), self.label)
        return cll.ElseLevel()

    def holds(self, left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
        """Evaluate this level's condition in Python (for real-time scoring)."""
        col = self.column
        lv, rv = _clean(left.get(col)), _clean(right.get(col))
        if self.kind == "null":
            if lv is None or rv is None:
                return True
            if self.scheme and (_clean(left.get(self.scheme)) or "") != (
                    _clean(right.get(self.scheme)) or ""):
                return True
            return bool(self.valid) and not (left.get(self.valid) and right.get(self.valid))
        if self.kind == "else":
            return True
        if lv is None or rv is None:
            return False
        if self.kind in ("exact", "other_exact"):
            return lv == rv
        if self.kind == "valid_exact":
            return lv == rv and bool(left.get(self.valid)) and bool(right.get(self.valid))
        if self.kind == "jw":
            return JaroWinkler.similarity(lv, rv) >= self.threshold
        if self.kind == "lev":
            return Levenshtein.distance(lv, rv) <= self.threshold
        if self.kind == "dlev":
            return DamerauLevenshtein.distance(lv, rv) <= self.threshold
        if self.kind == "prefix":
            short, long = sorted((lv, rv), key=len)
            return len(short) >= self.threshold and long.startswith(short)
        if self.kind == "flag_dlev":
            both = bool(left.get(self.valid)) and bool(right.get(self.valid))
            return both and DamerauLevenshtein.distance(lv, rv) <= self.threshold
        raise ValueError(f"unknown level kind {self.kind}")


def _damerau_within(col: str, edits: int) -> Any:
    """Damerau-Levenshtein distance <= `edits`, behind a cheap necessary condition that the
    engines evaluate first, so the costly distance runs only for the few pairs that pass it
    (the random pairs of u estimation are almost all far apart; DuckDB on medium: 16 s of
    u estimation for the USCC alone before, well under 1 s after).

    One edit: lengths within one, and the first four or the last four characters equal
    (one insertion, deletion, substitution or adjacent transposition cannot touch both ends
    of a string of ten characters or more; shorter strings skip the test). More edits:
    Levenshtein within twice as many (a transposition is two plain edits)."""
    ahead: Any
    if edits == 1:
        left, right = f"{col}_l", f"{col}_r"
        near = (f"abs(length({left}) - length({right})) <= 1 AND ("
                f"left({left}, 4) = left({right}, 4) OR right({left}, 4) = right({right}, 4)"
                f" OR length({left}) < 10 OR length({right}) < 10)")
        ahead = cll.CustomLevel(near)
    else:
        ahead = cll.LevenshteinLevel(col, 2 * edits)
    return cll.And(ahead, cll.DamerauLevenshteinLevel(col, edits))


def _prefix_sql(col: str, shortest: int) -> str:
    """One value is the start of the other (a name cut by a narrow field), the shorter one
    at least `shortest` characters long (SQL that DuckDB and Spark both accept)."""
    left, right = f"{col}_l", f"{col}_r"
    return (f"(length({left}) >= {shortest} AND length({left}) <= length({right})"
            f" AND substr({right}, 1, length({left})) = {left})"
            f" OR (length({right}) >= {shortest} AND length({right}) < length({left})"
            f" AND substr({left}, 1, length({right})) = {right})")


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = str(value)
    return text or None


@dataclass(frozen=True)
class ComparisonSpec:
    name: str  # Splink output column name
    levels: tuple[Level, ...]
    description: str

    def m_priors(self) -> list[float | None]:
        """Starting m probabilities: most matches agree at the top level, few disagree."""
        agreeing = [lv for lv in self.levels if lv.kind not in ("null", "else")]
        middle = 0.1 / max(len(agreeing) - 1, 1)
        out: list[float | None] = []
        seen = 0
        for lv in self.levels:
            if lv.kind == "null":
                out.append(None)
            elif lv.m is not None:
                out.append(lv.m)
                seen += 1
            elif lv.kind == "else":
                out.append(0.05 if len(agreeing) > 1 else 0.15)
            else:
                out.append(0.85 if seen == 0 else middle)
                seen += 1
        return out

    def creator(self) -> Any:
        return cl.CustomComparison(
            comparison_levels=[
                lv.creator(m) for lv, m in zip(self.levels, self.m_priors(), strict=True)
            ],
            output_column_name=self.name,
            comparison_description=self.description,
        )

    def level_index(self, left: Mapping[str, Any], right: Mapping[str, Any]) -> int:
        """Index (into `levels`) of the first level whose condition holds."""
        for i, level in enumerate(self.levels):
            if level.holds(left, right):
                return i
        return len(self.levels) - 1


def _null(col: str, valid: str = "") -> Level:
    return Level("null", col, valid=valid, label=f"{col} missing")


def _else(col: str) -> Level:
    return Level("else", col, label="different")


# The shortest name key the prefix level accepts: a trade name and two more characters.
_PREFIX_CHARS = 4

ENTERPRISE: tuple[ComparisonSpec, ...] = (
    ComparisonSpec("name", (
        _null("name_std"),
        Level("other_exact", "name_full", label="full name exact (region and form as written)"),
        Level("exact", "name_std", label="name exact"),
        Level("jw", "name_std", 0.95, label="name JW >= 0.95"),
        Level("other_exact", "name_pinyin", label="pinyin exact"),
        # region (any position) and legal form (whole or cut) left out: see name_keys.py
        Level("other_exact", "name_key", label="name without region and form exact"),
        Level("other_exact", "name_key_pinyin",
              label="pinyin without region and form exact (English / pinyin names)"),
        Level("prefix", "name_key", _PREFIX_CHARS,
              label="name cut short (one key starts the other)"),
        Level("jw", "name_std", 0.88, label="name JW >= 0.88"),
        Level("jw", "name_pinyin", 0.92, label="pinyin JW >= 0.92"),
        _else("name_std"),
    ), "standardised name, then without region and form, then its pinyin form"),
    ComparisonSpec("uscc", (
        _null("uscc"),
        Level("valid_exact", "uscc", valid="uscc_valid", label="valid USCC exact"),
        Level("dlev", "uscc", 1, label="USCC within one edit, not both valid"),
        _else("uscc"),
    ), "unified social credit code"),
    ComparisonSpec("region", (
        _null("region"),
        Level("exact", "region", label="same region"),
        _else("region"),
    ), "region named in the firm name, else the city of its address"),
    ComparisonSpec("customs_code", (
        _null("customs_code"),
        Level("exact", "customs_code", label="customs code exact"),
        Level("dlev", "customs_code", 1, label="customs code one edit apart"),
        _else("customs_code"),
    ), "customs registration code"),
    ComparisonSpec("reg_no", (
        _null("reg_no"),
        Level("exact", "reg_no", label="registration number exact"),
        _else("reg_no"),
    ), "old 15-digit registration number"),
    ComparisonSpec("phone", (
        _null("phone"),
        Level("exact", "phone", label="phone exact"),
        _else("phone"),
    ), "E.164 phone"),
    ComparisonSpec("address", (
        _null("address_std"),
        Level("exact", "address_std", label="address exact"),
        Level("jw", "address_std", 0.92, label="address JW >= 0.92"),
        Level("other_exact", "district", label="same district"),
        _else("address_std"),
    ), "standardised address"),
    ComparisonSpec("established", (
        _null("established"),
        Level("exact", "established", label="established exact"),
        _else("established"),
    ), "establishment date"),
    ComparisonSpec("other_id", (
        _null("other_id"),
        Level("exact", "other_id", label="declared identifier exact"),
        Level("flag_dlev", "other_id", 1, valid="other_id_fuzzy",
              label="declared identifier one edit apart (fuzzy scheme)"),
        _else("other_id"),
    ), "identifier of a scheme declared in the mapping (`scheme:value`)"),
)

PERSON: tuple[ComparisonSpec, ...] = (
    ComparisonSpec("name", (
        _null("name_std"),
        Level("exact", "name_std", tf=True, label="name exact"),
        Level("other_exact", "name_pinyin", label="pinyin exact"),
        Level("lev", "name_std", 1, label="name one edit apart"),
        _else("name_std"),
    ), "standardised name, then its pinyin form"),
    ComparisonSpec("id_number", (
        Level("null", "id_number", scheme="id_scheme",
              label="ID missing, or documents of different schemes"),
        Level("valid_exact", "id_number", valid="id_valid", label="valid ID exact"),
        Level("exact", "id_number", label="ID exact, not both valid"),
        Level("dlev", "id_number", 1, label="ID one edit or one transposition apart"),
        _else("id_number"),
    ), "identity number (resident ID or another document of the same scheme)"),
    ComparisonSpec("birth_date", (
        _null("birth_date"),
        Level("exact", "birth_date", label="birth date exact"),
        Level("lev", "birth_date", 1, label="birth date one edit apart"),
        _else("birth_date"),
    ), "birth date (ISO string)"),
    ComparisonSpec("phone", (
        _null("phone"),
        Level("exact", "phone", label="phone exact"),
        _else("phone"),
    ), "E.164 phone"),
    ComparisonSpec("address", (
        _null("address_std"),
        Level("exact", "address_std", label="address exact"),
        Level("other_exact", "district", label="same district"),
        _else("address_std"),
    ), "standardised address"),
    ComparisonSpec("other_id", (
        _null("other_id"),
        Level("exact", "other_id", label="declared identifier exact"),
        Level("flag_dlev", "other_id", 1, valid="other_id_fuzzy",
              label="declared identifier one edit apart (fuzzy scheme)"),
        _else("other_id"),
    ), "identifier of a scheme declared in the mapping (`scheme:value`)"),
)

SPECS: dict[Kind, tuple[ComparisonSpec, ...]] = {"enterprise": ENTERPRISE, "person": PERSON}

# Columns of the table handed to Splink, per kind (besides the integer `rid`).
MODEL_COLUMNS: dict[Kind, tuple[str, ...]] = {
    "enterprise": (
        "name_std", "name_full", "name_pinyin", "name_key", "name_key_pinyin", "region", "uscc",
        "uscc_valid", "customs_code", "reg_no", "phone", "address_std", "district", "established",
        "other_id", "other_id_fuzzy",
    ),
    "person": (
        "name_std", "name_pinyin", "id_number", "id_valid", "id_scheme", "birth_date", "phone",
        "address_std", "district", "other_id", "other_id_fuzzy",
    ),
}


# Boolean columns of the model tables (flags, never compared as text).
FLAG_COLUMNS = frozenset({"uscc_valid", "id_valid", "other_id_fuzzy"})


def settings_dict(kind: Kind, blocking_rules: list[str]) -> dict[str, Any]:
    """Untrained Splink settings for one kind."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "rid",
        "comparisons": [spec.creator() for spec in SPECS[kind]],
        "blocking_rules_to_generate_predictions": blocking_rules,
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": True,
        "max_iterations": 20,
        "em_convergence": 0.001,
    }


# u for a level never observed among the (up to 2e6) random pairs of u estimation.
UNSEEN_U = 1e-6


@dataclass(frozen=True)
class TrainedLevel:
    label: str
    is_null: bool
    log2_bf: float  # 0 for null levels


def trained_levels(model: Mapping[str, Any]) -> dict[str, list[TrainedLevel]]:
    """Per comparison output column, the trained levels (same order as the spec)."""
    import math

    out: dict[str, list[TrainedLevel]] = {}
    for comp in model["comparisons"]:
        levels: list[TrainedLevel] = []
        for lv in comp["comparison_levels"]:
            is_null = bool(lv.get("is_null_level"))
            m, u = lv.get("m_probability"), lv.get("u_probability")
            if u is None or u <= 0:
                u = UNSEEN_U  # never seen among random pairs
            if is_null:
                weight = 0.0
            elif m is None or m <= 0:
                weight = -20.0
            else:
                weight = math.log2(m / u)
            levels.append(TrainedLevel(str(lv.get("label_for_charts", "")), is_null, weight))
        out[str(comp["output_column_name"])] = levels
    return out
