"""Request and answer models of the API's own endpoints (graph answers are graph.models)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from api.auth import Role
from api.inspection import LookupAnswer, Subject
from api.validation import PRINTABLE_SCHEMA, Printable

T = TypeVar("T")


class Items(BaseModel, Generic[T]):
    items: list[T]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    store: Literal["embedded", "neo4j"]
    run_id: str
    loaded_at: str | None = None
    nodes: int = 0
    relationships: int = 0
    linkage_model: bool = Field(description="lookups score names with the trained model")


class WhoAmI(BaseModel):
    key_id: str
    role: Role
    name: str


class ScreenRequest(BaseModel):
    subjects: list[Subject] = Field(min_length=1, max_length=1000)


class ScreenAnswer(BaseModel):
    results: list[LookupAnswer]


class KeyRequest(BaseModel):
    name: Printable = Field(min_length=1, max_length=100, examples=["port-3100-desk-2"],
                            json_schema_extra=PRINTABLE_SCHEMA,
                            description="printable text: no control characters")
    role: Role = Field(examples=["inspector"])


class KeyInfo(BaseModel):
    key_id: str
    name: str
    role: Role
    created_at: str
    revoked_at: str | None = None


class KeyCreated(KeyInfo):
    key: str = Field(description="the full key; shown once, store it now")


class Revoked(BaseModel):
    key_id: str
    revoked: bool = True


class AuditEntry(BaseModel):
    seq: int
    time: str
    kid: str | None = Field(default=None, description="ID of the audit key of its MAC")
    event: str | None = Field(default=None, description="segment_start: first entry under "
                              "a new audit key")
    client: str | None = None
    claimed_key_id: str | None = Field(default=None,
                                       description="key ID of a presented key that failed")
    path: str | None = Field(default=None, description="the path of an unmatched request")
    request_id: str | None = None
    key_id: str | None = None
    key_name: str | None = None
    role: str | None = None
    method: str | None = None
    endpoint: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    entity_ids: list[str] = Field(default_factory=list)
    status: int | None = None
    outcome: str | None = None
    duration_ms: float | None = None
    prev: str
    hash: str = Field(description="HMAC-SHA256 under key `kid` of the entry without `hash`")


class AuditPage(Page[AuditEntry]):
    total: int


class AuditVerification(BaseModel):
    ok: bool
    entries: int = Field(description="entries verified (up to the first bad one)")
    first_bad_line: int | None = None
    first_bad_seq: int | None = Field(default=None,
                                      description="sequence number of the first missing or "
                                      "altered entry")
    reason: str | None = None
    checkpoints: int = Field(default=0, description="signed checkpoints verified")
    attested: int = Field(default=0, description="entries the checkpoints and counters "
                          "vouch for")
