"""The workspace's inspection report (#/report, web/report.js) in Debian's headless Chromium,
against the real API on the inspection fixture's run (embedded store, SQLite state database):
empty before any outcome, then, after a seeded draw and outcomes recorded by an inspector
through the API, every bar, point, percentage and table cell equals `GET /inspection/report`.
Screenshots under `test-artifacts/web/` (prefix `report-`), axe-core with no serious or
critical violation, no console error. (The module sorts after test_web_workspace.py, which
empties that folder.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from api.auth import KeyStore
from api.settings import Settings
from tests.support.inspection_fixture import build_inspection_run
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
PLOT_HEIGHT = 120  # web/report.js: px of a 100 % bar
SECTIONS = ("by_recommendation", "by_class", "by_decile", "by_part", "by_month")


@dataclass(frozen=True)
class Served:
    api: Running
    keys: dict[str, str]  # role -> key

    def call(self, method: str, path: str, role: str, **kw: Any) -> Any:
        response = httpx.request(method, self.api.base_url + path, timeout=30,
                                 headers={"X-API-Key": self.keys[role]}, **kw)
        assert response.status_code in (200, 201), response.text
        return response.json()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    page_assets("report-*")
    tmp = tmp_path_factory.mktemp("report")
    run_dir, _ = build_inspection_run(tmp / "data")
    settings = Settings(run_dir=run_dir, state_dir=tmp / "state", store="embedded",
                        environment="test")
    store = KeyStore(settings.keys_path)
    keys = {}
    for role in ("investigator", "inspector"):
        _, key = store.create(f"report-{role}", role)  # type: ignore[arg-type]
        keys[role] = key
    store.close()
    running = start_api(settings)
    yield Served(running, keys)
    running.stop()




def _record(served: Served) -> tuple[int, dict[str, Any]]:
    """A seeded draw (half uniform, no inspectors) and outcomes over three months: in each part
    the first target fails, and so does every third; plus a lookup's outcome of the first
    target (no draw: part `lookup`). Outcomes take hexadecimal entity IDs only, which the
    fixture's hand-named firms (E0000000000h1, …) are not: those targets are left out."""
    draw = served.call("POST", "/inspection/draws", "investigator", json={
        "seed": 11, "targets": 16, "uniform_share": 0.5, "inspectors_per_target": 0})
    targets = [t for t in draw["targets"] if re.fullmatch(r"E[0-9a-f]{12}", t["entity_id"])]
    assert {t["part"] for t in targets} == {"weighted", "uniform"}
    seen: dict[str, int] = {}
    for i, target in enumerate(targets):
        k = seen[target["part"]] = seen.get(target["part"], -1) + 1
        served.call("POST", "/inspection/outcomes", "inspector", json={
            "request_id": draw["request_id"], "draw_id": draw["id"],
            "entity_id": target["entity_id"], "result": "fail" if k % 3 == 0 else "pass",
            "inspected_on": f"2026-0{1 + i % 3}-1{i % 9}"})
    served.call("POST", "/inspection/outcomes", "inspector", json={
        "request_id": "lookup-0001", "entity_id": targets[0]["entity_id"], "result": "fail",
        "findings": "货证不符", "inspected_on": "2026-03-05"})
    report: dict[str, Any] = served.call("GET", "/inspection/report", "investigator")
    return len(targets), report


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _check_section(t: Tab, key: str, rows: list[dict[str, Any]]) -> None:
    """Each group's mark (bar height or point height), its percentage and its table row equal
    the API's figures; a group without outcomes has no mark."""
    chart = t.testid(f"report-chart-{key}")
    marks = chart.get_by_test_id("report-mark")
    drawn = {m["group"]: m for m in marks.evaluate_all(
        "els => els.map(e => ({group: e.dataset.group, rate: e.dataset.hitRate, "
        "n: e.dataset.n, failures: e.dataset.failures, tag: e.tagName, "
        "height: e.tagName === 'rect' ? e.height.baseVal.value : null, "
        "y: e.tagName === 'rect' ? e.y.baseVal.value : e.cy.baseVal.value}))")}
    assert set(drawn) == {r["group"] for r in rows if r["hit_rate"] is not None}, key
    bottom = None
    for r in rows:
        if r["hit_rate"] is None:
            continue
        m = drawn[r["group"]]
        assert float(m["rate"]) == pytest.approx(r["hit_rate"]), (key, r)
        assert (int(m["n"]), int(m["failures"])) == (r["n"], r["failures"]), (key, r)
        top = m["y"]
        if m["tag"] == "rect":
            assert m["height"] == pytest.approx(PLOT_HEIGHT * r["hit_rate"], abs=0.01), (key, r)
            bottom = top + m["height"]
        else:
            assert m["tag"] == "circle"
        if bottom is not None:  # every mark measured from the same zero line
            assert top == pytest.approx(bottom - PLOT_HEIGHT * r["hit_rate"], abs=0.01)
    values = chart.get_by_test_id("report-value")
    shown = dict(values.evaluate_all("els => els.map(e => [e.dataset.group, e.textContent])"))
    assert shown == {r["group"]: _percent(r["hit_rate"]) for r in rows}, key
    table = t.testid(f"report-table-{key}").get_by_test_id("report-row")
    cells = table.evaluate_all("rows => rows.map(r => [r.dataset.group, "
                               "...[...r.cells].slice(1).map(c => c.textContent)])")
    assert cells == [[r["group"], str(r["n"]), str(r["failures"]), _percent(r["hit_rate"])]
                     for r in rows], key


def test_report_view_shows_the_apis_hit_rates(browser: Browser, served: Served) -> None:
    with signed_in(browser, served.api.base_url, served.keys["investigator"], "view",
                   prefix="report") as t:
        t.testid("nav-report").click()
        t.testid("report-empty").wait_for()
        t.idle()
        assert "尚无检查结果" in t.testid("report-empty").inner_text()
        assert t.page.locator("svg.report-chart").count() == 0
        assert t.testid("nav-report").get_attribute("aria-current") == "page"
        t.shot("empty")
        t.axe("empty")

        drawn, report = _record(served)
        assert report["outcomes"] == drawn + 1
        parts = {r["group"]: r for r in report["by_part"]}
        assert parts["weighted"]["failures"] and parts["uniform"]["failures"]
        assert parts["lookup"]["n"] == 1
        months = [r["group"] for r in report["by_month"]]
        assert months == ["2026-01", "2026-02", "2026-03"]

        t.testid("report-all").click()
        t.testid("report-chart-by_part").wait_for()
        t.idle()
        assert t.testid("report-outcomes").inner_text() == str(report["outcomes"])
        assert t.testid("report-ratio").inner_text() == f"{report['weighted_vs_uniform']:.2f}"
        th = report["thresholds"]
        assert (f"查验 inspect ≥ {th['inspect_min_score']:g} 分"
                in t.testid("report-thresholds").inner_text())
        for key in SECTIONS:
            _check_section(t, key, report[key])
        # the board shows the charts at their size (not squeezed beside the graph's frame)
        box = t.testid("report-chart-by_recommendation").bounding_box()
        assert box is not None and box["height"] >= PLOT_HEIGHT
        board = t.testid("board").bounding_box()
        assert board is not None and board["height"] > 3 * PLOT_HEIGHT
        # the month chart is a line through its points
        assert t.testid("report-chart-by_month").locator("polyline").count() == 1
        t.shot("charts")
        t.testid("report-by_month").scroll_into_view_if_needed()
        t.shot("months")
        t.axe("charts")

        # a month after every outcome: the filtered report is empty and says so
        t.testid("report-since").fill("2026-04")
        t.testid("report-apply").click()
        t.testid("report-empty").wait_for()
        t.idle()
        assert "2026-04" in t.page.url
        assert t.page.locator("svg.report-chart").count() == 0
        t.shot("since-empty")
        t.assert_clean()
