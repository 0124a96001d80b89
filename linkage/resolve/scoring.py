"""Train one Splink model without labels and score the blocked pairs.

Training: the prior from deterministic rules (`estimate_probability_two_random_records_match`),
u from random sampling, m by EM over a couple of blocking rules. Scoring: `predict()` over
the prediction rules, keeping pairs above a floor probability with their comparison levels
and partial weights (for the evidence table).
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from linkage.resolve import blocking
from linkage.resolve.models import FLAG_COLUMNS, MODEL_COLUMNS, SPECS, Kind, settings_dict
from linkage.resolve.sampling import SAMPLE_KEY, use_neutral_sampling
from linkage.resolve.u_sampling import estimate_u_one_pass

Engine = Literal["duckdb", "spark"]
log = logging.getLogger(__name__)

_DEFAULT_PRIOR = 1e-4
# Bounds on the prior, as expected matches per record: a model whose deterministic rules find
# almost nothing (few valid identifiers) must not collapse to a prior that accepts nothing.
MATCHES_PER_RECORD = (0.05, 50.0)
# u by random sampling (`u_sampling.estimate_u_one_pass`) stands for Splink's with one pass
# over the sampled pairs (one chunk, no minimum count per level). Splink's early exit (a probe,
# then chunks until every level has `min_count_per_level` pairs) costs a probe plus every
# chunk whenever a level is rare among random pairs, as identifier levels always are.
U_CHUNKS, U_MIN_COUNT_PER_LEVEL = 1, None
# Random pairs for u (about two thousand rows). A strong level's u (name, customs code,
# address exact) rests on the few random pairs that agree on it. Before the pairs of one
# pre-cluster were left out, true matches among them set it: one draw of 5e5 pairs on the
# large set (stop 39's neutral sample) took enterprise pairwise F1 from 0.99246 to 0.9401;
# 2e6 gave 0.99246. Without them: 0.99307 (5e5) and 0.99561 (2e6).
U_MAX_PAIRS = 2e6


@dataclass
class Scored:
    """The trained model and the scored pairs of one kind."""

    kind: Kind
    model: dict[str, Any]
    predictions: pd.DataFrame  # rid_l, rid_r, match_weight, match_probability, gamma_*, bf_*
    pairs_compared: int
    charts: dict[str, str] = field(default_factory=dict)  # name -> standalone HTML
    training_notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds


def make_db_api(engine: Engine, threads: int = 2) -> Any:
    """A Splink database API for the engine (Spark is imported only when asked for)."""
    if engine == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        con = duckdb.connect()
        con.execute("SET threads = $t", {"t": threads})
        con.execute("SET preserve_insertion_order = false")
        return use_neutral_sampling(DuckDBAPI(connection=con))
    if engine == "spark":
        from linkage.resolve.spark import spark_db_api

        return spark_db_api(threads)
    raise ValueError(f"unknown engine {engine!r}")


def _frame_for_splink(table: pd.DataFrame, kind: Kind) -> pd.DataFrame:
    cols = ["rid", "pc", SAMPLE_KEY, *MODEL_COLUMNS[kind]]
    out = table[cols].copy()
    out[SAMPLE_KEY] = out[SAMPLE_KEY].astype(str)
    for col in MODEL_COLUMNS[kind]:
        if col in FLAG_COLUMNS:
            out[col] = out[col].fillna(False).astype(bool)
        else:
            out[col] = out[col].astype("string").astype(object).where(out[col].notna(), None)
    out["rid"] = out["rid"].astype("int64")
    out["pc"] = out["pc"].astype("int64")
    return out


def train_and_score(
    kind: Kind,
    table: pd.DataFrame,
    *,
    engine: Engine = "duckdb",
    floor_probability: float = 0.5,
    seed: int = 42,
) -> Scored:
    """Train the `kind` model on `table` (columns `rid`, `pc` and the model columns) and
    return pairs scoring at least `floor_probability`."""
    from splink import Linker

    started = time.perf_counter()
    db_api = make_db_api(engine)
    frame = _frame_for_splink(table, kind)
    sdf = db_api.register(frame, table_name=f"__guanlian_{kind}_records")
    linker = Linker(sdf, settings_dict(kind, blocking.predict_rules(kind)),
                    log_level=logging.ERROR)
    prior = prior_from_rules(frame, kind)
    notes, timings = train_linker(linker, kind, len(frame), prior, started, seed=seed)
    scored = _predict_all(linker, kind, floor_probability, notes)
    scored.timings = {**timings, **scored.timings}
    return scored


def train_linker(linker: Any, kind: Kind, n: int, prior: tuple[float, str], started: float,
                 *, seed: int = 42) -> tuple[list[str], dict[str, float]]:
    """Train `linker` (any engine) over its `n` records: the given prior (and the note
    saying how it was found), u by random sampling without the pairs of one pre-cluster
    (`u_sampling`), m by EM per training rule, then the bounds. Returns the training notes
    and the step timings (from `started`)."""
    timings: dict[str, float] = {}
    linker._settings_obj._probability_two_random_records_match = prior[0]
    notes = [prior[1]]
    max_pairs = float(min(max(n * (n - 1) / 2, 1.0), U_MAX_PAIRS))
    timings["prepare"] = time.perf_counter() - started
    estimate_u_one_pass(linker, n, max_pairs=max_pairs, seed=seed)
    timings["u"] = time.perf_counter() - started - timings["prepare"]
    for rule in blocking.training_rules(kind):
        # a failed EM session can leave the linker's settings without the comparisons of
        # its blocking rule (Splink 5.0.0): keep a copy and restore it on failure
        saved = copy.deepcopy(linker._settings_obj)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True, max_pairs=5e5
            )
        except Exception as exc:  # noqa: BLE001 - EM on small data may find no pairs
            linker._settings_obj = saved
            notes.append(f"EM on {rule!r} skipped: {str(exc).splitlines()[0]}")

    notes += bound_parameters(linker, 1.0 / max_pairs)
    timings["em"] = time.perf_counter() - started - timings["prepare"] - timings["u"]
    return notes, timings


def _known(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def bound_parameters(linker: Any, unseen_u: float) -> list[str]:
    """Fill and bound what training left unknown or implausible, so that no level weighs
    by accident: a u never estimated (too few random pairs with both values) becomes
    `unseen_u` for an agreeing level (at least the u of the stronger levels before it) and
    the rest of the mass for the `different` level;
    the `different` level never counts for a match (m <= u), the top level never against
    (m >= u). Returns a note per change."""
    notes: list[str] = []
    for comparison in linker._settings_obj.comparisons:
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        if not levels:
            continue
        name = comparison.output_column_name
        *agreeing, different = levels
        floor = unseen_u  # levels go from strong to weak agreement: u never decreases
        for lv in agreeing:
            known = _known(lv._u_probability)
            if known is None:
                lv.u_probability = floor
                notes.append(f"{name}: u of {lv.label_for_charts!r} not estimated; "
                             f"set to {floor:.3g}")
            else:
                floor = max(floor, known)
        if _known(different._u_probability) is None:
            rest = 1.0 - sum(float(lv.u_probability or 0.0) for lv in agreeing)
            different.u_probability = min(max(rest, 0.5), 1.0)
            notes.append(f"{name}: u of 'different' not estimated; set to "
                         f"{different.u_probability:.3g}")
        m, u = different.m_probability, different.u_probability
        if m is not None and u is not None and m > u:
            different.m_probability = u / 4
            notes.append(f"{name}: m of 'different' {m:.3g} > u {u:.3g}; bounded to "
                         f"{u / 4:.3g}")
        top = agreeing[0] if agreeing else None
        if top is not None and top.m_probability is not None and top.u_probability is not None \
                and top.m_probability < top.u_probability:
            notes.append(f"{name}: m of {top.label_for_charts!r} below its u; raised to u x 4")
            top.m_probability = min(top.u_probability * 4, 1.0)
    return notes


def score_with_model(
    kind: Kind,
    table: pd.DataFrame,
    model: dict[str, Any],
    *,
    engine: Engine = "duckdb",
    floor_probability: float = 0.5,
) -> Scored:
    """Score every blocked pair of `table` with an already trained `model` (no training).

    A rerun with `--previous` uses this: the same parameters give the same weights to the same
    pairs, so the evidence of entities whose records did not change stays identical."""
    from splink import Linker

    db_api = make_db_api(engine)
    frame = _frame_for_splink(table, kind)
    sdf = db_api.register(frame, table_name=f"__guanlian_{kind}_records")
    linker = Linker(sdf, model, log_level=logging.ERROR)
    return _predict_all(linker, kind, floor_probability, ["model reused from the previous run"])


def model_compatible(kind: Kind, model: dict[str, Any], engine: Engine) -> bool:
    """Whether a saved model can score for the current code: the same comparisons and
    prediction blocking rules, written for the same SQL dialect."""
    names = [c.get("output_column_name") for c in model.get("comparisons", [])]
    rules = [r.get("blocking_rule") if isinstance(r, dict) else r
             for r in model.get("blocking_rules_to_generate_predictions", [])]
    return (names == [spec.name for spec in SPECS[kind]]
            and rules == list(blocking.predict_rules(kind))
            and model.get("sql_dialect") == engine)


def saved_model(run_dir: Path, kind: Kind, engine: Engine) -> dict[str, Any]:
    """The `kind` model a run saved (`RUN/models/<kind>.json`), checked to fit this code;
    FileNotFoundError when it is missing, ValueError when it does not fit."""
    path = run_dir / "models" / f"{kind}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no {kind} model (models/{kind}.json)")
    model: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not model_compatible(kind, model, engine):
        raise ValueError(f"{path}: the saved {kind} model does not fit this code or engine "
                         "(other comparisons, blocking rules or SQL dialect)")
    return model


def prediction_columns(kind: Kind, columns: list[str]) -> list[str]:
    """The prediction columns the pipeline reads (pairs, weights, levels and the compared
    values of the evidence), in the table's order: fetching the others (every retained
    model column and the intermediate Bayes factors) cost as much as the prediction itself."""
    compared = {f"{spec.levels[1].column}_{side}" for spec in SPECS[kind] for side in "lr"}
    fixed = {"rid_l", "rid_r", "match_weight", "match_probability"}
    return [c for c in columns
            if c in fixed or c in compared or c.startswith(("gamma_", "mw_"))]


def _predict_all(linker: Any, kind: Kind, floor_probability: float, notes: list[str]) -> Scored:
    started = time.perf_counter()
    predictions = linker.inference.predict(warning_mode="never")
    table_name = predictions.physical_name
    counted = linker.misc.query_sql(
        f"SELECT count(*) AS n FROM {table_name}", output_type="pandas"
    )
    pairs_compared = int(counted["n"].iloc[0])
    wanted = prediction_columns(kind, [c.unquote().name for c in predictions.columns])
    keep = linker.misc.query_sql(
        f"SELECT {', '.join(wanted)} FROM {table_name} "
        f"WHERE match_probability >= {float(floor_probability)!r}",
        output_type="pandas",
    )
    model = linker.misc.save_model_to_json()
    predicted = time.perf_counter()
    charts = model_charts(linker)
    timings = {"predict": predicted - started, "charts": time.perf_counter() - predicted}
    return Scored(kind, model, keep, pairs_compared, charts, notes, timings)


def model_charts(linker: Any) -> dict[str, str]:
    """The trained model's charts (standalone HTML), for the run's report."""
    return {
        "match_weights": linker.visualisations.match_weights_chart().to_html(inline=True),
        "m_u_parameters": linker.visualisations.m_u_parameters_chart().to_html(inline=True),
    }


def score_new(
    kind: Kind,
    table: pd.DataFrame,
    model: dict[str, Any],
    *,
    engine: Engine = "duckdb",
    floor_probability: float = 0.5,
) -> Scored:
    """Score the rows of `table` flagged `is_new` against the other rows (Splink 5's
    `predict_between`) and among themselves (`predict_within`) with an already trained
    model - no training, no pair of two existing records is scored again."""
    from splink import Linker

    db_api = make_db_api(engine)
    frame = _frame_for_splink(table, kind)
    is_new = table["is_new"].to_numpy(dtype=bool)
    every = db_api.register(frame, table_name=f"__guanlian_{kind}_all")
    old = db_api.register(frame[~is_new], table_name=f"__guanlian_{kind}_old")
    new = db_api.register(frame[is_new], table_name=f"__guanlian_{kind}_new")
    linker = Linker(every, model, log_level=logging.ERROR)
    for comp in model.get("comparisons", []):
        for level in comp.get("comparison_levels", []):
            if level.get("tf_adjustment_column"):
                linker.table_management.compute_tf_table(level["tf_adjustment_column"])
    parts = []
    pairs_compared = 0
    if (~is_new).any() and is_new.any():
        parts.append(linker.inference.predict_between(old, new, warning_mode="never"))
    if is_new.sum() >= 2:
        parts.append(linker.inference.predict_within(new, warning_mode="never"))
    frames = []
    for part in parts:
        got = part.as_pandas_dataframe()
        pairs_compared += len(got)
        frames.append(got[got["match_probability"] >= floor_probability])
    predictions = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return Scored(kind, model, predictions, pairs_compared, {}, ["incremental: model reused"])


def _pairs_agreeing(codes: list[np.ndarray]) -> float:
    """Pairs of rows with equal, non-null (code >= 0) values on every one of the keys."""
    ok = np.logical_and.reduce([c >= 0 for c in codes])
    if ok.sum() < 2:
        return 0.0
    sub = pd.DataFrame({i: c[ok] for i, c in enumerate(codes)})
    sizes = sub.groupby(list(sub.columns), sort=False).size().to_numpy(dtype="float64")
    return float((sizes * (sizes - 1) / 2).sum())


def prior_from_rules(frame: pd.DataFrame, kind: Kind, recall: float = 0.8) -> tuple[float, str]:
    """Probability that two random records match: the pairs meeting any deterministic rule
    (`blocking.deterministic_rules`: the pre-cluster, the same identifier whether valid or
    not, name + birth date, name + phone, ...), counted once by inclusion-exclusion, scaled
    up for the matches the rules miss, and bounded to between 0.01 and 50 expected matches
    per record, so that a data set with few valid identifiers cannot collapse the model.
    Returns the prior and a note saying how it was found."""
    rules = [r for r in blocking.deterministic_rules(kind)
             if all(key.column in frame.columns for key in r)]
    codes = {key: pd.factorize(key.values(frame), use_na_sentinel=True)[0]
             for rule in rules for key in rule}
    return prior_from_pair_counts(
        len(frame), rules, lambda keys: _pairs_agreeing([codes[key] for key in keys]), recall)


def prior_from_pair_counts(n: int, rules: list[blocking.Rule],
                           pairs_agreeing: Callable[[frozenset[blocking.Key]], float],
                           recall: float = 0.8) -> tuple[float, str]:
    """`prior_from_rules` over `n` records, given how many pairs agree on a set of keys
    (non-null and equal on every one): the engines count those pairs their own way."""
    total = n * (n - 1) / 2
    if total <= 0:
        return _DEFAULT_PRIOR, f"prior {_DEFAULT_PRIOR:.3g} (default: fewer than two records)"
    sure = 0.0
    empty: list[frozenset[int]] = []  # combinations meeting no pair: so do their supersets
    for size in range(1, len(rules) + 1):
        for combo in itertools.combinations(range(len(rules)), size):
            members = frozenset(combo)
            if any(e <= members for e in empty):
                continue
            pairs = pairs_agreeing(frozenset(key for i in combo for key in rules[i]))
            if pairs == 0:
                empty.append(members)
            sure += (-1) ** (size + 1) * pairs
    low, high = MATCHES_PER_RECORD[0] * 2 / max(n - 1, 1), min(
        0.5, MATCHES_PER_RECORD[1] * 2 / max(n - 1, 1))
    raw = sure / recall / total
    prior = min(max(raw, low), high)
    how = (f"prior {prior:.3g} from {int(sure)} pairs meeting a deterministic rule "
           f"(recall {recall} assumed)")
    if prior != raw:
        how += f"; bounded from {raw:.3g} to [{low:.3g}, {high:.3g}]"
    return prior, how
