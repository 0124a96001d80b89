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
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from tests.api.test_api_support import create_keys, make_settings, tiny_run

_BASE = Path(tempfile.mkdtemp(prefix="guanlian-schemathesis-"))
# a data root without sources: admin job starts are refused (422), never run
(_BASE / "data").mkdir()
_SETTINGS = make_settings(_BASE, tiny_run(_BASE), rate_limit_rps=10_000,
                          rate_limit_burst=10_000,
                          data_root=_BASE / "data", heavy_concurrency=8,
                          # every operation is also called with a wrong key: the failed-key
                          # limit per client address (its own tests) must not turn those into 429
                          auth_failure_burst=100_000)
_KEYS, _ = create_keys(_SETTINGS)
app = create_app(_SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


# operations whose schema-valid requests may rightly be refused for the server's state: a job
# needs a sources.yaml that exists under the data root
_STATEFUL: dict[str, list[Any]] = {"/admin/jobs": [positive_data_acceptance]}


def _conforms(role: str) -> Any:
    @schema.parametrize()
    @settings(max_examples=6, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def conforms(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"X-API-Key": _KEYS[role]},
                               excluded_checks=_STATEFUL.get(case.operation.path, []))

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
