"""/investigations on the real app and a SQLite state database: saved investigations belong
to the key that saved them (another key's answers 404, even an admin's), every change is one
audit entry naming its action, and bad input is refused with the field named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from api.auth import KeyStore
from tests.api.test_api_support import Served, serve
from tests.support.graph_fixture import A1, A2, CTRL

CANVAS = {
    "nodes": [{"data": {"id": A1, "label": "华信", "kind": "Enterprise"},
               "position": {"x": 10.5, "y": -3}, "classes": "root expanded"},
              {"data": {"id": CTRL, "label": "王", "kind": "Person"},
               "position": {"x": 80, "y": 40}, "classes": ""}],
    "edges": [{"data": {"id": "R1", "source": CTRL, "target": A1, "type": "LEGAL_REP_OF"}}],
    "highlight": {"nodes": [A1, CTRL], "edges": ["R1"]},
    "focus": A1,
}


def _audit(s: Served) -> list[dict[str, Any]]:
    lines = s.settings.audit_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _put(s: Served, path: str, body: Any, role: str = "investigator") -> Any:
    return s.client.put(path, json=body, headers=s.auth(role))


def _delete(s: Served, path: str, role: str = "investigator") -> Any:
    return s.client.delete(path, headers=s.auth(role))


def test_save_reload_change_delete_owner_only_and_audited(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        made = s.post("/investigations", json={
            "name": "华信 controller", "notes": "line one\nline two\tend",
            "canvas": CANVAS, "entity_ids": [A1, CTRL]})
        assert made.status_code == 201, made.text
        saved = made.json()
        assert saved["owner"] == s.key_ids["investigator"]
        assert saved["notes"] == "line one\nline two\tend"
        inv = saved["id"]
        whole = s.get(f"/investigations/{inv}").json()
        assert whole["canvas"]["nodes"][0]["position"] == {"x": 10.5, "y": -3.0}
        assert whole["canvas"]["highlight"] == CANVAS["highlight"]
        assert whole["canvas"]["focus"] == A1 and whole["entity_ids"] == [A1, CTRL]
        second = s.post("/investigations", json={"name": "empty"}).json()
        assert second["canvas"] == {"nodes": [], "edges": [],
                                    "highlight": {"nodes": [], "edges": []}, "focus": None}
        # the listing: summaries (no canvas, no notes), most recently changed first
        page = s.get("/investigations").json()
        assert page["total"] == 2 and [i["id"] for i in page["items"]] == [second["id"], inv]
        assert "canvas" not in page["items"][0] and "notes" not in page["items"][0]
        assert page["items"][0]["updated_at"].endswith("Z") or "+00:00" in page["items"][0][
            "updated_at"]  # stored times come back with their zone (SQLite keeps none)
        changed = _put(s, f"/investigations/{inv}", {"notes": "checked", "entity_ids": [A2]})
        assert changed.status_code == 200, changed.text
        assert changed.json()["notes"] == "checked" and changed.json()["entity_ids"] == [A2]
        assert changed.json()["name"] == "华信 controller"  # unchanged fields stay
        assert changed.json()["canvas"]["focus"] == A1
        assert [i["id"] for i in s.get("/investigations").json()["items"]] == [inv, second["id"]]
        # another key's owner: nothing listed, and each of ours is missing, not forbidden
        assert s.get("/investigations", role="admin").json()["total"] == 0
        assert s.get(f"/investigations/{inv}", role="admin").status_code == 404
        assert _put(s, f"/investigations/{inv}", {"name": "x"}, "admin").status_code == 404
        assert _delete(s, f"/investigations/{inv}", "admin").status_code == 404
        assert s.get(f"/investigations/{inv}").json()["name"] == "华信 controller"
        assert s.get("/investigations", role="inspector").status_code == 403
        gone = _delete(s, f"/investigations/{inv}")
        assert gone.json() == {"investigation_id": inv, "deleted": True}
        assert s.get(f"/investigations/{inv}").status_code == 404
        assert _delete(s, f"/investigations/{inv}").status_code == 404
        entries = [e for e in _audit(s) if e["endpoint"].startswith("/investigations")]
        changes = [(e["method"], e["params"].get("action"), e["status"]) for e in entries
                   if e["method"] != "GET"]
        assert changes == [("POST", "create", 201), ("POST", "create", 201),
                           ("PUT", "update", 200), ("PUT", None, 404), ("DELETE", None, 404),
                           ("DELETE", "delete", 200), ("DELETE", None, 404)]
        create_entry = next(e for e in entries if e["params"].get("action") == "create")
        assert create_entry["params"]["investigation_id"] == inv
        assert create_entry["key_id"] == s.key_ids["investigator"]


def test_bad_input_is_refused_with_the_field_named(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        cases: list[tuple[dict[str, Any], str]] = [
            ({}, "body.name"),
            ({"name": ""}, "body.name"),
            ({"name": "a\x1bb"}, "body.name"),
            ({"name": "n", "notes": "bell\x07"}, "body.notes"),
            ({"name": "n", "entity_ids": ["not-an-id"]}, "body.entity_ids.0"),
            ({"name": "n", "canvas": {"nodes": [{"data": {"id": A1},
                                                  "position": {"x": "left", "y": 0}}]}},
             "body.canvas.nodes.0.position.x"),
            ({"name": "n", "canvas": {"nodes": "all"}}, "body.canvas.nodes"),
            ({"name": "n", "canvas": {"nodes": [{"data": {"id": A1},
                                                  "position": {"x": 0, "y": True}}]}},
             "body.canvas.nodes.0.position.y"),
            ({"name": "n", "canvas": {"edges": [{"data": {"source": A1}}]}},
             "body.canvas.edges.0.data.id"),
            ({"name": "n", "canvas": {"focus": "E1"}}, "body.canvas.focus"),
            ({"name": "x" * 201}, "body.name"),
        ]
        for body, field in cases:
            answer = s.post("/investigations", json=body)
            assert answer.status_code == 422, (body, answer.text)
            fields = [e["field"] for e in answer.json()["errors"]]
            assert field in fields, (body, fields)
        assert s.get("/investigations/0").status_code == 422
        assert s.get("/investigations", params={"limit": 0}).status_code == 422
        assert s.get("/investigations/12345").status_code == 404
        assert s.get("/investigations").json()["total"] == 0  # nothing refused was kept


def test_a_revoked_key_no_longer_reaches_its_investigations(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        inv = s.post("/investigations", json={"name": "mine"}).json()["id"]
        keys = KeyStore(s.settings.keys_path)
        assert keys.revoke(s.key_ids["investigator"])
        keys.close()
        answer = s.get(f"/investigations/{inv}")
        assert answer.status_code == 401 and answer.json()["code"] == "unauthenticated"
