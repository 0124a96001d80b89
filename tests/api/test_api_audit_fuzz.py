"""Property: every answered request has exactly one durable audit entry, whatever it holds.

Hypothesis sends arbitrary JSON bodies (any Unicode, lone surrogates as JSON escapes),
arbitrary query strings and path parameters (any bytes, percent-encoded), to every route of
the app and to unknown ones, as every role, without a key and with a wrong key. After each
answer the log must have grown by exactly one entry carrying the request's ID and status
(none for the public probes and documentation), and canonical encoding never raises.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.audit_middleware import PUBLIC_PREFIXES
from api.audit_record import Redactor, canonical
from api.inspection import SUBJECT_FIELDS
from tests.api.test_api_support import ROLES, Served, serve
from tests.support.graph_fixture import A1

# any code point, lone surrogates included (hypothesis leaves them out by default)
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, categories=None)
TEXT = st.text(ANY_CHAR, max_size=30) | st.sampled_from(
    ["\ud800", "310101195311203938", "13812345678", "\x00", "A" * 500, A1])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
SUBJECT = st.dictionaries(st.sampled_from(SUBJECT_FIELDS), TEXT | JSON, min_size=1,
                          max_size=5)
BODY = (JSON | SUBJECT | st.builds(lambda s: {"subjects": s}, st.lists(SUBJECT, max_size=5))
        | st.builds(lambda n, r: {"name": n, "role": r}, TEXT, st.sampled_from(ROLES)))
CALLERS = (*ROLES, None, "wrong")
_ids = itertools.count()


def _encode(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("fuzz"), rate_limit_rps=100_000,
               rate_limit_burst=100_000) as s:
        yield s


def _routes(s: Served) -> list[tuple[str, str]]:
    """Every documented operation, the public pages, and two unknown routes."""
    spec = s.client.app.openapi()  # type: ignore[attr-defined]
    out = [(method.upper(), path) for path, item in spec["paths"].items() for method in item]
    return [*out, ("GET", "/ui/"), ("GET", "/healthz"), ("GET", "/no/such/route"),
            ("POST", "/inspection/unknown")]


@st.composite
def requests(draw: st.DrawFn, routes: list[tuple[str, str]]) -> dict[str, Any]:
    method, template = draw(st.sampled_from(routes))
    path = template
    while "{" in path:
        head, rest = path.split("{", 1)
        value = draw(st.sampled_from([A1, "P0000000000c1", "abc"]) | TEXT)
        path = head + _encode(value or "x") + rest.split("}", 1)[1]
    query = draw(st.lists(st.tuples(TEXT, TEXT), max_size=4))
    body = draw(st.none() | BODY) if method in ("POST", "PUT", "PATCH") else None
    return {"method": method, "path": path, "template": template,
            "query": "&".join(f"{_encode(k)}={_encode(v)}" for k, v in query),
            "body": None if body is None else json.dumps(body, ensure_ascii=True),
            "caller": draw(st.sampled_from(CALLERS))}


def _headers(s: Served, caller: str | None, rid: str) -> dict[str, str]:
    headers = {"X-Request-ID": rid, "Content-Type": "application/json"}
    if caller == "wrong":
        headers["X-API-Key"] = "gl_0123456789ab_not-the-secret"
    elif caller is not None:
        headers.update(s.auth(caller))
    return headers


def test_every_answered_request_has_exactly_one_entry(served: Served) -> None:
    log_path = served.settings.audit_path
    offset = [log_path.stat().st_size]
    routes = _routes(served)
    seen_routes: set[str] = set()

    @settings(max_examples=250, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(request=requests(routes))
    def check(request: dict[str, Any]) -> None:
        rid = f"fuzz-{next(_ids)}"
        url = request["path"] + (f"?{request['query']}" if request["query"] else "")
        response = served.client.request(
            request["method"], url, headers=_headers(served, request["caller"], rid),
            content=request["body"].encode("ascii") if request["body"] is not None else None,
            follow_redirects=False)  # a redirect's next request is a request of its own
        with log_path.open("rb") as f:
            f.seek(offset[0])
            new = f.read()
        offset[0] += len(new)
        entries = [json.loads(line) for line in new.splitlines()]
        if request["path"].startswith(PUBLIC_PREFIXES):
            assert entries == []
            return
        assert response.status_code != 503 or "audit_unavailable" not in response.text
        assert len(entries) == 1, (request, entries)
        assert entries[0]["request_id"] == rid and entries[0]["status"] == response.status_code
        if request["template"] == "/inspection/screen" and response.status_code == 200:
            listed = entries[0]["params"]["subjects"]  # one entry listing every subject
            assert len(listed) == len(json.loads(request["body"])["subjects"])
        seen_routes.add(request["template"])

    check()
    assert len(seen_routes) >= len({t for _, t in routes}) // 2


@settings(max_examples=300, deadline=None)
@given(value=JSON | st.sets(st.integers() | TEXT) | st.binary() | st.integers(min_value=2**70))
def test_canonical_encoding_accepts_anything(value: Any) -> None:
    raw = canonical(value)
    assert raw.isascii()
    assert canonical(json.loads(raw)) == raw  # what verify recomputes is what was MAC'd
    bounded = Redactor(b"k" * 32).value({"params": value, "declarant_name": value})
    assert canonical(json.loads(canonical(bounded))) == canonical(bounded)


def test_the_canonical_form_of_the_issue_request_is_escaped(tmp_path: Path) -> None:
    raw = canonical({"declarant_name": "\ud800", "name": "上海"})
    assert raw == b'{"declarant_name":"\\ud800","name":"\\u4e0a\\u6d77"}'
