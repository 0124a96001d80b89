"""The case workspace canvas (web/canvas.js, web/graph.js) in Debian's headless Chromium.

Against the real API on the tiny fixture run, as in test_web_workspace: searches add to one
canvas, remove and undo, hubs collapsed into one node and opened, the timeline slider, the
hierarchical layout, edges in the relationship's own direction, hover cards, labels by zoom,
a busy indicator during a slowed expansion, a failed request that leaves the canvas alone, the
canvas state round trip and the empty-canvas PNG. Screenshots in `test-artifacts/web/`; any
console error fails the test (except the one the test itself provokes, checked by text).
The file sorts after test_web_workspace.py on purpose: that module's server fixture empties
`test-artifacts/web/` when it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Route

from api.auth import KeyStore
from api.settings import Settings
from risk.score import score_run
from tests.support.graph_fixture import (
    A1,
    A2,
    A3,
    A4,
    CTRL,
    NAMESAKE_1,
    NAMESAKE_2,
    D,
    build_tiny_run,
)
from tests.support.web_session import start_api
from tests.web.test_web_workspace import (
    Server,
    Session,
    _click_node,
    _drawn,
    _open,
    _search_and_open,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import subprocess

    from tests.web.test_web_workspace import ROOT
    subprocess.run([str(ROOT / "scripts" / "web-assets")], check=True, timeout=300)
    tmp = tmp_path_factory.mktemp("canvas")
    run_dir = build_tiny_run(tmp)
    score_run(run_dir)
    settings = Settings(run_dir=run_dir, state_dir=tmp / "state", store="embedded",
                        environment="test")
    keys = KeyStore(settings.keys_path)
    created = {"investigator": keys.create("canvas-test", "investigator")[1]}
    keys.close()
    running = start_api(settings)
    yield Server(running.base_url, created)
    running.stop()




@pytest.fixture
def inv(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Session]:
    yield from _open(browser, server, "canvas-" + request.node.name.removeprefix("test_"),
                     "investigator")


def _js(s: Session, expr: str, arg: Any = None) -> Any:
    return s.evaluate(expr, arg)


XY = """(id) => { const cy = guanlian.graph.cy; const r = cy.getElementById(id).renderedPosition();
    const b = cy.container().getBoundingClientRect(); return {x: b.left + r.x, y: b.top + r.y}; }"""
SLIDE = "(el, v) => { el.value = v === null ? el.max : v; el.dispatchEvent(new Event('input')); }"


def _xy(s: Session, node_id: str) -> dict[str, float]:
    return dict(_js(s, XY, node_id))


def _classes(s: Session, node_id: str) -> list[str]:
    return _js(s, "(id) => guanlian.graph.cy.getElementById(id).classes()", node_id)


def _visible(s: Session, node_id: str) -> bool:
    # the computed display style (ele.visible() may answer from a stale cache after a batch)
    return bool(_js(s, "(id) => { const n = guanlian.graph.cy.getElementById(id);"
                       " return n.nonempty() && n.style('display') === 'element'; }", node_id))


def test_two_searches_share_one_canvas_remove_and_undo(inv: Session) -> None:
    s, page = inv, inv.page
    _search_and_open(s, "张伟", CTRL)
    first = _drawn(s)
    assert {CTRL, A1, A2, A3, A4} <= first
    _search_and_open(s, "王芳", NAMESAKE_1)
    both = _drawn(s)
    assert first <= both and NAMESAKE_1 in both, "the second search replaced the first"
    assert set(_js(s, "guanlian.graph.cy.nodes('.root').map(n => n.id())")) == {CTRL, NAMESAKE_1}
    # the second 王芳: the two namesakes are drawn inside one labelled box
    _search_and_open(s, "王芳", NAMESAKE_2)
    box = _js(s, "(id) => guanlian.graph.cy.getElementById(id).parent().data()", NAMESAKE_1)
    assert box["kind"] == "Namesakes" and "王芳" in box["label"] and "×2" in box["label"]
    parent = _js(s, "(id) => guanlian.graph.cy.getElementById(id).parent().id()", NAMESAKE_2)
    assert parent == box["id"]
    s.shot("two-searches-namesakes")

    # remove the selected firm, then undo brings it (and its edges) back
    degree = "(id) => guanlian.graph.cy.getElementById(id).connectedEdges().length"
    edges_before = _js(s, degree, A1)
    _click_node(s, A1)
    page.get_by_test_id("remove-node").click()
    assert A1 not in _drawn(s)
    s.shot("firm-removed")
    assert page.get_by_test_id("undo").is_enabled()
    page.get_by_test_id("undo").click()
    assert A1 in _drawn(s)
    assert _js(s, degree, A1) >= edges_before
    s.shot("firm-restored")
    # the keyboard does the same: Delete removes the selected node, Ctrl+Z undoes
    _js(s, "(id) => { const cy = guanlian.graph.cy; cy.nodes(':selected').unselect();"
           " cy.getElementById(id).select(); }", A3)
    page.locator("body").press("Delete")
    assert A3 not in _drawn(s)
    page.locator("body").press("Control+z")
    assert A3 in _drawn(s)
    s.assert_clean()


def test_failed_request_leaves_the_canvas(inv: Session) -> None:
    s, page = inv, inv.page
    _search_and_open(s, "张伟", CTRL)
    before = _drawn(s)

    def fail(route: Route) -> None:
        route.fulfill(status=503, content_type="application/problem+json",
                      body='{"title":"Unavailable","status":503,"detail":"test outage"}')

    page.route("**/entities/*/network*", fail)
    page.get_by_test_id("search-input").fill("王芳")
    page.get_by_test_id("search-submit").click()
    hit = page.locator(f'[data-testid="search-result"][data-entity-id="{NAMESAKE_1}"]')
    hit.wait_for()
    hit.locator("button").click()
    page.get_by_test_id("status").filter(has_text="503").wait_for()
    s.idle()
    assert _drawn(s) == before
    page.unroute("**/entities/*/network*")
    s.shot("failed-request-kept-canvas")
    # the browser reports the refused request itself as a console error: that one only
    assert all("503" in e for e in s.errors), s.errors


def test_hub_is_collapsed_and_opens(inv: Session, server: Server) -> None:
    s, page = inv, inv.page
    _search_and_open(s, "深圳鹏达", D[0])
    net = s.api(f"/entities/{D[0]}/network", "investigator", server.keys)
    address = next(n["id"] for n in net["nodes"] if n["kind"] == "Address")
    # an address is expandable: clicking it draws the six firms of the business centre ...
    pos = _xy(s, address)
    page.mouse.click(pos["x"], pos["y"])
    s.idle()
    assert set(D) <= _drawn(s)
    # ... folded into one group node hanging off the hub (the opened firm stays visible)
    group = f"group:{address}"
    data = _js(s, "(id) => guanlian.graph.cy.getElementById(id).data()", group)
    assert data and data["kind"] == "Group" and sorted(data["members"]) == sorted(D[1:])
    assert _visible(s, D[0]) and not any(_visible(s, d) for d in D[1:])
    assert _visible(s, group)
    s.shot("hub-collapsed")
    # clicking the group opens it
    pos = _xy(s, group)
    page.mouse.click(pos["x"], pos["y"])
    s.idle()
    assert all(_visible(s, d) for d in D)
    assert _js(s, "(id) => guanlian.graph.cy.getElementById(id).length", group) == 0
    s.shot("hub-opened")
    # and the collapse button folds it again; undo opens it again
    _js(s, "(id) => { const cy = guanlian.graph.cy; cy.nodes(':selected').unselect();"
           " cy.getElementById(id).select(); }", address)
    page.get_by_test_id("collapse-node").click()
    assert not any(_visible(s, d) for d in D[1:])
    page.get_by_test_id("undo").click()
    assert all(_visible(s, d) for d in D)
    s.assert_clean()


def test_timeline_layout_direction_hover_and_labels(inv: Session, server: Server) -> None:
    s, page = inv, inv.page
    _search_and_open(s, "华瑞", A2)
    events = {n["id"]: n["date"] for n in s.api(
        f"/entities/{A2}/network?types=SUBJECT_OF", "investigator", server.keys)["nodes"]
        if n.get("date")}
    assert sorted(events.values()) == ["2023-01-15", "2024-09-01"]
    assert set(events) <= _drawn(s)
    slider = page.get_by_test_id("timeline")
    assert slider.is_enabled() and slider.get_attribute("max") == "1"
    s.shot("timeline-all")
    # slide back to the first date: the later inspection failure disappears
    slider.evaluate(SLIDE, "0")
    later = next(i for i, d in events.items() if d == "2024-09-01")
    earlier = next(i for i, d in events.items() if d == "2023-01-15")
    assert "later" in _classes(s, later) and not _visible(s, later)
    assert _visible(s, earlier)
    assert "2023-01-15" in page.get_by_test_id("timeline-label").inner_text()
    s.shot("timeline-cut")
    slider.evaluate(SLIDE, None)
    assert _visible(s, later)

    # edges as the API gives them: person -> firm, firm -> address, with arrows
    _search_and_open(s, "张伟", CTRL)
    api_edges = {e["id"]: (e["source"], e["target"]) for e in s.api(
        f"/entities/{CTRL}/network", "investigator", server.keys)["edges"]}
    drawn = _js(s, "(ids) => ids.map(id => { const e = guanlian.graph.cy.getElementById(id);"
                   " return [e.source().id(), e.target().id(), e.style('target-arrow-shape')]; })",
                list(api_edges))
    for (src, dst, arrow), expected in zip(drawn, api_edges.values(), strict=True):
        assert (src, dst) == expected and arrow == "triangle"

    # the hierarchical layout follows the direction: the controller above his firms
    page.get_by_test_id("layout").select_option("hierarchy")
    ys = _js(s, "(ids) => ids.map(id => guanlian.graph.cy.getElementById(id).position('y'))",
             [CTRL, A1, A4])
    assert ys[0] < ys[1] and ys[0] < ys[2]
    s.shot("hierarchy-layout")
    page.get_by_test_id("layout").select_option("force")

    # hover card: name, kind, risk level, violations
    pos = _xy(s, A2)
    page.mouse.move(pos["x"], pos["y"])
    card = page.get_by_test_id("hover-card")
    card.wait_for(state="visible")
    text = card.inner_text()
    assert "上海华瑞食品有限公司" in text and "企业" in text
    assert "违规" in text and "2023-01-15" in text
    s.shot("hover-card")
    page.mouse.move(5, 5)

    # labels by zoom: far out only the opened entities keep a label
    zoom = ("(z) => { const cy = guanlian.graph.cy; cy.zoom(z);"
            " return cy.container().dataset.labels; }")
    assert _js(s, zoom, 0.3) == "none"
    assert "quiet" in _classes(s, A1) and "quiet" not in _classes(s, CTRL)
    assert _js(s, zoom, 1.2) == "all"
    assert "quiet" not in _classes(s, A1)
    s.assert_clean()


def test_busy_indicator_during_a_slow_expansion(inv: Session) -> None:
    s, page = inv, inv.page

    # the page's network requests answer 1.5 s late (delayed in the page, so that the test
    # process stays free to watch the indicator)
    s.evaluate("""() => { const real = window.fetch;
        window.fetch = (url, opts) => String(url).includes('/network')
          ? new Promise((ok) => setTimeout(ok, 1500)).then(() => real(url, opts))
          : real(url, opts); }""")
    page.get_by_test_id("depth").select_option("3")
    page.get_by_test_id("search-input").fill("张伟")
    page.get_by_test_id("search-submit").click()
    hit = page.locator(f'[data-testid="search-result"][data-entity-id="{CTRL}"]')
    hit.wait_for()
    hit.locator("button").click()
    busy = page.get_by_test_id("graph-busy")
    busy.wait_for(state="visible", timeout=1000)
    s.shot("busy")
    page.get_by_test_id("entity-id").filter(has_text=CTRL).wait_for()
    s.idle()
    assert not busy.is_visible()
    assert CTRL in _drawn(s)
    s.assert_clean()


def test_state_round_trip_and_empty_png(inv: Session) -> None:
    s, page = inv, inv.page
    page.get_by_test_id("export-png").click()
    assert "empty" in page.get_by_test_id("status").inner_text()
    assert _js(s, "import('/ui/canvas.js').then(m => m.exportPng())") is None
    _search_and_open(s, "张伟", CTRL)
    state = _js(s, "import('/ui/canvas.js').then(m => m.canvasState())")
    assert {n["data"]["id"] for n in state["nodes"]} == _drawn(s)
    page.get_by_test_id("clear-graph").click()
    assert _drawn(s) == set()
    restored = _js(s, "(st) => import('/ui/canvas.js').then(m => { m.restoreCanvas(st);"
                      " return guanlian.graph.cy.nodes().map(n => n.id()); })", state)
    assert set(restored) == {n["data"]["id"] for n in state["nodes"]}
    assert _js(s, "guanlian.graph.cy.nodes('.root').map(n => n.id())") == [CTRL]
    size = _js(s, "import('/ui/canvas.js').then(m => m.exportPng()).then(b => b && b.size)")
    assert size and size > 5000
    bad = _js(s, "import('/ui/canvas.js').then(m => { try { m.restoreCanvas({nodes: 1});"
                 " return 'accepted'; } catch (e) { return e.message; } })")
    assert "canvas state" in bad
    bad_node = _js(s, "import('/ui/canvas.js').then(m => { try {"
                      " m.restoreCanvas({nodes: [{data: {}}], edges: []}); return 'accepted'; }"
                      " catch (e) { return e.message; } })")
    assert "nodes[0]" in bad_node
    assert set(_js(s, "guanlian.graph.cy.nodes().map(n => n.id())")) == set(restored)
    s.assert_clean()
