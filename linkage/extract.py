"""Extraction: agency files + `sources.yaml` -> standardised mentions, relations, events,
quarantine.

`extract(sources_yaml)` is the first stage of `guanlian link`. It validates the mapping and checks
every referenced column against every file's header before reading any data, maps each source
(`linkage.rowmap`), then standardises names, identifiers, phones and addresses once per distinct
value across all sources, and links each mention to the other mentions of its row that it is
related to (`context_mentions`). See docs/contracts.md, "Linkage internals".
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.progress import Progress

from linkage.errors import MissingColumn, SourceReadError
from linkage.mapping import LoadedMapping, SourceSpec, load_mapping
from linkage.readers import (
    SAMPLE_BYTES,
    delimiter_hint,
    header_hint,
    read_columns,
    read_table,
)
from linkage.rowmap import (
    DATE,
    DROPPED_COLUMNS,
    NOTE_COLUMNS,
    QUARANTINE_COLUMNS,
    SourceResult,
    map_source,
)
from linkage.standardise.addresses import standardise_addresses
from linkage.standardise.identifiers import (
    check_many_customs,
    check_many_org_codes,
    check_many_reg_no,
    check_many_ric,
    check_many_uscc,
    compact,
)
from linkage.standardise.name_keys import keys_of_names
from linkage.standardise.names import standardise_enterprise_names, standardise_person_names
from linkage.standardise.phones import local_phone, normalise_many_phones

MENTION_COLUMNS = [
    "mention_id", "source", "record_id", "role", "kind", "name", "name_std", "name_pinyin",
    "uscc", "uscc_valid", "id_number", "id_valid", "customs_code", "reg_no", "phone", "address",
    "address_std", "province", "city", "district", "birth_date", "established", "status",
    "record_date", "context_mentions",
    # beyond the contract, for resolution and tracing:
    "name_region", "customs_code_valid", "reg_no_valid", "row_number",
    "id_scheme", "id_birth", "id_masked", "name_read", "surname", "other_id",
    "other_id_fuzzy", "org_code", "name_key",
]
RELATION_COLUMNS = [
    "type", "src_mention", "dst_mention", "share_pct", "role", "start_date", "end_date",
    "source", "record_id",
]
EVENT_COLUMNS = [
    "event_mention_id", "type", "subject_mention", "date", "category", "amount", "description",
    "source", "record_id",
]
_STRING_PROPS = (
    "name", "uscc", "id_number", "customs_code", "reg_no", "phone", "address", "status",
    "org_code",
)
_DATE_PROPS = ("birth_date", "established", "record_date")


@dataclass
class Extraction:
    """What extraction hands to resolution (docs/contracts.md, "Linkage internals")."""

    mentions: pd.DataFrame
    relations: pd.DataFrame
    events: pd.DataFrame
    quarantine: pd.DataFrame
    counts: dict[str, dict[str, int]]
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)  # mentions dropped in mapped rows
    timings: dict[str, float] = field(default_factory=dict)
    # values that could not be read, left empty in kept rows: one note per row and field
    malformed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NOTE_COLUMNS))
    fractions: list[str] = field(default_factory=list)  # sources whose shares were fractions


def fraction_sources(shares: Mapping[str, tuple[int, float, int]]) -> list[str]:
    """The sources whose shareholdings are written as fractions of one (0.6 for 60%), from
    (values, largest value, values strictly between 0 and 1) per source: at least two values,
    none above 1, one at least between 0 and 1. A source's shareholders hold up to 100% of
    each firm, so a source of percentages always holds values above 1."""
    return sorted(name for name, (n, largest, between) in shares.items()
                  if n >= 2 and largest <= 1 and between >= 1)


def shares_as_percent(relations: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """`relations` with the shares of `fraction_sources` times 100, and those sources."""
    share = relations["share_pct"]
    known = relations[share.notna()]
    if known.empty:
        return relations, []
    values = known["share_pct"].astype("float64")
    per = pd.DataFrame({"source": known["source"].astype(str), "value": values,
                        "between": (values > 0) & (values < 1)}).groupby("source").agg(
        n=("value", "count"), largest=("value", "max"), between=("between", "sum"))
    scaled = fraction_sources({str(k): (int(n), float(x), int(b)) for k, n, x, b in zip(
        per.index, per["n"], per["largest"], per["between"], strict=True)})
    if scaled:
        relations = relations.copy()
        hit = relations["source"].isin(scaled)
        relations.loc[hit, "share_pct"] = relations.loc[hit, "share_pct"] * 100
    return relations, scaled


def check_columns(loaded: LoadedMapping) -> None:
    """Every column the mapping reads exists in its file (and declared encodings fit), or raise."""
    for name, spec in loaded.sources.items():
        path = loaded.data_path(name)
        if not path.is_file():
            raise SourceReadError(path, f"file of source {name!r} not found "
                                        f"(sources.{name}.path in {loaded.file})")
        try:
            columns = set(read_columns(path, spec.format, spec.encoding, spec.delimiter,
                                       spec.sheet, spec.header_row))
        except SourceReadError as exc:  # a title read as the header: '' twice, no name
            hint = _header_hint(path, spec)
            if type(exc) is not SourceReadError or not hint:
                raise
            raise SourceReadError(path, f"{exc.detail} ({hint})", exc.row) from None
        if spec.format == "jsonl" and path.stat().st_size > SAMPLE_BYTES:
            continue  # a key may first appear past the sample: checked once the file is read
        for column, key in spec.columns_used().items():
            if column not in columns:
                hint = _header_hint(path, spec)
                close = difflib.get_close_matches(column, sorted(columns), n=3, cutoff=0.5)
                if not hint and close:
                    hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
                raise MissingColumn(loaded.file, f"sources.{name}.{key}", column, path, hint)


def _header_hint(path: Path, spec: SourceSpec) -> str:
    """'the header seems to be on line N: …' when a line other than `header_row` holds every
    column the mapping reads, else ''."""
    wanted = set(spec.columns_used())
    if spec.format == "csv":
        other = delimiter_hint(path, spec.encoding, spec.delimiter, spec.header_row, wanted)
        if other is not None:
            return (f"the columns seem to be separated by {other!r}: "
                    f"set delimiter: {json.dumps(other, ensure_ascii=False)}")
    at = header_hint(path, spec.format, spec.encoding, spec.delimiter, spec.sheet, wanted)
    if at is None or at == spec.header_row:
        return ""
    line = "sheet row" if spec.format == "xlsx" else "line"
    return f"the header seems to be on {line} {at}: set header_row: {at}"


def _check_jsonl_columns(loaded: LoadedMapping, name: str, columns: list[str]) -> None:
    spec = loaded.sources[name]
    if spec.format != "jsonl":
        return
    for column, key in spec.columns_used().items():
        if column not in columns:
            raise MissingColumn(loaded.file, f"sources.{name}.{key}", column,
                                loaded.data_path(name))


class _Stages:
    """Timings per stage, and a rich progress display when asked for."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        task = self.progress.add_task(name, total=1) if self.progress else None
        start = time.perf_counter()
        yield
        self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - start, 3)
        if self.progress is not None and task is not None:
            self.progress.update(task, completed=1)


def extract(sources_yaml: Path, progress: bool = False) -> Extraction:
    """Load and validate the mapping, read and map every source, standardise, reconcile."""
    started = time.perf_counter()
    loaded = load_mapping(sources_yaml)
    check_columns(loaded)
    bar = Progress(transient=True) if progress else None
    stages = _Stages(bar)
    results: list[SourceResult] = []
    if bar is not None:
        bar.start()
    try:
        for name, spec in loaded.sources.items():
            with stages.stage(f"read {name}"):
                table = read_table(loaded.data_path(name), spec.format, spec.encoding,
                                   spec.delimiter, spec.sheet, spec.header_row)
                _check_jsonl_columns(loaded, name, list(table.frame.columns))
            with stages.stage(f"map {name}"):
                results.append(map_source(name, spec, table))
            del table
        parts = assemble(results, {n: str(loaded.data_path(n)) for n in loaded.sources}, stages)
    finally:
        if bar is not None:
            bar.stop()
    counts = {name: r.counts for name, r in zip(loaded.sources, results, strict=True)}
    stages.timings["total"] = round(time.perf_counter() - started, 3)
    relations, fractions = shares_as_percent(parts.relations)
    return Extraction(parts.mentions, relations, parts.events, parts.quarantine, counts,
                      parts.dropped, stages.timings, parts.malformed, fractions)


@dataclass
class Assembled:
    """The frames of mapped sources (or of parts of them), standardised and typed."""

    mentions: pd.DataFrame
    relations: pd.DataFrame
    events: pd.DataFrame
    quarantine: pd.DataFrame
    dropped: pd.DataFrame
    malformed: pd.DataFrame


def assemble(results: list[SourceResult], files: Mapping[str, str],
             stages: _Stages | None = None) -> Assembled:
    """Standardise and type what `map_source` gave for some sources (whole, or a part of each
    source's rows holding every row it holds whole: the Spark path maps a batch at a time);
    `files` names each source's file."""
    stages = stages or _Stages(None)
    with stages.stage("standardise"):
        raw = pd.concat([r.mentions for r in results], ignore_index=True)
        raw_values = {c: raw[c].copy() for c, _, _ in _UNREADABLE if c in raw}
        mentions = standardise_mentions(raw)
        del raw
    with stages.stage("relations and events"):
        relations = _concat([r.relations for r in results], RELATION_COLUMNS)
        relations = _relation_types(relations)
        events = _event_types(_concat([r.events for r in results], EVENT_COLUMNS))
        mentions["context_mentions"] = context_mentions(mentions["mention_id"], relations)
    quarantine = _concat([r.quarantine for r in results], QUARANTINE_COLUMNS)
    dropped = _concat([r.dropped for r in results], DROPPED_COLUMNS)
    malformed = _concat(
        [r.notes for r in results] + [unreadable_values(raw_values, mentions, files)],
        NOTE_COLUMNS)
    return Assembled(mentions[MENTION_COLUMNS], relations, events, quarantine, dropped,
                     malformed)


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.concat(frames, ignore_index=True).reindex(columns=columns)


def _str(s: pd.Series) -> pd.Series:
    return s.astype("str")


def _relation_types(rel: pd.DataFrame) -> pd.DataFrame:
    for c in ("type", "src_mention", "dst_mention", "role", "source", "record_id"):
        rel[c] = _str(rel[c])
    rel["share_pct"] = rel["share_pct"].astype("float64")
    for c in ("start_date", "end_date"):
        rel[c] = _dates(rel[c])
    return rel


def _event_types(ev: pd.DataFrame) -> pd.DataFrame:
    for c in ("event_mention_id", "type", "subject_mention", "category", "description",
              "source", "record_id"):
        ev[c] = _str(ev[c])
    ev["amount"] = ev["amount"].astype("float64")
    ev["date"] = _dates(ev["date"])
    return ev


def _dates(s: pd.Series) -> pd.Series:
    if s.dtype == DATE:
        return s
    arr = pa.array(s.to_numpy(dtype=object), type=pa.date32(), from_pandas=True)
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=s.index)


def _spread(values: pd.Series, fn: Callable[[list[str]], Mapping[str, tuple[Any, ...]]],
            names: tuple[str, ...]) -> dict[str, pd.Series]:
    """Standardise each distinct value once and spread the named result fields over the rows
    (factorised: one hashing pass, then array lookups; missing values give None)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = [str(u) for u in uniques.tolist()]
    table = fn(distinct)
    out: dict[str, pd.Series] = {}
    for i, name in enumerate(names):
        lookup = np.empty(len(distinct) + 1, dtype=object)
        lookup[:-1] = [table[u][i] for u in distinct]
        lookup[-1] = None  # code -1: a missing value
        out[name] = pd.Series(lookup[codes], index=values.index)
    return out


def _phones(values: list[str]) -> dict[str, tuple[str | None]]:
    return {k: (v,) for k, v in normalise_many_phones(values).items()}


def _local_phones(raw: pd.Series, phone: pd.Series, city: pd.Series) -> pd.Series:
    """`phone` with the landlines written without an area code placed by the mention's own
    city (`phones.local_phone`), each distinct (number, city) once."""
    todo = phone.isna() & raw.notna() & city.notna()
    if not todo.any():
        return phone
    pairs = pd.DataFrame({"raw": raw[todo].astype(str), "city": city[todo].astype(str)})
    found = {(r, c): local_phone(r, c) for r, c in pairs.drop_duplicates().itertuples(
        index=False)}
    placed = pd.Series([found[(r, c)] for r, c in zip(pairs["raw"], pairs["city"], strict=True)],
                       index=pairs.index, dtype=object)
    out = phone.astype(object).copy()
    out[todo] = placed
    return _str(out)


def _other_ids(values: list[str]) -> dict[str, tuple[str | None]]:
    """`scheme:raw` -> `scheme:NORMALISED` (None when nothing is left of the value)."""
    out: dict[str, tuple[str | None]] = {}
    for v in values:
        scheme, _, raw = v.partition(":")
        value = compact(raw)
        out[v] = (f"{scheme}:{value}" if value else None,)
    return out


def standardise_mentions(m: pd.DataFrame) -> pd.DataFrame:
    """Add the standardised columns to raw mentions (each distinct value computed once)."""
    for c in _STRING_PROPS:
        m[c] = _str(m[c]) if c in m else pd.Series(np.nan, index=m.index, dtype="str")
    for c in _DATE_PROPS:
        m[c] = _dates(m[c]) if c in m else _dates(pd.Series(None, index=m.index, dtype=object))
    ent = (m["kind"] == "enterprise").to_numpy()
    per = ~ent
    # enterprise-only and person-only columns: values of the other kind do not count
    names_e = m["name"].where(ent)
    names_p = m["name"].where(per)
    e = _spread(names_e, standardise_enterprise_names, ("name_std", "name_pinyin", "name_region"))
    p = _spread(names_p, standardise_person_names,
                ("name_std", "name_pinyin", "name_read", "surname"))
    u = _spread(m["uscc"].where(ent), check_many_uscc, ("uscc", "uscc_valid"))
    r = _spread(m["id_number"].where(per), check_many_ric,
                ("id_number", "id_valid", "birth_date", "id_scheme", "stated_birth", "masked"))
    cc = _spread(m["customs_code"].where(ent), check_many_customs,
                 ("customs_code", "customs_code_valid"))
    g = _spread(m["reg_no"].where(ent), check_many_reg_no, ("reg_no", "reg_no_valid"))
    # an organisation code written in its own column, or where a USCC or registration number
    # was expected (older records): not a malformed USCC but a code of its own
    codes = {col: _spread(m[col].where(ent), check_many_org_codes, ("org_code",))["org_code"]
             for col in ("org_code", "uscc", "reg_no")}
    for col, parts, valid in (("uscc", u, "uscc_valid"), ("reg_no", g, "reg_no_valid")):
        written = codes[col].notna() & ~parts[valid].fillna(False).astype(bool)
        parts[col], parts[valid] = parts[col].where(~written), parts[valid].where(~written)
        codes[col] = codes[col].where(written)
    a = _spread(m["address"], standardise_addresses,
                ("address_std", "province", "city", "district"))
    out = m.copy()
    out["name_std"] = _str(e["name_std"].where(ent, p["name_std"]))
    out["name_pinyin"] = _str(e["name_pinyin"].where(ent, p["name_pinyin"]))
    out["name_region"] = _str(e["name_region"])
    out["name_key"] = _str(keys_of_names(names_e, out["name_std"].where(ent))[0])
    for col, parts in (("uscc", u), ("id_number", r), ("customs_code", cc), ("reg_no", g)):
        out[col] = _str(parts[col])
    for col, s in (("uscc_valid", u["uscc_valid"]), ("id_valid", r["id_valid"]),
                   ("customs_code_valid", cc["customs_code_valid"]),
                   ("reg_no_valid", g["reg_no_valid"])):
        out[col] = s.astype("boolean")
    id_birth = _dates(r["birth_date"])
    # the birth date any resident ID states (malformed ones too), for resolution only
    out["id_birth"] = _dates(r["stated_birth"])
    out["birth_date"] = out["birth_date"].where(out["birth_date"].notna(), id_birth)
    out["id_scheme"] = _str(r["id_scheme"])
    out["id_masked"] = _str(r["masked"])  # a masked resident ID (public lists), resolution only
    out["name_read"] = _str(p["name_read"])  # a person's name in either order, resolution only
    out["surname"] = _str(p["surname"])  # in characters (all 王某某 keeps), resolution only
    other = m["other_id"] if "other_id" in m else pd.Series(None, index=m.index, dtype=object)
    out["other_id"] = _str(_spread(other, _other_ids, ("other_id",))["other_id"])
    fuzzy = m["other_id_fuzzy"] if "other_id_fuzzy" in m else pd.Series(False, index=m.index)
    out["other_id_fuzzy"] = fuzzy.fillna(False).astype(bool) & out["other_id"].notna()
    out["phone"] = _str(_spread(m["phone"], _phones, ("phone",))["phone"])
    valid_uscc = out["uscc"].where(out["uscc_valid"].fillna(False).astype(bool))
    out["org_code"] = _str(codes["org_code"].fillna(codes["uscc"]).fillna(codes["reg_no"])
                           .fillna(valid_uscc.str.slice(8, 17)))
    for col, s in a.items():
        out[col] = _str(s)
    # a local number's city: the address's, else the region a firm's name carries
    out["phone"] = _local_phones(m["phone"], out["phone"],
                                 out["city"].where(out["city"].notna(), out["name_region"]))
    out["row_number"] = out["row_number"].astype("int64")
    return out


# Standardised columns that are empty although their raw value was not: the value is malformed.
_UNREADABLE = (("phone", "phone", "malformed phone"), ("address", "address_std",
                                                      "malformed address"),
               ("org_code", "org_code", "malformed organisation code"))


def unreadable_values(raw_values: Mapping[str, pd.Series], mentions: pd.DataFrame,
                      files: Mapping[str, str]) -> pd.DataFrame:
    """Notes for the string values standardisation could not read (a phone that is no
    number, an address with nothing left): the mention keeps them as missing. `raw_values`
    are the columns before standardisation, aligned with `mentions`."""
    frames = []
    for raw_col, std_col, what in _UNREADABLE:
        if raw_col not in raw_values:
            continue
        raw = raw_values[raw_col]
        bad = raw.notna() & (raw.astype("str").str.strip() != "") & mentions[std_col].isna()
        if not bad.any():
            continue
        hit = mentions[bad]
        frames.append(pd.DataFrame({
            "source": hit["source"].astype("str").to_numpy(),
            "file": hit["source"].astype("str").map(files).to_numpy(),
            "row_number": hit["row_number"].to_numpy(dtype="int64"),
            "record_id": hit["record_id"].astype("str").to_numpy(),
            "field": (hit["role"].astype("str") + "." + raw_col).to_numpy(),
            "reason": (what + ": " + raw[bad].astype("str").map(repr)).to_numpy(),
        }))
    return _concat(frames, NOTE_COLUMNS)


def context_mentions(mention_ids: pd.Series, relations: pd.DataFrame) -> pd.Series:
    """For each mention, the IDs of the mentions its row's relations tie it to (either
    direction), in the order of the mentions table."""
    n = len(mention_ids)
    ends = pd.concat([relations["src_mention"], relations["dst_mention"]], ignore_index=True)
    pos = pd.Index(mention_ids).get_indexer(ends).astype(np.int64)
    half = len(relations)
    src, dst = pos[:half], pos[half:]
    keep = (src >= 0) & (dst >= 0)
    src, dst = src[keep], dst[keep]
    pairs = np.unique(np.concatenate([src * n + dst, dst * n + src]))  # sorted, no repeats
    owner, other = pairs // n, pairs % n
    counts = np.bincount(owner, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    ids = pa.array(mention_ids.to_numpy(dtype=object), type=pa.string())
    lists = pa.ListArray.from_arrays(pa.array(offsets), ids.take(pa.array(other)))
    return pd.Series(pd.arrays.ArrowExtensionArray(lists), index=mention_ids.index)
