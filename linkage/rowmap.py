"""Apply one source's mapping to its rows, column by column (no per-row Python objects).

`map_source` turns a `RawTable` into raw (not yet standardised) mentions, relations, events and
quarantine rows. Every input row ends up either mapped (it yields at least one mention) or in
quarantine with the row number, the field and the reason; the first reason found wins:
undecodable / unparseable (from the reader), missing or duplicate record key, a row filter,
a bad date or number in a field that is used, and finally no mention left (filters, required).
"""

from __future__ import annotations

import csv
import json
import string
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.mapping import (
    DATE_PROPERTIES,
    EVENT_DATE_FIELDS,
    KEY_SEPARATOR,
    NUMBER_FIELDS,
    RELATION_DATE_FIELDS,
    KindSpec,
    MentionSpec,
    OnError,
    RowFilter,
    SourceSpec,
    ValueSpec,
    event_role,
    join_key,
    on_error,
)
from linkage.readers import RawTable, value_text
from linkage.standardise.dates import parse_many_dates, parse_many_numbers
from linkage.standardise.missing import could_be_placeholder, placeholders
from linkage.standardise.text import readable
from runfolder.schema import QUARANTINE

DATE = pd.ArrowDtype(pa.date32())
QUARANTINE_COLUMNS = list(QUARANTINE.columns)  # quarantine.parquet without run_id
DROPPED_COLUMNS = ["source", "row_number", "record_id", "role", "field", "reason"]
# A value that could not be read in a row that was kept (its field left empty): a counted note.
NOTE_COLUMNS = ["source", "file", "row_number", "record_id", "field", "reason"]


@dataclass
class SourceResult:
    mentions: pd.DataFrame  # raw property values per mention
    relations: pd.DataFrame
    events: pd.DataFrame
    quarantine: pd.DataFrame
    dropped: pd.DataFrame  # mentions missing a required field in rows that still map
    counts: dict[str, int]
    notes: pd.DataFrame = field(  # values that could not be read, left empty (`on_error: null`)
        default_factory=lambda: pd.DataFrame(columns=NOTE_COLUMNS))


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# a whole number a float could not hold exactly, as `readers.value_text` writes it
INEXACT_NUMBER = r"-?[0-9](?:\.[0-9]+)?e\+(?:1[5-9]|[2-9][0-9]|[0-9]{3})"
# control characters (NUL, a stray escape) an export leaves in a cell: never part of a value
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


class _Rows:
    """The rows of one source, with the quarantine decisions taken so far."""

    def __init__(self, source: str, spec: SourceSpec, table: RawTable) -> None:
        self.source = source
        self.spec = spec
        self.table = table
        frame = table.frame
        used = [c for c in spec.columns_used() if c in frame.columns]
        self.cols: dict[str, pd.Series] = {
            c: frame[c].fillna("").str.replace(CONTROL, "", regex=True).str.strip()
            for c in used}
        self.index = frame.index
        self.alive = pd.Series(True, index=self.index)
        self.q_reason = pd.Series(None, index=self.index, dtype="object")
        self.q_field = pd.Series(None, index=self.index, dtype="object")
        self._values: dict[str, pd.Series] = {}
        self.note_parts: list[pd.DataFrame] = []  # index: rows; columns: field, reason
        for name, values in self.cols.items():  # a long number stored as a float: no value
            inexact = values.str.fullmatch(INEXACT_NUMBER)
            if inexact.any():
                self.bad_value(inexact, name, pd.Series(
                    "a whole number of 16 digits or more stored as a float, its last digits lost "
                    "(store identifiers as text): " + values[inexact], index=values[inexact].index),
                    "null")
                self.cols[name] = values.where(~inexact, "")

    def bad_value(self, mask: pd.Series, field: str, reason: pd.Series, action: OnError) -> None:
        """A value of `field` that cannot be read: quarantine the row, or keep it with a note."""
        if action == "quarantine":
            self.quarantine(mask, field, reason)
            return
        hit = mask & self.alive
        if hit.any():
            self.note_parts.append(pd.DataFrame({"field": field, "reason": reason[hit]}))

    def quarantine(self, mask: pd.Series, field: str | None | pd.Series,
                   reason: str | pd.Series) -> None:
        hit = mask & self.alive
        if not hit.any():
            return
        self.q_reason[hit] = reason[hit] if isinstance(reason, pd.Series) else reason
        self.q_field[hit] = field[hit] if isinstance(field, pd.Series) else field
        self.alive &= ~hit

    def column(self, name: str) -> pd.Series:
        if name in self.cols:
            return self.cols[name]
        return pd.Series("", index=self.index, dtype="str")  # a JSON key absent from every row

    def filter(self, f: RowFilter) -> pd.Series:
        """The rows `f` keeps, each value read as a reader sees it (`readable`, no spaces
        around: 自然人 written with a zero-width space or in full width is 自然人)."""
        s = _readable(self.column(f.column))
        if f.equals is not None:
            return s == readable(f.equals).strip()
        if f.not_equals is not None:
            return s != readable(f.not_equals).strip()
        if f.in_ is not None:
            return s.isin([readable(v).strip() for v in f.in_])
        if f.not_in is not None:
            return ~s.isin([readable(v).strip() for v in f.not_in])
        return (s != "") if f.present else (s == "")

    def filters(self, filters: list[RowFilter]) -> pd.Series:
        ok = pd.Series(True, index=self.index)
        for f in filters:
            ok &= self.filter(f)
        return ok

    def value(self, key: str, spec: ValueSpec) -> pd.Series:
        """The stripped string value of `spec` for every row ('' when missing). A mention's
        properties and identifiers read a placeholder (NULL, \\N, 无, N/A, -:
        `linkage.standardise.missing`) as missing, in a template each column's own."""
        if key in self._values:
            return self._values[key]
        blank = _blanked(key)
        if spec.column is not None:
            out = self.column(spec.column)
            out = without_placeholders(out) if blank else out
        elif spec.literal is not None:
            out = pd.Series(_literal(spec.literal), index=self.index, dtype="str")
        elif spec.template is not None:
            out = self._template(spec.template, blank)
        else:
            assert spec.ref is not None
            role, prop = spec.ref.split(".")
            target = self.spec.mentions[role].properties[prop]
            out = self.value(f"mentions.{role}.properties.{prop}", target)
        self._values[key] = out
        return out

    def _template(self, template: str, blank: bool) -> pd.Series:
        out = pd.Series("", index=self.index, dtype="str")
        present = pd.Series(False, index=self.index)
        for text, name, _, _ in string.Formatter().parse(template):
            if text:
                out = out + text
            if name is not None:
                col = without_placeholders(self.column(name)) if blank else self.column(name)
                out = out + col
                present |= col != ""
        return out.where(present, "").str.strip()

    def where(self, spec: ValueSpec | None, key: str) -> str:
        """The quarantine `field` for a value: its column if it has one, else its mapping key."""
        return spec.column if spec is not None and spec.column is not None else key


def _parse_dates(rows: _Rows, key: str, spec: ValueSpec, active: pd.Series,
                 action: OnError) -> pd.Series:
    raw = rows.value(key, spec)
    raw = raw if _blanked(key) else without_placeholders(raw)  # a placeholder is no date
    parsed = parse_many_dates(raw[active & rows.alive].unique(), rows.spec.date_format)
    bad_map = {k: v for k, v in parsed.items() if isinstance(v, str)}
    if bad_map:
        bad = raw.isin(list(bad_map)) & active
        reason = "bad date in " + key + ": " + raw.map(bad_map)
        rows.bad_value(bad, rows.where(spec, key), reason, action)
    good = {k: v for k, v in parsed.items() if not isinstance(v, str)}
    return to_dates(raw.map(good).where(active, None))


def to_dates(values: pd.Series) -> pd.Series:
    """An object Series of `date` / None / NaN as an Arrow date32 Series (nulls for missing)."""
    arr = pa.array(values.to_numpy(dtype=object), type=pa.date32(), from_pandas=True)
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=values.index)


def _parse_numbers(rows: _Rows, key: str, spec: ValueSpec, active: pd.Series,
                   action: OnError) -> pd.Series:
    raw = rows.value(key, spec)
    raw = raw if _blanked(key) else without_placeholders(raw)  # a placeholder is no date
    percent = key.endswith("share_pct")
    parsed = parse_many_numbers(raw[active & rows.alive].unique(), percent)
    bad_map = {k: v for k, v in parsed.items() if isinstance(v, str)}
    if bad_map:
        bad = raw.isin(list(bad_map)) & active
        reason = "bad number in " + key + ": " + raw.map(bad_map)
        rows.bad_value(bad, rows.where(spec, key), reason, action)
    good = {k: v for k, v in parsed.items() if not isinstance(v, str)}
    return raw.map(good).where(active, np.nan).astype("float64")


_VECTORISED_FROM = 20_000  # distinct values


def _blanked(key: str) -> bool:
    """Whether `_Rows.value` reads the placeholders of the value at `key` as missing: a
    mention's properties and identifiers."""
    return key.startswith("mentions.")


def without_placeholders(values: pd.Series, *, exports_only: bool = False) -> pd.Series:
    """`values` with the placeholders of a missing value (`linkage.standardise.missing`;
    `exports_only`: an export's words alone) read as missing (''): the distinct values that
    could be one (a pattern's quick test) judged one by one."""
    uniques = values.unique()
    if len(uniques) > _VECTORISED_FROM:  # pyarrow's engine: a compile per call, then fast
        distinct = pd.Series(uniques, dtype="str")
        maybe = distinct[distinct.str.fullmatch(could_be_placeholder().pattern).fillna(False)]
    else:  # the pattern compiled once
        could_be = could_be_placeholder().fullmatch
        maybe = pd.Series([v for v in uniques if isinstance(v, str) and could_be(v)],
                          dtype="str")
    found = placeholders(maybe, exports_only=exports_only)
    return values.mask(values.isin(found), "") if found else values


def _text(rows: _Rows, key: str, spec: ValueSpec, mask: pd.Series) -> pd.Series:
    """A relation's or an event's text (a role, a category, a description): as written,
    an export's NULL or #N/A missing."""
    return _nullable(without_placeholders(rows.value(key, spec), exports_only=True)[mask])


def _nullable(s: pd.Series) -> pd.Series:
    return s.where(s != "", None).astype("str")


def map_source(source: str, spec: SourceSpec, table: RawTable,
               first_at: pd.Series | None = None) -> SourceResult:
    """Map one source's rows. `first_at` (aligned with the table's rows) gives the row number
    of the first row of each row's record key when the table is a part of the file (the Spark
    path; missing: the row is the first); by default the table itself is searched."""
    rows = _Rows(source, spec, table)
    rows.quarantine(_header_again(rows), None,
                    "the header line again (two exports joined into one file)")
    key = _record_keys(rows, spec.key_columns)
    rows.quarantine(key == "", spec.key_label, "missing record key")
    own = pd.Series(rows.index, index=rows.index)
    if first_at is None:
        first_at = own.groupby(key.where(rows.alive)).transform("min")
    else:
        first_at = first_at.where(first_at.notna(), own)
    dup = rows.alive & (first_at != rows.index)
    if dup.any():
        reason = ("duplicate record key " + key + " (first at row "
                  + first_at.astype("Int64").astype("str") + ")")
        rows.quarantine(dup, spec.key_label, reason)
    for i, f in enumerate(spec.filters):
        rows.quarantine(~rows.filter(f), f.column, f"excluded by filters[{i}]: {f.describe()}")

    # which mentions, relations and events each row has, before typed parsing
    filter_ok: dict[str, pd.Series] = {}
    missing: dict[str, pd.Series] = {}  # first missing required property per row, or ''
    for role, m in spec.mentions.items():
        filter_ok[role] = rows.filters(m.filter)
        if isinstance(m.kind, KindSpec):
            filter_ok[role] &= rows.column(m.kind.column).isin(list(m.kind.map))
        miss = pd.Series("", index=rows.index, dtype="str")
        for prop in reversed(m.required):
            empty = rows.value(f"mentions.{role}.properties.{prop}", m.properties[prop]) == ""
            miss = miss.mask(empty, prop)
        missing[role] = miss
    ok = {role: filter_ok[role] & (missing[role] == "") for role in spec.mentions}
    rel_active = [ok[r.src] & ok[r.dst] & rows.filters(r.filter) for r in spec.relations]
    ev_active = [ok[e.subject] & rows.filters(e.filter) for e in spec.events]

    # typed values: a bad date or number in a used field quarantines the row (`on_error:
    # quarantine`, the default for a required field) or is left empty with a note (`null`)
    typed: dict[str, pd.Series] = {}
    for role, m in spec.mentions.items():
        for prop, vspec in m.properties.items():
            if prop in DATE_PROPERTIES:
                k = f"mentions.{role}.properties.{prop}"
                typed[k] = _parse_dates(rows, k, vspec, ok[role],
                                        on_error(vspec, prop in m.required))
    for i, r in enumerate(spec.relations):
        for name, vspec in r.values().items():
            k = f"relations[{i}].{name}"
            if name in RELATION_DATE_FIELDS:
                typed[k] = _parse_dates(rows, k, vspec, rel_active[i], on_error(vspec, False))
            elif name in NUMBER_FIELDS:
                typed[k] = _parse_numbers(rows, k, vspec, rel_active[i], on_error(vspec, False))
    for i, e in enumerate(spec.events):
        for name, vspec in e.values().items():
            k = f"events[{i}].{name}"
            required = name in EVENT_DATE_FIELDS  # an event is dated
            if name in EVENT_DATE_FIELDS:
                typed[k] = _parse_dates(rows, k, vspec, ev_active[i], on_error(vspec, required))
            elif name in NUMBER_FIELDS:
                typed[k] = _parse_numbers(rows, k, vspec, ev_active[i], on_error(vspec, required))

    exists = {role: ok[role] & rows.alive for role in spec.mentions}
    any_mention = pd.Series(False, index=rows.index)
    for mask in exists.values():
        any_mention |= mask
    _no_mention(rows, filter_ok, missing, any_mention)

    record_id = key
    mentions = pd.concat(
        [_mentions(rows, role, exists[role], record_id, typed) for role in spec.mentions],
        ignore_index=True,
    )
    relations = _relations(rows, record_id, rel_active, exists, typed)
    events = _events(rows, record_id, ev_active, exists, typed)
    quarantine = _quarantine(rows, record_id)
    dropped = _dropped(rows, record_id, filter_ok, missing, any_mention)
    notes = _notes(rows, record_id)
    counts = {
        "rows_in": table.rows_in,
        "rows_mapped": int((any_mention & rows.alive).sum()),
        "rows_quarantined": len(quarantine),
        "mentions": len(mentions),
    }
    if counts["rows_in"] != counts["rows_mapped"] + counts["rows_quarantined"]:  # pragma: no cover
        raise AssertionError(f"{source}: rows do not reconcile: {counts}")
    return SourceResult(mentions, relations, events, quarantine, dropped, counts, notes)


def _record_keys(rows: _Rows, columns: list[str]) -> pd.Series:
    """Each row's record key (`linkage.mapping.join_key`, vectorised): a column's value, or
    several joined, '' when any is empty."""
    parts = [rows.column(c) for c in columns]
    if len(parts) == 1:
        return parts[0]
    empty = pd.concat([p == "" for p in parts], axis=1).any(axis=1)
    key = parts[0]
    for part in parts[1:]:
        key = key + KEY_SEPARATOR + part
    return key.mask(empty, "")


def _why_not(spec: SourceSpec, role: str, filter_ok: pd.Series, missing: pd.Series) -> pd.Series:
    m = spec.mentions[role]
    conditions = [f.describe() for f in m.filter]
    if isinstance(m.kind, KindSpec):
        conditions.append(f"{m.kind.column} in {list(m.kind.map)!r} (kind)")
    desc = " and ".join(conditions)
    why = pd.Series("", index=filter_ok.index, dtype="str")
    why = why.mask(missing != "", role + ": missing required " + missing)
    return why.mask(~filter_ok, f"{role}: filter {desc} does not hold")


def _no_mention(rows: _Rows, filter_ok: dict[str, pd.Series], missing: dict[str, pd.Series],
                any_mention: pd.Series) -> None:
    empty = rows.alive & ~any_mention
    if not empty.any():
        return
    whys = [_why_not(rows.spec, role, filter_ok[role], missing[role])[empty]
            for role in rows.spec.mentions]
    reason = pd.Series(["; ".join(p for p in parts if p) for parts in zip(*whys, strict=True)],
                       index=whys[0].index, dtype="str")
    field = pd.Series(None, index=reason.index, dtype="object")
    for role, m in rows.spec.mentions.items():
        miss = missing[role][empty]
        where = {p: rows.where(m.properties[p], p) for p in miss.unique() if p}
        field = field.where(field.notna(), miss.map(where))
    rows.quarantine(empty, field.reindex(rows.index), "no mention: " + reason.reindex(rows.index))


def _mentions(rows: _Rows, role: str, mask: pd.Series, record_id: pd.Series,
              typed: dict[str, pd.Series]) -> pd.DataFrame:
    m = rows.spec.mentions[role]
    rid = record_id[mask]
    out: dict[str, pd.Series | str | np.ndarray] = {
        "mention_id": rows.source + ":" + rid + ":" + role,
        "source": rows.source,
        "record_id": rid,
        "role": role,
        "kind": _kinds(rows, m, mask),
        "row_number": rid.index.to_numpy(),
    }
    for prop, vspec in m.properties.items():
        k = f"mentions.{role}.properties.{prop}"
        out[prop] = typed[k][mask] if k in typed else _nullable(rows.value(k, vspec)[mask])
    if m.identifiers:
        out["other_id"], out["other_id_fuzzy"] = _identifiers(rows, role, m, mask)
    return pd.DataFrame(out).reset_index(drop=True)


def _kinds(rows: _Rows, m: MentionSpec, mask: pd.Series) -> str | pd.Series:
    """The mention's kind: fixed, or per row through `kind.map` (rows outside the map have
    no mention: see `map_source`)."""
    if not isinstance(m.kind, KindSpec):
        return m.kind
    return rows.column(m.kind.column)[mask].map(m.kind.map).astype("str")


def _identifiers(rows: _Rows, role: str, m: MentionSpec,
                 mask: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`scheme:raw value` of the first declared identifier present in each row (raw: the
    value is normalised with the other identifiers in `linkage.extract`), and whether it is
    compared fuzzily."""
    value = pd.Series(None, index=rows.index, dtype="object")
    fuzzy = pd.Series(False, index=rows.index)
    for scheme, spec in m.identifiers.items():
        raw = rows.value(f"mentions.{role}.identifiers.{scheme}", spec)
        take = value.isna() & (raw != "")
        value = value.mask(take, scheme + ":" + raw)
        fuzzy = fuzzy.mask(take, spec.match == "fuzzy")
    return value[mask].astype("str"), fuzzy[mask]


def _relations(rows: _Rows, record_id: pd.Series, active: list[pd.Series],
               exists: dict[str, pd.Series], typed: dict[str, pd.Series]) -> pd.DataFrame:
    frames = []
    for i, r in enumerate(rows.spec.relations):
        mask = active[i] & exists[r.src] & exists[r.dst]
        rid = record_id[mask]
        role = r.role
        frames.append(pd.DataFrame({
            "type": r.type,
            "src_mention": rows.source + ":" + rid + ":" + r.src,
            "dst_mention": rows.source + ":" + rid + ":" + r.dst,
            "share_pct": typed[f"relations[{i}].share_pct"][mask] if r.share_pct else np.nan,
            "role": _text(rows, f"relations[{i}].role", role, mask) if role else None,
            "start_date": typed[f"relations[{i}].start_date"][mask] if r.start_date else None,
            "end_date": typed[f"relations[{i}].end_date"][mask] if r.end_date else None,
            "source": rows.source,
            "record_id": rid,
        }, index=rid.index))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _events(rows: _Rows, record_id: pd.Series, active: list[pd.Series],
            exists: dict[str, pd.Series], typed: dict[str, pd.Series]) -> pd.DataFrame:
    frames = []
    for i, e in enumerate(rows.spec.events):
        mask = active[i] & exists[e.subject]
        rid = record_id[mask]

        def text(name: str, spec: ValueSpec | None, i: int = i, mask: pd.Series = mask) -> object:
            return _text(rows, f"events[{i}].{name}", spec, mask) if spec else None

        frames.append(pd.DataFrame({
            "event_mention_id": rows.source + ":" + rid + ":" + event_role(i),
            "type": e.type,
            "subject_mention": rows.source + ":" + rid + ":" + e.subject,
            "date": typed[f"events[{i}].date"][mask],
            "category": text("category", e.category),
            "amount": typed[f"events[{i}].amount"][mask] if e.amount else np.nan,
            "description": text("description", e.description),
            "source": rows.source,
            "record_id": rid,
        }, index=rid.index))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _raw_rows(rows: _Rows, mask: pd.Series) -> list[str]:
    frame = rows.table.frame.loc[mask[mask].index]
    return [json.dumps(rec, ensure_ascii=False) for rec in frame.to_dict("records")]


def _header_again(rows: _Rows) -> pd.Series:
    """Rows whose used cells (two at least) each hold their own column's name: the header
    line of a second export appended to the first."""
    named = [name for name in rows.cols if name.strip()]
    if len(named) < 2:
        return pd.Series(False, index=rows.index)
    again = pd.Series(True, index=rows.index)
    for name in named:
        again &= rows.cols[name] == name.strip()
    return again


def _bad_record_id(raw: str, key_columns: list[str], header: list[str] | None = None,
                   delimiter: str = ",") -> str | None:
    """The record key of a row the reader could not use, where its values could be read
    (a row with undecodable bytes in another field, an oversized cell; a CSV row with too
    many or too few fields whose key columns lead the header, so that a stray delimiter after
    them cannot have moved them): None otherwise."""
    try:
        values = json.loads(raw)
    except ValueError:
        values = _leading_cells(raw, key_columns, header or [], delimiter)
    if not isinstance(values, dict):
        return None
    parts = [value_text(values.get(c)) for c in key_columns]  # a JSON line's 123 is "123"
    if any("\ufffd" in p for p in parts):
        return None
    return join_key(parts) or None


def _leading_cells(raw: str, key_columns: list[str], header: list[str],
                   delimiter: str) -> dict[str, str] | None:
    """A CSV line's key cells by position when the key columns are the first of `header`."""
    if not key_columns or header[:len(key_columns)] != key_columns:
        return None
    cells = next(csv.reader([raw], delimiter=delimiter), [])
    if len(cells) <= len(key_columns):
        return None
    return {c: cells[i].strip() for i, c in enumerate(key_columns)}


def _quarantine(rows: _Rows, record_id: pd.Series) -> pd.DataFrame:
    file = str(rows.table.file)
    dead = ~rows.alive
    mapped = pd.DataFrame({
        "source": rows.source,
        "file": file,
        "row_number": dead[dead].index.to_numpy(),
        "record_id": _nullable(record_id[dead]).to_numpy(),
        "field": rows.q_field[dead].to_numpy(),
        "reason": rows.q_reason[dead].to_numpy(),
        "raw": _raw_rows(rows, dead),
    })
    header = [str(c) for c in rows.table.frame.columns]
    bad = pd.DataFrame({
        "source": rows.source,
        "file": file,
        "row_number": [b.row_number for b in rows.table.bad_rows],
        "record_id": [_bad_record_id(b.raw, rows.spec.key_columns, header, rows.spec.delimiter)
                      for b in rows.table.bad_rows],
        "field": [b.field for b in rows.table.bad_rows],
        "reason": [b.reason for b in rows.table.bad_rows],
        "raw": [b.raw for b in rows.table.bad_rows],
    })
    out = pd.concat([bad, mapped], ignore_index=True)
    out = out.astype({"row_number": "int64", "record_id": "str", "field": "str",
                      "reason": "str", "raw": "str", "source": "str", "file": "str"})
    return out.sort_values("row_number", ignore_index=True)[QUARANTINE_COLUMNS]


def _notes(rows: _Rows, record_id: pd.Series) -> pd.DataFrame:
    """Values left empty in rows that were kept, one note per row and field."""
    if not rows.note_parts:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in NOTE_COLUMNS})
    parts = pd.concat(rows.note_parts)
    parts = parts[rows.alive.reindex(parts.index).to_numpy()]  # a later reason quarantined it
    return pd.DataFrame({
        "source": rows.source,
        "file": str(rows.table.file),
        "row_number": parts.index.to_numpy(dtype="int64"),
        "record_id": record_id.reindex(parts.index).to_numpy(),
        "field": parts["field"].to_numpy(),
        "reason": parts["reason"].to_numpy(),
    })[NOTE_COLUMNS]


def _dropped(rows: _Rows, record_id: pd.Series, filter_ok: dict[str, pd.Series],
             missing: dict[str, pd.Series], any_mention: pd.Series) -> pd.DataFrame:
    frames = []
    for role, m in rows.spec.mentions.items():
        mask = rows.alive & any_mention & filter_ok[role] & (missing[role] != "")
        if not mask.any():
            continue
        miss = missing[role][mask]
        frames.append(pd.DataFrame({
            "source": rows.source,
            "row_number": miss.index.to_numpy(),
            "record_id": record_id[mask].to_numpy(),
            "role": role,
            "field": [rows.where(m.properties[p], p) for p in miss],
            "reason": ("missing required " + miss).to_numpy(),
        }))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in DROPPED_COLUMNS})
    return pd.concat(frames, ignore_index=True)[DROPPED_COLUMNS]


def _readable(values: pd.Series) -> pd.Series:
    """`text.readable` of each distinct value, stripped."""
    codes, uniques = pd.factorize(values.astype("str"))
    table = np.array([readable(u).strip() for u in uniques] + [""], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype=object)
