"""u probabilities by random sampling, every comparison counted in one query, known matches
left out.

u is the chance that two records of *different* entities agree at a level. Splink's
`estimate_u_using_random_sampling` estimates it from every pair of a random sample of the
records, so true matches among them count as non-matches. For a strong level (customs code,
full name or address exact) that agree almost only on true matches, those few pairs are the
whole estimate: one draw of the large set (stop 39) found a handful, made "customs code exact"
16 times likelier among non-matches and took enterprise pairwise F1 from 0.99246 to 0.9401.
The pairs of one pre-cluster (`KNOWN_MATCH`: records joined by an exact identifier before
Splink) are known matches, so here they are left out of the pairs u is counted on
(`l.pc <> r.pc`): the same large draw then gives 0.99307, and the default sample 0.99561
(docs/scale.md, "Same entities").

Splink also runs one query per comparison over every pair of the sample (each a cross join
of the sample with itself and the comparison's CASE, then a group-by): nine cross joins for
the enterprise model, although the pairs are the same every time. With one chunk and no
minimum count per level (`linkage.resolve.scoring.U_CHUNKS`, `U_MIN_COUNT_PER_LEVEL`: what
`train_linker` asks for) nothing depends on the order of the comparisons, so here the pairs
are formed once and each yields one (comparison, level) row per comparison, counted by one
group-by. The rest is Splink's: the sample (its own SQL and seed), the pair condition, the
counts per level (`_MUCountsAccumulator`), the proportions (its SQL, in its in-process
DuckDB, as Splink computes them) and how they are stored on the levels. Without pairs of a
pre-cluster in the sample, the u values are Splink's, level for level, on either engine
(`tests/linkage/test_u_sampling.py`).
"""

from __future__ import annotations

from typing import Any

TRAINING_DESCRIPTION = "estimate u by random sampling"  # Splink's, shown in its charts
# The pre-cluster of a Splink row (`linkage.resolve.pipeline.splink_table`): rows of one
# pre-cluster share an exact identifier and are one entity, so their pairs are not counted.
KNOWN_MATCH = "pc"


def _level_columns(comparison: Any) -> list[str]:
    """`l.x AS x_l, r.x AS x_r` for the columns the comparison's levels read (no term
    frequency columns: Splink drops those from the comparisons for u sampling)."""
    cols: list[str] = []
    for level in comparison.comparison_levels:
        for column in level._input_columns_used_by_sql_condition:
            cols.extend(c for c in column.l_r_names_as_l_r if c not in cols)
    return cols


def _counts_sqls(linker: Any) -> list[dict[str, str]]:
    """Every pair of `__splink__df_concat_sample` (as Splink's u sampling forms them, less
    those of one pre-cluster) -> (`c`: comparison number, `v`: comparison vector value,
    `n`: pairs)."""
    from splink.internals.blocking import _sql_gen_where_condition

    settings = linker._settings_obj
    info = settings.column_info_settings
    ids = [info.unique_id_input_column]
    if info.source_dataset_input_column is not None:
        ids = [info.source_dataset_input_column, *ids]
    dialect = linker._db_api.sql_dialect
    where = _sql_gen_where_condition(settings._link_type, ids, right_chunk=(1, 1),
                                     sql_dialect=dialect)
    where += f" and l.{KNOWN_MATCH} <> r.{KNOWN_MATCH}"
    comparisons = settings.comparisons
    cols = list(dict.fromkeys(c for comp in comparisons for c in _level_columns(comp)))
    pairs = (f"select {', '.join(cols)} from __splink__df_concat_sample as l "
             f"inner join __splink__df_concat_sample as r on (1=1) {where}")
    vectors = f"select {', '.join(comp._case_statement for comp in comparisons)} " \
              "from __splink__u_sample_pairs"
    if dialect.sql_dialect_str == "spark":
        items = ", ".join(f"named_struct('c', {i}, 'v', {comp._gamma_column_name})"
                          for i, comp in enumerate(comparisons))
        rows = f"select inline(array({items})) from __splink__u_sample_vectors"
    else:  # DuckDB
        items = ", ".join(f"{{'c': {i}, 'v': {comp._gamma_column_name}}}"
                          for i, comp in enumerate(comparisons))
        rows = f"select unnest([{items}], recursive := true) from __splink__u_sample_vectors"
    counts = f"select c, v, count(*) as n from ({rows}) group by c, v"
    return [{"sql": pairs, "output_table_name": "__splink__u_sample_pairs"},
            {"sql": vectors, "output_table_name": "__splink__u_sample_vectors"},
            {"sql": counts, "output_table_name": "__splink__u_sample_counts"}]


def _u_records(db_api: Any, comparison: Any, counts: dict[int, float]) -> list[dict[str, Any]]:
    """Splink's u probabilities of one comparison from its pair counts per level."""
    import pyarrow as pa
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT
    from splink.internals.duckdb.duckdb_helpers.duckdb_helpers import (
        record_dicts_from_relation,
    )
    from splink.internals.estimate_u import _MUCountsAccumulator
    from splink.internals.expectation_maximisation import (
        compute_proportions_for_new_parameters_sql,
    )

    accumulator = _MUCountsAccumulator(comparison)
    accumulator.update_from_chunk_counts(
        [{"comparison_vector_value": v, "u_count": n} for v, n in counts.items()])
    counted = accumulator.to_record_list()
    con = db_api.duckdb_con
    con.register("__guanlian_u_counts", pa.Table.from_pylist(counted))
    try:
        records = record_dicts_from_relation(
            con.query(compute_proportions_for_new_parameters_sql("__guanlian_u_counts")))
    finally:
        con.unregister("__guanlian_u_counts")
    seen = {int(r["comparison_vector_value"]): float(r["u_count"]) for r in counted}
    for record in records:  # a level no sampled pair reached was not observed, not u = 0
        if seen.get(int(record["comparison_vector_value"]), 0.0) == 0.0:
            record["u_probability"] = LEVEL_NOT_OBSERVED_TEXT
    return records


def estimate_u_one_pass(linker: Any, n_rows: int, *, max_pairs: float, seed: int) -> None:
    """Set the u probabilities of `linker`'s comparisons (its only input table has `n_rows`
    rows and a `KNOWN_MATCH` column) as `linker.training.estimate_u_using_random_sampling(
    max_pairs=max_pairs, seed=seed, num_chunks=1, min_count_per_level=None)` does, in one
    query, without the pairs of one pre-cluster."""
    from splink.internals.estimate_u import _rows_needed_for_n_pairs
    from splink.internals.m_u_records_to_parameters import (
        append_u_probability_to_comparison_level_trained_probabilities,
        m_u_records_to_lookup_dict,
    )
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.vertically_concatenate import enqueue_df_concat

    settings = linker._settings_obj
    db_api = linker._db_api
    proportion = min(_rows_needed_for_n_pairs(max_pairs) / n_rows, 1.0)
    ids = settings.column_info_settings.unique_id_input_columns
    pipeline = enqueue_df_concat(linker, CTEPipeline())
    pipeline.enqueue_sql(
        "select * from __splink__df_concat where 1=1 "
        + linker._proportion_sample_sql(proportion, ids, seed=seed),
        "__splink__df_concat_sample")
    sample = db_api.sql_pipeline_to_splink_dataframe(pipeline)
    pipeline = CTEPipeline(input_dataframes=[sample])
    pipeline.enqueue_list_of_sqls(_counts_sqls(linker))
    counted = db_api.sql_pipeline_to_splink_dataframe(pipeline)
    try:
        rows = counted.as_record_list()
    finally:
        counted.drop_table_from_database_and_remove_from_cache()
        sample.drop_table_from_database_and_remove_from_cache()
    for i, comparison in enumerate(settings.comparisons):
        counts = {int(r["v"]): float(r["n"]) for r in rows if int(r["c"]) == i}
        lookup = m_u_records_to_lookup_dict(_u_records(db_api, comparison, counts))
        for level in comparison._comparison_levels_excluding_null:
            append_u_probability_to_comparison_level_trained_probabilities(
                level, lookup, comparison.output_column_name, TRAINING_DESCRIPTION)
    linker._populate_m_u_from_trained_values()
    settings._columns_without_estimated_parameters_message()
