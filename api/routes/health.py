"""Health, readiness, identity and metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import AnyCaller, ServicesDep, require
from api.errors import Unavailable
from api.openapi import AUTH, PUBLIC, problems
from api.schemas import Health, Ready, WhoAmI
from graph.store import NoRunLoaded, StoreUnavailable

router = APIRouter(tags=["health"])
READY_TIMEOUT_S = 3.0


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health()


@router.get("/readyz", response_model=Ready, responses=problems(*PUBLIC),
            summary="The graph store answers and holds a run")
async def readyz(services: ServicesDep) -> Ready:
    def check() -> Ready:
        store = services.stores.get()
        if not store.ping():
            raise StoreUnavailable("the graph store does not answer")
        info = store.run_info()
        return Ready(store=services.settings.store_kind, run_id=info.run_id,
                     loaded_at=info.loaded_at, nodes=info.nodes,
                     relationships=info.relationships, linkage_model=services.lookup.uses_model)

    timeout = min(READY_TIMEOUT_S, services.settings.request_timeout_s)
    try:
        ready = await asyncio.wait_for(asyncio.to_thread(check), timeout)
    except (StoreUnavailable, NoRunLoaded, TimeoutError):
        services.metrics.store_ready.set(0)
        raise
    except Exception as exc:  # any other failure of the store: not ready
        services.metrics.store_ready.set(0)
        services.metrics.store_errors.labels(type(exc).__name__).inc()
        raise Unavailable("the graph store failed its readiness check",
                          retry_after=services.settings.retry_after_s) from exc
    services.metrics.store_ready.set(1)
    return ready


@router.get("/whoami", response_model=WhoAmI, responses=problems(*AUTH),
            summary="The caller behind the API key")
async def whoami(principal: AnyCaller) -> WhoAmI:
    return WhoAmI(key_id=principal.key_id, role=principal.role, name=principal.name)  # type: ignore[arg-type]


def add_metrics(app: FastAPI, public: bool) -> None:
    """`GET /metrics` (Prometheus text), admin-only unless `public`."""

    async def metrics(services: ServicesDep) -> Response:
        return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        "/metrics", metrics, methods=["GET"], tags=["health"],
        summary="Prometheus metrics", response_class=Response,
        dependencies=[] if public else [Depends(require("admin"))],
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                         "description": "Prometheus text format"},
                   **problems(*(PUBLIC if public else AUTH))},
    )
