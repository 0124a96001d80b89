"""Splink's samples, drawn alike on every engine and in every row order.

Splink 5 samples deterministically: the rows for u estimation, and the records of an EM
session whose blocked pairs exceed `max_pairs`, are those whose hash bucket of the unique ID
(with the seed, for u) falls under a threshold. Two things made those samples differ between
our engines:

- the hash is the engine's own (`hash()` in DuckDB, Murmur3 in Spark);
- the unique ID `rid` is numbered differently: in order of first appearance on DuckDB, the
  smallest Spark row index (`monotonically_increasing_id`) on Spark. On DuckDB it also
  depends on the order of the input rows.

So the same seed trained on different rows, and the models differed by sampling noise, which
is not small: with about a thousand rows in the u sample, a few shared phone numbers (an
agent's switchboard on many declarations) moved "phone exact" from 0.0119 to 0.0147, enough
to take name-and-phone person links across the 0.9 threshold on one engine only
(`--profile hard`, small, seed 21: five more person entities on Spark, person pairwise F1
0.98099 against 0.98343).

Here every Splink table carries `SAMPLE_KEY`, the smallest mention ID its row stands for
(text that names the same records on every engine, whatever their order), and
`neutral_dialect` gives an engine's Splink dialect whose hash reads that key in place of the
unique ID and hashes it to the first 60 bits of its MD5: the same non-negative number in
DuckDB and Spark. The same rows are sampled, so both engines train the same model. The hash
is used only to choose samples (and predict chunks), never to compare records.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

UNIQUE_ID = "rid"  # the unique ID column of every Splink table (`models.settings_dict`)
SAMPLE_KEY = "sample_key"
HEX_DIGITS = 15  # 60 bits: a non-negative BIGINT on every engine

_TEXT_TYPE = {"duckdb": "VARCHAR", "spark": "STRING"}
_NEUTRAL: dict[type, type] = {}
_UNIQUE_ID_TOKEN = re.compile(rf"(?<![\w\"`]){UNIQUE_ID}(?![\w\"`])|\"{UNIQUE_ID}\"|`{UNIQUE_ID}`")


def hash_sql(dialect: str, expression: str) -> str:
    """SQL for the engine-neutral hash of `expression` (the unique ID read as `SAMPLE_KEY`)."""
    keyed = _UNIQUE_ID_TOKEN.sub(SAMPLE_KEY, expression)
    text = f"CAST(({keyed}) AS {_TEXT_TYPE[dialect]})"
    prefix = f"substr(md5({text}), 1, {HEX_DIGITS})"
    if dialect == "duckdb":
        return f"CAST(('0x' || {prefix}) AS BIGINT)"
    return f"CAST(conv({prefix}, 16, 10) AS BIGINT)"


def neutral_hash(text: str) -> int:
    """The number `hash_sql` computes for a value whose text is `text`."""
    return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:HEX_DIGITS], 16)


def neutral_dialect(dialect: Any) -> Any:
    """The Splink dialect `dialect` (DuckDB or Spark) with the engine-neutral hash."""
    if getattr(dialect, "_guanlian_neutral_hash", False):
        return dialect
    name = dialect.sql_dialect_str
    if name not in _TEXT_TYPE:
        raise ValueError(f"no engine-neutral hash for the {name!r} dialect")
    base = type(dialect)
    if base not in _NEUTRAL:  # one subclass per dialect: Splink keeps one instance per class

        def hash_function_expression(self: Any, col_expression: str) -> str:
            return hash_sql(name, col_expression)

        _NEUTRAL[base] = type(f"Neutral{base.__name__}", (base,), {
            "hash_function_expression": hash_function_expression, "_guanlian_neutral_hash": True})
    return _NEUTRAL[base]()


def use_neutral_sampling(db_api: Any) -> Any:
    """`db_api` sampling with the engine-neutral hash (returned for chaining). Every table
    it trains on must carry `SAMPLE_KEY`."""
    db_api.sql_dialect = neutral_dialect(db_api.sql_dialect)
    return db_api
