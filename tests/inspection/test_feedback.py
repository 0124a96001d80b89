"""Outcomes fed back: the exported agency source is read by the linkage's extraction like any
other source; a failure becomes an INSPECTION_FAILURE event of its firm, a pass a mention
without event; the run's own sources come along with their paths made absolute."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from inspection.feedback import SOURCE, export_outcomes
from inspection.models import Outcome
from linkage.extract import extract
from runfolder.folder import read_table
from tests.support.graph_fixture import A1, A2, build_tiny_run

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "small" / "sources.yaml"


def _outcome(n: int, entity: str, result: str) -> Outcome:
    return Outcome(id=n, source_request_id=f"req{n}", draw_id=None, entity_id=entity,
                   result=result,  # type: ignore[arg-type]
                   findings="标签不合格" if result == "fail" else "", inspected_on=date(2026, 5, n),
                   score=None, level=None, risk_class=None, part=None, recorded_by="k",
                   recorded_at=datetime(2026, 5, n, tzinfo=UTC), request_id=f"r{n}")


def test_failures_become_events_and_passes_mentions(tmp_path: Path) -> None:
    run = build_tiny_run(tmp_path / "run")
    outcomes = [_outcome(1, A1, "fail"), _outcome(2, A2, "pass"),
                _outcome(3, "E0000000000zz", "fail")]
    counts = export_outcomes(outcomes, run, tmp_path / "out")
    assert counts == {"fail": 1, "pass": 1, "skipped": 1}
    got = extract(tmp_path / "out" / "sources.yaml")
    events = got.events[got.events["source"] == SOURCE]
    assert list(events["type"]) == ["INSPECTION_FAILURE"]
    assert list(events["category"]) == ["标签不合格"]
    names = dict(read_table(run, "entities", ("entity_id", "name")).values.tolist())
    mentions = got.mentions[got.mentions["source"] == SOURCE]
    assert sorted(mentions["name"]) == sorted([names[A1], names[A2]])
    assert got.counts[SOURCE] == {"rows_in": 2, "rows_mapped": 2, "rows_quarantined": 0,
                                  "mentions": 2}


def test_the_runs_sources_come_along(tmp_path: Path) -> None:
    run = build_tiny_run(tmp_path / "run")
    export_outcomes([_outcome(1, A1, "fail")], run, tmp_path / "out", FIXTURE)
    got = extract(tmp_path / "out" / "sources.yaml")
    assert set(got.counts) >= {"registry_enterprises", "customs_declarations", SOURCE}
    assert (got.events["source"] == SOURCE).sum() == 1
    with pytest.raises(ValueError, match="already has a source"):
        export_outcomes([], run, tmp_path / "again", tmp_path / "out" / "sources.yaml")
