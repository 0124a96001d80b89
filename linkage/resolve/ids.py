"""Stable entity IDs and their lineage across reruns.

A new cluster is named by `runfolder.ids.entity_id`: `E`/`P` + the first 12 hex digits of
sha1(smallest mention ID). With a previous run, clusters and previous entities are paired by
maximum overlap of their mention sets (greedy, largest overlap first, each side used once);
a paired cluster keeps the previous ID. Every cluster gets a changelog row: `new` (no
mention seen before), `kept`, `merged` (mentions of several previous entities) or `split`
(its previous entity's mentions now sit in several clusters); previous entities with no
mention left are `removed`.

Everything is computed on integer codes (clusters, mention ranks, previous entities) so the
cost stays near-linear in the number of mentions; only the greedy pairing and the minting
walk clusters in Python, one cheap step each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from linkage.resolve.outputs import arrow_array, sorted_codes
from runfolder.ids import ENTITY_PREFIX, entity_id
from runfolder.schema import CHANGELOG

CHANGELOG_COLUMNS = CHANGELOG.columns


@dataclass
class Assignment:
    entity_of: np.ndarray  # entity ID per mention (input order)
    changelog: pd.DataFrame  # change, entity_id, previous_ids


@dataclass
class _Overlap:
    """Distinct (cluster, previous entity) pairs sorted by cluster then previous ID."""

    cluster: np.ndarray  # cluster code per pair
    old: np.ndarray  # previous-entity code per pair (codes follow sorted previous IDs)
    n: np.ndarray  # shared mentions per pair
    old_ids: np.ndarray  # previous entity IDs, sorted (object)


def _overlap(cluster_of: np.ndarray, mention_ids: pa.Array, previous: pd.DataFrame
             ) -> _Overlap:
    prev = previous[["mention_id", "entity_id"]].astype(str)
    old_codes, old_ids = sorted_codes(prev["entity_id"])
    prev_mentions = arrow_array(prev["mention_id"])
    if pc.count_distinct(prev_mentions, mode="all").as_py() == len(prev_mentions):
        pos = pc.fill_null(pc.index_in(mention_ids, value_set=prev_mentions), -1)
        pos = pos.to_numpy(zero_copy_only=False).astype(np.int64)
        hit = pos >= 0
        pair_cluster, pair_old = cluster_of[hit], old_codes[pos[hit]]
    else:  # a mention listed twice in the previous run: every listing counts, as in a join
        joined = pd.DataFrame({"mention_id": mention_ids.to_pylist(), "cluster": cluster_of}
                              ).merge(pd.DataFrame({"mention_id": prev["mention_id"].tolist(),
                                                    "old": old_codes}),
                                      on="mention_id", how="inner")
        pair_cluster = joined["cluster"].to_numpy(dtype=np.int64)
        pair_old = joined["old"].to_numpy(dtype=np.int64)
    n_old = max(len(old_ids), 1)
    keys, counts = np.unique(pair_cluster.astype(np.int64) * n_old + pair_old,
                             return_counts=True)
    return _Overlap(keys // n_old, keys % n_old, counts,
                    np.asarray(old_ids.to_pylist(), dtype=object))


def assign_ids(
    mention_ids: pd.Series,
    kinds: pd.Series,
    labels: np.ndarray,
    previous: pd.DataFrame | None = None,
) -> Assignment:
    """Name clusters (`labels`, one per mention) and compute lineage against `previous`
    (columns `mention_id`, `entity_id`)."""
    mids = arrow_array(mention_ids.astype(str))
    # clusters in order of first appearance; mentions ranked by ID (string order)
    cluster_of, _ = pd.factorize(np.asarray(labels), sort=False)
    cluster_of = cluster_of.astype(np.int64)
    n_clusters = int(cluster_of.max()) + 1 if len(cluster_of) else 0
    rank, sorted_ids = sorted_codes(mids)
    smallest_rank = np.full(n_clusters, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest_rank, cluster_of, rank)
    smallest = sorted_ids.take(pa.array(smallest_rank)).to_pylist()
    _, first_row = np.unique(cluster_of, return_index=True)
    cluster_kind = arrow_array(kinds.astype(str)).take(pa.array(first_row)).to_pylist()

    name: list[str | None] = [None] * n_clusters
    olds_of: list[list[str]] = [[] for _ in range(n_clusters)]
    change = np.full(n_clusters, "new", dtype=object)
    previous_all: set[str] = set()
    removed: list[str] = []

    if previous is not None and len(previous):
        ov = _overlap(cluster_of, mids, previous)
        old_ids = ov.old_ids
        previous_all = set(old_ids.tolist())
        # greedy pairing: largest overlap first, then smallest cluster, then previous ID
        order = np.lexsort((ov.old, smallest_rank[ov.cluster], -ov.n))
        wanted_prefix = np.asarray([ENTITY_PREFIX[k] for k in cluster_kind], dtype=object)
        old_prefix = np.asarray([o[:1] for o in old_ids.tolist()], dtype=object)
        order = order[wanted_prefix[ov.cluster[order]] == old_prefix[ov.old[order]]]
        used = [False] * len(old_ids)
        for c, o in zip(ov.cluster[order].tolist(), ov.old[order].tolist(), strict=True):
            if name[c] is not None or used[o]:
                continue
            name[c] = old_ids[o]
            used[o] = True
        # lineage: previous IDs per cluster (pairs are sorted by cluster, then previous ID)
        bounds = np.searchsorted(ov.cluster, np.arange(n_clusters + 1)).tolist()
        values = old_ids[ov.old].tolist()
        olds_of = [values[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        n_olds = np.diff(np.asarray(bounds, dtype=np.int64))
        clusters_per_old = np.bincount(ov.old, minlength=len(old_ids))
        # a cluster with one predecessor is `split` when that predecessor spread further
        first_old = ov.old[np.minimum(bounds[:-1], len(ov.old) - 1)] if len(ov.old) else \
            np.zeros(n_clusters, dtype=np.int64)
        split = clusters_per_old[first_old] > 1 if len(ov.old) else \
            np.zeros(n_clusters, dtype=bool)
        change = np.where(n_olds == 0, "new", np.where(
            n_olds > 1, "merged", np.where(split, "split", "kept"))).astype(object)
        removed = old_ids[clusters_per_old == 0].tolist()

    taken = {n for n in name if n is not None} | previous_all
    for c in np.argsort(smallest_rank, kind="stable").tolist():
        if name[c] is not None:
            continue
        salt = 0
        candidate = entity_id(cluster_kind[c], smallest[c])
        while candidate in taken:
            salt += 1
            candidate = entity_id(cluster_kind[c], smallest[c], salt)
        name[c] = candidate
        taken.add(candidate)

    columns = {
        "change": change.tolist() + ["removed"] * len(removed),
        "entity_id": name + [None] * len(removed),
        "previous_ids": olds_of + [[old] for old in removed],
    }
    changelog = pd.DataFrame(columns if removed or n_clusters else [],
                             columns=list(CHANGELOG_COLUMNS))
    names = np.asarray(name, dtype=object)
    entity_of = names[cluster_of] if len(cluster_of) else np.asarray([], dtype=object)
    return Assignment(entity_of, changelog)
