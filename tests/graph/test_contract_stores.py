"""One contract suite over both GraphReader implementations on the tiny fixture run.

Every read operation runs against `EmbeddedStore` (built from the run folder) and against
`Neo4jStore` (the same run loaded into the real server); each answer must be identical, and
each store must find the planted patterns of `graph_fixture`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from neo4j import Driver
from pydantic import BaseModel

import tests.support.graph_fixture as F
from graph.embedded.store import EmbeddedStore
from graph.neo4j.loader import publish_run
from graph.neo4j.store import Neo4jStore
from graph.store import GraphReader
from graph.worklist import WorklistQuery
from risk.config import RiskConfig
from runfolder.folder import write_table
from runfolder.ids import address_id, phone_id
from tests.conftest import empty_database

Op = Callable[[GraphReader], Any]
RISK = [
    (F.A1, 81.0, "high"), (F.A2, 75.5, "high"), (F.CTRL, 45.0, "medium"), (F.H3, 12.0, "low"),
    (F.A3, 45.0, "medium"), (F.G[1], 30.0, "low"), (F.PHX_NEW, 0.0, "low"),
]
# extra reasons after the first (own events): rule and the entity whose events trigger it
EXTRA_REASONS = {
    F.CTRL: [("shared_controller", F.A2)], F.G[1]: [("network_1", F.G[0])],
    F.A2: [("network_2", F.A1)], F.H3: [("hub", F.H2)],
}


# the learned score of some enterprises (probability, level), as `guanlian score` ships it
LEARNED = {F.A1: (0.31, "medium"), F.A2: (0.72, "high"), F.A3: (0.72, "high"),
           F.PHX_NEW: (0.02, "low")}


def _learned_text(probability: float) -> str:
    """An explanation whose parts sum to logit(probability), as risk/learned_run.py writes."""
    import math

    log_odds = math.log(probability / (1 - probability))
    reasons = [{"feature": "own_weight", "label": "自身违法记录加权分", "value": 2.5,
                "contribution": 1.25},
               {"feature": "ring_size", "label": "所在关联团伙的企业数", "value": None,
                "contribution": -0.5}]
    return json.dumps({"log_odds": log_odds, "expected_value": -4.0,
                       "other": log_odds + 4.0 - 0.75, "reasons": reasons}, ensure_ascii=False)


def _write_risk(run: Path) -> None:
    events = pd.read_parquet(run / "events.parquet")
    own = events.groupby("entity_id")["event_id"].apply(sorted).to_dict()
    rows = []
    for entity_id, score, level in RISK:
        reasons = [{"rule": "direct_events", "contribution": score, "summary": "own events",
                    "path_nodes": [entity_id], "path_edges": [],
                    "event_ids": own.get(entity_id, [])}]
        for rule, other in EXTRA_REASONS.get(entity_id, []):
            reasons.append({"rule": rule, "contribution": 1.0, "summary": rule,
                            "path_nodes": [entity_id, other], "path_edges": [],
                            "event_ids": own.get(other, [])})
        learned = LEARNED.get(entity_id)
        rows.append({"entity_id": entity_id, "score": score, "level": level,
                     "reasons": json.dumps(reasons), "run_id": F.RUN_ID,
                     "learned_score": learned[0] if learned else None,
                     "learned_level": learned[1] if learned else None,
                     "learned_reasons": _learned_text(learned[0]) if learned else None})
    write_table(run, "risk", rows)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = F.build_tiny_run(tmp_path_factory.mktemp("contract"))
    _write_risk(run)
    # one dated relationship: both stores answer its start date in the network
    relations = pq.read_table(run / "relations.parquet").to_pylist()
    for r in relations:
        if (r["type"], r["src"], r["dst"]) == ("SHAREHOLDER_OF", F.CTRL, F.A3):
            r["start_date"] = date(2018, 6, 1)
    write_table(run, "relations", relations)
    return run


@pytest.fixture(scope="module")
def loaded(neo4j_driver: Driver, tiny_run: Path) -> Iterator[Driver]:
    empty_database(neo4j_driver)
    publish_run(neo4j_driver, tiny_run, progress=False)
    yield neo4j_driver


def _config() -> RiskConfig:
    return RiskConfig.model_validate({"hubs_whitelist": F.tiny_whitelist()})


@pytest.fixture(scope="module")
def stores(loaded: Driver, tiny_run: Path) -> dict[str, GraphReader]:
    return {
        "embedded": EmbeddedStore.from_run(tiny_run, _config()),
        "neo4j": Neo4jStore(loaded, _config()),
    }


@pytest.fixture(scope="module")
def capped(loaded: Driver, tiny_run: Path) -> dict[str, GraphReader]:
    """Both stores with a degree cap of 3: CTRL (5 network relationships) becomes blocked."""
    return {
        "embedded": EmbeddedStore.from_run(tiny_run, _config(), degree_cap=3),
        "neo4j": Neo4jStore(loaded, _config(), degree_cap=3),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _ident(store: GraphReader, entity_id: str, field: str) -> str:
    profile = store.get_entity(entity_id)
    assert profile is not None
    value = getattr(profile, field)
    assert isinstance(value, str)
    return value


WORKLISTS: dict[str, WorklistQuery] = {
    "all": WorklistQuery(),
    "page": WorklistQuery(limit=2, offset=1),
    "past_end": WorklistQuery(offset=50),
    "min_score": WorklistQuery(min_score=40.0),
    "person": WorklistQuery(kinds=("Person",)),
    "levels": WorklistQuery(levels=("medium", "low")),
    "rules": WorklistQuery(rules=("network_1", "hub")),
    "rule_missing": WorklistQuery(rules=("phoenix",)),
    "province": WorklistQuery(provinces=("上海市",)),
    "city": WorklistQuery(cities=("深圳市", "杭州市")),
    "ids": WorklistQuery(entity_ids=(F.A2, F.H3, "E000000000000")),
    "source": WorklistQuery(sources=("credit_blacklist",)),
    "learned": WorklistQuery(score="learned"),
    "learned_levels": WorklistQuery(score="learned", levels=("high", "low"), limit=2),
    "dates": WorklistQuery(event_from=date(2024, 5, 1), event_to=date(2024, 12, 31)),
    "source_and_dates": WorklistQuery(sources=("customs_penalties",), event_to=date(2023, 12, 31)),
    "combined": WorklistQuery(kinds=("Enterprise",), levels=("high", "medium"), limit=1),
}

CASES: dict[str, Op] = {
    "find_uscc": lambda s: s.find_by_identifier("uscc", _ident(s, F.A1, "uscc")),
    "find_customs": lambda s: s.find_by_identifier("customs_code", " 3100000003 "),
    "find_id_number": lambda s: s.find_by_identifier("id_number", _ident(s, F.CTRL, "id_number")),
    "find_miss": lambda s: s.find_by_identifier("reg_no", "nothing"),
    "search_name": lambda s: s.search("华信进出口"),
    "search_person": lambda s: s.search("王芳", kinds=("Person",)),
    "search_pinyin": lambda s: s.search("shanghai huaxin"),
    "search_uscc": lambda s: s.search(_ident(s, F.A3, "uscc").lower()),
    "search_page": lambda s: s.search("深圳贸易有限公司", kinds=("Enterprise",), limit=2, offset=1),
    "entity_firm": lambda s: s.get_entity(F.A2),
    "entity_person": lambda s: s.get_entity(F.CTRL),
    "entity_missing": lambda s: s.get_entity("E000000000000"),
    "risk": lambda s: [s.get_risk(e) for e in (F.A1, F.CTRL, F.H3, F.D[0], F.A2, F.PHX_NEW)],
    "briefs": lambda s: s.get_briefs([F.CTRL, F.A1, "E000000000000", F.A1, F.D[0], F.H3]),
    "briefs_no_risk": lambda s: s.get_briefs([F.CTRL, F.A1, "E000000000000", F.H3], risk=False),
    "briefs_none": lambda s: s.get_briefs([]),
    "briefs_uscc": lambda s: s.briefs_by_identifier("uscc", _ident(s, F.A1, "uscc").lower()),
    "briefs_customs": lambda s: s.briefs_by_identifier("customs_code", " 3100000003 "),
    "briefs_id_number": lambda s: s.briefs_by_identifier(
        "id_number", _ident(s, F.CTRL, "id_number")),
    "briefs_miss": lambda s: s.briefs_by_identifier("reg_no", "nothing"),
    "search_pool": lambda s: s.search("华信进出口", kinds=("Enterprise",), limit=3, pool=30),
    "rank_names": lambda s: s.rank_names("华信进出口", kinds=("Enterprise",), limit=3, pool=30),
    "rank_names_paged": lambda s: s.rank_names("深圳贸易有限公司", kinds=("Enterprise",),
                                               limit=2, offset=1, pool=20),
    "rank_names_person": lambda s: s.rank_names("王芳", kinds=("Person",), pool=10),
    "rank_names_pinyin": lambda s: s.rank_names("shanghai huaxin", pool=50),
    "rank_names_uscc": lambda s: s.rank_names(_ident(s, F.A3, "uscc").lower(), pool=10),
    "search_page_namesakes": lambda s: s.search_page("王芳", kinds=("Person",)),
    "search_page_paged": lambda s: s.search_page("深圳贸易有限公司", kinds=("Enterprise",),
                                                 limit=2, offset=1),
    "search_page_controller": lambda s: s.search_page("张伟"),
    "search_page_none": lambda s: s.search_page("不存在的名字", limit=5),
    "neighbourhood_1": lambda s: s.neighbourhood(F.CTRL),
    "neighbourhood_2": lambda s: s.neighbourhood(F.A1, depth=2),
    "neighbourhood_cap": lambda s: s.neighbourhood(F.CTRL, depth=2, node_cap=3),
    "neighbourhood_events": lambda s: s.neighbourhood(F.A2, rel_types=["SUBJECT_OF"]),
    "neighbourhood_whitelist": lambda s: s.neighbourhood(F.F[0], depth=3),
    "neighbourhood_types": lambda s: s.neighbourhood(F.BO_TARGET, 3, ["SHAREHOLDER_OF"]),
    "neighbourhood_missing": lambda s: s.neighbourhood("E000000000000"),
    "controllers": lambda s: s.shared_controllers(),
    "controllers_3": lambda s: s.shared_controllers(min_firms=3, limit=1),
    "exposure_1": lambda s: s.exposure(F.CTRL, 1),
    "exposure_4": lambda s: s.exposure(F.CTRL, 4),
    "exposure_ring": lambda s: s.exposure(F.G[1], 3),
    "exposure_whitelist": lambda s: s.exposure(F.F[1], 4),
    "exposure_limit": lambda s: s.exposure(F.A4, 3, limit=2),
    "phoenix": lambda s: s.phoenix_firms(),
    "hubs": lambda s: s.hubs(),
    "hubs_all": lambda s: s.hubs(min_enterprises=2, include_whitelisted=True),
    "cycles": lambda s: s.ownership_cycles(),
    "cycles_short": lambda s: s.ownership_cycles(max_length=2),
    "owners": lambda s: s.beneficial_owners(F.BO_TARGET),
    "owners_all": lambda s: s.beneficial_owners(F.BO_TARGET, threshold_pct=0),
    "owners_cycle": lambda s: s.beneficial_owners(F.C1, threshold_pct=0),
    "owners_none": lambda s: [s.beneficial_owners(F.H1), s.beneficial_owners("E000000000000")],
    "paths_firms": lambda s: s.paths(F.A1, F.A2),
    "paths_ring": lambda s: s.paths(F.G[0], F.G[3], max_hops=6),
    "paths_typed": lambda s: s.paths(F.A1, F.A3, rel_types=["LEGAL_REP_OF", "SHAREHOLDER_OF"]),
    "paths_hub": lambda s: s.paths(F.D[0], F.D[4], limit=10),
    "paths_whitelist": lambda s: s.paths(F.F[0], F.F[1]),
    "paths_same": lambda s: s.paths(F.A1, F.A1),
    "paths_namesakes": lambda s: s.paths(F.NAMESAKE_1, F.NAMESAKE_2, max_hops=6),
    "rings": lambda s: s.rings(),
    "rings_2": lambda s: s.rings(min_size=2),
    **{f"worklist_{name}": (lambda q: lambda s: s.worklist(q))(query)
       for name, query in WORKLISTS.items()},
    "paths_parallel": lambda s: s.paths(F.BO_TARGET, F.BO_P3),
    "paths_parallel_typed": lambda s: s.paths(F.BO_P3, F.BO_TARGET, rel_types=["SHAREHOLDER_OF"]),
    "paths_owner_chain": lambda s: s.paths(F.BO_TARGET, F.BO_P1, max_hops=3),
    "paths_hub_avoided": lambda s: s.paths(F.D[0], F.D[4], limit=10, avoid_hubs=True),
    "paths_ring_avoiding": lambda s: s.paths(F.G[0], F.G[3], max_hops=6, avoid_hubs=True),
    "nodes": lambda s: s.nodes([F.A1, address_id(F.HUB_ADDR), phone_id(F.HUB_PHONE), F.CTRL,
                                "E000000000000", F.A1]),
}

CAPPED_CASES: dict[str, Op] = {
    "exposure": lambda s: s.exposure(F.A4, 2),
    "exposure_ctrl": lambda s: s.exposure(F.CTRL, 2),
    "neighbourhood": lambda s: s.neighbourhood(F.A4, depth=3),
    "paths": lambda s: s.paths(F.A1, F.A2),
    "rings": lambda s: s.rings(min_size=2),
    "phoenix": lambda s: s.phoenix_firms(),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_both_stores_give_the_same_answer(stores: dict[str, GraphReader], case: str) -> None:
    embedded = _plain(CASES[case](stores["embedded"]))
    neo4j = _plain(CASES[case](stores["neo4j"]))
    assert neo4j == embedded


@pytest.mark.parametrize("case", sorted(CAPPED_CASES))
def test_degree_cap_gives_the_same_answer(capped: dict[str, GraphReader], case: str) -> None:
    assert _plain(CAPPED_CASES[case](capped["neo4j"])) == _plain(
        CAPPED_CASES[case](capped["embedded"])
    )


@pytest.fixture(params=["embedded", "neo4j"])
def store(request: pytest.FixtureRequest, stores: dict[str, GraphReader]) -> GraphReader:
    return stores[request.param]


def test_is_a_graph_reader_serving_the_run(store: GraphReader) -> None:
    assert isinstance(store, GraphReader)
    info = store.run_info()
    assert info.run_id == F.RUN_ID and info.nodes > 0 and info.relationships > 0
    assert store.ping()


def test_planted_controllers_phoenix_hubs(store: GraphReader) -> None:
    ranked = store.shared_controllers()
    assert [c.controller.entity_id for c in ranked[:2]] == [F.CTRL, F.CTRL2]
    assert (ranked[0].n_violating_firms, ranked[0].n_events) == (3, 4)
    assert [f.entity_id for f in ranked[0].firms] == [F.A1, F.A2, F.A3]
    pairs = store.phoenix_firms()
    assert [(p.predecessor.entity_id, p.successor.entity_id) for p in pairs] == [
        (F.PHX_OLD, F.PHX_NEW)
    ]
    assert pairs[0].shared == ["legal_rep", "address"]
    hubs = store.hubs()
    assert hubs[0].hub_id == address_id(F.HUB_ADDR) and hubs[0].n_violating == 2
    assert address_id(F.AGENT_ADDR) not in {h.hub_id for h in hubs}


def test_planted_cycle_owners_ring(store: GraphReader) -> None:
    cycles = store.ownership_cycles()
    assert [c.nodes for c in cycles] == [[F.C1, F.C2, F.C3]]
    assert cycles[0].share_pcts == [40.0, 30.0, 20.0]
    owners = store.beneficial_owners(F.BO_TARGET, threshold_pct=0)
    assert owners is not None
    assert [(o.owner.entity_id, o.effective_pct) for o in owners.owners] == [
        (F.BO_P1, 30.0), (F.BO_P2, 20.0), (F.BO_P3, 20.0),
    ]
    assert owners.actual_controller is not None
    assert owners.actual_controller.entity_id == F.BO_P1
    rings = store.rings()
    assert [r.enterprises for r in rings if F.G[0] in r.enterprises] == [F.G]
    assert store.paths(F.NAMESAKE_1, F.NAMESAKE_2, max_hops=6) == []


def test_profile_risk_and_search(store: GraphReader) -> None:
    profile = store.get_entity(F.CTRL)
    assert profile is not None and len(profile.sources) == 4 and len(profile.evidence) == 3
    assert profile.risk is not None and profile.risk.level == "medium"
    assert profile.risk.reasons[0].rule == "direct_events"
    assert store.search("shanghai huaxin")[0].entity_id == F.A1
    hit = store.search("华信进出口")[0]
    assert (hit.entity_id, hit.risk_level) == (F.A1, "high")


def test_worklist_ranks_filters_and_pages(store: GraphReader) -> None:
    page = store.worklist(WorklistQuery())
    ranked = [F.A1, F.A2, F.A3, F.CTRL, F.G[1], F.H3, F.PHX_NEW]  # ties (45) by ID
    assert [i.entity.entity_id for i in page.items] == ranked and page.total == 7
    assert page.items[3].rules == ["direct_events", "shared_controller"]
    paged = store.worklist(WorklistQuery(limit=2, offset=2))
    assert [i.entity.entity_id for i in paged.items] == ranked[2:4] and paged.total == 7
    assert {i.entity.entity_id for i in store.worklist(
        WorklistQuery(rules=("network_1", "hub"))).items} == {F.G[1], F.H3}
    # G[1] is triggered by G[0]'s 2024-02-02 penalty; A1 by its own 2024-05-10 one
    feb = store.worklist(WorklistQuery(sources=("customs_penalties",),
                                       event_from=date(2024, 2, 1), event_to=date(2024, 2, 28)))
    assert [i.entity.entity_id for i in feb.items] == [F.G[1]]
    blk = store.worklist(WorklistQuery(sources=("credit_blacklist",)))
    assert [i.entity.entity_id for i in blk.items] == [F.A3]
    assert store.worklist(WorklistQuery(kinds=("Person",))).total == 1
    with pytest.raises(ValueError):
        WorklistQuery(rules=("x' OR 1=1",))


def test_learned_score_is_served_beside_the_rules(store: GraphReader) -> None:
    risk = store.get_risk(F.A2)
    assert risk is not None and risk.learned is not None
    assert (risk.score, risk.learned.score, risk.learned.level) == (75.5, 0.72, "high")
    learned = risk.learned
    assert [r.feature for r in learned.reasons] == ["own_weight", "ring_size"]
    assert learned.expected_value + sum(r.contribution for r in learned.reasons) \
        + learned.other == pytest.approx(learned.log_odds)
    ctrl = store.get_risk(F.CTRL)
    assert ctrl is not None and ctrl.learned is None  # persons have no learned score
    profile = store.get_entity(F.A1)
    assert profile is not None and profile.risk is not None and profile.risk.learned is not None
    # ranked by the learned score (ties by ID), only entities that have one, its level filtered
    page = store.worklist(WorklistQuery(score="learned"))
    assert [i.entity.entity_id for i in page.items] == sorted([F.A2, F.A3]) + [F.A1, F.PHX_NEW]
    assert [i.learned_score for i in page.items] == [0.72, 0.72, 0.31, 0.02]
    high = store.worklist(WorklistQuery(score="learned", levels=("high",)))
    assert {i.entity.entity_id for i in high.items} == {F.A2, F.A3} and high.total == 2
    rules = store.worklist(WorklistQuery())
    assert rules.items[0].entity.entity_id == F.A1 and rules.items[0].learned_level == "medium"


def test_search_tells_namesakes_apart(store: GraphReader) -> None:
    page = store.search_page("王芳", kinds=("Person",), limit=1)
    assert page.total == 2 and [(g.name, g.count) for g in page.groups] == [("王芳", 2)]
    [first] = page.items
    [second] = store.search_page("王芳", kinds=("Person",), limit=1, offset=1).items
    assert {first.entity_id, second.entity_id} == {F.NAMESAKE_1, F.NAMESAKE_2}
    by_id = {h.entity_id: h for h in (first, second)}
    one, two = by_id[F.NAMESAKE_1], by_id[F.NAMESAKE_2]
    assert (one.birth_year, two.birth_year) == (1980, 1992)
    assert (one.province, two.province) == ("上海市", "广东省")
    assert two.city == "南山区"  # no address: the ID number's birth place
    assert one.id_masked and one.id_number
    assert one.id_masked == f"{one.id_number[:4]}…{one.id_number[-4:]}"
    assert [(t.entity_id, t.roles, t.violating) for t in one.ties] == [
        (F.H1, ["LEGAL_REP_OF"], False)]
    assert [(t.entity_id, t.name, t.violating) for t in two.ties] == [
        (F.H2, "深圳芳源电子有限公司", True)]
    ctrl = next(h for h in store.search_page("张伟").items if h.entity_id == F.CTRL)
    assert ctrl.n_ties == 4 and [t.entity_id for t in ctrl.ties] == [F.A1, F.A2, F.A3]
    assert ctrl.ties[2].roles == ["SHAREHOLDER_OF"]
    firm = store.search_page("华信进出口").items[0]
    assert firm.entity_id == F.A1 and firm.violating and firm.ties == []
    assert firm.province == "上海市" and firm.id_masked is None


def test_paths_tell_the_truth(store: GraphReader) -> None:
    # 刘洋 is shareholder and legal representative of BO_TARGET: one path, one step, two roles
    [path] = store.paths(F.BO_TARGET, F.BO_P3)
    assert path.nodes == [F.BO_TARGET, F.BO_P3] and len(path.steps) == 1
    [step] = path.steps
    assert (step.a, step.b) == (F.BO_TARGET, F.BO_P3)
    assert sorted(r.type for r in step.relations) == ["LEGAL_REP_OF", "SHAREHOLDER_OF"]
    # the person holds the firm, whichever way the path is read
    assert all((r.source, r.target) == (F.BO_P3, F.BO_TARGET) for r in step.relations)
    assert {r.type_label for r in step.relations} == {"法定代表人", "股东"}
    assert path.edges == [step.relations[0].id] and path.types == [step.relations[0].type]
    [typed] = store.paths(F.BO_P3, F.BO_TARGET, rel_types=["SHAREHOLDER_OF"])
    assert [r.type for r in typed.steps[0].relations] == ["SHAREHOLDER_OF"]
    # ownership upwards: each share held by the upper node
    [chain] = store.paths(F.BO_TARGET, F.BO_P1, max_hops=3)
    assert chain.nodes == [F.BO_TARGET, F.BO_HOLD, F.BO_P1]
    assert [(r.source, r.target) for st in chain.steps for r in st.relations] == [
        (F.BO_HOLD, F.BO_TARGET), (F.BO_P1, F.BO_HOLD)]
    # every path a distinct node sequence
    for a, b in ((F.A1, F.A2), (F.D[0], F.D[4]), (F.G[0], F.G[3])):
        found = store.paths(a, b, max_hops=6, limit=20)
        assert len({tuple(p.nodes) for p in found}) == len(found)


def test_paths_avoid_hubs_unless_asked(store: GraphReader) -> None:
    through = store.paths(F.D[0], F.D[4], limit=10)
    assert {p.nodes[1] for p in through} == {address_id(F.HUB_ADDR), phone_id(F.HUB_PHONE)}
    assert store.paths(F.D[0], F.D[4], limit=10, avoid_hubs=True) == []
    # a hub may still be an end; small shared addresses and phones are still walked
    ring = store.paths(F.G[0], F.G[3], max_hops=6, avoid_hubs=True)
    assert ring and ring == store.paths(F.G[0], F.G[3], max_hops=6)


def test_nodes_are_named(store: GraphReader) -> None:
    named = {n.id: n for n in store.nodes([F.A1, address_id(F.HUB_ADDR), "E000000000000"])}
    assert set(named) == {F.A1, address_id(F.HUB_ADDR)}
    assert named[address_id(F.HUB_ADDR)].label == F.HUB_ADDR
    assert named[F.A1].label == "上海华信进出口贸易有限公司" and named[F.A1].violating


def test_bounds_are_validated(store: GraphReader) -> None:
    with pytest.raises(ValueError):
        store.exposure(F.CTRL, max_hops=5)
    with pytest.raises(ValueError):
        store.neighbourhood(F.CTRL, depth=4)
    with pytest.raises(ValueError):
        store.paths(F.A1, F.A2, max_hops=7)
    with pytest.raises(ValueError):
        store.ownership_cycles(max_length=7)
    with pytest.raises(ValueError):
        store.neighbourhood(F.CTRL, rel_types=["NOT_A_TYPE"])


def test_briefs_are_profiles_without_sources_evidence_events(store: GraphReader) -> None:
    briefs = store.get_briefs([F.H3, F.CTRL, "P000000000000", F.CTRL, F.A1])
    assert [b.entity_id for b in briefs] == [F.H3, F.CTRL, F.A1]  # given order, once, known
    for brief in briefs:
        profile = store.get_entity(brief.entity_id)
        assert profile is not None
        lean = profile.model_dump(exclude={"sources", "evidence", "events"})
        assert brief.model_dump() == lean
        assert not {"sources", "evidence", "events"} & set(brief.model_dump())
    ctrl = briefs[1]
    assert ctrl.risk is not None and ctrl.risk.level == "medium"
    assert ctrl.risk.reasons[0].rule == "direct_events"
    assert store.get_briefs([F.D[0]])[0].risk is None  # no stored score: none made up
    lean_briefs = store.get_briefs([F.H3, F.CTRL, F.A1], risk=False)  # for scoring only
    assert [b.model_dump(exclude={"risk"}) for b in lean_briefs] == [
        b.model_dump(exclude={"risk"}) for b in briefs]
    assert all(b.risk is None for b in lean_briefs)
    by_id = store.briefs_by_identifier("id_number", _ident(store, F.CTRL, "id_number"))
    assert [b.entity_id for b in by_id] == store.find_by_identifier(
        "id_number", _ident(store, F.CTRL, "id_number"))
    assert store.briefs_by_identifier("uscc", "  ") == []
    with pytest.raises(ValueError):
        store.briefs_by_identifier("phone", "x")  # type: ignore[arg-type]


def test_walk_warm_up_only_reads(loaded: Driver, stores: dict[str, GraphReader]) -> None:
    """The post-load warm-up walks from one enterprise and one person to every depth: the
    graph is unchanged and the walks answer as before."""
    from graph.neo4j.hash import graph_checksum

    store = stores["neo4j"]
    assert isinstance(store, Neo4jStore)
    before = graph_checksum(loaded), _plain(store.exposure(F.CTRL, max_hops=3))
    store.warm_up()
    assert (graph_checksum(loaded), _plain(store.exposure(F.CTRL, max_hops=3))) == before


def test_a_timed_warm_up_reads_the_graphs_own_keys_and_changes_nothing(
        loaded: Driver, stores: dict[str, GraphReader]) -> None:
    """After a start the lookup reads run with real identifiers and names for the time
    given: the reads find entities, the graph is unchanged."""
    import time

    from graph.neo4j.hash import graph_checksum

    store = stores["neo4j"]
    assert isinstance(store, Neo4jStore)
    found: list[int] = []
    read = store.briefs_by_identifier

    def counted(kind: Any, value: str) -> Any:
        briefs = read(kind, value)
        found.append(len(briefs))
        return briefs

    ranked: list[str] = []
    rank = store.rank_names

    def ranking(text: str, *args: Any, **kwargs: Any) -> Any:
        ranked.append(text)
        return rank(text, *args, **kwargs)

    before = graph_checksum(loaded)
    store.briefs_by_identifier = counted  # type: ignore[method-assign]
    store.rank_names = ranking  # type: ignore[method-assign]
    try:
        started = time.monotonic()
        reads = store.exercise_lookups(0.4)
        took = time.monotonic() - started
    finally:
        del store.briefs_by_identifier, store.rank_names
    assert took >= 0.4 and reads > len(found) > 0
    assert all(n >= 1 for n in found)  # each identifier read is one the graph holds
    # names both ways: Chinese, and the pinyin whose query has prefix terms (a just-started
    # server's first such query was its one slow lookup)
    assert any(not text.isascii() for text in ranked) and any(text.isascii() for text in ranked)
    assert graph_checksum(loaded) == before
    store.warm_up(0.0)  # planning only: no timed reads


def test_walk_warm_up_is_best_effort(caplog: pytest.LogCaptureFixture) -> None:
    """A server that cannot be reached after a load costs a warning, never an exception."""
    import neo4j

    from graph.neo4j.store import warm_up_walks

    driver = neo4j.GraphDatabase.driver("bolt://127.0.0.1:9", auth=("neo4j", "x"),
                                        connection_timeout=1.0)
    try:
        warm_up_walks(driver)
    finally:
        driver.close()
    assert "index resampling skipped" in caplog.text and "walk warm-up skipped" in caplog.text


def test_after_a_load_the_server_resamples_and_replans(
        loaded: Driver, caplog: pytest.LogCaptureFixture) -> None:
    """`warm_up_walks` asks the real server to resample the outdated indexes and drop its
    old plans (db.prepareForReplanning, in Community too), then plans the lookups and walks
    again; nothing is skipped and the graph is unchanged."""
    from graph.neo4j.hash import graph_checksum
    from graph.neo4j.store import warm_up_walks

    before = graph_checksum(loaded)
    with caplog.at_level("WARNING", logger="graph.neo4j.store"):
        warm_up_walks(loaded)
    assert "skipped" not in caplog.text
    assert graph_checksum(loaded) == before


def test_network_answers_relationship_start_dates(store: GraphReader) -> None:
    net = store.neighbourhood(F.CTRL)
    dated = {(e.source, e.target): e.start_date for e in net.edges if e.start_date}
    assert dated == {(F.CTRL, F.A3): "2018-06-01"}


# names a declaration may carry: registered names, variants, fragments, pinyin, persons' names
# as declarant names, and names nobody has
LOOKUP_NAMES = [
    {"name": "上海华信进出口贸易有限公司"}, {"name": "上海华信进出口贸易有限责任公司"},
    {"name": "华信进出口"}, {"name": "深圳贸易有限公司"}, {"name": "shanghai huaxin"},
    {"name": "深圳宏远贸易有限公司", "declarant_name": "张伟"},
    {"name": "杭州北润进出口有限公司", "declarant_name": "王芳"},
    {"name": "上海代理3号商贸有限公司"}, {"name": "南京杰诚贸易"},
    {"name": "不存在的名字有限公司", "declarant_name": "不存在"},
    {"uscc": "91310000MA1000099X", "name": "苏州华盛贸易有限公司"},
]


@pytest.fixture(scope="module")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder whose models were trained by the linkage on its own fixture."""
    from linkage.run import link_extraction
    from tests.support.linkage_fixture import build

    out = tmp_path_factory.mktemp("models") / "run"
    link_extraction(build(), out, quiet=True)
    return out


@pytest.mark.parametrize("scorer", ["similarity", "model"])
def test_name_lookups_give_the_same_answer_on_both_stores(
    stores: dict[str, GraphReader], trained_models: Path, scorer: str
) -> None:
    """The inspection lookup by name (candidates, confidences, match, reasons) is the same
    on Neo4j (full-text candidates) as on the embedded store (bigram candidates), scored by
    name similarity or by a trained linkage model."""
    from api.inspection import LookupService, Subject
    from api.settings import Settings
    from linkage.realtime import RealtimeMatcher

    matcher = RealtimeMatcher.from_run(trained_models) if scorer == "model" else None
    service = LookupService(Settings(), matcher)
    answers = {name: [service.lookup(store, Subject(**body)).model_dump(mode="json")
                      for body in LOOKUP_NAMES]
               for name, store in stores.items()}
    assert answers["neo4j"] == answers["embedded"]
    matched = [a for a in answers["embedded"] if a["match"] is not None]
    assert matched and any(a["candidates"] for a in answers["embedded"])  # both kinds met
