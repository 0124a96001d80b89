"""Clustering that resists chaining: a union-find with cannot-link constraints.

Links are applied strongest first (judgements, exact valid identifiers, then Splink links in
decreasing match weight, then context links). Each cluster carries constraint tags
(`key -> set of values`); two clusters whose tags disagree on a key are never joined. Tags
hold the valid USCC / resident ID numbers of the members and the sides of every `different`
judgement, so two different valid identifiers never meet in one entity and a chain of weak
links cannot fuse two firms that each carry their own code. Only links at or above the
acceptance threshold are offered at all, so a chain needs every link to be strong.

An accepted link joins two different clusters, so the accepted links of a cluster form a
spanning tree of it: exactly the evidence we keep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import DamerauLevenshtein

Method = str  # 'exact_id' | 'splink' | 'masked_id' | 'context' | 'judgement'


@dataclass(frozen=True, slots=True)
class Link:
    """A proposed link between two mentions (by row index)."""

    left: int
    right: int
    method: Method
    match_weight: float | None
    match_probability: float
    features: str  # JSON list of {"column","level","weight","value_l","value_r"}
    ref: int = -1  # row of the Splink predictions frame (features built only if accepted)
    # an identifier with a check character in common (a valid USCC): it outweighs a soft
    # cannot-link tag (`ConstrainedUnionFind.tag`)
    verified: bool = False


# Edits (Damerau-Levenshtein) two copies of one identifier may differ by: a slip plus a wrong
# check character in a long number; one slip in a short one.
LONG_ID = 15
TYPOS_LONG, TYPOS_SHORT = 2, 1


def _typo_apart(x: str, y: str) -> bool:
    limit = TYPOS_LONG if min(len(x), len(y)) >= LONG_ID else TYPOS_SHORT
    return DamerauLevenshtein.distance(x, y, score_cutoff=limit) <= limit


class ConstrainedUnionFind:
    """Union-find over mention indices whose unions respect cannot-link tags."""

    def __init__(self, n: int) -> None:
        self._parent = list(range(n))
        self._size = [1] * n
        self._tags: dict[int, dict[str, set[str]]] = {}
        self._soft: set[str] = set()  # tag keys a verified link overrides
        # present identifiers (valid or not) per cluster, for `compatible`
        self._ids: dict[int, dict[str, set[str]]] = {}

    def __len__(self) -> int:
        return len(self._parent)

    def find(self, i: int) -> int:
        parent = self._parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def tag(self, i: int, key: str, value: str, *, soft: bool = False) -> None:
        """Attach a constraint tag to the cluster holding mention `i`. A `soft` tag (an
        identifier without a check character: one slip makes another valid-looking value)
        keeps apart all links but a verified one (`Link.verified`)."""
        self._tags.setdefault(self.find(i), {}).setdefault(key, set()).add(value)
        if soft:
            self._soft.add(key)

    def conflicts(self, a: int, b: int, *, verified: bool = False,
                  slips: bool = False) -> bool:
        """Would joining the clusters of `a` and `b` put two different tag values together
        (soft tags not counted for a `verified` link; with `slips`, soft tag values one slip
        apart, `_typo_apart`, counted as the same)?"""
        ta, tb = self._tags.get(self.find(a)), self._tags.get(self.find(b))
        if not ta or not tb:
            return False
        if len(ta) > len(tb):
            ta, tb = tb, ta
        for key, values in ta.items():
            other = tb.get(key)
            if other is None or not values.isdisjoint(other):
                continue
            if key in self._soft and (verified or (slips and any(
                    _typo_apart(x, y) for x in values for y in other))):
                continue
            return True
        return False

    def note_id(self, i: int, scheme: str, value: str) -> None:
        """Record a present identifier (valid or malformed) of mention `i`."""
        self._ids.setdefault(self.find(i), {}).setdefault(scheme, set()).add(value)

    def compatible(self, a: int, b: int) -> bool:
        """Whether no scheme holds identifiers on both sides none of which are the same up
        to typos (see `_typo_apart`): a mistyped copy of the same number is compatible, a
        different number is not."""
        ia, ib = self._ids.get(self.find(a)), self._ids.get(self.find(b))
        if not ia or not ib:
            return True
        for scheme, values in ia.items():
            other = ib.get(scheme)
            if other is None or not values.isdisjoint(other):
                continue
            if not any(_typo_apart(x, y) for x in values for y in other):
                return False
        return True

    def union(self, a: int, b: int, *, force: bool = False, verified: bool = False) -> bool:
        """Join the clusters of `a` and `b`; False if already joined or (unless forced)
        their tags conflict (`conflicts`)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if not force and self.conflicts(ra, rb, verified=verified):
            return False
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]
        for store in (self._tags, self._ids):
            moved = store.pop(rb, None)
            if moved:
                mine = store.setdefault(ra, {})
                for key, values in moved.items():
                    mine.setdefault(key, set()).update(values)
        return True

    def apply(self, links: Iterable[Link], *, force: bool = False,
              same_ids: bool = False) -> list[Link]:
        """Offer links in the given order; return those that joined two clusters. With
        `same_ids`, a link between clusters holding different present identifiers (see
        `compatible`) is refused as well."""
        if same_ids:
            return [lk for lk in links if self.compatible(lk.left, lk.right)
                    and self.union(lk.left, lk.right, force=force, verified=lk.verified)]
        return [lk for lk in links
                if self.union(lk.left, lk.right, force=force, verified=lk.verified)]

    def labels(self) -> list[int]:
        """Cluster label (root index) of every mention."""
        return [self.find(i) for i in range(len(self._parent))]

    def cluster_size(self, i: int) -> int:
        return self._size[self.find(i)]
