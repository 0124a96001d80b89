"""Shared pieces of the Neo4j read queries: a read runner and whitelisted Cypher fragments."""

from __future__ import annotations

from typing import Any

import neo4j
from neo4j import Driver
from neo4j import exceptions as neo4j_errors

from graph import deadline, schema
from graph.neo4j.breaker import CircuitBreaker

NETWORK = "|".join(schema.check_rel_types(None))
CONTROL = "|".join(schema.check_rel_type(t) for t in schema.CONTROL_TYPES)
_EVENT_TYPE_CASE = (
    "CASE "
    + " ".join(
        f"WHEN {{v}}:{schema.check_label(label)} THEN '{etype}'"
        for etype, label in schema.EVENT_LABEL_BY_TYPE.items()
    )
    + " END"
)
_DISPLAY_CASE = (
    "CASE WHEN {v}:Enterprise OR {v}:Person THEN coalesce({v}.name, {v}.id) "
    "WHEN {v}:Address OR {v}:Phone THEN coalesce({v}.label, {v}.id) "
    "ELSE coalesce({v}.category, labels({v})[0]) END"
)
FETCH_SIZE = 1000  # records per PULL: every bounded read arrives in one batch
# connection-level failures worth one immediate retry (a pooled connection the server closed)
_STALE = (neo4j_errors.SessionExpired, neo4j_errors.ServiceUnavailable)
# failures of the connection, not of the query: what the circuit breaker counts
_CONNECTION = (neo4j_errors.SessionExpired, neo4j_errors.ServiceUnavailable,
               neo4j_errors.ConnectionAcquisitionTimeoutError, OSError)
LABELS_BY_PREFIX: dict[str, tuple[str, ...]] = {}
for _node in schema.NODE_TYPES.values():
    LABELS_BY_PREFIX.setdefault(_node.id_prefix, ())
    LABELS_BY_PREFIX[_node.id_prefix] += (_node.label,)


def native(value: Any) -> Any:
    """Driver values -> plain Python (neo4j.time.Date -> datetime.date), recursively."""
    if isinstance(value, dict):
        return {k: native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [native(v) for v in value]
    if hasattr(value, "to_native"):
        return value.to_native()
    return value


def summary_from(v: str) -> str:
    """Map projection of an entity node into `EntitySummary` fields."""
    return (
        f"{{entity_id: {v}.id, kind: labels({v})[0], name: coalesce({v}.name, {v}.id), "
        f"uscc: {v}.uscc, customs_code: {v}.customs_code, id_number: {v}.id_number, "
        f"risk_level: {v}.risk_level, risk_score: {v}.risk_score}}"
    )


def event_from(v: str) -> str:
    """Map projection of an event node into `Event` fields."""
    return (
        f"{{event_id: {v}.id, type: {_EVENT_TYPE_CASE.format(v=v)}, date: {v}.date, "
        f"category: {v}.category, amount: {v}.amount, description: {v}.description, "
        f"source: {v}.source, record_id: {v}.record_id}}"
    )


def display_of(v: str) -> str:
    return _DISPLAY_CASE.format(v=v)


def labels_for_id(node_id: str) -> tuple[str, ...]:
    return LABELS_BY_PREFIX.get(node_id[:1], ())


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
        breaker = self.breaker
        if breaker is not None:
            breaker.check()
        try:
            try:
                rows = self._run_once(query, params)
            except _STALE:
                rows = self._run_once(query, params)
        except _CONNECTION as exc:
            if breaker is not None:
                breaker.failed(exc)
            raise
        except neo4j_errors.ClientError as exc:
            if "TransactionTimedOut" in (exc.code or ""):
                raise deadline.DeadlineExceeded("the query was stopped at its timeout") from exc
            raise
        if breaker is not None:
            breaker.succeeded()
        return rows

    def _run_once(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        deadline.check()
        timeout = (deadline.bounded(self.tx_timeout) if self.tx_timeout is not None
                   else deadline.remaining())
        text: str | neo4j.Query = query
        if timeout is not None:
            text = neo4j.Query(query, timeout=max(0.001, timeout))  # type: ignore[arg-type]
        with self.driver.session(
            database=self.database,
            default_access_mode=neo4j.READ_ACCESS,
            fetch_size=FETCH_SIZE,
        ) as session:
            return [native(dict(r)) for r in session.run(text, params)]

    @staticmethod
    def blocked(v: str) -> str:
        """Boolean Cypher: node `v` exceeds the degree cap ($cap) or is a whitelisted hub ($wl)."""
        return f"(COUNT {{ ({v})-[:{NETWORK}]-() }} > $cap OR {Cypher.whitelisted(v)})"

    @staticmethod
    def whitelisted(v: str) -> str:
        """Boolean Cypher (never null): `v` is an Address / Phone on the hubs whitelist ($wl)."""
        return (
            f"(({v}:Address OR {v}:Phone) AND any(k IN [{v}.id, {v}.label, {v}.address_std, "
            f"{v}.phone] WHERE k IS NOT NULL AND k IN $wl))"
        )

    @staticmethod
    def violating(v: str) -> str:
        return f"(({v}:Enterprise OR {v}:Person) AND EXISTS {{ ({v})-[:SUBJECT_OF]->() }})"

    def locate(self, node_id: str) -> str | None:
        """The label of the node with this ID, or None."""
        for label in labels_for_id(node_id):
            lab = schema.check_label(label)
            if self.run(f"MATCH (n:{lab} {{id: $id}}) RETURN n.id AS id", id=node_id):
                return label
        return None
