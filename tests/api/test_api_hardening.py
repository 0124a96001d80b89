"""Parameter bounds (the two 500s of issue 14), printable key names, no-store caching and the
local Swagger UI under a Content-Security-Policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.auth import KeyStore
from api.cli import app as cli
from api.validation import printable_problem, shown
from tests.api.test_api_support import Served, serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("hardening")
    (base / "data").mkdir()
    with serve(base, data_root=base / "data") as s:
        yield s


def test_a_huge_audit_offset_is_a_422_problem(served: Served) -> None:
    answer = served.get("/admin/audit?offset=9223372036854775808", role="admin")
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == "query.offset"
    assert served.get("/admin/audit?offset=1000000", role="admin").status_code == 200


def test_a_nul_in_job_sources_is_a_422_problem(served: Served) -> None:
    answer = served.post("/admin/jobs", role="admin", json={"sources": "a\u0000b"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "validation_error"
    assert answer.json()["errors"][0]["field"] == "body.sources"


@pytest.mark.parametrize("text", ["\ud800", "a\u0000b", "x\x1b[31m", "a\u202eb", "a\nb"])
def test_subject_text_must_be_printable(served: Served, text: str) -> None:
    # JSON text with \u escapes: a lone surrogate cannot be sent as UTF-8
    body = json.dumps({"declarant_id": "310101195311203938", "declarant_name": text})
    answer = served.post("/inspection/lookup", role="inspector", content=body,
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "body.declarant_name"


def test_key_names_must_be_printable_in_the_api_the_store_and_the_cli(
    served: Served, tmp_path: Path
) -> None:
    forged = "desk\n0123456789ab\tadmin\tforged\t2026\tactive"
    answer = served.post("/admin/keys", role="admin", json={"name": forged,
                                                            "role": "inspector"})
    assert answer.status_code == 422, answer.text
    store = KeyStore(tmp_path / "keys.sqlite")
    try:
        with pytest.raises(ValueError, match="control character"):
            store.create(forged, "inspector")
        with pytest.raises(ValueError, match="control character"):
            store.create("red\x1b[31m", "inspector")
        record, _ = store.create("港口 3100 窗口 2", "inspector")
        assert record.name == "港口 3100 窗口 2"
    finally:
        store.close()
    made = CliRunner().invoke(cli, ["keys", "create", "--role", "admin", "--name", forged,
                                    "--state-dir", str(tmp_path)])
    assert made.exit_code == 2 and "control character" in made.output


def test_keys_list_cannot_be_forged_by_a_stored_name(tmp_path: Path) -> None:
    # a name written before validation existed (straight into the table)
    store = KeyStore(tmp_path / "keys.sqlite")
    record, _ = store.create("plain", "inspector")
    store._db.execute("UPDATE api_keys SET name = ? WHERE key_id = ?",
                      ("x\nfffffffffff\tadmin\tforged", record.key_id))
    store.close()
    listed = CliRunner().invoke(cli, ["keys", "list", "--state-dir", str(tmp_path)])
    assert listed.exit_code == 0
    lines = [line for line in listed.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "x\\nfffffffffff\\tadmin" in lines[0]


def test_printable_checks() -> None:
    assert printable_problem("上海华信 Co., Ltd. (2)") is None
    assert printable_problem("a\u3000b") is None  # ideographic space is text
    problem = printable_problem("ab\x07")
    assert problem is not None and "U+0007 at position 2" in problem
    assert shown("a\x1b[0m\u202e") == "a\\x1b[0m\\u202e"


@pytest.mark.parametrize("path,role", [("/whoami", "inspector"), ("/healthz", None),
                                       ("/entities/E000000000000", "investigator"),
                                       ("/admin/keys", "admin"), ("/openapi.json", None)])
def test_every_api_answer_is_no_store(served: Served, path: str, role: str | None) -> None:
    answer = served.get(path, role=role)
    assert answer.headers["cache-control"] == "no-store", path
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_swagger_ui_is_served_locally_under_a_csp(served: Served) -> None:
    page = served.client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    assert "<script>" not in page.text  # no inline script
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    for asset in ("/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/init.js"):
        got = served.client.get(asset)
        assert got.status_code == 200 and len(got.content) > 100, asset
        assert got.headers["content-security-policy"] == csp
    assert served.client.get("/docs/../api/auth.py").status_code == 404
    assert served.client.get("/docs/index.html").status_code == 404  # whitelist only
    assert served.client.get("/redoc").status_code == 404


def test_search_text_must_be_printable(served: Served) -> None:
    answer = served.get("/search", params={"q": "华信\x1b[2J"}, role="investigator")
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "query.q"
    ok = served.get("/search", params={"q": "华信 进出口"}, role="investigator")
    assert ok.status_code == 200
