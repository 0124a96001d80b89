"""What a search hit says to tell namesakes apart, computed the same way by both stores.

- `id_masked`: a person's identity number as the redaction policy shows it in lists (first
  four and last four characters: `1502…8219`; shorter numbers fully masked);
- `birth_year`: from the birth date, else from the identity number;
- `province` / `city`: the entity's own, else (a person) the province and county of the
  identity number's birth place;
- `ties`: the enterprises a person is tied to (PERSON_TIES relationships, roles merged), the
  violating ones first, then by entity ID; the first TIES_SHOWN of them, `n_ties` = all.
Search pages group the whole ranked result by name (`name_groups`): count desc, then name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stdnum.cn import ric

from graph.models import NameGroup, TiedFirm
from graph.schema import CONTROL_TYPES

PERSON_TIES: tuple[str, ...] = (*CONTROL_TYPES, "DECLARANT_FOR")
TIES_SHOWN = 3
MAX_GROUPS = 20


def mask_identifier(value: str | None) -> str | None:
    """1502…8219: the first and last four characters of an identifier of 12 or more."""
    if not value:
        return None
    if len(value) < 12:
        return "*" * len(value)
    return f"{value[:4]}…{value[-4:]}"


def birth_year(birth_date: Any, id_number: str | None) -> int | None:
    year = getattr(birth_date, "year", None)  # datetime.date, neo4j.time.Date
    if isinstance(year, int):
        return year
    if isinstance(birth_date, str) and birth_date[:4].isdigit():
        return int(birth_date[:4])
    if id_number and len(id_number) == 18 and id_number[6:10].isdigit():
        year = int(id_number[6:10])
        return year if 1900 <= year <= 2100 else None
    return None


def region(province: Any, city: Any, id_number: str | None) -> tuple[str | None, str | None]:
    """(province, city) of the entity, else of the identity number's birth place."""
    if province or city or not id_number:
        return (province or None, city or None)
    try:
        place = ric.get_birth_place(id_number)
    except Exception:  # stdnum raises bare KeyError / ValueError on unknown codes
        return None, None
    return place.get("province") or None, place.get("county") or None


def ties(rows: Iterable[tuple[str, str, str, bool]]) -> tuple[list[TiedFirm], int]:
    """(firm ID, name, relationship type, violating) rows → the firms shown and how many."""
    firms: dict[str, TiedFirm] = {}
    for firm, name, rtype, violating in rows:
        tied = firms.setdefault(firm, TiedFirm(entity_id=firm, name=name, roles=[],
                                               violating=bool(violating)))
        if rtype not in tied.roles:
            tied.roles.append(rtype)
    for tied in firms.values():
        tied.roles.sort(key=PERSON_TIES.index)
    ranked = sorted(firms.values(), key=lambda f: (not f.violating, f.entity_id))
    return ranked[:TIES_SHOWN], len(ranked)


def name_groups(names: Iterable[str]) -> list[NameGroup]:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [NameGroup(name=n, count=c) for n, c in ranked[:MAX_GROUPS]]


def details(kind: str, attrs: dict[str, Any], id_number: str | None,
            tie_rows: Iterable[tuple[str, str, str, bool]]) -> dict[str, Any]:
    """The SearchHit fields beyond the summary, from the entity's attributes and ties."""
    province, city = region(attrs.get("province"), attrs.get("city"),
                            id_number if kind == "Person" else None)
    shown, n_ties = ties(tie_rows) if kind == "Person" else ([], 0)
    return {
        "id_masked": mask_identifier(id_number) if kind == "Person" else None,
        "birth_year": birth_year(attrs.get("birth_date"), id_number)
        if kind == "Person" else None,
        "province": province, "city": city, "ties": shown, "n_ties": n_ties,
    }
