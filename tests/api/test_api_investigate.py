"""Issue 18 through the API: namesake search pages, the path finder by name with hubs avoided,
and problem answers in Chinese with what to do (real app, real embedded store)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runfolder.ids import address_id
from tests.api.test_api_support import Served, serve
from tests.support.graph_fixture import (
    A1,
    A2,
    BO_P3,
    BO_TARGET,
    CTRL,
    CTRL2,
    HUB_ADDR,
    NAMESAKE_1,
    NAMESAKE_2,
    D,
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("investigate")) as s:
        yield s


def _chinese(body: dict[str, Any]) -> None:
    assert body["message"] and body["action"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"] + body["action"])


def test_search_pages_tell_namesakes_apart(served: Served) -> None:
    first = served.get("/search", params={"q": "王芳", "kind": "Person", "limit": 1}).json()
    second = served.get("/search", params={"q": "王芳", "kind": "Person", "limit": 1,
                                           "offset": 1}).json()
    assert first["total"] == second["total"] == 2
    assert first["groups"] == [{"name": "王芳", "count": 2}]
    hits = {h["entity_id"]: h for h in first["items"] + second["items"]}
    assert set(hits) == {NAMESAKE_1, NAMESAKE_2}
    one, two = hits[NAMESAKE_1], hits[NAMESAKE_2]
    assert (one["birth_year"], two["birth_year"]) == (1980, 1992)
    assert one["id_masked"] != two["id_masked"] and "…" in one["id_masked"]
    assert [t["name"] for t in one["ties"]] == ["上海芳华服饰有限公司"]
    assert two["ties"][0]["violating"] is True
    # inspectors: enterprises only, no person's counts
    firms = served.get("/search", params={"q": "华信"}, role="inspector").json()
    assert firms["total"] >= 1 and all(h["kind"] == "Enterprise" for h in firms["items"])


def test_paths_by_name_name_every_node_and_keep_real_directions(served: Served) -> None:
    answer = served.get("/paths", params={"source": "上海华信进出口贸易有限公司",
                                          "target": "上海华瑞食品有限公司"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["source"]["entity_id"], body["target"]["entity_id"]) == (A1, A2)
    assert [p["nodes"] for p in body["items"]] == [[A1, CTRL, A2], [A1, CTRL2, A2]]
    names = {n["id"]: n["label"] for n in body["nodes"]}
    assert names[CTRL] == "张伟" and names[CTRL2] == "李娜"
    first_step = body["items"][0]["steps"][0]
    assert (first_step["a"], first_step["b"]) == (A1, CTRL)
    assert [(r["source"], r["target"], r["type_label"]) for r in first_step["relations"]] == [
        (CTRL, A1, "法定代表人")]  # the person represents the firm, not the other way round
    parallel = served.get("/paths", params={"source": BO_TARGET, "target": BO_P3}).json()
    assert len(parallel["items"]) == 1 and len(parallel["items"][0]["steps"][0]["relations"]) == 2


def test_paths_honour_the_relation_filter_and_avoid_hubs(served: Served) -> None:
    directors = served.get("/paths", params={"source": A1, "target": A2,
                                             "types": "DIRECTOR_OF"}).json()
    assert [p["nodes"] for p in directors["items"]] == [[A1, CTRL2, A2]]
    avoided = served.get("/paths", params={"source": D[0], "target": D[4]}).json()
    assert avoided["items"] == [] and avoided["include_hubs"] is False
    through = served.get("/paths", params={"source": D[0], "target": D[4],
                                           "include_hubs": "true"}).json()
    assert address_id(HUB_ADDR) in {p["nodes"][1] for p in through["items"]}
    assert {n["label"] for n in through["nodes"]} >= {HUB_ADDR}


def test_an_ambiguous_name_is_a_clear_422_with_candidates(served: Served) -> None:
    answer = served.get("/paths", params={"source": "王芳", "target": A1})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "ambiguous_name" and body["errors"][0]["field"] == "query.source"
    assert {c["entity_id"] for c in body["candidates"]} == {NAMESAKE_1, NAMESAKE_2}
    assert {c["birth_year"] for c in body["candidates"]} == {1980, 1992}
    _chinese(body)
    assert "candidates" in body["action"]
    missing = served.get("/paths", params={"source": "没有这个名字的公司", "target": A1})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    mistyped = served.get("/paths", params={"source": "E12", "target": A1})
    assert mistyped.status_code == 422 and mistyped.json()["code"] == "validation_error"


def test_problems_say_in_chinese_what_to_do(served: Served) -> None:
    for response, code in (
        (served.get(f"/entities/{A1}", role=None), "unauthenticated"),
        (served.get(f"/entities/{A1}", role="inspector"), "forbidden"),
        (served.get("/entities/E000000000000"), "not_found"),
        (served.get(f"/entities/{A1}/network", params={"depth": 9}), "validation_error"),
    ):
        body = response.json()
        assert body["code"] == code, body
        _chinese(body)
    assert "重新登录" in served.get("/whoami", role=None).json()["action"]
