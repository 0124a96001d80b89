"""Reading `sources.yaml`: a YAML SafeLoader that refuses a key written twice in one mapping.

Plain YAML loaders keep the last of two equal keys silently, so a second `enterprise:` under a
source's mentions would replace the first without a word; here it is an error naming the key,
where it sits and both lines.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class DuplicateKeyError(yaml.YAMLError):
    """A mapping holds the same key twice."""

    def __init__(self, path: str, key: str, line: int, first_line: int) -> None:
        self.path, self.key, self.line, self.first_line = path, key, line, first_line
        where = f" under {path}" if path else ""
        super().__init__(f"duplicate key {key!r}{where} at line {line} "
                         f"(first written at line {first_line})")


def _check(node: Node, path: str) -> None:
    if isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _check(item, f"{path}[{i}]")
    if not isinstance(node, MappingNode):
        return
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, ScalarNode) else "<complex key>"
        line = key_node.start_mark.line + 1
        if key == "<<":  # a merge key may repeat the keys it merges in
            continue
        if key in seen:
            raise DuplicateKeyError(path, key, line, seen[key])
        seen[key] = line
        _check(value_node, f"{path}.{key}" if path else key)


class StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that checks the whole document for duplicate keys before building it."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check(node, "")
        return self.construct_document(node)


def load_strict(text: str) -> Any:
    """`yaml.safe_load` that raises DuplicateKeyError on a repeated key."""
    return yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
