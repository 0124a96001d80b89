"""The vectorised sync diff gives exactly the row-by-row diff (no server needed)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from graph import schema
from graph.neo4j.diff import compute_diff, fast_diff
from graph.neo4j.diff_types import Diff
from graph.neo4j.rows import GraphRows, PreparedState, build_rows
from tests.support.graph_fixture import build_tiny_run


def _state(rows: GraphRows) -> PreparedState:
    """What loading `rows` leaves in the graph (dangling relationships left out)."""
    state = PreparedState()
    for label in rows.node_labels():
        state.node_ids[label] = rows.node_table(label)[schema.KEY].combine_chunks()
        state.node_hashes[label] = rows.node_hash_array(label)
    ids = pa.concat_arrays(list(state.node_ids.values()))
    for t in rows.rel_types():
        table = rows.rel_table(t)
        ok = pc.and_(pc.is_in(table["src"], value_set=ids), pc.is_in(table["dst"], value_set=ids))
        state.rel_ids[t] = pc.filter(table[schema.KEY], ok).combine_chunks()
        state.rel_hashes[t] = pc.filter(rows.rel_hash_array(t), ok)
    return state


def _plain(diff: Diff) -> dict[str, Any]:
    return {
        "node_deletes": {k: sorted(v) for k, v in diff.node_deletes.items() if v},
        "node_upserts": {k: sorted(v.indices) for k, v in diff.node_upserts.items()},
        "node_creates": {k: sorted(v.indices) for k, v in diff.node_creates.items()},
        "rel_deletes": {k: sorted(v) for k, v in diff.rel_deletes.items() if v},
        "rel_creates": {k: sorted(v.indices) for k, v in diff.rel_creates.items()},
    }


def _both(old: GraphRows, new: GraphRows) -> tuple[dict[str, Any], dict[str, Any]]:
    state = _state(old)
    fast = fast_diff(new, state, "r2")
    assert fast is not None
    slow = compute_diff(new, *state.as_dicts(), "r2")
    return _plain(fast), _plain(slow)


def _edited(rows: GraphRows, seed: int) -> GraphRows:
    """`rows` with random edits: changed properties, removed nodes (their relationships
    dangle), removed and re-pointed relationships."""
    rng = random.Random(seed)
    out = GraphRows(run_id="r2")
    for label in rows.node_labels():
        table = rows.node_table(label)
        keep = [i for i in range(table.num_rows) if rng.random() > 0.1]
        table = table.take(pa.array(keep, type=pa.int64()))
        if "name" in table.column_names and table.num_rows:
            names = table["name"].to_pylist()
            names = [f"{n}改" if n is not None and rng.random() < 0.2 else n for n in names]
            table = table.set_column(table.column_names.index("name"), "name",
                                     pa.array(names, type=table.schema.field("name").type))
        out.node_tables[label] = table
    ids = [i for lab in out.node_labels() for i in out.node_table(lab)[schema.KEY].to_pylist()]
    for t in rows.rel_types():
        table = rows.rel_table(t)
        keep = [i for i in range(table.num_rows) if rng.random() > 0.1]
        table = table.take(pa.array(keep, type=pa.int64()))
        dsts = [rng.choice(ids) if rng.random() < 0.1 else d for d in table["dst"].to_pylist()]
        out.rel_tables[t] = table.set_column(table.column_names.index("dst"), "dst",
                                             pa.array(dsts, type=pa.string()))
    return out


def test_fast_diff_equals_the_row_by_row_diff_on_edited_runs(tmp_path: Path) -> None:
    rows = build_rows(build_tiny_run(tmp_path))
    fast, slow = _both(rows, rows)
    assert fast == slow == {"node_deletes": {}, "node_upserts": {}, "node_creates": {},
                            "rel_deletes": {}, "rel_creates": {}}
    changed = 0
    for seed in range(8):
        edited = _edited(rows, seed)
        for old, new in ((rows, edited), (edited, rows)):
            fast, slow = _both(old, new)
            assert fast == slow
            changed += sum(len(v) for part in fast.values() for v in part.values())
    assert changed > 0


def test_fast_diff_recreates_the_relationships_of_a_relabelled_node() -> None:
    def rows_with(label: str) -> GraphRows:
        rows = GraphRows(run_id="r")
        rows.nodes = {"Enterprise": [{"id": "E2", "name": "乙公司"}]}
        rows.nodes.setdefault(label, []).append({"id": "X1", "name": "甲"})
        rows.rels = {"SHAREHOLDER_OF": [{"id": "R1", "src": "X1", "dst": "E2", "share_pct": 3.0}]}
        return rows

    fast, slow = _both(rows_with("Enterprise"), rows_with("Person"))
    assert fast == slow
    assert fast["node_deletes"] == {"Enterprise": ["X1"]}
    assert fast["node_creates"] == {"Person": [0]}
    assert fast["rel_creates"] == {("SHAREHOLDER_OF", "Person", "Enterprise"): [0]}


def test_fast_diff_declines_repeated_ids() -> None:
    rows = GraphRows(run_id="r")
    rows.nodes = {"Enterprise": [{"id": "E1", "name": "甲"}, {"id": "E1", "name": "乙"}]}
    assert fast_diff(rows, PreparedState(), "r") is None
