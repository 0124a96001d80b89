"""Inspection lookup and batch screening (inspectors and up)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.context import returned
from api.deps import AsInspector, Services, ServicesDep, StoreDep, heavy, store_of
from api.guard import charge
from api.inspection import LookupAnswer, NameSearchNeeded, Subject
from api.openapi import AUTH, problems
from api.schemas import ScreenAnswer, ScreenRequest
from graph import deadline

router = APIRouter(prefix="/inspection", tags=["inspection"],
                   responses=problems(*AUTH, 400, 413))

_LOOKUP_EXAMPLE = {
    "match": {"entity": {"entity_id": "E0000000000a1", "kind": "Enterprise",
                         "name": "上海华信进出口贸易有限公司", "uscc": "91310000MA1000012X",
                         "customs_code": "3100000012", "risk_level": "high",
                         "risk_score": 82.5},
              "confidence": 1.0, "method": "uscc", "features": []},
    "declarant": None, "confidence": 1.0, "risk_level": "high", "risk_score": 82.5,
    "reasons": [{"rule": "shared_controller", "contribution": 40.0,
                 "summary": "legal representative 张伟 controls 3 firms with 4 violations",
                 "path_nodes": ["P0000000000c1", "E0000000000a2"],
                 "path_edges": ["R1a2b3c4d5e6f"], "event_ids": ["V9e8d7c6b5a41"],
                 "evidence": {}}],
    "recommendation": "inspect", "notes": [], "candidates": [],
}


def _subject_params(subject: Subject) -> dict[str, str]:
    return {k: v for k, v in subject.model_dump().items() if v is not None}


@router.post("/lookup", response_model=LookupAnswer,
             summary="Resolve a declaration's subject and recommend an action",
             responses={200: {"content": {"application/json": {"example": _LOOKUP_EXAMPLE}}}})
async def lookup(_: AsInspector, request: Request, subject: Subject) -> LookupAnswer:
    # the services and the store straight from the request: each dependency FastAPI solves
    # costs tens of microseconds on the hottest route
    services: Services = request.app.state.services
    store = store_of(request)
    # async route. On an in-memory store an identifier lookup (sub-millisecond dict reads)
    # runs right here on the event loop: a worker-thread hop costs two thread wakes, each a
    # scheduling delay on a busy machine. On Neo4j the identifier reads are awaited right
    # here through the async driver (graph.neo4j.aio). Name searches and the other Neo4j
    # reads (blocking round trips) take ONE worker-thread hop (a sync route would take two:
    # the endpoint, then FastAPI's response validation); without the async driver
    # (`neo4j_async_lookups=false`) the identifiers are read there, at once.
    answer = None
    reads = services.stores.identifier_reads
    if store.in_memory:
        try:
            answer = services.lookup.lookup(store, subject, names=False)
        except NameSearchNeeded:
            pass
    elif reads is not None:
        answer = await services.lookup.lookup_async(reads, store, subject)
    if answer is None:
        answer = await run_in_threadpool(services.lookup.lookup_prefetched, store, subject)
    return returned(answer, subject=_subject_params(subject))


@router.post("/screen", response_model=ScreenAnswer, dependencies=[heavy("screen")],
             summary="Screen up to 1,000 subjects in one call (costs one request each)")
def screen(principal: AsInspector, services: ServicesDep, store: StoreDep,
           request: ScreenRequest) -> ScreenAnswer:
    # the first subject was paid for by the request itself
    charge(services, principal, len(request.subjects) - 1, "this screen")
    results = []
    answers = services.lookup.lookup_all(store, request.subjects)  # identifiers in one read
    for _ in request.subjects:
        deadline.check()  # answered already at the deadline: stop here
        results.append(next(answers))
        services.metrics.screened_subjects.inc()
    return returned(ScreenAnswer(results=results),
                    subjects=[_subject_params(s) for s in request.subjects])
