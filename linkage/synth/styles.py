"""The extra noise of a profile (see profiles.py), drawn from the profile's own random stream.

- `restyle_person_ids` changes the world once: some people hold an ID that fails validation
  (the same wrong number in every record, as when the registry keyed it wrongly) or one issued
  by a district created after their birth; the truth (persons.csv) carries the ID they hold.
- `ProfileNoise` is asked by the record maker for each written name, ID and optional field.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from pypinyin import lazy_pinyin

from linkage.standardise.surnames import READINGS
from linkage.synth import english
from linkage.synth import identifiers as ids
from linkage.synth import names as nm
from linkage.synth.profiles import Profile
from linkage.synth.world import Firm, World

if TYPE_CHECKING:
    from linkage.synth.records import Table

K = TypeVar("K", bound=str)

# Chinese industry aliases seen in agency records (水产 -> 水产品 as in 海汇水产品（青岛）…)
INDUSTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "水产": ("水产品",), "进出口贸易": ("进出口", "外贸"), "国际贸易": ("国际贸易发展",),
    "商贸": ("商业贸易",), "贸易": ("商贸",), "电子科技": ("电子技术", "电子"),
    "生物科技": ("生物技术",), "科技": ("科技发展", "技术"), "供应链管理": ("供应链",),
    "机械设备": ("机电设备",), "农产品": ("农副产品",), "化工": ("化工产品",),
}
_CUT_FORMS: dict[str, tuple[str, ...]] = {
    "有限公司": ("有限", "有限公"), "有限责任公司": ("有限责任", "有限责", "有限责任公"),
    "股份有限公司": ("股份有限", "股份有", "股份"),
}


def _pick(weights: Mapping[K, float], rng: random.Random) -> K:
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def restyle_person_ids(world: World, profile: Profile, seed: int) -> None:
    """Give `ids.invalid` of the people a failing ID and `ids.late_district` of the others
    one issued by a district created after their birth; IDs stay unique across people."""
    noise = profile.ids
    if noise.invalid <= 0 and noise.late_district <= 0:
        return
    rng = random.Random(seed * 1_000_003 + 29)
    taken = {p.id_number for p in world.people}
    for p in world.people:
        r = rng.random()
        if r < noise.invalid:
            style = _pick(noise.invalid_styles, rng)
            for _ in range(20):
                candidate = ids.invalid_ric(p.id_number, style, rng)
                if candidate not in taken:
                    break
            else:
                continue
        elif r < noise.invalid + noise.late_district:
            candidate = ids.late_district_ric(p.id_number)
            if candidate in taken:
                continue
        else:
            continue
        taken.add(candidate)
        p.id_number = candidate


class ProfileNoise:
    """Per-record noise of a profile; never draws a number when the profile leaves it at 0."""

    def __init__(self, profile: Profile, seed: int) -> None:
        self.p = profile
        self.rng = random.Random(seed * 15_485_863 + 3)
        self.name_total = sum(profile.names.styles.values())
        self.person_total = sum(profile.persons.styles.values())

    def person_id(self, written: str, source: str = "") -> str:
        """A written person ID: masked at the profile's rate where `source` publishes IDs so,
        else with a formatting slip at the profile's rate."""
        noise = self.p.ids
        if (written and noise.masked > 0 and source in noise.masked_sources
                and len(written) == 18 and self.rng.random() < noise.masked):
            return ids.mask_ric(written, self.rng)
        if not written or noise.written <= 0:
            return written
        if self.rng.random() >= noise.written:
            return written
        return ids.written_ric(written, _pick(noise.written_styles, self.rng),
                               self.rng)

    def firm_name(self, f: Firm, written: str, kind: str) -> str:
        """The name another agency writes: a profile style at its rate, else `written`
        (an English name in the 'customs' style when the profile asks for that)."""
        if kind == "english":
            if self.p.names.english == "customs":
                return english.customs_english(f, self.rng)
            return written
        if self.name_total <= 0 or self.rng.random() >= self.name_total:
            return written
        style = _pick(self.p.names.styles, self.rng)
        return chinese_variant(f, style, self.rng)

    def person_name(self, name: str, written: str, source: str) -> str:
        """The person's name (`name`, as the registry holds it) as another agency writes it:
        a profile style at its rate, else `written` (the default generator's writing)."""
        if self.person_total <= 0 or self.rng.random() >= self.person_total:
            return written
        style = _pick(self.p.persons.styles, self.rng)
        if style in ("pinyin", "western") and source != "customs_declarations":
            return written
        if style == "anonymised" and source not in PUBLISHED:
            return written
        return person_variant(name, style, self.rng)

    def blank(self) -> bool:
        """Whether an optional registry field is left blank."""
        rate = self.p.registry.blank_optional
        return rate > 0 and self.rng.random() < rate

    def declarant_phone(self, mobile: str) -> str:
        from linkage.synth.identifiers import format_phone

        if self.rng.random() >= self.p.customs.declarant_phone:
            return ""
        return format_phone(mobile, None, self.rng)


def _region_forms(f: Firm) -> list[str]:
    d = nm.DISTRICTS[f.district]
    short = d.city_short
    forms = [short, short + "市"]
    if d.province != d.city:
        province = d.province.removesuffix("省")
        forms += [province + short, d.province + d.city]
    return forms


def chinese_variant(f: Firm, style: str, rng: random.Random) -> str:
    """'truncated' (the legal form cut: …股份有限, or a narrow field: the first 8-12
    characters), 'bracketed' (the region in brackets at the front, after the trade name or
    before the legal form), 'city_variant' (the city with / without 市, with its province),
    'industry_alias' (水产 -> 水产品 …)."""
    industry = nm.INDUSTRIES[f.industry][0]
    form = nm.FORMS[f.form][0]
    if style == "truncated":
        if rng.random() < 0.7:
            return f.region + f.brand + industry + rng.choice(_CUT_FORMS[form])
        return f.name[: min(len(f.name) - 2, rng.randint(8, 12))]
    if style == "bracketed":
        region = rng.choice(_region_forms(f)[:2])
        left, right = ("（", "）") if rng.random() < 0.7 else ("(", ")")
        where = rng.random()
        if where < 0.25:
            return f"{left}{region}{right}{f.brand}{industry}{form}"
        if where < 0.6:
            return f"{f.brand}{left}{region}{right}{industry}{form}"
        return f"{f.brand}{industry}{left}{region}{right}{form}"
    if style == "city_variant":
        options = [r for r in _region_forms(f) if r != f.region] or [f.region]
        return rng.choice(options) + f.brand + industry + form
    aliases = INDUSTRY_ALIASES.get(industry)
    if not aliases:
        return f.region.removesuffix("市") + f.brand + industry + form
    return f.region + f.brand + rng.choice(aliases) + form


# --- person names ---------------------------------------------------------------------------

_TWO_CHAR_SURNAMES = frozenset(sur for sur, _ in nm.SURNAMES if len(sur) == 2)


def split_name(name: str) -> tuple[str, str]:
    """(surname, given name) of a generated name (the generator's two-character surnames
    known)."""
    if name[:2] in _TWO_CHAR_SURNAMES and len(name) > 2:
        return name[:2], name[2:]
    return name[:1], name[1:]


@cache
def _given_chars() -> tuple[str, ...]:
    """Every character of the generator's given names, in a fixed order."""
    pool = "".join(nm.GIVEN_MALE) + "".join(nm.GIVEN_FEMALE) + nm.GIVEN_CHARS_MALE + \
        nm.GIVEN_CHARS_FEMALE
    return tuple(dict.fromkeys(pool))


@cache
def _homophones() -> dict[str, tuple[str, ...]]:
    """Each given-name character -> the other characters of the pool read the same (tones
    ignored), in the pool's order; characters without one are left out."""
    by_sound: dict[str, list[str]] = {}
    for ch in _given_chars():
        by_sound.setdefault(lazy_pinyin(ch)[0], []).append(ch)
    return {ch: tuple(c for c in group if c != ch)
            for group in by_sound.values() if len(group) > 1 for ch in group}


NOTES = ("（法定代表人）", "(法人)", "（股东）", "（已注销）", "【失信】", "（董事长）",
         " (经办人)", " 法人", "/经理", " 董事长", "先生")
# a label before the name, as a cell copied from a form holds it (法定代表人：张伟)
LABELS = ("法定代表人：", "姓名:", "负责人：")
# invisible characters pasted values carry: zero-width space, byte-order mark, soft hyphen,
# word joiner, zero-width joiner, left-to-right mark
INVISIBLES = ("\u200b", "\ufeff", "\u00ad", "\u2060", "\u200d", "\u200e")
# the columns whose values are standardised (names, identifiers, phones, addresses, dates,
# amounts); the keys, kinds and roles the mapping reads as they are are left alone
PASTED_COLUMNS = frozenset({
    "企业名称", "法定代表人", "股东名称", "姓名", "收发货人名称", "申报人姓名", "当事人名称",
    "主体名称",
    "统一社会信用代码", "注册号", "法定代表人证件号码", "证件号码", "海关编码", "申报人证件号码",
    "联系电话", "申报人电话", "住所", "成立日期", "注销日期", "入股日期", "退出日期", "任职日期",
    "离任日期", "申报日期", "检验日期", "处罚日期", "列入日期", "持股比例", "货值", "罚款金额",
})


def paste_invisible(tables: Iterable[Table], profile: Profile, seed: int, skip: str,
                    encodings: Mapping[str, str]) -> None:
    """Put one to three invisible characters inside `profile.text.invisible` of the
    non-empty values of `PASTED_COLUMNS` (not in a cell holding `skip`, a marker the writer
    replaces; not in a table whose file encoding, `encodings[name]`, cannot write them: GBK).
    Its own random stream: every other draw stays as without it."""
    rate = profile.text.invisible
    if rate <= 0:
        return
    rng = random.Random(seed * 7_919 + 41)
    writable = [t for t in tables if _can_hold_invisibles(encodings.get(t.name, "utf-8"))]
    for row, i, value in _chosen_cells(writable, PASTED_COLUMNS, rate, rng, skip):
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(value))
            value = value[:at] + rng.choice(INVISIBLES) + value[at:]
        row[i] = value


def _can_hold_invisibles(encoding: str) -> bool:
    try:
        "".join(INVISIBLES).encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _chosen_cells(tables: Iterable[Table], columns: frozenset[str], rate: float,
                  rng: random.Random, skip: str) -> Iterator[tuple[list[Any], int, str]]:
    """(row, column index, value) of `rate` of the non-empty cells of `columns` not holding
    `skip`, one draw of `rng` per such cell, lazily (a caller's own draws come between)."""
    for table in tables:
        cols = [i for i, c in enumerate(table.columns) if c in columns]
        for row in table.rows:
            for i in cols:
                value = row[i]
                if not value or skip in value or rng.random() >= rate:
                    continue
                yield row, i, value


# what an export writes in an empty cell: a database (NULL, \\N), a spreadsheet (#N/A, N/A,
# -), a form (无, 暂无, 不详, /); each source writes one of them, now and then another
PLACEHOLDERS = ("NULL", "\\N", "null", "#N/A", "N/A", "-", "无", "暂无", "不详", "/", "（空）")
_OTHER_PLACEHOLDER = 0.1


def write_placeholders(tables: Iterable[Table], profile: Profile, seed: int) -> None:
    """Write `profile.text.placeholders` of the empty cells of `PASTED_COLUMNS` as the
    placeholder their source's export writes (`PLACEHOLDERS`: one per source, another in a
    tenth of its cells). Its own random stream: every other draw stays as without it."""
    rate = profile.text.placeholders
    if rate <= 0:
        return
    rng = random.Random(seed * 4_391 + 29)
    for table in tables:
        own = rng.choice(PLACEHOLDERS)
        cols = [i for i, c in enumerate(table.columns) if c in PASTED_COLUMNS]
        for row in table.rows:
            for i in cols:
                if row[i] or rng.random() >= rate:
                    continue
                row[i] = rng.choice(PLACEHOLDERS) if rng.random() < _OTHER_PLACEHOLDER else own


DATE_COLUMNS = frozenset({
    "成立日期", "注销日期", "入股日期", "退出日期", "任职日期", "离任日期", "申报日期", "检验日期",
    "处罚日期", "列入日期",
})
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                "Dec")
_HAN_DIGITS = "〇一二三四五六七八九"


def _han_count(n: int) -> str:
    tens, units = divmod(n, 10)
    head = "" if tens == 0 else "十" if tens == 1 else _HAN_DIGITS[tens] + "十"
    return head + (_HAN_DIGITS[units] if units else "")


def date_variant(day: dt.date, rng: random.Random) -> str:
    """`day` as writers other than a database write it, each form readable without a
    declared format: in Chinese numerals (二〇二三年五月一日, as official documents date
    themselves), with an English month (May 1, 2023 / 01-MAY-2023), day first when the day is
    over 12 (13/05/2023), or as a spreadsheet's day number (45047)."""
    form = rng.random()
    if form < 0.3:
        year = "".join(_HAN_DIGITS[int(c)] for c in str(day.year))
        return f"{year}年{_han_count(day.month)}月{_han_count(day.day)}日"
    if form < 0.5 or (form < 0.75 and day.day <= 12):
        month = _MONTH_NAMES[day.month - 1]
        if rng.random() < 0.5:
            return f"{month} {day.day}, {day.year}"
        return f"{day.day:02d}-{month.upper()}-{day.year}"
    serial = (day - dt.date(1899, 12, 30)).days
    if form < 0.75 or serial < 10_000:  # a four-digit day number reads as a year
        return f"{day.day:02d}/{day.month:02d}/{day.year}" if day.day > 12 else \
            f"{_MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"
    return str(serial)


def rewrite_dates(tables: Iterable[Table], profile: Profile, seed: int, skip: str) -> None:
    """Write `profile.text.dates` of the readable dates of `DATE_COLUMNS` in another form
    (`date_variant`); a value that is no date (the generator's bad dates) stays as it is.
    Its own random stream: every other draw stays as without it."""
    rate = profile.text.dates
    if rate <= 0:
        return
    rng = random.Random(seed * 6_053 + 17)
    for row, i, value in _chosen_cells(tables, DATE_COLUMNS, rate, rng, skip):
        day = _iso_or_compact(value)
        if day is not None:
            row[i] = date_variant(day, rng)


def _iso_or_compact(value: str) -> dt.date | None:
    try:
        if len(value) == 8 and value.isdigit():
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


# the sources that publish people anonymised (penalty decisions, the credit blacklist), and
# the ways they write the given name's place, by its length: 张某某 / 张某, 张**, 张某, 张XX
PUBLISHED = frozenset({"administrative_penalties", "credit_blacklist"})
_ANONYMISED = (lambda n: "某" * n, lambda n: "*" * n, lambda n: "某", lambda n: "X" * n)

# given name first: (cumulative share, given name's case, surname's case): Wei Zhang 40%,
# Wei ZHANG 30%, WEI ZHANG 30%
_WESTERN = ((0.4, str.capitalize, str.capitalize), (0.7, str.capitalize, str.upper),
            (1.0, str.upper, str.upper))


def person_variant(name: str, style: str, rng: random.Random) -> str:
    """'pinyin' (surname first, as Chinese customs writes it: ZHANG WEI, 30% Zhang Wei),
    'western' (given name first, as a foreign partner's documents write it: Wei Zhang 40%,
    Wei ZHANG 30%, WEI ZHANG 30%),
    'anonymised' (the given name hidden as publicity hides it: 张某某, 张**, 张某, 张XX),
    'homophone' (one given-name character replaced by another read the same: the name is left
    as it is when none of its characters has one), 'slip' (one given-name character replaced
    by another of the pool), 'note' (a note after the name, in brackets or not: 张伟（法定代表人）,
    张伟 法人, 张伟/经理, 张伟先生; a fifth with a label before it instead: 法定代表人：张伟)."""
    if style == "note":
        if rng.random() < 0.2:
            return rng.choice(LABELS) + name
        return name + rng.choice(NOTES)
    surname, given = split_name(name)
    if not given:
        return name
    if style == "anonymised":
        return surname + rng.choice(_ANONYMISED)(len(given))
    family = READINGS.get(surname) or "".join(lazy_pinyin(surname))  # 曾: zeng, as customs
    if style == "pinyin":
        parts = [family, "".join(lazy_pinyin(given))]
        if rng.random() < 0.3:
            return " ".join(p.capitalize() for p in parts)
        return " ".join(p.upper() for p in parts)
    if style == "western":
        draw = rng.random()
        _, given_case, family_case = next(w for w in _WESTERN if draw < w[0])
        return f"{given_case(''.join(lazy_pinyin(given)))} {family_case(family)}"
    positions = list(range(len(given)))
    if style == "homophone":
        sounds = _homophones()
        positions = [i for i in positions if given[i] in sounds]
        if not positions:
            return name
        i = rng.choice(positions)
        replacement = rng.choice(sounds[given[i]])
    else:
        i = rng.choice(positions)
        replacement = rng.choice([c for c in _given_chars() if c != given[i]])
    return surname + given[:i] + replacement + given[i + 1:]
