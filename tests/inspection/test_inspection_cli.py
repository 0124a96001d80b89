"""The command line: `guanlian draw` reproduces a draw from its seed and writes the public
notice, `guanlian inspectors import` refuses a bad roster naming file, row and field,
`guanlian outcomes export` and `guanlian inspection-report` read the state database."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from alerts.state.db import open_state
from api.cli import app
from inspection.models import OutcomeIn
from inspection.store import InspectionStore
from tests.support.inspection_fixture import PLANTED, build_inspection_run, roster_csv

runner = CliRunner()


def test_draw_is_reproducible_and_publishes_its_notice(tmp_path: Path) -> None:
    run, roster = build_inspection_run(tmp_path / "data")
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(roster_csv(roster), encoding="utf-8")
    outs = []
    for name in ("a", "b"):
        result = runner.invoke(app, [
            "draw", "--run", str(run), "--seed", "5", "--targets", "10", "--roster",
            str(roster_file), "--out", str(tmp_path / f"{name}.json"),
            "--notice", str(tmp_path / f"{name}.csv")])
        assert result.exit_code == 0, result.output
        outs.append(json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8")))
    assert outs[0]["targets"] == outs[1]["targets"] and len(outs[0]["targets"]) == 10
    tied = {(firm, code) for code, (_, ties) in PLANTED.items() for firm in ties}
    for t in outs[0]["targets"]:
        assert not {(t["entity_id"], c) for c in t["inspectors"]} & tied
    with (tmp_path / "a.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 10 and "score" not in rows[0]
    summary = json.loads(result.output)
    assert summary["unresolved_inspectors"] == ["JC008", "JC009"]


def test_roster_errors_name_file_row_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "roster.csv"
    bad.write_text("执法人员编号,姓名,身份证号码\nJC1,甲,310104198505050020\nJC2,,1\n",
                   encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'state.sqlite'}"
    result = runner.invoke(app, ["inspectors", "import", str(bad), "--state-db", db])
    assert result.exit_code == 2
    assert f"{bad}: row 3: field name is empty" in result.output


def test_outcomes_export_and_report(tmp_path: Path) -> None:
    run, _ = build_inspection_run(tmp_path / "data")
    db = f"sqlite:///{tmp_path / 'state.sqlite'}"
    state = InspectionStore(open_state(db))
    firm = PLANTED["JC001"][1]
    entity = next(iter(firm))
    state.record_outcome(OutcomeIn(request_id="lk1", entity_id=entity, result="fail",
                                   findings="伪报品名", inspected_on=date(2026, 1, 5)),
                         {"score": 65.0, "level": "high", "risk_class": "D"}, "k", "r1")
    exported = runner.invoke(app, ["outcomes", "export", "--run", str(run), "--out",
                                   str(tmp_path / "next"), "--state-db", db])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["fail"] == 1
    assert (tmp_path / "next" / "sources.yaml").is_file()
    report = runner.invoke(app, ["inspection-report", "--state-db", db])
    assert report.exit_code == 0, report.output
    figures = json.loads(report.output)
    assert figures["outcomes"] == 1
    assert {h["group"]: h["n"] for h in figures["by_recommendation"]}["inspect"] == 1
