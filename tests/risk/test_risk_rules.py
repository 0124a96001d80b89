"""The risk score's vectorised hub, phoenix and controller rules find exactly what the
catalogue's `hubs`, `phoenix_firms` and `shared_controllers` answer (embedded store; the store
contract suite holds the Neo4j catalogue equal to it), on the test fixtures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import tests.support.graph_fixture as F
from graph.catalogue import MIN_CONTROLLED_FIRMS
from graph.embedded.store import EmbeddedStore
from graph.tables import load_run
from risk.config import RiskConfig
from risk.score import Indicators, indicators

ALL = 1_000_000
CONFIGS = {
    "whitelist": RiskConfig(hubs_whitelist=F.tiny_whitelist(), as_of=date(2024, 12, 31)),
    "plain": RiskConfig(),
    "low_hub_threshold": RiskConfig(hub_min_enterprises=2, hubs_whitelist=F.tiny_whitelist()),
    "low_degree_cap": RiskConfig(degree_cap=3),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return F.build_tiny_run(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def both(request: pytest.FixtureRequest, run: Path) -> tuple[Indicators, EmbeddedStore, RiskConfig]:
    cfg = CONFIGS[request.param]
    return indicators(load_run(run), cfg), EmbeddedStore.from_run(run, cfg), cfg


def test_controllers_are_the_catalogues_shared_controllers(
    both: tuple[Indicators, EmbeddedStore, RiskConfig],
) -> None:
    found, store, _ = both
    catalogue = {
        c.controller.entity_id: [f.entity_id for f in c.firms]
        for c in store.shared_controllers(min_firms=MIN_CONTROLLED_FIRMS, limit=ALL)
    }
    assert catalogue, "the fixture plants shared controllers"
    assert found.controllers == catalogue


def test_phoenix_successors_are_the_catalogues_phoenix_pairs(
    both: tuple[Indicators, EmbeddedStore, RiskConfig],
) -> None:
    found, store, _ = both
    pairs = {(p.predecessor.entity_id, p.successor.entity_id): p.via
             for p in store.phoenix_firms(limit=ALL)}
    assert pairs, "the fixture plants a phoenix pair"
    assert set(found.phoenix) == set(pairs)
    for pair, via in found.phoenix.items():
        assert via in pairs[pair]


def test_hub_rule_applies_at_the_catalogues_hubs(
    both: tuple[Indicators, EmbeddedStore, RiskConfig],
) -> None:
    found, store, cfg = both
    hubs = store.hubs(min_enterprises=cfg.hub_min_enterprises, limit=ALL,
                      include_whitelisted=False)
    assert hubs, "the fixture plants hubs"
    assert found.hubs == {h.hub_id: h.enterprises for h in hubs}
    assert found.hub_violating == {h.hub_id: h.n_violating for h in hubs}
