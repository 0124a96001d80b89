"""The explainable risk score of every enterprise and person, computed once after a load.

`score_run(run_dir)` reads the run tables, computes the scores with vectorised pandas (no
all-pairs, no per-entity graph walk) and writes `RUN/risk.parquet`
(`entity_id, score, level, reasons, run_id`); lookups only read that file.

Raw risk of an entity x (weights in risk/risk.yaml, see risk/config.py):
- own_events / blacklisting: Σ severity[type] · 0.5^(age_days / half_life_days) over x's events
  (age against `as_of`, default the latest event date of the run). D(x) = that sum.
- network: the relationships between one pair of nodes form one *tie* (a person who is legal
  representative, shareholder and director of a firm is tied to it once), weighing as its
  strongest role. For every simple route x = n_h … n_0 = v of h ≤ max_hops ties to another
  entity v with D(v) > 0, whose inner nodes are not blocked (degree cap, hubs whitelist):
  D(v) · Π tie_weight · hop_decay^h · Π_inner (k(u) − 1)^(−degree_damping), k(u) = the number
  of nodes u is tied to. Routes contributing less than `min_contribution` are pruned. Each
  counterpart v gives ONE reason (rule network_h of its strongest route): the sum over its
  distinct routes (distinct node sequences), with `routes` saying how many.
  With `network_cap` > 0 the network total N becomes network_cap · (1 − exp(−N / network_cap))
  (diminishing returns).
- hub: x is an enterprise at an address / phone tied to ≥ hub_min_enterprises enterprises
  (not whitelisted): hub_weight · (hub_base + share of the *other* enterprises there that violate).
- phoenix: x is the successor of a phoenix pair.
- shared_controller: x controls k ≥ 2 violating enterprises: controller_weight · (k − 1).
The hub, phoenix and controller rules mean what the catalogue's `hubs`, `phoenix_firms` and
`shared_controllers` mean (`graph.catalogue` declares them once; tests/risk/test_risk_rules.py
holds them equal to the catalogue's answers).

score = 100 · (1 − exp(−raw / scale)); level by `levels`. Each reason's `contribution` is in
score points (its share of raw × score), so the listed reasons sum to at most the score; the top
`max_reasons` reasons are kept, largest first. Each reason carries its path (node and
relationship IDs, from x outwards), its event IDs and, for every entity on the path merged from
several mentions, up to MAX_EVIDENCE linkage evidence rows from evidence.parquet; the readable
parts (Chinese rule name and texts, named nodes, steps in their real direction, triggering
events with the merge that attached each) are written by `risk.explain`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graph.catalogue import (
    CONTROLLER_TYPES,
    HUB_TIES,
    MIN_CONTROLLED_FIRMS,
    PENALISING,
    PHOENIX_TIE_AT_TARGET,
    PHOENIX_TIES,
    is_deregistered,
)
from graph.schema import NETWORK_TYPES
from graph.tables import RunTables, load_run
from risk.config import RiskConfig, load_risk_config
from risk.explain import Explainer
from runfolder.folder import write_table

MAX_EVIDENCE = 3


# --- the numbers both engines compute with numpy (risk.spark_score calls these in its UDFs,
# so the Spark path's floats are bit-for-bit the pandas path's) ---------------------------------
def recency(age_days: np.ndarray, cfg: RiskConfig) -> np.ndarray:
    """An event's weight factor at an age in days: 0.5^(age / half_life_days)."""
    return np.power(0.5, np.asarray(age_days, dtype="float64") / cfg.half_life_days)


def damping(neighbours: np.ndarray, cfg: RiskConfig) -> np.ndarray:
    """The factor of an inner node tied to k nodes: (k − 1)^(−degree_damping), k − 1 ≥ 1."""
    k = np.maximum(np.asarray(neighbours, dtype=np.int64) - 1, 1).astype(float)
    return np.power(k, -cfg.degree_damping)


def network_factor(total: np.ndarray, cfg: RiskConfig) -> np.ndarray:
    """What multiplies each network contribution of an entity whose network total is
    `total`: cap · (1 − exp(−total / cap)) / total (1 where total is 0)."""
    total = np.asarray(total, dtype="float64")
    capped = cfg.network_cap * (1.0 - np.exp(-total / cfg.network_cap))
    return np.divide(capped, total, out=np.ones(len(total)), where=total > 0)


def score_of(raw: np.ndarray, cfg: RiskConfig) -> np.ndarray:
    """The score of a raw risk: 100 · (1 − exp(−raw / scale)) (unrounded)."""
    return 100.0 * (1.0 - np.exp(-np.asarray(raw, dtype="float64") / cfg.scale))


@dataclass
class _Graph:
    """Integer-coded network: node IDs, labels, undirected tie list, degrees, blocked mask.

    A *tie* is every network relationship between one pair of nodes (a person who is legal
    representative, shareholder and director of a firm is one tie with three roles); it is
    walked once, with the weight of its strongest role. The relationship IDs of tie k are
    `rel_ids[tie_starts[k]:tie_starts[k + 1]]`, strongest role first."""

    ids: np.ndarray
    code: dict[str, int]
    is_entity: np.ndarray
    edges: pd.DataFrame  # a, b, tie (int), w — both directions, one row per tie and direction
    rel_ids: np.ndarray  # relationship IDs grouped by tie, strongest role first
    tie_starts: np.ndarray  # where each tie's relationships start in rel_ids (and the end)
    degree: np.ndarray  # relationships (what the stores' degree cap counts)
    neighbours: np.ndarray  # distinct tied nodes (what the damping counts)
    blocked: np.ndarray


def _graph(t: RunTables, cfg: RiskConfig) -> _Graph:
    """The run's integer-coded network, built once per run tables and walk settings (the
    rule score, its indicators and the learned score's features share it; read-only)."""
    key = "risk_graph:" + json.dumps([cfg.degree_cap, sorted(cfg.hubs_whitelist),
                                      sorted(cfg.rel_weights.items())])
    if key not in t._cache:
        t._cache[key] = _build_graph(t, cfg)
    graph: _Graph = t._cache[key]
    return graph


def _build_graph(t: RunTables, cfg: RiskConfig) -> _Graph:
    frames = t.node_frames
    labels = [(label, f["id"].to_numpy(dtype=object)) for label, f in frames.items()]
    ids = np.concatenate([ids for _, ids in labels])
    is_entity = np.concatenate(
        [np.full(len(i), label in ("Enterprise", "Person")) for label, i in labels]
    )
    code = {n: i for i, n in enumerate(ids.tolist())}
    rel = pd.concat(
        [t.rel_frames[r][["id", "src", "dst"]].assign(type=r) for r in NETWORK_TYPES],
        ignore_index=True,
    )
    index = pd.Index(ids)  # hash look-ups (a string column's isin over dict keys is slow)
    a_all = index.get_indexer(rel["src"].to_numpy(dtype=object))
    b_all = index.get_indexer(rel["dst"].to_numpy(dtype=object))
    both = (a_all >= 0) & (b_all >= 0)
    rel = rel[both]
    a, b = a_all[both].astype(np.int64), b_all[both].astype(np.int64)
    rel = rel.assign(lo=np.minimum(a, b), hi=np.maximum(a, b),
                     w=rel["type"].map(cfg.rel_weights).astype("float64").fillna(0.0))
    rel = rel.sort_values(["lo", "hi", "w", "id"], ascending=[True, True, False, True],
                          ignore_index=True)
    lo_all, hi_all = rel["lo"].to_numpy(dtype=np.int64), rel["hi"].to_numpy(dtype=np.int64)
    new_pair = np.ones(len(rel), dtype=bool)
    new_pair[1:] = (lo_all[1:] != lo_all[:-1]) | (hi_all[1:] != hi_all[:-1])
    starts = np.flatnonzero(new_pair)  # the strongest role of each tie comes first
    lo, hi = lo_all[starts], hi_all[starts]
    tie = np.arange(len(starts), dtype=np.int64)
    w = rel["w"].to_numpy(dtype=float)[starts]
    edges = pd.DataFrame({
        "a": np.concatenate([lo, hi]), "b": np.concatenate([hi, lo]),
        "tie": np.concatenate([tie, tie]), "w": np.concatenate([w, w]),
    })
    degree = np.bincount(np.concatenate([a, b]), minlength=len(ids))
    neighbours = np.bincount(edges["a"].to_numpy(), minlength=len(ids))
    white = set(cfg.hubs_whitelist)
    blocked = degree > cfg.degree_cap
    for label, col in (("Address", "address_std"), ("Phone", "phone")):
        f = frames[label]
        hit = f["id"].isin(white) | f[col].isin(white)
        for node in f.loc[hit, "id"]:
            blocked[code[node]] = True
    return _Graph(ids, code, is_entity, edges, rel["id"].to_numpy(dtype=object),
                  np.append(starts, len(rel)), degree, neighbours, blocked)


def _direct(t: RunTables, cfg: RiskConfig, g: _Graph) -> tuple[pd.DataFrame, date]:
    """Per event: entity code, event_id, type, weight (severity × recency)."""
    known = pd.Index(g.ids).get_indexer(t.events["entity_id"].to_numpy(dtype=object)) >= 0
    ev = t.events[known].copy()
    dates = pd.to_datetime(ev["date"])
    as_of = cfg.as_of or (dates.max().date() if len(ev) and dates.notna().any() else date.today())
    age = (pd.Timestamp(as_of) - dates).dt.days.clip(lower=0).fillna(cfg.half_life_days * 3)
    severity = ev["type"].map(cfg.severity).astype("float64").fillna(0.0).to_numpy()
    ev["w"] = severity * recency(age.astype("float64").to_numpy(), cfg)
    ev["n"] = ev["entity_id"].map(g.code).astype("int64")
    return ev[["n", "event_id", "type", "date", "w"]], as_of


def _paths(g: _Graph, direct: np.ndarray, cfg: RiskConfig) -> list[pd.DataFrame]:
    """Network contributions per hop: columns t (target code), c, n0.., e1.. (source first;
    e = tie codes)."""
    out: list[pd.DataFrame] = []
    edges = g.edges[["a", "b", "tie", "w"]]
    damp = damping(g.neighbours, cfg)
    src = np.flatnonzero(direct > 0)
    frame = pd.DataFrame({"n0": src, "c": direct[src]})
    for h in range(1, cfg.max_hops + 1):
        prev = f"n{h - 1}"
        if h > 1:  # the previous end becomes an inner node: must not be blocked
            ok = ~g.blocked[frame[prev].to_numpy()]
            frame = frame[ok]
            frame = frame.assign(c=frame["c"].to_numpy() * damp[frame[prev].to_numpy()])
        step = frame.merge(edges, left_on=prev, right_on="a", how="inner")
        step = step.rename(columns={"b": f"n{h}", "tie": f"e{h}"}).drop(columns=["a"])
        step["c"] = step["c"] * step["w"] * cfg.hop_decay
        step = step.drop(columns=["w"])
        end = step[f"n{h}"].to_numpy()
        simple = np.ones(len(step), dtype=bool)
        for k in range(h):
            simple &= step[f"n{k}"].to_numpy() != end
        step = step[simple & (step["c"].to_numpy() >= cfg.min_contribution)]
        hits = step[g.is_entity[step[f"n{h}"].to_numpy()]]
        out.append(hits.assign(t=hits[f"n{h}"]))
        frame = step
        if frame.empty:
            break
    return out


def _hubs(t: RunTables, g: _Graph, violating: np.ndarray, cfg: RiskConfig) -> pd.DataFrame:
    """Columns t, c, hub (code), eid, n (enterprises there), others_violating, for
    enterprises at non-whitelisted hubs."""
    parts = []
    for _, rtype in HUB_TIES:
        f = t.rel_frames[rtype]
        f = f[f["src_label"] == "Enterprise"]
        parts.append(pd.DataFrame({
            "t": f["src"].map(g.code), "hub": f["dst"].map(g.code), "eid": f["id"],
        }))
    m = pd.concat(parts, ignore_index=True).dropna()
    m = m.astype({"t": np.int64, "hub": np.int64})
    m["v"] = violating[m["t"].to_numpy()].astype(float)
    stats = m.groupby("hub").agg(n=("t", "size"), nv=("v", "sum"))
    m = m.join(stats, on="hub")
    whitelisted = g.blocked[m["hub"].to_numpy()] & (g.degree[m["hub"].to_numpy()] <= cfg.degree_cap)
    m = m[(m["n"] >= cfg.hub_min_enterprises) & ~whitelisted]
    share = (m["nv"] - m["v"]) / (m["n"] - 1)
    return m.assign(c=cfg.hub_weight * (cfg.hub_base + share),
                    others_violating=m["nv"] - m["v"])[
        ["t", "c", "hub", "eid", "n", "others_violating"]]


def _phoenix(t: RunTables, g: _Graph, ev: pd.DataFrame, cfg: RiskConfig) -> pd.DataFrame:
    """Columns t (successor), c, via, pred, e_pred, e_succ (the catalogue's phoenix pairs)."""
    ent = t.node_frames["Enterprise"]
    dereg = set(ent.loc[ent["status"].map(is_deregistered).astype(bool), "id"])
    pen = ev[ev["type"].isin(list(PENALISING)) & ev["date"].notna()]
    first = pen.assign(id=g.ids[pen["n"].to_numpy()]).groupby("id")["date"].min()
    first = first[first.index.isin(dereg)]
    est = ent.set_index("id")["established"]
    rows = []
    for _, rtype in PHOENIX_TIES:
        f = t.rel_frames[rtype]
        if rtype in PHOENIX_TIE_AT_TARGET:
            f = f[f["src_label"] == "Enterprise"]
            f = f.rename(columns={"src": "firm", "dst": "via"})
        else:
            f = f[f["dst_label"] == "Enterprise"].rename(columns={"src": "via", "dst": "firm"})
        f = f[~g.blocked[f["via"].map(g.code).to_numpy(dtype=np.int64)]] if len(f) else f
        pred = f[f["firm"].isin(first.index)][["firm", "via", "id"]]
        pairs = pred.merge(f[["firm", "via", "id"]], on="via", suffixes=("_p", "_s"))
        rows.append(pairs[pairs["firm_p"] != pairs["firm_s"]])
    p = pd.concat(rows, ignore_index=True)
    p["est"] = p["firm_s"].map(est)
    p["first"] = p["firm_p"].map(first)
    p = p[p["est"].notna() & (p["first"] <= p["est"])]
    p = p.sort_values(["firm_s", "firm_p", "via"]).drop_duplicates(["firm_s", "firm_p"])
    return pd.DataFrame({
        "t": p["firm_s"].map(g.code), "c": cfg.phoenix_weight, "via": p["via"],
        "pred": p["firm_p"], "e_pred": p["id_p"], "e_succ": p["id_s"],
    })


def _controllers(t: RunTables, g: _Graph, violating: np.ndarray, cfg: RiskConfig) -> pd.DataFrame:
    """Columns t (controller), c, firms (list of violating controlled firm IDs)."""
    f = pd.concat([t.rel_frames[r][["src", "dst", "dst_label"]] for r in CONTROLLER_TYPES])
    f = f[f["dst_label"] == "Enterprise"].drop_duplicates(["src", "dst"])
    f = f[violating[f["dst"].map(g.code).to_numpy(dtype=np.int64)]]
    firms = f.sort_values("dst").groupby("src")["dst"].agg(list)
    firms = firms[firms.map(len) >= MIN_CONTROLLED_FIRMS]
    return pd.DataFrame({
        "t": firms.index.map(g.code), "c": [cfg.controller_weight * (len(v) - 1) for v in firms],
        "firms": firms.to_numpy(),
    })


@dataclass
class Indicators:
    """What the hub, phoenix and controller rules found, by entity ID (the catalogue's
    `hubs`, `phoenix_firms` and `shared_controllers` answer the same)."""

    controllers: dict[str, list[str]]  # controller -> its violating controlled firms, sorted
    phoenix: dict[tuple[str, str], str]  # (predecessor, successor) -> the tying node
    hubs: dict[str, list[str]]  # hub -> the enterprises there the rule applies to, sorted
    hub_violating: dict[str, int]  # hub -> how many enterprises there violate


def _violating(g: _Graph, ev: pd.DataFrame) -> np.ndarray:
    """Per node code: has at least one event."""
    return np.bincount(ev["n"].to_numpy(dtype=np.int64), minlength=len(g.ids)) > 0


def indicators(t: RunTables, cfg: RiskConfig | None = None) -> Indicators:
    cfg = cfg or load_risk_config()
    g = _graph(t, cfg)
    ev, _ = _direct(t, cfg, g)
    violating = _violating(g, ev)
    ctl = _controllers(t, g, violating, cfg)
    phx = _phoenix(t, g, ev, cfg)
    hub = _hubs(t, g, violating, cfg)
    hubs: dict[str, list[str]] = {}
    for firm, at in zip(g.ids[hub["t"].to_numpy()], g.ids[hub["hub"].to_numpy()], strict=True):
        hubs.setdefault(str(at), []).append(str(firm))
    return Indicators(
        controllers={str(g.ids[c]): list(f) for c, f in zip(ctl["t"], ctl["firms"], strict=True)},
        phoenix={(str(p), str(g.ids[s])): str(v)
                 for p, s, v in zip(phx["pred"], phx["t"], phx["via"], strict=True)},
        hubs={h: sorted(firms) for h, firms in hubs.items()},
        hub_violating={h: int(sum(violating[g.code[f]] for f in firms))
                       for h, firms in hubs.items()},
    )


def _network(g: _Graph, hops: list[pd.DataFrame]) -> pd.DataFrame:
    """One reason per (entity, counterpart). Ties are walked once whatever their roles, so a
    route is a distinct sequence of nodes; the counterpart's contribution is the sum over its
    distinct routes, and the reason shows the strongest. Columns t, c, rule, nodes (path node
    IDs from t outwards), edges (per step: relationship IDs, strongest role first), v
    (counterpart code), routes."""
    parts = []
    for h, hop in enumerate(hops, start=1):
        if hop.empty:
            continue
        node_cols = [f"n{k}" for k in range(h, -1, -1)]
        tie_cols = [f"e{k}" for k in range(h, 0, -1)]
        parts.append(pd.DataFrame({
            "t": hop["t"].to_numpy(dtype=np.int64), "v": hop["n0"].to_numpy(dtype=np.int64),
            "c": hop["c"].to_numpy(), "rule": f"network_{h}",
            "nodes": np.stack([g.ids[hop[c].to_numpy()] for c in node_cols], axis=1).tolist(),
            "ties": hop[tie_cols].to_numpy(dtype=np.int64).tolist(),
        }))
    if not parts:
        return pd.DataFrame({"t": pd.Series(dtype="int64"), "c": pd.Series(dtype="float64"),
                             "rule": [], "nodes": [], "edges": [], "v": [], "routes": []})
    paths = pd.concat(parts, ignore_index=True)
    paths = paths.assign(key=paths["nodes"].map(" ".join))
    paths = paths.sort_values(["t", "v", "c", "key"], ascending=[True, True, False, True])
    grouped = paths.groupby(["t", "v"], sort=False)["c"]
    total, routes = grouped.transform("sum"), grouped.transform("size")
    best = paths.drop_duplicates(["t", "v"], keep="first")
    eids, at = g.rel_ids, g.tie_starts
    return pd.DataFrame({
        "t": best["t"].to_numpy(), "c": total.loc[best.index].to_numpy(),
        "rule": best["rule"].to_numpy(), "nodes": best["nodes"].tolist(),
        "edges": [[[str(e) for e in eids[at[k]:at[k + 1]]] for k in ties]
                  for ties in best["ties"]],
        "v": best["v"].to_numpy(), "routes": routes.loc[best.index].to_numpy(),
    })


def compute_scores(t: RunTables, cfg: RiskConfig | None = None) -> pd.DataFrame:
    """Scores of every Enterprise and Person: the risk.parquet rows as a DataFrame."""
    cfg = cfg or load_risk_config()
    g, raw, allr, dated = _raw(t, cfg)
    return _finish(t, cfg, g, raw, allr, dated)


def score_values(t: RunTables, cfg: RiskConfig | None = None) -> pd.Series:
    """Every entity's score alone (no reasons written: what a backtest measures), by ID."""
    cfg = cfg or load_risk_config()
    g, raw, _, _ = _raw(t, cfg)
    ent = np.flatnonzero(g.is_entity)
    score = score_of(raw[ent], cfg)
    return pd.Series(np.round(score, 4), index=pd.Index(g.ids[ent].astype(str), name="entity_id"))


def _raw(t: RunTables, cfg: RiskConfig
         ) -> tuple[_Graph, np.ndarray, pd.DataFrame, tuple[date, pd.DataFrame]]:
    """The graph, every node's raw risk, the reasons' rows and (as_of, events)."""
    g = _graph(t, cfg)
    n = len(g.ids)
    ev, as_of = _direct(t, cfg, g)
    direct = np.bincount(ev["n"].to_numpy(dtype=np.int64), weights=ev["w"].to_numpy(), minlength=n)
    violating = _violating(g, ev)
    reasons: list[pd.DataFrame] = []  # columns t, c, rule, nodes, edges, events, info

    for rule, mask in (("own_events", ev["type"] != "BLACKLISTING"),
                       ("blacklisting", ev["type"] == "BLACKLISTING")):
        part = ev[mask].sort_values(["n", "event_id"])
        agg = part.groupby("n").agg(c=("w", "sum"), events=("event_id", list))
        reasons.append(pd.DataFrame({
            "t": agg.index, "c": agg["c"], "rule": rule,
            "nodes": [[g.ids[i]] for i in agg.index], "edges": [[] for _ in agg.index],
            "events": agg["events"], "info": None,
        }))
    net = _network(g, _paths(g, direct, cfg))
    info: list[dict[str, Any]] = [{"counterpart": str(g.ids[v]), "routes": int(r)}
                                  for v, r in zip(net["v"], net["routes"], strict=True)]
    reasons.append(net.assign(events=None, info=pd.Series(info, index=net.index, dtype=object))
                   .drop(columns=["v", "routes"]))
    hub = _hubs(t, g, violating, cfg)
    reasons.append(pd.DataFrame({
        "t": hub["t"].to_numpy(), "c": hub["c"].to_numpy(), "rule": "hub",
        "nodes": [[g.ids[a], g.ids[b]] for a, b in zip(hub["t"], hub["hub"], strict=True)],
        "edges": [[[e]] for e in hub["eid"]], "events": None,
        "info": [{"n": int(k), "nv": int(v)}
                 for k, v in zip(hub["n"], hub["others_violating"], strict=True)],
    }))
    phx = _phoenix(t, g, ev, cfg)
    reasons.append(pd.DataFrame({
        "t": phx["t"].to_numpy(), "c": phx["c"].to_numpy(), "rule": "phoenix",
        "nodes": [[g.ids[s], v, p] for s, v, p in zip(phx["t"], phx["via"], phx["pred"],
                                                       strict=True)],
        "edges": [[[a], [b]] for a, b in zip(phx["e_succ"], phx["e_pred"], strict=True)],
        "events": None, "info": None,
    }))
    ctl = _controllers(t, g, violating, cfg)
    reasons.append(pd.DataFrame({
        "t": ctl["t"].to_numpy(), "c": ctl["c"].to_numpy(), "rule": "shared_controller",
        "nodes": [[g.ids[x], *fs] for x, fs in zip(ctl["t"], ctl["firms"], strict=True)],
        "edges": [[] for _ in range(len(ctl))], "events": None, "info": None,
    }))
    empty = pd.DataFrame({"t": pd.Series(dtype="int64"), "c": pd.Series(dtype="float64"),
                          "rule": [], "nodes": [], "edges": [], "events": [], "info": []})
    allr = pd.concat([empty, *(r for r in reasons if len(r))], ignore_index=True)
    if cfg.network_cap > 0:  # diminishing returns: Σ network → cap · (1 − exp(−Σ / cap))
        is_net = allr["rule"].str.startswith("network_").to_numpy()
        t_net = allr["t"].to_numpy(dtype=np.int64)[is_net]
        total = np.bincount(t_net, weights=allr["c"].to_numpy()[is_net], minlength=n)
        factor = network_factor(total, cfg)
        c = allr["c"].to_numpy().copy()
        c[is_net] *= factor[t_net]
        allr = allr.assign(c=c)
    raw = np.bincount(allr["t"].to_numpy(dtype=np.int64), weights=allr["c"].to_numpy(),
                      minlength=n)
    return g, raw, allr, (as_of, ev)


def _evidence_lookup(t: RunTables, wanted: set[str]) -> dict[str, list[dict[str, Any]]]:
    ev = t.evidence[t.evidence["entity_id"].isin(wanted)]
    ev = ev.sort_values(["entity_id", "mention_id_l", "mention_id_r"])
    out: dict[str, list[dict[str, Any]]] = {}
    cols = ("entity_id", "mention_id_l", "mention_id_r", "method", "match_weight",
            "match_probability", "features")
    for ent, left, right, method, weight, prob, feats in zip(
        *(ev[c].tolist() for c in cols), strict=True
    ):
        rows = out.setdefault(str(ent), [])
        if len(rows) < MAX_EVIDENCE:
            rows.append(evidence_item(left, right, method, weight, prob, feats))
    return out


def evidence_item(left: Any, right: Any, method: Any, weight: Any, prob: Any,
                  feats: Any) -> dict[str, Any]:
    """One linkage evidence row as a reason carries it."""
    return {
        "mention_id_l": left, "mention_id_r": right, "method": method,
        "match_weight": _finite(weight), "match_probability": _finite(prob),
        "features": json.loads(feats) if isinstance(feats, str) else [],
    }


def _finite(value: Any) -> float | None:
    """A stored weight or probability; None when absent (an exact-identifier merge has no
    weight: it is not a model's score)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def triggers(by_node: dict[str, list[str]], types: dict[str, str], rule: str,
             nodes: list[str], events: Any) -> list[str]:
    """The events behind a reason: the entity's own, else its counterpart's (network), the
    predecessor's penalising ones (phoenix), the controlled firms' (controller). `by_node`:
    each node's event IDs, sorted; `types`: each event's type."""
    if isinstance(events, list):
        return [str(e) for e in events]
    if rule.startswith("network_"):
        return by_node.get(nodes[-1], [])
    if rule == "phoenix":
        return [e for e in by_node.get(nodes[2], []) if types[e] in PENALISING]
    if rule == "shared_controller":
        return [e for f in nodes[1:] for e in by_node.get(f, [])]
    return []


def _finish(t: RunTables, cfg: RiskConfig, g: _Graph, raw: np.ndarray, allr: pd.DataFrame,
            dated: tuple[date, pd.DataFrame]) -> pd.DataFrame:
    as_of, ev = dated
    score = score_of(raw, cfg)
    allr = allr.assign(pts=allr["c"].to_numpy() * score[allr["t"].to_numpy(dtype=np.int64)]
                       / np.maximum(raw[allr["t"].to_numpy(dtype=np.int64)], 1e-12))
    allr = allr.assign(key=allr["nodes"].map(" ".join))
    allr = allr.sort_values(["t", "pts", "key"], ascending=[True, False, True])
    top = allr.groupby("t", sort=False).head(cfg.max_reasons)
    merged = set(t.entities.loc[t.entities["n_mentions"].fillna(1) > 1, "entity_id"])
    on_paths = {x for ns in top["nodes"] for x in ns if x in merged}
    evidence = _evidence_lookup(t, on_paths)
    ids = ev.assign(id=g.ids[ev["n"].to_numpy(dtype=np.int64)]).sort_values(["id", "event_id"])
    by_node = {str(k): v for k, v in ids.groupby("id")["event_id"].agg(list).items()}
    types = dict(zip(ev["event_id"], ev["type"], strict=True))
    cols = ("t", "rule", "pts", "nodes", "edges", "events", "info")
    rows = [(int(tg), str(rule), float(pts), [str(x) for x in path], list(edges),
             triggers(by_node, types, str(rule), [str(x) for x in path], events), info or {})
            for tg, rule, pts, path, edges, events, info in zip(
                *(top[c].tolist() for c in cols), strict=True)]
    explainer = Explainer.for_run(
        t, nodes={x for r in rows for x in r[3]},
        edges={e for r in rows for step in r[4] for e in step},
        events={e for r in rows for e in r[5]},
        violating={str(x) for x in g.ids[np.flatnonzero(_violating(g, ev))]},
    )
    texts: dict[int, list[dict[str, Any]]] = {}
    for target, rule, pts, nodes, edges, event_ids, info in rows:
        reason = explainer.explain(rule, pts, nodes, edges, event_ids, info)
        reason["evidence"] = {x: evidence[x] for x in nodes if x in evidence}
        texts.setdefault(target, []).append(reason)
    ent = np.flatnonzero(g.is_entity)
    levels = np.where(score >= cfg.levels.high, "high",
                      np.where(score >= cfg.levels.medium, "medium", "low"))
    out = pd.DataFrame({
        "entity_id": g.ids[ent], "score": np.round(score[ent], 4), "level": levels[ent],
        "reasons": [json.dumps(texts.get(int(i), []), ensure_ascii=False, default=str)
                    for i in ent],
        "run_id": t.run_id,
    })
    out.attrs["as_of"] = as_of.isoformat()
    return out.sort_values("entity_id").reset_index(drop=True)


def score_run(run_dir: Path | str, cfg: RiskConfig | None = None,
              previous: Path | str | None = None) -> dict[str, Any]:
    """Compute and write RUN/risk.parquet (with the learned score's columns where it beats
    the rules on the run's backtest), RUN/learned.json and, when shipped, the model
    (risk/learned_run.py: `previous`, the run this one reruns, lends its model while it may);
    returns a small summary (counts per level, seconds)."""
    from risk.learned_run import LEARNED_REPORT, MODEL_FILE, start_learned

    started = time.perf_counter()
    cfg = cfg or load_risk_config()
    pending = start_learned(Path(run_dir), cfg,  # beside the rules, in a second process
                            Path(previous) if previous is not None else None)
    try:
        tables = load_run(run_dir)
        scores = compute_scores(tables, cfg)
        rule_seconds = time.perf_counter() - started
        outcome = pending.result(tables)
    finally:
        pending.close()
    if outcome.rows is not None:  # shipped: beside the rule score, enterprises only
        as_of = scores.attrs.get("as_of")
        scores = scores.merge(outcome.rows, on="entity_id", how="left")
        for col in ("learned_score", "learned_level", "learned_reasons"):
            scores[col] = scores[col].astype(object).where(scores[col].notna(), None)
        scores.attrs["as_of"] = as_of
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items()} for row in scores.to_dict("records")
    ]
    write_table(Path(run_dir), "risk", rows)
    outcome.report["seconds"] = round(time.perf_counter() - started - rule_seconds, 2)
    model_path = Path(run_dir) / MODEL_FILE
    if outcome.model_text is not None:
        model_path.write_text(outcome.model_text, encoding="utf-8")
    else:
        model_path.unlink(missing_ok=True)
    (Path(run_dir) / LEARNED_REPORT).write_text(
        json.dumps(outcome.report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    levels = scores["level"].value_counts().to_dict()
    return {
        "run_id": tables.run_id, "entities": len(scores), "as_of": scores.attrs.get("as_of"),
        "levels": {k: int(levels.get(k, 0)) for k in ("low", "medium", "high")},
        "seconds": round(time.perf_counter() - started, 2),
        "rule_seconds": round(rule_seconds, 2),
        "max_score": float(scores["score"].max()) if len(scores) else math.nan,
        "learned": {k: outcome.report.get(k) for k in
                    ("shipped", "rules_auc", "learned_auc", "note", "seconds",
                     "reused_from")},
    }
