"""Read a linkage run folder (through `runfolder`); derive the graph's node and relationship rows.

`load_run(run_dir)` checks the folder, reads the Parquet tables and derives what `linkage/` does
not write itself: Address and Phone nodes from the entities' `address_std` / `phone`, event nodes
from `events.parquet`, and the LOCATED_AT / HAS_PHONE / SUBJECT_OF relationships. Every node and
relationship row carries its provenance (`mention_ids`, `run_id`).

Deterministic IDs of derived rows (`runfolder.ids`; same inputs, same IDs, on every machine):
- Address: `address_id(address_std)`; Phone: `phone_id(E.164)`.
- LOCATED_AT / HAS_PHONE: `relation_id(TYPE, src, dst, m)` where `m` is the smallest mention ID
  of the entity that carries this address / phone ("" when none does).
- SUBJECT_OF: `relation_id("SUBJECT_OF", entity_id, event_id, event mention_id)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import pyarrow as pa

from graph.schema import (
    ENTITY_LABEL_BY_KIND,
    ENTITY_REL_TYPES,
    EVENT_LABEL_BY_TYPE,
    NODE_TYPES,
    REL_TYPES,
)
from runfolder.folder import check_run, has_table, read_table
from runfolder.ids import DERIVED, VALUE_ID, address_id, phone_id, relation_id
from runfolder.schema import ENTITIES_SCHEMA, EVIDENCE_SCHEMA, LIST, SCHEMAS


class RelGroup(NamedTuple):
    """Relationship rows of one type between one pair of labels (what one UNWIND batch needs)."""

    rel_type: str
    src_label: str
    dst_label: str
    rows: list[dict[str, Any]]


def _pylist(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain Python rows: dates as datetime.date, lists as list, nulls as None."""
    if df.empty:
        return []
    return list(pa.Table.from_pandas(df, preserve_index=False).to_pylist())


def _lists(values: pd.Series, sort: bool = False) -> list[list[str]]:
    """A list column (numpy arrays / lists / nulls from Arrow) as Python lists of str."""
    try:
        arr = pa.array(values, type=LIST, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # items that are not strings
        arr = pa.array([None if not hasattr(v, "__iter__") else [str(x) for x in v]
                        for v in values.tolist()], type=LIST)
    if sort:
        return [sorted(v) if v else [] for v in arr.to_pylist()]
    return [v or [] for v in arr.to_pylist()]


def _in(values: pd.Series, allowed: pd.Series) -> pd.Series:
    """`values.isin(allowed)` for string columns, through Arrow (much faster than pandas')."""
    import pyarrow.compute as pc

    mask = pc.is_in(pa.array(values, type=pa.string(), from_pandas=True),
                    value_set=pa.array(allowed, type=pa.string(), from_pandas=True))
    return pd.Series(mask.fill_null(False).to_numpy(zero_copy_only=False), index=values.index)


@dataclass
class RunTables:
    """The tables of one run, plus the derived graph rows (computed on first use)."""

    run_dir: Path
    report: dict[str, Any]
    mentions: pd.DataFrame
    entities: pd.DataFrame
    relations: pd.DataFrame
    events: pd.DataFrame
    evidence: pd.DataFrame
    risk: pd.DataFrame | None = None
    lean: bool = False  # read by load_run(lean=True): no evidence; reasons, provenance null
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def run_id(self) -> str:
        return str(self.report.get("run_id") or self.run_dir.name)

    # --- derived frames ---------------------------------------------------------------------
    @cached_property
    def entity_label(self) -> dict[str, str]:
        return {
            e: ENTITY_LABEL_BY_KIND[k]
            for e, k in zip(self.entities["entity_id"].tolist(), self.entities["kind"].tolist(),
                            strict=True)
        }

    def _entity_mentions_with(self, column: str) -> pd.DataFrame:
        """(entity_id, value, mention_ids) for mentions agreeing with the entity's `column`."""
        key = f"mentions_with:{column}"
        if key not in self._cache:
            self._cache[key] = self._derive_mentions_with(column)
        return pd.DataFrame(self._cache[key]).copy()

    def _derive_mentions_with(self, column: str) -> pd.DataFrame:
        ent = self.entities[["entity_id", column]].dropna().sort_values("entity_id")
        men = self.mentions[["entity_id", "mention_id", column]].dropna()
        hit = men.merge(ent, on=["entity_id", column], how="inner").sort_values("mention_id")
        ids: dict[tuple[str, str], list[str]] = {}
        for e, v, m in zip(hit["entity_id"].tolist(), hit[column].tolist(),
                           hit["mention_id"].tolist(), strict=True):
            ids.setdefault((e, v), []).append(m)
        pairs = list(zip(ent["entity_id"].tolist(), ent[column].tolist(), strict=True))
        return pd.DataFrame({
            "entity_id": [e for e, _ in pairs], column: [v for _, v in pairs],
            "mention_ids": [ids.get(pair, []) for pair in pairs],
        })

    @staticmethod
    def _by_value(derived: pd.DataFrame, column: str) -> pd.DataFrame:
        """One row per distinct value with the union of its entities' mention IDs."""
        union: dict[str, set[str]] = {}
        for value, mids in zip(derived[column].tolist(), derived["mention_ids"].tolist(),
                               strict=True):
            union.setdefault(value, set()).update(mids)
        values = sorted(union)
        return pd.DataFrame({column: values, "mention_ids": [sorted(union[v]) for v in values]})

    @cached_property
    def node_frames(self) -> dict[str, pd.DataFrame]:
        """One DataFrame per node label: `id`, the schema's properties, `run_id`."""
        run_id = self.run_id
        out: dict[str, pd.DataFrame] = {}
        ent = self.entities.copy()
        if "district" not in ent.columns:
            district = (
                self.mentions.dropna(subset=["district"]).sort_values("mention_id")
                .drop_duplicates("entity_id").set_index("entity_id")["district"]
            )
            ent["district"] = ent["entity_id"].map(district)
        ent = ent.rename(columns={"entity_id": "id"})
        ent["mention_ids"] = pd.Series(_lists(ent["mention_ids"], sort=True), index=ent.index,
                                       dtype=object)
        ent["names"] = pd.Series(_lists(ent["names"]), index=ent.index, dtype=object)
        ent["sources"] = pd.Series(_lists(ent["sources"]), index=ent.index, dtype=object)
        for kind, label in ENTITY_LABEL_BY_KIND.items():
            cols = ["id", *NODE_TYPES[label].properties]
            frame = ent.loc[ent["kind"] == kind, cols].copy()
            frame["run_id"] = run_id
            out[label] = frame.sort_values("id").reset_index(drop=True)

        addr = self._entity_mentions_with("address_std")
        geo = ent.dropna(subset=["address_std"]).sort_values("id").drop_duplicates("address_std")
        geo = geo.set_index("address_std")
        a = self._by_value(addr, "address_std")
        a["id"] = a["address_std"].map(address_id)
        a["label"] = a["address_std"]
        for col in ("province", "city", "district"):
            a[col] = a["address_std"].map(geo[col])
        a["run_id"] = run_id
        out["Address"] = a[["id", *NODE_TYPES["Address"].properties, "mention_ids", "run_id"]]

        ph = self._entity_mentions_with("phone")
        p = self._by_value(ph, "phone")
        p["id"] = p["phone"].map(phone_id)
        p["label"] = p["phone"]
        p["run_id"] = run_id
        out["Phone"] = p[["id", *NODE_TYPES["Phone"].properties, "mention_ids", "run_id"]]

        ev = self.events.rename(columns={"event_id": "id"}).copy()
        ev["mention_ids"] = ev["mention_id"].map(lambda m: [m] if isinstance(m, str) else [])
        ev["run_id"] = run_id
        for etype, label in EVENT_LABEL_BY_TYPE.items():
            frame = ev.loc[ev["type"] == etype, ["id", *NODE_TYPES[label].properties, "run_id"]]
            out[label] = frame.sort_values("id").reset_index(drop=True)
        return out

    @cached_property
    def rel_frames(self) -> dict[str, pd.DataFrame]:
        """Per relationship type: `id, src, dst, src_label, dst_label`, properties, `run_id`."""
        run_id = self.run_id
        labels = self.entity_label
        out: dict[str, pd.DataFrame] = {}
        rel = self.relations.rename(columns={"relation_id": "id"}).copy()
        known = self.entities["entity_id"]
        rel = rel[_in(rel["src"], known) & _in(rel["dst"], known)].copy()
        rel["mention_ids"] = pd.Series(_lists(rel["mention_ids"], sort=True), index=rel.index,
                                       dtype=object)
        rel["sources"] = pd.Series(_lists(rel["sources"]), index=rel.index, dtype=object)
        rel["src_label"] = rel["src"].map(labels)
        rel["dst_label"] = rel["dst"].map(labels)
        base = ["id", "src", "dst", "src_label", "dst_label"]
        for rtype in ENTITY_REL_TYPES:
            frame = rel.loc[rel["type"] == rtype, [*base, *REL_TYPES[rtype].properties]].copy()
            frame["run_id"] = run_id
            out[rtype] = frame.sort_values("id").reset_index(drop=True)

        for rtype, column, dst_label in DERIVED:
            derived = self._entity_mentions_with(column)
            frame = pd.DataFrame({
                "src": derived["entity_id"],
                "dst": derived[column].map(VALUE_ID[column]),
                "src_label": derived["entity_id"].map(labels),
                "dst_label": dst_label,
                "mention_ids": derived["mention_ids"],
            })
            frame["id"] = [
                relation_id(rtype, s, d, ms[0] if ms else "")
                for s, d, ms in zip(frame["src"].tolist(), frame["dst"].tolist(),
                                    frame["mention_ids"].tolist(), strict=True)
            ]
            frame["run_id"] = run_id
            out[rtype] = frame[[*base, "mention_ids", "run_id"]].sort_values("id").reset_index(
                drop=True
            )

        ev = self.events[_in(self.events["entity_id"], self.entities["entity_id"])]
        subj = pd.DataFrame({
            "src": ev["entity_id"],
            "dst": ev["event_id"],
            "src_label": ev["entity_id"].map(labels),
            "dst_label": ev["type"].map(EVENT_LABEL_BY_TYPE),
            "mention_ids": ev["mention_id"].map(lambda m: [m] if isinstance(m, str) else []),
        })
        subj["id"] = [
            relation_id("SUBJECT_OF", s, d, ms[0] if ms else "")
            for s, d, ms in zip(subj["src"].tolist(), subj["dst"].tolist(),
                                subj["mention_ids"].tolist(), strict=True)
        ]
        subj["run_id"] = run_id
        out["SUBJECT_OF"] = subj[[*base, "mention_ids", "run_id"]].sort_values("id").reset_index(
            drop=True
        )
        return out

    # --- plain rows for loaders ---------------------------------------------------------------
    def nodes_by_label(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(label, rows) for every node label in schema order; rows are plain dicts with `id`."""
        for label in NODE_TYPES:
            yield label, _pylist(self.node_frames[label])

    def relationships_by_type(self) -> Iterator[RelGroup]:
        """Relationship rows grouped by (type, src_label, dst_label), in schema order.

        Each row has `id, src, dst, src_label, dst_label`, the type's properties and `run_id`.
        """
        for rtype in REL_TYPES:
            frame = self.rel_frames[rtype]
            if frame.empty:
                continue
            groups = frame.groupby(["src_label", "dst_label"], sort=True)
            for (src_label, dst_label), part in groups:
                yield RelGroup(rtype, str(src_label), str(dst_label), _pylist(part))

    def counts(self) -> tuple[int, int]:
        """(number of nodes, number of relationships) of the derived graph."""
        return (
            sum(len(f) for f in self.node_frames.values()),
            sum(len(f) for f in self.rel_frames.values()),
        )


# the mention columns the derived graph frames and the loader's provenance need
GRAPH_MENTION_COLUMNS = (
    "mention_id", "source", "record_id", "role", "entity_id", "name", "phone", "address_std",
    "district", "record_date",
)


# what the embedded graph needs of each table (`load_run(..., lean=True)`): no provenance
# lists, no evidence or risk reasons (the embedded store packs those itself, from Arrow)
LEAN_COLUMNS: dict[str, tuple[str, ...]] = {
    "mentions": ("mention_id", "entity_id", "phone", "address_std", "district"),
    "entities": tuple(c for c in ENTITIES_SCHEMA.names if c not in ("mention_ids", "run_id")),
    "relations": ("relation_id", "type", "src", "dst", "share_pct", "start_date"),
    "risk": ("entity_id", "score", "level", "learned_score", "learned_level"),
}


def _lean_table(run_dir: Path, name: str) -> pd.DataFrame:
    """A run table with only its LEAN_COLUMNS read; the other contract columns are null."""
    df = read_table(run_dir, name, LEAN_COLUMNS[name])
    for column in SCHEMAS[name].names:
        if column not in df.columns:
            df[column] = None
    return df


def load_run(run_dir: Path | str, mention_columns: tuple[str, ...] | None = None,
             *, lean: bool = False) -> RunTables:
    """Check and read a run folder; raises RunFolderError with a one-line fix on problems.

    `mention_columns` (e.g. `GRAPH_MENTION_COLUMNS`) reads only those mention columns.
    `lean` reads only what the embedded graph is built from (`LEAN_COLUMNS`): provenance
    lists and risk reasons are null and evidence is empty (nothing of the graph is built
    from it; the embedded store reads evidence itself); the node and relationship IDs,
    properties and derived rows are the same."""
    run_dir = Path(run_dir)
    report = check_run(run_dir)
    has_risk = has_table(run_dir, "risk")
    if lean:
        return RunTables(
            run_dir=run_dir, report=report,
            mentions=_lean_table(run_dir, "mentions"),
            entities=_lean_table(run_dir, "entities"),
            relations=_lean_table(run_dir, "relations"),
            events=read_table(run_dir, "events"),
            evidence=pd.DataFrame({c: pd.Series(dtype=object) for c in EVIDENCE_SCHEMA.names}),
            risk=_lean_table(run_dir, "risk") if has_risk else None,
            lean=True,
        )
    risk = read_table(run_dir, "risk") if has_risk else None
    return RunTables(
        run_dir=run_dir,
        report=report,
        mentions=read_table(run_dir, "mentions", mention_columns),
        entities=read_table(run_dir, "entities"),
        relations=read_table(run_dir, "relations"),
        events=read_table(run_dir, "events"),
        evidence=read_table(run_dir, "evidence"),
        risk=risk,
    )
