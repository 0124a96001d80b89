"""The bench's `backtest` stage: the honest backtest of issue 16 on the bench's run.

    python -m bench.backtest --run bench/data/medium-s7-runs/run [--as-of 2024-06-20]

Scores the run with what was known a year before its last event (`--as-of` to choose) and
measures the rule score and the learned score, each against the own-history baseline, on the
violations of that year (risk/backtest.py): AUC, the margin over the baseline, precision at the
top 1% / 5%, and the hit rate of a simulated 5% risk-weighted draw beside a uniform draw of the
same size. No truth folder is read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from runfolder.folder import read_table

HORIZON_DAYS = 365
KEYS = ["as_of", "entities", "positives", "rule_auc", "learned_auc", "baseline_auc",
        "rule_margin", "learned_margin", "recommended", "rule_precision_at_1pct",
        "learned_precision_at_1pct", "baseline_precision_at_1pct", "rule_draw_hit_rate",
        "learned_draw_hit_rate", "uniform_draw_hit_rate", "rule_draw_ratio",
        "learned_draw_ratio", "wall_s"]


def default_as_of(run_dir: Path) -> date:
    """A year before the run's last event."""
    when = pd.to_datetime(read_table(run_dir, "events")["date"], errors="coerce").dropna()
    if when.empty:
        raise ValueError(f"{run_dir}: no dated events to backtest against")
    return when.max().date() - timedelta(days=HORIZON_DAYS)


def run_stage(run_dir: Path, as_of: date | None = None) -> dict[str, Any]:
    """The stage's figures (flat, KEYS) plus the whole backtest under `detail`."""
    from risk.backtest import BacktestOptions, backtest

    started = time.perf_counter()
    cut = as_of or default_as_of(run_dir)
    out = backtest(run_dir, BacktestOptions(as_of=cut))
    rules, base, learned = out["rules"], out["baseline"], out.get("learned", {})
    draw = rules["draw"]
    learned.pop("top", None)
    return {
        "as_of": out["as_of"], "entities": out["entities"], "positives": out["positives"],
        "rule_auc": rules["auc"], "learned_auc": learned.get("auc"), "baseline_auc": base["auc"],
        "rule_margin": rules["auc_over_baseline"],
        "learned_margin": learned.get("auc_over_baseline"), "recommended": out["recommended"],
        "rule_precision_at_1pct": rules["precision_at_1pct"],
        "learned_precision_at_1pct": learned.get("precision_at_1pct"),
        "baseline_precision_at_1pct": base["precision_at_1pct"],
        "rule_draw_hit_rate": draw["weighted_hit_rate"],
        "learned_draw_hit_rate": learned.get("draw", {}).get("weighted_hit_rate"),
        "uniform_draw_hit_rate": draw["uniform_hit_rate"], "rule_draw_ratio": draw["ratio"],
        "learned_draw_ratio": learned.get("draw", {}).get("ratio"),
        "wall_s": round(time.perf_counter() - started, 1), "detail": out,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a linked run folder")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="cut date (default: a year before the run's last event)")
    args = parser.parse_args(argv)
    figures = run_stage(args.run, args.as_of)
    detail = figures.pop("detail")
    width = max(map(len, figures))
    for key in KEYS:
        print(f"{key:<{width}}  {json.dumps(figures.get(key))}")
    print(json.dumps({k: detail[k] for k in ("rules", "baseline")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
