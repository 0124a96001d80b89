"""The investigator workspace page (/ui/) in Debian's headless Chromium, against the real API.

The API runs in a thread (uvicorn on a loopback port) on the tiny hand-made run folder of
`tests/graph_fixture.py`, with keys created in its key store. Every step saves a screenshot under
`test-artifacts/web/`; any console error or uncaught page error fails the test.
Needs `/usr/bin/chromium` and `fonts-noto-cjk` (scripts/test installs them) and the npm
assets (`scripts/web-assets`, run here; it does nothing when they are up to date).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page

from api.app import create_app
from api.auth import KeyStore
from api.settings import Settings
from risk.score import score_run
from runfolder.folder import read_table, write_table
from tests.support.graph_fixture import A1, A2, A3, A4, CTRL, CTRL2, build_tiny_run

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
INVESTIGATOR_ONLY = re.compile(r"/entities/[EP][0-9a-f]{12}($|\?|/network|/exposure|/beneficial)"
                               r"|/paths\?|/risk/")


@dataclass(frozen=True)
class Server:
    base_url: str
    keys: dict[str, str]


@pytest.fixture(scope="module")
def web_assets() -> None:
    """The npm-installed graph library (idempotent; fast when already installed)."""
    subprocess.run([str(ROOT / "scripts" / "web-assets")], check=True, timeout=300)


def _ship_learned(run_dir: Path, entity_id: str) -> None:
    """A learned score for one firm, as `guanlian score` ships it where it wins."""
    risk = read_table(run_dir, "risk")
    rows = [{str(k): v for k, v in r.items()} for r in risk.to_dict("records")]
    for row in rows:
        shipped = row["entity_id"] == entity_id
        block = {"log_odds": -1.0, "expected_value": -4.0, "other": 0.5, "reasons": [
            {"feature": "n2_LEGAL_REP_OF_firms", "label": "经“法定代表人”关联的有违法记录企业数",
             "value": 2.0, "contribution": 2.0},
            {"feature": "age_days", "label": "成立天数", "value": 400.0, "contribution": 0.5}]}
        row.update(learned_score=0.2689 if shipped else None,
                   learned_level="medium" if shipped else None,
                   learned_reasons=json.dumps(block, ensure_ascii=False) if shipped else None)
    write_table(run_dir, "risk", rows)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, web_assets: None) -> Iterator[Server]:
    shutil.rmtree(SHOTS, ignore_errors=True)
    tmp = tmp_path_factory.mktemp("web")
    run_dir = build_tiny_run(tmp)
    score_run(run_dir)  # writes risk.parquet, which the API serves
    _ship_learned(run_dir, A4)  # the tiny run's history is too short to train one: planted
    settings = Settings(run_dir=run_dir, state_dir=tmp / "state", store="embedded",
                        environment="test")
    keys = KeyStore(settings.keys_path)
    created = {role: keys.create(f"web-test-{role}", role)[1]
               for role in ("inspector", "investigator")}
    keys.close()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the API server did not start")
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", created)
    srv.should_exit = True
    thread.join(timeout=15)
    sock.close()




@dataclass
class Session:
    """One browser tab on the workspace, with its console log and the URLs it requested."""

    page: Page
    name: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    step: int = 0

    def console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text} at {msg.location}")

    def idle(self) -> None:
        """Wait until no action of the page is in flight (<body data-busy="0">)."""
        self.page.locator('body[data-busy="0"]').wait_for(state="attached", timeout=15_000)

    def shot(self, label: str) -> Path:
        self.step += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{self.name}-{self.step:02d}-{label}.png"
        self.page.screenshot(path=str(path))
        return path

    def evaluate(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def highlighted(self) -> tuple[set[str], set[str]]:
        nodes = self.evaluate("guanlian.graph.cy.nodes('.highlighted').map(n => n.id())")
        edges = self.evaluate("guanlian.graph.cy.edges('.highlighted').map(e => e.id())")
        return set(nodes), set(edges)

    def api(self, path: str, role: str, keys: dict[str, str]) -> Any:
        resp = self.page.request.get(path, headers={"X-API-Key": keys[role]})
        assert resp.ok, f"{path}: {resp.status} {resp.text()}"
        return resp.json()

    def assert_clean(self) -> None:
        assert not self.errors, "\n".join(self.errors)


def _open(browser: Browser, server: Server, name: str, role: str) -> Iterator[Session]:
    context = browser.new_context(viewport={"width": 1500, "height": 950},
                                  base_url=server.base_url, accept_downloads=True)
    page = context.new_page()
    s = Session(page, name)
    page.on("console", s.console)
    page.on("pageerror", lambda exc: s.errors.append(f"page error: {exc}"))
    page.on("request", lambda req: s.requests.append(req.url))
    page.goto("/ui/")
    page.get_by_test_id("login-key").fill(server.keys[role])
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("whoami-role").filter(has_text=role).wait_for()
    s.idle()
    try:
        yield s
    finally:
        context.close()


def _shot_prefix(request: pytest.FixtureRequest) -> str:
    return request.node.name.removeprefix("test_")


@pytest.fixture
def investigator(
    browser: Browser, server: Server, request: pytest.FixtureRequest
) -> Iterator[Session]:
    yield from _open(browser, server, _shot_prefix(request), "investigator")


@pytest.fixture
def inspector(
    browser: Browser, server: Server, request: pytest.FixtureRequest
) -> Iterator[Session]:
    yield from _open(browser, server, _shot_prefix(request), "inspector")


def _search_and_open(s: Session, text: str, entity_id: str) -> None:
    page = s.page
    page.get_by_test_id("search-input").fill(text)
    page.get_by_test_id("search-submit").click()
    hit = page.locator(f'[data-testid="search-result"][data-entity-id="{entity_id}"]')
    hit.wait_for()
    hit.locator("button").click()
    page.get_by_test_id("entity-id").filter(has_text=entity_id).wait_for()
    s.idle()


def _click_node(s: Session, node_id: str) -> None:
    """A real mouse click on the node's rendered position in the graph canvas."""
    pos = s.evaluate(
        """(id) => {
            const cy = guanlian.graph.cy; const n = cy.getElementById(id);
            if (n.empty()) return null;
            const r = n.renderedPosition(); const b = cy.container().getBoundingClientRect();
            return {x: b.left + r.x, y: b.top + r.y};
        }""",
        node_id,
    )
    assert pos is not None, f"{node_id} is not drawn"
    s.page.mouse.click(pos["x"], pos["y"])
    s.page.get_by_test_id("entity-id").filter(has_text=node_id).wait_for()
    s.idle()


def _drawn(s: Session) -> set[str]:
    return set(s.evaluate("guanlian.graph.cy.nodes().map(n => n.id())"))


def test_investigator_explores_the_planted_controller(
    investigator: Session, server: Server
) -> None:
    s, page = investigator, investigator.page
    s.shot("signed-in")

    # search the planted controller (Chinese name) and open him
    _search_and_open(s, "张伟", CTRL)
    assert page.get_by_test_id("entity-name").inner_text() == "张伟"
    assert {CTRL, A1, A2, A3, A4} <= _drawn(s)
    roots = s.evaluate("guanlian.graph.cy.nodes('.root').map(n => n.id())")
    assert roots == [CTRL]
    edge_types = set(s.evaluate("guanlian.graph.cy.edges().map(e => e.data('type'))"))
    assert {"LEGAL_REP_OF", "SHAREHOLDER_OF"} <= edge_types
    assert s.evaluate(f"guanlian.graph.cy.getElementById('{A1}').data('risk')") is not None
    s.shot("controller-opened")

    # expand a firm by clicking it: its director 李娜 (CTRL2) joins the drawing
    assert CTRL2 not in _drawn(s)
    _click_node(s, A1)
    assert CTRL2 in _drawn(s)
    assert A1 in s.evaluate("guanlian.graph.cy.nodes('.expanded').map(n => n.id())")
    assert page.get_by_test_id("entity-name").inner_text() == "上海华信进出口贸易有限公司"
    assert page.get_by_test_id("evidence").is_visible()
    s.shot("firm-expanded")

    # the clean firm A4's risk reasons: selecting one highlights exactly its path
    _click_node(s, A4)
    risk = s.api(f"/entities/{A4}/risk", "investigator", server.keys)
    with_path = [i for i, r in enumerate(risk["reasons"]) if r["path_nodes"]]
    assert with_path, f"A4 should have a network reason with a path: {risk}"
    index = with_path[0]
    reason = risk["reasons"][index]
    page.locator(f'[data-testid="risk-reason"][data-index="{index}"]').click()
    s.idle()
    nodes, edges = s.highlighted()
    assert nodes == set(reason["path_nodes"])
    assert edges == set(reason["path_edges"])
    assert A4 in nodes and CTRL in nodes
    faded = s.evaluate("guanlian.graph.cy.elements('.faded').length")
    assert faded > 0
    s.shot("risk-reason-highlighted")

    # relationship filter: hiding LEGAL_REP_OF hides those edges only
    page.get_by_test_id("filter-LEGAL_REP_OF").uncheck()
    hidden = s.evaluate("guanlian.graph.cy.edges('.filtered').map(e => e.data('type'))")
    assert hidden and set(hidden) == {"LEGAL_REP_OF"}
    page.get_by_test_id("filter-LEGAL_REP_OF").check()
    assert s.evaluate("guanlian.graph.cy.edges('.filtered').length") == 0
    s.assert_clean()


def test_path_between_two_entities_is_drawn(investigator: Session, server: Server) -> None:
    s, page = investigator, investigator.page
    # from an empty drawing: the path's entities are fetched and drawn
    assert s.evaluate("guanlian.graph.cy.nodes().length") == 0
    page.get_by_test_id("path-source").fill(CTRL2)
    page.get_by_test_id("path-target").fill(A4)
    page.get_by_test_id("path-submit").click()
    page.get_by_test_id("path-item").first.wait_for()
    s.idle()
    expected = s.api(f"/paths?source={CTRL2}&target={A4}&max_hops=4", "investigator",
                     server.keys)["items"][0]
    nodes, edges = s.highlighted()
    assert nodes == set(expected["nodes"])
    assert edges == set(expected["edges"])
    assert {CTRL2, A4, CTRL} <= nodes
    # the drawn path is made of real edges joining consecutive path nodes
    ends = s.evaluate(
        "(ids) => ids.map(id => { const e = guanlian.graph.cy.getElementById(id);"
        " return [e.source().id(), e.target().id()]; })",
        expected["edges"],
    )
    for i, (a, b) in enumerate(ends):
        assert {a, b} == {expected["nodes"][i], expected["nodes"][i + 1]}
    labels = s.evaluate(
        "(ids) => ids.map(id => guanlian.graph.cy.getElementById(id).data('label'))",
        expected["nodes"],
    )
    assert "李娜" in labels and "张伟" in labels
    assert "张伟" in page.get_by_test_id("path-item").first.inner_text()
    s.shot("path-drawn")
    s.assert_clean()


def test_tables_open_in_graph_and_export(investigator: Session) -> None:
    s, page = investigator, investigator.page
    page.get_by_test_id("tab-controllers").click()
    first = page.get_by_test_id("row-controllers").first
    first.wait_for()
    s.idle()
    assert "张伟" in first.inner_text()
    first.get_by_test_id("open-in-graph").click()
    page.get_by_test_id("entity-id").filter(has_text=CTRL).wait_for()
    s.idle()
    nodes, edges = s.highlighted()
    assert {CTRL, A1, A2, A3} <= nodes and edges
    s.shot("shared-controller-in-graph")

    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    csv_text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    header, csv_row = csv_text.splitlines()[:2]
    assert header.startswith("控制人 controller,ID,")
    assert csv_row.startswith(f"张伟,{CTRL},")

    with page.expect_download() as download:
        page.get_by_test_id("export-png").click()
    png = Path(download.value.path()).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000

    page.get_by_test_id("tab-phoenix").click()
    row = page.get_by_test_id("row-phoenix").first
    row.wait_for()
    s.idle()
    assert "广州永盛贸易有限公司" in row.inner_text()
    row.get_by_test_id("open-in-graph").click()
    s.idle()
    page.get_by_test_id("tab-rings").click()
    page.get_by_test_id("table-rings").wait_for()
    s.idle()
    assert page.get_by_test_id("row-rings").count() >= 1
    s.shot("tables")
    s.assert_clean()


def test_node_cap_limits_the_drawing(investigator: Session) -> None:
    s, page = investigator, investigator.page
    page.get_by_test_id("node-cap").fill("5")
    page.get_by_test_id("node-cap").dispatch_event("change")
    page.get_by_test_id("depth").select_option("3")
    _search_and_open(s, "zhangwei", CTRL)  # pinyin finds him too
    assert 1 <= s.evaluate("guanlian.graph.cy.nodes().length") <= 5
    assert page.get_by_test_id("graph-info").get_attribute("data-truncated") == "true"
    s.shot("node-cap")
    s.assert_clean()


def test_worklist_ranks_by_the_learned_score(investigator: Session, server: Server) -> None:
    s, page = investigator, investigator.page
    page.evaluate("window.location.hash = '#/worklist'")
    page.get_by_test_id("worklist-row").first.wait_for()
    s.idle()
    assert page.get_by_test_id("wl-learned").count() == 0  # the rule score by default
    page.get_by_test_id("wl-score").select_option("learned")
    page.get_by_test_id("wl-apply").click()
    page.get_by_test_id("wl-learned").first.wait_for()
    s.idle()
    assert "score=learned" in str(s.evaluate("window.location.hash"))
    want = s.api("/risk/entities?score=learned&limit=20", "investigator", server.keys)
    rows = page.get_by_test_id("worklist-row")
    assert [rows.nth(i).get_attribute("data-entity-id") for i in range(rows.count())] == [
        i["entity"]["entity_id"] for i in want["items"]] == [A4]  # only where it was shipped
    assert "26.9%" in page.get_by_test_id("wl-learned").inner_text()
    assert page.get_by_test_id("wl-learned").get_by_test_id("risk-badge").get_attribute(
        "class") == "badge risk-medium"
    s.shot("worklist-learned")
    # back to the rule score: the URL drops the ranking
    page.get_by_test_id("wl-score").select_option("rules")
    page.get_by_test_id("wl-apply").click()
    # the hash changes at once but its view is drawn on the next hashchange event, after which
    # the page is busy until the worklist is fetched: wait for the rule column itself
    page.get_by_test_id("wl-learned").first.wait_for(state="detached")
    s.idle()
    assert "score=" not in str(s.evaluate("window.location.hash"))
    assert page.get_by_test_id("wl-learned").count() == 0
    assert page.get_by_test_id("worklist-row").count() > 1  # the rule ranking lists them all
    s.assert_clean()


def test_inspector_sees_only_inspector_views(inspector: Session, server: Server) -> None:
    s, page = inspector, inspector.page
    # the investigator views are not on the page at all
    for testid in ("graph", "tables", "path-form", "rel-filter", "export-png"):
        assert page.get_by_test_id(testid).count() == 0, testid
    assert page.locator('[data-testid="search-kind"] option[value="Person"]').count() == 0
    assert page.get_by_test_id("lookup").is_visible()
    assert s.evaluate("guanlian.graph") is None

    _search_and_open(s, "华宁", A4)
    assert page.get_by_test_id("risk").is_visible()
    assert page.get_by_test_id("risk-reason").count() >= 1
    # the learned score beside the rule score, with its SHAP reasons in Chinese
    learned = page.get_by_test_id("learned-score")
    assert learned.is_visible() and learned.get_attribute("data-level") == "medium"
    assert page.get_by_test_id("learned-reason").count() == 2
    assert "法定代表人" in page.get_by_test_id("learned-reasons").inner_text()
    assert "26.9%" in page.get_by_test_id("learned-probability").inner_text()
    s.shot("inspector-risk")

    page.get_by_test_id("lookup-name").fill("上海华瑞食品有限公司")
    page.get_by_test_id("lookup-submit").click()
    page.get_by_test_id("lookup-recommendation").wait_for()
    s.idle()
    assert A2 in page.get_by_test_id("lookup-match").inner_text()
    s.shot("inspector-lookup")

    # the page never called an investigator endpoint ...
    called = [u for u in s.requests if INVESTIGATOR_ONLY.search(u)]
    assert not called, called
    s.assert_clean()

    # ... and the API refuses them to this key anyway
    key = {"X-API-Key": server.keys["inspector"]}
    for path in (f"/entities/{A1}", f"/entities/{A1}/network", f"/paths?source={CTRL}&target={A1}",
                 "/risk/shared-controllers", "/risk/rings", "/risk/phoenix",
                 "/search?q=%E5%BC%A0%E4%BC%9F&kind=Person"):
        resp = page.request.get(path, headers=key)
        assert resp.status == 403, f"{path}: {resp.status}"
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert page.request.get(f"/entities/{A1}/risk", headers=key).ok


def test_page_without_key_asks_for_one(browser: Browser, server: Server) -> None:
    context = browser.new_context(base_url=server.base_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/ui/")
    assert page.get_by_test_id("login").is_visible()
    assert not page.get_by_test_id("workspace").is_visible()
    assert "关联" in page.title()
    context.close()
    assert not errors
