"""Draws, the inspector roster and outcomes in the state database (alerts.state tables,
migration 0002). Each method is one transaction; errors are `alerts.state.store` errors
(`Missing`: 404, `StateError`: 409)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.state.store import Missing, StateError
from alerts.state.tables import DrawRow, DrawTargetRow, InspectorRow, OutcomeRow
from inspection.draw import DrawnTarget, DrawParams
from inspection.models import Draw, Outcome, OutcomeIn
from inspection.roster import RosterEntry


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    """A stored time as UTC (SQLite hands back naive times: they were written in UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _outcome(row: OutcomeRow) -> Outcome:
    return Outcome(
        id=row.id, source_request_id=row.source_request_id, draw_id=row.draw_id,
        entity_id=row.entity_id, result=row.result,  # type: ignore[arg-type]
        findings=row.findings, inspected_on=row.inspected_on, score=row.score, level=row.level,
        risk_class=row.risk_class, part=row.part, recorded_by=row.recorded_by,
        recorded_at=_utc(row.recorded_at), request_id=row.request_id)


class InspectionStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # --- roster -----------------------------------------------------------------------------
    def import_roster(self, entries: list[RosterEntry], by: str) -> dict[str, int]:
        """The roster becomes `entries`: new codes added, known ones updated, codes absent from
        `entries` made inactive (never deleted: past draws name them)."""
        counts = {"added": 0, "updated": 0, "deactivated": 0}
        with self.sessions.begin() as s:
            rows = {r.code: r for r in s.scalars(select(InspectorRow))}
            for e in entries:
                row = rows.get(e.code)
                if row is None:
                    s.add(InspectorRow(code=e.code, name=e.name, id_number=e.id_number,
                                       agency=e.agency, region=e.region, active=True,
                                       imported_by=by, imported_at=_now()))
                    counts["added"] += 1
                    continue
                row.name, row.id_number, row.agency, row.region = (e.name, e.id_number,
                                                                   e.agency, e.region)
                row.active, row.imported_by, row.imported_at = True, by, _now()
                counts["updated"] += 1
            wanted = {e.code for e in entries}
            for code, row in rows.items():
                if code not in wanted and row.active:
                    row.active = False
                    counts["deactivated"] += 1
        return counts

    def roster(self) -> list[RosterEntry]:
        with self.sessions() as s:
            rows = s.scalars(select(InspectorRow).where(InspectorRow.active.is_(True))
                             .order_by(InspectorRow.code))
            return [RosterEntry(code=r.code, name=r.name, id_number=r.id_number,
                                agency=r.agency, region=r.region) for r in rows]

    # --- draws ------------------------------------------------------------------------------
    def save_draw(self, draw: Draw, request_id: str, by: str) -> Draw:
        created = _now()
        summary = draw.model_dump(mode="json", include={
            "algorithm", "classes", "population", "counts", "inspectors", "unresolved",
            "conflicts", "understaffed"})
        with self.sessions.begin() as s:
            row = DrawRow(request_id=request_id, run_id=draw.run_id, seed=draw.params.seed,
                          params=draw.params.model_dump(mode="json"), summary=summary,
                          created_by=by, created_at=created)
            s.add(row)
            s.flush()
            for t in draw.targets:
                s.add(DrawTargetRow(
                    draw_id=row.id, position=t.position, entity_id=t.entity_id, name=t.name,
                    uscc=t.uscc, risk_class=t.risk_class, score=t.score, level=t.level,
                    part=t.part, detail={"kind": t.kind, "customs_code": t.customs_code,
                                         "province": t.province, "inspectors": t.inspectors}))
            draw_id = row.id
        return draw.model_copy(update={"id": draw_id, "request_id": request_id,
                                       "created_by": by, "created_at": created})

    def get_draw(self, draw_id: int) -> Draw:
        with self.sessions() as s:
            row = s.get(DrawRow, draw_id)
            if row is None:
                raise Missing(f"no draw {draw_id}")
            targets = s.scalars(select(DrawTargetRow).where(DrawTargetRow.draw_id == draw_id)
                                .order_by(DrawTargetRow.position))
            drawn = [DrawnTarget(
                position=t.position, entity_id=t.entity_id, kind=t.detail.get("kind", ""),
                name=t.name, uscc=t.uscc, customs_code=t.detail.get("customs_code"),
                province=t.detail.get("province"), risk_class=t.risk_class, score=t.score,
                level=t.level, part=t.part,  # type: ignore[arg-type]
                inspectors=list(t.detail.get("inspectors", []))) for t in targets]
            return Draw.model_validate({
                **row.summary, "id": row.id, "request_id": row.request_id,
                "run_id": row.run_id, "created_by": row.created_by,
                "created_at": _utc(row.created_at),
                "params": DrawParams.model_validate(row.params), "targets": drawn})

    def draw_by_request(self, request_id: str) -> int | None:
        with self.sessions() as s:
            return s.scalar(select(DrawRow.id).where(DrawRow.request_id == request_id)
                            .order_by(DrawRow.id).limit(1))

    def target(self, draw_id: int, entity_id: str) -> dict[str, Any] | None:
        with self.sessions() as s:
            if s.get(DrawRow, draw_id) is None:
                raise Missing(f"no draw {draw_id}")
            t = s.scalar(select(DrawTargetRow).where(DrawTargetRow.draw_id == draw_id,
                                                     DrawTargetRow.entity_id == entity_id))
            if t is None:
                return None
            return {"score": t.score, "level": t.level, "risk_class": t.risk_class,
                    "part": t.part}

    # --- outcomes ---------------------------------------------------------------------------
    def record_outcome(self, body: OutcomeIn, risk: dict[str, Any], by: str,
                       request_id: str) -> Outcome:
        """Store an outcome. A draw's outcome must be of one of its targets (StateError)."""
        draw_id = body.draw_id or self.draw_by_request(body.request_id)
        snapshot = dict(risk)
        if draw_id is not None:
            drawn = self.target(draw_id, body.entity_id)
            if drawn is None:
                raise StateError(f"{body.entity_id} is not a target of draw {draw_id}")
            snapshot = drawn
        with self.sessions.begin() as s:
            row = OutcomeRow(
                source_request_id=body.request_id, draw_id=draw_id, entity_id=body.entity_id,
                result=body.result, findings=body.findings, inspected_on=body.inspected_on,
                score=snapshot.get("score"), level=snapshot.get("level"),
                risk_class=snapshot.get("risk_class"), part=snapshot.get("part"),
                recorded_by=by, recorded_at=_now(), request_id=request_id)
            s.add(row)
            s.flush()
            return _outcome(row)

    def outcomes(self) -> list[Outcome]:
        with self.sessions() as s:
            return [_outcome(r) for r in s.scalars(select(OutcomeRow).order_by(OutcomeRow.id))]
