"""Opening a Neo4j driver: settings from the environment, bounded timeouts, one-line errors.

Every failure to reach or authenticate against the server becomes
`graph.store.StoreUnavailable` with a message naming the fix, so the CLI can print it on one
line and the API can answer 503 instead of hanging.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TypeVar

import neo4j
from neo4j import Driver, GraphDatabase, Session
from neo4j import exceptions as neo4j_errors
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from graph.deadline import DeadlineExceeded
from graph.store import StoreUnavailable

T = TypeVar("T")


class Neo4jSettings(BaseSettings):
    """Deployment settings for the Neo4j connection (env prefix `NEO4J_`, `.env` honoured)."""

    model_config = SettingsConfigDict(env_prefix="NEO4J_", env_file=".env", extra="ignore")

    uri: str = "bolt://127.0.0.1:7687"
    user: str = "neo4j"
    password: SecretStr = SecretStr("")
    database: str = "neo4j"
    connection_timeout: float = 2.0
    acquisition_timeout: float = 2.0  # a pool exhausted by a frozen server fails fast
    max_retry_time: float = 5.0
    # reads: server-side transaction timeout (never past the request's deadline)
    transaction_timeout: float = 10.0
    # the circuit breaker of the service's reads (graph.neo4j.breaker)
    breaker_failures: int = 3
    probe_interval: float = 0.25
    probe_stall: float = 0.5


@lru_cache(maxsize=1)
def get_settings() -> Neo4jSettings:
    return Neo4jSettings()


def describe_error(exc: BaseException, uri: str) -> str:
    """A one-line explanation of a driver error that names the fix."""
    if isinstance(exc, neo4j_errors.AuthError):
        return (
            f"Neo4j at {uri} refused the credentials: check NEO4J_USER / NEO4J_PASSWORD "
            "(or --user / --password)"
        )
    if isinstance(exc, neo4j_errors.ServiceUnavailable | OSError):
        return (
            f"Neo4j is unreachable at {uri}: start the server (scripts/neo4j) or fix NEO4J_URI "
            "(or --neo4j)"
        )
    if isinstance(exc, neo4j_errors.ConfigurationError | ValueError):
        return f"invalid Neo4j connection settings for {uri!r}: {exc}"
    if isinstance(exc, neo4j_errors.SessionExpired | neo4j_errors.TransientError):
        return f"Neo4j at {uri} is busy or restarting: retry shortly ({type(exc).__name__})"
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"Neo4j error at {uri}: {first}"


def open_driver(
    uri: str | None = None,
    user: str | None = None,
    password: str | None = None,
    *,
    verify: bool = True,
    settings: Neo4jSettings | None = None,
) -> Driver:
    """Create a driver with bounded timeouts; verify connectivity and credentials by default.

    Raises `StoreUnavailable` (one-line message) when the server is unreachable or the
    credentials are wrong.
    """
    s = settings or get_settings()
    target = uri or s.uri
    secret = password if password is not None else s.password.get_secret_value()
    try:
        driver = GraphDatabase.driver(
            target,
            auth=(user or s.user, secret),
            connection_timeout=s.connection_timeout,
            connection_acquisition_timeout=s.acquisition_timeout,
            max_transaction_retry_time=s.max_retry_time,
            keep_alive=True,
            notifications_min_severity="OFF",
        )
    except Exception as exc:  # malformed URI and similar
        raise StoreUnavailable(describe_error(exc, target)) from exc
    if verify:
        try:
            driver.verify_connectivity()
            driver.verify_authentication()
        except Exception as exc:
            driver.close()
            raise StoreUnavailable(describe_error(exc, target)) from exc
    return driver


def ping(driver: Driver, database: str | None = None, timeout: float = 1.0) -> None:
    """One `RETURN 1` read; raises on any failure (the breaker's probe)."""
    with driver.session(database=database, default_access_mode=neo4j.READ_ACCESS) as session:
        session.run(neo4j.Query("RETURN 1", timeout=timeout)).consume()  # type: ignore[arg-type]


def quiet_session(driver: Driver, database: str | None, fetch_size: int = 1000) -> Session:
    """A session without server notifications (the loader's setup, state reads and writes)."""
    return driver.session(
        database=database, notifications_min_severity="OFF", fetch_size=fetch_size
    )


# driver errors that mean "the store is unavailable right now" (the API answers 503 with
# Retry-After), so that callers map them without importing the driver
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    neo4j_errors.ServiceUnavailable,
    neo4j_errors.SessionExpired,
    neo4j_errors.TransientError,
    neo4j_errors.ConnectionAcquisitionTimeoutError,
)


_GUARDED_ERRORS: tuple[type[BaseException], ...] = (
    neo4j_errors.ServiceUnavailable,
    neo4j_errors.SessionExpired,
    neo4j_errors.AuthError,
    neo4j_errors.TransientError,
    OSError,
)


@contextmanager
def store_errors(uri: str) -> Iterator[None]:
    """Connection-level driver errors inside become `StoreUnavailable` (sync or async code;
    `guarded`, and the event loop's reads, graph.neo4j.aio)."""
    try:
        yield
    except DeadlineExceeded:
        raise  # a TimeoutError, so an OSError: the work's time is up, not the store
    except _GUARDED_ERRORS as exc:
        raise StoreUnavailable(describe_error(exc, uri)) from exc


def guarded(uri: str, fn: Callable[[], T]) -> T:
    """Run `fn`, turning connection-level driver errors into `StoreUnavailable`."""
    with store_errors(uri):
        return fn()


__all__ = [
    "UNAVAILABLE_ERRORS", "Neo4jSettings", "describe_error", "get_settings", "guarded",
    "open_driver", "ping", "quiet_session", "store_errors",
]
