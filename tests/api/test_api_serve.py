"""`guanlian serve` for real (uvicorn subprocess): JSON logs with request IDs, masked
identifiers, and the bench load generator against it on loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.test_api_support import tiny_run
from tests.support.graph_fixture import A1, A4

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # bench/ is a folder of the checkout, not an installed package
    sys.path.insert(0, str(ROOT))
from bench.load_test import (  # noqa: E402
    LoadSpec,
    get_requests,
    lookup_requests,
    percentile,
    run,
)

pytestmark = pytest.mark.slow
RESIDENT_ID = "310101197503020016"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _guanlian(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True,
                          text=True, check=True, timeout=60)


def test_serve_logs_json_and_answers_load(tmp_path: Path) -> None:
    run_dir = tiny_run(tmp_path)
    state = tmp_path / "state"
    key = _guanlian("keys", "create", "--role", "investigator", "--name", "load",
                    "--state-dir", str(state)).stdout.strip()
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--run", str(run_dir), "--port",
             str(port), "--state-dir", str(state)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        headers = {"X-API-Key": key}
        searched = httpx.get(base + "/search", params={"q": RESIDENT_ID}, headers=headers)
        assert searched.status_code == 200
        rid = searched.headers["X-Request-ID"]

        subjects = [{"uscc": u} for u in ("91310000MA1000003E", "91310000MA1000006J")]
        result = run(LoadSpec(base, lookup_requests(subjects), rate=40, clients=4,
                              duration_s=2, headers=headers, warmup=5))
        assert result.sent == 80 and result.errors == 0, result.summary()
        assert result.statuses == {"200": 80}
        assert 0 < result.p50_ms <= result.p99_ms
        gets = run(LoadSpec(base, get_requests([f"/entities/{A1}/risk",
                                                f"/entities/{A4}/risk"]),
                            rate=20, clients=2, duration_s=1, headers=headers, warmup=2))
        assert gets.sent == 20 and gets.errors == 0
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = [json.loads(line) for line in log_path.read_text().splitlines()
             if line.startswith("{")]
    access = [e for e in lines if e.get("request_id") == rid]
    assert access and access[0]["status"] == 200 and access[0]["path"] == "/search"
    assert RESIDENT_ID not in log_path.read_text()
    assert RESIDENT_ID in (state / "audit.jsonl").read_text()


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99
    assert percentile(values, 100) == 100 and percentile([3.0], 99) == 3.0
