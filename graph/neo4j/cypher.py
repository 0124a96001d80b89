"""The Neo4j read runner: every read query of the store goes through `Cypher.run`, which binds
the walk policy (`$cap`, `$wl`) and retries a dropped connection once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import neo4j
from neo4j import Driver
from neo4j import exceptions as neo4j_errors

from graph import deadline, schema
from graph.neo4j import queries
from graph.neo4j.breaker import CircuitBreaker
from graph.neo4j.template import fill

FETCH_SIZE = 1000  # records per PULL: every bounded read arrives in one batch
# connection-level failures worth one immediate retry (a pooled connection the server closed)
STALE_ERRORS = (neo4j_errors.SessionExpired, neo4j_errors.ServiceUnavailable)
# failures of the connection, not of the query: what the circuit breaker counts
CONNECTION_ERRORS = (neo4j_errors.SessionExpired, neo4j_errors.ServiceUnavailable,
               neo4j_errors.ConnectionAcquisitionTimeoutError, OSError)
LABELS_BY_PREFIX: dict[str, tuple[str, ...]] = {}
for _node in schema.NODE_TYPES.values():
    LABELS_BY_PREFIX.setdefault(_node.id_prefix, ())
    LABELS_BY_PREFIX[_node.id_prefix] += (_node.label,)


_PLAIN = (str, int, float, bool, type(None))


def native(value: Any) -> Any:
    """Driver values -> plain Python (neo4j.time.Date -> datetime.date), recursively; plain
    values first (they are nearly all of a result: a name lookup decodes thousands)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {k: v if isinstance(v, _PLAIN) else native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if isinstance(v, _PLAIN) else native(v) for v in value]
    if hasattr(value, "to_native"):
        return value.to_native()
    return value


def labels_for_id(node_id: str) -> tuple[str, ...]:
    return LABELS_BY_PREFIX.get(node_id[:1], ())


def bounded_query(query: str, tx_timeout: float | None) -> str | neo4j.Query:
    """`query` with its transaction timeout: `tx_timeout`, never past the work's deadline
    (`DeadlineExceeded` when that has passed already)."""
    deadline.check()
    timeout = deadline.bounded(tx_timeout) if tx_timeout is not None else deadline.remaining()
    if timeout is None:
        return query
    return neo4j.Query(query, timeout=max(0.001, timeout))  # type: ignore[arg-type]


@contextmanager
def read_bounds(breaker: CircuitBreaker | None) -> Iterator[None]:
    """Around one read and its retry (sync or async): refused at once while `breaker` is open;
    connection-level failures feed it and an answer closes it; a query the server stopped at
    its transaction timeout raises `DeadlineExceeded`. A passed deadline is not the
    connection's failure (`DeadlineExceeded` is a `TimeoutError`, so an `OSError`)."""
    if breaker is not None:
        breaker.check()
    try:
        yield
    except deadline.DeadlineExceeded:
        raise
    except CONNECTION_ERRORS as exc:
        if breaker is not None:
            breaker.failed(exc)
        raise
    except neo4j_errors.ClientError as exc:
        if "TransactionTimedOut" in (exc.code or ""):
            raise deadline.DeadlineExceeded("the query was stopped at its timeout") from exc
        raise
    if breaker is not None:
        breaker.succeeded()


class Cypher:
    """Runs read queries with the store's database, degree cap and hubs whitelist bound."""

    def __init__(
        self, driver: Driver, database: str | None, degree_cap: int, whitelist: list[str],
        *, breaker: CircuitBreaker | None = None, tx_timeout: float | None = None,
    ) -> None:
        self.driver = driver
        self.database = database
        self.degree_cap = degree_cap
        self.whitelist = whitelist
        self.breaker = breaker
        self.tx_timeout = tx_timeout

    def run(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """One auto-commit read (RUN + PULL pipelined: a single network round trip, where a
        managed transaction adds BEGIN / COMMIT). Reads are idempotent, so a connection the
        server dropped (restart) is retried once at once; a second failure propagates.

        Bounded: refused at once while the breaker is open or past the deadline
        (graph.deadline); the server cancels the query at the transaction timeout, never
        later than the deadline. Connection-level failures feed the breaker."""
        params.setdefault("cap", self.degree_cap)
        params.setdefault("wl", self.whitelist)
        with read_bounds(self.breaker):
            try:
                rows = self._run_once(query, params)
            except STALE_ERRORS:
                rows = self._run_once(query, params)
        return rows

    def _run_once(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        text = bounded_query(query, self.tx_timeout)
        with self.driver.session(
            database=self.database,
            default_access_mode=neo4j.READ_ACCESS,
            fetch_size=FETCH_SIZE,
        ) as session:
            return [native(dict(r)) for r in session.run(text, params)]

    def locate(self, node_id: str) -> str | None:
        """The label of the node with this ID, or None."""
        for label in labels_for_id(node_id):
            if self.run(fill(queries.LOCATE, label=schema.check_label(label)), id=node_id):
                return label
        return None
