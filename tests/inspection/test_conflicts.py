"""Inspectors drawn with conflicts excluded through the graph, on both stores: the planted ties
(legal representative, shareholder one and two hops away, supervisor, declarant, shared
address, shared phone) are each found with their path, and no inspector is ever assigned a
firm they are connected to, whatever the seed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j import Driver

import tests.support.graph_fixture as F
from graph.embedded.store import EmbeddedStore
from graph.neo4j.loader import publish_run
from graph.neo4j.store import Neo4jStore
from graph.store import GraphReader
from inspection.config import load_classes
from inspection.draw import DrawParams
from inspection.models import Draw
from inspection.population import load_population
from inspection.roster import RosterEntry
from inspection.service import make_draw
from risk.config import RiskConfig
from tests.conftest import empty_database
from tests.support.inspection_fixture import PLANTED, build_inspection_run

CLASSES = load_classes()


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[RosterEntry]]:
    return build_inspection_run(tmp_path_factory.mktemp("conflicts"))


def _config() -> RiskConfig:
    return RiskConfig.model_validate({"hubs_whitelist": F.tiny_whitelist()})


@pytest.fixture(scope="module")
def embedded(planted: tuple[Path, list[RosterEntry]]) -> GraphReader:
    return EmbeddedStore.from_run(planted[0], _config())


@pytest.fixture(scope="module")
def neo4j(neo4j_driver: Driver, planted: tuple[Path, list[RosterEntry]]) -> Iterator[GraphReader]:
    empty_database(neo4j_driver)
    publish_run(neo4j_driver, planted[0], progress=False)
    yield Neo4jStore(neo4j_driver, _config())


def _draw(store: GraphReader, planted: tuple[Path, list[RosterEntry]], seed: int,
          per_target: int = 3) -> Draw:
    run, roster = planted
    params = DrawParams(seed=seed, targets=1000, uniform_share=0.2,
                        inspectors_per_target=per_target)
    return make_draw(load_population(run, CLASSES), store, roster, params, CLASSES)


def _check(draw: Draw) -> None:
    firms = {t.entity_id for t in draw.targets}
    expected = {(firm, code) for code, (_, ties) in PLANTED.items() for firm in ties}
    assert {firm for firm, _ in expected} <= firms  # every firm is drawn (targets=1000)
    found = {(c.entity_id, c.inspector) for c in draw.conflicts}
    assert found == expected, found ^ expected
    for c in draw.conflicts:
        person = PLANTED[c.inspector][0]
        assert c.person_id == person and c.path.nodes[0] == person
        assert c.path.nodes[-1] == c.entity_id and 1 <= len(c.path.edges) <= 2
    for t in draw.targets:
        for code in t.inspectors:
            assert (t.entity_id, code) not in expected, (t.entity_id, code)
        assert "JC009" not in t.inspectors  # malformed ID held by no one: never assigned
    assert draw.unresolved == ["JC008", "JC009"]
    resolution = {i.code: i.resolution for i in draw.inspectors}
    assert resolution["JC008"] == "not_in_graph" and resolution["JC009"] == "invalid_id"
    assert any("JC008" in t.inspectors for t in draw.targets)  # no recorded tie: assignable


def test_conflicts_are_found_with_their_path_and_never_assigned_embedded(
    embedded: GraphReader, planted: tuple[Path, list[RosterEntry]]
) -> None:
    for seed in range(5):
        _check(_draw(embedded, planted, seed))
    paths = {(c.entity_id, c.inspector): c.path.types for c in _draw(embedded, planted, 0)
             .conflicts}
    assert paths[(F.A4, "JC001")] == ["LEGAL_REP_OF"]
    assert paths[(F.BO_TARGET, "JC002")] == ["SHAREHOLDER_OF", "SHAREHOLDER_OF"]
    assert paths[(F.G[2], "JC005")] == ["LOCATED_AT", "LOCATED_AT"]
    assert paths[(F.G[0], "JC006")] == ["HAS_PHONE", "HAS_PHONE"]
    assert paths[(F.H1, "JC004")] == ["DECLARANT_FOR"]


def test_a_firm_every_inspector_is_tied_to_is_left_understaffed(
    embedded: GraphReader, planted: tuple[Path, list[RosterEntry]]
) -> None:
    run, roster = planted
    only_tied = [r for r in roster if r.code in ("JC005", "JC006")]
    params = DrawParams(seed=3, targets=1000, inspectors_per_target=2)
    draw = make_draw(load_population(run, CLASSES), embedded, only_tied, params, CLASSES)
    staffed = {t.entity_id: t.inspectors for t in draw.targets}
    assert staffed[F.G[0]] == ["JC005"] and staffed[F.G[2]] == ["JC006"]
    assert F.G[0] in draw.understaffed and F.A1 not in draw.understaffed


def test_both_stores_draw_the_same(embedded: GraphReader, neo4j: GraphReader,
                                   planted: tuple[Path, list[RosterEntry]]) -> None:
    for seed in (0, 11):
        on_neo4j = _draw(neo4j, planted, seed)
        _check(on_neo4j)
        assert on_neo4j.model_dump() == _draw(embedded, planted, seed).model_dump()
