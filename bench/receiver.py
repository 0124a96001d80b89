"""A local webhook receiver (loopback) that fails on purpose: each call answers 500 with
probability `fail_rate` (seeded), else checks the HMAC signature (401 when wrong) and records
the event ID. Used by the webhook tests and the bench's warning stage."""

from __future__ import annotations

import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from alerts.state.webhooks import verify


class FlakyReceiver:
    def __init__(self, secret: str, fail_rate: float = 0.3, seed: int = 7) -> None:
        self.secret = secret
        self.fail_rate = fail_rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()  # accepted deliveries per event ID
        self.calls = 0
        self.failed = 0
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.handle(body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            self.calls += 1
            if self.rng.random() < self.fail_rate:
                self.failed += 1
                return 500
            if not verify(self.secret, headers.get("X-Guanlian-Timestamp", ""), body,
                          headers.get("X-Guanlian-Signature", "")):
                self.bad_signatures += 1
                return 401
            self.received[headers.get("X-Guanlian-Event-Id", "")] += 1
            return 204

    def __enter__(self) -> FlakyReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
