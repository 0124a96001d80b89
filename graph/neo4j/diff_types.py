"""The shape of a sync's diff: what to delete, write and create so the graph holds a run.

`graph.neo4j.diff` computes a `Diff` (row by row or vectorised); `graph.neo4j.apply` writes
it. Rows to write stay Arrow table positions (`PendingRows`) and become dicts one write batch
at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from graph.neo4j.hash import HASH_PROP
from graph.neo4j.rows import rows_at


class PendingRows:
    """Rows of one table to write, turned into dicts one batch at a time (bounded memory).

    Node rows are `{...props, run_id, _hash}`; relationship rows `{src, dst, p: props}`."""

    def __init__(self, table: pa.Table, run_id: str, rel: bool) -> None:
        self.table, self.run_id, self.rel = table, run_id, rel
        self.indices: list[int] = []
        self.hashes: list[str] = []

    def add(self, index: int, content_hash: str) -> None:
        self.indices.append(index)
        self.hashes.append(content_hash)

    def __len__(self) -> int:
        return len(self.indices)

    def payload_bytes(self) -> int:
        """Rough size of the rows as parameters: text bytes plus 8 per other value."""
        if not self.indices:
            return 0
        part = self.table.take(pa.array(self.indices, type=pa.int64()))
        total = 0
        for col in part.columns:
            if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                total += int(pc.sum(pc.utf8_length(col)).as_py() or 0)
            else:
                total += 8 * len(col)
        return total

    def batches(self, size: int) -> Iterator[list[dict[str, Any]]]:
        for start in range(0, len(self.indices), size):
            picked = self.indices[start : start + size]
            out = []
            for h, props in zip(self.hashes[start:], rows_at(self.table, picked), strict=False):
                props["run_id"] = self.run_id
                props[HASH_PROP] = h
                if self.rel:
                    src, dst = props.pop("src"), props.pop("dst")
                    out.append({"src": src, "dst": dst, "p": props})
                else:
                    out.append(props)
            yield out


@dataclass
class Diff:
    node_deletes: dict[str, list[str]] = field(default_factory=dict)  # label -> ids
    node_upserts: dict[str, PendingRows] = field(default_factory=dict)  # changed nodes
    node_creates: dict[str, PendingRows] = field(default_factory=dict)  # absent from the graph
    rel_deletes: dict[str, list[str]] = field(default_factory=dict)  # type -> ids
    # (type, src label, dst label) -> rows
    rel_creates: dict[tuple[str, str, str], PendingRows] = field(default_factory=dict)

    def payload_bytes(self) -> int:
        pending = [*self.node_upserts.values(), *self.node_creates.values(),
                   *self.rel_creates.values()]
        deletes = [*self.node_deletes.values(), *self.rel_deletes.values()]
        return sum(p.payload_bytes() for p in pending) + 64 * sum(map(len, deletes))

    def size(self) -> int:
        return (
            sum(map(len, self.node_deletes.values()))
            + sum(map(len, self.node_upserts.values()))
            + sum(map(len, self.node_creates.values()))
            + sum(map(len, self.rel_deletes.values()))
            + sum(map(len, self.rel_creates.values()))
        )
