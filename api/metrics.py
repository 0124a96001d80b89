"""Prometheus metrics of one app instance (its own registry, so tests can build many apps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

AUDIT_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0)
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter("guanlian_http_requests", "HTTP requests by route and status",
                                ("method", "route", "status"), registry=r)
        self.latency = Histogram("guanlian_http_request_duration_seconds",
                                 "HTTP request latency by route", ("method", "route"),
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.store_errors = Counter("guanlian_store_errors", "graph store failures by type",
                                    ("error",), registry=r)
        self.timeouts = Counter("guanlian_request_timeouts", "requests answered 503 on timeout",
                                ("route",), registry=r)
        self.audit_entries = Counter("guanlian_audit_entries", "audit entries written",
                                     registry=r)
        self.audit_wait = Histogram("guanlian_audit_wait_seconds",
                                    "time an answer waited for its audit entry to be durable",
                                    buckets=AUDIT_BUCKETS, registry=r)
        self.audit_failures = Counter("guanlian_audit_failures",
                                      "answers withheld: their audit entry was not written",
                                      registry=r)
        self.auth_failures = Counter("guanlian_auth_failures",
                                     "requests refused for a wrong, malformed or revoked key",
                                     registry=r)
        self.screened_subjects = Counter("guanlian_screened_subjects",
                                         "subjects looked up by batch screens", registry=r)
        self.store_ready = Gauge("guanlian_store_ready", "1 when the last readiness check passed",
                                 registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
