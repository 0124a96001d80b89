"""Distributed connected components (large-star / small-star on Spark DataFrames) agree with
scipy's on graphs with long chains, stars, cycles and isolated edges."""

from __future__ import annotations

import numpy as np
import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from linkage.resolve.spark import spark_session
from linkage.spark.components import connected_components

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def _expected(src: np.ndarray, dst: np.ndarray) -> dict[int, int]:
    n = int(max(src.max(), dst.max())) + 1
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    _, label = scipy_components(graph, directed=False)
    smallest: dict[int, int] = {}
    for node in np.unique(np.r_[src, dst]).tolist():
        smallest.setdefault(int(label[node]), node)
    return {node: smallest[int(label[node])] for node in np.unique(np.r_[src, dst]).tolist()}


def test_components_match_scipy_on_chains_stars_and_random_edges() -> None:
    rng = np.random.default_rng(3)
    chain = np.arange(200, 400)  # a path of 200 nodes, numbered against its order below
    rng.shuffle(chain)
    src = [chain[:-1], np.full(50, 1000), rng.integers(2000, 2600, 300), np.array([7, 8, 9])]
    dst = [chain[1:], np.arange(1001, 1051), rng.integers(2000, 2600, 300), np.array([8, 9, 7])]
    s, d = np.concatenate(src).astype(np.int64), np.concatenate(dst).astype(np.int64)
    spark = spark_session(2)
    edges = spark.createDataFrame([(int(a), int(b)) for a, b in zip(s, d, strict=True)],
                                  "src long, dst long")
    got = {r["node"]: r["component"] for r in connected_components(edges).collect()}
    assert got == _expected(s, d)
    assert len(set(got[n] for n in chain.tolist())) == 1


def test_duplicates_self_loops_and_no_edges() -> None:
    spark = spark_session(2)
    rows = [(5, 3), (3, 5), (5, 3), (4, 4), (9, 9), (9, 4), (12, 11), (11, 12), (11, 11)]
    edges = spark.createDataFrame(rows, "src long, dst long")
    got = {r["node"]: r["component"] for r in connected_components(edges).collect()}
    assert got == {3: 3, 5: 3, 4: 4, 9: 4, 11: 11, 12: 11}
    only_loops = spark.createDataFrame([(1, 1), (2, 2)], "src long, dst long")
    assert connected_components(only_loops).count() == 0
    assert connected_components(spark.createDataFrame([], "src long, dst long")).count() == 0


@pytest.mark.parametrize(("rows", "stars"), [
    ([(2, 1), (3, 1), (9, 4)], True),  # two stars
    ([(3, 2), (2, 1)], False),  # 2 points and is pointed at: a chain
    ([(3, 1), (3, 2)], False),  # 3 points at two centres
    ([], True),
])
def test_star_forest_check(rows: list[tuple[int, int]], stars: bool) -> None:
    from linkage.spark.components import _is_star_forest

    edges = spark_session(2).createDataFrame(rows, "src long, dst long")
    assert _is_star_forest(edges) is stars
