"""The FastAPI application: `create_app(settings)`.

The lifespan opens ONE graph store (one Neo4j driver, or the embedded store on a run folder),
the key store, the audit log and the job runner, and closes them at shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version as package_version
from pathlib import Path

from fastapi import FastAPI

from alerts.raising import raise_alerts
from alerts.state.db import open_state, state_url
from alerts.state.investigations import InvestigationStore
from alerts.state.jobs import JobStore
from alerts.state.store import AlertStore, CaseStore
from alerts.state.watch import WatchlistStore
from alerts.state.webhooks import DeliveryPump, WebhookStore
from api import docs, errors, openapi
from api.audit import AuditLog
from api.audit_middleware import AuditMiddleware
from api.auth import KeyStore
from api.deps import Services
from api.guard import DeadlineGuard, FailedKeys
from api.headers import SecurityHeaders
from api.inspection import LookupService, load_matcher
from api.jobs import JobRunner, served_run
from api.metrics import Metrics
from api.middleware import LONG_PREFIXES, RequestMiddleware
from api.ratelimit import BodySizeLimit, ConcurrencySlots, TokenBuckets
from api.routes import (
    admin,
    alerts,
    catalogue,
    draws,
    entities,
    health,
    inspection,
    investigations,
    watchlists,
    webhooks,
    worklist,
)
from api.settings import Settings, get_settings
from api.stores import open_store, settle_heap
from api.ui import DEFAULT_WEB_DIR, mount_ui
from inspection.store import InspectionStore

log = logging.getLogger("guanlian.api")
BACKSTOP_S = 2.0
DESCRIPTION = """\
Entity linkage and network risk for inspection, quarantine and customs supervision.

Every endpoint but `/healthz`, `/readyz` and the `/ui/` page needs an API key in the
`X-API-Key` header (or `Authorization: Bearer`). Roles: **inspector** (lookup, screening,
entity risk, enterprise search), **investigator** (every read), **admin** (jobs, audit, keys).
Errors are `application/problem+json` with a stable `code` and the `request_id`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        audit = AuditLog(settings.audit_config)
        state = open_state(settings.state_db or state_url(settings.state_dir))
        kept_jobs = JobStore(state)
        stores = open_store(settings.model_copy(
            update={"run_dir": served_run(settings, kept_jobs)}))
        lookup = LookupService(settings, load_matcher(stores.run_dir))
        keys = KeyStore(settings.keys_path)
        alerts, watchlists, hooks = AlertStore(state), WatchlistStore(state), WebhookStore(state)
        pump = DeliveryPump(hooks)
        pump.start()

        def published(run_dir: Path, previous: Path | None) -> int:
            fresh = raise_alerts(alerts, watchlists, run_dir, previous)
            hooks.enqueue(fresh)
            return len(fresh)

        app.state.services = Services(
            settings=settings, stores=stores, keys=keys, audit=audit,
            limiter=TokenBuckets(settings.rate_limit_rps, settings.rate_limit_burst),
            metrics=metrics, lookup=lookup,
            jobs=JobRunner(settings, stores, lookup, kept_jobs, on_published=published),
            slots=ConcurrencySlots(settings.heavy_concurrency),
            auth_failures=FailedKeys(settings.auth_failures_per_minute / 60,
                                     settings.auth_failure_burst),
            alerts=alerts, cases=CaseStore(state), watchlists=watchlists, webhooks=hooks,
            investigations=InvestigationStore(state),
            inspections=InspectionStore(state),
        )
        if stores.loaded:
            try:
                store = stores.get()
                lookup.warm_up(store)
                store.warm_up(settings.warm_up_s)
                if stores.identifier_reads is not None:
                    await stores.identifier_reads.warm_up()
            except Exception as exc:  # noqa: BLE001 - a store down at start recovers later
                log.warning("warm-up skipped: %s", exc)
        settle_heap()
        log.info("serving %s store, run folder %s", settings.store_kind, stores.run_dir)
        try:
            yield
        finally:
            app.state.services.jobs.stop()  # a running job's process ends with the API
            await stores.aclose()
            pump.stop()
            state.kw["bind"].dispose()
            keys.close()
            audit.close()

    app = FastAPI(title="Guanlian API", version=package_version("guanlian"),
                  description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None,
                  # FastAPI's OpenTelemetry bridge asks three providers on every request;
                  # the API counts and times requests itself (api.metrics)
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    errors.install(app)
    openapi.install(app)
    docs.install(app)
    # the inspection routes first: Starlette tries routes in order, and lookups are the
    # hottest path (each route tried costs a regex match)
    for router in (inspection.router, health.router, entities.router, catalogue.router,
                   worklist.router, alerts.alerts_router, alerts.cases_router,
                   watchlists.router, investigations.router, webhooks.router, draws.router,
                   admin.router):
        app.include_router(router)
    health.add_metrics(app, settings.metrics_public)
    mount_ui(app, settings.web_dir or DEFAULT_WEB_DIR)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # the deadline guard answers (and stops the work) at the time bound; the request
    # middleware's own bound is a backstop a little later
    app.add_middleware(
        DeadlineGuard, timeout_s=settings.request_timeout_s,
        long_timeout_s=settings.long_request_timeout_s, long_prefixes=LONG_PREFIXES,
        retry_after_s=settings.retry_after_s,
    )
    app.add_middleware(
        RequestMiddleware, metrics=metrics,
        timeout_s=settings.request_timeout_s + BACKSTOP_S,
        long_timeout_s=settings.long_request_timeout_s + BACKSTOP_S,
        retry_after_s=settings.retry_after_s,
    )
    # no answer leaves before its audit entry is durable: every answer made inside (401, 429,
    # the deadline's 503) is audited
    app.add_middleware(AuditMiddleware, metrics=metrics, retry_after_s=settings.retry_after_s)
    app.add_middleware(SecurityHeaders)  # outermost: every answer, the audit's 503 included
    return app
