"""The workspace's way in and case flow in Debian's headless Chromium, against the real API on
the tiny run (embedded store, SQLite state database): the worklist as the front page, the
alert inbox, cases closed with an outcome, saved investigations restored by URL, the case
bundle, errors in Chinese, and a key revoked mid-session. Each step saves a screenshot under
`test-artifacts/web/` (prefix `flow-`), each page state passes axe-core with no serious or
critical violation, and any console error not expected by the test fails it."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from alerts.models import Alert, Change, alert_key
from api.auth import KeyStore
from api.deps import Services
from api.settings import Settings
from risk.score import score_run
from tests.support.graph_fixture import A1, A2, A4, CTRL, CTRL2, RUN_ID, build_tiny_run
from tests.support.web_session import (
    Running,
    Tab,
    page_assets,
    signed_in,
    start_api,
)

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass(frozen=True)
class Flow:
    api: Running
    settings: Settings
    keys: dict[str, str]  # name -> key
    key_ids: dict[str, str]
    path: Any  # the planted alert's path (nodes, edges, types)

    @property
    def services(self) -> Services:
        services: Services = self.api.app.state.services
        return services


def _settings(tmp: Path) -> Settings:
    run_dir = build_tiny_run(tmp)
    score_run(run_dir)
    return Settings(run_dir=run_dir, state_dir=tmp / "state", store="embedded",
                    environment="test")


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    page_assets("flow-*")
    settings = _settings(tmp_path_factory.mktemp("flow"))
    store = KeyStore(settings.keys_path)
    keys, ids = {}, {}
    for name, role in (("investigator", "investigator"), ("second", "investigator"),
                       ("revocable", "investigator"), ("inspector", "inspector")):
        record, key = store.create(f"flow-{name}", role)  # type: ignore[arg-type]
        keys[name], ids[name] = key, record.key_id
    store.close()
    running = start_api(settings)
    services: Services = running.app.state.services
    path = services.stores.get().paths(A4, CTRL2, max_hops=4)[0]
    services.alerts.record([
        Alert(alert_key=alert_key("new_path", A4, CTRL2), kind="new_path", entity_id=A4,
              condition=CTRL2, run_id=RUN_ID, previous_run_id="run_before", score_before=4.0,
              score_after=18.7, level_before="low", level_after="medium",
              summary="上海华宁物流 新增到违法控制人的路径",
              change=Change(path_nodes=path.nodes, path_edges=path.edges,
                            path_types=path.types)),
        Alert(alert_key=alert_key("level_rise", A2, "medium"), kind="level_rise", entity_id=A2,
              condition="medium", run_id=RUN_ID, previous_run_id="run_before",
              score_before=10.0, score_after=40.0, level_before="low", level_after="medium",
              summary="风险等级由低升至中", change=Change(path_nodes=[A2, CTRL],
                                                         path_edges=[], path_types=[])),
    ])
    yield Flow(running, settings, keys, ids, path)
    running.stop()




@pytest.fixture
def tab(browser: Browser, flow: Flow, request: pytest.FixtureRequest) -> Iterator[Tab]:
    name = request.node.name.removeprefix("test_")
    with signed_in(browser, flow.api.base_url, flow.keys["investigator"], name) as t:
        yield t


def _hash(t: Tab) -> str:
    return str(t.ev("window.location.hash"))


def _wait_hash(t: Tab, text: str) -> str:
    """Wait until the URL's hash holds `text` (polled here: the page's CSP forbids the string
    evaluation wait_for_function uses)."""
    for _ in range(200):
        if text in _hash(t):
            return _hash(t)
        t.page.wait_for_timeout(50)
    raise AssertionError(f"the URL never held {text!r}: {_hash(t)}")


def _status(t: Tab) -> str:
    return str(t.testid("status").inner_text())


def test_worklist_front_page_to_entity_to_reasons(tab: Tab, flow: Flow) -> None:
    t, page = tab, tab.page
    rows = page.get_by_test_id("worklist-row")
    rows.first.wait_for()
    assert t.testid("graph").is_hidden()  # the worklist is the front page
    expected = t.page.request.get("/risk/entities?limit=20", headers={
        "X-API-Key": flow.keys["investigator"]}).json()
    shown = [rows.nth(i).get_attribute("data-entity-id") for i in range(rows.count())]
    assert shown == [i["entity"]["entity_id"] for i in expected["items"]]
    assert f"共 {expected['total']} 条" in t.testid("wl-range").inner_text()
    t.shot("worklist")
    t.axe("worklist")
    # the next page, then a filter: the URL carries both
    if expected["total"] > 20:
        t.testid("wl-next").click()
        page.get_by_test_id("wl-range").filter(has_text="第 21").wait_for()
        t.idle()
        assert "offset=20" in _hash(t)
    t.testid("wl-rule").fill("hub")
    t.testid("wl-apply").click()
    _wait_hash(t, "rule=hub")
    t.idle()
    hub_rows = page.get_by_test_id("worklist-row")
    want = t.page.request.get("/risk/entities?rule=hub&limit=20", headers={
        "X-API-Key": flow.keys["investigator"]}).json()
    assert hub_rows.count() == len(want["items"]) > 0
    assert "offset" not in _hash(t)
    t.shot("worklist-filtered")
    # the catalogue is reachable from the worklist
    t.testid("cat-hubs").click()
    page.get_by_test_id("row-hubs").first.wait_for()
    t.idle()
    t.axe("catalogue-hubs")
    t.shot("catalogue-hubs")
    t.testid("back-to-worklist").click()
    page.get_by_test_id("worklist-row").first.wait_for()
    t.idle()
    first = page.get_by_test_id("worklist-row").first
    entity = first.get_attribute("data-entity-id")
    first.get_by_test_id("wl-exposure").click()
    page.get_by_test_id("table-exposure").wait_for()
    t.idle()
    assert _hash(t) == f"#/exposure/{entity}"
    t.axe("exposure")
    page.go_back()
    page.get_by_test_id("worklist-row").first.wait_for()
    t.idle()
    # open the top entity: its URL, the graph and the reasons
    page.get_by_test_id("worklist-row").first.get_by_test_id("wl-open").click()
    page.get_by_test_id("entity-id").filter(has_text=str(entity)).wait_for()
    t.idle()
    assert _hash(t) == f"#/entity/{entity}"
    assert t.testid("graph").is_visible()
    assert t.ev(f"guanlian.graph.cy.getElementById('{entity}').length") == 1
    reason = page.get_by_test_id("risk-reason").first
    reason.click()
    t.idle()
    nodes, _ = t.highlighted()
    assert entity in nodes
    t.shot("entity-reasons")
    t.axe("entity")
    # a reload restores the entity from the URL
    page.reload()
    page.get_by_test_id("entity-id").filter(has_text=str(entity)).wait_for()
    t.idle()
    assert t.ev(f"guanlian.graph.cy.getElementById('{entity}').length") == 1
    t.shot("entity-reloaded")
    t.assert_clean()


def _open_alert(t: Tab, alert_id: int) -> None:
    t.page.locator(f'[data-testid="alert-row"][data-alert-id="{alert_id}"]'
                   ).get_by_test_id("alert-open").click()
    t.page.get_by_test_id("alert-title").filter(has_text=f"#{alert_id}").wait_for()
    t.idle()


def test_alert_to_case_to_close_with_outcome(tab: Tab, flow: Flow) -> None:
    t, page = tab, tab.page
    alerts = flow.services.alerts.list()[0]
    path_alert = next(a for a in alerts if a["kind"] == "new_path")
    rise = next(a for a in alerts if a["kind"] == "level_rise")
    unacked = flow.services.alerts.list(acknowledged=False)[1]
    page.get_by_test_id("inbox-count").filter(has_text=str(unacked)).wait_for()
    t.testid("nav-inbox").click()
    page.get_by_test_id("alert-row").first.wait_for()
    t.idle()
    assert page.get_by_test_id("alert-row").count() == unacked
    t.shot("inbox")
    t.axe("inbox")
    _open_alert(t, path_alert["id"])
    assert _hash(t) == f"#/alert/{path_alert['id']}"
    assert t.testid("score-before").inner_text() == "4"
    assert t.testid("score-after").inner_text() == "18.70"
    assert "中" in t.testid("level-after").inner_text()
    nodes, edges = t.highlighted()
    assert nodes == set(flow.path.nodes) and edges == set(flow.path.edges)
    assert t.testid("alert-path-names").inner_text().startswith(f"上海华宁物流有限公司 ({A4}) → ")
    t.shot("alert-path")
    t.axe("alert")
    t.testid("alert-ack").click()
    t.testid("alert-acked").wait_for()
    t.idle()
    page.get_by_test_id("inbox-count").filter(has_text=str(unacked - 1)).wait_for()
    assert flow.services.alerts.get(path_alert["id"])["acknowledged_by"] == flow.key_ids[
        "investigator"]
    t.testid("case-title").fill("华宁物流 新路径核查")
    t.testid("case-open").click()
    page.get_by_test_id("case-title-shown").wait_for()
    t.idle()
    case_id = int(_hash(t).removeprefix("#/case/"))
    assert "新建" in t.testid("case-status").inner_text()
    t.shot("case-new")
    t.axe("case")
    # the second alert joins the open case
    t.testid("nav-inbox").click()
    page.get_by_test_id("alert-row").first.wait_for()
    t.idle()
    _open_alert(t, rise["id"])
    t.testid("join-case-select").select_option(str(case_id))
    t.testid("case-join").click()
    page.get_by_test_id("case-title-shown").filter(has_text=f"#{case_id}").wait_for()
    t.idle()
    assert page.get_by_test_id("case-alert").count() == 2
    # assign, work, annotate, close as a false positive
    t.testid("case-assignee").fill("inv-zhang")
    t.testid("case-assign").click()
    page.get_by_test_id("case-status").filter(has_text="已分派").wait_for()
    t.idle()
    t.testid("case-status-select").select_option("in_progress")
    t.testid("case-move").click()
    page.get_by_test_id("case-status").filter(has_text="处理中").wait_for()
    t.idle()
    t.testid("case-note").fill("工商登记显示该控制人已于 2024 年退出")
    t.testid("case-add-note").click()
    page.locator('[data-testid="case-history-item"][data-action="note"]').wait_for()
    t.idle()
    t.shot("case-in-progress")
    t.testid("case-outcome").select_option("false_positive")
    t.testid("case-close-note").fill("控制人已退出，误报")
    t.testid("case-close").click()
    page.get_by_test_id("case-outcome-shown").wait_for()
    t.idle()
    assert "误报" in t.testid("case-outcome-shown").inner_text()
    assert t.testid("case-actions").count() == 0  # a closed case offers no more changes
    actions = [page.get_by_test_id("case-history-item").nth(i).get_attribute("data-action")
               for i in range(page.get_by_test_id("case-history-item").count())]
    assert actions == ["opened", "joined", "assigned", "status", "note", "closed"]
    stored = flow.services.cases.get(case_id)
    assert (stored["status"], stored["outcome"], stored["assignee"]) == (
        "closed", "false_positive", "inv-zhang")
    assert flow.services.cases.outcomes().get("false_positive", 0) >= 1
    t.shot("case-closed")
    t.axe("case-closed")
    # reopened and closed again as confirmed: the history keeps both closings
    t.testid("case-reopen").click()
    page.get_by_test_id("case-status").filter(has_text="处理中").wait_for()
    t.idle()
    t.testid("case-outcome").select_option("confirmed")
    t.testid("case-close").click()
    page.get_by_test_id("case-outcome-shown").filter(has_text="属实").wait_for()
    t.idle()
    assert flow.services.cases.get(case_id)["outcome"] == "confirmed"
    # the case list shows it; a reload of the case URL restores the view
    page.reload()
    page.get_by_test_id("case-title-shown").filter(has_text=f"#{case_id}").wait_for()
    t.idle()
    t.testid("nav-cases").click()
    page.locator(f'[data-testid="case-row"][data-case-id="{case_id}"]').wait_for()
    t.idle()
    t.axe("cases")
    t.shot("cases")
    t.assert_clean()


def test_save_investigation_reload_by_url_restores_it(tab: Tab, flow: Flow) -> None:
    t, page = tab, tab.page
    page.goto(f"/ui/#/entity/{A1}")
    page.get_by_test_id("entity-id").filter(has_text=A1).wait_for()
    t.idle()
    page.get_by_test_id("risk-reason").first.click()
    t.idle()
    before = t.ev("guanlian.graph.cy.nodes().map(n => [n.id(), n.position('x'), "
                  "n.position('y')])")
    hl_before = t.highlighted()
    t.testid("inv-name").fill("华信 共同控制人核查")
    t.testid("inv-notes").fill("第一行\n第二行：待核实股东")
    t.testid("inv-save").click()
    _wait_hash(t, "#/investigation/")
    t.idle()
    inv_id = int(_hash(t).removeprefix("#/investigation/"))
    stored = flow.services.investigations.get(flow.key_ids["investigator"], inv_id)
    assert stored["notes"] == "第一行\n第二行：待核实股东"
    assert set(stored["entity_ids"]) == {n for n, _, _ in before if n[0] in "EP"}
    t.shot("saved")
    # another tab signed in afresh, opened by the URL alone
    page.reload()
    page.get_by_test_id("inv-current").filter(has_text=f"#{inv_id}").wait_for()
    t.idle()
    after = t.ev("guanlian.graph.cy.nodes().map(n => [n.id(), n.position('x'), "
                 "n.position('y')])")
    assert sorted(after) == sorted(before)  # same nodes, same positions
    assert t.highlighted() == hl_before
    assert t.testid("inv-notes").input_value() == "第一行\n第二行：待核实股东"
    assert t.testid("entity-id").inner_text() == A1
    t.shot("restored")
    t.axe("restored")
    # changes update the same investigation; the list shows it, owner only
    t.testid("inv-notes").fill("已核实")
    t.testid("inv-save").click()
    t.idle()
    assert flow.services.investigations.get(flow.key_ids["investigator"],
                                            inv_id)["notes"] == "已核实"
    t.testid("nav-saved").click()
    page.locator(f'[data-testid="saved-row"][data-investigation-id="{inv_id}"]').wait_for()
    t.idle()
    t.axe("saved-list")
    t.shot("saved-list")
    theirs = page.request.get(f"/investigations/{inv_id}",
                              headers={"X-API-Key": flow.keys["second"]})
    assert theirs.status == 404
    t.assert_clean()


def test_export_case_bundle(tab: Tab, flow: Flow) -> None:
    t, page = tab, tab.page
    page.goto("/ui/#/graph")
    t.idle()
    # an empty graph: the page says so instead of downloading an empty picture
    downloads: list[Any] = []
    page.on("download", lambda d: downloads.append(d))
    t.testid("export-png").click()
    page.get_by_test_id("status").filter(has_text="图中没有节点").wait_for()
    t.testid("export-bundle").click()
    page.get_by_test_id("status").filter(has_text="请先在图中打开一个实体").wait_for()
    page.wait_for_timeout(300)
    assert downloads == []
    t.shot("empty-graph-refused")
    page.goto(f"/ui/#/entity/{A1}")
    page.get_by_test_id("entity-id").filter(has_text=A1).wait_for()
    t.idle()
    page.get_by_test_id("risk-reason").first.click()
    t.idle()
    nodes, edges = t.highlighted()
    drawn = set(t.ev("guanlian.graph.cy.nodes().map(n => n.id())"))
    with page.expect_download() as info:
        t.testid("export-bundle").click()
    t.idle()
    data = Path(info.value.path()).read_bytes()
    assert info.value.suggested_filename.startswith(f"guanlian-case-{A1}-")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        names = set(z.namelist())
        assert names >= {"manifest.json", "profile.json", "reasons.json", "evidence.json",
                         "events.json", "path.json", "canvas.json", "graph.png"}
        manifest = json.loads(z.read("manifest.json"))
        profile = json.loads(z.read("profile.json"))
        canvas = json.loads(z.read("canvas.json"))
        path = json.loads(z.read("path.json"))
        png = z.read("graph.png")
        reasons = json.loads(z.read("reasons.json"))
    assert manifest["run_id"] == RUN_ID and manifest["entity_id"] == A1
    assert manifest["exported_at"].endswith("Z") and manifest["warnings"] == []
    assert profile["entity_id"] == A1 and reasons == profile["risk"]["reasons"]
    assert {n["data"]["id"] for n in canvas["nodes"]} == drawn
    assert {n["id"] for n in path["nodes"]} == nodes and {e["id"] for e in path["edges"]} == edges
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    assert "案件包已导出" in _status(t)
    t.shot("bundle-exported")
    t.assert_clean()


def test_inspector_page_has_no_worklist_and_passes_axe(browser: Browser, flow: Flow) -> None:
    with signed_in(browser, flow.api.base_url, flow.keys["inspector"], "inspector") as t:
        assert t.testid("views").count() == 0 and t.testid("board").count() == 0
        t.testid("lookup-name").fill("上海华瑞食品有限公司")
        t.testid("lookup-submit").click()
        t.testid("lookup-recommendation").wait_for()
        t.idle()
        t.axe("inspector-lookup")
        t.shot("inspector-lookup")
        t.assert_clean()


def test_revoked_key_returns_to_sign_in(browser: Browser, flow: Flow) -> None:
    with signed_in(browser, flow.api.base_url, flow.keys["revocable"], "revoked") as t:
        t.page.get_by_test_id("worklist-row").first.wait_for()
        t.idle()
        keys = KeyStore(flow.settings.keys_path)
        assert keys.revoke(flow.key_ids["revocable"])
        keys.close()
        t.expected_errors = ["401"]  # the browser logs the refused request itself
        t.testid("nav-inbox").click()
        t.testid("login").wait_for(state="visible")
        t.idle()
        assert t.testid("workspace").is_hidden()
        assert "已被吊销" in _status(t)
        assert t.ev("sessionStorage.getItem('guanlian.apiKey')") is None
        t.shot("signed-out")
        t.axe("sign-in")
        t.assert_clean()


def test_stopped_server_is_told_in_chinese(browser: Browser, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = KeyStore(settings.keys_path)
    _, key = store.create("flow-stopped", "investigator")
    store.close()
    running = start_api(settings)
    try:
        with signed_in(browser, running.base_url, key, "stopped") as t:
            t.page.get_by_test_id("worklist-row").first.wait_for()
            t.idle()
            running.stop()
            t.expected_errors = ["ERR_CONNECTION_REFUSED"]
            t.testid("wl-apply").click()
            t.page.get_by_test_id("status").filter(has_text="无法连接服务器").wait_for()
            t.idle()
            assert "Failed to fetch" not in _status(t)
            assert "请确认服务器正在运行" in _status(t)
            t.shot("server-stopped")
            t.assert_clean()
    finally:
        if running.thread.is_alive():
            running.stop()
    shutil.rmtree(tmp_path, ignore_errors=True)
