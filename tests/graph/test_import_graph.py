"""The layering of the tree, read from the source: no import loop among graph modules, the
Neo4j readers never import a writer (not even through other modules), and linkage/ imports
nothing of graph/ or api/. Every import counts, also those inside functions or under
TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

READERS = {
    "graph.store", "graph.catalogue", "graph.policy", "graph.models", "graph.schema",
    "graph.hits", "graph.labels",
    "graph.neo4j.conn", "graph.neo4j.cypher", "graph.neo4j.store", "graph.neo4j.walks",
    "graph.neo4j.catalogue", "graph.neo4j.queries", "graph.neo4j.template", "graph.neo4j.meta",
    "graph.neo4j.breaker", "graph.neo4j.names", "graph.neo4j.aio",
    "graph.embedded.store", "graph.embedded.network", "graph.embedded.catalogue",
    "graph.embedded.packed", "graph.embedded.bigrams", "graph.embedded.paths",
    "graph.embedded.worklist", "graph.neo4j.worklist", "graph.worklist",
}
WRITERS = {
    "graph.neo4j.rows", "graph.neo4j.hash", "graph.neo4j.diff", "graph.neo4j.diff_types",
    "graph.neo4j.state", "graph.neo4j.apply", "graph.neo4j.indexes", "graph.neo4j.loader",
    "graph.neo4j.write_queries", "graph.neo4j.cli", "graph.neo4j.bulk", "graph.neo4j.bulk_files",
    "graph.neo4j.spark_rows",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every module `path` imports (for `from package import name`: the submodule when
    `name` is one, else the package)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in known else node.module)
    return out


def _graph_edges() -> dict[str, set[str]]:
    modules = _modules("graph")
    known = set(modules)
    return {name: {m for m in _imports(path, known) if m in known and m != name}
            for name, path in modules.items()}


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None (depth-first search with colours)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_reader_and_writer_sets_cover_the_neo4j_and_embedded_wings() -> None:
    wings = {m for m in _modules("graph") if m.startswith(("graph.neo4j.", "graph.embedded."))}
    assert wings <= READERS | WRITERS, sorted(wings - READERS - WRITERS)
    assert not READERS & WRITERS


def test_no_import_cycle_among_graph_modules() -> None:
    assert _cycle(_graph_edges()) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_reader_imports_a_writer_even_indirectly() -> None:
    edges = _graph_edges()
    for reader in sorted(READERS):
        assert reader in edges, f"{reader} is not a module of graph/"
        reached = _reachable(edges, reader) & WRITERS
        assert not reached, f"{reader} imports the writer module(s) {sorted(reached)}"


def test_linkage_imports_nothing_of_graph_or_api() -> None:
    modules = _modules("linkage")
    assert modules
    for name, path in modules.items():
        bad = {m for m in _imports(path, set(modules)) if m.split(".")[0] in ("graph", "api")}
        assert not bad, f"{name} imports {sorted(bad)}"
