"""API keys and roles: every route refuses the roles below it; revocation needs no restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.auth import KeyStore
from api.cli import app as cli
from tests.api.test_api_support import ROLES, Served, serve
from tests.support.graph_fixture import A1, CTRL

RANK = {role: i for i, role in enumerate(ROLES)}
LOOKUP = {"uscc": "91310000MA1000003E"}

# (method, path, JSON body, the lowest role allowed)
ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/whoami", None, "inspector"),
    ("GET", "/search?q=华信", None, "inspector"),
    ("GET", f"/entities/{A1}/risk", None, "inspector"),
    ("POST", "/inspection/lookup", LOOKUP, "inspector"),
    ("POST", "/inspection/screen", {"subjects": [LOOKUP]}, "inspector"),
    ("GET", f"/entities/{A1}", None, "investigator"),
    ("GET", f"/entities/{A1}/network", None, "investigator"),
    ("GET", f"/entities/{A1}/exposure", None, "investigator"),
    ("GET", f"/entities/{A1}/beneficial-owners", None, "investigator"),
    ("GET", f"/paths?source={CTRL}&target={A1}", None, "investigator"),
    ("GET", "/risk/shared-controllers", None, "investigator"),
    ("GET", "/risk/phoenix", None, "investigator"),
    ("GET", "/risk/hubs", None, "investigator"),
    ("GET", "/risk/cycles", None, "investigator"),
    ("GET", "/risk/rings", None, "investigator"),
    ("GET", "/risk/entities", None, "investigator"),
    ("GET", "/alerts", None, "investigator"),
    ("GET", "/alerts/1", None, "investigator"),
    ("POST", "/alerts/1/acknowledge", None, "investigator"),
    ("POST", "/cases", {"alert_id": 1}, "investigator"),
    ("GET", "/cases", None, "investigator"),
    ("GET", "/cases/1", None, "investigator"),
    ("POST", "/cases/1/alerts", {"alert_id": 1}, "investigator"),
    ("POST", "/cases/1/assign", {"assignee": "x"}, "investigator"),
    ("POST", "/cases/1/notes", {"text": "x"}, "investigator"),
    ("POST", "/cases/1/status", {"status": "in_progress"}, "investigator"),
    ("POST", "/cases/1/close", {"outcome": "confirmed"}, "investigator"),
    ("GET", "/watchlists", None, "investigator"),
    ("POST", "/watchlists", {"name": "w", "kind": "entity", "entity_id": A1}, "investigator"),
    ("GET", "/watchlists/1", None, "investigator"),
    ("DELETE", "/watchlists/1", None, "investigator"),
    ("GET", "/investigations", None, "investigator"),
    ("POST", "/investigations", {"name": "i"}, "investigator"),
    ("GET", "/investigations/1", None, "investigator"),
    ("PUT", "/investigations/1", {"notes": "n"}, "investigator"),
    ("DELETE", "/investigations/1", None, "investigator"),
    ("POST", "/webhooks", {"url": "http://127.0.0.1:9/hook"}, "admin"),
    ("GET", "/webhooks/deliveries", None, "admin"),
    ("GET", "/admin/jobs", None, "admin"),
    ("GET", "/admin/jobs/20260101T000000-abcdef", None, "admin"),
    ("POST", "/admin/jobs/20260101T000000-abcdef/cancel", None, "admin"),
    ("GET", "/admin/audit", None, "admin"),
    ("GET", "/admin/audit/verify", None, "admin"),
    ("GET", "/admin/keys", None, "admin"),
    ("POST", "/admin/keys", {"name": "new", "role": "inspector"}, "admin"),
    ("DELETE", "/admin/keys/0123456789ab", None, "admin"),
    ("GET", "/metrics", None, "admin"),
    ("POST", "/inspection/draws", {"seed": 1, "targets": 2}, "investigator"),
    ("GET", "/inspection/draws/1", None, "investigator"),
    ("GET", "/inspection/draws/1/notice", None, "investigator"),
    ("GET", "/inspection/inspectors", None, "investigator"),
    ("POST", "/inspection/inspectors",
     {"inspectors": [{"code": "JC1", "name": "甲", "id_number": "310104198505050020"}]},
     "admin"),
    ("POST", "/inspection/outcomes", {"request_id": "r1", "entity_id": A1, "result": "pass",
                                      "inspected_on": "2026-01-02"}, "inspector"),
    ("GET", "/inspection/report", None, "investigator"),
]
PUBLIC = ["/healthz", "/readyz", "/ui/"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with serve(tmp_path_factory.mktemp("auth")) as s:
        yield s


def _call(s: Served, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return s.client.request(method, path, json=body, headers=headers)


def test_every_route_is_covered_by_the_role_table(served: Served) -> None:
    schema_paths = {
        (method.upper(), path)
        for path, item in served.client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in item
    }
    table = set()
    for method, path, _, _ in ROUTES:
        bare = path.split("?")[0]
        for template_method, template in schema_paths:
            parts, tparts = bare.split("/"), template.split("/")
            if template_method == method and len(parts) == len(tparts) and all(
                t.startswith("{") or t == p for p, t in zip(parts, tparts, strict=True)
            ):
                table.add((template_method, template))
    public = {("GET", "/healthz"), ("GET", "/readyz")}
    assert schema_paths - public - {("POST", "/admin/jobs")} <= table
    assert ("POST", "/admin/jobs") in schema_paths  # refused below admin in its own test


@pytest.mark.parametrize(("method", "path", "body", "needed"), ROUTES,
                         ids=[f"{m} {p.split('?')[0]}" for m, p, _, _ in ROUTES])
def test_each_role_is_refused_what_it_may_not_do(
    served: Served, method: str, path: str, body: Any, needed: str
) -> None:
    for role in ROLES:
        response = _call(served, method, path, body, served.auth(role))
        if RANK[role] < RANK[needed]:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["code"] == "forbidden"
        else:
            assert response.status_code not in (401, 403), (role, response.text)
    anonymous = _call(served, method, path, body, {})
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"


def test_job_start_is_admin_only(served: Served) -> None:
    for role in ("inspector", "investigator"):
        assert served.post("/admin/jobs", role=role, json={}).status_code == 403
    assert served.post("/admin/jobs", role=None, json={}).status_code == 401


def test_inspectors_search_enterprises_only(served: Served) -> None:
    hits = served.get("/search", role="inspector", params={"q": "张伟"}).json()["items"]
    assert all(h["kind"] == "Enterprise" for h in hits)
    assert served.get("/search", role="inspector",
                      params={"q": "张伟", "kind": "Person"}).status_code == 403
    people = served.get("/search", role="investigator", params={"q": "张伟"}).json()["items"]
    assert any(h["kind"] == "Person" and h["entity_id"] == CTRL for h in people)


def test_public_endpoints_need_no_key(served: Served) -> None:
    for path in PUBLIC:
        assert served.client.get(path).status_code in (200, 404), path  # /ui/ may be absent
    assert served.client.get("/healthz").json() == {"status": "ok"}


def test_bad_keys_are_refused_and_bearer_works(served: Served) -> None:
    good = served.keys["investigator"]
    key_id = good.split("_")[1]
    for bad in ("nonsense", "gl_x_y", f"gl_{key_id}_wrongsecret", good + "x"):
        assert served.client.get("/whoami", headers={"X-API-Key": bad}).status_code == 401
    me = served.client.get("/whoami", headers={"Authorization": f"Bearer {good}"})
    assert me.status_code == 200
    assert me.json() == {"key_id": key_id, "role": "investigator", "name": "test-investigator"}


def test_keys_are_stored_hashed(served: Served) -> None:
    db = sqlite3.connect(served.settings.keys_path)
    dump = "\n".join(db.iterdump())
    db.close()
    for key in served.keys.values():
        assert key not in dump
        assert key.split("_", 2)[2] not in dump


def test_revocation_takes_effect_without_restart(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        # created through the API, revoked through the API
        created = s.post("/admin/keys", role="admin", json={"name": "desk", "role": "inspector"})
        assert created.status_code == 201
        new_key, new_id = created.json()["key"], created.json()["key_id"]
        assert s.client.get("/whoami", headers={"X-API-Key": new_key}).status_code == 200
        listed = s.get("/admin/keys", role="admin").json()
        assert {k["key_id"] for k in listed} >= {new_id, *s.key_ids.values()}
        assert all("key" not in k for k in listed)
        assert s.client.delete(f"/admin/keys/{new_id}", headers=s.auth("admin")).status_code == 200
        assert s.client.get("/whoami", headers={"X-API-Key": new_key}).status_code == 401
        assert s.client.delete(f"/admin/keys/{new_id}", headers=s.auth("admin")).status_code == 404

        # revoked by another process (another connection to the same database)
        other = KeyStore(s.settings.keys_path)
        assert other.revoke(s.key_ids["investigator"])
        other.close()
        assert s.get("/whoami", role="investigator").status_code == 401
        assert s.get("/whoami", role="admin").status_code == 200

        # created and revoked by the CLI while the service runs
        state = str(s.settings.state_dir)
        result = CliRunner().invoke(cli, ["keys", "create", "--role", "admin", "--name", "ops",
                                          "--state-dir", state])
        assert result.exit_code == 0, result.output
        cli_key = result.stdout.strip().splitlines()[-1]
        assert s.client.get("/whoami", headers={"X-API-Key": cli_key}).json()["role"] == "admin"
        listing = CliRunner().invoke(cli, ["keys", "list", "--state-dir", state])
        assert "ops" in listing.stdout and cli_key not in listing.stdout
        cli_id = cli_key.split("_")[1]
        revoked = CliRunner().invoke(cli, ["keys", "revoke", cli_id, "--state-dir", state])
        assert revoked.exit_code == 0, revoked.output
        assert s.client.get("/whoami", headers={"X-API-Key": cli_key}).status_code == 401


def test_cli_refuses_an_unknown_role(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["keys", "create", "--role", "root", "--name", "x",
                                      "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
