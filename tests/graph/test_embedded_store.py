"""The embedded GraphReader on the hand-made tiny run: every query finds its planted pattern."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

import tests.support.graph_fixture as F
from graph.embedded.network import TYPES
from graph.embedded.store import EmbeddedStore
from graph.store import GraphReader
from graph.tables import load_run
from risk.config import RiskConfig
from runfolder.folder import RunFolderError
from runfolder.ids import address_id, ring_id


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return F.build_tiny_run(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def store(run_dir: Path) -> EmbeddedStore:
    return EmbeddedStore.from_run(run_dir, RiskConfig(hubs_whitelist=F.tiny_whitelist()))


def test_is_a_graph_reader(store: EmbeddedStore) -> None:
    assert isinstance(store, GraphReader)
    info = store.run_info()
    assert info.run_id == F.RUN_ID and info.nodes > 0 and info.relationships > 0


def test_topology_is_a_networkx_multidigraph(store: EmbeddedStore) -> None:
    """Nodes are node positions, edges are keyed by relationship position and carry no data;
    adjacency answers come in (neighbour ID, relationship ID) order."""
    ix = store.net
    g = ix.graph
    assert isinstance(g, nx.MultiDiGraph)
    assert g.number_of_nodes() == ix.n_nodes and g.number_of_edges() == ix.n_edges
    assert sorted(k for _, _, k in g.edges(keys=True)) == list(range(ix.n_edges))
    assert all(not data for _, _, data in g.edges(data=True))
    for u, v, k in g.edges(keys=True):
        assert (ix.edge_ids[k], ix.ids[v]) in {(e, d) for d, e, _, _ in ix.edges_from(ix.ids[u])}
    for node in ix.ids:
        nbrs = ix.neighbours(node, frozenset(TYPES))
        assert [(n, e) for n, e, _ in nbrs] == sorted((n, e) for n, e, _ in nbrs)
        assert len(nbrs) == g.degree(ix.pos[node])
        assert ix.degree(node) == len(ix.neighbours(node))


def test_derived_nodes_carry_provenance(run_dir: Path) -> None:
    tables = load_run(run_dir)
    for label, rows in tables.nodes_by_label():
        assert rows, label
        for row in rows:
            assert row["run_id"] == F.RUN_ID
            assert row["id"][0] == {"Enterprise": "E", "Person": "P", "Address": "A",
                                    "Phone": "T"}.get(label, "V")
            assert row["mention_ids"], (label, row["id"])
    for group in tables.relationships_by_type():
        for row in group.rows:
            assert row["mention_ids"] and row["run_id"] == F.RUN_ID
            assert row["id"].startswith("R") and len(row["id"]) == 13
    hub = next(r for label, rows in tables.nodes_by_label() if label == "Address"
               for r in rows if r["address_std"] == F.HUB_ADDR)
    assert hub["id"] == address_id(F.HUB_ADDR)


def test_derived_ids_are_deterministic(tmp_path: Path) -> None:
    first = load_run(F.build_tiny_run(tmp_path / "a"))
    second = load_run(F.build_tiny_run(tmp_path / "b"))
    ids = [sorted(f["id"]) for f in first.rel_frames.values()]
    assert ids == [sorted(f["id"]) for f in second.rel_frames.values()]


def test_run_folder_errors_name_the_fix(tmp_path: Path, run_dir: Path) -> None:
    with pytest.raises(RunFolderError, match="guanlian link"):
        load_run(tmp_path / "missing")
    bad = F.build_tiny_run(tmp_path / "v2")
    report = json.loads((bad / "report.json").read_text())
    (bad / "report.json").write_text(json.dumps({**report, "version": 2}))
    with pytest.raises(RunFolderError, match="version 2"):
        load_run(bad)


def test_shared_controllers_ranked(store: EmbeddedStore) -> None:
    found = store.shared_controllers()
    assert [c.controller.entity_id for c in found] == [F.CTRL, F.CTRL2]
    top = found[0]
    assert (top.n_violating_firms, top.n_events) == (3, 4)
    assert [f.entity_id for f in top.firms] == [F.A1, F.A2, F.A3]  # clean A4 is not listed
    assert top.firms[2].roles == ["SHAREHOLDER_OF"]
    dates = [str(e.date) for e in top.firms[1].events]
    assert dates == sorted(dates, reverse=True) and len(dates) == 2
    assert [c.controller.entity_id for c in store.shared_controllers(min_firms=3)] == [F.CTRL]


def test_exposure_paths(store: EmbeddedStore) -> None:
    hits = store.exposure(F.A4, max_hops=2)
    assert [(h.target.entity_id, h.hops) for h in hits] == [(F.A1, 2), (F.A2, 2), (F.A3, 2)]
    assert hits[2].path.nodes == [F.A4, F.CTRL, F.A3]
    assert hits[2].path.types == ["LEGAL_REP_OF", "SHAREHOLDER_OF"]
    assert hits[2].event_types == ["BLACKLISTING"]
    assert [h.target.entity_id for h in store.exposure(F.H3, 1)] == [F.BLK_P]
    assert store.exposure(F.NAMESAKE_1, 4) == []  # the clean 王芳 is not tied to the other
    with pytest.raises(ValueError):
        store.exposure(F.A4, max_hops=5)


def test_whitelisted_hub_is_not_walked(store: EmbeddedStore) -> None:
    assert [h.target.entity_id for h in store.exposure(F.F[1], 4)] == []
    assert store.paths(F.F[1], F.F[0]) == []


def test_phoenix_pair(store: EmbeddedStore) -> None:
    pairs = store.phoenix_firms()
    assert [(p.predecessor.entity_id, p.successor.entity_id) for p in pairs] == [
        (F.PHX_OLD, F.PHX_NEW)]
    assert pairs[0].shared == ["legal_rep", "address"]
    assert pairs[0].via == sorted([F.PHX_REP, address_id(F.PHX_ADDR)])
    assert str(pairs[0].penalty_date) == "2021-04-12"


def test_hubs_and_whitelist(store: EmbeddedStore) -> None:
    hubs = store.hubs()
    assert [(h.label, h.n_enterprises, h.n_violating) for h in hubs] == [
        (F.HUB_ADDR, 6, 2), (F.HUB_PHONE, 5, 2)]
    every = store.hubs(include_whitelisted=True)
    agent = [h for h in every if h.whitelisted]
    assert [(h.label, h.n_enterprises) for h in agent] == [(F.AGENT_ADDR, 5)]
    assert store.hubs(min_enterprises=7) == []


def test_ownership_cycle(store: EmbeddedStore) -> None:
    cycles = store.ownership_cycles()
    assert [c.nodes for c in cycles] == [[F.C1, F.C2, F.C3]]
    assert cycles[0].share_pcts == [40.0, 30.0, 20.0]
    assert store.ownership_cycles(max_length=2) == []


def test_beneficial_owners_multiply_along_paths(store: EmbeddedStore) -> None:
    bo = store.beneficial_owners(F.BO_TARGET)
    assert bo is not None
    assert [(o.owner.entity_id, o.effective_pct) for o in bo.owners] == [(F.BO_P1, 30.0)]
    assert bo.owners[0].paths[0].nodes == [F.BO_P1, F.BO_HOLD, F.BO_TARGET]
    assert bo.actual_controller is not None and bo.actual_controller.entity_id == F.BO_P1
    low = store.beneficial_owners(F.BO_TARGET, threshold_pct=20)
    assert low is not None
    assert [(o.owner.entity_id, o.effective_pct) for o in low.owners] == [
        (F.BO_P1, 30.0), (F.BO_P2, 20.0), (F.BO_P3, 20.0)]
    assert store.beneficial_owners("E000000000000") is None


def test_paths(store: EmbeddedStore) -> None:
    [path] = store.paths(F.A1, F.A3)
    assert path.nodes == [F.A1, F.CTRL, F.A3]
    both = store.paths(F.A1, F.A2, limit=5)
    assert [p.nodes for p in both] == [[F.A1, F.CTRL, F.A2], [F.A1, F.CTRL2, F.A2]]
    only_directors = store.paths(F.A1, F.A2, rel_types=["DIRECTOR_OF"])
    assert [p.types for p in only_directors] == [["DIRECTOR_OF", "DIRECTOR_OF"]]
    assert store.paths(F.A1, F.A3, max_hops=1) == []
    with pytest.raises(ValueError):
        store.paths(F.A1, F.A3, rel_types=["NOT_A_TYPE"])


def test_rings_have_stable_ids(store: EmbeddedStore) -> None:
    rings = {r.ring_id: r for r in store.rings()}
    ring = rings[ring_id(F.G[0])]
    assert ring.enterprises == F.G and ring.n_violating == 2
    assert set(ring.connectors) == {F.RING_DIR, address_id(F.RING_ADDR), "T8657188886666"}
    assert all(F.F[0] not in r.enterprises for r in rings.values())  # whitelisted: no ring


def test_namesakes_stay_separate_in_search(store: EmbeddedStore) -> None:
    hits = store.search("王芳", kinds=("Person",))
    assert [h.entity_id for h in hits[:2]] == [F.NAMESAKE_1, F.NAMESAKE_2]
    assert store.paths(F.NAMESAKE_1, F.NAMESAKE_2, max_hops=6) == []


def test_search_by_identifier_and_pinyin(store: EmbeddedStore) -> None:
    profile = store.get_entity(F.A1)
    assert profile is not None and profile.uscc
    hits = store.search(profile.uscc.lower())
    assert hits[0].entity_id == F.A1 and hits[0].match == "uscc" and hits[0].similarity == 1.0
    assert store.find_by_identifier("uscc", profile.uscc) == [F.A1]
    assert store.search("shanghai huaxin")[0].entity_id == F.A1
    assert store.search("华信进出口")[0].entity_id == F.A1


def test_profile_has_sources_evidence_events(store: EmbeddedStore) -> None:
    profile = store.get_entity(F.CTRL)
    assert profile is not None
    assert len(profile.sources) == 4 and len(profile.evidence) == 3
    assert profile.evidence[0].features[0]["column"] == "id_number"
    a2 = store.get_entity(F.A2)
    assert a2 is not None and [e.type for e in a2.events] == ["INSPECTION_FAILURE", "PENALTY"]
    assert store.get_entity("P000000000000") is None


def test_neighbourhood_is_capped(store: EmbeddedStore) -> None:
    sub = store.neighbourhood(F.CTRL, depth=1)
    ids = {n.id for n in sub.nodes}
    assert ids == {F.CTRL, F.A1, F.A2, F.A3, F.A4, "T8613800138000"}
    assert all(e.source in ids and e.target in ids for e in sub.edges)
    small = store.neighbourhood(F.CTRL, depth=2, node_cap=3)
    assert len(small.nodes) == 3 and small.truncated
    events = store.neighbourhood(F.A2, depth=1, rel_types=["SUBJECT_OF"])
    assert sorted(n.kind for n in events.nodes) == ["Enterprise", "InspectionFailure", "Penalty"]


def test_degree_cap_blocks_super_nodes(run_dir: Path) -> None:
    capped = EmbeddedStore.from_run(run_dir, RiskConfig(), degree_cap=3)
    # CTRL has 5 network relationships: reachable, but not walked through any more
    assert capped.exposure(F.A4, max_hops=2) == []
    assert [h.target.entity_id for h in capped.exposure(F.CTRL, 1)] == [F.A1, F.A2, F.A3]


# --- compact layout (issue #6): same answers from a lean load, exact packed storage ------------
def _answers(store: EmbeddedStore) -> list[object]:
    ids = [n for n in store.net.ids if store.net.is_entity(n)]
    out: list[object] = [store.run_info().model_dump(exclude={"loaded_at"})]
    for entity_id in ids:
        out.append(store.get_entity(entity_id))
        out.append(store.neighbourhood(entity_id, 2, rel_types=None, node_cap=50))
        out.append(store.exposure(entity_id, 3))
    out.append(store.get_briefs(ids))
    for text in ("华信", "王芳", "shanghai", "进出口贸易"):
        out.append(store.search(text, limit=50))
        out.append(store.search(text, kinds=("Enterprise",), limit=5, pool=3))
    out.extend([store.shared_controllers(), store.phoenix_firms(), store.hubs(2),
                store.ownership_cycles(6), store.rings(2)])
    return out


@pytest.fixture(scope="module")
def risk_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run with stored risk: long reasons, an empty list, entities without a score."""
    from runfolder.folder import write_table

    run = F.build_tiny_run(tmp_path_factory.mktemp("risk"))
    rows = []
    for i, (entity_id, n_reasons) in enumerate([(F.A1, 3), (F.A2, 1), (F.CTRL, 0), (F.H3, 2)]):
        reasons = [{"rule": "direct_events", "contribution": 10.0 + j, "summary": "自身事件 " * 5,
                    "path_nodes": [entity_id], "path_edges": [], "event_ids": []}
                   for j in range(n_reasons)]
        rows.append({"entity_id": entity_id, "score": 80.0 - 10 * i,
                     "level": ("high", "medium", "low", "low")[i],
                     "reasons": json.dumps(reasons, ensure_ascii=False), "run_id": F.RUN_ID})
    write_table(run, "risk", rows)
    return run


def test_lean_load_answers_like_the_full_tables(risk_run: Path) -> None:
    """`from_run` reads only what the graph needs and packs blobs straight from Parquet; the
    store built from fully read tables (pandas frames) must answer every read the same."""
    config = RiskConfig(hubs_whitelist=F.tiny_whitelist())
    lean = EmbeddedStore.from_run(risk_run, config)
    full = EmbeddedStore(load_run(risk_run), config)
    assert _answers(lean) == _answers(full)


def test_profiles_keep_every_source_evidence_row_and_reason(risk_run: Path) -> None:
    import pandas as pd

    store = EmbeddedStore.from_run(risk_run)
    mentions = pd.read_parquet(risk_run / "mentions.parquet")
    evidence = pd.read_parquet(risk_run / "evidence.parquet")
    risk = pd.read_parquet(risk_run / "risk.parquet").set_index("entity_id")
    for entity_id in [n for n in store.net.ids if store.net.is_entity(n)]:
        profile = store.get_entity(entity_id)
        assert profile is not None
        want = sorted(mentions.loc[mentions["entity_id"] == entity_id, "mention_id"])
        assert [s.mention_id for s in profile.sources] == want
        pairs = evidence.loc[evidence["entity_id"] == entity_id, ["mention_id_l", "mention_id_r"]]
        assert [(e.mention_id_l, e.mention_id_r) for e in profile.evidence] == sorted(
            map(tuple, pairs.to_numpy().tolist()))
        if entity_id in risk.index:
            assert profile.risk is not None and profile.risk.score == risk.at[entity_id, "score"]
            want_reasons = json.loads(str(risk.at[entity_id, "reasons"]))
            got = [r.model_dump(mode="json") for r in profile.risk.reasons]
            assert [{k: g[k] for k in w} for g, w in zip(got, want_reasons, strict=True)
                    ] == want_reasons
        else:
            assert profile.risk is None and store.get_risk(entity_id) is None


def test_packed_rows_span_blocks_in_key_order() -> None:
    import numpy as np
    import pyarrow as pa

    from graph.embedded.packed import PackedRows as _PackedRows

    rows = [(f"m{i:02d}", i * 1.5 if i % 3 else None) for i in range(23)]
    owner = np.array([i % 4 if i % 5 else -1 for i in range(23)])
    table = pa.table({"mention_id": [r[0] for r in rows][::-1],
                      "weight": [r[1] for r in rows][::-1]})
    owner = owner[::-1].copy()
    packed = _PackedRows(table, owner, 5, ("mention_id",), block=2)
    for p in range(5):
        want = sorted((r for r, o in zip(rows, owner[::-1], strict=True) if o == p))
        assert [(r["mention_id"], r["weight"]) for r in packed.rows(p)] == want
    assert packed.rows(4) == []


def test_packed_text_round_trips_short_long_and_missing() -> None:
    import numpy as np
    import pyarrow as pa

    from graph.embedded.packed import PackedText as _PackedText

    texts = ["[]", json.dumps([{"rule": "违规", "path": ["E1"] * 200}], ensure_ascii=False),
             None, ""]
    packed = _PackedText(6)
    packed.add(np.array([0, 3, 5, -1]), pa.array(texts[:3] + ["x"]))
    packed.add(np.array([4]), pa.array([texts[3]]))
    packed.finish()
    assert [packed.text(p) for p in range(6)] == ["[]", None, None, texts[1], "", None]
    assert packed.nbytes < len(texts[1] or "")  # the long text is kept compressed


def test_bigram_pool_is_the_best_by_dice_then_position() -> None:
    import random

    from graph.embedded.bigrams import BigramIndex as _BigramIndex
    from graph.embedded.bigrams import bigrams as _bigrams

    rnd = random.Random(11)
    alphabet = "华信进出口贸易有限公司上海北京科技"
    texts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 9))) for _ in range(400)]
    index = _BigramIndex(texts)
    for _ in range(50):
        needle = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 6)))
        grams = _bigrams(needle)
        scored = []
        for i, text in enumerate(texts):
            # one character: shared with every text holding it
            shared = (needle in text) if len(needle) == 1 else len(grams & _bigrams(text))
            if shared:
                scored.append((-2.0 * shared / (len(_bigrams(text)) + len(grams)), i))
        for pool in (1, 7, 50, 1000):
            assert index.best(needle, pool) == sorted(i for _, i in sorted(scored)[:pool])
