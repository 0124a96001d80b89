"""The deadline of the work in progress (a request's), carried in a context variable.

The API sets it when a request starts; it follows the request into worker threads (context
variables are copied there). Store code reads it: a Neo4j query gets a transaction timeout no
longer than the time left (the server cancels it at the deadline), and long loops (a batch
screen) call `check()` between steps, so work whose caller has been answered stops instead of
running on. Outside a request there is no deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

_deadline: ContextVar[float | None] = ContextVar("guanlian_deadline", default=None)


class DeadlineExceeded(TimeoutError):
    """The work's deadline has passed: stop and let the caller answer."""


def start(seconds: float) -> Token[float | None]:
    """Set the deadline `seconds` from now (never later than one already set)."""
    at = time.monotonic() + seconds
    current = _deadline.get()
    return _deadline.set(at if current is None else min(at, current))


def reset(token: Token[float | None]) -> None:
    _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left (may be <= 0), None when there is no deadline."""
    at = _deadline.get()
    return None if at is None else at - time.monotonic()


def check() -> None:
    """Raise `DeadlineExceeded` when the deadline has passed."""
    left = remaining()
    if left is not None and left <= 0:
        raise DeadlineExceeded("the request's deadline has passed")


def bounded(limit: float) -> float:
    """`limit` seconds, or less when the deadline is nearer (at least 1 ms)."""
    left = remaining()
    return limit if left is None else max(0.001, min(limit, left))


@contextmanager
def within(seconds: float) -> Iterator[None]:
    token = start(seconds)
    try:
        yield
    finally:
        reset(token)
