"""A key written twice in sources.yaml is an error naming the key, where it sits and its lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkage.errors import MappingError
from linkage.mapping import load_mapping
from linkage.mapping_yaml import DuplicateKeyError, load_strict

MAPPING = """\
version: 1
sources:
  reg:
    path: data/reg.csv
    format: csv
    key: id
    mentions:
      enterprise:
        kind: enterprise
        properties: {name: {column: name}}
      enterprise:
        kind: person
        properties: {name: {column: rep}}
"""


def test_a_repeated_mention_role_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    text = str(info.value)
    assert str(path) in text
    assert "duplicate key 'enterprise'" in text
    assert "sources.reg.mentions" in text
    assert "line 11" in text and "line 8" in text


def test_repeated_keys_in_flow_mappings_and_lists_are_found() -> None:
    with pytest.raises(DuplicateKeyError, match=r"'column' under a\[1\]\.b at line 3"):
        load_strict("a:\n  - {x: 1}\n  - b: {column: n, column: m}\n")


def test_the_same_key_in_different_mappings_is_fine() -> None:
    assert load_strict("a: {k: 1}\nb: {k: 2}\n") == {"a": {"k": 1}, "b": {"k": 2}}
    assert load_strict("") is None
