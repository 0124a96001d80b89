"""Deployment settings of the API service (env prefix `GUANLIAN_`, cached `get_settings()`).

Neo4j connection values also honour the conventional `NEO4J_URI`, `NEO4J_USER` and
`NEO4J_PASSWORD`. Outside development a default or empty secret is refused at start-up.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.audit_files import AuditConfig

DEFAULT_SECRETS = frozenset({"", "neo4j", "password", "changeme", "guanlian"})
Environment = Literal["development", "test", "production"]
Recommendation = Literal["inspect", "document_check", "release"]
MOVED_THRESHOLDS = ("inspect_min_score", "document_check_min_score")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GUANLIAN_", populate_by_name=True, extra="ignore", frozen=True
    )

    environment: Environment = "development"
    state_dir: Path = Field(default=Path("var/api"), description="API keys database and audit log")
    state_db: str | None = Field(
        default=None, description="SQLAlchemy URL of the early-warning state (alerts, "
        "watchlists, cases, deliveries); default SQLite state.sqlite under state_dir")

    # --- which store ------------------------------------------------------------------
    run_dir: Path | None = Field(
        default=None,
        description="run folder: served by the embedded store, or (Neo4j mode) read for the "
        "linkage model used by the inspection lookup",
    )
    neo4j_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("GUANLIAN_NEO4J_URI", "NEO4J_URI", "neo4j_uri")
    )
    neo4j_user: str = Field(
        default="neo4j",
        validation_alias=AliasChoices("GUANLIAN_NEO4J_USER", "NEO4J_USER", "neo4j_user"),
    )
    neo4j_password: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices(
            "GUANLIAN_NEO4J_PASSWORD", "NEO4J_PASSWORD", "neo4j_password"
        ),
    )
    store: Literal["auto", "embedded", "neo4j"] = Field(
        default="auto",
        description="auto: Neo4j when a URI is set, else the embedded store on run_dir",
    )
    warm_up_s: float = Field(
        default=3.0, ge=0, le=600,
        description="Neo4j: seconds of lookup reads with the graph's own keys at start, "
        "before the first request (a just-started server runs its first thousands of "
        "queries slowly); 0: plan the queries only",
    )
    neo4j_async_lookups: bool = Field(
        default=True,
        description="Neo4j: identifier lookups read on the event loop through the async "
        "driver (graph.neo4j.aio); false: in a worker thread through the sync driver",
    )

    # --- limits ---------------------------------------------------------------------------
    rate_limit_rps: float = Field(default=100.0, gt=0, description="sustained requests/s per key")
    rate_limit_burst: int = Field(
        default=1000, ge=1,
        description="bucket size per key: a screen of N subjects costs N, so the default holds "
        "one full screen (1,000 subjects)")
    max_body_bytes: int = Field(default=2_000_000, ge=1024)
    request_timeout_s: float = Field(default=10.0, gt=0)
    long_request_timeout_s: float = Field(
        default=120.0, gt=0, description="timeout of batch screening and admin calls"
    )
    retry_after_s: int = Field(default=1, ge=1, description="Retry-After sent with 503 answers")
    heavy_concurrency: int = Field(
        default=2, ge=1, le=64,
        description="requests of one key in flight at once on each heavy route group "
        "(screen, network, exposure, paths, owners, catalogue, jobs)")
    auth_failure_burst: int = Field(
        default=10, ge=1, description="failed keys one client address may send before 429")
    auth_failures_per_minute: float = Field(
        default=10.0, gt=0, description="how fast a client address's failed-key allowance refills")
    screen_max_subjects: int = Field(default=1000, ge=1, le=1000)
    audit_key: SecretStr | None = Field(
        default=None, description="audit MAC key(s), comma-separated, the last one active "
        "(instead of the key file)")
    audit_key_file: Path | None = Field(
        default=None, description="audit key file, mode 0600 (default <state_dir>/audit.key)")
    audit_anchor_dir: Path | None = Field(
        default=None, description="anchor store of signed audit checkpoints "
        "(default <state_dir>/audit-anchor)")
    audit_checkpoint_interval_s: float = Field(
        default=1.0, gt=0,
        description="seconds between audit checkpoints (when entries were added)")
    audit_write_timeout_s: float = Field(
        default=5.0, gt=0,
        description="an answer whose audit entry is not durable by then is a 503")
    metrics_public: bool = Field(default=False, description="serve /metrics without a key")
    switch_interval_s: float | None = Field(
        default=None, gt=0, le=0.1,
        description="the interpreter's thread switch interval while serving "
        "(sys.setswitchinterval; Python's default 0.005 when unset)")

    # --- inspection lookup ------------------------------------------------------------------
    match_threshold: float = Field(default=0.8, ge=0, le=1,
                                   description="min model probability of a name match")
    similarity_threshold: float = Field(
        default=0.9, ge=0, le=1,
        description="min name similarity of a match when the run has no trained model")
    candidate_pool: int = Field(default=10, ge=1, le=50,
                                description="search hits scored per lookup")
    # the score and level thresholds of a recommendation are data: inspection/recommend.yaml
    # (or GUANLIAN_INSPECTION_THRESHOLDS), shared with the hit-rate report
    unknown_subject: Recommendation = "document_check"

    # --- jobs -----------------------------------------------------------------------------
    runs_dir: Path = Field(default=Path("runs"), description="where jobs write new run folders")
    sources_yaml: Path | None = Field(default=None, description="default sources.yaml of jobs")
    data_root: Path | None = Field(
        default=None, description="jobs may only read sources.yaml files under this folder"
    )
    link_engine: Literal["duckdb", "spark"] = "duckdb"
    keep_runs: int = Field(
        default=5, ge=0, le=1000,
        description="run folders (and logs) of the newest rerun jobs kept in runs_dir; older "
        "ones are removed when a job ends, never the served run; 0 keeps every one")
    job_nice: int = Field(
        default=10, ge=0, le=19,
        description="niceness of a rerun job's process (and of a Spark job's JVM, which "
        "inherits it), so that lookups served while a job runs get the cores first; 0 runs "
        "it at the API's own priority")
    serve_published: bool = Field(
        default=True, description="at start, serve the last run the rerun jobs published from "
        "the configured run folder (kept in the state database), not that folder itself; "
        "false: the configured one (a rollback)")

    # --- workspace --------------------------------------------------------------------------
    web_dir: Path | None = Field(
        default=None,
        description="folder of the workspace page (index.html, its modules and "
        "node_modules/cytoscape/dist); default: the installed `web` package",
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_moved_thresholds(cls, data: Any) -> Any:
        """The lookup's thresholds moved to the recommendation file: an old setting is an
        error, never silently ignored."""
        given = [k for k in MOVED_THRESHOLDS if isinstance(data, dict) and k in data]
        given += [f"GUANLIAN_{k.upper()}" for k in MOVED_THRESHOLDS
                  if os.environ.get(f"GUANLIAN_{k.upper()}") is not None]
        if given:
            raise ValueError(
                f"{', '.join(given)}: the lookup's thresholds are read from "
                "inspection/recommend.yaml; set inspect_min_score / document_check_min_score "
                "there or in the file named by GUANLIAN_INSPECTION_THRESHOLDS")
        return data

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if self.environment == "development" or self.store_kind == "embedded":
            return self
        if self.neo4j_password.get_secret_value() in DEFAULT_SECRETS:
            raise ValueError(
                "a default or empty Neo4j password is refused outside development: "
                "set GUANLIAN_NEO4J_PASSWORD (or NEO4J_PASSWORD)"
            )
        return self

    @property
    def store_kind(self) -> Literal["embedded", "neo4j"]:
        if self.store != "auto":
            return self.store
        return "neo4j" if self.neo4j_uri else "embedded"

    @property
    def keys_path(self) -> Path:
        return self.state_dir / "keys.sqlite"

    @property
    def audit_path(self) -> Path:
        return self.state_dir / "audit.jsonl"

    @property
    def audit_config(self) -> AuditConfig:
        key = self.audit_key.get_secret_value() if self.audit_key is not None else None
        return AuditConfig(
            log_path=self.audit_path,
            anchor_dir=self.audit_anchor_dir or self.state_dir / "audit-anchor",
            counter_path=self.state_dir / "audit.counter",
            key_file=self.audit_key_file or self.state_dir / "audit.key",
            key_env=key or None,
            checkpoint_interval_s=self.audit_checkpoint_interval_s,
            write_timeout_s=self.audit_write_timeout_s,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
