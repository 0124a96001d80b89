"""The layers of the tree, read from the source (every import counts, also those inside
functions or under TYPE_CHECKING): runfolder -> linkage -> graph -> risk -> pipeline -> api,
each importing only the layers before it; api/ reaches neither the Neo4j driver, nor the
loader, nor `linkage.run` (its rerun jobs go through `pipeline.run`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("runfolder", "linkage", "graph", "risk", "pipeline", "api")


def _imports(package: str) -> dict[str, set[str]]:
    """Per module file of `package`: the top-level modules and dotted names it imports."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        out[str(path.relative_to(ROOT))] = names
    return out


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_no_layer_above_it(layer: str) -> None:
    above = LAYERS[LAYERS.index(layer) + 1:]
    wrong = {
        module: sorted(n for n in names if n.split(".")[0] in above)
        for module, names in _imports(layer).items()
    }
    assert {m: n for m, n in wrong.items() if n} == {}


def test_api_reaches_no_driver_loader_or_linkage_run() -> None:
    banned = ("neo4j", "graph.neo4j.loader", "graph.neo4j.rows", "linkage.run")
    wrong = {
        module: sorted(n for n in names if any(n == b or n.startswith(b + ".") for b in banned))
        for module, names in _imports("api").items()
    }
    assert {m: n for m, n in wrong.items() if n} == {}
