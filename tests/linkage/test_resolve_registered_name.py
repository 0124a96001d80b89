"""Firms named in full only (an inspection list with no identifier) join the one registered
firm of that full name, or each other when none is registered; two registered firms of one
name, a name naming no region, and a firm of the same name in another city stay apart. The
Spark engine gives the same entities."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from linkage.run import link
from linkage.synth.identifiers import make_uscc

REGISTRY = [  # record, name, the USCC's division
    ("R1", "上海鑫达贸易有限公司", "310115"),
    ("R2", "上海恒通电子有限公司", "310115"),
    ("R3", "深圳宏远食品有限公司", "440300"),
    ("R4", "北京华信化工有限公司", "110105"),
    ("R5", "北京华信化工有限公司", "110108"),  # a second firm of one name
]
INSPECTIONS = [  # record, name, the firm it is (truth)
    ("J1", "上海鑫达贸易有限公司", "R1"),
    ("J2", "上海鑫达贸易有限公司", "R1"),
    ("J3", "上海恒通电子有限公司", "R2"),
    ("J4", "深圳宏远食品有限公司", "R3"),
    ("J5", "深圳鑫达贸易有限公司", "S1"),  # another city: not R1
    ("J6", "深圳鑫达贸易有限公司", "S1"),  # ... but the same firm as J5
    ("J7", "北京华信化工有限公司", "?"),  # which of R4 / R5: neither
    ("J8", "鑫达贸易有限公司", "?"),  # no region: left to the model
]
MAPPING = """\
version: 1
sources:
  reg:
    path: reg.csv
    format: csv
    key: 编号
    mentions:
      firm:
        kind: enterprise
        required: [name]
        properties: {name: 企业名称, uscc: 统一社会信用代码}
  ins:
    path: ins.csv
    format: csv
    key: 编号
    mentions:
      firm: {kind: enterprise, required: [name], properties: {name: 企业名称}}
"""


def _write(folder: Path) -> Path:
    reg = ["编号,企业名称,统一社会信用代码"] + [
        f"{r},{n},{make_uscc(d, random.Random(i))}" for i, (r, n, d) in enumerate(REGISTRY)]
    ins = ["编号,企业名称"] + [f"{r},{n}" for r, n, _ in INSPECTIONS]
    (folder / "reg.csv").write_text("\n".join(reg) + "\n", encoding="utf-8")
    (folder / "ins.csv").write_text("\n".join(ins) + "\n", encoding="utf-8")
    (folder / "sources.yaml").write_text(MAPPING, encoding="utf-8")
    return folder / "sources.yaml"


def _entities(run: Path) -> dict[str, str]:
    m = pd.read_parquet(run / "mentions.parquet")
    return dict(zip(m["record_id"], m["entity_id"], strict=True))


def check(entity: dict[str, str]) -> None:
    for record, _, firm in INSPECTIONS:
        if firm.startswith("R"):
            assert entity[record] == entity[firm], record
    assert entity["J5"] == entity["J6"] != entity["R1"]
    assert len({entity["J7"], entity["R4"], entity["R5"]}) == 3
    assert entity["J8"] not in {entity["R1"], entity["J5"]}


def test_firms_named_in_full_join_the_registered_one(tmp_path: Path) -> None:
    sources = _write(tmp_path)
    result = link(sources, tmp_path / "run", quiet=True)
    check(_entities(tmp_path / "run"))
    assert result.report["resolution"]["links"]["context_registered_name"]["accepted"] >= 5
    evidence = pd.read_parquet(tmp_path / "run" / "evidence.parquet")
    assert evidence["features"].str.contains(
        "the only firm with an identifier under this full name").any()


@pytest.mark.slow
@pytest.mark.spark
def test_the_same_on_spark(tmp_path: Path) -> None:
    check(same_on_both_engines(_write(tmp_path), tmp_path, _entities))


def same_on_both_engines(sources: Path, folder: Path,
                         entities: Callable[[Path], dict[str, str]]) -> dict[str, str]:
    """`entities` of a DuckDB and a Spark run of `sources` (in `folder`), asserted equal;
    the Spark run's, for the caller's checks."""
    link(sources, folder / "duck", quiet=True)
    link(sources, folder / "spark", engine="spark", quiet=True)
    duck, spark = entities(folder / "duck"), entities(folder / "spark")
    assert duck == spark
    return spark
