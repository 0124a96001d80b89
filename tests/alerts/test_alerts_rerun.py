"""Alerts on generated data: a rerun that plants known material changes raises exactly those
(precision and recall 1.0), an unchanged rerun raises none, and a repeated comparison after
the same state raises none new."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from alerts.detect import compare
from alerts.models import Alert
from alerts.snapshot import SNAPSHOT_DIR, build_snapshot, load_snapshot, read_snapshot
from graph.embedded.store import EmbeddedStore
from graph.models import Ring
from linkage.synth import generate
from pipeline.run import link_step, score_step
from runfolder.folder import read_table
from tests.support.alert_plant import Planted, plant

pytestmark = pytest.mark.slow


@dataclass
class Runs:
    a: Path
    same: Path
    b: Path
    planted: Planted


def _run(sources: Path, out: Path, previous: Path | None = None) -> Path:
    link_step(sources, out, previous=previous)
    score_step(out)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("alerts")
    data = generate("tiny", 7, root / "data")
    a = _run(data / "sources.yaml", root / "run-a")
    same = _run(data / "sources.yaml", root / "run-same", previous=a)
    changed = root / "data-b"
    shutil.copytree(data, changed)
    planted = plant(changed / "data")
    b = _run(changed / "sources.yaml", root / "run-b", previous=a)
    return Runs(a=a, same=same, b=b, planted=planted)


def _by(run: Path, column: str, value: str) -> str:
    ents = read_table(run, "entities", ("entity_id", "uscc", "id_number"))
    found = ents.loc[ents[column] == value, "entity_id"].tolist()
    assert len(found) == 1, (column, value, found)
    return str(found[0])


def _expected(runs: Runs) -> set[tuple[str, str, str]]:
    """The planted changes as (kind, subject, condition)."""
    p, b = runs.planted, runs.b
    firm, person = _by(b, "uscc", p.link_firm_uscc), _by(b, "id_number", p.blacklisted_id)
    penalised = _by(b, "uscc", p.penalised_uscc)
    successor, predecessor = _by(b, "uscc", p.successor_uscc), _by(b, "uscc", p.predecessor_uscc)
    expected = {
        ("new_path", firm, person),  # the new shareholder is blacklisted
        ("new_phoenix", successor, predecessor),
        ("new_path", successor, predecessor),  # at the penalised predecessor's address
    }
    # level rises planted: the penalised firm (a fresh 900 000 yuan penalty), the successor (a
    # new firm born risky) and every entity whose level rose (levels of risk.parquet, by ID)
    # with a stored reason whose path reaches a planted entity
    touched = {firm, person, penalised, successor, predecessor}
    new = read_table(b, "risk", ("entity_id", "level", "reasons")).set_index("entity_id")
    old = read_table(runs.a, "risk", ("entity_id", "level")).set_index("entity_id")["level"]
    rank = {"low": 0, "medium": 1, "high": 2}
    for entity, row in new.iterrows():
        if rank[row["level"]] <= rank[str(old.get(entity, "low"))]:
            continue
        paths = {n for r in json.loads(row["reasons"]) for n in r["path_nodes"]}
        if entity in {penalised, successor} or paths & touched:
            expected.add(("level_rise", str(entity), str(row["level"])))
    # ring memberships planted: an enterprise in a ring of the new run that holds a planted
    # entity (as member or connector), none of whose predecessors was in a ring before
    old_members = {m for r in _rings(runs.a) for m in r.enterprises}
    lineage = read_table(b, "changelog", ("entity_id", "previous_ids"))
    previous = {str(e): [str(p) for p in (prev if prev is not None else [])]
                for e, prev in zip(lineage["entity_id"], lineage["previous_ids"], strict=True)}
    for ring in _rings(b):
        if not touched & {*ring.enterprises, *ring.connectors}:
            continue
        for member in ring.enterprises:
            if not old_members & set(previous.get(member, [member])):
                expected.add(("new_ring", member, "ring"))
    assert {k for k, *_ in expected} >= {"new_path", "new_phoenix", "level_rise"}
    return expected


def _rings(run: Path) -> list[Ring]:
    return EmbeddedStore.from_run(run).rings(limit=100_000)


def _keys(alerts: list[Alert]) -> set[tuple[str, str, str]]:
    return {(a.kind, a.entity_id, a.condition) for a in alerts}


def test_planted_changes_raise_exactly_their_alerts(runs: Runs) -> None:
    old, new = read_snapshot(runs.a), read_snapshot(runs.b)
    alerts = compare(new, old)
    raised, expected = _keys(alerts), _expected(runs)
    hits = raised & expected
    precision = len(hits) / len(raised) if raised else 0.0
    recall = len(hits) / len(expected)
    print(f"alerts: planted {len(expected)}, raised {len(raised)}, "
          f"precision {precision:.2f}, recall {recall:.2f}")
    assert raised == expected, (sorted(raised - expected), sorted(expected - raised))
    assert (precision, recall) == (1.0, 1.0)
    path = next(a for a in alerts if a.kind == "new_path"
                and a.entity_id == _by(runs.b, "uscc", runs.planted.link_firm_uscc))
    assert path.change.path_types == ["SHAREHOLDER_OF"] and path.change.event_ids
    assert path.change.detail["target_blacklisted"] is True
    # before / after: both ends existed, the shareholding is new (and on the path)
    after, before = path.change.after, path.change.before
    assert [n.id for n in after.nodes] == path.change.path_nodes
    assert {n.kind for n in after.nodes} == {"Enterprise", "Person"}
    assert not any(n.new for n in after.nodes) and after.nodes[1].violating
    tie = next(e for e in after.edges if e.id == path.change.path_edges[0])
    assert (tie.type, tie.new, tie.on_path) == ("SHAREHOLDER_OF", True, True)
    assert {tie.src, tie.dst} == set(path.change.path_nodes)
    assert {f for n in before.nodes for f in n.ids_after} == set(path.change.path_nodes)
    assert not [e for e in before.edges if e.type == "SHAREHOLDER_OF"]
    assert all(not e.new for e in after.edges if e.id != tie.id)
    successor = _by(runs.b, "uscc", runs.planted.successor_uscc)
    phoenix = next(a for a in alerts if a.kind == "new_phoenix" and a.entity_id == successor)
    assert [n.new for n in phoenix.change.after.nodes if n.id == successor] == [True]
    assert successor not in {f for n in phoenix.change.before.nodes for f in n.ids_after}
    assert all(e.new for e in phoenix.change.after.edges if successor in (e.src, e.dst))
    rise = next(a for a in alerts if a.kind == "level_rise"
                and a.entity_id == _by(runs.b, "uscc", runs.planted.penalised_uscc))
    assert rise.score_before is not None and rise.score_after is not None
    assert rise.score_after > rise.score_before and len(rise.change.event_ids) == 1
    # the same state again: every condition already alerted, none raised
    assert compare(new, old, seen={a.alert_key for a in alerts}) == []
    assert compare(read_snapshot(runs.b), read_snapshot(runs.a)) == alerts  # deterministic


def test_an_unchanged_rerun_raises_nothing(runs: Runs) -> None:
    assert compare(read_snapshot(runs.same), read_snapshot(runs.a)) == []


def test_cli_alerts_with_a_ledger_raise_each_condition_once(runs: Runs, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    ledger = tmp_path / "raised.jsonl"
    args = ["alerts", "--run", str(runs.b), "--previous", str(runs.a), "--ledger", str(ledger)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    raised = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert {(r["kind"], r["entity_id"], r["condition"]) for r in raised} == _expected(runs)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and len(ledger.read_text().splitlines()) == len(raised)
    assert '"alerts": 0' in again.output
    bad = CliRunner().invoke(app, ["alerts", "--run", str(tmp_path), "--previous",
                                   str(runs.a)])
    assert bad.exit_code == 2 and "risk.parquet" in bad.output


def test_a_watched_entity_merged_or_split_raises_one_lineage_alert(runs: Runs,
                                                                   tmp_path: Path) -> None:
    """The changelog of a rerun says two previous entities merged into one: watching either
    raises a lineage alert carrying the merge's linkage evidence; unwatched, nothing."""
    import pandas as pd

    merged = tmp_path / "run-merged"
    shutil.copytree(runs.same, merged)
    log = pd.read_parquet(merged / "changelog.parquet")
    ents = read_table(merged, "entities", ("entity_id", "n_mentions"))
    survivor = str(ents.sort_values(["n_mentions", "entity_id"]).iloc[-1]["entity_id"])
    gone = str(ents[ents["entity_id"] != survivor].iloc[0]["entity_id"])
    row = log["entity_id"] == survivor
    log.loc[row, "change"] = "merged"
    log.loc[row, "previous_ids"] = pd.Series([[gone, survivor]] * int(row.sum()),
                                             index=log.index[row])
    log.to_parquet(merged / "changelog.parquet")
    old, new = read_snapshot(runs.a), read_snapshot(merged)
    assert [a for a in compare(new, old) if a.kind == "lineage"] == []
    alerts = [a for a in compare(new, old, watched={gone}) if a.kind == "lineage"]
    assert [(a.entity_id, a.condition) for a in alerts] == [
        (survivor, f"merged:{','.join(sorted([gone, survivor]))}")]
    assert alerts[0].change.previous_ids == [gone, survivor]
    assert alerts[0].change.evidence.get(survivor)  # the linkage evidence behind the merge


def test_the_kept_snapshots_raise_the_alerts_of_the_full_computation(runs: Runs,
                                                                     tmp_path: Path) -> None:
    """`guanlian score` keeps each run's alert snapshot; comparing the kept snapshots of a
    changed rerun raises exactly the alerts (graphs, evidence and all) of snapshots derived
    from the tables, and a snapshot whose tables changed since is not used."""
    kept_a, kept_b = load_snapshot(runs.a), load_snapshot(runs.b)
    assert kept_a is not None and kept_b is not None
    full_a, full_b = build_snapshot(runs.a), build_snapshot(runs.b)
    full = compare(full_b, full_a)
    assert {a.kind for a in full} >= {"new_path", "new_phoenix", "level_rise"}
    kept = compare(kept_b, kept_a)
    assert [a.model_dump_json() for a in kept] == [a.model_dump_json() for a in full]
    assert compare(kept_b, full_a) == full and compare(full_b, kept_a) == full
    assert compare(read_snapshot(runs.b), read_snapshot(runs.a)) == full
    # rescored (risk.parquet rewritten): the kept snapshot is stale, the tables answer
    stale = tmp_path / "run-b"
    shutil.copytree(runs.b, stale)
    assert load_snapshot(stale) is not None  # a copy keeps its snapshot
    risk = read_table(stale, "risk")
    risk.to_parquet(stale / "risk.parquet")
    assert load_snapshot(stale) is None
    assert compare(read_snapshot(stale), kept_a) == full
    shutil.rmtree(stale / SNAPSHOT_DIR)
    assert load_snapshot(stale) is None and compare(read_snapshot(stale), kept_a) == full


def test_the_snapshot_rings_are_the_catalogues(runs: Runs) -> None:
    """The snapshot's rings (`alerts.network.find_rings`, vectorised over the ties) are the
    catalogue's rings of the embedded store, member for member and in the same order: the
    ring rule is written twice, and this holds the two equal."""
    for run in (runs.a, runs.same, runs.b):
        assert build_snapshot(run).ring_list == _rings(run)
    assert _rings(runs.b)
