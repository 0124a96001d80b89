"""The Cypher texts of the Neo4j wing, read whole: every label and relationship type written in
them is a schema name, every hole left is one a caller fills with a checked name, and the
parts written out by hand (event types, brief properties, identifier tags, the full-text
index, the labels a lookup tries) agree with `graph.schema` and `graph.store`."""

from __future__ import annotations

import re

import pytest

from graph import schema
from graph.neo4j import queries, write_queries
from graph.neo4j.meta import META_LABEL, READ_META
from graph.neo4j.template import fill, holes
from graph.store import IDENTIFIERS

# `n:Label`, `(:Label`, `[r:TYPE|OTHER` ... (map keys are followed by a space, not a name)
_NAMES = re.compile(r"(?<=[\w(\[]):([A-Za-z_][A-Za-z0-9_]*(?:\|[A-Za-z_][A-Za-z0-9_]*)*)")
_CALL_HOLES = {"label", "rels", "kind", "hops", "name", "key", "prop", "type", "src", "dst"}


def _texts() -> dict[str, str]:
    out = {"meta.READ_META": READ_META}
    for module in (queries, write_queries):
        for name, value in vars(module).items():
            where = f"{module.__name__.rsplit('.', 1)[1]}.{name}"
            if name.isupper() and isinstance(value, str) and name not in (
                "NETWORK", "CONTROL", "RING_PERSON"
            ):
                out[where] = value
            elif name.isupper() and isinstance(value, dict):  # a query in several forms
                out.update({f"{where}[{form}]": text for form, text in value.items()
                            if isinstance(text, str)})
    return out


def test_the_texts_are_found() -> None:
    texts = _texts()
    assert len(texts) >= 40
    assert "queries.SEARCH" in texts and "write_queries.CREATE_RELS" in texts


@pytest.mark.parametrize("name", sorted(_texts()))
def test_every_label_and_type_written_is_a_schema_name(name: str) -> None:
    allowed = set(schema.NODE_TYPES) | set(schema.REL_TYPES) | {META_LABEL}
    written = {part for m in _NAMES.finditer(_texts()[name]) for part in m.group(1).split("|")}
    assert written <= allowed, sorted(written - allowed)


@pytest.mark.parametrize("name", sorted(_texts()))
def test_only_call_time_holes_are_left(name: str) -> None:
    assert holes(_texts()[name]) <= _CALL_HOLES


def test_the_network_holes_were_filled_from_the_schema() -> None:
    assert queries.NETWORK.split("|") == list(schema.NETWORK_TYPES)
    assert f"[r:{queries.NETWORK}]" in queries.EXPOSURE_LEVEL
    assert f"[r:{queries.CONTROL}]" in queries.SHARED_CONTROLLERS
    assert set(queries.CONTROL.split("|")) == set(schema.CONTROL_TYPES)


@pytest.mark.parametrize("name", ["ENTITY", "SHARED_CONTROLLERS"])
def test_event_types_written_out_are_the_schema_s(name: str) -> None:
    pairs = re.findall(r"WHEN e:(\w+) THEN '(\w+)'", getattr(queries, name))
    assert {t: label for label, t in pairs} == schema.EVENT_LABEL_BY_TYPE


def test_briefs_read_every_attribute_but_never_the_profile_json() -> None:
    skip = {"name", "names", "mention_ids", "run_id", "uscc", "customs_code", "id_number"}
    attributes = {p for label in schema.ENTITY_LABELS
                  for p in schema.NODE_TYPES[label].properties} - skip
    for text in (queries.BRIEFS, queries.BRIEFS_BY_IDENTIFIER):
        brief = text[text.index("n {.names"):]
        read = set(re.findall(r"\.(\w+)", brief[: brief.index("}")]))
        assert read == attributes | {"names", "risk_score", "risk_level", "risk_reasons",
                                     "learned_score", "learned_level", "learned_reasons"}
        assert "source_records" not in text and "evidence" not in text


def test_search_tags_identifiers_in_the_store_s_order_and_uses_the_fulltext_index() -> None:
    tags = re.findall(r"MATCH \(n:(\w+) \{(\w+): \$v\}\) RETURN n, (\d) AS ident",
                      queries.SEARCH)
    assert {(label, kind, int(tag)) for label, kind, tag in tags} == {
        (label, kind, i) for i, kind in enumerate(IDENTIFIERS) for label in schema.ENTITY_LABELS
    }
    assert f"queryNodes('{schema.FULLTEXT_INDEX}'" in queries.SEARCH
    assert f"FULLTEXT INDEX {schema.FULLTEXT_INDEX} " in write_queries.FULLTEXT_INDEX
    props = re.findall(r"n\.(\w+)", write_queries.FULLTEXT_INDEX)
    assert tuple(props) == schema.FULLTEXT_PROPS


def test_lookups_try_every_label_they_need() -> None:
    roots = set(re.findall(r"MATCH \(n:(\w+) \{id: i\}\)", queries.PATH_ROOTS))
    assert roots == set(schema.NODE_TYPES)
    for text in (queries.IDS_BY_IDENTIFIER, queries.BRIEFS_BY_IDENTIFIER):
        assert set(re.findall(r"MATCH \(n:(\w+) \{@kind", text)) == set(schema.ENTITY_LABELS)


def test_fill_puts_in_names_only() -> None:
    assert fill(queries.LOCATE, label="Enterprise").strip() == (
        "MATCH (n:Enterprise {id: $id})\nRETURN n.id AS id"
    )
    assert "*1..4]" in fill(queries.OWNERSHIP_CYCLES, hops=4)
    for bad in ("Enterprise {id: 1}) DETACH DELETE n //", "a b", "", "x`"):
        with pytest.raises(ValueError):
            fill(queries.LOCATE, label=bad)
    with pytest.raises(ValueError):
        fill(queries.OWNERSHIP_CYCLES, hops=True)
    with pytest.raises(KeyError):
        fill(queries.EXPAND, label="Enterprise")  # @rels missing


def test_search_rows_carry_the_columns_the_store_reads() -> None:
    from graph.neo4j.store import _SEARCH_FIELDS

    row = queries.SEARCH[queries.SEARCH.index("collect(["):]
    columns = [c.strip() for c in row[len("collect(["): row.index("])")].split(",")]
    # what the ranking reads, nothing more (a page's details and a lookup's briefs are read
    # for the kept hits only)
    assert len(columns) == len(_SEARCH_FIELDS) == 5
    assert columns == ["n.id", "n.name", "n.names", "n.name_pinyin", "ident"]


def test_driver_values_become_plain_values_all_the_way_down() -> None:
    from datetime import date

    import neo4j.time

    from graph.neo4j.cypher import native

    when = neo4j.time.Date(2024, 2, 29)
    value = {"a": [1, "x", None, when, {"b": [when, 2.5, True]}], "c": when, "d": "y"}
    assert native(value) == {"a": [1, "x", None, date(2024, 2, 29),
                                   {"b": [date(2024, 2, 29), 2.5, True]}],
                             "c": date(2024, 2, 29), "d": "y"}
    assert native("plain") == "plain" and native(None) is None
