"""The plain-Splink baseline the benchmark compares our pipeline against.

A straightforward tutorial-style model on the raw columns of each mention: no name
standardisation, no pinyin, no identifier validation, no context resolution, connected
components at a fixed threshold. It sees the same mentions as our pipeline (the output of
`linkage.extract`), so the comparison isolates what standardisation and our resolution add.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

RAW_COLUMNS = {
    "enterprise": ["name", "uscc", "customs_code", "phone", "address"],
    "person": ["name", "id_number", "phone"],
}


@dataclass
class BaselineResult:
    clusters: pd.DataFrame  # mention_id, cluster_id
    wall_s: float
    pairs_compared: int


def _settings(kind: str) -> SettingsCreator:
    comparisons: list[Any]
    rules: list[Any]
    if kind == "enterprise":
        comparisons = [
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88]),
            cl.ExactMatch("uscc"),
            cl.ExactMatch("customs_code"),
            cl.ExactMatch("phone"),
            cl.LevenshteinAtThresholds("address", [2, 5]),
        ]
        rules = [block_on("name"), block_on("uscc"), block_on("customs_code"), block_on("phone")]
    else:
        comparisons = [
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88]),
            cl.ExactMatch("id_number"),
            cl.ExactMatch("phone"),
        ]
        rules = [block_on("id_number"), block_on("name", "phone"), block_on("phone")]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="mention_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=False,
    )


def run_baseline(mentions: pd.DataFrame, kind: str, threshold: float = 0.95) -> BaselineResult:
    """Link the mentions of one kind with the plain model; every mention gets a cluster."""
    started = time.perf_counter()
    cols = ["mention_id", *RAW_COLUMNS[kind]]
    df = mentions.loc[mentions["kind"] == kind, cols].copy()
    for col in RAW_COLUMNS[kind]:
        values = df[col].astype("string").str.strip()
        df[col] = values.where(values != "")
    df = df.astype(object).where(df.notna(), None)
    db_api = DuckDBAPI()
    table = db_api.register(df, dataset_display_name=f"baseline_{kind}")
    linker = Linker(table, _settings(kind), log_level=None)
    id_rule = block_on("uscc") if kind == "enterprise" else block_on("id_number")
    linker.training.estimate_probability_two_random_records_match([id_rule], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name"), record_sample_proportion=1.0
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        id_rule, record_sample_proportion=1.0
    )
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    pairs = int(predictions.as_pandas_dataframe().shape[0])
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    ).as_pandas_dataframe()
    clusters = clustered[["mention_id", "cluster_id"]].astype(str)
    return BaselineResult(clusters, time.perf_counter() - started, pairs)
