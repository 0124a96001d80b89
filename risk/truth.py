"""Checks that a truth folder fits `evaluate-risk` before anything is scored against it.

`evaluate-risk` needs the generator's `risk.json` (planted structures, held-out violators) and
`mentions.csv` (which record is which true entity) for the data set the run linked. A truth of
another shape, or of another data set, used to give NaN figures; here it is a clear error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

RISK_LISTS = ("active_at_cutoff", "future_violators", "controllers", "phoenix_pairs", "hubs",
              "cycles", "rings")
MENTION_COLUMNS = ("source", "record_id", "role", "entity")


def check_risk_truth(truth: Path, run: Path | None = None) -> Path:
    """The truth folder to use (`truth` itself, or the folder of a risk.json passed as a file);
    raises ValueError naming the file and what is wrong. With `run`, the truth must also name
    some of the run's mentions and both violators and non-violators among the active firms."""
    truth = Path(truth)
    if truth.is_file():
        if truth.name != "risk.json":
            raise ValueError(f"{truth}: evaluate-risk takes the generator's truth folder "
                             "(risk.json and mentions.csv), not a single file")
        truth = truth.parent
    risk_path, mentions_path = truth / "risk.json", truth / "mentions.csv"
    for path in (risk_path, mentions_path):
        if not path.is_file():
            raise ValueError(f"{truth} lacks {path.name}; pass DIR/truth of `guanlian generate`")
    try:
        risk = json.loads(risk_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{risk_path}: not valid JSON ({exc})") from None
    if not isinstance(risk, dict):
        raise ValueError(f"{risk_path}: expected a JSON object with {', '.join(RISK_LISTS)}")
    wrong = [k for k in RISK_LISTS if not isinstance(risk.get(k), list)]
    if wrong:
        raise ValueError(f"{risk_path}: missing or not a list: {', '.join(wrong)}")
    try:
        head = pd.read_csv(mentions_path, dtype=str, nrows=0)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{mentions_path}: not a readable CSV ({exc})") from None
    missing = [c for c in MENTION_COLUMNS if c not in head.columns]
    if missing:
        raise ValueError(f"{mentions_path}: needs the columns {', '.join(MENTION_COLUMNS)}; "
                         f"missing {', '.join(missing)}")
    if run is not None:
        _fits_run(truth, risk, run)
    return truth


def _fits_run(truth: Path, risk: dict[str, list[object]], run: Path) -> None:
    active = {str(e) for e in risk["active_at_cutoff"]}
    future = {str(e) for e in risk["future_violators"]} & active
    if not future or future == active:
        raise ValueError(f"{truth / 'risk.json'}: the active firms need both future violators and "
                         "others to measure a score (AUC)")
    run_mentions = run / "mentions.parquet"
    if not run_mentions.is_file():
        return  # the run folder's own check names what is missing
    known = set(pd.read_parquet(run_mentions, columns=["mention_id"])["mention_id"])
    frame = pd.read_csv(truth / "mentions.csv", dtype=str, keep_default_na=False)
    ids = frame["source"] + ":" + frame["record_id"] + ":" + frame["role"]
    if not ids.isin(known).any():
        raise ValueError(f"{truth / 'mentions.csv'}: none of its mentions is in {run}; is this "
                         "the truth of the data set the run linked?")
    named = set(frame.loc[ids.isin(known), "entity"])
    if not active & named:
        raise ValueError(f"{truth / 'risk.json'}: none of active_at_cutoff is named by a mention "
                         f"of {run}")
