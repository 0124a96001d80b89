"""The text type of every string a caller gives the inspection models (roster rows, filter
values, findings): printable only - no control, surrogate, line / paragraph separator or
bidirectional control character (the API's rule, documented as a pattern for fuzzers)."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REFUSED = frozenset({"Cc", "Cs", "Zl", "Zp"})
PATTERN = ("^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u061c\\u200e\\u200f"
           "\\u202a-\\u202e\\u2066-\\u2069]*$")


def printable(text: str) -> str:
    for i, ch in enumerate(text):
        if ch in _BIDI or unicodedata.category(ch) in _REFUSED:
            raise ValueError(f"character U+{ord(ch):04X} at position {i} is not allowed")
    return text


_SCHEMA = {"pattern": PATTERN}
Word = Annotated[str, AfterValidator(printable),
                 Field(min_length=1, max_length=100, json_schema_extra=_SCHEMA)]
Label = Annotated[str, AfterValidator(printable),
                  Field(min_length=1, max_length=200, json_schema_extra=_SCHEMA)]
Findings = Annotated[str, AfterValidator(printable),
                     Field(max_length=10_000, json_schema_extra=_SCHEMA)]
