"""Connected components of an edge DataFrame, distributed (Spark's own DataFrame operations).

GraphFrames has no published artifact for Spark 4 / Scala 2.13 reachable here (it is not in
the local Maven mirror), so the components are found with the alternating *large-star* /
*small-star* rounds of Kiveris et al. ("Connected Components in MapReduce and Beyond",
SoCC 2014): each round is two group-bys over the edges, every node ends pointing at the
smallest node of its component, and the number of rounds grows with log(n), not with the
component's diameter. The edge set is checkpointed every round (`frames.checkpoint`) so the
plan never grows. The rounds stop as soon as the edges form stars around each component's
smallest node, which one aggregation over the checkpointed edges tells (`_is_star_forest`).
"""

from __future__ import annotations

from typing import Any

from linkage.spark.frames import checkpoint

MAX_ROUNDS = 64


def _undirected(edges: Any) -> Any:
    """Each edge once per direction, without self loops."""
    from pyspark.sql import functions as F

    forward = edges.select(F.col("src").alias("u"), F.col("dst").alias("v"))
    both = forward.unionByName(forward.select(F.col("v").alias("u"), F.col("u").alias("v")))
    return both.where(F.col("u") != F.col("v"))


def _large_star(edges: Any) -> Any:
    """Every neighbour larger than u is pointed at the smallest node of u's neighbourhood."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    both = _undirected(edges)
    smallest = F.least(F.col("u"), F.min("v").over(Window.partitionBy("u")))
    out = both.withColumn("m", smallest).where(F.col("v") > F.col("u"))
    # duplicates are left to small-star's own `distinct` (one shuffle less per round)
    return out.select(F.col("v").alias("src"), F.col("m").alias("dst"))


def _small_star(edges: Any) -> Any:
    """Every node and its smaller neighbours are pointed at the smallest of them."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    oriented = edges.select(F.greatest("src", "dst").alias("u"), F.least("src", "dst").alias("v"))
    oriented = oriented.where(F.col("u") != F.col("v"))
    m = oriented.withColumn("m", F.min("v").over(Window.partitionBy("u")))
    pointed = m.select(F.col("v").alias("src"), F.col("m").alias("dst"))
    own = m.select(F.col("u").alias("src"), F.col("m").alias("dst"))
    out = pointed.unionByName(own).distinct()
    return out.where(F.col("src") != F.col("dst"))


def _is_star_forest(edges: Any) -> bool:
    """Whether the distinct edges `src` -> `dst` (`src` > `dst`, as small-star leaves them)
    are stars: no node points at two nodes, and no node both points and is pointed at.
    Then every star is a whole component (the rounds keep the components), its centre the
    component's smallest node; one aggregation, no comparison with the previous round."""
    from pyspark.sql import functions as F

    ends = edges.select(F.col("src").alias("node"), F.lit(1).alias("out"),
                        F.lit(0).alias("pointed")).unionByName(
        edges.select(F.col("dst").alias("node"), F.lit(0).alias("out"),
                     F.lit(1).alias("pointed")))
    per_node = ends.groupBy("node").agg(F.sum("out").alias("out"),
                                        F.max("pointed").alias("pointed"))
    bad = per_node.where((F.col("out") > 1) | ((F.col("out") == 1) & (F.col("pointed") == 1)))
    return bool(bad.isEmpty())


def connected_components(edges: Any, *, max_rounds: int = MAX_ROUNDS) -> Any:
    """`edges` (columns `src`, `dst`: long node IDs) -> DataFrame (`node`, `component`) for
    every node touched by an edge, `component` being the smallest node ID of its component.
    Nodes without an edge are not listed (they are their own component)."""
    from pyspark.sql import functions as F

    current = edges.select(F.col("src").cast("long"), F.col("dst").cast("long"))
    # duplicates and self loops are harmless to the first round (its windows take minima)
    current = checkpoint(current)
    for _ in range(max_rounds):
        current = checkpoint(_small_star(_large_star(current)))
        if _is_star_forest(current):
            break
    else:  # pragma: no cover - log(n) rounds suffice for any graph that fits a cluster
        raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
    # stars: every edge is (node, smallest node of its component), each node listed once
    pointed = current.select(F.col("src").alias("node"), F.col("dst").alias("component"))
    centres = pointed.select(F.col("component").alias("node"), "component").distinct()
    return pointed.unionByName(centres)
