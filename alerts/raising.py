"""Raise the alerts of a published run: compare it with the run it replaced, follow the
watched entities, record only conditions not alerted before (the state database's keys)."""

from __future__ import annotations

import logging
from pathlib import Path

from alerts.detect import compare
from alerts.models import Alert
from alerts.snapshot import read_snapshot
from alerts.state.store import AlertStore
from alerts.state.watch import WatchlistStore

log = logging.getLogger(__name__)


def raise_alerts(alerts: AlertStore, watchlists: WatchlistStore, run_dir: Path,
                 previous: Path | None) -> list[Alert]:
    """The new alerts of `run_dir` against `previous` (none without a scored previous run),
    recorded in the state database."""
    if previous is None or not (Path(previous) / "risk.parquet").is_file():
        return []
    found = compare(read_snapshot(run_dir), read_snapshot(previous),
                    watched=watchlists.watched_entities(), seen=alerts.seen_keys())
    fresh = alerts.record(found)
    log.info("run %s: %d new alert(s)", run_dir.name, len(fresh))
    return fresh
