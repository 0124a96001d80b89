"""Text checks shared by request models, the key store and the CLI.

`printable_problem` names what is wrong with a text that must be printable: control characters
(C0, DEL, C1, the line / paragraph separators and the bidirectional controls, which can forge
lines or reorder a terminal's display) and lone surrogates (not encodable as UTF-8).
`Printable` is the pydantic type of such a field (give it `json_schema_extra=PRINTABLE_SCHEMA`
too); `PRINTABLE_SCHEMA` documents the rule in the OpenAPI schema (a pattern, so fuzzers
generate valid text); `shown` renders any stored text on one terminal line.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator
from pydantic.json_schema import JsonDict

# categories refused: Cc control (C0, DEL, C1), Cs surrogate, Zl / Zp line and paragraph
# separators; of Cf (format) only the bidirectional controls
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# the same rule as a JSON Schema pattern (surrogates are refused too, but no JSON text a
# client generates can hold one unescaped)
PRINTABLE_PATTERN = (
    "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u061c\\u200e\\u200f"
    "\\u202a-\\u202e\\u2066-\\u2069]*$"
)
PRINTABLE_SCHEMA: JsonDict = {"pattern": PRINTABLE_PATTERN}


def printable_problem(text: str) -> str | None:
    """None when `text` is printable, else what is wrong (with the offending position)."""
    for i, ch in enumerate(text):
        if ch.isprintable() and ch not in _BIDI_CONTROLS:
            continue
        category = unicodedata.category(ch)
        if category in _REFUSED_CATEGORIES or ch in _BIDI_CONTROLS:
            kind = "lone surrogate" if category == "Cs" else "control character"
            return f"{kind} U+{ord(ch):04X} at position {i} is not allowed"
    return None


def check_printable(text: str) -> str:
    problem = printable_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


Printable = Annotated[str, AfterValidator(check_printable)]


def shown(text: str) -> str:
    """`text` with every non-printable character escaped (\\n, \\x1b, \\u202e): one line that
    cannot forge other lines or colour a terminal."""
    if printable_problem(text) is None:
        return text
    out = []
    for ch in text:
        if printable_problem(ch) is None:
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)
