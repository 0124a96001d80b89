"""The state tables (SQLAlchemy 2 declarative). The schema itself is created and changed only
by the Alembic migrations in `alerts/state/migrations`; tests hold the two equal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CASE_STATUSES = ("new", "assigned", "in_progress", "closed")
CASE_OUTCOMES = ("confirmed", "false_positive", "not_actionable")
WATCH_KINDS = ("entity", "set", "pattern")
DELIVERY_STATUSES = ("pending", "delivered", "dead")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    condition: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(String(80))
    previous_run_id: Mapped[str] = mapped_column(String(80))
    level_after: Mapped[str | None] = mapped_column(String(10), nullable=True)
    summary: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WatchlistRow(Base):
    __tablename__ = "watchlists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(40), index=True)  # the API key's key_id
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # pattern: rule, region, level, ...
    created_at: Mapped[datetime]


class WatchItemRow(Base):
    __tablename__ = "watch_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlists.id", ondelete="CASCADE"),
                                              index=True)
    entity_id: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    status: Mapped[str] = mapped_column(String(10))  # matched | ambiguous | unmatched
    query: Mapped[dict[str, Any]] = mapped_column(JSON)  # what was uploaded for this row


class CaseRow(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(40), nullable=True)
    opened_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CaseAlertRow(Base):
    __tablename__ = "case_alerts"
    __table_args__ = (UniqueConstraint("case_id", "alert_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)


class CaseEventRow(Base):
    """A case's history: every change (opened, joined, assigned, note, status, closed)."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class WebhookRow(Base):
    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(40), index=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool]
    created_at: Mapped[datetime]


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "event_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"),
                                            index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)


class InvestigationRow(Base):
    """A saved investigation of the workspace: its canvas (the drawn graph as JSON), the
    entity IDs on it and the investigator's notes; it belongs to the API key that saved it."""

    __tablename__ = "investigations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(40), index=True)  # the API key's key_id
    name: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text)
    canvas: Mapped[dict[str, Any]] = mapped_column(JSON)
    entity_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# --- inspection draws, inspectors and outcomes (migration 0002; package inspection/) -------
class InspectorRow(Base):
    """The inspector roster (imported from its CSV source); resolved against the graph at each
    draw, since the graph changes between runs."""

    __tablename__ = "inspectors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(40))
    agency: Mapped[str | None] = mapped_column(String(200), nullable=True)
    region: Mapped[str | None] = mapped_column(String(100), nullable=True)
    active: Mapped[bool]
    imported_by: Mapped[str] = mapped_column(String(40))
    imported_at: Mapped[datetime]


class DrawRow(Base):
    __tablename__ = "draws"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str] = mapped_column(String(80))
    seed: Mapped[int] = mapped_column(BigInteger)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # DrawParams + the class file
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)  # counts, conflicts, inspectors
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


class DrawTargetRow(Base):
    __tablename__ = "draw_targets"
    __table_args__ = (UniqueConstraint("draw_id", "entity_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(300))
    uscc: Mapped[str | None] = mapped_column(String(40), nullable=True)
    risk_class: Mapped[str] = mapped_column(String(10))
    score: Mapped[float]
    level: Mapped[str] = mapped_column(String(10))
    part: Mapped[str] = mapped_column(String(10))  # uniform | weighted
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)  # kind, codes, province, inspectors


class OutcomeRow(Base):
    """An inspection's result with its provenance (who recorded it, when, in which request)."""

    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_request_id: Mapped[str] = mapped_column(String(64), index=True)  # lookup or draw
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"), index=True,
                                                nullable=True)
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    result: Mapped[str] = mapped_column(String(4))  # pass | fail
    findings: Mapped[str] = mapped_column(Text)
    inspected_on: Mapped[date]
    score: Mapped[float | None] = mapped_column(nullable=True)  # stored risk when recorded
    level: Mapped[str | None] = mapped_column(String(10), nullable=True)
    risk_class: Mapped[str | None] = mapped_column(String(10), nullable=True)
    part: Mapped[str | None] = mapped_column(String(10), nullable=True)  # of its draw
    recorded_by: Mapped[str] = mapped_column(String(40))
    recorded_at: Mapped[datetime]
    request_id: Mapped[str] = mapped_column(String(64))


# --- admin rerun jobs (migration 0004; api/jobs.py) ----------------------------------------
JOB_ENDED = ("succeeded", "failed", "cancelled")


class JobRow(Base):
    """An admin rerun job as the API last reported it (`api.jobs.Job`, whole, in `job`), kept
    so that the jobs' history outlives the API process; `status` and `created_at` apart for
    the list and for the jobs a stopped API left unfinished."""

    __tablename__ = "jobs"
    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    job: Mapped[dict[str, Any]] = mapped_column(JSON)
