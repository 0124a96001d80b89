"""Bench stage: the served API with its Neo4j frozen (SIGSTOP) and thawed (SIGCONT).

Serves the run from Neo4j (`guanlian serve --neo4j`), checks a lookup answers, freezes the
Neo4j server process (found by the Bolt port it listens on), and measures the time to the
first 503 of a lookup sent right after the freeze, the time of a 503 once the breaker is
open, and, after SIGCONT, the time until lookups answer 200 again with no restart of the
service. The server is always thawed (finally).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any
from urllib.parse import urlparse


def server_pid(uri: str) -> int:
    """The pid of the process listening on the Bolt port of `uri`."""
    import psutil

    port = urlparse(uri).port
    for conn in psutil.net_connections(kind="tcp"):
        if (conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN
                and conn.pid):
            return int(conn.pid)
    raise RuntimeError(f"no process listens on the Bolt port {port}")


def frozen_neo4j(url: str, key: str, uri: str, subject: dict[str, Any]) -> dict[str, Any]:
    import httpx

    headers = {"X-API-Key": key}

    def lookup() -> tuple[int, float, str | None]:
        started = time.monotonic()
        answer = httpx.post(f"{url}/inspection/lookup", json=subject, headers=headers,
                            timeout=30)
        return answer.status_code, time.monotonic() - started, answer.headers.get("Retry-After")

    status, _, _ = lookup()
    if status != 200:
        raise RuntimeError(f"the lookup answers {status} before the freeze")
    pid = server_pid(uri)
    os.kill(pid, signal.SIGSTOP)
    try:
        first, first_s, first_retry = lookup()
        open_status, open_s, open_retry = lookup()
    finally:
        os.kill(pid, signal.SIGCONT)
    thawed = time.monotonic()
    recovered_s: float | None = None
    while time.monotonic() - thawed < 60:
        if lookup()[0] == 200:
            recovered_s = time.monotonic() - thawed
            break
        time.sleep(0.1)
    return {
        "frozen_first_status": first, "frozen_first_503_s": round(first_s, 3),
        "frozen_open_status": open_status, "frozen_open_503_s": round(open_s, 3),
        "frozen_retry_after_s": int(first_retry or open_retry or 0) or None,
        "recovered_after_sigcont_s": None if recovered_s is None else round(recovered_s, 3),
        "recovered_without_restart": recovered_s is not None,
    }
