"""inspection/ sits beside alerts/: it reads runfolder, linkage, graph, risk and alerts.state,
and imports nothing of api/, pipeline/ or bench/ (every import counts, also inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = ("runfolder", "linkage", "graph", "risk", "alerts.state", "inspection")
PROJECT = ("runfolder", "linkage", "graph", "risk", "alerts", "inspection", "api", "pipeline",
           "bench", "web", "tests")


def _project_imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module] if isinstance(node, ast.ImportFrom) and node.module
                 and node.level == 0 else [])
        out.update(n for n in names if n.split(".")[0] in PROJECT)
    return out


def test_inspection_imports_only_the_layers_below_it() -> None:
    files = sorted((ROOT / "inspection").rglob("*.py"))
    assert files
    wrong = {f"{path.relative_to(ROOT)}: {name}" for path in files
             for name in _project_imports(path)
             if not any(name == a or name.startswith(a + ".") for a in ALLOWED)}
    assert not wrong, sorted(wrong)
