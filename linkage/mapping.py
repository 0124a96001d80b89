"""The source mapping (`sources.yaml`): which agency files to read and what each row says.

In the spirit of FollowTheMoney mappings: one row yields several named mentions (its *roles*),
the relations between them and events about them. Each property value comes from exactly one
of a column, a template over columns, a literal, or a reference to a property of another
mention of the same row. `load_mapping` validates everything that can be checked without
reading data; `linkage.extract` then checks the referenced columns against every file's header
before any row is processed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from linkage.errors import MappingError
from linkage.mapping_yaml import DuplicateKeyError, load_strict

Kind = Literal["enterprise", "person"]
RelationType = Literal[
    "LEGAL_REP_OF", "SHAREHOLDER_OF", "DIRECTOR_OF", "SUPERVISOR_OF", "MANAGER_OF", "DECLARANT_FOR"
]
EventType = Literal["PENALTY", "INSPECTION_FAILURE", "BLACKLISTING"]
Format = Literal["csv", "parquet", "jsonl", "xlsx"]
Encoding = Literal["utf-8", "gbk", "gb18030"]
OnError = Literal["null", "quarantine"]

PROPERTIES: dict[str, tuple[str, ...]] = {
    "person": ("name", "id_number", "phone", "address", "birth_date", "record_date"),
    "enterprise": (
        "name", "uscc", "customs_code", "reg_no", "org_code", "phone", "address", "established",
        "status", "record_date",
    ),
}
DATE_PROPERTIES = frozenset({"birth_date", "established", "record_date"})

# (src kinds, dst kinds) allowed for each relation type; mirrors docs/contracts.md.
RELATION_KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "LEGAL_REP_OF": (frozenset({"person"}), frozenset({"enterprise"})),
    "SHAREHOLDER_OF": (frozenset({"person", "enterprise"}), frozenset({"enterprise"})),
    "DIRECTOR_OF": (frozenset({"person"}), frozenset({"enterprise"})),
    "SUPERVISOR_OF": (frozenset({"person"}), frozenset({"enterprise"})),
    "MANAGER_OF": (frozenset({"person"}), frozenset({"enterprise"})),
    "DECLARANT_FOR": (frozenset({"person"}), frozenset({"enterprise"})),
}
RELATION_DATE_FIELDS = ("start_date", "end_date")
EVENT_DATE_FIELDS = ("date",)
NUMBER_FIELDS = frozenset({"share_pct", "amount"})

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ENCODING_ALIASES = {"utf8": "utf-8", "utf-8-sig": "utf-8", "cp936": "gbk", "gb2312": "gbk"}


def event_role(index: int) -> str:
    """Role of the n-th (0-based) event of a row in its event mention ID: event, event2, …"""
    return "event" if index == 0 else f"event{index + 1}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("filter", "filters", mode="before", check_fields=False)
    @classmethod
    def _filter_list(cls, v: Any) -> Any:
        """A single filter may be written without the list brackets."""
        if v is None:
            return []
        return v if isinstance(v, list) else [v]


class ValueSpec(_Strict):
    """Where a value comes from: exactly one of column, template, literal or ref."""

    column: str | None = None
    template: str | None = None
    literal: str | int | float | bool | None = None
    ref: str | None = Field(default=None, description="`role.property` of the same row")
    on_error: OnError | None = Field(
        default=None,
        description="a value that cannot be read (a bad date or number): `null` keeps the row "
                    "with the value missing and a counted note, `quarantine` quarantines the "
                    "row; default null for optional fields, quarantine for required ones",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # a bare string is a column name
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _exactly_one(self) -> ValueSpec:
        given = [k for k in ("column", "template", "literal", "ref")
                 if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of column / template / literal / ref"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.template is not None:
            template_fields(self.template)  # raises ValueError when malformed
        if self.ref is not None and self.ref.count(".") != 1:
            raise ValueError(f"ref {self.ref!r} must be 'role.property'")
        return self

    def columns(self) -> list[str]:
        if self.column is not None:
            return [self.column]
        if self.template is not None:
            return template_fields(self.template)
        return []


def on_error(spec: ValueSpec, required: bool) -> OnError:
    """What a value that cannot be read does: the property's `on_error`, else quarantine for a
    required field and null (with a counted note) for an optional one."""
    if spec.on_error is not None:
        return spec.on_error
    return "quarantine" if required else "null"


def template_fields(template: str) -> list[str]:
    """Column names used by a template such as "{处罚决定书文号} {处罚内容}"."""
    out: list[str] = []
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"template {template!r} is malformed: {exc}") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not name:
            raise ValueError(f"template {template!r} has an empty placeholder {{}}")
        if spec or conversion:
            raise ValueError(f"template {template!r}: placeholders take no format spec")
        out.append(name)
    return out


class RowFilter(_Strict):
    """A condition on one column; values are compared as stripped strings."""

    column: str
    equals: str | None = None
    not_equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    present: bool | None = None

    @field_validator("equals", "not_equals", mode="before")
    @classmethod
    def _scalar_to_str(cls, v: Any) -> Any:
        return v if v is None or isinstance(v, str) else str(v)

    @field_validator("in_", "not_in", mode="before")
    @classmethod
    def _list_to_str(cls, v: Any) -> Any:
        return [str(x) for x in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _one_operator(self) -> RowFilter:
        ops = [k for k in ("equals", "not_equals", "in_", "not_in", "present")
               if getattr(self, k) is not None]
        if len(ops) != 1:
            raise ValueError("a filter takes a column and exactly one of "
                             "equals / not_equals / in / not_in / present")
        return self

    def describe(self) -> str:
        for op in ("equals", "not_equals", "in_", "not_in", "present"):
            value = getattr(self, op)
            if value is not None:
                return f"{self.column} {op.rstrip('_')} {value!r}"
        return self.column  # pragma: no cover - validated above


class IdentifierSpec(ValueSpec):
    """A generic identifier of a declared scheme (no Chinese validation): `exact` compares
    equal / different, `fuzzy` also counts one edit or transposition apart."""

    match: Literal["exact", "fuzzy"] = "exact"


class KindSpec(_Strict):
    """The kind of a mention decided per row: `{column: 股东类型, map: {自然人: person, …}}`."""

    column: str
    map: dict[str, Kind]

    @field_validator("map", mode="before")
    @classmethod
    def _keys_to_str(cls, v: Any) -> Any:
        return {str(k): x for k, x in v.items()} if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _not_empty(self) -> KindSpec:
        if not self.map:
            raise ValueError("kind.map needs at least one value -> kind")
        return self


class MentionSpec(_Strict):
    kind: Kind | KindSpec
    required: list[str] = Field(default_factory=list)
    filter: list[RowFilter] = Field(default_factory=list)
    properties: dict[str, ValueSpec]
    identifiers: dict[str, IdentifierSpec] = Field(default_factory=dict)

    def kinds(self) -> frozenset[str]:
        """Every kind this mention can take."""
        if isinstance(self.kind, KindSpec):
            return frozenset(self.kind.map.values())
        return frozenset({self.kind})

    @model_validator(mode="after")
    def _known_properties(self) -> MentionSpec:
        allowed = tuple(dict.fromkeys(p for k in sorted(self.kinds()) for p in PROPERTIES[k]))
        unknown = [p for p in self.properties if p not in allowed]
        if unknown:
            what = "/".join(sorted(self.kinds()))
            raise ValueError(f"unknown {what} properties {unknown}; allowed: {list(allowed)}")
        bad = [s for s in self.identifiers if not _SCHEME.match(s)]
        if bad:
            raise ValueError(f"identifier schemes {bad} must match {_SCHEME.pattern}")
        if not self.properties:
            raise ValueError("a mention needs at least one property")
        missing = [p for p in self.required if p not in self.properties]
        if missing:
            raise ValueError(f"required {missing} must also be mapped under properties")
        return self


class RelationSpec(_Strict):
    type: RelationType
    src: str
    dst: str
    share_pct: ValueSpec | None = None
    role: ValueSpec | None = None
    start_date: ValueSpec | None = None
    end_date: ValueSpec | None = None
    filter: list[RowFilter] = Field(default_factory=list)

    @model_validator(mode="after")
    def _share_only_for_shareholders(self) -> RelationSpec:
        if self.share_pct is not None and self.type != "SHAREHOLDER_OF":
            raise ValueError(f"share_pct only applies to SHAREHOLDER_OF, not {self.type}")
        if self.src == self.dst:
            raise ValueError("a relation needs two different mentions")
        return self

    def values(self) -> dict[str, ValueSpec]:
        return {k: v for k in ("share_pct", "role", "start_date", "end_date")
                if (v := getattr(self, k)) is not None}


class EventSpec(_Strict):
    type: EventType
    subject: str
    date: ValueSpec
    category: ValueSpec | None = None
    amount: ValueSpec | None = None
    description: ValueSpec | None = None
    filter: list[RowFilter] = Field(default_factory=list)

    def values(self) -> dict[str, ValueSpec]:
        return {k: v for k in ("date", "category", "amount", "description")
                if (v := getattr(self, k)) is not None}


KEY_SEPARATOR = "|"


def join_key(parts: Sequence[str]) -> str:
    """A record key from its columns' values: '' (missing) when any part is empty; parts
    joined by `KEY_SEPARATOR` (220120231000000001|1) when there are several."""
    stripped = [p.strip() for p in parts]
    if not all(stripped):
        return ""
    return KEY_SEPARATOR.join(stripped)


class SourceSpec(_Strict):
    agency: str = ""
    path: str
    format: Format
    encoding: Encoding = "utf-8"
    key: str | list[str]  # the record key's column, or columns whose values together are it
    date_format: str | None = None
    delimiter: str = ","
    sheet: str | None = None  # xlsx: the worksheet's name (default: the first)
    # the header's sheet row (xlsx) or line (CSV): a title, an export date above it skipped
    header_row: int = Field(1, ge=1, le=1_048_576)
    filters: list[RowFilter] = Field(default_factory=list)
    mentions: dict[str, MentionSpec]
    relations: list[RelationSpec] = Field(default_factory=list)
    events: list[EventSpec] = Field(default_factory=list)

    @field_validator("encoding", mode="before")
    @classmethod
    def _encoding_alias(cls, v: Any) -> Any:
        if isinstance(v, str):
            low = v.strip().lower().replace("_", "-")
            return _ENCODING_ALIASES.get(low, low)
        return v

    @field_validator("key")
    @classmethod
    def _key_columns(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list):
            if not v or any(not isinstance(c, str) or not c for c in v) or len(set(v)) < len(v):
                raise ValueError("key: a column, or a list of distinct columns")
            return v[0] if len(v) == 1 else v
        return v

    @property
    def key_columns(self) -> list[str]:
        """The columns of the record key (one, or several for a composite key)."""
        return [self.key] if isinstance(self.key, str) else list(self.key)

    @property
    def key_label(self) -> str:
        """The key's columns as a quarantine names them: 报关单号, or 报关单号+项号."""
        return "+".join(self.key_columns)

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str) -> str:
        if len(v) != 1:
            raise ValueError("delimiter must be one character")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SourceSpec:
        if not self.mentions:
            raise ValueError("a source needs at least one mention")
        if self.format != "xlsx" and self.sheet is not None:
            raise ValueError("sheet is for format xlsx only")
        if self.format not in ("xlsx", "csv") and self.header_row != 1:
            raise ValueError("header_row is for formats csv and xlsx only")
        for role in self.mentions:
            if not _NAME.match(role):
                raise ValueError(f"mention role {role!r} must match {_NAME.pattern}")
            if re.fullmatch(r"event\d*", role):
                raise ValueError(f"mention role {role!r} is reserved for events")
        for i, rel in enumerate(self.relations):
            src_kinds, dst_kinds = RELATION_KINDS[rel.type]
            for end, kinds in (("src", src_kinds), ("dst", dst_kinds)):
                role = getattr(rel, end)
                if role not in self.mentions:
                    raise ValueError(f"relations[{i}].{end}: no mention {role!r} in this source")
                other = sorted(self.mentions[role].kinds() - kinds)
                if other:
                    raise ValueError(
                        f"relations[{i}]: {rel.type} needs {end} of kind {sorted(kinds)}, "
                        f"but {role!r} can be a {other[0]}"
                    )
        for i, ev in enumerate(self.events):
            if ev.subject not in self.mentions:
                raise ValueError(f"events[{i}].subject: no mention {ev.subject!r} in this source")
        self._check_refs()
        return self

    def _check_refs(self) -> None:
        """Every ref names an existing `role.property`, and refs do not go round in a circle."""
        edges: dict[str, str] = {}
        for key, spec in self.value_specs():
            if spec.ref is None:
                continue
            role, prop = spec.ref.split(".")
            if role not in self.mentions or prop not in self.mentions[role].properties:
                raise ValueError(f"{key}: ref {spec.ref!r} names no mapped property of this source")
            edges[key] = f"mentions.{role}.properties.{prop}"
        for start in edges:
            seen = {start}
            node = start
            while node in edges:
                node = edges[node]
                if node in seen:
                    raise ValueError(f"{start}: refs form a cycle")
                seen.add(node)

    def value_specs(self) -> Iterator[tuple[str, ValueSpec]]:
        """Every value spec with its key path inside this source."""
        for role, m in self.mentions.items():
            for prop, spec in m.properties.items():
                yield f"mentions.{role}.properties.{prop}", spec
            for scheme, ident in m.identifiers.items():
                yield f"mentions.{role}.identifiers.{scheme}", ident
        for i, rel in enumerate(self.relations):
            for name, spec in rel.values().items():
                yield f"relations[{i}].{name}", spec
        for i, ev in enumerate(self.events):
            for name, spec in ev.values().items():
                yield f"events[{i}].{name}", spec

    def columns_used(self) -> dict[str, str]:
        """Each column the mapping reads, with the first key path that reads it."""
        used: dict[str, str] = dict.fromkeys(self.key_columns, "key")
        for i, f in enumerate(self.filters):
            used.setdefault(f.column, f"filters[{i}].column")
        for role, m in self.mentions.items():
            for i, f in enumerate(m.filter):
                used.setdefault(f.column, f"mentions.{role}.filter[{i}].column")
            if isinstance(m.kind, KindSpec):
                used.setdefault(m.kind.column, f"mentions.{role}.kind.column")
        for i, rel in enumerate(self.relations):
            for j, f in enumerate(rel.filter):
                used.setdefault(f.column, f"relations[{i}].filter[{j}].column")
        for i, ev in enumerate(self.events):
            for j, f in enumerate(ev.filter):
                used.setdefault(f.column, f"events[{i}].filter[{j}].column")
        for key, spec in self.value_specs():
            for col in spec.columns():
                used.setdefault(col, key)
        return used


class Mapping(_Strict):
    version: Literal[1] = 1
    sources: dict[str, SourceSpec]

    @model_validator(mode="after")
    def _source_names(self) -> Mapping:
        if not self.sources:
            raise ValueError("no sources declared")
        for name in self.sources:
            if not _NAME.match(name):
                raise ValueError(f"source name {name!r} must match {_NAME.pattern}")
        return self


class LoadedMapping:
    """A validated mapping together with the file it came from (paths are relative to it)."""

    def __init__(self, file: Path, mapping: Mapping) -> None:
        self.file = file
        self.mapping = mapping

    @property
    def sources(self) -> dict[str, SourceSpec]:
        return self.mapping.sources

    def data_path(self, source: str) -> Path:
        path = Path(self.mapping.sources[source].path)
        return path if path.is_absolute() else (self.file.parent / path)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue  # pydantic's internal validator frames
        else:
            out += ("." if out else "") + str(part)
    return out


def load_mapping(path: Path | str) -> LoadedMapping:
    """Read and validate `sources.yaml`; any problem is a `MappingError` naming file and key."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(file, "", f"cannot read mapping: {exc.strerror or exc}") from None
    try:
        data = load_strict(text)
    except DuplicateKeyError as exc:
        raise MappingError(file, exc.path or exc.key, str(exc)) from None
    except yaml.YAMLError as exc:
        raise MappingError(file, "", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise MappingError(file, "", "the mapping must be a YAML mapping with `sources:`")
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        msgs = [str(e["msg"]).removeprefix("Value error, ") for e in errors]
        if len(errors) == 1:
            raise MappingError(file, _loc(errors[0]["loc"]), msgs[0]) from None
        detail = "; ".join(f"{_loc(e['loc']) or '(top)'}: {m}"
                           for e, m in zip(errors, msgs, strict=True))
        raise MappingError(file, _loc(errors[0]["loc"]), detail) from None
    return LoadedMapping(file, mapping)
