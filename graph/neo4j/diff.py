"""The diff of a sync: what makes the graph's current state hold a run's rows.

`compute_diff` walks every row in Python against a dict of the graph's state. When that state
comes from the prepared rows of the run the graph holds (`graph.neo4j.rows.PreparedState`),
almost every row is unchanged, so `fast_diff` first drops, with vectorised set membership on
the content hashes, every row whose hash the graph already holds (the hash covers the label or
type, the ID, the endpoints and every property) and every state element whose hash the new
rows still have; only the rest (about the size of the change) is walked in Python, with the
same rules as `compute_diff`. It gives exactly the diff `compute_diff` gives (tests hold them
equal); it declines (returns None) when either side repeats an element ID, a case whose "first
row stands" rule needs the row-by-row walk.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph import schema
from graph.neo4j.diff_types import Diff, PendingRows
from graph.neo4j.rows import GraphRows, PreparedState


def compute_diff(
    rows: GraphRows,
    nodes_now: dict[str, tuple[str, str | None]],
    rels_now: dict[str, tuple[str, str | None]],
    run_id: str,
) -> Diff:
    """What to write and delete so the graph holds exactly `rows`.

    Content hashes are computed over whole tables; the diff runs on `(id, hash)` pairs and only
    the new or changed rows are turned into dicts."""
    diff = Diff()
    wanted_label: dict[str, str] = {}
    relabelled: set[str] = set()
    for label in rows.node_labels():
        table = rows.node_table(label)
        if table.num_rows == 0:
            continue
        ids = table[schema.KEY].to_pylist()
        hashes = rows.node_hash_array(label).to_pylist()
        changed = PendingRows(table, run_id, rel=False)
        absent = PendingRows(table, run_id, rel=False)
        for i, (node_id, h) in enumerate(zip(ids, hashes, strict=True)):
            if node_id in wanted_label:
                continue  # a repeated node ID: the first row stands
            wanted_label[node_id] = label
            current = nodes_now.get(node_id)
            if current is None:
                absent.add(i, h)
            elif current[0] != label:  # deleted first, then created with its new label
                relabelled.add(node_id)
                diff.node_deletes.setdefault(current[0], []).append(node_id)
                absent.add(i, h)
            elif current[1] != h:
                changed.add(i, h)
        if len(changed):
            diff.node_upserts[label] = changed
        if len(absent):
            diff.node_creates[label] = absent
    for node_id, (label, _) in nodes_now.items():
        if node_id not in wanted_label:
            diff.node_deletes.setdefault(label, []).append(node_id)

    wanted_rels: set[str] = set()
    for rel_type in rows.rel_types():
        table = rows.rel_table(rel_type)
        if table.num_rows == 0:
            continue
        ids = table[schema.KEY].to_pylist()
        srcs, dsts = table["src"].to_pylist(), table["dst"].to_pylist()
        hashes = rows.rel_hash_array(rel_type).to_pylist()
        for i, rel_id in enumerate(ids):
            src, dst, h = srcs[i], dsts[i], hashes[i]
            if src not in wanted_label or dst not in wanted_label:
                continue  # dangling: counted by GraphRows.dangling
            if rel_id in wanted_rels:
                continue  # a repeated relationship ID: the first row stands
            wanted_rels.add(rel_id)
            current = rels_now.get(rel_id)
            endpoints_rebuilt = src in relabelled or dst in relabelled
            if current is not None and (current[0] != rel_type or current[1] != h):
                diff.rel_deletes.setdefault(current[0], []).append(rel_id)
            if current is None or current[0] != rel_type or current[1] != h or endpoints_rebuilt:
                key = (rel_type, wanted_label[src], wanted_label[dst])
                if key not in diff.rel_creates:
                    diff.rel_creates[key] = PendingRows(table, run_id, rel=True)
                diff.rel_creates[key].add(i, h)
    for rel_id, (rel_type, _) in rels_now.items():
        if rel_id not in wanted_rels:
            diff.rel_deletes.setdefault(rel_type, []).append(rel_id)
    return diff


def _concat(arrays: list[pa.Array]) -> pa.Array:
    if not arrays:
        return pa.array([], type=pa.string())
    return pa.concat_arrays([a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
                             for a in arrays])


def _unique(ids: pa.Array) -> bool:
    return len(ids) == 0 or pc.count_distinct(ids).as_py() == len(ids)


def _positions(mask: pa.Array) -> list[int]:
    return np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)).tolist()


def _slices(arr: pa.Array, sizes: list[int]) -> list[pa.Array]:
    """`arr` cut into consecutive parts of `sizes` (one per table)."""
    out, start = [], 0
    for n in sizes:
        out.append(arr.slice(start, n))
        start += n
    return out


def _split(mask: pa.Array, sizes: list[int]) -> list[list[int]]:
    """Positions where `mask` holds, per table, relative to each table's first row."""
    return [_positions(part) for part in _slices(mask, sizes)]


def fast_diff(rows: GraphRows, state: PreparedState, run_id: str) -> Diff | None:
    """The diff that makes a graph holding `state` hold `rows` (see the module docstring)."""

    labels = rows.node_labels()
    new_node_ids = _concat([rows.node_table(lab)[schema.KEY] for lab in labels])
    old_node_ids = _concat(list(state.node_ids.values()))
    if not _unique(new_node_ids) or not _unique(old_node_ids):
        return None
    new_node_hashes = _concat([rows.node_hash_array(lab) for lab in labels])
    old_node_hashes = _concat(list(state.node_hashes.values()))
    old_node_labels = _concat([pa.array([lab] * len(ids), type=pa.string())
                               for lab, ids in state.node_ids.items()])

    diff = Diff()
    # state nodes the rows no longer hold as they are: changed, relabelled or removed
    gone = pc.invert(pc.is_in(old_node_hashes, value_set=new_node_hashes))
    stale = {i: (lab, h) for i, lab, h in zip(
        pc.filter(old_node_ids, gone).to_pylist(), pc.filter(old_node_labels, gone).to_pylist(),
        pc.filter(old_node_hashes, gone).to_pylist(), strict=True)}
    relabelled: set[str] = set()
    node_todo = _split(pc.invert(pc.is_in(new_node_hashes, value_set=old_node_hashes)),
                       [rows.node_table(lab).num_rows for lab in labels])
    for label, todo in zip(labels, node_todo, strict=True):
        table, hashes = rows.node_table(label), rows.node_hash_array(label)
        if not todo:
            continue
        ids = table[schema.KEY].take(pa.array(todo, type=pa.int64())).to_pylist()
        hs = hashes.take(pa.array(todo, type=pa.int64())).to_pylist()
        changed = PendingRows(table, run_id, rel=False)
        absent = PendingRows(table, run_id, rel=False)
        for i, node_id, h in zip(todo, ids, hs, strict=True):
            current = stale.get(node_id)
            if current is None:
                absent.add(i, h)
            elif current[0] != label:
                relabelled.add(node_id)
                diff.node_deletes.setdefault(current[0], []).append(node_id)
                absent.add(i, h)
            else:
                changed.add(i, h)
        if len(changed):
            diff.node_upserts[label] = changed
        if len(absent):
            diff.node_creates[label] = absent
    removed = pc.invert(pc.is_in(old_node_ids, value_set=new_node_ids))
    for node_id, lab in zip(pc.filter(old_node_ids, removed).to_pylist(),
                            pc.filter(old_node_labels, removed).to_pylist(), strict=True):
        diff.node_deletes.setdefault(lab, []).append(node_id)

    types = rows.rel_types()
    sizes = [rows.rel_table(t).num_rows for t in types]
    all_src = _concat([rows.rel_table(t)["src"] for t in types])
    all_dst = _concat([rows.rel_table(t)["dst"] for t in types])
    all_ok = pc.and_(pc.is_in(all_src, value_set=new_node_ids),
                     pc.is_in(all_dst, value_set=new_node_ids))
    ok = dict(zip(types, _slices(all_ok, sizes), strict=True))
    new_rel_ids = _concat([pc.filter(rows.rel_table(t)[schema.KEY], ok[t]) for t in types])
    old_rel_ids = _concat(list(state.rel_ids.values()))
    if not _unique(new_rel_ids) or not _unique(old_rel_ids):
        return None
    new_rel_hashes = _concat([pc.filter(rows.rel_hash_array(t), ok[t]) for t in types])
    old_rel_hashes = _concat(list(state.rel_hashes.values()))
    old_rel_types = _concat([pa.array([t] * len(ids), type=pa.string())
                             for t, ids in state.rel_ids.items()])
    rebuilt = pa.array(sorted(relabelled), type=pa.string())
    picked: list[tuple[str, list[int], list[str], list[str], list[str]]] = []
    all_hashes = _concat([rows.rel_hash_array(t) for t in types])
    todo_mask = pc.invert(pc.is_in(all_hashes, value_set=old_rel_hashes))
    if len(rebuilt):  # unchanged relationships of a re-created node are re-created too
        todo_mask = pc.or_(todo_mask, pc.or_(pc.is_in(all_src, value_set=rebuilt),
                                             pc.is_in(all_dst, value_set=rebuilt)))
    rel_todo = _split(pc.and_(todo_mask, all_ok), sizes)
    for t, todo in zip(types, rel_todo, strict=True):
        table, hashes = rows.rel_table(t), rows.rel_hash_array(t)
        if todo:
            at = pa.array(todo, type=pa.int64())
            picked.append((t, todo, table["src"].take(at).to_pylist(),
                           table["dst"].take(at).to_pylist(), hashes.take(at).to_pylist()))
    label_of = _labels_of({n for _, _, srcs, dsts, _ in picked for n in (*srcs, *dsts)},
                          rows, labels)
    for t, todo, srcs, dsts, hs in picked:
        table = rows.rel_table(t)
        for i, src, dst, h in zip(todo, srcs, dsts, hs, strict=True):
            key = (t, label_of[src], label_of[dst])
            if key not in diff.rel_creates:
                diff.rel_creates[key] = PendingRows(table, run_id, rel=True)
            diff.rel_creates[key].add(i, h)
    # state relationships whose content the rows no longer hold: changed or removed
    drop = pc.invert(pc.is_in(old_rel_hashes, value_set=new_rel_hashes))
    for rel_id, t in zip(pc.filter(old_rel_ids, drop).to_pylist(),
                         pc.filter(old_rel_types, drop).to_pylist(), strict=True):
        diff.rel_deletes.setdefault(t, []).append(rel_id)
    return diff


def _labels_of(node_ids: set[str], rows: GraphRows, labels: list[str]) -> dict[str, str]:
    """The label of each of `node_ids` among the rows (IDs are unique: checked before)."""
    wanted = pa.array(sorted(node_ids), type=pa.string())
    out: dict[str, str] = {}
    for label in labels:
        hit = pc.is_in(wanted, value_set=rows.node_table(label)[schema.KEY])
        out.update(dict.fromkeys(pc.filter(wanted, hit).to_pylist(), label))
    return out
