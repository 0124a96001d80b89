"""Saved investigations in the state database: a name, the investigator's notes, the canvas
(the workspace's drawn graph as JSON) and the entity IDs on it. Each belongs to the API key
that saved it (its owner); only the owner lists, reads, changes or deletes it: another
owner's investigation answers as missing, never as forbidden (its existence is not told)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.state.store import Missing, aware, now
from alerts.state.tables import InvestigationRow


def _summary(row: InvestigationRow) -> dict[str, Any]:
    return {
        "id": row.id, "owner": row.owner, "name": row.name,
        "entity_ids": list(row.entity_ids), "created_at": aware(row.created_at),
        "updated_at": aware(row.updated_at),
    }


def _whole(row: InvestigationRow) -> dict[str, Any]:
    return {**_summary(row), "notes": row.notes, "canvas": row.canvas}


class InvestigationStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def create(self, owner: str, name: str, notes: str, canvas: dict[str, Any],
               entity_ids: list[str]) -> dict[str, Any]:
        with self.sessions.begin() as s:
            stamp = now()
            row = InvestigationRow(owner=owner, name=name, notes=notes, canvas=canvas,
                                   entity_ids=list(entity_ids), created_at=stamp,
                                   updated_at=stamp)
            s.add(row)
            s.flush()
            return _whole(row)

    @staticmethod
    def _owned(s: Session, owner: str, investigation_id: int) -> InvestigationRow:
        row = s.get(InvestigationRow, investigation_id)
        if row is None or row.owner != owner:
            raise Missing(f"no investigation {investigation_id}")
        return row

    def get(self, owner: str, investigation_id: int) -> dict[str, Any]:
        with self.sessions() as s:
            return _whole(self._owned(s, owner, investigation_id))

    def list(self, owner: str, limit: int = 50, offset: int = 0
             ) -> tuple[list[dict[str, Any]], int]:
        """The owner's investigations, most recently changed first (ties: newest id), with
        the total; summaries only (no canvas, no notes)."""
        q = select(InvestigationRow).where(InvestigationRow.owner == owner)
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(q.order_by(InvestigationRow.updated_at.desc(),
                                        InvestigationRow.id.desc()).limit(limit).offset(offset))
            return [_summary(r) for r in rows], int(total)

    def update(self, owner: str, investigation_id: int, changes: dict[str, Any]
               ) -> dict[str, Any]:
        """Replace the given fields (name, notes, canvas, entity_ids) of the owner's one."""
        allowed = {"name", "notes", "canvas", "entity_ids"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        with self.sessions.begin() as s:
            row = self._owned(s, owner, investigation_id)
            for field, value in changes.items():
                setattr(row, field, list(value) if field == "entity_ids" else value)
            row.updated_at = now()
            s.flush()
            return _whole(row)

    def delete(self, owner: str, investigation_id: int) -> None:
        with self.sessions.begin() as s:
            s.delete(self._owned(s, owner, investigation_id))
