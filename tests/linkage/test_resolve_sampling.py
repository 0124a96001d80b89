"""Splink's samples are drawn by the mention IDs with one hash on every engine
(`linkage.resolve.sampling`): a model does not depend on the order of the input rows, and
the Spark engine trains on the rows the DuckDB engine trains on (`test_link_spark.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from linkage.extract import extract
from linkage.resolve.pipeline import splink_table
from linkage.resolve.sampling import (
    SAMPLE_KEY,
    hash_sql,
    neutral_dialect,
    neutral_hash,
    use_neutral_sampling,
)
from linkage.resolve.scoring import make_db_api, train_and_score

SMALL = Path(__file__).parents[1] / "fixtures" / "small" / "sources.yaml"
TEXTS = ["registry_enterprises:SCJG00000001:legal_rep", "海关申报:٢:申报人", "", "it's",
         "x" * 500, "\U0001f600"]


@pytest.mark.parametrize("text", TEXTS)
def test_the_sql_hash_is_the_documented_number(text: str) -> None:
    con = duckdb.connect()
    got = con.execute(f"SELECT {hash_sql('duckdb', 'v')} FROM (SELECT ? AS v)",
                      [text]).fetchone()
    assert got is not None and got[0] == neutral_hash(text)
    assert 0 <= neutral_hash(text) < 2 ** 60


def test_the_unique_id_is_read_as_the_sample_key_wherever_splink_names_it() -> None:
    con = duckdb.connect()
    row = "(SELECT 7 AS rid, 'k' AS sample_key, 9 AS rid_l) AS l"
    for expression, text in [("rid", "k"), ("l.rid", "k"), ('l."rid"', "k"),
                             ("(l.rid) || '_42'", "k_42"), ("rid_l", "9")]:
        got = con.execute(f"SELECT {hash_sql('duckdb', expression)} FROM {row}").fetchone()
        assert got is not None and got[0] == neutral_hash(text), expression


def test_the_neutral_dialect_is_splinks_own_with_one_hash_changed() -> None:
    from splink import DuckDBAPI
    from splink.internals.dialects import DuckDBDialect, PostgresDialect

    api = use_neutral_sampling(DuckDBAPI())
    dialect = api.sql_dialect
    assert isinstance(dialect, DuckDBDialect) and dialect.sql_dialect_str == "duckdb"
    assert neutral_dialect(dialect) is dialect and use_neutral_sampling(api) is api
    assert DuckDBAPI().sql_dialect.hash_function_expression("x") == "hash(x)"  # no leak
    assert "md5" in dialect.hash_bucket_expression("rid", 1000)
    assert make_db_api("duckdb").sql_dialect is dialect
    with pytest.raises(ValueError, match="postgres"):
        neutral_dialect(PostgresDialect())


def _parameters(model: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    return [(c["output_column_name"], lv.get("label_for_charts"), lv.get("m_probability"),
             lv.get("u_probability"))
            for c in model["comparisons"] for lv in c["comparison_levels"]]


@pytest.fixture(scope="module")
def person_table() -> pd.DataFrame:
    mentions = extract(SMALL).mentions
    return splink_table(mentions, "person", np.arange(len(mentions)))


def test_every_row_carries_the_smallest_mention_id_it_stands_for(
        person_table: pd.DataFrame) -> None:
    mentions = extract(SMALL).mentions
    assert person_table[SAMPLE_KEY].is_unique
    for row in person_table.sample(50, random_state=1).itertuples():
        assert getattr(row, SAMPLE_KEY) <= mentions.at[row.rep, "mention_id"]


def test_the_model_does_not_depend_on_the_order_of_the_rows(
        person_table: pd.DataFrame) -> None:
    """Rows reversed and numbered afresh (as another input order numbers them): the u sample
    is the same records, so the same model. Drawn by `rid`, it was not."""
    assert len(person_table) > 2000  # more rows than the u sample takes
    reordered = person_table.iloc[::-1].reset_index(drop=True)
    reordered["rid"] = np.arange(len(reordered))
    first = train_and_score("person", person_table)
    again = train_and_score("person", reordered)
    assert _parameters(first.model) == _parameters(again.model)
    estimated = [u for *_, u in _parameters(first.model) if u not in (None, 1.0)]
    assert len(estimated) >= 8
