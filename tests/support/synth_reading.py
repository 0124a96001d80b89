"""A deliberately simple, independent reading of a generated `sources.yaml` for the synth tests.

It reads each agency file with plain pandas / json, drops rows that cannot be read (undecodable
bytes), rows with a duplicate record key (the later ones), applies the mention filters and the
`required` properties (a cell holding one of the generator's placeholders, NULL or 无, is
empty), and lists the mentions `(source, record_id, role)` the mapping yields.
Date-typed required properties must parse with the source's date format.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import unicodedata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import yaml

from linkage.synth.styles import PLACEHOLDERS

DATE_PROPS = {"record_date", "established", "birth_date"}


def read_rows(base: Path, spec: dict[str, Any]) -> list[dict[str, str] | None]:
    """Every data row as a dict of strings; None for a row that does not decode."""
    path = base / spec["path"]
    if spec["format"] == "parquet":
        frame = pq.read_table(path).to_pandas()
        return [{k: ("" if v is None else str(v)) for k, v in r.items()}
                for r in frame.to_dict("records")]
    raw = path.read_bytes()
    enc = spec.get("encoding", "utf-8")
    lines = raw.split(b"\n")
    if spec["format"] == "jsonl":
        out: list[dict[str, str] | None] = []
        for line in lines:
            if line.strip():
                obj = json.loads(line.decode(enc))
                out.append({k: ("" if v is None else str(v)) for k, v in obj.items()})
        return out
    header = lines[0].decode(enc)
    rows: list[dict[str, str] | None] = []
    good: list[str] = [header]
    for line in lines[1:]:
        if not line:
            continue
        try:
            good.append(line.decode(enc))
            rows.append({})
        except UnicodeDecodeError:
            rows.append(None)
    frame = pd.read_csv(io.StringIO("\n".join(good)), dtype=str, keep_default_na=False)
    records = iter(frame.to_dict("records"))
    return [None if r is None else {str(k): str(v) for k, v in next(records).items()}
            for r in rows]


def _holds(flt: dict[str, Any] | None, row: dict[str, str]) -> bool:
    if not flt:
        return True
    value = row.get(flt["column"], "").strip()
    if "equals" in flt:
        return bool(value == flt["equals"])
    if "not_in" in flt:
        return value not in flt["not_in"]
    raise AssertionError(f"filter not understood by the test reader: {flt}")


def _present(prop: str, value: str, date_format: str) -> bool:
    # a careful reader does not see invisible format characters (zero-width space, BOM, ...)
    value = "".join(c for c in value if unicodedata.category(c) != "Cf")
    if not value.strip() or value in PLACEHOLDERS:  # an export's word for an empty cell
        return False
    if prop in DATE_PROPS:
        return _a_date(value.strip(), date_format)
    return True


_OTHER_DATE_FORMATS = ("%d/%m/%Y", "%b %d, %Y", "%d-%b-%Y")
_HAN = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")}


def _a_date(value: str, date_format: str) -> bool:
    """Whether a careful reader reads `value` as a date: in the declared format, or as the
    profile `dates_written` writes dates (day first, English month, Chinese numerals, a
    spreadsheet's day number)."""
    for fmt in (date_format, *_OTHER_DATE_FORMATS):
        try:
            dt.datetime.strptime(value, fmt)
            return True
        except ValueError:
            pass
    if value.isdigit() and len(value) == 5:
        return True
    if value.endswith("日") and "年" in value and "月" in value:
        year, rest = value[:-1].split("年", 1)
        month, day = rest.split("月", 1)
        try:
            dt.date(int("".join(_HAN[c] for c in year)), _han_count(month), _han_count(day))
            return True
        except (KeyError, ValueError):
            return False
    return False


def _han_count(text: str) -> int:
    tens, ten, units = text.partition("十")
    if not ten:
        return int(_HAN[text])
    return (int(_HAN[tens]) if tens else 1) * 10 + (int(_HAN[units]) if units else 0)


def expected_mentions(sources_yaml: Path) -> set[tuple[str, str, str]]:
    mapping = yaml.safe_load(sources_yaml.read_text(encoding="utf-8"))
    out: set[tuple[str, str, str]] = set()
    for name, spec in mapping["sources"].items():
        fmt = spec.get("date_format", "%Y-%m-%d")
        seen: set[str] = set()
        for row in read_rows(sources_yaml.parent, spec):
            if row is None:
                continue
            key = row[spec["key"]]
            if key in seen:
                continue
            seen.add(key)
            for role, m in spec["mentions"].items():
                if not _holds(m.get("filter"), row):
                    continue
                props = m["properties"]
                if all(_present(p, row.get(props[p]["column"], ""), fmt)
                       for p in m.get("required", [])):
                    out.add((name, key, role))
    return out
