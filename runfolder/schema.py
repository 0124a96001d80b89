"""The tables of a run folder: their columns in the order they are written, and Arrow types.

One `TableSpec` per Parquet table of `RUN/` (docs/contracts.md, "Run folder"). `linkage/`
writes the columns in `written` order (its frames carry `written` minus `run_id`), readers
(`runfolder.folder.read_table`, graph/, risk/) rely on the `contract` columns and get the
absent ones as nulls. A column named in `optional` is written by `linkage/` (or `risk/`) but not
every run folder has it (test fixtures and older runs do not): readers never invent it unless
they name it (`read_table(..., columns)` then gives nulls).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

LIST = pa.list_(pa.string())
RUN_ID = "run_id"


@dataclass(frozen=True)
class TableSpec:
    """One run-folder table: `RUN/<name>.parquet`."""

    name: str
    fields: tuple[pa.Field, ...]  # every column, in written order, `run_id` last
    optional: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return f"{self.name}.parquet"

    @property
    def written(self) -> tuple[str, ...]:
        """Every column in the order it is written (with `run_id`)."""
        return tuple(f.name for f in self.fields)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns a producer's frame carries (written order, without `run_id`)."""
        return tuple(f.name for f in self.fields if f.name != RUN_ID)

    @property
    def contract(self) -> pa.Schema:
        """The Arrow schema every run folder's table has (optional columns left out)."""
        return pa.schema([f for f in self.fields if f.name not in self.optional])


def _spec(name: str, fields: list[tuple[str, pa.DataType]], optional: tuple[str, ...] = ()
          ) -> TableSpec:
    return TableSpec(name, tuple(pa.field(n, t) for n, t in [*fields, (RUN_ID, pa.string())]),
                     optional)


S, D, F = pa.string(), pa.date32(), pa.float64()

MENTIONS = _spec("mentions", [
    ("mention_id", S), ("source", S), ("record_id", S), ("role", S), ("kind", S),
    ("entity_id", S), ("name", S), ("name_std", S), ("name_pinyin", S), ("uscc", S),
    ("uscc_valid", pa.bool_()), ("id_number", S), ("id_valid", pa.bool_()),
    ("customs_code", S), ("reg_no", S), ("phone", S), ("address", S), ("address_std", S),
    ("province", S), ("city", S), ("district", S), ("birth_date", D), ("established", D),
    ("status", S), ("record_date", D), ("id_scheme", S), ("other_id", S),
    ("other_id_fuzzy", pa.bool_()),
])
ENTITIES = _spec("entities", [
    ("entity_id", S), ("kind", S), ("name", S), ("names", LIST), ("name_pinyin", S),
    ("uscc", S), ("customs_code", S), ("reg_no", S), ("id_number", S), ("phone", S),
    ("address", S), ("address_std", S), ("province", S), ("city", S), ("district", S),
    ("established", D), ("status", S), ("birth_date", D), ("n_mentions", pa.int64()),
    ("sources", LIST), ("mention_ids", LIST),
], optional=("district",))
RELATIONS = _spec("relations", [
    ("relation_id", S), ("type", S), ("src", S), ("dst", S), ("share_pct", F), ("role", S),
    ("start_date", D), ("end_date", D), ("mention_ids", LIST), ("sources", LIST),
])
EVENTS = _spec("events", [
    ("event_id", S), ("type", S), ("entity_id", S), ("date", D), ("category", S),
    ("amount", F), ("description", S), ("source", S), ("record_id", S), ("mention_id", S),
    ("subject_mention_id", S),
], optional=("subject_mention_id",))
EVIDENCE = _spec("evidence", [
    ("entity_id", S), ("mention_id_l", S), ("mention_id_r", S), ("match_weight", F),
    ("match_probability", F), ("method", S), ("features", S),
])
QUARANTINE = _spec("quarantine", [
    ("source", S), ("file", S), ("row_number", pa.int64()), ("record_id", S), ("field", S),
    ("reason", S), ("raw", S),
])
CHANGELOG = _spec("changelog", [("change", S), ("entity_id", S), ("previous_ids", LIST)])
RISK = _spec("risk", [
    ("entity_id", S), ("score", F), ("level", S), ("reasons", S),
    ("learned_score", F), ("learned_level", S), ("learned_reasons", S),
], optional=("learned_score", "learned_level", "learned_reasons"))

TABLES: dict[str, TableSpec] = {t.name: t for t in (
    MENTIONS, ENTITIES, RELATIONS, EVENTS, EVIDENCE, QUARANTINE, CHANGELOG, RISK)}
# the Arrow schema every run folder's table has, by table name
SCHEMAS: dict[str, pa.Schema] = {name: t.contract for name, t in TABLES.items()}
MENTIONS_SCHEMA = SCHEMAS["mentions"]
ENTITIES_SCHEMA = SCHEMAS["entities"]
RELATIONS_SCHEMA = SCHEMAS["relations"]
EVENTS_SCHEMA = SCHEMAS["events"]
EVIDENCE_SCHEMA = SCHEMAS["evidence"]
RISK_SCHEMA = SCHEMAS["risk"]
# tables every complete run folder holds (risk.parquet is written by `guanlian score`)
REQUIRED_TABLES = ("mentions", "entities", "relations", "events", "evidence")
