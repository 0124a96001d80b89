"""Webhook endpoints (admin): register one, read the delivery counts and the dead letters."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from alerts.state.store import StateError
from api.context import returned
from api.deps import AsAdmin, ServicesDep
from api.errors import InvalidParameter
from api.openapi import AUTH, problems

router = APIRouter(prefix="/webhooks", tags=["webhooks"],
                   responses=problems(*AUTH, 400, 413))


WEBHOOK_URL = r"^https?://[!-~]+$"


class NewWebhook(BaseModel):
    # a URI is printable ASCII (RFC 3986: anything else percent-encoded), and this class means
    # the same in every regex dialect: `\S` does not (Python counts U+0085 as a space, the
    # schema's ECMA-262 readers do not, so schemathesis sent URLs the server refused)
    url: str = Field(min_length=8, max_length=2000, pattern=WEBHOOK_URL)
    secret: str | None = Field(default=None, min_length=16, max_length=128)


class Webhook(BaseModel):
    id: int
    url: str
    secret: str = Field(description="HMAC-SHA256 key of X-Guanlian-Signature (shown once)")


class Deliveries(BaseModel):
    counts: dict[str, int]
    dead_letters: list[dict[str, Any]]


@router.post("", response_model=Webhook, status_code=201, summary="Register a webhook")
def register(who: AsAdmin, services: ServicesDep, body: NewWebhook) -> Webhook:
    try:
        row = services.webhooks.register(who.key_id, body.url, body.secret)
    except StateError as exc:
        raise InvalidParameter("body.url", str(exc)) from exc
    return returned(Webhook(**row), action="register", webhook_id=row["id"])


@router.get("/deliveries", response_model=Deliveries,
            summary="Delivery counts and the dead-letter list")
def deliveries(_: AsAdmin, services: ServicesDep) -> Deliveries:
    return returned(Deliveries(counts=services.webhooks.status_counts(),
                               dead_letters=services.webhooks.dead_letters()))
