"""Schemathesis against the OpenAPI schema on the real embedded store, once per role
(inspector, investigator, admin: what a role may not do must be a documented 403).

No 500s, and every answer conforms to the documented status codes, media types and schemas.
The number of generated examples per operation is kept small so the test runs in well under
a minute.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from api.app import create_app
from tests.api.test_api_support import create_keys, make_settings, tiny_run

_BASE = Path(tempfile.mkdtemp(prefix="guanlian-schemathesis-"))
# a data root without sources: admin job starts are refused (422), never run
(_BASE / "data").mkdir()
_SETTINGS = make_settings(_BASE, tiny_run(_BASE), rate_limit_rps=10_000,
                          rate_limit_burst=10_000,
                          # every operation is also tried with bad keys: the failed-key limit
                          # (tests/api/test_api_abuse.py) must not turn those 401s into 429s
                          auth_failure_burst=100_000, auth_failures_per_minute=100_000,
                          data_root=_BASE / "data", heavy_concurrency=8)
_KEYS, _ = create_keys(_SETTINGS)
app = create_app(_SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


# operations whose schema-valid requests may rightly be refused for the server's state: a job
# needs a sources.yaml that exists under the data root
_STATEFUL: dict[str, list[Any]] = {"/admin/jobs": [positive_data_acceptance]}
# and, on any operation that takes a name for an entity, a name the data holds for several
# entities (`GET /paths?source=w`: three people's names start with the syllable): the
# documented 422 `ambiguous_name` with its candidates, which the other checks still validate
_DATA_REFUSALS = {"ambiguous_name"}


def _refused_for_the_data(response: Any) -> bool:
    if response.status_code != 422:
        return False
    try:
        return response.json().get("code") in _DATA_REFUSALS
    except ValueError:
        return False


def _conforms(role: str) -> Any:
    @schema.parametrize()
    @settings(max_examples=6, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def conforms(case: schemathesis.Case) -> None:
        headers = {"X-API-Key": _KEYS[role]}
        response = case.call(headers=headers)
        excluded = list(_STATEFUL.get(case.operation.path, []))
        if _refused_for_the_data(response):
            excluded.append(positive_data_acceptance)
        if response.status_code == 413:
            # schema-violating data can be megabytes (maxItems + 1 items of nested junk): the
            # body limit refuses it before validation, with the documented 413, which the
            # check's default list of rejection statuses leaves out
            excluded.append(negative_data_rejection)
        case.validate_response(response, excluded_checks=excluded, headers=headers)

    return conforms


test_api_conforms_to_its_schema = _conforms("investigator")
test_api_conforms_to_its_schema_as_inspector = _conforms("inspector")
test_api_conforms_to_its_schema_as_admin = _conforms("admin")


def test_every_operation_is_documented() -> None:
    spec = app.openapi()
    assert spec["paths"], "no operations"
    for path, item in spec["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            ok = [s for s in op["responses"] if s.startswith("2")]
            assert ok, where
            content = op["responses"][ok[0]].get("content", {})
            assert any("schema" in c for c in content.values()), where
            for status, response in op["responses"].items():
                if status[0] in "45":
                    assert set(response["content"]) == {"application/problem+json"}, where
                    media = response["content"]["application/problem+json"]
                    assert media["schema"]["$ref"].endswith("/Problem"), where
                    assert media["example"]["status"] == int(status), where
            if path not in ("/healthz", "/readyz"):
                assert "401" in op["responses"] and "403" in op["responses"], where


def test_an_ambiguous_name_is_the_only_422_let_through() -> None:
    """The request schemathesis found: a schema-valid path whose source name means three
    people is refused with the documented `ambiguous_name` 422 (candidates listed); that
    refusal, and no other 422, is excused from the positive-data check."""
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        firm = "上海华信进出口贸易有限公司"
        answer = client.get("/paths", params={"source": "w", "target": firm},
                            headers={"X-API-Key": _KEYS["investigator"]})
        assert answer.status_code == 422 and answer.json()["candidates"]
        assert _refused_for_the_data(answer)
        invalid = client.get("/paths", params={"source": "w", "max_depth": "x"},
                             headers={"X-API-Key": _KEYS["investigator"]})
        assert invalid.status_code == 422 and not _refused_for_the_data(invalid)
