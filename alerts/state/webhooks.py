"""Webhook delivery of alerts: registered endpoints, HMAC-SHA256 signed bodies, retries with
exponential back-off, idempotent event IDs and a dead-letter list.

- `enqueue(alerts)`: one delivery per (active endpoint, alert); its `event_id` is derived
  from the endpoint and the alert key, so the same alert never makes a second delivery (a
  unique constraint) and a receiver can drop a repeat it has seen.
- `deliver_due(client)`: POST every due pending delivery: body `{"event_id", "type":
  "alert.raised", "data": alert}`, headers `X-Guanlian-Event-Id`, `X-Guanlian-Timestamp` and
  `X-Guanlian-Signature: sha256=<hex hmac of "<timestamp>.<body>" with the endpoint's
  secret>`. A 2xx answer delivers it; anything else (or no answer) retries after
  `base_delay · 2^(attempts-1)` seconds (at most `max_delay`) until `max_attempts`, then the
  delivery is dead-lettered (status dead, kept with its last error).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.models import Alert
from alerts.state.store import StateError
from alerts.state.tables import DeliveryRow, WebhookRow


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay_s: float = 2.0
    max_delay_s: float = 600.0
    timeout_s: float = 5.0

    def delay(self, attempts: int) -> float:
        return float(min(self.max_delay_s, self.base_delay_s * 2 ** max(attempts - 1, 0)))


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def _event_id(webhook_id: int, alert_key: str) -> str:
    return "evt_" + hashlib.sha1(f"{webhook_id}:{alert_key}".encode()).hexdigest()[:24]


class WebhookStore:
    def __init__(self, sessions: sessionmaker[Session],
                 policy: RetryPolicy | None = None) -> None:
        self.sessions = sessions
        self.policy = policy or RetryPolicy()

    def register(self, owner: str, url: str, secret: str | None = None) -> dict[str, Any]:
        if not url.startswith(("http://", "https://")):
            raise StateError("a webhook URL starts with http:// or https://")
        with self.sessions.begin() as s:
            row = WebhookRow(owner=owner, url=url, secret=secret or secrets.token_hex(24),
                             active=True, created_at=datetime.now(UTC))
            s.add(row)
            s.flush()
            return {"id": row.id, "url": row.url, "secret": row.secret}

    def enqueue(self, alerts: list[Alert]) -> int:
        """Deliveries for every active endpoint and alert not yet queued; how many."""
        made = 0
        with self.sessions.begin() as s:
            hooks = list(s.scalars(select(WebhookRow).where(WebhookRow.active.is_(True))))
            for hook in hooks:
                known = set(s.scalars(select(DeliveryRow.event_id)
                                      .where(DeliveryRow.webhook_id == hook.id)))
                for alert in alerts:
                    event_id = _event_id(hook.id, alert.alert_key)
                    if event_id in known:
                        continue
                    known.add(event_id)
                    stamp = datetime.now(UTC)
                    s.add(DeliveryRow(
                        webhook_id=hook.id, event_id=event_id, status="pending", attempts=0,
                        payload={"event_id": event_id, "type": "alert.raised",
                                 "data": alert.model_dump(mode="json")},
                        next_attempt_at=stamp, created_at=stamp))
                    made += 1
        return made

    def deliver_due(self, client: httpx.Client, now: datetime | None = None) -> dict[str, int]:
        """One pass over the due pending deliveries; counts of this pass."""
        now = now or datetime.now(UTC)
        counts = {"attempted": 0, "delivered": 0, "retried": 0, "dead": 0}
        with self.sessions() as s:
            due = list(s.scalars(select(DeliveryRow.id).where(
                DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now)
                .order_by(DeliveryRow.id)))
        for delivery_id in due:
            outcome = self._attempt(client, delivery_id)
            counts["attempted"] += 1
            counts[outcome] += 1
        return counts

    def _attempt(self, client: httpx.Client, delivery_id: int) -> str:
        with self.sessions() as s:
            row = s.get(DeliveryRow, delivery_id)
            hook = s.get(WebhookRow, row.webhook_id) if row is not None else None
            if row is None or hook is None:
                return "dead"
            body = json.dumps(row.payload, ensure_ascii=False, separators=(",", ":")).encode()
            url, secret, event_id = hook.url, hook.secret, row.event_id
        stamp = str(int(datetime.now(UTC).timestamp()))
        error: str | None = None
        try:
            answer = client.post(url, content=body, timeout=self.policy.timeout_s, headers={
                "Content-Type": "application/json", "X-Guanlian-Event-Id": event_id,
                "X-Guanlian-Timestamp": stamp, "X-Guanlian-Signature": sign(secret, stamp, body)})
            if not 200 <= answer.status_code < 300:
                error = f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        with self.sessions.begin() as s:
            row = s.get(DeliveryRow, delivery_id)
            assert row is not None
            row.attempts += 1
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", datetime.now(UTC), None
                return "delivered"
            row.last_error = error
            if row.attempts >= self.policy.max_attempts:
                row.status, row.next_attempt_at = "dead", None
                return "dead"
            row.next_attempt_at = datetime.now(UTC) + timedelta(
                seconds=self.policy.delay(row.attempts))
            return "retried"

    def dead_letters(self) -> list[dict[str, Any]]:
        with self.sessions() as s:
            rows = s.scalars(select(DeliveryRow).where(DeliveryRow.status == "dead")
                             .order_by(DeliveryRow.id))
            return [{"event_id": r.event_id, "webhook_id": r.webhook_id, "attempts": r.attempts,
                     "last_error": r.last_error} for r in rows]

    def status_counts(self) -> dict[str, int]:
        with self.sessions() as s:
            out = {"pending": 0, "delivered": 0, "dead": 0}
            for status in s.scalars(select(DeliveryRow.status)):
                out[status] = out.get(status, 0) + 1
            return out


class DeliveryPump:
    """A daemon thread delivering due webhooks every `interval_s` until stopped."""

    def __init__(self, hooks: WebhookStore, interval_s: float = 1.0) -> None:
        import threading

        self.hooks = hooks
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="webhook-pump", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        import logging

        with httpx.Client() as client:
            while not self._stop.wait(self.interval_s):
                try:
                    self.hooks.deliver_due(client)
                except Exception:  # noqa: BLE001 - a failed pass is retried on the next one
                    logging.getLogger(__name__).exception("webhook delivery pass failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
