"""Mapping features for sources that are not Chinese registries: generic identifiers of a
declared scheme, and one role yielding a person or an enterprise decided per row."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from linkage.errors import MappingError
from linkage.extract import extract
from linkage.mapping import load_mapping


def _write(tmp_path: Path, source: dict[str, Any], header: list[str],
           rows: list[list[str]]) -> Path:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    (data / "s.csv").write_text(out.getvalue(), encoding="utf-8")
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "sources": {"s": source}},
                                   allow_unicode=True), encoding="utf-8")
    return path


PEOPLE: dict[str, Any] = {
    "path": "data/s.csv", "format": "csv", "key": "rec_id",
    "mentions": {"person": {
        "kind": "person",
        "properties": {"name": {"template": "{given_name} {surname}"}},
        "identifiers": {
            "soc_sec_id": {"column": "soc_sec_id", "match": "fuzzy"},
            "passport": "passport_no",  # a bare string is a column; match defaults to exact
        },
    }},
}


def test_generic_identifiers_are_normalised_with_their_scheme(tmp_path: Path) -> None:
    path = _write(tmp_path, PEOPLE, ["rec_id", "given_name", "surname", "soc_sec_id",
                                     "passport_no"], [
        ["r1", "amelia", "smith", " 123-456 7 ", ""],
        ["r2", "amelia", "smyth", "", "ab 12345"],
        ["r3", "jack", "jones", "", ""],
    ])
    loaded = load_mapping(path)
    assert loaded.sources["s"].mentions["person"].identifiers["passport"].match == "exact"
    m = extract(path).mentions.set_index("record_id")
    assert m.at["r1", "other_id"] == "soc_sec_id:1234567"
    assert bool(m.at["r1", "other_id_fuzzy"]) is True
    assert m.at["r2", "other_id"] == "passport:AB12345"
    assert bool(m.at["r2", "other_id_fuzzy"]) is False
    assert m["other_id"].isna()["r3"] and bool(m.at["r3", "other_id_fuzzy"]) is False
    assert m.at["r1", "id_number"] is None or m["id_number"].isna()["r1"]  # never a Chinese ID


def test_bad_identifier_specs_are_mapping_errors(tmp_path: Path) -> None:
    bad = yaml.safe_load(yaml.safe_dump(PEOPLE))
    bad["mentions"]["person"]["identifiers"]["soc_sec_id"]["match"] = "approximate"
    path = _write(tmp_path, bad, ["rec_id"], [])
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert "identifiers.soc_sec_id" in info.value.key
    bad["mentions"]["person"]["identifiers"] = {"1st": "soc_sec_id"}
    with pytest.raises(MappingError, match="schemes"):
        load_mapping(_write(tmp_path, bad, ["rec_id"], []))


SHAREHOLDERS: dict[str, Any] = {
    "path": "data/s.csv", "format": "csv", "key": "记录编号",
    "mentions": {
        "firm": {"kind": "enterprise", "properties": {"name": "企业名称"}},
        "holder": {
            "kind": {"column": "股东类型", "map": {"自然人": "person", "企业法人": "enterprise"}},
            "required": ["name"],
            "properties": {"name": "股东名称", "id_number": "证件号码", "uscc": "证件号码"},
        },
    },
    "relations": [{"type": "SHAREHOLDER_OF", "src": "holder", "dst": "firm"}],
}


def test_one_role_yields_either_kind_per_row(tmp_path: Path) -> None:
    header = ["记录编号", "企业名称", "股东类型", "股东名称", "证件号码"]
    path = _write(tmp_path, SHAREHOLDERS, header, [
        ["1", "华信贸易有限公司", "自然人", "张伟", "110101198003070012"],
        ["2", "华信贸易有限公司", "企业法人", "永安食品有限公司", "91310115MA1K3YJ12X"],
        ["3", "华信贸易有限公司", "外国人", "JOHN SMITH", "E12345678"],
    ])
    got = extract(path)
    holders = got.mentions[got.mentions["role"] == "holder"].set_index("record_id")
    assert holders.at["1", "kind"] == "person"
    assert holders.at["1", "id_number"] == "110101198003070012"
    assert holders["uscc"].isna()["1"]  # a person row keeps its person properties only
    assert holders.at["2", "kind"] == "enterprise"
    assert holders.at["2", "uscc"] == "91310115MA1K3YJ12X"
    assert holders["id_number"].isna()["2"]
    assert "3" not in holders.index  # a value outside the map yields no mention of the role
    assert len(got.relations) == 2
    assert got.counts["s"]["rows_mapped"] == 3  # row 3 still maps its firm


def test_per_row_kind_must_fit_every_relation(tmp_path: Path) -> None:
    bad = yaml.safe_load(yaml.safe_dump(SHAREHOLDERS, allow_unicode=True))
    bad["relations"] = [{"type": "LEGAL_REP_OF", "src": "holder", "dst": "firm"}]
    with pytest.raises(MappingError, match="can be a enterprise"):
        load_mapping(_write(tmp_path, bad, ["记录编号"], []))
