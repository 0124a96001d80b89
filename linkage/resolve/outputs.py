"""Entity-level tables of the run folder, from mentions and their entity IDs.

Columns follow `docs/contracts.md`. `entities.parquet` additionally carries `district` (the
graph schema's entity properties include it).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

MENTION_COLUMNS = (
    "mention_id", "source", "record_id", "role", "kind", "entity_id", "name", "name_std",
    "name_pinyin", "uscc", "uscc_valid", "id_number", "id_valid", "customs_code", "reg_no",
    "phone", "address", "address_std", "province", "city", "district", "birth_date",
    "established", "status", "record_date",
)
ENTITY_COLUMNS = (
    "entity_id", "kind", "name", "names", "name_pinyin", "uscc", "customs_code", "reg_no",
    "id_number", "phone", "address", "address_std", "province", "city", "district",
    "established", "status", "birth_date", "n_mentions", "sources", "mention_ids",
)
RELATION_COLUMNS = (
    "relation_id", "type", "src", "dst", "share_pct", "role", "start_date", "end_date",
    "mention_ids", "sources",
)
EVENT_COLUMNS = (
    "event_id", "type", "entity_id", "date", "category", "amount", "description", "source",
    "record_id", "mention_id", "subject_mention_id",
)
DATE_COLUMNS = ("birth_date", "established", "record_date")


def lists_by(keys: pd.DataFrame, values: pd.Series) -> pd.Series:
    """Sorted distinct `values` per distinct row of `keys`, as Python lists (vectorised:
    one sort and one split instead of a Python call per group)."""
    cols = list(keys.columns)
    frame = keys.assign(_v=values.to_numpy()).dropna(subset=["_v"])
    frame = frame.drop_duplicates().sort_values([*cols, "_v"], kind="stable")
    codes = frame.groupby(cols, sort=False).ngroup().to_numpy()
    cuts = np.flatnonzero(np.diff(codes)) + 1
    parts = np.split(frame["_v"].to_numpy(dtype=object), cuts) if len(frame) else []
    starts = np.r_[0, cuts].astype(int)
    firsts = pd.DataFrame({c: frame[c].to_numpy()[starts] for c in cols})
    index = pd.MultiIndex.from_frame(firsts) if len(frame) else None
    out = pd.Series([p.tolist() for p in parts], index=index, dtype=object)
    if len(cols) == 1 and index is not None:
        out.index = out.index.get_level_values(0)
    return out


def _hex12(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def as_date(series: pd.Series) -> pd.Series:
    """A column of Python dates (or None), whatever the input held."""
    parsed = pd.to_datetime(series.astype(object), errors="coerce")
    dates = pd.Series(parsed.dt.date.to_numpy(dtype=object), index=series.index, dtype=object)
    return dates.where(parsed.notna().to_numpy(), None)


def mentions_table(mentions: pd.DataFrame, entity_of: np.ndarray) -> pd.DataFrame:
    frame = mentions.reindex(columns=[c for c in MENTION_COLUMNS if c != "entity_id"]).copy()
    frame.insert(5, "entity_id", entity_of)
    for col in DATE_COLUMNS:
        frame[col] = as_date(frame[col])
    for col in ("uscc_valid", "id_valid"):
        frame[col] = frame[col].fillna(False).astype(bool)
    return frame


def _mode(frame: pd.DataFrame, column: str, mask: pd.Series | None = None) -> pd.Series:
    """Most frequent non-null value of `column` per entity (ties: smallest value)."""
    sub = frame.loc[frame[column].notna() if mask is None else (mask & frame[column].notna()),
                    ["entity_id", column]]
    if sub.empty:
        return pd.Series(dtype=object)
    sub = sub.assign(_v=sub[column].astype(str))
    counts = sub.groupby(["entity_id", "_v"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values(["entity_id", "n", "_v"], ascending=[True, False, True])
    best = counts.drop_duplicates("entity_id").set_index("entity_id")["_v"]
    first_value = sub.drop_duplicates(["entity_id", "_v"]).set_index(["entity_id", "_v"])[column]
    keys = list(zip(best.index, best.to_numpy(), strict=True))
    return pd.Series(first_value.loc[keys].to_numpy(), index=best.index, dtype=object)


def entities_table(mentions: pd.DataFrame) -> pd.DataFrame:
    """One row per entity; `mentions` is the output of `mentions_table`."""
    m = mentions
    grouped = m.groupby("entity_id", sort=True)
    out = pd.DataFrame(index=grouped.size().index)
    out["kind"] = grouped["kind"].first()
    # canonical name: the most frequent standardised name, then its most frequent raw form
    best_std = _mode(m, "name_std")
    has_best = m["name_std"].astype(object).eq(m["entity_id"].map(best_std))
    out["name"] = _mode(m, "name", has_best)
    fallback = _mode(m, "name")
    out["name"] = out["name"].where(out["name"].notna(), fallback.reindex(out.index))
    out["names"] = lists_by(m[["entity_id"]], m["name"]).reindex(out.index)
    out["name_pinyin"] = _mode(m, "name_pinyin")
    out["uscc"] = _mode(m, "uscc", m["uscc_valid"].astype(bool))
    out["id_number"] = _mode(m, "id_number", m["id_valid"].astype(bool))
    for col in ("customs_code", "reg_no", "phone", "address", "address_std", "province", "city",
                "district", "established", "birth_date"):
        out[col] = _mode(m, col)
    latest = m[m["status"].notna()].sort_values(["entity_id", "record_date"], na_position="first")
    out["status"] = latest.groupby("entity_id")["status"].last()
    out["n_mentions"] = grouped.size().astype("int64")
    out["sources"] = lists_by(m[["entity_id"]], m["source"]).reindex(out.index)
    out["mention_ids"] = lists_by(m[["entity_id"]], m["mention_id"]).reindex(out.index)
    out = out.reset_index().rename(columns={"index": "entity_id"})
    for col in ("names", "sources", "mention_ids"):
        out[col] = [v if isinstance(v, list) else [] for v in out[col]]
    out = out.astype({c: object for c in ENTITY_COLUMNS if c not in ("n_mentions",)})
    out = out.where(out.notna(), None)
    return out.reindex(columns=list(ENTITY_COLUMNS))


def relations_table(relations: pd.DataFrame, entity_by_mention: pd.Series) -> pd.DataFrame:
    """Collapse mention-level relations to entity-level ones (self-loops dropped)."""
    if relations.empty:
        return pd.DataFrame(columns=list(RELATION_COLUMNS))
    r = relations.copy()
    r["src"] = r["src_mention"].map(entity_by_mention)
    r["dst"] = r["dst_mention"].map(entity_by_mention)
    r = r[r["src"].notna() & r["dst"].notna() & (r["src"] != r["dst"])]
    if r.empty:
        return pd.DataFrame(columns=list(RELATION_COLUMNS))
    for col in ("share_pct", "role", "start_date", "end_date"):
        if col not in r.columns:
            r[col] = None
    r["start_date"] = pd.to_datetime(r["start_date"], errors="coerce")
    r["end_date"] = pd.to_datetime(r["end_date"], errors="coerce")
    r["share_pct"] = pd.to_numeric(r["share_pct"], errors="coerce")
    r["source"] = r["src_mention"].astype(str).str.split(":").str[0]
    keys = ["type", "src", "dst"]
    r = r.sort_values([*keys, "src_mention"], kind="stable")
    g = r.groupby(keys, sort=True)
    out = g.agg(
        first_mention=("src_mention", "first"), share_pct=("share_pct", "last"),
        role=("role", "first"), start_date=("start_date", "min"), end_date=("end_date", "max"),
    ).reset_index()
    both = pd.concat([
        r[[*keys, "src_mention"]].rename(columns={"src_mention": "m"}),
        r[[*keys, "dst_mention"]].rename(columns={"dst_mention": "m"}),
    ])
    mention_ids = lists_by(both[keys], both["m"])
    source_lists = lists_by(r[keys], r["source"])
    key_index = pd.MultiIndex.from_frame(out[keys])
    out["mention_ids"] = mention_ids.reindex(key_index).to_numpy()
    out["sources"] = source_lists.reindex(key_index).to_numpy()
    out["relation_id"] = [
        "R" + _hex12(f"{t}|{s}|{d}|{m}")
        for t, s, d, m in zip(out["type"], out["src"], out["dst"], out["first_mention"],
                              strict=True)
    ]
    out["start_date"] = as_date(out["start_date"])
    out["end_date"] = as_date(out["end_date"])
    out["share_pct"] = out["share_pct"].astype("float64")
    out["role"] = out["role"].astype(object).where(out["role"].notna(), None)
    return out.reindex(columns=list(RELATION_COLUMNS))


def events_table(events: pd.DataFrame, entity_by_mention: pd.Series) -> pd.DataFrame:
    if events.empty:
        return pd.DataFrame(columns=list(EVENT_COLUMNS))
    e = events.copy()
    e["entity_id"] = e["subject_mention"].map(entity_by_mention)
    e = e[e["entity_id"].notna()]
    e["event_id"] = ["V" + _hex12(str(m)) for m in e["event_mention_id"]]
    e["date"] = as_date(e["date"])
    e["mention_id"] = e["event_mention_id"].astype(str)
    e["subject_mention_id"] = e["subject_mention"].astype(str)
    e["amount"] = pd.to_numeric(e["amount"], errors="coerce").astype("float64")
    return e.reindex(columns=list(EVENT_COLUMNS)).sort_values("event_id", ignore_index=True)
