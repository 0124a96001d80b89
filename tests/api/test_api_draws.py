"""双随机 over the API on the real embedded store: the roster (admin), a draw (investigator)
reproducible from its seed with no inspector on a connected firm, its public notice without
scores, outcomes (inspector) tied to their draw, the report, and every draw and outcome in
the audit trail."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import tests.support.graph_fixture as F
from tests.api.test_api_support import Served, serve
from tests.support.inspection_fixture import PLANTED, build_inspection_run


def _audit(s: Served) -> list[dict[str, Any]]:
    lines = s.settings.audit_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _roster_body(roster: list[Any]) -> dict[str, Any]:
    return {"inspectors": [r.model_dump(exclude_none=True) for r in roster]}


def test_draw_notice_outcomes_report_and_audit(tmp_path: Path) -> None:
    run, roster = build_inspection_run(tmp_path / "data")
    with serve(tmp_path, run) as s:
        loaded = s.post("/inspection/inspectors", role="admin", json=_roster_body(roster))
        assert loaded.status_code == 200, loaded.text
        assert loaded.json()["counts"] == {"added": 9, "updated": 0, "deactivated": 0}
        assert s.post("/inspection/inspectors", role="investigator",
                      json=_roster_body(roster)).status_code == 403
        listed = s.get("/inspection/inspectors").json()
        assert listed["counts"] == {"resolved": 7, "not_in_graph": 1, "invalid_id": 1}

        body = {"seed": 77, "targets": 12, "uniform_share": 0.25, "inspectors_per_target": 2}
        made = s.post("/inspection/draws", json=body)
        assert made.status_code == 201, made.text
        draw = made.json()
        assert draw["params"]["seed"] == 77 and len(draw["targets"]) == 12
        assert sum(t["part"] == "uniform" for t in draw["targets"]) == 3
        tied = {(firm, code) for code, (_, ties) in PLANTED.items() for firm in ties}
        for t in draw["targets"]:
            assert len(t["inspectors"]) == 2
            assert not {(t["entity_id"], c) for c in t["inspectors"]} & tied
        drawn = {t["entity_id"] for t in draw["targets"]}
        assert {(c["entity_id"], c["inspector"]) for c in draw["conflicts"]} == {
            p for p in tied if p[0] in drawn}
        again = s.post("/inspection/draws", json=body).json()
        assert again["id"] != draw["id"]
        assert again["targets"] == draw["targets"]  # same seed, same draw
        stored = s.get(f"/inspection/draws/{draw['id']}").json()
        assert stored["targets"] == draw["targets"] and stored["request_id"]
        assert s.get("/inspection/draws/999").status_code == 404
        assert s.post("/inspection/draws", role="inspector", json=body).status_code == 403
        unseeded = s.post("/inspection/draws", json={"targets": 3}).json()
        assert isinstance(unseeded["params"]["seed"], int)  # the server's seed is published
        bad = s.post("/inspection/draws", json={"seed": 1, "rates": [{"risk_class": "Z",
                                                                       "rate": 0.5}]})
        assert bad.status_code == 409 and "unknown class" in bad.json()["detail"]
        twice = s.post("/inspection/draws", json={"seed": 1, "rates": [
            {"risk_class": "D", "rate": 0.5}, {"risk_class": "D", "rate": 0.6}]})
        assert twice.status_code == 409
        more_d = s.post("/inspection/draws", json={"seed": 1, "rates": [
            {"risk_class": "D", "rate": 1.0}], "uniform_share": 0.0}).json()
        assert more_d["params"]["rates"] == {"D": 1.0}
        d_class = next(c for c in more_d["counts"] if c["risk_class"] == "D")
        assert d_class["weighted"] == d_class["population"] == 3  # A1, A2 high; A3 blacklisted

        notice = s.get(f"/inspection/draws/{draw['id']}/notice", params={"format": "csv"})
        assert notice.status_code == 200 and notice.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(notice.text)))
        assert len(rows) == 12 and set(rows[0]) == {"entity_name", "uscc", "risk_class",
                                                    "inspectors"}
        as_json = s.get(f"/inspection/draws/{draw['id']}/notice").json()
        assert "score" not in json.dumps(as_json) and len(as_json["rows"]) == 12

        weighted = next(t for t in draw["targets"] if t["part"] == "weighted")
        uniform = next(t for t in draw["targets"] if t["part"] == "uniform")
        first = s.post("/inspection/outcomes", role="inspector", json={
            "request_id": draw["request_id"], "entity_id": weighted["entity_id"],
            "result": "fail", "findings": "货证不符", "inspected_on": "2026-02-01"})
        assert first.status_code == 201, first.text
        out = first.json()
        assert out["draw_id"] == draw["id"] and out["part"] == "weighted"
        assert out["recorded_by"] == s.key_ids["inspector"] and out["request_id"]
        s.post("/inspection/outcomes", role="inspector", json={
            "request_id": "x1", "draw_id": draw["id"], "entity_id": uniform["entity_id"],
            "result": "pass", "inspected_on": "2026-02-02"})
        outside = next(e for e in [*F.D, *F.F, *F.G] if e not in drawn)
        refused = s.post("/inspection/outcomes", role="inspector", json={
            "request_id": "x2", "draw_id": draw["id"], "entity_id": outside,
            "result": "pass", "inspected_on": "2026-02-03"})
        assert refused.status_code == 409 and "not a target" in refused.json()["detail"]
        assert s.post("/inspection/outcomes", role="inspector", json={
            "request_id": "x3", "entity_id": "E0000000000ff", "result": "fail",
            "inspected_on": "2026-02-03"}).status_code == 404

        report = s.get("/inspection/report").json()
        parts = {h["group"]: (h["n"], h["failures"]) for h in report["by_part"]}
        assert parts["weighted"] == (1, 1) and parts["uniform"] == (1, 0)
        assert s.get("/inspection/report", role="inspector").status_code == 403
        since = {"2026-02": 2, "2026-03": 0}
        for month, n in since.items():
            got = s.get("/inspection/report", params={"since": month}).json()
            assert sum(h["n"] for h in got["by_part"]) == n
        # ASCII digits only, as the schema's pattern reads in every dialect (Python's and
        # Rust's \d also took Arabic-Indic digits, which ECMA-262's does not)
        for odd in ("\u0662\u0660\u0662\u0666-\u0660\u0662", "2026-\uff10\uff12", "2026-2"):
            assert s.get("/inspection/report", params={"since": odd}).status_code == 422

        entries = [e for e in _audit(s) if e["endpoint"].startswith("/inspection/")
                   and e["method"] == "POST" and e["status"] in (200, 201)]
        draws = [e["params"] for e in entries if e["params"].get("action") == "draw"]
        assert [d["seed"] for d in draws[:2]] == [77, 77]
        assert draws[0]["params"]["targets"] == 12 and draws[0]["draw_id"] == draw["id"]
        outcomes = [e["params"] for e in entries if e["params"].get("action") == "outcome"]
        assert [o["outcome_id"] for o in outcomes] == [out["id"], out["id"] + 1]
        assert outcomes[0]["draw_id"] == draw["id"]
