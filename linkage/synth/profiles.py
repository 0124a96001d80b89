"""Noise profiles: how messy a generated data set is, as data (`profiles.yaml`).

The `default` profile is the generator as it always was (its output is the committed fixture
`tests/fixtures/small`); every other profile adds noise on top of it, drawn from a random stream
of its own, so the default's stream is never disturbed. Each rate is a share of the records (or
people) it applies to; each `*_styles` mapping gives the relative weight of each style.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

PROFILES_FILE = Path(__file__).with_name("profiles.yaml")

Rate = float
InvalidStyle = Literal["check_digit", "transposition", "region_typo", "date_typo"]
WrittenStyle = Literal["full_width", "spaces", "lower_x", "first_generation", "lookalike"]
NameStyle = Literal["truncated", "bracketed", "city_variant", "industry_alias"]
EnglishStyle = Literal["basic", "customs"]
PersonNameStyle = Literal["pinyin", "western", "homophone", "slip", "note", "anonymised"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _rate(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"a rate must lie in [0, 1], got {value}")
    return value


def _style_rates(value: dict[str, float]) -> dict[str, float]:
    """Rates of styles that replace one another: each in [0, 1], their sum at most 1."""
    for v in value.values():
        _rate(v)
    if sum(value.values()) > 1.0:
        raise ValueError("styles: the rates add up to more than 1")
    return value


def _invalid_styles() -> dict[InvalidStyle, float]:
    return {"check_digit": 1.0, "transposition": 1.0, "region_typo": 1.0, "date_typo": 0.3}


def _written_styles() -> dict[WrittenStyle, float]:
    return {"full_width": 1.0, "spaces": 1.0, "lower_x": 1.0, "first_generation": 1.0,
            "lookalike": 1.0}


class IdNoise(_Strict):
    """Resident ID numbers of persons."""

    # share of people whose own ID, as every agency records it, fails validation (0 to 0.9)
    invalid: Rate = 0.0
    invalid_styles: dict[InvalidStyle, float] = Field(default_factory=_invalid_styles)
    # share of people whose (valid) ID was issued by a district created after their birth year:
    # structure and check digit hold, a historical division table rejects it
    late_district: Rate = 0.0
    # share of written person IDs with a formatting slip a careful reader can undo
    written: Rate = 0.0
    written_styles: dict[WrittenStyle, float] = Field(default_factory=_written_styles)
    # share of person IDs that the public-list sources (`masked_sources`) write masked, as
    # published lists do (310101********3938)
    masked: Rate = 0.0
    masked_sources: list[str] = Field(default_factory=lambda: ["credit_blacklist"])

    _check = field_validator("invalid", "late_district", "written", "masked")(_rate)

    @field_validator("invalid")
    @classmethod
    def _at_most_90(cls, value: float) -> float:
        if value > 0.9:
            raise ValueError("invalid: at most 0.9 of the people can hold a failing ID")
        return value


class NameNoise(_Strict):
    """Enterprise names as the agencies other than the registry write them."""

    # per written name, the share replaced by each style (their sum at most 1)
    styles: dict[NameStyle, float] = Field(default_factory=dict)
    # how English customs names are written: 'basic' (the default generator) or 'customs'
    # (spaced city pinyin, industry words translated or in pinyin, legal-form variants)
    english: EnglishStyle = "basic"

    _check = field_validator("styles")(_style_rates)


class PersonNameNoise(_Strict):
    """Person names as the agencies other than the registry write them: customs in pinyin
    ('pinyin': ZHANG WEI, Zhang Wei; 'western', given name first: Wei Zhang), a given-name
    character replaced by one read the same ('homophone': 张伟 -> 张卫) or by another ('slip':
    张伟 -> 张峰), the name anonymised as publicity writes it ('anonymised': 张某某, 张*)."""

    # per written person name, the share replaced by each style (their sum at most 1);
    # 'pinyin' and 'western' apply to customs declarations only (other agencies write
    # characters), 'anonymised' to the published penalties and blacklist only
    styles: dict[PersonNameStyle, float] = Field(default_factory=dict)

    _check = field_validator("styles")(_style_rates)


class CustomsNoise(_Strict):
    """Customs declarations: the declarant's phone (a column only when this rate is > 0)."""

    declarant_phone: Rate = 0.0

    _check = field_validator("declarant_phone")(_rate)


class RegistryNoise(_Strict):
    """Registry enterprise rows with optional fields left blank (phone, address, reg. no)."""

    blank_optional: Rate = 0.0

    _check = field_validator("blank_optional")(_rate)


class TextNoise(_Strict):
    """Values pasted from spreadsheets and web pages; dates written otherwise; empty cells
    written as exports write them."""

    # share of written names, identifiers, phones, addresses, dates and amounts with one to
    # three invisible characters inside (zero-width space, byte-order mark, soft hyphen,
    # word joiner, zero-width joiner, a direction mark)
    invisible: Rate = 0.0
    # share of dates written otherwise: 二〇二三年五月一日, May 1, 2023, 13/05/2023, a
    # spreadsheet's day number (each readable without a declared format)
    dates: Rate = 0.0
    # share of the empty cells of names, identifiers, phones, addresses, dates and amounts
    # written as the source's export writes them: NULL, \\N, #N/A, N/A, -, 无, 暂无, 不详
    placeholders: Rate = 0.0

    _check = field_validator("invisible", "dates", "placeholders")(_rate)


class Profile(_Strict):
    name: str
    description: str = ""
    ids: IdNoise = IdNoise()
    names: NameNoise = NameNoise()
    persons: PersonNameNoise = PersonNameNoise()
    customs: CustomsNoise = CustomsNoise()
    registry: RegistryNoise = RegistryNoise()
    text: TextNoise = TextNoise()
    # per-source overrides of the base noise levels (records.NOISE): {source: {field: rate}}
    sources: dict[str, dict[Literal["name", "english", "id_missing", "id_mistyped"], Rate]] = (
        Field(default_factory=dict))

    @field_validator("sources")
    @classmethod
    def _rates(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for levels in value.values():
            for rate in levels.values():
                _rate(rate)
        return value

    @property
    def is_default(self) -> bool:
        return self.model_dump(exclude={"name", "description"}) == Profile(
            name="default").model_dump(exclude={"name", "description"})


@cache
def _builtin() -> dict[str, Profile]:
    raw = yaml.safe_load(PROFILES_FILE.read_text(encoding="utf-8"))
    return {name: Profile(name=name, **spec) for name, spec in raw["profiles"].items()}


def profile_names() -> list[str]:
    return list(_builtin())


def load_profile(name_or_path: str | Path) -> Profile:
    """A built-in profile by name, or a YAML file holding one profile's fields."""
    profiles = _builtin()
    if isinstance(name_or_path, str) and name_or_path in profiles:
        return profiles[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise ValueError(f"unknown profile {str(name_or_path)!r}; built-in: "
                         f"{', '.join(profiles)} (or a path to a profile YAML file)")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: a profile file holds a mapping of profile fields")
    spec.setdefault("name", path.stem)
    return Profile(**spec)


__all__ = ["Profile", "load_profile", "profile_names"]
