"""Resolution on Spark: the same clusters as `linkage.resolve.pipeline.resolve`, distributed.

Every mention carries a long index `i` (its input order). Per kind:

1. **Pre-clusters.** The exact-identifier links (mentions sharing a valid USCC / resident ID,
   a customs code, a registration number, a declared identifier; persons sharing one
   malformed ID number under one name as read) and `same` judgements are edges; their connected
   components (`components.py`) are cut into buckets, and each bucket is clustered by the
   pandas code of the DuckDB path (`ConstrainedUnionFind` with the cannot-link tags,
   `_exact_links`, `_malformed_id_links`) in one `applyInPandas` call: components never
   interact, so a bucket of whole components gives the same clusters as the whole table.
2. **Splink** on the distinct (pre-cluster, model columns) rows, a Spark DataFrame
   (`splink.py`); the accepted links are chosen in Spark (threshold, person support,
   enterprise name level, the ambiguity rule with window functions).
3. **Final clusters.** Components of the pre-cluster edges, the accepted Splink links and,
   for persons, every pair the context rules could join (persons of one name attached to one
   resolved enterprise; declarants of one name; ID holders and declarants sharing name and
   phone; a masked resident ID and every holder agreeing with its visible characters under
   its name, `_masked_graph`); each bucket replays the DuckDB path's order (judgements, exact
   identifiers, Splink links by decreasing weight, masked-ID links, context links, declarant
   links) with its pandas code.

Each Python call sees one bucket of whole components (bounded by `BUCKET_ROWS` mentions on
average, except a component larger than that, which is one call). Cluster labels are the
smallest `i` of the cluster.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from linkage.resolve.cluster import ConstrainedUnionFind, Link
from linkage.resolve.context import (
    LATIN_NAME,
    MIN_CORE_LATIN,
    MIN_CORE_NAME,
    MIN_LATIN_NAME,
    MIN_REGISTERED_NAME,
    MOBILE,
    anonymised_links,
    context_links,
    declarant_links,
    mobile_links,
    registered_name_links,
    short_name_links,
)
from linkage.resolve.health import model_health
from linkage.resolve.judgements import Judgement
from linkage.resolve.masked import masked_id_links
from linkage.resolve.models import KINDS, MODEL_COLUMNS, Kind
from linkage.resolve.pipeline import (
    AMBIGUITY_MARGIN,
    CONFLICT_IDS,
    ENTERPRISE_MIN_NAME_GAMMA,
    EXACT_IDS,
    PERMITS,
    PERSON_SUPPORT,
    ResolveOptions,
    _exact_links,
    _judgement_links,
    _malformed_id_links,
    _tag_identifiers,
    names_apart_count,
    with_derived_columns,
)
from linkage.resolve.sampling import SAMPLE_KEY
from linkage.spark.components import connected_components
from linkage.spark.frames import checkpoint, plain
from linkage.spark.splink import SparkScored, train_and_score

log = logging.getLogger(__name__)
BUCKET_ROWS = 20_000  # mentions per Python call, on average

# columns a bucket's pandas code reads (besides `i`)
LOCAL_COLUMNS = (
    "mention_id", "kind", "name_std", "name_pinyin", "uscc", "uscc_valid", "customs_code",
    "customs_code_valid", "reg_no", "reg_no_valid", "other_id", "id_number", "id_valid",
    "id_scheme", "id_masked", "name_read", "surname", "name", "phone", "name_region",
    "birth_date", "org_code", "name_key", "city",
)
EDGE_SCHEMA = ("comp long, type string, a long, b long, match_weight double, "
               "match_probability double, who string, at string")
OUT_SCHEMA = ("row string, a long, b long, method string, match_weight double, "
              "match_probability double, features string")
Progress = Callable[[str], None]


@dataclass
class SparkResolution:
    """Per mention `i` its cluster `label` (a Spark DataFrame `i`, `label`), the accepted
    links (`a`, `b`, `method`, `match_weight`, `match_probability`, `features`: Splink
    links' features filled from the predictions), the models, timings and stats."""

    labels: Any
    links: Any
    scored: dict[Kind, SparkScored]
    timings: dict[str, float]
    stats: dict[str, Any] = field(default_factory=dict)


# --- the pandas side: one bucket of whole components --------------------------------------------
def _judgements(edges: pd.DataFrame, ids: pd.Series) -> list[Judgement]:
    rows = edges[edges["type"].isin(["same", "different"])]
    by_i = dict(zip(ids.index, ids, strict=True))
    return [Judgement(by_i.get(int(a), f"?{a}"), by_i.get(int(b), f"?{b}"), t, str(who),
                      datetime.fromisoformat(str(at)))
            for t, a, b, who, at in zip(rows["type"], rows["a"], rows["b"], rows["who"],
                                        rows["at"], strict=True)]


def cluster_bucket(nodes: pd.DataFrame, edges: pd.DataFrame, kind: Kind,
                   final: bool = True) -> pd.DataFrame:
    """Cluster one bucket of whole components with the DuckDB path's pandas code; the
    pre-clusters (`final` False) stop after the identifier links, as the DuckDB path's do
    before Splink (a bucket holds many components: a rule past them would join across).

    `nodes`: the bucket's mentions of `kind` (`LOCAL_COLUMNS`, `i`) and, for the person
    context, the enterprise mentions they are attached to with their cluster (`ent_label`);
    `edges`: Splink links (`type` "splink", by decreasing weight), judgements ("same",
    "different"), person-enterprise attachments ("attach") and declarants ("declarant",
    `a` only), by global `i`. Returns label rows (`a` = i, `b` = label) and the accepted
    links (`a`, `b` global; Splink links without features)."""
    nodes = nodes.drop_duplicates("i").sort_values("i", kind="stable").reset_index(drop=True)
    n = len(nodes)
    at = pd.Series(np.arange(n), index=nodes["i"].to_numpy())
    own = nodes["kind"].to_numpy() == kind
    mine = nodes[own]
    uf = ConstrainedUnionFind(n)
    if "ent_label" in nodes.columns:  # the attached firms, as resolved already
        firms = nodes[nodes["ent_label"].notna()]
        for _, group in firms.groupby("ent_label", sort=False):
            first = int(group.index[0])
            for other in group.index[1:].tolist():
                uf.union(first, int(other), force=True)
    stats: dict[str, Any] = {}
    index_of = dict(zip(nodes["mention_id"].astype(str), range(n), strict=True))
    same = _judgement_links(uf, _judgements(edges, nodes.set_index("i")["mention_id"]),
                            index_of, stats)
    _tag_identifiers(uf, mine)
    accepted: list[Link] = uf.apply(same, force=True)
    offered: dict[str, int] = {}
    got: dict[str, int] = {}
    exact = uf.apply(_exact_links(mine, kind))
    if kind == "person":
        apart = names_apart_count(exact)
        offered["exact_id_names_apart"] = apart["offered"]
        got["exact_id_names_apart"] = apart["accepted"]
    accepted += exact
    if kind == "person":
        accepted += uf.apply(_malformed_id_links(mine))
    if not final:
        return _bucket_output(nodes, own, uf, accepted, offered, got)
    splink = edges[edges["type"] == "splink"].sort_values(
        ["match_weight", "a", "b"], ascending=[False, True, True], kind="stable")
    links = [Link(int(at[a]), int(at[b]), "splink", float(w), float(p), "")
             for a, b, w, p in zip(splink["a"], splink["b"], splink["match_weight"],
                                   splink["match_probability"], strict=True)]
    kept = uf.apply(links)
    offered["splink"], got["splink"] = len(links), len(kept)
    accepted += kept
    if kind == "enterprise":
        named = registered_name_links(mine, uf)
        kept = uf.apply(named, same_ids=True)
        offered["context_registered_name"] = len(named)
        got["context_registered_name"] = len(kept)
        accepted += kept
        short = short_name_links(mine, uf)
        kept = uf.apply(short, same_ids=True)
        offered["context_short_name"], got["context_short_name"] = len(short), len(kept)
        accepted += kept
    if kind == "person":
        masked = masked_id_links(nodes, uf)
        kept = uf.apply(masked, same_ids=True)
        offered["masked_id"], got["masked_id"] = len(masked), len(kept)
        accepted += kept
        phoned = mobile_links(nodes, uf)
        kept = uf.apply(phoned, same_ids=True)
        offered["context_mobile"], got["context_mobile"] = len(phoned), len(kept)
        accepted += kept
    attach = edges[edges["type"] == "attach"]
    if kind == "person" and len(attach):
        ids = nodes["mention_id"].astype(str).tolist()
        attached = pd.DataFrame({"person": at[attach["a"].to_numpy()].to_numpy(),
                                 "enterprise": at[attach["b"].to_numpy()].to_numpy()})
        ctx = context_links(nodes, attached.drop_duplicates(), uf, ids)
        kept = uf.apply(ctx, same_ids=True)
        offered["context"], got["context"] = len(ctx), len(kept)
        accepted += kept
        anonymised = anonymised_links(nodes, attached.drop_duplicates(), uf, ids)
        kept = uf.apply(anonymised, same_ids=True)
        offered["context_anonymised"] = len(anonymised)
        got["context_anonymised"] = len(kept)
        accepted += kept
    declarants = edges[edges["type"] == "declarant"]
    if kind == "person" and len(declarants):
        ids = nodes["mention_id"].astype(str).tolist()
        relations = pd.DataFrame({"type": "DECLARANT_FOR", "src_mention": nodes["mention_id"]
                                  .to_numpy()[at[declarants["a"].to_numpy()].to_numpy()]})
        decl = declarant_links(nodes, relations, uf, ids, index_of)
        kept = uf.apply(decl, same_ids=True)
        offered["context_declarant"], got["context_declarant"] = len(decl), len(kept)
        accepted += kept
    return _bucket_output(nodes, own, uf, accepted, offered, got)


def _bucket_output(nodes: pd.DataFrame, own: np.ndarray, uf: ConstrainedUnionFind,
                   accepted: Sequence[Link], offered: dict[str, int], got: dict[str, int]
                   ) -> pd.DataFrame:
    global_i = nodes["i"].to_numpy(dtype=np.int64)
    roots = np.asarray(uf.labels(), dtype=np.int64)
    smallest = pd.Series(global_i[own]).groupby(roots[own]).min()
    label_rows = pd.DataFrame({
        "row": "label", "a": global_i[own], "b": smallest.loc[roots[own]].to_numpy(),
        "method": None, "match_weight": np.nan, "match_probability": np.nan,
        "features": None})
    link_rows = pd.DataFrame({
        "row": "link",
        "a": np.asarray([global_i[lk.left] for lk in accepted], dtype=np.int64),
        "b": np.asarray([global_i[lk.right] for lk in accepted], dtype=np.int64),
        "method": [lk.method for lk in accepted],
        "match_weight": np.asarray([np.nan if lk.match_weight is None else lk.match_weight
                                    for lk in accepted], dtype=np.float64),
        "match_probability": np.asarray([lk.match_probability for lk in accepted],
                                        dtype=np.float64),
        "features": [lk.features or None for lk in accepted]})
    count_rows = pd.DataFrame({
        "row": "count", "a": [offered[k] for k in offered], "b": [got[k] for k in offered],
        "method": list(offered), "match_weight": np.nan, "match_probability": np.nan,
        "features": None})
    return plain(pd.concat([label_rows, link_rows, count_rows], ignore_index=True))


# --- the Spark side -----------------------------------------------------------------------------
def _valid(col: str, valid: str, columns: Sequence[str]) -> Any:
    from pyspark.sql import functions as F

    ok = F.col(col).isNotNull()
    if valid and valid in columns:
        ok = ok & F.coalesce(F.col(valid).cast("boolean"), F.lit(False))
    return ok


def _star_edges(frame: Any, keys: list[str], where: Any) -> Any:
    """Edges from the first mention (by mention ID) of each group of `keys` to the others:
    the graph of the DuckDB path's exact links."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(*keys).orderBy("mention_id", "i")
    sub = frame.where(where).select("i", "mention_id", *keys)
    firsts = sub.withColumn("first", F.first("i").over(w))
    return firsts.where(F.col("first") != F.col("i")).select(
        F.col("first").alias("src"), F.col("i").alias("dst"))


def exact_edges(mentions: Any, kind: Kind) -> Any:
    """The exact-identifier links of `kind` as edges (`src`, `dst`)."""
    from pyspark.sql import functions as F

    of_kind = mentions.where(F.col("kind") == kind)
    parts = [_star_edges(of_kind, [col], _valid(col, valid, of_kind.columns))
             for col, valid in EXACT_IDS[kind] if col in of_kind.columns]
    if kind == "person" and "id_scheme" in of_kind.columns:
        malformed = (F.col("id_number").isNotNull() & F.col("name_std").isNotNull()
                     & ~F.coalesce(F.col("id_valid").cast("boolean"), F.lit(False)))
        read = [F.col(c) for c in ("name_read", "name_pinyin") if c in of_kind.columns]
        keyed = of_kind.withColumn("scheme", F.coalesce("id_scheme", F.lit(""))).withColumn(
            "name_key", F.array_join(F.array_sort(F.split(F.regexp_replace(
                F.coalesce(*read, F.col("name_std")), r"\|", ""), "")), ""))  # letters_key
        parts.append(_star_edges(keyed, ["id_number", "scheme", "name_key"], malformed))
        # one permit number under a name in characters and in Latin letters
        # (`_romanised_permit_links`): in one bucket
        parts.append(_star_edges(keyed, ["id_number", "scheme"],
                                 malformed & F.col("scheme").isin(*PERMITS)))
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


def judgement_edges(spark: Any, mentions: Any, judgements: Sequence[Judgement]) -> Any:
    """Judgements as rows (`type`, `a`, `b`, `who`, `at`) by mention index (the file of
    human verdicts is small: it is read in the driver)."""
    from pyspark.sql import functions as F

    rows = [(j.judgement, j.mention_id_l, j.mention_id_r, j.who, j.when.isoformat())
            for j in judgements]
    frame = spark.createDataFrame(rows, "type string, l string, r string, who string, at string")
    ids = mentions.select("mention_id", "i")
    frame = frame.join(ids.withColumnRenamed("mention_id", "l").withColumnRenamed("i", "a"),
                       "l").join(ids.withColumnRenamed("mention_id", "r")
                                 .withColumnRenamed("i", "b"), "r")
    return frame.select("type", "a", "b", "who", "at").withColumn(
        "match_weight", F.lit(None).cast("double")).withColumn(
        "match_probability", F.lit(None).cast("double"))


def _n_buckets(n: int) -> int:
    return max(1, -(-n // BUCKET_ROWS))


def _cluster(spark: Any, kind: Kind, nodes: Any, graph: Any, rows: Any,
             final: bool = True) -> Any:
    """Cluster the components of `graph` (`src`, `dst`) bucket by bucket.

    `nodes`: mentions of `kind` (plus attached firms, keyed by `comp_i`: the person whose
    component they join); `rows`: edge rows (`EDGE_SCHEMA` without `comp`, keyed by `a`).
    Returns `OUT_SCHEMA` rows, checkpointed."""
    from pyspark.sql import functions as F

    comps = checkpoint(connected_components(graph))
    n_buckets = _n_buckets(comps.count())

    def bucket_of(key: str) -> Any:
        named = comps.select(F.col("node").alias(key), "component")
        return named, (F.abs(F.xxhash64("component")) % n_buckets)

    named, bucket = bucket_of("comp_i")
    local = nodes.join(named, "comp_i").withColumn("comp", bucket).drop("component", "comp_i")
    named, bucket = bucket_of("a")
    edges = rows.join(named, "a").withColumn("comp", bucket).drop("component")
    edge_cols = [c.split()[0] for c in EDGE_SCHEMA.split(", ")]
    edges = edges.select(*edge_cols)
    node_cols = local.columns

    def run(key: Any, left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
        del key
        return cluster_bucket(left[[c for c in node_cols if c != "comp"]], right, kind, final)

    out = local.groupBy("comp").cogroup(edges.groupBy("comp")).applyInPandas(run, OUT_SCHEMA)
    return checkpoint(out)


def _node_frame(mentions: Any, kind: Kind) -> Any:
    from pyspark.sql import functions as F

    cols = [F.col(c) if c in mentions.columns else F.lit(None).cast("string").alias(c)
            for c in LOCAL_COLUMNS]
    return mentions.where(F.col("kind") == kind).select("i", *cols,
                                                        F.col("i").alias("comp_i"))


def _edge_rows(spark: Any, judged: Any, splink: Any | None = None) -> Any:
    """Judgement rows (each keyed by both of its sides) and Splink links as edge rows."""
    from pyspark.sql import functions as F

    cols = ["type", "a", "b", "match_weight", "match_probability", "who", "at"]
    rows = judged.select(*cols).unionByName(
        judged.select("type", F.col("b").alias("a"), F.col("a").alias("b"),
                      "match_weight", "match_probability", "who", "at"))
    if splink is not None:
        rows = rows.unionByName(splink.select(
            F.lit("splink").alias("type"), "a", "b", "match_weight", "match_probability",
            F.lit(None).cast("string").alias("who"), F.lit(None).cast("string").alias("at")))
    return rows


def _of_kind(rows: Any, mentions: Any, kind: Kind) -> Any:
    from pyspark.sql import functions as F

    kinds = mentions.select(F.col("i").alias("a"), "kind")
    return rows.join(kinds, "a").where(F.col("kind") == kind).drop("kind")


def _labels(out: Any) -> Any:
    from pyspark.sql import functions as F

    return out.where(F.col("row") == "label").select(F.col("a").alias("i"),
                                                     F.col("b").alias("label"))


def _links(out: Any) -> Any:
    from pyspark.sql import functions as F

    return out.where(F.col("row") == "link").select(
        "a", "b", "method", "match_weight", "match_probability", "features")


def _counts(out: Any) -> dict[str, dict[str, int]]:
    from pyspark.sql import functions as F

    rows = out.where(F.col("row") == "count").groupBy("method").agg(
        F.sum("a").alias("offered"), F.sum("b").alias("accepted")).collect()
    return {r["method"]: {"offered": int(r["offered"]), "accepted": int(r["accepted"])}
            for r in rows}


def _with_pc(mentions: Any, labels: Any) -> Any:
    from pyspark.sql import functions as F

    got = mentions.join(labels, "i", "left")
    return got.withColumn("pc", F.coalesce(F.col("label"), F.col("i"))).drop("label")


def splink_table(mentions: Any, kind: Kind) -> Any:
    """One row per distinct (pre-cluster, model columns) of the kind's mentions: `rid` (the
    smallest `i` it stands for, which is also the mention its links join), `pc`, the smallest
    mention ID it stands for (`SAMPLE_KEY`), the model columns; as
    `linkage.resolve.pipeline.splink_table`."""
    from pyspark.sql import functions as F

    of_kind = mentions.where(F.col("kind") == kind)
    if kind == "person":
        evidence = [c for c in ("id_number", "phone", "birth_date", "address_std", "other_id")
                    if c in of_kind.columns]
        has = F.lit(False)
        for c in evidence:
            has = has | F.col(c).isNotNull()
        of_kind = of_kind.where(has)
        if "id_birth" in of_kind.columns:
            of_kind = of_kind.withColumn("birth_date", F.coalesce("birth_date", "id_birth"))
    cols = list(MODEL_COLUMNS[kind])
    if kind == "enterprise":
        of_kind = _derived(of_kind)
    select = [F.col("i"), F.col("pc"), F.col("mention_id")]
    for col in cols:
        if col not in of_kind.columns:
            select.append(F.lit(None).cast("string").alias(col))
        elif col in ("uscc_valid", "id_valid", "other_id_fuzzy"):
            select.append(F.coalesce(F.col(col).cast("boolean"), F.lit(False)).alias(col))
        else:
            text = F.trim(F.col(col).cast("string"))
            select.append(F.when(text != "", text).alias(col))
    frame = of_kind.select(*select)
    return frame.groupBy("pc", *cols).agg(F.min("i").alias("rid"),
                                          F.min("mention_id").alias(SAMPLE_KEY))


def _derived(of_kind: Any) -> Any:
    """Enterprise mentions with region, name as written and name keys, computed batch by
    batch by the DuckDB path's pandas code (`with_derived_columns`)."""
    from pyspark.sql import functions as F

    keep = ["i", "pc", "mention_id", *[c for c in of_kind.columns if c not in ("i", "pc")
                         and c in ("name", "name_std", "name_region", "city", *MODEL_COLUMNS[
                             "enterprise"])]]
    frame = of_kind.select(*[F.col(c) for c in keep])
    added = ("region", "name_full", "name_key", "name_key_pinyin")
    base = [f for f in frame.schema.fields if f.name not in added]
    schema = ", ".join([f"{f.name} {f.dataType.simpleString()}" for f in base]
                       + [f"{c} string" for c in added])

    def derive(batches: Any) -> Any:
        for batch in batches:
            out = with_derived_columns(batch, "enterprise")
            yield plain(out[[f.name for f in base] + list(added)])

    return frame.mapInPandas(derive, schema)


def accepted_splink_links(kind: Kind, scored: SparkScored, table: Any, mentions: Any,
                          threshold: float) -> Any:
    """The Splink links offered to clustering (`a`, `b`, `match_weight`,
    `match_probability`, `rid_l`, `rid_r`), as `pipeline._splink_links`: threshold, person
    support, enterprise name level, then the ambiguity rule."""
    from pyspark.sql import functions as F

    pred = scored.predictions
    ok = F.col("match_probability") >= threshold
    if kind == "person":
        support = F.lit(False)
        for name, lowest in PERSON_SUPPORT:
            if f"gamma_{name}" in pred.columns:
                support = support | (F.col(f"gamma_{name}") >= lowest)
        ok = ok & support
    elif "gamma_name" in pred.columns:
        ok = ok & (F.col("gamma_name") >= ENTERPRISE_MIN_NAME_GAMMA)
    chosen = pred.where(ok).select("rid_l", "rid_r", "match_weight", "match_probability")
    # the pre-cluster's valid primary identifier, where it has one, on both sides of a pair
    column, valid = CONFLICT_IDS[kind][0]
    of_kind = mentions.where((F.col("kind") == kind) & _valid(column, valid, mentions.columns))
    anchors = of_kind.groupBy("pc").agg(F.min(column).alias("anchor"))
    anchor_of = table.select("rid", "pc").join(anchors, "pc").select("rid", "anchor")
    tagged = chosen.join(anchor_of.select(F.col("rid").alias("rid_l"),
                                          F.col("anchor").alias("anchor_l")), "rid_l", "left")
    tagged = tagged.join(anchor_of.select(F.col("rid").alias("rid_r"),
                                          F.col("anchor").alias("anchor_r")), "rid_r", "left")
    # a record without one, linked to records of different identifiers
    cand = tagged.where(F.col("anchor_l").isNull() & F.col("anchor_r").isNotNull()).select(
        F.col("rid_l").alias("me"), F.col("anchor_r").alias("other_anchor"), "match_weight"
    ).unionByName(tagged.where(F.col("anchor_r").isNull() & F.col("anchor_l").isNotNull()).select(
        F.col("rid_r").alias("me"), F.col("anchor_l").alias("other_anchor"), "match_weight"))
    best = cand.groupBy("me", "other_anchor").agg(F.max("match_weight").alias("w"))
    # per record, its best weight per identifier from the strongest down (a few values)
    weights = best.groupBy("me").agg(F.sort_array(F.collect_list("w"), asc=False).alias("ws"))
    ambiguous = weights.where((F.size("ws") >= 2)
                              & (F.col("ws")[0] - F.col("ws")[1] < AMBIGUITY_MARGIN)).select("me")
    # such a record's links to identifier holders are dropped (its other links stay)
    flagged = tagged.join(ambiguous.select(F.col("me").alias("rid_l"),
                                           F.lit(True).alias("amb_l")), "rid_l", "left")
    flagged = flagged.join(ambiguous.select(F.col("me").alias("rid_r"),
                                            F.lit(True).alias("amb_r")), "rid_r", "left")
    drop = ((F.col("amb_l") & F.col("anchor_l").isNull() & F.col("anchor_r").isNotNull())
            | (F.col("amb_r") & F.col("anchor_r").isNull() & F.col("anchor_l").isNotNull()))
    chosen = flagged.where(~F.coalesce(drop, F.lit(False)))
    if kind == "enterprise" and "name_key" in table.columns:
        chosen = _drop_name_shared(chosen, table, anchors)
    return chosen.select(F.col("rid_l").alias("a"), F.col("rid_r").alias("b"), "match_weight",
                         "match_probability", "rid_l", "rid_r")


def _drop_name_shared(chosen: Any, table: Any, anchors: Any) -> Any:
    """`pipeline._drop_name_shared` in Spark: a record naming no region and holding no
    identifier whose name's core is that of firms holding different identifiers in two regions
    or more keeps only its links to such records."""
    from pyspark.sql import functions as F

    rows = table.select("rid", "pc", "name_key", "region").join(anchors, "pc", "left")
    held = rows.where(F.col("anchor").isNotNull() & F.col("region").isNotNull()
                      & F.col("name_key").isNotNull())
    shared = held.groupBy("name_key").agg(F.countDistinct("anchor").alias("firms"),
                                          F.countDistinct("region").alias("regions")).where(
        (F.col("firms") >= 2) & (F.col("regions") >= 2)).select("name_key")
    flagged = rows.where(F.col("anchor").isNull() & F.col("region").isNull()).join(
        shared, "name_key").select("rid")
    out = chosen.join(flagged.select(F.col("rid").alias("rid_l"),
                                     F.lit(True).alias("shared_l")), "rid_l", "left")
    out = out.join(flagged.select(F.col("rid").alias("rid_r"),
                                  F.lit(True).alias("shared_r")), "rid_r", "left")
    return out.where(F.coalesce(F.col("shared_l"), F.lit(False))
                     == F.coalesce(F.col("shared_r"), F.lit(False)))


def _context_graph(mentions: Any, attach: Any, declarants: Any) -> Any:
    """Edges between persons that the context rules could join: one name as read
    (`linkage.resolve.context.name_key`: in either order, else the pinyin, else the
    standardised name) at one resolved enterprise; declarants of one name; ID holders and
    declarants of one name and phone."""
    from pyspark.sql import functions as F

    read = [F.col(c) for c in ("name_read", "name_pinyin") if c in mentions.columns]
    key = F.coalesce(*read, F.col("name_std"))
    persons = mentions.where(F.col("kind") == "person").select(
        "i", "mention_id", key.alias("name_key"), "name_std", "phone",
        "id_number", "other_id", "id_valid")
    by_firm = attach.join(persons.withColumnRenamed("i", "a"), "a").where(
        F.col("name_key").isNotNull()).select(F.col("a").alias("i"), "mention_id", "name_key",
                                              "name_std", "ent_label")
    # by the name as read and, for `context_links`' first pass, as written (a Latin name two
    # records write alike may be read apart)
    edges = _star_edges(by_firm, ["ent_label", "name_key"], F.lit(True)).unionByName(
        _star_edges(by_firm, ["ent_label", "name_std"], F.lit(True)))
    if "surname" in mentions.columns:  # anonymised names: every person of the surname there
        of_surname = attach.join(mentions.where(F.col("kind") == "person").select(
            F.col("i").alias("a"), "mention_id", "surname"), "a").where(
            F.col("surname").isNotNull()).select(F.col("a").alias("i"), "mention_id",
                                                 "surname", "ent_label")
        edges = edges.unionByName(_star_edges(of_surname, ["ent_label", "surname"],
                                              F.lit(True)))
    decl = declarants.join(persons.withColumnRenamed("i", "a"), "a").where(
        F.col("name_key").isNotNull()).select(F.col("a").alias("i"), "mention_id", "name_key",
                                              "phone")
    edges = edges.unionByName(_star_edges(decl, ["name_key"], F.lit(True)))
    holds = (F.coalesce(F.col("id_valid").cast("boolean"), F.lit(False))
             | F.col("id_number").isNotNull() | F.col("other_id").isNotNull())
    holders = persons.where(holds & F.col("phone").isNotNull() & F.col("name_key").isNotNull())
    phoned = holders.select("i", "mention_id", "name_key", "phone").unionByName(
        decl.where(F.col("phone").isNotNull()))
    edges = edges.unionByName(_star_edges(phoned, ["name_key", "phone"], F.lit(True)))
    # persons of one name and mobile (`context.mobile_links`): by the name as written too,
    # which a name as read does not always group (a pinyin read one way, characters another)
    mobile = persons.where(F.col("phone").rlike(MOBILE))
    for name in ("name_key", "name_std"):
        edges = edges.unionByName(_star_edges(mobile.where(F.col(name).isNotNull()),
                                              [name, "phone"], F.lit(True)))
    if "id_masked" in mentions.columns:
        edges = edges.unionByName(_masked_graph(mentions, key))
    return edges


# a holder's characters where a masked shape shows them (`identifiers.visible_part`)
_VISIBLE_SQL = ("array_join(transform(filter(sequence(1, 18), x -> substring(shape, x, 1) != "
                "'*'), x -> substring(id_number, x, 1)), '')")


def _masked_graph(mentions: Any, key: Any) -> Any:
    """Edges the masked-ID rule could join (`linkage.resolve.masked`): each masked mention
    and every holder of an 18-character ID agreeing with its visible characters under one
    name (as written, or as read); masked mentions of one masked value and written name."""
    from pyspark.sql import functions as F

    _VISIBLE = F.expr(_VISIBLE_SQL)
    persons = mentions.where((F.col("kind") == "person") & F.col("name_std").isNotNull()).select(
        "i", "mention_id", "name_std", key.alias("name_key"),
        "id_masked", "id_number")
    # a masked value's shape ('.' shown, '*' hidden) and its visible characters
    shape_part = (F.regexp_replace("id_masked", r"[^*]", ".").alias("shape"),
                  F.regexp_replace("id_masked", r"\*", "").alias("part"))
    masked = persons.where(F.col("id_masked").isNotNull()).select(
        "i", "mention_id", "name_std", "name_key", "id_masked", *shape_part)
    holders = persons.where(F.length("id_number") == 18).crossJoin(
        F.broadcast(masked.select("shape").distinct())).withColumn("part", _VISIBLE)
    edges = _star_edges(masked, ["id_masked", "name_std"], F.lit(True))
    for name in ("name_std", "name_key"):
        pairs = masked.select(F.col("i").alias("src"), "shape", "part", name).join(
            holders.select(F.col("i").alias("dst"), "shape", "part", name),
            ["shape", "part", name])
        edges = edges.unionByName(pairs.select("src", "dst"))
    if "surname" not in mentions.columns:
        return edges
    # anonymised names (a surname, no name_std): under the surname
    anonymous = mentions.where((F.col("kind") == "person") & F.col("name_std").isNull()
                               & F.col("surname").isNotNull() & F.col("id_masked").isNotNull()
                               ).select("i", "mention_id", "surname", "id_masked", *shape_part)
    held = mentions.where((F.col("kind") == "person") & F.col("name_std").isNotNull()
                          & (F.length("id_number") == 18)).select("i", "surname", "id_number")
    held = held.crossJoin(F.broadcast(anonymous.select("shape").distinct())).withColumn(
        "part", _VISIBLE)
    pairs = anonymous.select(F.col("i").alias("src"), "shape", "part", "surname").join(
        held.select(F.col("i").alias("dst"), "shape", "part", "surname"),
        ["shape", "part", "surname"])
    return edges.unionByName(pairs.select("src", "dst")).unionByName(
        _star_edges(anonymous, ["id_masked", "surname"], F.lit(True)))


def attachments(mentions: Any, relations: Any) -> Any:
    """(person `a`, enterprise `b`) pairs asserted by relations or row context, by index."""
    from pyspark.sql import functions as F

    ids = mentions.select("mention_id", "i", "kind")
    rel = relations.select("src_mention", "dst_mention")
    src = ids.select(F.col("mention_id").alias("src_mention"), F.col("i").alias("s"),
                     F.col("kind").alias("sk"))
    dst = ids.select(F.col("mention_id").alias("dst_mention"), F.col("i").alias("d"),
                     F.col("kind").alias("dk"))
    both = rel.join(src, "src_mention").join(dst, "dst_mention")
    pairs = both.where((F.col("sk") == "person") & (F.col("dk") == "enterprise")).select(
        F.col("s").alias("a"), F.col("d").alias("b")).unionByName(
        both.where((F.col("dk") == "person") & (F.col("sk") == "enterprise")).select(
            F.col("d").alias("a"), F.col("s").alias("b")))
    if "context_mentions" in mentions.columns:
        ctx = mentions.where(F.col("kind") == "person").select(
            F.col("i").alias("a"), F.explode("context_mentions").alias("other"))
        firms = ids.where(F.col("kind") == "enterprise").select(
            F.col("mention_id").alias("other"), F.col("i").alias("b"))
        pairs = pairs.unionByName(ctx.join(firms, "other").select("a", "b"))
    return pairs.distinct()


def resolve(spark: Any, mentions: Any, relations: Any, judgements: Sequence[Judgement],
            options: ResolveOptions, progress: Progress) -> SparkResolution:
    """Cluster the Spark DataFrame `mentions` (with the long index `i`) into entities."""
    from pyspark.sql import functions as F

    timings: dict[str, float] = {}
    stats: dict[str, Any] = {"pairs_compared": {}, "links": {}, "splink_rows": {}}
    judged = judgement_edges(spark, mentions, judgements).persist()
    labels: dict[Kind, Any] = {}
    links: list[Any] = []
    scored: dict[Kind, SparkScored] = {}
    pre: dict[Kind, Any] = {}
    for kind in KINDS:
        t = time.perf_counter()
        progress(f"{kind}: exact identifiers")
        rows = _of_kind(_edge_rows(spark, judged), mentions, kind)
        same = rows.where(F.col("type") == "same").select(F.col("a").alias("src"),
                                                          F.col("b").alias("dst"))
        pre[kind] = exact_edges(mentions, kind).unionByName(same).persist()
        out = _cluster(spark, kind, _node_frame(mentions, kind), pre[kind], rows, final=False)
        labels[kind] = _labels(out)
        timings[f"exact_ids_{kind}"] = time.perf_counter() - t
    with_pc = checkpoint(_with_pc(mentions, labels["enterprise"].unionByName(labels["person"])))
    for kind in KINDS:
        t = time.perf_counter()
        table = checkpoint(splink_table(with_pc, kind))
        stats["splink_rows"][kind] = table.count()
        progress(f"splink {kind}: training and scoring {stats['splink_rows'][kind]} records")
        splink = None
        if options.use_splink and table.select("pc").distinct().limit(2).count() >= 2:
            scored[kind] = train_and_score(kind, table)
            stats["pairs_compared"][kind] = scored[kind].pairs_compared
            splink = checkpoint(accepted_splink_links(kind, scored[kind], table, with_pc,
                                                      options.thresholds[kind]))
            stats.setdefault("splink_steps_s", {})[kind] = {
                k: round(v, 3) for k, v in scored[kind].timings.items()}
        else:
            stats["pairs_compared"][kind] = 0
        timings[f"splink_{kind}"] = time.perf_counter() - t
        t = time.perf_counter()
        progress(f"{kind}: clusters")
        rows = _of_kind(_edge_rows(spark, judged, splink), mentions, kind)
        graph = pre[kind]
        if splink is not None:
            graph = graph.unionByName(splink.select(F.col("a").alias("src"),
                                                    F.col("b").alias("dst")))
        nodes = _node_frame(mentions, kind)
        if kind == "enterprise":  # every firm of one full name, for registered_name_links
            graph = graph.unionByName(_registered_name_graph(mentions))
        if kind == "person":
            ent = labels["enterprise"]
            attach = attachments(mentions, relations).join(
                ent.select(F.col("i").alias("b"), F.col("label").alias("ent_label")), "b")
            declarants = _declarants(mentions, relations) if options.declarant_scope else \
                spark.createDataFrame([], "a long")
            graph = graph.unionByName(_context_graph(mentions, attach, declarants))
            rows = rows.unionByName(attach.select(
                F.lit("attach").alias("type"), "a", "b", *_no_scores())).unionByName(
                declarants.select(F.lit("declarant").alias("type"), "a",
                                  F.lit(None).cast("long").alias("b"), *_no_scores()))
            firms = mentions.select("i", *[F.col(c) if c in mentions.columns else
                                           F.lit(None).cast("string").alias(c)
                                           for c in LOCAL_COLUMNS])
            firm_nodes = attach.select(F.col("a").alias("comp_i"), F.col("b").alias("i"),
                                       "ent_label").join(firms, "i")
            nodes = nodes.withColumn("ent_label", F.lit(None).cast("long")).unionByName(
                firm_nodes)
        out = _cluster(spark, kind, nodes, graph, rows)
        labels[kind] = _labels(out)
        links.append(_links(out))
        for name, counted in _counts(out).items():
            key = f"{name}_{kind}" if name == "splink" else name
            stats["links"][key] = counted
        if kind in scored:
            counted = stats["links"].get(f"splink_{kind}", {"offered": 0, "accepted": 0})
            stats.setdefault("model_health", {})[kind] = model_health(
                kind, stats["splink_rows"][kind], scored[kind], counted["offered"],
                counted["accepted"])
        timings[f"cluster_{kind}"] = time.perf_counter() - t
    every = mentions.select("i").join(labels["enterprise"].unionByName(labels["person"]),
                                      "i", "left")
    every = every.select("i", F.coalesce("label", "i").alias("label"))
    accepted = links[0].unionByName(links[1])
    return SparkResolution(every, accepted, scored, timings, stats)


def _registered_name_graph(mentions: Any) -> Any:
    """Edges joining the enterprise mentions of one full name (`registered_name_links`, its
    key as `full_name_keys` builds it)."""
    from pyspark.sql import functions as F

    std, region = F.col("name_std"), F.col("name_region")
    key = (F.when(region.isNotNull() & std.isNotNull()
                  & (F.length(std) >= MIN_REGISTERED_NAME), F.concat(region, F.lit("/"), std))
           .when(region.isNull() & std.isNotNull() & (F.length(std) >= MIN_LATIN_NAME)
                 & std.rlike(LATIN_NAME), F.concat(F.lit("/"), std)))
    firms = mentions.where(F.col("kind") == "enterprise").withColumn("full_name", key)
    core = F.col("name_key")
    short = (core.isNotNull() & ~core.startswith("#")
             & (F.length(core) >= F.when(core.rlike(LATIN_NAME), MIN_CORE_LATIN)
                .otherwise(MIN_CORE_NAME)))
    return _star_edges(firms, ["full_name"], F.col("full_name").isNotNull()).unionByName(
        _star_edges(firms, ["name_key"], short))  # and of one core name, `short_name_links`


def _no_scores() -> list[Any]:
    from pyspark.sql import functions as F

    return [F.lit(None).cast("double").alias("match_weight"),
            F.lit(None).cast("double").alias("match_probability"),
            F.lit(None).cast("string").alias("who"), F.lit(None).cast("string").alias("at")]


def _declarants(mentions: Any, relations: Any) -> Any:
    from pyspark.sql import functions as F

    src = relations.where(F.col("type") == "DECLARANT_FOR").select(
        F.col("src_mention").alias("mention_id"))
    return src.join(mentions.select("mention_id", F.col("i").alias("a")), "mention_id").select(
        "a").distinct()
