"""Human judgements: `same` / `different` for a pair of mention IDs, with who and when.

A judgements file (CSV with a header, a JSON list of objects, or JSON lines) has the fields
`mention_id_l, mention_id_r, judgement, who, when`. They are applied on every run and always
win over the model: `same` joins the two mentions' entities, `different` keeps them apart
(the automatic links that would join them are refused). For the same pair, the latest
judgement (by `when`) counts.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

Verdict = Literal["same", "different"]
FIELDS = ("mention_id_l", "mention_id_r", "judgement", "who", "when")


class JudgementError(ValueError):
    """The judgements file is malformed (message names the file and the entry)."""


@dataclass(frozen=True)
class Judgement:
    mention_id_l: str
    mention_id_r: str
    judgement: Verdict
    who: str
    when: datetime

    @property
    def pair(self) -> tuple[str, str]:
        a, b = sorted((self.mention_id_l, self.mention_id_r))
        return a, b


def _parse(raw: dict[str, object], where: str) -> Judgement:
    missing = [f for f in FIELDS if not str(raw.get(f) or "").strip()]
    if missing:
        raise JudgementError(f"{where}: missing {', '.join(missing)}")
    verdict = str(raw["judgement"]).strip().lower()
    if verdict not in ("same", "different"):
        raise JudgementError(f"{where}: judgement must be 'same' or 'different', not {verdict!r}")
    try:
        when = datetime.fromisoformat(str(raw["when"]).strip())
    except ValueError as exc:
        raise JudgementError(f"{where}: 'when' is not an ISO date-time: {raw['when']!r}") from exc
    left, right = str(raw["mention_id_l"]).strip(), str(raw["mention_id_r"]).strip()
    if left == right:
        raise JudgementError(f"{where}: a mention cannot be judged against itself")
    return Judgement(left, right, verdict, str(raw["who"]).strip(), when)  # type: ignore[arg-type]


def read_judgements(path: Path) -> list[Judgement]:
    """Read a judgements file; the latest judgement per pair is kept."""
    text = path.read_text(encoding="utf-8")
    rows: list[dict[str, object]]
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    elif path.suffix.lower() in (".json", ".jsonl", ".ndjson"):
        stripped = text.strip()
        if stripped.startswith("["):
            rows = json.loads(stripped)
        else:
            rows = [json.loads(line) for line in stripped.splitlines() if line.strip()]
    else:
        raise JudgementError(f"{path}: judgements must be .csv, .json or .jsonl")
    parsed = [_parse(row, f"{path} entry {i + 1}") for i, row in enumerate(rows)]
    return latest(parsed)


def latest(judgements: list[Judgement]) -> list[Judgement]:
    """Keep, for each unordered pair, only the most recent judgement."""
    by_pair: dict[tuple[str, str], Judgement] = {}
    for j in judgements:
        held = by_pair.get(j.pair)
        if held is None or j.when >= held.when:
            by_pair[j.pair] = j
    return sorted(by_pair.values(), key=lambda j: (j.when, j.pair))
