"""What every standardiser does first: a value as a reader sees it.

`readable(text)` is NFKC (full width to half width, compatibility forms) without the
invisible format characters that copy-paste and spreadsheet exports leave inside values:
zero-width space, non-joiner and joiner, the byte-order mark, the soft hyphen, the word
joiner, direction marks and embeddings (Unicode category Cf). Unremoved, one of them made a
resident ID look like a placeholder (dropped as missing), a USCC malformed, a date unreadable
and a person's name another name. Every standardiser (identifiers, names, addresses, phones,
dates and numbers) reads its value through it, so the same value compares equal however
it was pasted; the raw value stays as written in the mentions and in quarantine.
"""

from __future__ import annotations

import re
import unicodedata

# the category Cf characters found in text (Arabic number signs and the tag block left out)
INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\ufff9-\ufffb]")


def readable(text: str) -> str:
    """NFKC, the invisible format characters removed."""
    return INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
