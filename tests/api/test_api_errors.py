"""One error format, validation naming the field, limits, time bound, store failures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from graph.embedded.store import EmbeddedStore
from graph.store import StoreUnavailable
from tests.api.test_api_support import Served, create_keys, make_settings, serve
from tests.support.graph_fixture import A1


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("errors")) as s:
        yield s


PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}


def _is_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == status and body["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_problem_shape_and_request_id(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        missing = s.get("/entities/E0123456789ab", headers={"X-Request-ID": "abc-123"})
        body = _is_problem(missing, 404, "not_found")
        assert body["request_id"] == "abc-123"
        assert "E0123456789ab" in body["detail"]
        generated = s.get("/whoami")
        assert len(generated.headers["X-Request-ID"]) == 32
        bad_id = s.get("/whoami", headers={"X-Request-ID": "bad id with spaces"})
        assert bad_id.headers["X-Request-ID"] != "bad id with spaces"
        _is_problem(s.client.get("/whoami"), 401, "unauthenticated")
        _is_problem(s.get("/no/such/route"), 404, "not_found")
        _is_problem(s.client.put("/healthz"), 405, "method_not_allowed")


@pytest.mark.parametrize(("path", "field"), [
    (f"/entities/{A1}/network?depth=4", "query.depth"),
    (f"/entities/{A1}/network?types=LEGAL_REP_OF,DROP", "query.types"),
    (f"/entities/{A1}/network?cap=0", "query.cap"),
    ("/entities/not-an-id", "path.entity_id"),
    ("/search?q=", "query.q"),
    ("/search", "query.q"),
    ("/search?q=x&limit=1000", "query.limit"),
    (f"/paths?source={A1}&target=E1&max_hops=2", "query.target"),
    ("/risk/cycles?max_length=9", "query.max_length"),
])
def test_validation_errors_name_the_field(served: Served, path: str, field: str) -> None:
    body = _is_problem(served.get(path), 422, "validation_error")
    assert field in [e["field"] for e in body["errors"]], body
    assert field in body["detail"]


def test_body_validation_names_the_field(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        empty = _is_problem(s.post("/inspection/lookup", json={}), 422, "validation_error")
        assert empty["errors"][0]["field"] == "body"
        long = _is_problem(s.post("/inspection/lookup", json={"name": "x" * 201}), 422,
                           "validation_error")
        assert long["errors"][0]["field"] == "body.name"
        too_many = {"subjects": [{"uscc": "91310000MA1000003E"}] * 1001}
        many = _is_problem(s.post("/inspection/screen", json=too_many), 422, "validation_error")
        assert many["errors"][0]["field"] == "body.subjects"
        nested = {"subjects": [{"uscc": "x"}, {"customs_code": ""}]}
        bad = _is_problem(s.post("/inspection/screen", json=nested), 422, "validation_error")
        assert bad["errors"][0]["field"] == "body.subjects.1.customs_code"


def test_errors_never_leak_traces_or_identifiers(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: EmbeddedStore, *a: Any, **k: Any) -> Any:
        raise RuntimeError("boom for 110101199003071234 at /secret/path.py")

    monkeypatch.setattr(EmbeddedStore, "rings", explode)
    with serve(tmp_path, raise_errors=False) as s:
        response = s.get("/risk/rings")
        body = _is_problem(response, 500, "internal_error")
        assert "boom" not in response.text and "Traceback" not in response.text
        assert "110101199003071234" not in response.text
        audit = s.settings.audit_path.read_text()
    assert '"status":500' in audit and '"outcome":"error"' in audit
    assert body["request_id"]


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    with serve(tmp_path, rate_limit_rps=1, rate_limit_burst=3) as s:
        codes = [s.get("/whoami").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = s.get("/whoami")
        _is_problem(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        assert s.get("/whoami", role="admin").status_code == 200  # buckets are per key


def test_body_size_bound_answers_413(tmp_path: Path) -> None:
    with serve(tmp_path, max_body_bytes=4096) as s:
        big = {"subjects": [{"name": "上海华信进出口贸易有限公司" * 5}] * 100}
        _is_problem(s.post("/inspection/screen", json=big), 413, "payload_too_large")

        def chunks() -> Any:  # no Content-Length: counted while streaming
            for _ in range(10):
                yield b" " * 1000

        streamed = s.client.post("/inspection/lookup", content=chunks(),
                                 headers={**s.auth("inspector"),
                                          "Content-Type": "application/json"})
        _is_problem(streamed, 413, "payload_too_large")
        assert s.post("/inspection/lookup", json={"name": "华信"}).status_code == 200


def test_slow_store_gets_503_within_the_time_bound(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real_hubs = EmbeddedStore.hubs

    def slow_hubs(self: EmbeddedStore, *a: Any, **k: Any) -> Any:
        time.sleep(1.5)
        return real_hubs(self, *a, **k)

    monkeypatch.setattr(EmbeddedStore, "hubs", slow_hubs)
    with serve(tmp_path, request_timeout_s=0.3, retry_after_s=7) as s:
        started = time.perf_counter()
        response = s.get("/risk/hubs")
        assert time.perf_counter() - started < 1.2
        _is_problem(response, 503, "timeout")
        assert response.headers["Retry-After"] == "7"
        assert s.get("/risk/cycles").status_code == 200  # the service goes on answering
        time.sleep(1.5)


def test_unreachable_store_answers_503_and_readyz_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(self: EmbeddedStore, *a: Any, **k: Any) -> Any:
        raise StoreUnavailable("connection refused")

    with serve(tmp_path, retry_after_s=3) as s:
        assert s.client.get("/readyz").status_code == 200
        monkeypatch.setattr(EmbeddedStore, "search", down)
        monkeypatch.setattr(EmbeddedStore, "search_page", down)  # the /search page's read
        monkeypatch.setattr(EmbeddedStore, "ping", lambda self: False)
        body = _is_problem(s.get("/search", params={"q": "华信"}), 503, "store_unavailable")
        assert "connection refused" not in body["detail"]
        ready = s.client.get("/readyz")
        _is_problem(ready, 503, "store_unavailable")
        assert ready.headers["Retry-After"] == "3"
        monkeypatch.undo()
        assert s.client.get("/readyz").status_code == 200
        assert s.get("/search", params={"q": "华信"}).status_code == 200
        metrics = s.get("/metrics", role="admin").text
    assert 'guanlian_store_errors_total{error="StoreUnavailable"}' in metrics


def test_no_run_loaded(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, None)
    keys, _ = create_keys(settings)
    with TestClient(create_app(settings)) as client:
        _is_problem(client.get("/readyz"), 503, "no_run_loaded")
        assert client.get("/healthz").status_code == 200
        headers = {"X-API-Key": keys["investigator"]}
        assert client.get("/whoami", headers=headers).status_code == 200
        _is_problem(client.get("/search?q=x", headers=headers), 503, "no_run_loaded")


def test_metrics_count_requests_by_route_and_status(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        s.get(f"/entities/{A1}")
        s.get("/entities/E0123456789ab")
        text = s.get("/metrics", role="admin").text
    assert ('guanlian_http_requests_total{method="GET",route="/entities/{entity_id}",'
            'status="200"} 1.0') in text
    assert 'route="/entities/{entity_id}",status="404"} 1.0' in text
    assert "guanlian_http_request_duration_seconds_bucket" in text


def test_metrics_can_be_public(tmp_path: Path) -> None:
    with serve(tmp_path, metrics_public=True) as s:
        assert s.client.get("/metrics").status_code == 200


def test_default_secret_is_refused_outside_development(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="default or empty Neo4j password"):
        make_settings(tmp_path, None, store="neo4j", neo4j_uri="bolt://127.0.0.1:1",
                      neo4j_password="neo4j", environment="production")
    ok = make_settings(tmp_path, None, store="neo4j", neo4j_uri="bolt://127.0.0.1:1",
                       neo4j_password="s3cret-long", environment="production")
    assert ok.store_kind == "neo4j"
    dev = make_settings(tmp_path, None, neo4j_uri="bolt://x:1", environment="development",
                        store="auto")
    assert dev.store_kind == "neo4j"


def test_conventional_neo4j_variables_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import Settings

    monkeypatch.setenv("NEO4J_URI", "bolt://db:7687")
    monkeypatch.setenv("NEO4J_USER", "reader")
    monkeypatch.setenv("NEO4J_PASSWORD", "pw-from-env")
    monkeypatch.setenv("GUANLIAN_RATE_LIMIT_RPS", "7")
    s = Settings()
    assert (s.neo4j_uri, s.neo4j_user, s.neo4j_password.get_secret_value()) == (
        "bolt://db:7687", "reader", "pw-from-env")
    assert s.rate_limit_rps == 7 and s.store_kind == "neo4j"
