"""Link new records against an existing run without a full rerun.

The previous run's entities are kept as they are (its evidence links are re-applied, so
its spanning trees and IDs carry over), new mentions join through exact identifiers,
Splink 5's `predict_between` (new records against existing ones) and `predict_within`
(new records among themselves) with the previous run's trained models, and context.
Existing pairs are never re-scored and the models are not retrained.

Documented differences from a periodic full rerun: (1) the models keep the previous
parameters (a full rerun re-estimates u, m and the prior, so borderline pairs can flip);
(2) two existing entities are joined only when a new record links to both (a full rerun
might join them directly with updated parameters); (3) an existing entity is never split
(a full rerun might split it if the new parameters weaken one of its links); (4) `different`
judgements given now still win: they are applied before the kept links.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from linkage.resolve.models import Kind
from linkage.resolve.scoring import Engine, Scored, saved_model, score_new
from linkage.rowmap import NOTE_COLUMNS
from linkage.run import EXTRACTION_DIR, Reuse, RunResult, link_extraction


@dataclass
class CombinedExtraction:
    mentions: pd.DataFrame
    relations: pd.DataFrame
    events: pd.DataFrame
    quarantine: pd.DataFrame
    counts: dict[str, dict[str, int]]
    malformed: pd.DataFrame


def load_run_extraction(run_dir: Path) -> CombinedExtraction:
    folder = run_dir / EXTRACTION_DIR
    if not folder.exists():
        raise FileNotFoundError(f"{run_dir}: no {EXTRACTION_DIR}/ (written by `guanlian link`)")
    return CombinedExtraction(
        pd.read_parquet(folder / "mentions.parquet"),
        pd.read_parquet(folder / "relations.parquet"),
        pd.read_parquet(folder / "events.parquet"),
        pd.read_parquet(folder / "quarantine.parquet"),
        json.loads((folder / "counts.json").read_text(encoding="utf-8")),
        _malformed(folder),
    )


def _malformed(folder: Path) -> pd.DataFrame:
    """The notes of values left empty (a run folder written before they existed has none)."""
    path = folder / "malformed.parquet"
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame(columns=NOTE_COLUMNS)


def combine(old: Any, new: Any) -> CombinedExtraction:
    """Old records plus the new ones (a mention ID already known keeps its old record)."""
    known = set(old.mentions["mention_id"].astype(str))
    fresh = new.mentions[~new.mentions["mention_id"].astype(str).isin(known)]
    mentions = pd.concat(
        [old.mentions.assign(is_new=False), fresh.assign(is_new=True)], ignore_index=True
    )
    new_rel = new.relations[~new.relations["src_mention"].astype(str).isin(known)]
    relations = pd.concat([old.relations, new_rel], ignore_index=True)
    known_events = set(old.events["event_mention_id"].astype(str)) if len(old.events) else set()
    new_ev = new.events
    if len(new_ev):
        new_ev = new_ev[~new_ev["event_mention_id"].astype(str).isin(known_events)]
    events = pd.concat([old.events, new_ev], ignore_index=True)
    quarantine = pd.concat([old.quarantine, new.quarantine], ignore_index=True)
    counts: dict[str, dict[str, int]] = {k: dict(v) for k, v in old.counts.items()}
    for source, c in new.counts.items():
        held = counts.setdefault(source, dict.fromkeys(c, 0))
        for key, value in c.items():
            held[key] = held.get(key, 0) + int(value)
    malformed = pd.concat([old.malformed, new.malformed], ignore_index=True)
    return CombinedExtraction(mentions, relations, events, quarantine, counts, malformed)


def _kept_links(run_dir: Path) -> list[tuple[str, str, str, float | None, float, str]]:
    evidence = pd.read_parquet(run_dir / "evidence.parquet")
    out: list[tuple[str, str, str, float | None, float, str]] = []
    for left, right, method, raw_weight, prob, features in zip(
        evidence["mention_id_l"], evidence["mention_id_r"], evidence["method"],
        evidence["match_weight"].astype("float64"), evidence["match_probability"],
        evidence["features"], strict=True,
    ):
        weight = None if raw_weight != raw_weight else float(raw_weight)  # NaN -> None
        out.append((str(left), str(right), str(method), weight, float(prob), str(features)))
    return out


def _score(run_dir: Path, engine: Engine, kind: Kind, table: pd.DataFrame) -> Scored:
    return score_new(kind, table, saved_model(run_dir, kind, engine), engine=engine)


def link_new_extraction(
    previous_run: Path | str,
    new: Any,
    out_dir: Path | str,
    *,
    engine: Engine = "duckdb",
    judgements: Path | str | None = None,
    quiet: bool = False,
) -> RunResult:
    """Add the mentions of `new` (an Extraction) to `previous_run`, writing `out_dir`."""
    prev = Path(previous_run)
    combined = combine(load_run_extraction(prev), new)
    reuse = Reuse(_kept_links(prev), partial(_score, prev, engine))
    return link_extraction(combined, out_dir, previous=prev, engine=engine,
                           judgements=judgements, quiet=quiet, reuse=reuse)


def link_incremental(
    previous_run: Path | str,
    new_sources_yaml: Path | str,
    out_dir: Path | str,
    *,
    engine: Engine = "duckdb",
    judgements: Path | str | None = None,
    quiet: bool = False,
) -> RunResult:
    """Extract `new_sources_yaml` and link its records against `previous_run`."""
    from linkage.extract import extract

    started = time.perf_counter()
    new = extract(Path(new_sources_yaml))
    result = link_new_extraction(previous_run, new, out_dir, engine=engine,
                                 judgements=judgements, quiet=quiet)
    result.report.setdefault("timings", {})["incremental_total"] = round(
        time.perf_counter() - started, 3)
    return result
