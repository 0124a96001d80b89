"""Cypher text with named holes for schema names, filled only with checked names.

Every query of the Neo4j wing is written whole, as the server runs it, in
`graph.neo4j.queries` (reads) and `graph.neo4j.write_queries` (the loader's writes). Where a
label, relationship type, property key or hop bound varies with the call, the text holds a
hole `@name`; `fill` puts in only plain names (letters, digits, `_`, alternatives joined by
`|`), which callers take from `graph.schema` (`check_label` / `check_rel_types`), or ints.
Values are never put in the text: they are query parameters (`$name`).
"""

from __future__ import annotations

import re
import string

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\|[A-Za-z_][A-Za-z0-9_]*)*")


class _Text(string.Template):
    delimiter = "@"


def fill(text: str, *, partial: bool = False, **names: str | int) -> str:
    """`text` with every `@hole` replaced by its name (a KeyError names a missing hole,
    unless `partial`: holes not named stay for a later fill; a ValueError refuses anything
    but a plain name or an int)."""
    checked: dict[str, str] = {}
    for hole, name in names.items():
        if isinstance(name, bool) or not isinstance(name, int | str):
            raise ValueError(f"hole @{hole}: {name!r} is not a name or an int")
        if isinstance(name, str) and not _NAME.fullmatch(name):
            raise ValueError(f"hole @{hole}: {name!r} is not a plain name")
        checked[hole] = str(int(name)) if isinstance(name, int) else name
    template = _Text(text)
    return template.safe_substitute(checked) if partial else template.substitute(checked)


def holes(text: str) -> set[str]:
    """The names of the holes `text` has."""
    return {m.group("named") or m.group("braced")
            for m in _Text.pattern.finditer(text) if m.group("named") or m.group("braced")}
