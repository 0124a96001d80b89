"""The rule score of `risk.score` on Spark (`guanlian score --engine spark`): same scores,
levels and reasons, nothing of the edge or path tables gathered into the driver.

`spark_score_run(run_dir, cfg)` reads the run's Parquet tables as Spark DataFrames and:
1. derives the network as `graph.tables` does (LOCATED_AT / HAS_PHONE from the entities'
   address / phone and the agreeing mentions, IDs by `runfolder.ids` in vectorised UDFs) and
   folds every pair's relationships into one *tie* (strongest role first; the tie is named by
   that relationship's ID);
2. expands the bounded paths as `max_hops` iterated joins of the path frontier with the
   directed ties, each hop filtered like the pandas walk (simple routes, inner nodes not
   blocked, damping, `min_contribution`) and materialised before the next; a route is one
   row per distinct node sequence (a tie is one row per direction), so a hop needs no
   further de-duplication; the routes ending at an entity are the network reasons, folded
   per (entity, counterpart) to the sum over routes and the strongest route;
3. adds the own-events, blacklisting, hub, phoenix and shared-controller reasons, sums the
   raw risk, scores and keeps the top `max_reasons` per entity;
4. writes the readable reasons with `risk.explain.Explainer` per group of entities
   (`cogroup(...).applyInPandas`): each Python call sees the reasons of one group and the
   names, relationships, events and evidence they name, never the whole run;
5. writes RUN/risk.parquet (Spark writes part files, sorted by entity; they are streamed
   into the one contract file batch by batch).
Each intermediate table (network, ties, events, every hop, reasons, raw risk, top reasons) is
written as Parquet under RUN/.risk-spark-*/ and read back (`_Run.stage`): computed once, and
no plan carries the whole lineage (with `persist` alone, planning the last write ran a 1 GiB
driver out of heap on the tiny run). The driver's Python receives the as-of date, one count
and the summary's three rows, and the part files batch by batch.

Parity with the pandas path: the floats are computed in the same order with the same
operations. Every power and exponential goes through the numpy functions of `risk.score`
(`recency`, `damping`, `network_factor`, `score_of`) in pandas UDFs; sums whose order pandas
fixes are taken in that order: per-event sums (direct risk, raw risk) sequentially like
`np.bincount`, per-group sums (an entity's own events, a counterpart's routes) with the Kahan
summation of pandas' `groupby().sum()`. tests/risk/test_spark_score.py holds every entity's
score, level and reasons equal on the small fixture.

Not on Spark: the learned score (its features and backtest read whole tables with pandas;
learned.json says it was not computed). The graph rows of `guanlian load` that the score
command prepares next are prepared on Spark too (`graph.neo4j.spark_rows`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from graph.catalogue import (
    CONTROLLER_TYPES,
    HUB_TIES,
    MIN_CONTROLLED_FIRMS,
    PENALISING,
    PHOENIX_TIE_AT_TARGET,
    PHOENIX_TIES,
    is_deregistered,
)
from graph.schema import ENTITY_LABEL_BY_KIND, ENTITY_REL_TYPES
from risk.config import RiskConfig, load_risk_config
from risk.explain import ExplainContext, Explainer, node_name
from risk.score import (
    damping,
    evidence_item,
    network_factor,
    recency,
    score_of,
    triggers,
)
from runfolder.folder import check_run
from runfolder.ids import DERIVED
from runfolder.parts import join_parts
from runfolder.schema import RISK_SCHEMA, TABLES
from runfolder.spark_ids import id_udfs

MAX_EVIDENCE = 3  # = risk.score.MAX_EVIDENCE
REASONS_SCHEMA = "entity_id string, reasons string"
BUCKET_ENTITIES = 20_000  # entities whose reasons one Python call writes (at most, about)


def _sql() -> Any:
    from pyspark.sql import functions as F  # noqa: N812 - the pyspark convention

    return F


# --- UDFs: the pandas path's own functions, vectorised ---------------------------------------
def _udfs(cfg: RiskConfig) -> dict[str, Any]:
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("double")  # type: ignore[call-overload]
    def recency_udf(age: pd.Series) -> pd.Series:
        return pd.Series(recency(age.to_numpy(dtype="float64"), cfg))

    @pandas_udf("double")  # type: ignore[call-overload]
    def damping_udf(k: pd.Series) -> pd.Series:
        return pd.Series(damping(k.to_numpy(dtype=np.int64), cfg))

    @pandas_udf("double")  # type: ignore[call-overload]
    def factor_udf(total: pd.Series) -> pd.Series:
        return pd.Series(network_factor(total.to_numpy(dtype="float64"), cfg))

    @pandas_udf("double")  # type: ignore[call-overload]
    def score_udf(raw: pd.Series) -> pd.Series:
        return pd.Series(score_of(raw.to_numpy(dtype="float64"), cfg))

    @pandas_udf("double")  # type: ignore[call-overload]
    def round4_udf(x: pd.Series) -> pd.Series:
        return pd.Series(np.round(x.to_numpy(dtype="float64"), 4))

    @pandas_udf("boolean")  # type: ignore[call-overload]
    def dereg_udf(status: pd.Series) -> pd.Series:
        return status.map(is_deregistered).astype(bool)

    ids = id_udfs()
    return {"recency": recency_udf, "damping": damping_udf, "factor": factor_udf,
            "score": score_udf, "round4": round4_udf, "dereg": dereg_udf,
            "id": ids.value_id, "relation": ids.relation_id}


def _kahan(values: Any) -> Any:
    """The sum of an array column in order, with the Kahan compensation of pandas'
    groupby-sum (bit-for-bit the same result)."""
    F = _sql()
    start = F.struct(F.lit(0.0).alias("s"), F.lit(0.0).alias("k"))

    def step(acc: Any, x: Any) -> Any:
        y = x - acc["k"]
        t = acc["s"] + y
        return F.struct(t.alias("s"), ((t - acc["s"]) - y).alias("k"))

    return F.aggregate(values, start, step, lambda acc: acc["s"])


def _in_order(values: Any) -> Any:
    """The plain sequential sum of an array column (what np.bincount adds in row order)."""
    F = _sql()
    return F.aggregate(values, F.lit(0.0), lambda acc, x: acc + x)


# --- reading --------------------------------------------------------------------------------
class _Run:
    """The run's tables as Spark DataFrames and the network derived from them."""

    def __init__(self, spark: Any, run_dir: Path, cfg: RiskConfig, scratch: Path) -> None:
        F = _sql()
        self.spark, self.cfg, self.udf = spark, cfg, _udfs(cfg)
        self.scratch, self.staged = scratch, 0

        def table(name: str, cols: tuple[str, ...]) -> Any:
            df = spark.read.parquet(str(run_dir / TABLES[name].file))
            have = set(df.columns)
            return df.select(*[F.col(c) if c in have else F.lit(None).cast("string").alias(c)
                               for c in cols])

        label = F.when(F.col("kind") == "enterprise", F.lit(ENTITY_LABEL_BY_KIND["enterprise"])
                       ).otherwise(F.lit(ENTITY_LABEL_BY_KIND["person"]))
        self.entities = table("entities", (
            "entity_id", "kind", "name", "status", "established", "n_mentions", "address_std",
            "phone")).withColumn("label", label)
        self.mentions = table("mentions", ("mention_id", "entity_id", "address_std", "phone"))
        self.relations = table("relations", ("relation_id", "type", "src", "dst"))
        # row order matters where pandas sums or breaks ties in table order
        self.events = table("events", (
            "event_id", "type", "entity_id", "date", "category", "amount", "source",
            "record_id", "subject_mention_id")).withColumn("row", F.monotonically_increasing_id())
        self.evidence = table("evidence", (
            "entity_id", "mention_id_l", "mention_id_r", "match_weight", "match_probability",
            "method", "features")).withColumn("row", F.monotonically_increasing_id())
        self.rels = self.stage(self._rels(), "rels")
        self.nodes = self.stage(self._nodes(), "nodes")

    def stage(self, df: Any, name: str) -> Any:
        """`df` written to the scratch folder and read back: computed once, and the plans
        built on it start here (a plan carrying every step before it grows past what the
        driver can analyse)."""
        self.staged += 1
        path = str(self.scratch / f"{self.staged:02d}-{name}")
        df.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path)

    def _rels(self) -> Any:
        """Every network relationship: id, type, src, dst, src_label, dst_label, w."""
        F, cfg = _sql(), self.cfg
        ent = self.entities.select("entity_id", "label")
        rel = self.relations.where(F.col("type").isin(list(ENTITY_REL_TYPES)))
        rel = (rel.join(ent.select(F.col("entity_id").alias("src"),
                                   F.col("label").alias("src_label")), "src")
               .join(ent.select(F.col("entity_id").alias("dst"),
                                F.col("label").alias("dst_label")), "dst")
               .select(F.col("relation_id").alias("id"), "type", "src", "dst", "src_label",
                       "dst_label"))
        parts = [rel]
        for rtype, column, dst_label in DERIVED:
            e = self.entities.where(F.col(column).isNotNull()).select(
                "entity_id", column, F.col("label").alias("src_label"))
            m = (self.mentions.where(F.col(column).isNotNull())
                 .groupBy("entity_id", column).agg(F.min("mention_id").alias("m")))
            d = e.join(m, ["entity_id", column], "left").select(
                F.col("entity_id").alias("src"), self.udf["id"][column](F.col(column)).alias("dst"),
                "src_label", F.coalesce("m", F.lit("")).alias("m"))
            parts.append(d.select(
                self.udf["relation"](F.lit(rtype), "src", "dst", "m").alias("id"),
                F.lit(rtype).alias("type"), "src", "dst", "src_label",
                F.lit(dst_label).alias("dst_label")))
        weight = F.create_map(*[x for k, v in cfg.rel_weights.items()
                                for x in (F.lit(k), F.lit(float(v)))])
        out = parts[0]
        for p in parts[1:]:
            out = out.unionByName(p)
        return out.withColumn("w", F.coalesce(weight[F.col("type")], F.lit(0.0)))

    def _nodes(self) -> Any:
        """Network nodes: node, label, is_entity, name, blocked, damp, violating-free."""
        F, cfg = _sql(), self.cfg
        white = list(cfg.hubs_whitelist)
        ends = self.rels.select(F.col("src").alias("node")).unionAll(
            self.rels.select(F.col("dst").alias("node")))
        degree = ends.groupBy("node").agg(F.count("*").alias("degree"))
        pairs = self.rels.select(F.least("src", "dst").alias("lo"),
                                 F.greatest("src", "dst").alias("hi")).distinct()
        tied = pairs.select(F.col("lo").alias("node")).unionAll(
            pairs.select(F.col("hi").alias("node")))
        neighbours = tied.groupBy("node").agg(F.count("*").alias("k"))
        named = [self.entities.select(F.col("entity_id").alias("node"), "label", "name",
                                      F.lit(False).alias("white"))]
        for _, column, label in DERIVED:
            values = self.entities.where(F.col(column).isNotNull()).select(column).distinct()
            node = self.udf["id"][column](F.col(column))
            named.append(values.select(
                node.alias("node"), F.lit(label).alias("label"), F.col(column).alias("name"),
                (node.isin(white) | F.col(column).isin(white)) if white else F.lit(False)))
        nodes = named[0]
        for n in named[1:]:
            nodes = nodes.unionByName(n.toDF("node", "label", "name", "white"))
        nodes = nodes.join(degree, "node", "left").join(neighbours, "node", "left").fillna(
            0, ["degree", "k"])
        return nodes.select(
            "node", "label", "name", F.col("label").isin("Enterprise", "Person").alias("entity"),
            "degree", (F.col("white") | (F.col("degree") > cfg.degree_cap)).alias("blocked"),
            self.udf["damping"](F.col("k")).alias("damp"))

    def ties(self) -> Any:
        """One row per tied pair: tie (its strongest relationship's ID), lo, hi, w, ids."""
        F = _sql()
        rel = self.rels.select(F.least("src", "dst").alias("lo"),
                               F.greatest("src", "dst").alias("hi"), "id", "w")
        grouped = rel.groupBy("lo", "hi").agg(F.sort_array(F.collect_list(
            F.struct((-F.col("w")).alias("nw"), F.col("id")))).alias("roles"))
        return grouped.select(F.col("roles")[0]["id"].alias("tie"), "lo", "hi",
                              (-F.col("roles")[0]["nw"]).alias("w"),
                              F.transform("roles", lambda r: r["id"]).alias("ids"))


# --- the rules ------------------------------------------------------------------------------
def _events(run: _Run) -> tuple[Any, date]:
    """Known events with their weight w (severity × recency) and the as-of date."""
    F, cfg = _sql(), run.cfg
    ev = run.events.join(run.entities.select("entity_id"), "entity_id", "left_semi")
    as_of = cfg.as_of
    if as_of is None:
        latest = ev.agg(F.max("date").alias("d")).first()["d"]  # one value
        as_of = latest or date.today()
    age = F.greatest(F.datediff(F.lit(as_of), F.col("date")), F.lit(0)).cast("double")
    age = F.coalesce(age, F.lit(cfg.half_life_days * 3))
    severity = F.create_map(*[x for k, v in cfg.severity.items()
                              for x in (F.lit(k), F.lit(float(v)))])
    sev = F.coalesce(severity[F.col("type")], F.lit(0.0))
    return ev.withColumn("w", sev * run.udf["recency"](age)), as_of


def _reason(df: Any, rule: Any, **cols: Any) -> Any:
    """A reasons frame: t, rule, c, nodes, steps, events, counterpart, routes, hub_n, hub_nv,
    key (nodes joined), and gk, sk (the position of the row in the pandas sum of raw risk)."""
    F = _sql()
    null = {"steps": F.array().cast("array<array<string>>"),
            "events": F.lit(None).cast("array<string>"),
            "counterpart": F.lit(None).cast("string"), "routes": F.lit(None).cast("long"),
            "hub_n": F.lit(None).cast("long"), "hub_nv": F.lit(None).cast("long"),
            "sk": F.lit("")}
    null.update(cols)
    return df.select(
        F.col("t"), F.lit(rule).alias("rule") if isinstance(rule, str) else rule.alias("rule"),
        F.col("c").cast("double").alias("c"), F.col("nodes"),
        *[null[k].alias(k) for k in ("steps", "events", "counterpart", "routes", "hub_n",
                                     "hub_nv")],
        F.concat_ws(" ", "nodes").alias("key"), null["gk"].alias("gk"), null["sk"].alias("sk"))


def _own(ev: Any) -> list[Any]:
    F = _sql()
    out = []
    for gk, (rule, black) in enumerate((("own_events", False), ("blacklisting", True))):
        part = ev.where((F.col("type") == "BLACKLISTING") == F.lit(black))
        agg = part.groupBy("entity_id").agg(F.sort_array(F.collect_list(
            F.struct("event_id", "w"))).alias("evs"))
        agg = agg.select(F.col("entity_id").alias("t"),
                         _kahan(F.transform("evs", lambda e: e["w"])).alias("c"),
                         F.array("entity_id").alias("nodes"),
                         F.transform("evs", lambda e: e["event_id"]).alias("ev_ids"))
        out.append(_reason(agg, rule, events=F.col("ev_ids"), gk=F.lit(gk)))
    return out


def _paths(run: _Run, ties: Any, direct: Any) -> Any:
    """The network reasons: per (entity t, counterpart v) the sum over routes, the strongest
    route (nodes from t outwards, ties per step) and how many routes."""
    F, cfg = _sql(), run.cfg
    attrs = run.nodes.select(F.col("node").alias("b"), F.col("entity").alias("b_entity"),
                             F.col("blocked").alias("b_blocked"), F.col("damp").alias("b_damp"))
    edges = (ties.select(F.col("lo").alias("a"), F.col("hi").alias("b"), "tie", "w")
             .unionAll(ties.select(F.col("hi").alias("a"), F.col("lo").alias("b"), "tie", "w"))
             .join(attrs, "b"))
    edges = run.stage(edges, "edges")
    frame = direct.where(F.col("d") > 0).select(F.col("node").alias("n0"), F.col("d").alias("c"),
                                                F.lit(False).alias("b_blocked"),
                                                F.lit(1.0).alias("b_damp"))
    hits = []
    for h in range(1, cfg.max_hops + 1):
        prev = f"n{h - 1}"
        if h > 1:  # the previous end becomes an inner node: must not be blocked
            frame = frame.where(~F.col("b_blocked")).withColumn("c", F.col("c") * F.col("b_damp"))
        frame = frame.drop("b_blocked", "b_damp")
        step = frame.join(edges.withColumnRenamed("a", prev), prev)
        step = (step.withColumn("c", F.col("c") * F.col("w") * F.lit(cfg.hop_decay))
                .withColumnRenamed("b", f"n{h}").withColumnRenamed("tie", f"e{h}").drop("w"))
        simple = F.lit(True)
        for k in range(h):
            simple = simple & (F.col(f"n{k}") != F.col(f"n{h}"))
        step = run.stage(step.where(simple & (F.col("c") >= F.lit(cfg.min_contribution))),
                         f"hop{h}")
        hits.append(step.where("b_entity").select(
            F.col(f"n{h}").alias("t"), F.col("n0").alias("v"), "c",
            F.lit(f"network_{h}").alias("rule"),
            F.array(*[F.col(f"n{k}") for k in range(h, -1, -1)]).alias("nodes"),
            F.array(*[F.col(f"e{k}") for k in range(h, 0, -1)]).alias("ties")))
        frame = step.drop("b_entity")
    routes = hits[0]
    for more in hits[1:]:
        routes = routes.unionByName(more)
    routes = routes.withColumn("key", F.concat_ws(" ", "nodes"))
    per = routes.groupBy("t", "v").agg(F.sort_array(F.collect_list(F.struct(
        (-F.col("c")).alias("nc"), "key", "c", "rule", "nodes", "ties"))).alias("r"))
    best = F.col("r")[0]
    out = per.select("t", "v", _kahan(F.transform("r", lambda x: x["c"])).alias("c"),
                     best["rule"].alias("rule"), best["nodes"].alias("nodes"),
                     best["ties"].alias("ties"), F.size("r").cast("long").alias("routes"))
    return _reason(out, F.col("rule"), counterpart=F.col("v"), routes=F.col("routes"),
                   steps=F.transform("ties", lambda x: F.array(x)), gk=F.lit(2),
                   sk=F.col("v"))


def _hubs(run: _Run, violating: Any) -> Any:
    F, cfg = _sql(), run.cfg
    parts = [run.rels.where((F.col("type") == rtype) & (F.col("src_label") == "Enterprise"))
             .select(F.col("src").alias("t"), F.col("dst").alias("hub"), F.col("id").alias("eid"),
                     F.concat(F.lit(str(i)), F.col("id")).alias("sk"))
             for i, (_, rtype) in enumerate(HUB_TIES)]
    m = parts[0].unionByName(parts[1]).join(violating, "t", "left").fillna(0.0, ["v"])
    stats = m.groupBy("hub").agg(F.count("*").alias("n"), F.sum("v").alias("nv"))
    hubs = run.nodes.select(F.col("node").alias("hub"), "blocked", "degree")
    m = m.join(stats, "hub").join(hubs, "hub")
    whitelisted = F.col("blocked") & (F.col("degree") <= cfg.degree_cap)
    m = m.where((F.col("n") >= cfg.hub_min_enterprises) & ~whitelisted)
    share = (F.col("nv") - F.col("v")) / (F.col("n") - 1)
    m = m.select("t", "hub", "eid", "sk", "n", (F.col("nv") - F.col("v")).alias("ov"),
                 (F.lit(cfg.hub_weight) * (F.lit(cfg.hub_base) + share)).alias("c"),
                 F.array("t", "hub").alias("nodes"))
    return _reason(m, "hub", steps=F.array(F.array("eid")), hub_n=F.col("n").cast("long"),
                   hub_nv=F.col("ov").cast("long"), gk=F.lit(3), sk=F.col("sk"))


def _phoenix(run: _Run, ev: Any) -> Any:
    F, cfg = _sql(), run.cfg
    ent = run.entities.where(F.col("label") == "Enterprise")
    dereg = ent.where(run.udf["dereg"](F.col("status"))).select(F.col("entity_id").alias("firm"))
    first = (ev.where(F.col("type").isin(list(PENALISING)) & F.col("date").isNotNull())
             .groupBy(F.col("entity_id").alias("firm")).agg(F.min("date").alias("first"))
             .join(dereg, "firm", "left_semi"))
    blocked = run.nodes.where("blocked").select(F.col("node").alias("via"))
    rows = None
    for i, (_, rtype) in enumerate(PHOENIX_TIES):
        f = run.rels.where(F.col("type") == rtype)
        if rtype in PHOENIX_TIE_AT_TARGET:
            f = f.where(F.col("src_label") == "Enterprise").select(
                F.col("src").alias("firm"), F.col("dst").alias("via"), "id")
        else:
            f = f.where(F.col("dst_label") == "Enterprise").select(
                F.col("dst").alias("firm"), F.col("src").alias("via"), "id")
        f = f.join(blocked, "via", "left_anti")
        pred = f.join(first, "firm").select(F.col("firm").alias("firm_p"), "via",
                                            F.col("id").alias("id_p"), "first")
        succ = f.select(F.col("firm").alias("firm_s"), "via", F.col("id").alias("id_s"))
        pairs = pred.join(succ, "via").where(F.col("firm_p") != F.col("firm_s"))
        pairs = pairs.withColumn("i", F.lit(i))
        rows = pairs if rows is None else rows.unionByName(pairs)
    assert rows is not None
    est = ent.select(F.col("entity_id").alias("firm_s"), F.col("established").alias("est"))
    p = rows.join(est, "firm_s").where(F.col("est").isNotNull() & (F.col("first") <= F.col("est")))
    p = p.groupBy("firm_s", "firm_p").agg(F.min(F.struct("via", "i", "id_p", "id_s")).alias("b"))
    p = p.select(F.col("firm_s").alias("t"), F.lit(cfg.phoenix_weight).alias("c"), "firm_p",
                 F.array("firm_s", F.col("b")["via"], "firm_p").alias("nodes"),
                 F.array(F.array(F.col("b")["id_s"]), F.array(F.col("b")["id_p"])).alias("s"))
    return _reason(p, "phoenix", steps=F.col("s"), gk=F.lit(4), sk=F.col("firm_p"))


def _controllers(run: _Run, violating: Any) -> Any:
    F, cfg = _sql(), run.cfg
    f = (run.rels.where(F.col("type").isin(list(CONTROLLER_TYPES))
                        & (F.col("dst_label") == "Enterprise"))
         .select(F.col("src").alias("t"), F.col("dst").alias("firm")).distinct()
         .join(violating.where(F.col("v") > 0).select(F.col("t").alias("firm")), "firm",
               "left_semi"))
    per = f.groupBy("t").agg(F.sort_array(F.collect_list("firm")).alias("firms"))
    per = per.where(F.size("firms") >= MIN_CONTROLLED_FIRMS).select(
        "t", (F.lit(cfg.controller_weight) * (F.size("firms") - 1)).alias("c"),
        F.concat(F.array("t"), F.col("firms")).alias("nodes"))
    return _reason(per, "shared_controller", gk=F.lit(5))


# --- scoring --------------------------------------------------------------------------------
def _scored(run: _Run, reasons: Any) -> tuple[Any, Any]:
    """(per entity: t, raw, score; the reasons with pts and their rank, top max_reasons)."""
    from pyspark.sql import Window

    F, cfg = _sql(), run.cfg
    if cfg.network_cap > 0:
        net = reasons.where(F.col("rule").startswith("network_")).groupBy("t").agg(
            F.sort_array(F.collect_list(F.struct("sk", "c"))).alias("x"))
        net = net.select("t", run.udf["factor"](
            _in_order(F.transform("x", lambda r: r["c"]))).alias("factor"))
        reasons = reasons.join(net, "t", "left").withColumn("c", F.when(
            F.col("rule").startswith("network_"), F.col("c") * F.col("factor"))
            .otherwise(F.col("c"))).drop("factor")
    reasons = run.stage(reasons, "reasons")
    raw = reasons.groupBy("t").agg(F.sort_array(F.collect_list(F.struct("gk", "sk", "c")))
                                   .alias("x"))
    raw = raw.select("t", _in_order(F.transform("x", lambda r: r["c"])).alias("raw"))
    raw = run.stage(raw.withColumn("score", run.udf["score"](F.col("raw"))), "raw")
    pts = F.col("c") * F.col("score") / F.greatest(F.col("raw"), F.lit(1e-12))
    ranked = reasons.join(raw, "t").withColumn("pts", pts).withColumn("rank", F.row_number().over(
        Window.partitionBy("t").orderBy(F.col("pts").desc(), F.col("key").asc())))
    return raw, ranked.where(F.col("rank") <= cfg.max_reasons).drop("raw", "score")


def _context(run: _Run, top: Any, ev: Any, ties: Any) -> Any:
    """What the explanations of each bucket need: g (the bucket), kind, key, payload (JSON)."""
    from pyspark.sql import Window

    F = _sql()
    parts = []

    def add(df: Any, kind: str, key: str, payload: Any) -> None:
        parts.append(df.select(F.col("bucket").alias("g"), F.lit(kind).alias("kind"),
                               F.col(key).alias("key"), F.to_json(payload).alias("payload")))

    violating = ev.select(F.col("entity_id").alias("node")).distinct().withColumn("v", F.lit(True))
    merged = run.entities.where(F.coalesce("n_mentions", F.lit(1)) > 1).select(
        F.col("entity_id").alias("node"))
    path = top.select("bucket", F.explode("nodes").alias("node")).distinct()
    nodes = path.join(run.nodes.select("node", "label", "name"), "node").join(
        violating, "node", "left")
    add(nodes, "node", "node", F.struct("label", "name", F.coalesce("v", F.lit(False))
                                        .alias("violating")))
    net = top.where(F.col("rule").startswith("network_"))
    tie_keys = net.select("bucket", F.explode("steps").alias("s")).select(
        "bucket", F.col("s")[0].alias("tie")).distinct().join(ties.select("tie", "ids"), "tie")
    add(tie_keys, "tie", "tie", F.struct("ids"))
    edge_ids = tie_keys.select("bucket", F.explode("ids").alias("id")).unionByName(
        top.where(~F.col("rule").startswith("network_")).select(
            "bucket", F.explode(F.flatten("steps")).alias("id"))).distinct()
    add(edge_ids.join(run.rels.select("id", "type", "src", "dst"), "id"), "rel", "id",
        F.struct("type", "src", "dst"))
    # the nodes whose events trigger a reason, and those events
    sources = top.select("bucket", F.when(F.col("rule").startswith("network_"),
                                          F.array(F.element_at("nodes", -1)))
                         .when(F.col("rule") == "phoenix", F.array(F.col("nodes")[2]))
                         .when(F.col("rule") == "shared_controller", F.slice("nodes", 2, 10**6))
                         .alias("src"))
    sources = sources.select("bucket", F.explode("src").alias("node")).distinct()
    by_node = ev.groupBy(F.col("entity_id").alias("node")).agg(F.sort_array(F.collect_list(
        F.struct("event_id", "type"))).alias("evs"))
    add(sources.join(by_node, "node"), "by_node", "node", F.struct("evs"))
    wanted = sources.join(ev.select(F.col("entity_id").alias("node"), "event_id"), "node").select(
        "bucket", "event_id").unionByName(
        top.select("bucket", F.explode("events").alias("event_id"))).distinct()
    events = wanted.join(run.events.drop("row"), "event_id")
    add(events, "event", "event_id", F.struct(*[c for c in run.events.columns if c != "row"]))
    owners = events.select("bucket", "entity_id").distinct()
    men = run.mentions.groupBy("entity_id").agg(F.collect_list("mention_id").alias("mentions"))
    evi = run.evidence.groupBy("entity_id").agg(F.sort_array(F.collect_list(F.struct(
        "row", "mention_id_l", "mention_id_r", "match_probability", "method", "features"))
    ).alias("evidence"))
    owner = owners.join(run.entities.select("entity_id", "n_mentions"), "entity_id", "left").join(
        men, "entity_id", "left").join(evi, "entity_id", "left")
    add(owner, "owner", "entity_id", F.struct("n_mentions", "mentions", "evidence"))
    on_path = path.join(merged, "node")
    ranked = run.evidence.withColumn("r", F.row_number().over(
        Window.partitionBy("entity_id").orderBy("mention_id_l", "mention_id_r")))
    few = ranked.where(F.col("r") <= MAX_EVIDENCE).groupBy(F.col("entity_id").alias("node")).agg(
        F.sort_array(F.collect_list(F.struct(
            "r", "mention_id_l", "mention_id_r", "method", "match_weight", "match_probability",
            "features"))).alias("rows"))
    add(on_path.join(few, "node"), "path_evidence", "node", F.struct("rows"))
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def _explain_group(top: pd.DataFrame, ctx: pd.DataFrame) -> pd.DataFrame:
    """The readable reasons of one bucket of entities (Explainer, as in risk.score)."""
    payload: dict[str, dict[str, Any]] = {}
    for kind, key, text in zip(ctx["kind"], ctx["key"], ctx["payload"], strict=True):
        payload.setdefault(str(kind), {})[str(key)] = json.loads(text)
    nodes, owner = payload.get("node", {}), payload.get("owner", {})
    explainer = Explainer(ExplainContext(
        names={k: node_name(v["label"], v.get("name"), k) for k, v in nodes.items()},
        rels={k: (v["type"], v["src"], v["dst"]) for k, v in payload.get("rel", {}).items()},
        events=payload.get("event", {}),
        n_mentions={k: (v.get("n_mentions") if v.get("n_mentions") is not None else 1)
                    for k, v in owner.items()},
        mentions={k: v.get("mentions") or [] for k, v in owner.items()},
        evidence={k: [{c: r.get(c) for c in r if c != "row"} for r in v.get("evidence") or []]
                  for k, v in owner.items()},
        violating={k for k, v in nodes.items() if v["violating"]},
    ))
    by_node = {k: [e["event_id"] for e in v["evs"]]
               for k, v in payload.get("by_node", {}).items()}
    types = {e["event_id"]: e["type"] for v in payload.get("by_node", {}).values()
             for e in v["evs"]}
    ties = {k: v["ids"] for k, v in payload.get("tie", {}).items()}
    evidence = {k: [evidence_item(r.get("mention_id_l"), r.get("mention_id_r"), r.get("method"),
                                  r.get("match_weight"), r.get("match_probability"),
                                  r.get("features")) for r in v["rows"]]
                for k, v in payload.get("path_evidence", {}).items()}
    texts: dict[str, list[dict[str, Any]]] = {}
    top = top.sort_values(["t", "rank"])
    for record in top.to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        rule, path = str(row["rule"]), [str(x) for x in row["nodes"]]
        steps = [list(s) for s in row["steps"]]
        if rule.startswith("network_"):
            steps = [list(ties[s[0]]) for s in steps]
            info: dict[str, Any] = {"counterpart": row["counterpart"],
                                    "routes": int(row["routes"])}
        elif rule == "hub":
            info = {"n": int(row["hub_n"]), "nv": int(row["hub_nv"])}
        else:
            info = {}
        events = None if row["events"] is None else [str(e) for e in row["events"]]
        reason = explainer.explain(rule, float(row["pts"]), path, steps,
                                   triggers(by_node, types, rule, path, events), info)
        reason["evidence"] = {x: evidence[x] for x in path if x in evidence}
        texts.setdefault(str(row["t"]), []).append(reason)
    return pd.DataFrame({"entity_id": list(texts), "reasons": [
        json.dumps(v, ensure_ascii=False, default=str) for v in texts.values()]})


# --- the command ----------------------------------------------------------------------------
def _write(frame: Any, run_dir: Path, scratch: Path) -> tuple[Path, dict[str, Any]]:
    """RUN/risk.parquet from Spark's sorted part files, streamed batch by batch; and the
    counts per level and the highest score (computed by Spark)."""
    F = _sql()
    frame.write.mode("overwrite").parquet(str(scratch / "parts"))
    parts = frame.sparkSession.read.parquet(str(scratch / "parts"))
    per_level = parts.groupBy("level").agg(F.count("*").alias("n"),
                                           F.max("score").alias("top")).collect()  # ≤ 3 rows
    schema = pa.schema([f for f in RISK_SCHEMA if f.name in frame.columns])
    tmp = scratch / "risk.parquet"
    join_parts(sorted((scratch / "parts").glob("part-*.parquet")), tmp, schema)
    target = run_dir / TABLES["risk"].file
    tmp.replace(target)
    tops = [r["top"] for r in per_level]
    return target, {"entities": sum(int(r["n"]) for r in per_level),
                    "levels": {k: next((int(r["n"]) for r in per_level if r["level"] == k), 0)
                               for k in ("low", "medium", "high")},
                    "max_score": float(max(tops)) if tops else float("nan")}


def score_frame(spark: Any, run_dir: Path, cfg: RiskConfig, run_id: str,
                scratch: Path) -> tuple[Any, date]:
    """Every Enterprise and Person: entity_id, score (rounded), level, reasons, run_id, as a
    Spark DataFrame sorted by entity; the as-of date. Intermediate tables are staged as
    Parquet under `scratch`."""
    F = _sql()
    run = _Run(spark, run_dir, cfg, scratch)
    ev, as_of = _events(run)
    ev = run.stage(ev, "events")
    direct = ev.groupBy(F.col("entity_id").alias("node")).agg(F.sort_array(F.collect_list(
        F.struct("row", "w"))).alias("x"))
    direct = direct.select("node", _in_order(F.transform("x", lambda r: r["w"])).alias("d"))
    violating = direct.select(F.col("node").alias("t"), F.lit(1.0).alias("v"))
    ties = run.stage(run.ties(), "ties")
    network = _paths(run, ties, direct)
    reasons = _own(ev)
    reasons += [network, _hubs(run, violating), _phoenix(run, ev), _controllers(run, violating)]
    allr = reasons[0]
    for r in reasons[1:]:
        allr = allr.unionByName(r)
    raw, top = _scored(run, allr)
    # a bucket of about BUCKET_ENTITIES entities per Python call, at least one per partition
    explained = top.select("t").distinct().count()
    buckets = max(int(spark.conf.get("spark.sql.shuffle.partitions")),
                  -(-explained // BUCKET_ENTITIES), 1)
    top = run.stage(top.withColumn("bucket", F.pmod(F.hash("t"), F.lit(buckets))), "top")
    ctx = _context(run, top, ev, ties)
    texts = top.groupBy("bucket").cogroup(ctx.groupBy("g")).applyInPandas(
        _explain_group, REASONS_SCHEMA)
    levels = F.when(F.col("s") >= cfg.levels.high, "high").when(
        F.col("s") >= cfg.levels.medium, "medium").otherwise("low")
    ent = run.entities.select("entity_id").join(
        raw.select(F.col("t").alias("entity_id"), F.col("score").alias("s")), "entity_id", "left")
    ent = ent.fillna(0.0, ["s"]).join(texts, "entity_id", "left")
    out = ent.select("entity_id", run.udf["round4"](F.col("s")).alias("score"),
                     levels.alias("level"), F.coalesce("reasons", F.lit("[]")).alias("reasons"),
                     F.lit(run_id).alias("run_id"))
    return out.orderBy("entity_id"), as_of


def spark_score_run(run_dir: Path | str, cfg: RiskConfig | None = None,
                    spark: Any = None) -> dict[str, Any]:
    """Score the run on Spark and write RUN/risk.parquet (rule columns) and RUN/learned.json
    (not computed on this engine); returns the summary `risk.score.score_run` returns."""
    from risk.learned_run import LEARNED_REPORT

    started = time.perf_counter()
    run_dir = Path(run_dir)
    report = check_run(run_dir)
    run_id = str(report.get("run_id") or run_dir.name)
    cfg = cfg or load_risk_config()
    if spark is None:
        from linkage.resolve.spark import spark_session

        # the Python workers of the UDFs run this interpreter (this venv's pandas, numpy)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        spark = spark_session()
    scratch = Path(tempfile.mkdtemp(prefix=".risk-spark-", dir=run_dir))
    try:
        frame, as_of = score_frame(spark, run_dir, cfg, run_id, scratch)
        _, stats = _write(frame, run_dir, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rule_seconds = time.perf_counter() - started
    note = ("not computed with --engine spark: the learned score's features and backtest "
            "read the whole run with pandas")
    learned = {"run_id": run_id, "shipped": False, "score": "rules", "note": note,
               "seconds": 0.0}
    (run_dir / LEARNED_REPORT).write_text(json.dumps(learned, ensure_ascii=False, indent=1)
                                          + "\n", encoding="utf-8")
    return {
        "run_id": run_id, "engine": "spark", "entities": stats["entities"],
        "as_of": as_of.isoformat(), "levels": stats["levels"],
        "seconds": round(time.perf_counter() - started, 2),
        "rule_seconds": round(rule_seconds, 2), "max_score": stats["max_score"],
        "learned": {k: learned.get(k) for k in
                    ("shipped", "rules_auc", "learned_auc", "note", "seconds")},
    }


def iter_reasons(path: Path) -> Iterator[tuple[str, float, str, str]]:
    """(entity_id, score, level, reasons) of a risk.parquet, batch by batch (tests, tools)."""
    for batch in pq.ParquetFile(path).iter_batches(columns=["entity_id", "score", "level",
                                                            "reasons"]):
        yield from zip(*(batch.column(i).to_pylist() for i in range(4)), strict=True)
