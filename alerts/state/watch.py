"""Watchlists in the state database: each belongs to the API key that made it (its owner);
only the owner reads or deletes it. An entity list holds rows resolved as matched / ambiguous /
unmatched; a pattern holds its rule, region, level threshold or blacklist-link condition.
`watched_entities()` gives the IDs every watchlist follows (their merges and splits alert)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.state.store import Missing, StateError, now
from alerts.state.tables import WATCH_KINDS, WatchItemRow, WatchlistRow

ITEM_STATUSES = ("matched", "ambiguous", "unmatched")


def _answer(row: WatchlistRow, items: list[WatchItemRow]) -> dict[str, Any]:
    counts = {s: sum(1 for i in items if i.status == s) for s in ITEM_STATUSES}
    return {
        "id": row.id, "owner": row.owner, "name": row.name, "kind": row.kind,
        "spec": row.spec, "created_at": row.created_at, "counts": counts,
        "items": [{"entity_id": i.entity_id, "status": i.status, "query": i.query}
                  for i in items],
    }


class WatchlistStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def create(self, owner: str, name: str, kind: str, spec: dict[str, Any],
               items: list[dict[str, Any]]) -> dict[str, Any]:
        """`items`: [{"entity_id" (None unless matched), "status", "query"}]."""
        if kind not in WATCH_KINDS:
            raise StateError(f"kind must be one of {', '.join(WATCH_KINDS)}")
        for n, item in enumerate(items):
            if item.get("status") not in ITEM_STATUSES:
                raise StateError(f"items[{n}].status must be one of {', '.join(ITEM_STATUSES)}")
        with self.sessions.begin() as s:
            row = WatchlistRow(owner=owner, name=name, kind=kind, spec=spec, created_at=now())
            s.add(row)
            s.flush()
            rows = [WatchItemRow(watchlist_id=row.id, entity_id=i.get("entity_id"),
                                 status=i["status"], query=i.get("query") or {})
                    for i in items]
            s.add_all(rows)
            return _answer(row, rows)

    def _owned(self, s: Session, owner: str, watchlist_id: int) -> WatchlistRow:
        row = s.get(WatchlistRow, watchlist_id)
        if row is None or row.owner != owner:  # another owner's list is not even named
            raise Missing(f"no watchlist {watchlist_id}")
        return row

    def _items(self, s: Session, watchlist_id: int) -> list[WatchItemRow]:
        return list(s.scalars(select(WatchItemRow).where(WatchItemRow.watchlist_id ==
                                                         watchlist_id).order_by(WatchItemRow.id)))

    def get(self, owner: str, watchlist_id: int) -> dict[str, Any]:
        with self.sessions() as s:
            row = self._owned(s, owner, watchlist_id)
            return _answer(row, self._items(s, row.id))

    def list(self, owner: str) -> list[dict[str, Any]]:
        with self.sessions() as s:
            rows = s.scalars(select(WatchlistRow).where(WatchlistRow.owner == owner)
                             .order_by(WatchlistRow.id))
            return [_answer(r, self._items(s, r.id)) for r in rows]

    def delete(self, owner: str, watchlist_id: int) -> None:
        with self.sessions.begin() as s:
            row = self._owned(s, owner, watchlist_id)
            for item in self._items(s, row.id):
                s.delete(item)
            s.delete(row)

    def watched_entities(self) -> set[str]:
        with self.sessions() as s:
            return {str(e) for e in s.scalars(select(WatchItemRow.entity_id).where(
                WatchItemRow.entity_id.is_not(None)))}
