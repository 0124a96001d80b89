"""The inspector roster: a CSV source like any other agency file (one row per inspector with
a resident ID), read with clear errors, and resolved against the graph's persons.

Columns (Chinese or English header): 执法人员编号 / code, 姓名 / name, 身份证号码 / id_number,
optional 所属单位 / agency and 地区 / region. Resolution is by the resident ID (the same
identifier match the linkage makes exact, on the compacted number): `resolved` (one or more
Person nodes hold it - a malformed number held by a record still identifies it -: every one
of them counts for conflicts), `not_in_graph` (a valid ID no record holds: no recorded tie,
assignable) or `invalid_id` (a malformed ID no record holds, or none: its ties cannot be
checked, so it is never assigned - fail closed).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from graph.store import GraphReader
from inspection.text import Label, Word
from linkage.standardise.identifiers import check_ric

Resolution = Literal["resolved", "not_in_graph", "invalid_id"]
HEADERS = {
    "code": ("执法人员编号", "code"), "name": ("姓名", "name"),
    "id_number": ("身份证号码", "身份证号", "id_number"), "agency": ("所属单位", "agency"),
    "region": ("地区", "region"),
}
REQUIRED = ("code", "name", "id_number")
MAX_ROWS = 100_000


class RosterError(ValueError):
    """A roster that cannot be read (the message names the file, row and field)."""


class RosterEntry(BaseModel):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")
    name: Word
    id_number: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z\- ]+$")
    agency: Label | None = None
    region: Word | None = None


class ResolvedInspector(BaseModel):
    code: str
    name: str
    agency: str | None = None
    region: str | None = None
    resolution: Resolution
    person_ids: list[str] = Field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return self.resolution != "invalid_id"


def _column(header: list[str], field: str, where: str) -> int | None:
    for alias in HEADERS[field]:
        if alias in header:
            return header.index(alias)
    if field in REQUIRED:
        raise RosterError(f"{where}: no column {' / '.join(HEADERS[field])}")
    return None


def parse_roster(text: str, where: str = "roster") -> list[RosterEntry]:
    """Roster rows from CSV text; raises RosterError naming `where`, the row and the field."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise RosterError(f"{where}: empty file")
    header = [h.strip() for h in rows[0]]
    cols = {f: _column(header, f, where) for f in HEADERS}
    out: list[RosterEntry] = []
    seen: set[str] = set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(out) >= MAX_ROWS:
            raise RosterError(f"{where}: more than {MAX_ROWS} inspectors")
        values: dict[str, str | None] = {}
        for field, col in cols.items():
            cell = row[col].strip() if col is not None and col < len(row) else ""
            if field in REQUIRED and not cell:
                raise RosterError(f"{where}: row {number}: field {field} is empty")
            values[field] = cell or None
        try:
            entry = RosterEntry.model_validate(values)
        except ValueError as exc:
            raise RosterError(f"{where}: row {number}: {_first_error(exc)}") from None
        if entry.code in seen:
            raise RosterError(f"{where}: row {number}: field code: {entry.code} appears twice")
        seen.add(entry.code)
        out.append(entry)
    return out


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"field {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


def read_roster(path: Path) -> list[RosterEntry]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise RosterError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_roster(text, str(path))


def resolve(store: GraphReader, roster: list[RosterEntry]) -> list[ResolvedInspector]:
    """Each inspector with the persons holding their resident ID (see the module docstring)."""
    out = []
    for entry in roster:
        checked = check_ric(entry.id_number)
        base = ResolvedInspector(code=entry.code, name=entry.name, agency=entry.agency,
                                 region=entry.region, resolution="invalid_id")
        if not checked.value:
            out.append(base)
            continue
        people = sorted(b.entity_id for b in store.briefs_by_identifier("id_number",
                                                                         checked.value)
                        if b.kind == "Person")
        if people:
            out.append(base.model_copy(update={"resolution": "resolved", "person_ids": people}))
        elif checked.valid:
            out.append(base.model_copy(update={"resolution": "not_in_graph"}))
        else:
            out.append(base)
    return out
