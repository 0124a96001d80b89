"""Shareholdings written as fractions of one (0.6 for 60%): a source whose shares are all at
most 1, one at least strictly between 0 and 1, is read as fractions and its shares are
scaled to percent; a source of percentages, or with a single share, is read as written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from linkage.extract import extract, fraction_sources, shares_as_percent

MAPPING = """\
version: 1
sources:
  holders:
    path: holders.csv
    format: csv
    key: 序号
    mentions:
      firm: {kind: enterprise, required: [name], properties: {name: 企业名称}}
      holder: {kind: person, required: [name], properties: {name: 股东名称}}
    relations:
      - {type: SHAREHOLDER_OF, src: holder, dst: firm, share_pct: 持股比例}
"""
FIRMS = ["上海鑫达贸易有限公司", "上海鑫达贸易有限公司", "上海恒通电子有限公司"]


def write_holders(folder: Path, shares: list[str]) -> Path:
    rows = ["序号,企业名称,股东名称,持股比例"] + [
        f"{i},{firm},{person},{share}"
        for i, (firm, person, share) in enumerate(zip(FIRMS, ["张建国", "李秀英", "王强"],
                                                      shares, strict=True), 1)]
    (folder / "holders.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "sources.yaml").write_text(MAPPING, encoding="utf-8")
    return folder / "sources.yaml"


@pytest.mark.parametrize("written,read,fractions", [
    (["0.6", "0.4", "1"], [60.0, 40.0, 100.0], ["holders"]),
    (["60%", "40", "100"], [60.0, 40.0, 100.0], []),
    (["0.6", "0.4", "5"], [0.6, 0.4, 5.0], []),  # a value above 1: percentages
    (["1", "1", "0"], [1.0, 1.0, 0.0], []),  # none strictly between: as written
])
def test_shares_read_as_written_or_as_fractions(tmp_path: Path, written: list[str],
                                                read: list[float], fractions: list[str]) -> None:
    x = extract(write_holders(tmp_path, written))
    assert x.relations.sort_values("record_id")["share_pct"].tolist() == read
    assert x.fractions == fractions


def test_the_decision_per_source() -> None:
    assert fraction_sources({"a": (2, 1.0, 1), "b": (1, 0.5, 1), "c": (3, 1.5, 2),
                             "d": (3, 1.0, 0)}) == ["a"]
    relations = pd.DataFrame({"source": ["a", "a", "b", "b"], "share_pct": [0.25, None, 30, 70]})
    scaled, which = shares_as_percent(relations)
    assert which == []  # one known value in a
    relations.loc[1, "share_pct"] = 0.75
    scaled, which = shares_as_percent(relations)
    assert which == ["a"] and scaled["share_pct"].tolist() == [25.0, 75.0, 30.0, 70.0]
