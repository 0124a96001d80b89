"""The workspace's search, path finder and inspector lookup as an investigator (and an
inspector) would use them, in Debian's headless Chromium against the real API on the tiny run
(embedded store): namesakes told apart and paged, a path through a hub avoided and then
included, a path asked for by names (suggestions, an ambiguous name's candidates) drawn and
read in the relationships' real direction, and a legal-form variant of a registered firm
found by the inspector lookup. Screenshots under `test-artifacts/web/` (prefix `tasks-`),
axe-core on each page state (no serious or critical violation), no unexpected console error."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from playwright.sync_api import Browser

from api.auth import KeyStore
from api.settings import Settings
from risk.score import score_run
from runfolder.folder import read_table, write_table
from tests.support.graph_fixture import (
    A3,
    A4,
    CTRL,
    H1,
    H2,
    HUB_ADDR,
    NAMESAKE_1,
    NAMESAKE_2,
    D,
    build_tiny_run,
)
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
PREFIX = "tasks"

# planted beside the tiny run: a firm registered with the long legal form, and a namesake
# firm in another city (so a name without region means two firms)
BAOJIN, BAOJIN_GZ = "E0000000000f7", "E0000000000f8"
PLANTED = {
    BAOJIN: ("深圳市宝锦电子科技有限责任公司", "广东省深圳市福田区华强北路10号",
             "91440300MA5F000071"),
    BAOJIN_GZ: ("广州市宝锦电子科技有限公司", "广东省广州市天河区体育西路8号",
                "91440101MA5F000082"),
}


@dataclass(frozen=True)
class Served:
    api: Running
    keys: dict[str, str]  # role -> key

    def get(self, path: str, role: str = "investigator") -> Any:
        return httpx.get(self.api.base_url + path, headers={"X-API-Key": self.keys[role]},
                         timeout=30)

    def lookup(self, name: str) -> dict[str, Any]:
        response = httpx.post(self.api.base_url + "/inspection/lookup", json={"name": name},
                              headers={"X-API-Key": self.keys["inspector"]}, timeout=30)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def _plant(run: Path) -> None:
    """The planted firms, each a copy of clean firm A4's row with its own name, identifiers
    and address (no relationships, no events)."""
    entities = read_table(run, "entities")
    template = entities[entities["entity_id"] == A4].iloc[0].to_dict()
    rows = list(pa.Table.from_pandas(entities, preserve_index=False).to_pylist())
    for i, (entity_id, (name, address, code)) in enumerate(PLANTED.items()):
        row = {k: (None if isinstance(v, float) else v) for k, v in template.items()}
        rows.append({**row, "entity_id": entity_id, "name": name, "names": [name],
                     "name_pinyin": None, "uscc": code, "customs_code": f"44010000{i}9",
                     "address": address, "address_std": address, "mention_ids": [],
                     "n_mentions": 0})
    write_table(run, "entities", rows)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    page_assets(f"{PREFIX}-*")
    tmp = tmp_path_factory.mktemp("tasks")
    run_dir = build_tiny_run(tmp)
    _plant(run_dir)
    score_run(run_dir)
    settings = Settings(run_dir=run_dir, state_dir=tmp / "state", store="embedded",
                        environment="test")
    store = KeyStore(settings.keys_path)
    keys = {}
    for role in ("investigator", "inspector"):
        _, keys[role] = store.create(f"tasks-{role}", role)  # type: ignore[arg-type]
    store.close()
    running = start_api(settings)
    yield Served(running, keys)
    running.stop()




@pytest.fixture
def tab(browser: Browser, served: Served, request: pytest.FixtureRequest) -> Iterator[Tab]:
    name = request.node.name.removeprefix("test_")
    with signed_in(browser, served.api.base_url, served.keys["investigator"], name,
                   prefix=PREFIX) as t:
        yield t


def _search(t: Tab, text: str, kind: str = "") -> None:
    t.testid("search-kind").select_option(kind)
    t.testid("search-input").fill(text)
    t.testid("search-submit").click()
    t.page.get_by_test_id("search-range").wait_for()
    t.idle()


def _row(t: Tab, entity_id: str) -> Any:
    return t.page.locator(f'[data-testid="search-result"][data-entity-id="{entity_id}"]')


def test_namesakes_are_told_apart_and_results_paged(tab: Tab, served: Served) -> None:
    t, page = tab, tab.page
    _search(t, "王芳", "Person")
    answer = served.get("/search?q=王芳&kind=Person&limit=20").json()
    assert {h["entity_id"] for h in answer["items"]} >= {NAMESAKE_1, NAMESAKE_2}
    # the name group with its count, and each person's own facts
    group = page.locator('[data-testid="search-group"][data-name="王芳"]')
    assert group.get_attribute("data-count") == str(
        next(g["count"] for g in answer["groups"] if g["name"] == "王芳"))
    assert "王芳 ×2" in group.inner_text()
    facts = {}
    for hit in answer["items"]:
        if hit["entity_id"] not in (NAMESAKE_1, NAMESAKE_2):
            continue
        row = _row(t, hit["entity_id"])
        text = row.get_by_test_id("hit-facts").inner_text()
        assert hit["id_masked"] and hit["id_masked"] in text
        assert f"{hit['birth_year']} 年生" in text
        assert hit["province"] in text
        facts[hit["entity_id"]] = text
        ties = row.get_by_test_id("hit-tie")
        assert [ties.nth(i).get_attribute("data-entity-id") for i in range(ties.count())] == [
            f["entity_id"] for f in hit["ties"]]
    assert facts[NAMESAKE_1] != facts[NAMESAKE_2]  # the two 王芳 read differently
    # the firms: H1 (clean) and H2 (penalised, a violation badge)
    tie1 = _row(t, NAMESAKE_1).locator(f'[data-testid="hit-tie"][data-entity-id="{H1}"]')
    tie2 = _row(t, NAMESAKE_2).locator(f'[data-testid="hit-tie"][data-entity-id="{H2}"]')
    assert "上海芳华服饰有限公司" in tie1.inner_text()
    assert tie1.get_by_test_id("violating-badge").count() == 0
    assert tie2.get_by_test_id("violating-badge").count() == 1
    t.shot("namesakes")
    t.axe("namesakes")
    # paging through a result of more than one page
    whole = served.get("/search?q=有限公司&kind=Enterprise&limit=20").json()
    assert whole["total"] > 20, "the tiny run needs more than one page of firms"
    _search(t, "有限公司", "Enterprise")
    assert f"共 {whole['total']} 条，第 1–20 条" in t.testid("search-range").inner_text()
    assert t.testid("search-prev").is_disabled()
    first_page = [h["entity_id"] for h in whole["items"]]
    shown = page.get_by_test_id("search-result")
    assert [shown.nth(i).get_attribute("data-entity-id") for i in range(shown.count())] == (
        first_page)
    t.testid("search-next").click()
    page.get_by_test_id("search-range").filter(has_text="第 21").wait_for()
    t.idle()
    second = served.get("/search?q=有限公司&kind=Enterprise&limit=20&offset=20").json()
    shown = page.get_by_test_id("search-result")
    assert [shown.nth(i).get_attribute("data-entity-id") for i in range(shown.count())] == [
        h["entity_id"] for h in second["items"]]
    assert not t.testid("search-prev").is_disabled()
    t.shot("search-page-2")
    t.axe("search-page-2")
    t.testid("search-prev").click()
    page.get_by_test_id("search-range").filter(has_text="第 1–").wait_for()
    t.idle()
    assert shown.first.get_attribute("data-entity-id") == first_page[0]
    t.assert_clean()


def _find_path(t: Tab, source: str, target: str) -> None:
    t.testid("path-source").fill(source)
    t.testid("path-target").fill(target)
    t.testid("path-submit").click()
    t.page.locator('[data-testid="path-item"], [data-testid="no-path"], '
                   '[data-testid="path-candidate"]').first.wait_for()
    t.idle()


def _drawn_ends(t: Tab, ids: list[str]) -> list[list[str]]:
    ends: list[list[str]] = t.ev(
        "(ids) => ids.map(id => { const e = guanlian.graph.cy.getElementById(id);"
        " return e.empty() ? null : [e.source().id(), e.target().id()]; })", ids)
    return ends


def _assert_drawn_as_stored(t: Tab, item: dict[str, Any]) -> set[str]:
    """Every relationship of every step drawn from its real source to its real target."""
    relations = [r for s in item["steps"] for r in s["relations"]]
    assert relations
    ends = _drawn_ends(t, [r["id"] for r in relations])
    assert ends == [[r["source"], r["target"]] for r in relations]
    return {r["id"] for r in relations}


def test_path_avoids_a_hub_unless_asked_and_honours_the_filter(tab: Tab,
                                                              served: Served) -> None:
    t, page = tab, tab.page
    t.testid("nav-graph").click()
    t.idle()
    a, b = D[2], D[3]  # two firms tied only through the hub address and the hub phone
    avoided = served.get(f"/paths?source={a}&target={b}").json()
    assert avoided["items"] == []
    _find_path(t, a, b)
    assert t.testid("no-path").is_visible()
    assert "避开枢纽" in t.testid("no-path").inner_text()
    t.shot("hub-avoided")
    # included: the path goes through the hub
    t.testid("path-include-hubs").check()
    t.testid("path-submit").click()
    page.get_by_test_id("path-item").first.wait_for()
    t.idle()
    included = served.get(f"/paths?source={a}&target={b}&include_hubs=true").json()
    assert included["items"]
    items = page.get_by_test_id("path-item")
    assert items.count() == len(included["items"])
    first = included["items"][0]
    edges = _assert_drawn_as_stored(t, first)
    nodes, highlighted = t.highlighted()
    assert nodes == set(first["nodes"]) and highlighted == edges
    hub = first["nodes"][1]
    assert t.ev(f"guanlian.graph.cy.getElementById('{hub}').length") == 1
    texts = [items.nth(i).get_by_test_id("path-text").inner_text() for i in range(items.count())]
    assert len(set(texts)) == len(texts)  # distinct paths only
    assert any(HUB_ADDR in x for x in texts)
    t.shot("hub-included")
    t.axe("hub-included")
    # the relation filter: addresses unchecked, the path goes through the phone
    t.testid("filter-LOCATED_AT").uncheck()
    t.testid("path-submit").click()
    page.get_by_test_id("status").filter(has_text="路径 path 1/").wait_for()
    t.idle()
    types = {r["type"] for s in t.ev("guanlian.paths").pop(0)["steps"] for r in s["relations"]}
    assert "LOCATED_AT" not in types and "HAS_PHONE" in types
    texts = [items.nth(i).get_by_test_id("path-text").inner_text() for i in range(items.count())]
    assert all(HUB_ADDR not in x for x in texts)
    t.shot("hub-filtered")
    t.assert_clean()


def test_path_by_names_reads_in_the_real_direction(tab: Tab, served: Served) -> None:
    t, page = tab, tab.page
    t.testid("nav-graph").click()
    t.idle()
    # the source by a suggestion while typing, the target by its full name
    t.testid("path-source").fill("张伟")
    suggestion = page.locator(f'[data-testid="path-suggestion"][data-entity-id="{CTRL}"]')
    suggestion.wait_for()
    t.idle()
    t.shot("suggestions")
    t.axe("suggestions")
    suggestion.click()
    assert t.testid("path-source").input_value() == "张伟"
    t.testid("path-target").fill("苏州华盛贸易有限公司")
    t.testid("path-submit").click()
    page.get_by_test_id("path-item").first.wait_for()
    t.idle()
    answer = served.get(f"/paths?source={CTRL}&target=苏州华盛贸易有限公司").json()
    first = answer["items"][0]
    assert first["nodes"] == [CTRL, A3]
    _assert_drawn_as_stored(t, first)
    # the person holds the firm: the arrow runs from the person to the firm
    text = page.get_by_test_id("path-text").first.inner_text()
    assert text.startswith("张伟 —") and "股东" in text and text.endswith("→ 苏州华盛贸易有限公司")
    assert t.ev(f"guanlian.graph.cy.edges('[type = \"SHAREHOLDER_OF\"]')"
                f".filter(e => e.target().id() === '{A3}')[0].source().id()") == CTRL
    t.shot("path-by-names")
    # an ambiguous name: its candidates offered, no raw error; one picked, the path found
    t.expected_errors = ["422"]  # the browser logs the refused request itself
    _find_path(t, "王芳", "深圳芳源电子有限公司")
    candidates = page.get_by_test_id("path-candidate")
    assert {candidates.nth(i).get_attribute("data-entity-id")
            for i in range(candidates.count())} >= {NAMESAKE_1, NAMESAKE_2}
    status = t.testid("status").inner_text()
    assert "对应" in status and "请在下方选择" in status and "pattern" not in status
    t.shot("ambiguous-name")
    t.axe("ambiguous-name")
    page.locator(f'[data-testid="path-candidate"][data-entity-id="{NAMESAKE_2}"]').click()
    page.get_by_test_id("path-item").first.wait_for()
    t.idle()
    reply = served.get(f"/paths?source={NAMESAKE_2}&target=深圳芳源电子有限公司")
    assert reply.status_code == 200, reply.text
    picked = reply.json()["items"][0]
    _assert_drawn_as_stored(t, picked)
    text = page.get_by_test_id("path-text").first.inner_text()
    assert text.startswith("王芳 —") and text.endswith("→ 深圳芳源电子有限公司")
    t.shot("ambiguous-picked")
    t.assert_clean()


def test_inspector_lookup_finds_a_legal_form_variant(browser: Browser, served: Served) -> None:
    with signed_in(browser, served.api.base_url, served.keys["inspector"], "lookup",
                   prefix=PREFIX) as t:
        page = t.page
        t.testid("lookup-name").fill("深圳市宝锦电子科技有限公司")
        t.testid("lookup-submit").click()
        t.testid("lookup-recommendation").wait_for()
        t.idle()
        answer = served.lookup("深圳市宝锦电子科技有限公司")
        assert answer["match"]["entity"]["entity_id"] == BAOJIN
        assert t.testid("lookup-match").get_attribute("data-entity-id") == BAOJIN
        assert "深圳市宝锦电子科技有限责任公司" in t.testid("lookup-match").inner_text()
        assert "置信度 confidence" in t.testid("lookup-confidence").inner_text()
        recommendation = t.testid("lookup-recommendation").inner_text()
        assert answer["recommendation_label"] and answer["recommendation_label"] in recommendation
        t.shot("variant-found")
        t.axe("variant-found")
        # no region: the two cities' firms are both variants, offered as candidates
        t.testid("lookup-name").fill("宝锦电子科技有限公司")
        t.testid("lookup-submit").click()
        page.get_by_test_id("lookup-candidate").first.wait_for()
        t.idle()
        assert t.testid("lookup-match").inner_text().startswith("未匹配")
        rows = page.get_by_test_id("lookup-candidate")
        shown = {rows.nth(i).get_attribute("data-entity-id") for i in range(rows.count())}
        assert {BAOJIN, BAOJIN_GZ} <= shown
        for i in range(rows.count()):
            assert "置信度 confidence" in rows.nth(i).inner_text()
        assert page.get_by_test_id("lookup-same-name").count() >= 2
        both = served.lookup("宝锦电子科技有限公司")
        assert both["recommendation_label"] in t.testid("lookup-recommendation").inner_text()
        t.shot("variant-candidates")
        t.axe("variant-candidates")
        t.assert_clean()
