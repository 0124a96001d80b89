"""Draws, the roster and outcomes in the state database, on SQLite and a real PostgreSQL
(migration 0002 up and down; outcomes of a draw carry the draw and its part)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import sessionmaker

from alerts.state.db import downgrade, make_engine, migrate, open_state
from alerts.state.store import StateError
from inspection.config import load_classes, load_thresholds
from inspection.draw import DrawParams
from inspection.models import OutcomeIn
from inspection.population import Population
from inspection.report import build_report
from inspection.roster import RosterEntry
from inspection.service import make_draw, notice, notice_csv
from inspection.store import InspectionStore
from tests.alerts.test_state import postgres_url, url  # noqa: F401 - fixtures

TABLES = {"inspectors", "draws", "draw_targets", "outcomes"}


class NoGraph:
    """A roster-free draw reads nothing of the graph: any read is a test failure."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the draw read the graph ({name})")


def _population() -> Population:
    rows = [{"entity_id": f"E{n:012x}", "kind": "Enterprise", "name": f"公司{n}",
             "uscc": f"91310000MA10{n:05d}X", "customs_code": None, "province": "上海市",
             "city": None, "status": "存续", "sources": ["registry_enterprises"],
             "score": 70.0 if n < 10 else 0.0, "level": "high" if n < 10 else "low",
             "risk_class": "D" if n < 10 else "A"} for n in range(200)]
    return Population("run_s", pd.DataFrame(rows))


def test_migration_0002_adds_and_removes_the_inspection_tables(url: str) -> None:  # noqa: F811
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert TABLES <= set(inspect(conn).get_table_names())
    downgrade(url, "0001")
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        assert not TABLES & names and "alerts" in names
    engine.dispose()


def test_draw_roster_and_outcomes_round_trip(url: str) -> None:  # noqa: F811
    state = InspectionStore(open_state(url))
    assert state.import_roster([RosterEntry(code="JC1", name="甲", id_number="1"),
                                RosterEntry(code="JC2", name="乙", id_number="2")], "k1") == {
        "added": 2, "updated": 0, "deactivated": 0}
    assert state.import_roster([RosterEntry(code="JC2", name="乙", id_number="2")], "k1") == {
        "added": 0, "updated": 1, "deactivated": 1}
    assert [r.code for r in state.roster()] == ["JC2"]

    classes = load_classes()
    draw = make_draw(_population(), NoGraph(), [],  # type: ignore[arg-type]
                     DrawParams(seed=9, targets=20, inspectors_per_target=0), classes)
    saved = state.save_draw(draw, "req-draw-1", "k1")
    again = state.get_draw(saved.id or 0)
    assert again.model_dump(exclude={"created_at"}) == saved.model_dump(exclude={"created_at"})
    assert again.params.seed == 9 and len(again.targets) == 20
    csv = notice_csv(notice(again))
    assert csv.splitlines()[0] == "entity_name,uscc,risk_class,inspectors"
    assert "70.0" not in csv  # the notice carries no score

    weighted = next(t for t in again.targets if t.part == "weighted")
    uniform = next(t for t in again.targets if t.part == "uniform")
    fail = state.record_outcome(OutcomeIn(request_id="req-draw-1", entity_id=weighted.entity_id,
                                          result="fail", findings="标签不合格",
                                          inspected_on=date(2026, 3, 1)), {}, "k2", "req-o1")
    assert fail.draw_id == saved.id and fail.part == "weighted"
    assert fail.risk_class == weighted.risk_class and fail.recorded_by == "k2"
    state.record_outcome(OutcomeIn(request_id="x", draw_id=saved.id, entity_id=uniform.entity_id,
                                   result="pass", inspected_on=date(2026, 4, 1)), {}, "k2", "r2")
    state.record_outcome(OutcomeIn(request_id="lookup-9", entity_id="E0000000000ff",
                                   result="fail", inspected_on=date(2026, 4, 2)),
                         {"score": 65.0, "level": "high", "risk_class": "D"}, "k2", "r3")
    outside = next(e for e in _population().frame["entity_id"]
                   if e not in {t.entity_id for t in again.targets})
    with pytest.raises(StateError, match="not a target"):
        state.record_outcome(OutcomeIn(request_id="req-draw-1", entity_id=outside, result="pass",
                                       inspected_on=date(2026, 4, 3)), {}, "k2", "r4")
    report = build_report(state.outcomes(), load_thresholds())
    parts = {h.group: (h.n, h.failures) for h in report.by_part}
    assert parts == {"weighted": (1, 1), "uniform": (1, 0), "lookup": (1, 1)}
    assert report.weighted_vs_uniform is None  # the uniform part has no failure yet
    recs = {h.group: h.n for h in report.by_recommendation}
    assert recs["inspect"] >= 1 and sum(recs.values()) == 3
    assert [h.group for h in report.by_month] == ["2026-03", "2026-04"]
    sessions: sessionmaker = state.sessions  # type: ignore[type-arg]
    sessions.kw["bind"].dispose()


