"""sources.yaml validation: every mistake is a MappingError naming the file and the key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import linkage.extract as extract_module
from linkage.errors import MappingError, MissingColumn, SourceReadError
from linkage.extract import extract
from linkage.mapping import load_mapping


def _source(**over: Any) -> dict[str, Any]:
    src: dict[str, Any] = {
        "path": "data/reg.csv",
        "format": "csv",
        "key": "id",
        "mentions": {
            "enterprise": {"kind": "enterprise", "required": ["name"],
                           "properties": {"name": {"column": "name"}}},
            "rep": {"kind": "person", "properties": {"name": {"column": "rep"}}},
        },
    }
    src.update(over)
    return src


def _write(tmp_path: Path, sources: dict[str, Any]) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "sources": sources}, allow_unicode=True),
                    encoding="utf-8")
    return path


def _error(tmp_path: Path, sources: dict[str, Any]) -> MappingError:
    path = _write(tmp_path, sources)
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert str(path) in str(info.value)
    return info.value


def test_valid_mapping_loads(tmp_path: Path) -> None:
    loaded = load_mapping(_write(tmp_path, {"reg": _source()}))
    assert loaded.data_path("reg") == tmp_path / "data" / "reg.csv"
    assert loaded.sources["reg"].encoding == "utf-8"
    assert loaded.sources["reg"].columns_used() == {
        "id": "key", "name": "mentions.enterprise.properties.name",
        "rep": "mentions.rep.properties.name",
    }


def test_unknown_property_names_the_mention(tmp_path: Path) -> None:
    src = _source()
    src["mentions"]["rep"]["properties"]["uscc"] = {"column": "x"}  # persons have no USCC
    err = _error(tmp_path, {"reg": src})
    assert err.key == "sources.reg.mentions.rep"
    assert "uscc" in str(err)


def test_value_needs_exactly_one_source(tmp_path: Path) -> None:
    src = _source()
    src["mentions"]["enterprise"]["properties"]["name"] = {"column": "a", "literal": "b"}
    err = _error(tmp_path, {"reg": src})
    assert err.key == "sources.reg.mentions.enterprise.properties.name"
    assert "exactly one" in str(err)


def test_required_must_be_mapped(tmp_path: Path) -> None:
    src = _source()
    src["mentions"]["enterprise"]["required"] = ["uscc"]
    assert "required" in str(_error(tmp_path, {"reg": src}))


def test_relation_kinds_are_checked(tmp_path: Path) -> None:
    err = _error(tmp_path, {"reg": _source(relations=[
        {"type": "LEGAL_REP_OF", "src": "enterprise", "dst": "rep"}])})
    assert "LEGAL_REP_OF needs src of kind ['person']" in str(err)


def test_relation_to_unknown_mention(tmp_path: Path) -> None:
    err = _error(tmp_path, {"reg": _source(relations=[
        {"type": "DIRECTOR_OF", "src": "boss", "dst": "enterprise"}])})
    assert "relations[0].src: no mention 'boss'" in str(err)


def test_share_pct_only_for_shareholders(tmp_path: Path) -> None:
    err = _error(tmp_path, {"reg": _source(relations=[
        {"type": "LEGAL_REP_OF", "src": "rep", "dst": "enterprise", "share_pct": "pct"}])})
    assert "share_pct" in str(err)


def test_event_subject_and_type(tmp_path: Path) -> None:
    err = _error(tmp_path, {"reg": _source(events=[
        {"type": "PENALTY", "subject": "nobody", "date": {"column": "d"}}])})
    assert "events[0].subject" in str(err)
    err = _error(tmp_path, {"reg": _source(events=[
        {"type": "FINE", "subject": "enterprise", "date": {"column": "d"}}])})
    assert err.key == "sources.reg.events[0].type"


def test_bad_refs(tmp_path: Path) -> None:
    src = _source()
    src["mentions"]["rep"]["properties"]["address"] = {"ref": "enterprise.address"}
    assert "names no mapped property" in str(_error(tmp_path, {"reg": src}))
    src = _source()
    src["mentions"]["rep"]["properties"]["phone"] = {"ref": "enterprise.phone"}
    src["mentions"]["enterprise"]["properties"]["phone"] = {"ref": "rep.phone"}
    assert "cycle" in str(_error(tmp_path, {"reg": src}))


def test_filter_needs_one_operator_and_unknown_keys_fail(tmp_path: Path) -> None:
    err = _error(tmp_path, {"reg": _source(filters=[{"column": "s", "equals": "a",
                                                      "not_in": ["b"]}])})
    assert err.key == "sources.reg.filters[0]"
    err = _error(tmp_path, {"reg": _source(colour="blue")})
    assert err.key == "sources.reg.colour"


def test_reserved_and_malformed_names(tmp_path: Path) -> None:
    src = _source()
    src["mentions"]["event2"] = src["mentions"].pop("rep")
    assert "reserved" in str(_error(tmp_path, {"reg": src}))
    assert "must match" in str(_error(tmp_path, {"bad:name": _source()}))


def test_bad_template(tmp_path: Path) -> None:
    src = _source()
    src["mentions"]["enterprise"]["properties"]["name"] = {"template": "{a:>10}"}
    assert "format spec" in str(_error(tmp_path, {"reg": src}))


def test_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources: [unclosed", encoding="utf-8")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping(path)


def test_missing_column_fails_before_any_data_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "reg.csv").write_text("id,name,rep\n1,a,b\n", encoding="utf-8")
    (tmp_path / "data" / "pen.csv").write_text("no,who\n1,a\n", encoding="utf-8")
    pen = _source(path="data/pen.csv", key="no", mentions={
        "party": {"kind": "enterprise", "properties": {"name": {"column": "who"}}}},
        events=[{"type": "PENALTY", "subject": "party", "date": {"column": "处罚日期"}}])
    path = _write(tmp_path, {"reg": _source(), "pen": pen})

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("data was read before the mapping was checked")

    monkeypatch.setattr(extract_module, "read_table", no_reading)
    with pytest.raises(MissingColumn) as info:
        extract(path)
    message = str(info.value)
    assert str(path) in message and "sources.pen.events[0].date" in message
    assert "'处罚日期'" in message and "pen.csv" in message


def test_missing_file_names_the_source(tmp_path: Path) -> None:
    path = _write(tmp_path, {"reg": _source()})
    with pytest.raises(SourceReadError, match="sources.reg.path"):
        extract(path)


def test_missing_json_key_is_a_missing_column(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jsonl").write_text('{"id": "1", "name": "x"}\n', encoding="utf-8")
    path = _write(tmp_path, {"j": _source(path="data/a.jsonl", format="jsonl")})
    with pytest.raises(MissingColumn, match=r"sources\.j\.mentions\.rep\.properties\.name"):
        extract(path)
