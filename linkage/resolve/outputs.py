"""Entity-level tables of the run folder, from mentions and their entity IDs.

Columns and IDs follow the run-folder contract (`runfolder.schema`, `runfolder.ids`);
`entities.parquet` also carries the optional `district` (the graph schema's entity
properties include it).

The tables are built on integer codes (one factorisation per column, then sorts and
`reduceat`s over numpy arrays) and returned as Arrow-backed frames, so the cost stays
near-linear in the number of mentions and no Python object is made per row (bar the
hashed relation and event IDs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from runfolder.ids import event_id, relation_id
from runfolder.schema import ENTITIES, EVENTS, MENTIONS, RELATIONS

MENTION_COLUMNS = MENTIONS.columns
ENTITY_COLUMNS = ENTITIES.columns
RELATION_COLUMNS = RELATIONS.columns
EVENT_COLUMNS = EVENTS.columns
DATE_COLUMNS = ("birth_date", "established", "record_date")


def _is_date32(series: pd.Series) -> bool:
    dtype = series.dtype
    return isinstance(dtype, pd.ArrowDtype) and pa.types.is_date32(dtype.pyarrow_dtype)


def as_date(series: pd.Series) -> pd.Series:
    """A column of dates (or nulls), whatever the input held: an Arrow date32 column is
    returned as it is, anything else becomes Python dates (or None)."""
    if _is_date32(series) and series.notna().any():
        return series
    parsed = pd.to_datetime(series.astype(object), errors="coerce")
    dates = pd.Series(parsed.dt.date.to_numpy(dtype=object), index=series.index, dtype=object)
    return dates.where(parsed.notna().to_numpy(), None)


def arrow_array(values: pd.Series | np.ndarray | pa.Array) -> pa.Array:
    """One contiguous Arrow array (strings as `string`, lists of strings as
    `list<string>`), as `pa.Table.from_pandas` would type a column of Python objects."""
    arr = pa.array(values, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return _plain_type(arr)


def _plain_type(arr: pa.Array) -> pa.Array:
    if pa.types.is_large_string(arr.type):
        return arr.cast(pa.string())
    if pa.types.is_large_list(arr.type):
        return arr.cast(pa.list_(arr.type.value_type))
    return arr


def _take(arr: pa.Array, rows: np.ndarray) -> pa.Array:
    """`arr[rows]`, null where `rows` is -1; an all-null result has Arrow type null (as a
    column of None would)."""
    if not len(rows) or (rows < 0).all():
        return pa.nulls(len(rows))
    return _plain_type(arr.take(pa.array(rows, mask=rows < 0)))


def _frame(columns: dict[str, pa.Array]) -> pd.DataFrame:
    """An Arrow-backed frame; `pa.Table.from_pandas` gives the same Arrow types back."""
    return pd.DataFrame({
        name: pd.Series(pd.arrays.ArrowExtensionArray(arr), copy=False)
        if not pa.types.is_null(arr.type) else pd.Series([None] * len(arr), dtype=object)
        for name, arr in columns.items()
    })


def _is_text(arr: pa.Array) -> bool:
    return pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)


def _encode(arr: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Per-row index into the distinct values (-1: null), and those values."""
    encoded = pc.dictionary_encode(arr)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return indices.astype(np.int64), encoded.dictionary


def _ranked(indices: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """`ranks[indices]`, keeping -1 for null."""
    if not len(ranks):
        return np.full(len(indices), -1, dtype=np.int64)
    return np.where(indices >= 0, ranks[np.maximum(indices, 0)], -1).astype(np.int64)


def sorted_codes(values: pd.Series | np.ndarray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Per-row code (-1: null) into the distinct values sorted ascending, and those values.
    Text is sorted by Arrow (UTF-8 byte order, i.e. code point order, as Python sorts)."""
    arr = arrow_array(values)
    if not _is_text(arr):
        codes, uniques = pd.factorize(pd.Series(values), sort=True, use_na_sentinel=True)
        return codes.astype(np.int64), arrow_array(pd.Series(uniques, dtype=object))
    indices, distinct = _encode(arr)
    order = pc.sort_indices(distinct).to_numpy()
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order))
    return _ranked(indices, ranks), distinct.take(pa.array(order))


def _text_ranks(values: pd.Series) -> tuple[np.ndarray, int]:
    """Per-row rank of each value's string form among the distinct ones (-1: null) and the
    number of distinct string forms."""
    arr = arrow_array(values)
    if _is_text(arr):
        codes, distinct = sorted_codes(arr)
        return codes, len(distinct)
    indices, distinct = _encode(arr)
    text = np.asarray([str(v) for v in distinct.to_pylist()], dtype=object)
    ranks, forms = pd.factorize(text, sort=True)
    return _ranked(indices, ranks.astype(np.int64)), len(forms)


def _mode_rows(group: np.ndarray, n_groups: int, ranks: np.ndarray, width: int,
               mask: np.ndarray | None = None) -> np.ndarray:
    """Per group, the first row (in row order) holding its most frequent value - ties to
    the smallest rank - or -1 when the group has no non-null value (under `mask`).
    Hash-based: no sort of the rows."""
    out = np.full(n_groups, -1, dtype=np.int64)
    keep = (ranks >= 0) & (group >= 0)
    if mask is not None:
        keep &= mask
    rows = np.flatnonzero(keep)
    if not len(rows):
        return out
    pair, keys = pd.factorize(group[rows] * max(width, 1) + ranks[rows], sort=False)
    # pair codes are numbered in order of first appearance: a row opening a new pair is
    # one whose code exceeds every earlier code
    opened = pair > np.r_[-1, np.maximum.accumulate(pair)[:-1]]
    first = np.empty(len(keys), dtype=np.int64)
    first[pair[opened]] = rows[opened]
    count = np.bincount(pair, minlength=len(keys))
    g, rank = keys // max(width, 1), keys % max(width, 1)
    top = np.zeros(n_groups, dtype=np.int64)
    np.maximum.at(top, g, count)
    tied = count == top[g]
    smallest = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, g[tied], rank[tied])
    best = tied & (rank == smallest[g])
    out[g[best]] = first[best]
    return out


def _lists(group: np.ndarray, n_groups: int, values: pd.Series | np.ndarray) -> pa.Array:
    """Sorted distinct non-null `values` per group (`list<string>`; empty lists for groups
    without any), for groups 0..n_groups-1."""
    codes, uniques = sorted_codes(values)
    keep = (codes >= 0) & (group >= 0)
    width = max(len(uniques), 1)
    key = np.sort(group[keep] * width + codes[keep])
    key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key
    offsets = np.searchsorted(key // width, np.arange(n_groups + 1)).astype(np.int32)
    if not len(key):
        return pa.ListArray.from_arrays(pa.array(offsets), pa.nulls(0))
    return pa.ListArray.from_arrays(pa.array(offsets), _plain_type(
        uniques.take(pa.array(key % width))))


def _group(codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Group number per row for the distinct combinations of sorted `codes` (groups in
    sorted order; rows with a null code get -1) and the first row of each group."""
    n = len(codes[0])
    valid = np.ones(n, dtype=bool)
    for c in codes:
        valid &= c >= 0
    order = np.lexsort(tuple(reversed(codes)))
    order = order[valid[order]]
    change = np.zeros(len(order), dtype=bool)
    if len(order):
        change[0] = True
        for c in codes:
            s = c[order]
            change[1:] |= s[1:] != s[:-1]
    group = np.full(n, -1, dtype=np.int64)
    group[order] = np.cumsum(change) - 1
    return group, order[change]


def _days(series: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 per value as floats (NaN: null or unparsable)."""
    if _is_date32(series):
        arr = arrow_array(series).cast(pa.int32())
        return arr.to_numpy(zero_copy_only=False).astype(np.float64) if arr.null_count == 0 \
            else np.asarray(arr.to_pandas(), dtype=np.float64)
    parsed = pd.to_datetime(series.astype(object), errors="coerce")
    days = parsed.dt.floor("D").to_numpy(dtype="datetime64[D]").astype(np.int64)
    return np.where(parsed.notna().to_numpy(), days, np.nan).astype(np.float64)


def _dates(days: np.ndarray) -> pa.Array:
    null = np.isnan(days)
    if null.all():
        return pa.nulls(len(days))
    whole = np.where(null, 0, days).astype(np.int32)
    return pa.array(whole, mask=null).cast(pa.date32())


def mentions_table(mentions: pd.DataFrame, entity_of: np.ndarray) -> pd.DataFrame:
    frame = mentions.reindex(columns=[c for c in MENTION_COLUMNS if c != "entity_id"])
    frame.insert(5, "entity_id", entity_of)
    for col in DATE_COLUMNS:
        frame[col] = as_date(frame[col])
    for col in ("uscc_valid", "id_valid"):
        frame[col] = frame[col].fillna(False).astype(bool)
    return frame


def entities_table(mentions: pd.DataFrame) -> pd.DataFrame:
    """One row per entity (sorted by ID); `mentions` is the output of `mentions_table`.

    Each attribute is the entity's most frequent non-null value (ties: the smallest string
    form; the value is that of the first mention holding it); the name prefers mentions
    carrying the most frequent standardised name; `status` is the one of the latest
    `record_date` (later rows win ties)."""
    m = mentions
    group, entity_ids = sorted_codes(m["entity_id"])
    n = len(entity_ids)

    def mode(column: str, mask: np.ndarray | None = None) -> np.ndarray:
        ranks, width = _text_ranks(m[column])
        return _mode_rows(group, n, ranks, width, mask)

    def values(column: str, rows: np.ndarray) -> pa.Array:
        return _take(arrow_array(m[column]), rows)

    cols: dict[str, pa.Array] = {"entity_id": _plain_type(entity_ids)}
    kind_ok = np.flatnonzero((group >= 0) & m["kind"].notna().to_numpy())
    first_kind = np.full(n, -1, dtype=np.int64)
    found, at = np.unique(group[kind_ok], return_index=True)
    first_kind[found] = kind_ok[at]
    cols["kind"] = values("kind", first_kind)
    # canonical name: the most frequent standardised name, then its most frequent raw form
    std_ranks, std_width = _text_ranks(m["name_std"])
    best_std = _mode_rows(group, n, std_ranks, std_width)
    best_rank = np.where(best_std >= 0, std_ranks[np.maximum(best_std, 0)], -1)
    has_best = (std_ranks >= 0) & (group >= 0) & (std_ranks == best_rank[np.maximum(group, 0)])
    name_rows = mode("name", has_best)
    name_rows = np.where(name_rows >= 0, name_rows, mode("name"))
    cols["name"] = values("name", name_rows)
    cols["names"] = _lists(group, n, m["name"])
    cols["name_pinyin"] = values("name_pinyin", mode("name_pinyin"))
    cols["uscc"] = values("uscc", mode("uscc", m["uscc_valid"].astype(bool).to_numpy()))
    for col in ("customs_code", "reg_no"):
        cols[col] = values(col, mode(col))
    cols["id_number"] = values("id_number",
                               mode("id_number", m["id_valid"].astype(bool).to_numpy()))
    for col in ("phone", "address", "address_std", "province", "city", "district",
                "established"):
        cols[col] = values(col, mode(col))
    # status of the latest record (no date first; later rows win ties)
    with_status = np.flatnonzero((group >= 0) & m["status"].notna().to_numpy())
    latest = np.full(n, -1, dtype=np.int64)
    if len(with_status):
        day = _days(m["record_date"])[with_status]
        order = np.lexsort((with_status, np.where(np.isnan(day), -np.inf, day),
                            group[with_status]))
        ordered = group[with_status][order]
        last = np.r_[ordered[1:] != ordered[:-1], True]
        latest[ordered[last]] = with_status[order][last]
    cols["status"] = values("status", latest)
    cols["birth_date"] = values("birth_date", mode("birth_date"))
    cols["n_mentions"] = pa.array(np.bincount(group[group >= 0], minlength=n).astype(np.int64))
    cols["sources"] = _lists(group, n, m["source"])
    cols["mention_ids"] = _lists(group, n, m["mention_id"])
    return _frame({c: cols[c] for c in ENTITY_COLUMNS})


def _entity_lookup(mention_ids: pd.Series, entity_by_mention: pd.Series) -> np.ndarray:
    """Entity ID per mention (object array, None where unknown)."""
    pos = entity_by_mention.index.get_indexer(pd.Index(mention_ids))
    entities = np.r_[np.asarray(entity_by_mention.to_numpy(dtype=object), dtype=object),
                     np.asarray([None], dtype=object)]
    return entities[np.where(pos >= 0, pos, len(entities) - 1)]


def relations_table(relations: pd.DataFrame, entity_by_mention: pd.Series) -> pd.DataFrame:
    """Collapse mention-level relations to entity-level ones (self-loops dropped), sorted by
    (type, src, dst): the first mention (smallest source mention) names the relation; the
    last known share, the first known role, the earliest start and latest end are kept."""
    if relations.empty:
        return pd.DataFrame(columns=list(RELATION_COLUMNS))
    src = _entity_lookup(relations["src_mention"], entity_by_mention)
    dst = _entity_lookup(relations["dst_mention"], entity_by_mention)
    keep = pd.notna(src) & pd.notna(dst)
    keep &= np.where(keep, src != dst, False).astype(bool)
    rows = np.flatnonzero(keep)
    if not len(rows):
        return pd.DataFrame(columns=list(RELATION_COLUMNS))
    r = relations.iloc[rows]
    src, dst = src[rows], dst[rows]
    src_mention = r["src_mention"]
    type_codes = sorted_codes(r["type"])[0]
    src_codes, dst_codes = sorted_codes(src)[0], sorted_codes(dst)[0]
    mention_codes = sorted_codes(src_mention)[0]
    group, firsts = _group([type_codes, src_codes, dst_codes])
    n = len(firsts)
    # rows in (type, src, dst, src_mention) order; `starts` opens each group
    order = np.lexsort((mention_codes, dst_codes, src_codes, type_codes))
    order = order[group[order] >= 0]
    starts = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1]])
    position = np.arange(len(order))

    def column(name: str) -> pd.Series | None:
        return r[name] if name in r.columns else None

    def pick(values: pd.Series | None, last: bool) -> np.ndarray:
        """Row of the first / last non-null value per group (-1: none)."""
        if values is None:
            return np.full(n, -1, dtype=np.int64)
        known = values.notna().to_numpy()[order]
        if last:
            at = np.maximum.reduceat(np.where(known, position, -1), starts)
        else:
            at = np.minimum.reduceat(np.where(known, position, len(order)), starts)
            at = np.where(at < len(order), at, -1)
        return np.where(at >= 0, order[np.maximum(at, 0)], -1)

    def span(values: pd.Series | None, latest: bool) -> pa.Array:
        if values is None:
            return pa.nulls(n)
        days = _days(values)[order]
        reduce = np.fmax if latest else np.fmin
        return _dates(reduce.reduceat(days, starts))

    share = column("share_pct")
    share_num = pd.to_numeric(share, errors="coerce") if share is not None else None
    share_rows = pick(share_num, last=True)
    share_values = np.asarray(share_num, dtype=np.float64)[np.maximum(share_rows, 0)] \
        if share_num is not None else np.zeros(n)
    role = column("role")
    first_mention = np.asarray(src_mention.to_numpy(dtype=object), dtype=object)[order[starts]]
    types = np.asarray(r["type"].to_numpy(dtype=object), dtype=object)[firsts]
    srcs, dsts = src[firsts], dst[firsts]
    relation_ids = [
        relation_id(t, s, d, m)
        for t, s, d, m in zip(types.tolist(), srcs.tolist(), dsts.tolist(),
                              first_mention.tolist(), strict=True)
    ]
    both_group = np.r_[group, group]
    both = np.r_[np.asarray(src_mention.to_numpy(dtype=object), dtype=object),
                 np.asarray(r["dst_mention"].to_numpy(dtype=object), dtype=object)]
    sources = pc.list_element(pc.split_pattern(arrow_array(src_mention.astype(str)), ":",
                                               max_splits=1), 0)
    large = pa.large_string()
    return _frame({
        "relation_id": pa.array(relation_ids, type=large),
        "type": pa.array(types, type=large),
        "src": pa.array(srcs, type=large),
        "dst": pa.array(dsts, type=large),
        "share_pct": pa.array(share_values, mask=share_rows < 0, type=pa.float64()),
        "role": _take(arrow_array(role), pick(role, last=False)) if role is not None
        else pa.nulls(n),
        "start_date": span(column("start_date"), latest=False),
        "end_date": span(column("end_date"), latest=True),
        "mention_ids": _lists(both_group, n, pd.Series(both, dtype=object)),
        "sources": _lists(group, n, pd.Series(pd.arrays.ArrowExtensionArray(sources))),
    })


def events_table(events: pd.DataFrame, entity_by_mention: pd.Series) -> pd.DataFrame:
    if events.empty:
        return pd.DataFrame(columns=list(EVENT_COLUMNS))
    e = events.copy()
    e["entity_id"] = e["subject_mention"].map(entity_by_mention)
    e = e[e["entity_id"].notna()]
    e["event_id"] = [event_id(str(m)) for m in e["event_mention_id"]]
    e["date"] = as_date(e["date"])
    e["mention_id"] = e["event_mention_id"].astype(str)
    e["subject_mention_id"] = e["subject_mention"].astype(str)
    e["amount"] = pd.to_numeric(e["amount"], errors="coerce").astype("float64")
    return e.reindex(columns=list(EVENT_COLUMNS)).sort_values("event_id", ignore_index=True)
