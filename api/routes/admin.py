"""Admin: linkage + load jobs, the audit log (read, verify), API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from api.audit_verify import verify
from api.context import returned
from api.deps import AsAdmin, ServicesDep, heavy
from api.errors import InvalidParameter, NotFound
from api.jobs import Job, JobRequest
from api.openapi import AUTH, problems
from api.schemas import (
    AuditEntry,
    AuditPage,
    AuditVerification,
    KeyCreated,
    KeyInfo,
    KeyRequest,
    Page,
    Revoked,
)

router = APIRouter(prefix="/admin", tags=["admin"], responses=problems(*AUTH))
BODY = problems(400, 413)
JobId = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$")]
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{1,64}$")]
MAX_AUDIT_OFFSET = 10**12  # far above any log; islice needs a machine-size integer


@router.post("/jobs", response_model=Job, status_code=202, responses={**problems(409), **BODY},
             dependencies=[heavy("jobs")],
             summary="Start a linkage + load job (one at a time)")
def start_job(_: AsAdmin, services: ServicesDep,
              request: Annotated[JobRequest | None, Body()] = None) -> Job:
    request = request or JobRequest()
    return returned(services.jobs.start(request), sources=request.sources)


class JobPage(Page[Job]):
    total: int


@router.get("/jobs", response_model=JobPage, summary="Jobs, newest first (kept across restarts)")
def jobs(_: AsAdmin, services: ServicesDep,
         limit: Annotated[int, Query(ge=1, le=200)] = 20,
         offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> JobPage:
    items, total = services.jobs.page(limit, offset)
    return returned(JobPage(items=items, total=total, limit=limit, offset=offset))


@router.get("/jobs/{job_id}", response_model=Job, responses=problems(404),
            summary="State of a job")
async def job(_: AsAdmin, services: ServicesDep, job_id: JobId) -> Job:
    return services.jobs.get(job_id)


@router.post("/jobs/{job_id}/cancel", response_model=Job, status_code=202,
             responses=problems(404, 409),
             summary="Cancel a running job (its process is ended; the previous run serves on)")
def cancel_job(_: AsAdmin, services: ServicesDep, job_id: JobId) -> Job:
    return returned(services.jobs.cancel(job_id), job_id=job_id)


@router.get("/audit", response_model=AuditPage, summary="Audit entries, oldest first")
def audit(
    _: AsAdmin, services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=MAX_AUDIT_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    entries = services.audit.read(offset, limit)
    return AuditPage(items=[AuditEntry.model_validate(e) for e in entries], limit=limit,
                     offset=offset, total=services.audit.count)


@router.get("/audit/verify", response_model=AuditVerification,
            summary="Verify the audit chain, its signed checkpoints and the service's counter")
def audit_verify(_: AsAdmin, services: ServicesDep) -> AuditVerification:
    audit = services.audit
    result = verify(audit.config, audit.ring, live=audit.durable())
    return AuditVerification(**vars(result))


@router.get("/keys", response_model=list[KeyInfo], summary="API keys (never the secrets)")
def keys(_: AsAdmin, services: ServicesDep) -> list[KeyInfo]:
    return [KeyInfo(**vars(k)) for k in services.keys.list()]


@router.post("/keys", response_model=KeyCreated, status_code=201, responses=BODY,
             summary="Create an API key (the key is shown once)")
def create_key(_: AsAdmin, services: ServicesDep, request: KeyRequest) -> KeyCreated:
    if not request.name.strip():
        raise InvalidParameter("body.name", "a key needs a non-blank name")
    record, key = services.keys.create(request.name, request.role)
    return returned(KeyCreated(**vars(record), key=key), name=record.name, role=record.role,
                    created_key_id=record.key_id)


@router.delete("/keys/{key_id}", response_model=Revoked, responses=problems(404),
               summary="Revoke an API key (effective on the next request)")
def revoke_key(_: AsAdmin, services: ServicesDep, key_id: KeyId) -> Revoked:
    if not services.keys.revoke(key_id):
        raise NotFound(f"no active key {key_id}")
    return Revoked(key_id=key_id)
