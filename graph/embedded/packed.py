"""Compact per-entity storage for the embedded store: rows grouped by node in compressed
blocks (source records, evidence) and one text per node (risk reasons), so a large run takes
tens of MB instead of GBs of Python dicts and a profile decompresses only what it shows."""

from __future__ import annotations

import pickle
import zlib
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class PackedRows:
    """Rows of one table grouped by node, kept as zlib-compressed pickled blocks of `block`
    rows: a large run's source records, evidence and risk reasons take tens of MB instead of
    GBs of Python dicts, and a profile decompresses one or two small blocks (tens of µs).
    The blocks are made here from the run's own tables, never read from outside."""

    def __init__(self, table: pa.Table, owner: np.ndarray, n_nodes: int,
                 sort_by: tuple[str, ...], block: int) -> None:
        self._block = block
        keep = owner >= 0
        if not keep.all():
            table, owner = table.filter(pa.array(keep)), owner[keep]
        keyed = table.append_column("__owner", pa.array(owner))
        order = pc.sort_indices(keyed, sort_keys=[("__owner", "ascending"),
                                                  *((c, "ascending") for c in sort_by)]
                                ).to_numpy()  # nulls last
        self._offsets = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, minlength=n_nodes), out=self._offsets[1:])
        self._columns = tuple(table.column_names)
        blocks: list[bytes] = []
        chunk = block * max(1, 8192 // block)  # rows materialised at a time
        for start in range(0, len(order), chunk):
            part = table.take(pa.array(order[start:start + chunk]))
            rows = list(zip(*(part.column(c).to_pylist() for c in self._columns), strict=True))
            for i in range(0, len(rows), block):
                blocks.append(zlib.compress(pickle.dumps(rows[i:i + block], protocol=5), 1))
        # one buffer, not thousands of small objects scattered over the heap
        self._starts = np.zeros(len(blocks) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in blocks], out=self._starts[1:])
        self._buffer = b"".join(blocks)

    @property
    def nbytes(self) -> int:
        return len(self._buffer) + self._starts.nbytes + self._offsets.nbytes

    def rows(self, p: int) -> list[dict[str, Any]]:
        a, b = int(self._offsets[p]), int(self._offsets[p + 1])
        if a == b:
            return []
        size = self._block
        first = a // size
        rows: list[tuple[Any, ...]] = []
        for k in range(first, (b - 1) // size + 1):
            data = self._buffer[int(self._starts[k]):int(self._starts[k + 1])]
            rows.extend(pickle.loads(zlib.decompress(data)))  # noqa: S301 (own data)
        cols = self._columns
        skip = first * size
        return [dict(zip(cols, row, strict=True)) for row in rows[a - skip:b - skip]]


class PackedText:
    """One text per node (a risk score's reasons JSON), each zlib-compressed on its own when
    long, all in one buffer: a lookup decompresses only the texts of the entities it answers
    with, and the one allocation does not pin scattered heap pages."""

    SHORT = 64  # texts up to this length are kept as they are

    def __init__(self, n_nodes: int) -> None:
        self._n = n_nodes
        self._parts: dict[int, bytes] = {}
        self._kind = np.zeros(n_nodes, dtype=np.int8)  # 0 none, 1 plain, 2 zlib
        self._buffer = b""
        self._offsets = np.zeros(1, dtype=np.int64)

    def add(self, owner: np.ndarray, texts: pa.Array | pa.ChunkedArray) -> None:
        """Keep `texts[i]` for node `owner[i]` (owners < 0 are skipped)."""
        for p, text in zip(owner.tolist(), texts.to_pylist(), strict=True):
            if p < 0 or text is None:
                continue
            raw = text.encode("utf-8")
            if len(text) <= self.SHORT:
                self._parts[p], self._kind[p] = raw, 1
            else:
                self._parts[p], self._kind[p] = zlib.compress(raw, 6), 2

    def finish(self) -> None:
        """Move the texts into the one buffer (call once every `add` is done)."""
        sizes = np.zeros(self._n, dtype=np.int64)
        for p, part in self._parts.items():
            sizes[p] = len(part)
        self._offsets = np.zeros(self._n + 1, dtype=np.int64)
        np.cumsum(sizes, out=self._offsets[1:])
        self._buffer = b"".join(self._parts[p] for p in sorted(self._parts))
        self._parts = {}

    @property
    def nbytes(self) -> int:
        return len(self._buffer) + self._offsets.nbytes + self._kind.nbytes

    def text(self, p: int) -> str | None:
        kind = self._kind[p]
        if kind == 0:
            return None
        data = self._buffer[int(self._offsets[p]):int(self._offsets[p + 1])]
        return (zlib.decompress(data) if kind == 2 else data).decode("utf-8")
