"""Opening an alert shows the graph before the rerun and after it, with the new path
highlighted, in Debian's headless Chromium against the real API (embedded store, SQLite
state database). The alerts are the real comparison of two runs: the tiny run, and the same
run before 张伟 (CTRL, legal representative of two violating firms) became the 60%
shareholder of the blacklisted firm A3. Screenshots
under `test-artifacts/web/` (prefix `alertgraph-`), axe-core with no serious or critical
violation, no unexpected console error."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from playwright.sync_api import Browser

from alerts.detect import compare
from alerts.models import Alert, Change, alert_key
from alerts.snapshot import read_snapshot
from api.auth import KeyStore
from api.deps import Services
from api.settings import Settings
from risk.score import score_run
from tests.support.graph_fixture import A2, A3, CTRL, RUN_ID, build_tiny_run
from tests.support.web_session import (
    Running,
    Tab,
    page_assets,
    signed_in,
    start_api,
)

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Served:
    api: Running
    key: str
    path_alert: Alert  # CTRL's new path to the blacklisted firm A3
    path_id: int
    old_id: int  # an alert stored without before / after graphs


def _before(after: Path, root: Path) -> Path:
    """The tiny run as it was before CTRL's shareholding in A3 (run ID `run_before`)."""
    before = root / "run_before"
    shutil.copytree(after, before)
    path = before / "relations.parquet"
    rel = pq.read_table(path)
    keep = [not (t == "SHAREHOLDER_OF" and s == CTRL and d == A3) for t, s, d in zip(
        rel["type"].to_pylist(), rel["src"].to_pylist(), rel["dst"].to_pylist(), strict=True)]
    assert keep.count(False) == 1
    pq.write_table(rel.filter(pa.array(keep)), path)
    report = json.loads((before / "report.json").read_text(encoding="utf-8"))
    (before / "report.json").write_text(json.dumps({**report, "run_id": "run_before"}),
                                        encoding="utf-8")
    (before / "risk.parquet").unlink()
    score_run(before)
    return before


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    page_assets("alertgraph-*")
    root = tmp_path_factory.mktemp("alertgraph")
    after = build_tiny_run(root)
    score_run(after)
    alerts = compare(read_snapshot(after), read_snapshot(_before(after, root)))
    path_alert = next(a for a in alerts if a.kind == "new_path" and a.entity_id == CTRL)
    settings = Settings(run_dir=after, state_dir=root / "state", store="embedded",
                        environment="test")
    store = KeyStore(settings.keys_path)
    _, key = store.create("alertgraph", "investigator")
    store.close()
    running = start_api(settings)
    services: Services = running.app.state.services
    services.alerts.record([*alerts, Alert(
        alert_key=alert_key("level_rise", A2, "medium"), kind="level_rise", entity_id=A2,
        condition="medium", run_id=RUN_ID, previous_run_id="run_older", score_before=10.0,
        score_after=40.0, level_before="low", level_after="medium", summary="旧版预警",
        change=Change(path_nodes=[A2]))])
    stored = services.alerts.list(limit=200)[0]
    ids = {(a["kind"], a["entity_id"], a["condition"]): a["id"] for a in stored}
    yield Served(running, key, path_alert, ids[("new_path", CTRL, A3)],
                 ids[("level_rise", A2, "medium")])
    running.stop()


@pytest.fixture
def tab(browser: Browser, served: Served, request: pytest.FixtureRequest) -> Iterator[Tab]:
    name = request.node.name.removeprefix("test_")
    with signed_in(browser, served.api.base_url, served.key, name, prefix="alertgraph") as t:
        yield t


def _mini(t: Tab, when: str, what: str) -> list[str]:
    return sorted(t.ev(f"guanlian.alertGraphs.{when}.{what}.map(x => x.id())"))


def test_an_alert_shows_its_graph_before_and_after_with_the_new_path(
        tab: Tab, served: Served) -> None:
    t, page = tab, tab.page
    change = served.path_alert.change
    assert change.path_nodes == [CTRL, A3] and change.path_types == ["SHAREHOLDER_OF"]
    t.testid("nav-inbox").click()
    row = page.locator(f'[data-testid="alert-row"][data-alert-id="{served.path_id}"]')
    row.wait_for()
    t.idle()
    row.get_by_test_id("alert-open").click()
    page.get_by_test_id("alert-title").filter(has_text=f"#{served.path_id}").wait_for()
    t.idle()
    assert t.testid("alert-before-graph").is_visible()
    assert t.testid("alert-after-graph").is_visible()
    assert "run_before" in t.testid("alert-before").inner_text()
    assert RUN_ID in t.testid("alert-after").inner_text()
    # before: the firm and the person, no relationship between them
    assert _mini(t, "before", "nodes()") == sorted([CTRL, A3])
    assert _mini(t, "before", "edges()") == []
    # after: the shareholding, new and highlighted; the path's nodes highlighted
    tie = change.path_edges[0]
    assert _mini(t, "after", "edges()") == [tie]
    assert _mini(t, "after", "edges('.new')") == [tie]
    assert _mini(t, "after", "edges('.highlighted')") == [tie]
    assert _mini(t, "after", "nodes('.highlighted')") == sorted([CTRL, A3])
    assert _mini(t, "after", "nodes('.new')") == []
    assert t.ev(f"guanlian.alertGraphs.after.getElementById('{tie}').source().id()") == CTRL
    label = t.ev(f"guanlian.alertGraphs.after.getElementById('{A3}').data('label')")
    assert label == "苏州华盛贸易有限公司"
    # drawn: each view holds a canvas of its box's size
    for when in ("before", "after"):
        box = t.testid(f"alert-{when}-graph").bounding_box()
        assert box["width"] > 200 and box["height"] > 150
        assert t.testid(f"alert-{when}-graph").locator("canvas").count() >= 1
    # the same as text: the new relationship listed and marked
    listed = page.locator(f'[data-testid="alert-after-edge"][data-edge-id="{tie}"]')
    assert listed.get_attribute("data-new") == "1" and listed.get_attribute("data-on-path") == "1"
    text = listed.text_content() or ""
    assert "张伟 —股东→" in text and "新增" in text
    assert page.get_by_test_id("alert-before-edge").count() == 0
    # the main graph still draws the new path, highlighted
    for _ in range(100):
        if t.highlighted()[0]:
            break
        page.wait_for_timeout(50)
    nodes, edges = t.highlighted()
    assert nodes == {CTRL, A3} and edges == {tie}
    t.testid("alert-graphs").scroll_into_view_if_needed()
    t.shot("before-after")
    t.axe("before-after")
    # acknowledging redraws the view: the graphs are drawn again, the old ones destroyed
    t.testid("alert-ack").click()
    t.testid("alert-acked").wait_for()
    t.idle()
    assert _mini(t, "after", "edges('.new')") == [tie]
    assert t.ev("document.querySelectorAll('[data-testid=alert-after-graph] canvas').length") >= 1
    # a reload of the alert's URL draws them again
    page.reload()
    page.get_by_test_id("alert-title").filter(has_text=f"#{served.path_id}").wait_for()
    t.idle()
    assert _mini(t, "before", "nodes()") == sorted([CTRL, A3])
    assert _mini(t, "after", "edges('.new')") == [tie]
    t.shot("reloaded")
    t.assert_clean()


def test_an_alert_without_stored_graphs_says_so(tab: Tab, served: Served) -> None:
    t, page = tab, tab.page
    page.goto(f"/ui/#/alert/{served.old_id}")
    page.get_by_test_id("alert-title").filter(has_text=f"#{served.old_id}").wait_for()
    t.idle()
    assert t.testid("alert-graphs-none").is_visible()
    assert t.ev("guanlian.alertGraphs.before === null && guanlian.alertGraphs.after === null")
    nodes, _ = t.highlighted()
    assert nodes == {A2}
    t.shot("no-graphs")
    t.axe("no-graphs")
    t.assert_clean()
