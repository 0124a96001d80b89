"""Alerts and cases in the state database: record new alerts once, list / get / acknowledge
them, open a case from an alert, join, assign, annotate, move and close it with an outcome,
every change written to the case's history.

Each method is one transaction. Errors are `StateError` subclasses naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerts.models import Alert
from alerts.state.tables import (
    CASE_OUTCOMES,
    CASE_STATUSES,
    AlertRow,
    CaseAlertRow,
    CaseEventRow,
    CaseRow,
)

# allowed status moves; "closed" only through close() (it needs an outcome)
MOVES = {"new": {"assigned", "in_progress"}, "assigned": {"in_progress", "new"},
         "in_progress": {"assigned"}, "closed": {"in_progress"}}


class StateError(ValueError):
    """A state change that cannot be made (the message says why)."""


class Missing(StateError):
    """No such alert or case."""


def now() -> datetime:
    return datetime.now(UTC)


def aware(stamp: datetime | None) -> datetime | None:
    """A stored time as UTC-aware: SQLite hands back naive datetimes (it stores no zone)."""
    if stamp is None or stamp.tzinfo is not None:
        return stamp
    return stamp.replace(tzinfo=UTC)


def alert_dict(row: AlertRow) -> dict[str, Any]:
    return {
        "id": row.id, "alert_key": row.alert_key, "kind": row.kind, "entity_id": row.entity_id,
        "condition": row.condition, "run_id": row.run_id,
        "previous_run_id": row.previous_run_id, "level_after": row.level_after,
        "summary": row.summary, "alert": row.payload, "created_at": aware(row.created_at),
        "acknowledged_by": row.acknowledged_by, "acknowledged_at": aware(row.acknowledged_at),
    }


def case_dict(row: CaseRow, alerts: list[int], history: list[CaseEventRow] | None = None
              ) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id, "title": row.title, "status": row.status, "outcome": row.outcome,
        "assignee": row.assignee, "opened_by": row.opened_by,
        "created_at": aware(row.created_at), "updated_at": aware(row.updated_at),
        "alert_ids": alerts,
    }
    if history is not None:
        out["history"] = [{"at": aware(e.at), "actor": e.actor, "action": e.action,
                           "detail": e.detail} for e in history]
    return out


class AlertStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def record(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Store the alerts whose key is new; returns those (a condition already alerted,
        in any earlier run, is not stored or returned again)."""
        fresh: list[Alert] = []
        with self.sessions.begin() as s:
            wanted = list(alerts)
            keys = {a.alert_key for a in wanted}
            known = set(s.scalars(select(AlertRow.alert_key)
                                  .where(AlertRow.alert_key.in_(keys)))) if keys else set()
            for a in wanted:
                if a.alert_key in known:
                    continue
                known.add(a.alert_key)
                s.add(AlertRow(
                    alert_key=a.alert_key, kind=a.kind, entity_id=a.entity_id,
                    condition=a.condition, run_id=a.run_id, previous_run_id=a.previous_run_id,
                    level_after=a.level_after, summary=a.summary,
                    payload=a.model_dump(mode="json"), created_at=now(),
                ))
                fresh.append(a)
        return fresh

    def seen_keys(self) -> set[str]:
        with self.sessions() as s:
            return set(s.scalars(select(AlertRow.alert_key)))

    def list(self, *, kind: str | None = None, entity_id: str | None = None,
             acknowledged: bool | None = None, limit: int = 50, offset: int = 0
             ) -> tuple[list[dict[str, Any]], int]:
        """Newest first (id desc); with the total matching."""
        q = select(AlertRow)
        if kind:
            q = q.where(AlertRow.kind == kind)
        if entity_id:
            q = q.where(AlertRow.entity_id == entity_id)
        if acknowledged is not None:
            q = q.where(AlertRow.acknowledged_at.is_not(None) if acknowledged
                        else AlertRow.acknowledged_at.is_(None))
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(AlertRow.id.desc()).limit(limit).offset(offset))
            return [alert_dict(r) for r in rows], int(total)

    def get(self, alert_id: int) -> dict[str, Any]:
        with self.sessions() as s:
            row = s.get(AlertRow, alert_id)
            if row is None:
                raise Missing(f"no alert {alert_id}")
            return alert_dict(row)

    def acknowledge(self, alert_id: int, actor: str) -> dict[str, Any]:
        with self.sessions.begin() as s:
            row = s.get(AlertRow, alert_id)
            if row is None:
                raise Missing(f"no alert {alert_id}")
            if row.acknowledged_at is None:
                row.acknowledged_by, row.acknowledged_at = actor, now()
            return alert_dict(row)


class CaseStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @staticmethod
    def _case(s: Session, case_id: int) -> CaseRow:
        row = s.get(CaseRow, case_id)
        if row is None:
            raise Missing(f"no case {case_id}")
        return row

    @staticmethod
    def _log(s: Session, case: CaseRow, actor: str, action: str, **detail: Any) -> None:
        case.updated_at = now()
        s.add(CaseEventRow(case_id=case.id, at=case.updated_at, actor=actor, action=action,
                           detail=detail))

    def _answer(self, s: Session, case: CaseRow, history: bool = False) -> dict[str, Any]:
        s.flush()
        alerts = list(s.scalars(select(CaseAlertRow.alert_id)
                                .where(CaseAlertRow.case_id == case.id)
                                .order_by(CaseAlertRow.alert_id)))
        events = list(s.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case.id)
                                .order_by(CaseEventRow.id))) if history else None
        return case_dict(case, alerts, events)

    def open(self, alert_id: int, actor: str, title: str | None = None) -> dict[str, Any]:
        with self.sessions.begin() as s:
            alert = s.get(AlertRow, alert_id)
            if alert is None:
                raise Missing(f"no alert {alert_id}")
            stamp = now()
            case = CaseRow(title=title or alert.summary, status="new", opened_by=actor,
                           created_at=stamp, updated_at=stamp)
            s.add(case)
            s.flush()
            s.add(CaseAlertRow(case_id=case.id, alert_id=alert_id))
            self._log(s, case, actor, "opened", alert_id=alert_id)
            return self._answer(s, case)

    def join(self, case_id: int, alert_id: int, actor: str) -> dict[str, Any]:
        try:
            with self.sessions.begin() as s:
                case = self._case(s, case_id)
                if s.get(AlertRow, alert_id) is None:
                    raise Missing(f"no alert {alert_id}")
                if case.status == "closed":
                    raise StateError(f"case {case_id} is closed")
                s.add(CaseAlertRow(case_id=case_id, alert_id=alert_id))
                self._log(s, case, actor, "joined", alert_id=alert_id)
                return self._answer(s, case)
        except IntegrityError as exc:
            raise StateError(f"alert {alert_id} is already in case {case_id}") from exc

    def assign(self, case_id: int, assignee: str, actor: str) -> dict[str, Any]:
        with self.sessions.begin() as s:
            case = self._case(s, case_id)
            if case.status == "closed":
                raise StateError(f"case {case_id} is closed")
            case.assignee = assignee
            if case.status == "new":
                case.status = "assigned"
            self._log(s, case, actor, "assigned", assignee=assignee)
            return self._answer(s, case)

    def note(self, case_id: int, text: str, actor: str) -> dict[str, Any]:
        if not text.strip():
            raise StateError("a note needs text")
        with self.sessions.begin() as s:
            case = self._case(s, case_id)
            self._log(s, case, actor, "note", text=text)
            return self._answer(s, case)

    def move(self, case_id: int, status: str, actor: str) -> dict[str, Any]:
        if status not in CASE_STATUSES or status == "closed":
            raise StateError(f"status must be one of new, assigned, in_progress (close with an "
                             f"outcome), not {status!r}")
        with self.sessions.begin() as s:
            case = self._case(s, case_id)
            if status not in MOVES[case.status]:
                raise StateError(f"case {case_id} cannot move from {case.status} to {status}")
            before, case.status = case.status, status
            if before == "closed":
                case.outcome = None
            self._log(s, case, actor, "status", before=before, after=status)
            return self._answer(s, case)

    def close(self, case_id: int, outcome: str, actor: str, note: str = "") -> dict[str, Any]:
        if outcome not in CASE_OUTCOMES:
            raise StateError(f"outcome must be one of {', '.join(CASE_OUTCOMES)}")
        with self.sessions.begin() as s:
            case = self._case(s, case_id)
            if case.status == "closed":
                raise StateError(f"case {case_id} is already closed")
            before = case.status
            case.status, case.outcome = "closed", outcome
            self._log(s, case, actor, "closed", before=before, outcome=outcome, note=note)
            return self._answer(s, case)

    def get(self, case_id: int) -> dict[str, Any]:
        with self.sessions() as s:
            return self._answer(s, self._case(s, case_id), history=True)

    def list(self, *, status: str | None = None, open_only: bool = False, limit: int = 50,
             offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Cases most recently changed first (ties: newest id), with the total matching;
        `open_only` leaves closed cases out."""
        q = select(CaseRow)
        if status:
            q = q.where(CaseRow.status == status)
        if open_only:
            q = q.where(CaseRow.status != "closed")
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = list(s.scalars(q.order_by(CaseRow.updated_at.desc(), CaseRow.id.desc())
                                  .limit(limit).offset(offset)))
            return [self._answer(s, r) for r in rows], int(total)

    def outcomes(self) -> dict[str, int]:
        """Closed cases per outcome (false positives kept as data for tuning)."""
        with self.sessions() as s:
            rows = s.execute(select(CaseRow.outcome, func.count()).where(
                CaseRow.status == "closed").group_by(CaseRow.outcome))
            return {str(o): int(n) for o, n in rows}
