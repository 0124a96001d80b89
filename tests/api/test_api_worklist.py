"""GET /risk/entities on the real embedded store, and `guanlian worklist` on the same run."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app as cli
from runfolder.folder import write_table
from tests.api.test_api_support import RISK_ROWS, serve, tiny_run
from tests.support.graph_fixture import A1, A4, CTRL


def test_worklist_ranks_filters_pages_and_needs_investigator(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        page = s.get("/risk/entities").json()
        assert [i["entity"]["entity_id"] for i in page["items"]] == [A1, CTRL, A4]
        assert page["total"] == 3 and page["items"][0]["rules"] == ["own_events",
                                                                     "shared_controller"]
        paged = s.get("/risk/entities", params={"limit": 1, "offset": 1}).json()
        assert [i["entity"]["entity_id"] for i in paged["items"]] == [CTRL]
        assert paged["total"] == 3
        only = s.get("/risk/entities", params=[("level", "high"), ("level", "medium"),
                                               ("kind", "Person")]).json()
        assert [i["entity"]["entity_id"] for i in only["items"]] == [CTRL]
        ruled = s.get("/risk/entities", params={"rule": "shared_controller"}).json()
        assert [i["entity"]["entity_id"] for i in ruled["items"]] == [A1]
        assert s.get("/risk/entities", role="inspector").status_code == 403
        bad = s.get("/risk/entities", params={"level": "extreme"})
        assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
        assert s.get("/risk/entities", params={"rule": "x'y"}).status_code in (400, 422)
        missing = s.get("/risk/entities", params={"changed_since": "no-such-run"})
        assert missing.status_code == 404


def test_worklist_changed_since_a_run(tmp_path: Path) -> None:
    run = tiny_run(tmp_path / "now")
    runs = tmp_path / "runs"
    earlier = runs / "earlier"
    shutil.copytree(run, earlier)
    rows = [dict(r) for r in RISK_ROWS]
    rows[1]["score"] = 20.0  # CTRL scored 20 then, 45 now
    rows[1]["level"] = "low"
    write_table(earlier, "risk", rows)
    with serve(tmp_path, run, runs_dir=runs) as s:
        page = s.get("/risk/entities", params={"changed_since": "earlier"}).json()
        assert [i["entity"]["entity_id"] for i in page["items"]] == [CTRL]


def test_cli_worklist_formats(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    runner = CliRunner()
    as_json = runner.invoke(cli, ["worklist", "--run", str(run), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["total"] == 3
    as_csv = runner.invoke(cli, ["worklist", "--run", str(run), "--format", "csv",
                                 "--level", "high", "--level", "low"])
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["entity_id"] for r in rows] == [A1, A4] and rows[0]["rank"] == "1"
    table = runner.invoke(cli, ["worklist", "--run", str(run), "--limit", "2"])
    assert table.exit_code == 0 and A1 in table.stdout and "2 of 3" in table.stdout
    bad = runner.invoke(cli, ["worklist", "--run", str(run), "--level", "extreme"])
    assert bad.exit_code == 2
    neither = runner.invoke(cli, ["worklist"])
    assert neither.exit_code == 2
