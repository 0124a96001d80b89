"""The state database through the Alembic migrations, on SQLite and on a real PostgreSQL
(started by scripts/postgres; skipped, with the reason, only where no server is installed)."""

from __future__ import annotations

import glob
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from alerts.models import Alert, Change, alert_key
from alerts.state.db import downgrade, make_engine, migrate, open_state, state_url
from alerts.state.jobs import INTERRUPTED, JobStore
from alerts.state.store import AlertStore, CaseStore, Missing, StateError
from alerts.state.tables import Base

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        pytest.skip("no PostgreSQL server installed (apt-get install -y postgresql)")
    script = str(ROOT / "scripts" / "postgres")
    running = subprocess.run([script, "status"], capture_output=True).returncode == 0
    subprocess.run([script, "start"], check=True, capture_output=True, text=True)
    try:
        env = subprocess.run([script, "env"], check=True, capture_output=True, text=True).stdout
        yield env.split("=", 1)[1].strip().strip("'")
    finally:  # a server these tests started is not left running (its port is fixed)
        if not running:
            subprocess.run([script, "stop"], capture_output=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    pg: str = request.getfixturevalue("postgres_url")
    downgrade(pg)  # every test starts from an empty database
    return pg


def _alert(entity: str, kind: str = "level_rise", condition: str = "high") -> Alert:
    return Alert(alert_key=alert_key(kind, entity, condition), kind=kind,  # type: ignore[arg-type]
                 entity_id=entity, condition=condition, run_id="r2", previous_run_id="r1",
                 score_before=10.0, score_after=70.0, level_before="low", level_after="high",
                 summary=f"{entity} rose", change=Change(path_nodes=[entity]))


def test_migrations_make_exactly_the_declared_schema(url: str) -> None:
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert set(inspect(conn).get_table_names()) >= {
            "alerts", "watchlists", "watch_items", "cases", "case_alerts", "case_events",
            "webhooks", "deliveries", "jobs"}
    downgrade(url)
    with engine.connect() as conn:
        assert "alerts" not in inspect(conn).get_table_names()
    migrate(url)  # and up again
    engine.dispose()


def test_alerts_are_recorded_once_per_condition(url: str) -> None:
    alerts = AlertStore(open_state(url))
    first = alerts.record([_alert("E1"), _alert("E2"), _alert("E1")])
    assert [a.entity_id for a in first] == ["E1", "E2"]
    assert alerts.record([_alert("E1"), _alert("E2")]) == []  # the same state again
    assert [a.entity_id for a in alerts.record([_alert("E1", condition="medium")])] == ["E1"]
    items, total = alerts.list()
    assert total == 3 and [i["condition"] for i in items] == ["medium", "high", "high"]
    acked = alerts.acknowledge(items[0]["id"], "k1")
    assert acked["acknowledged_by"] == "k1" and acked["alert"]["score_after"] == 70.0
    assert alerts.list(acknowledged=False)[1] == 2
    with pytest.raises(Missing):
        alerts.get(999)


def test_case_lifecycle_and_history(url: str) -> None:
    sessions: sessionmaker[Session] = open_state(url)
    alerts, cases = AlertStore(sessions), CaseStore(sessions)
    alerts.record([_alert("E1"), _alert("E2")])
    items, _ = alerts.list()
    a2, a1 = items[0]["id"], items[1]["id"]
    case = cases.open(a1, "lead")
    assert (case["status"], case["alert_ids"]) == ("new", [a1])
    assert cases.join(case["id"], a2, "lead")["alert_ids"] == sorted([a1, a2])
    with pytest.raises(StateError):
        cases.join(case["id"], a2, "lead")
    assert cases.assign(case["id"], "inv7", "lead")["status"] == "assigned"
    assert cases.move(case["id"], "in_progress", "inv7")["status"] == "in_progress"
    cases.note(case["id"], "shareholder confirmed by registry", "inv7")
    with pytest.raises(StateError):
        cases.move(case["id"], "closed", "inv7")  # closing needs an outcome
    closed = cases.close(case["id"], "false_positive", "inv7", note="namesake")
    assert (closed["status"], closed["outcome"]) == ("closed", "false_positive")
    with pytest.raises(StateError):
        cases.assign(case["id"], "x", "lead")
    with pytest.raises(StateError):
        cases.close(case["id"], "maybe", "lead")
    history = cases.get(case["id"])["history"]
    assert [h["action"] for h in history] == ["opened", "joined", "assigned", "status", "note",
                                              "closed"]
    assert history[-1]["detail"] == {"before": "in_progress", "outcome": "false_positive",
                                     "note": "namesake"}
    assert cases.outcomes() == {"false_positive": 1}


def test_state_url_defaults_under_the_state_dir(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUANLIAN_STATE_DB", raising=False)
    assert state_url(tmp_path / "s") == f"sqlite:///{(tmp_path / 's' / 'state.sqlite')}"
    monkeypatch.setenv("GUANLIAN_STATE_DB", "postgresql+psycopg://u@h/db")
    assert state_url(tmp_path) == "postgresql+psycopg://u@h/db"


def test_jobs_are_kept_replaced_listed_and_ended_when_interrupted(url: str) -> None:
    jobs = JobStore(open_state(url))

    def job(n: int, status: str, **more: object) -> dict[str, object]:
        return {"job_id": f"2026010{n}T000000-00000{n}", "status": status,
                "created_at": f"2026-01-0{n}T00:00:00+00:00", **more}

    jobs.save(job(1, "queued"))
    jobs.save(job(1, "linking", started_at="2026-01-01T00:00:01+00:00"))  # replaced
    jobs.save(job(2, "succeeded", run_id="r2"))
    jobs.save(job(3, "scoring", cancel_requested=True))
    assert jobs.get("20260101T000000-000001") == job(1, "linking",
                                                     started_at="2026-01-01T00:00:01+00:00")
    assert jobs.get("nope") is None
    items, total = jobs.page(limit=2)
    assert total == 3 and [i["job_id"][7] for i in items] == ["3", "2"]
    assert sorted(jobs.interrupted("2026-02-01T00:00:00+00:00")) == [
        "20260101T000000-000001", "20260103T000000-000003"]
    first, third = jobs.get("20260101T000000-000001"), jobs.get("20260103T000000-000003")
    assert first is not None and third is not None
    assert (first["status"], first["error"]) == ("failed", INTERRUPTED)
    assert (third["status"], third["error"]) == ("cancelled", None)
    assert jobs.interrupted("2026-02-02T00:00:00+00:00") == []  # nothing left unfinished
    downgrade(url, "0003")  # migration 0004 takes the table away again
    with make_engine(url).connect() as conn:
        assert "jobs" not in inspect(conn).get_table_names()


def test_the_runs_published_from_a_run_follow_the_succeeded_jobs(url: str,
                                                                 tmp_path: Path) -> None:
    jobs = JobStore(open_state(url))
    r0, r1, r2, r3 = (str(tmp_path / f"r{n}") for n in range(4))

    def job(n: int, status: str, previous: str | None, run: str) -> dict[str, object]:
        return {"job_id": f"2026010{n}T000000-00000{n}", "status": status,
                "created_at": f"2026-01-0{n}T00:00:00+00:00", "previous_run_dir": previous,
                "run_dir": run}

    jobs.save(job(1, "succeeded", r0, r1))
    jobs.save(job(2, "failed", r1, str(tmp_path / "broken")))
    jobs.save(job(3, "succeeded", r1, r2))
    jobs.save(job(4, "succeeded", r1, r3))  # the newest job from r1 wins
    jobs.save(job(5, "cancelled", r3, str(tmp_path / "never")))
    assert jobs.published_from(r0) == [r1, r3]
    assert jobs.published_from(r1) == [r3]
    assert jobs.published_from(r3) == [] and jobs.published_from(None) == []
    # a relative spelling of the same folder, as a served --run may be
    assert jobs.published_from(os.path.relpath(r0)) == [r1, r3]
    jobs.save(job(6, "succeeded", None, r0))  # a job of an API that served nothing
    assert jobs.published_from(None) == [r0, r1, r3]
