"""Firms named in full only (an inspection list with no identifier) join the one registered
firm of that full name, or each other when none is registered; two registered firms of one
name, a name naming no region, and a firm of the same name in another city stay apart.
Customs' records of a firm (its customs code, no USCC) are no second firm of the name; a
foreign consignor's name in Latin letters, written alike, is one firm; a mistyped customs code
beside the firm's valid USCC does not split it. A name written short (大盛农产品) joins the
one firm holding an identifier under that core name, and no firm where two share it. The
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
    ("R6", "宁波大盛农产品有限公司", "330203"),
]
CUSTOMS = [  # record, name, customs code, the USCC of (a registry record), the firm (truth)
    ("C1", "宁波大盛农产品有限公司", "3302285666", "", "R6"),  # a code, no USCC
    ("C2", "宁波大盛农产品有限公司", "3302285666", "", "R6"),
    ("C11", "宁波大盛农产品有限公司", "3302285665", "", "R6"),  # the code one slip off
    ("C3", "Acme Trading Co., Ltd.", "", "", "F1"),  # foreign consignors
    ("C4", "ACME TRADING CO LTD", "", "", "F1"),
    ("C5", "Müller Maschinenbau GmbH", "", "", "F2"),
    ("C6", "MUELLER MASCHINENBAU GMBH", "", "", "F2"),
    ("C7", "Acme Foods Co., Ltd.", "", "", "F3"),  # another firm
    ("C8", "上海鑫达贸易有限公司", "3101234567", "R1", "R1"),
    ("C9", "上海鑫达贸易有限公司", "3101234576", "R1", "R1"),  # the code mistyped
    ("C10", "上海鑫达贸易有限公司", "3101234567", "", "R1"),
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
    ("J9", "宁波大盛农产品有限公司", "R6"),  # its registry and customs records: one firm
    ("J10", "大盛农产品", "R6"),  # written short: the one firm of this core name
    ("J11", "宁波大盛农产品", "R6"),
    ("J12", "恒通电子", "R2"),
    ("J13", "鑫达贸易", "?"),  # 上海 and 深圳 firms of this core name: neither
    ("J14", "华信化工", "?"),  # two registered firms of this core name: neither
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
  cus:
    path: cus.csv
    format: csv
    key: 编号
    mentions:
      firm:
        kind: enterprise
        required: [name]
        properties: {name: 收发货人, customs_code: 海关编码, uscc: 统一社会信用代码}
"""


def _write(folder: Path) -> Path:
    uscc = {r: make_uscc(d, random.Random(i)) for i, (r, _, d) in enumerate(REGISTRY)}
    reg = ["编号,企业名称,统一社会信用代码"] + [f"{r},{n},{uscc[r]}" for r, n, _ in REGISTRY]
    ins = ["编号,企业名称"] + [f"{r},{n}" for r, n, _ in INSPECTIONS]
    cus = ["编号,收发货人,海关编码,统一社会信用代码"] + [
        f'{r},"{n}",{code},{uscc.get(of, "")}' for r, n, code, of, _ in CUSTOMS]
    (folder / "reg.csv").write_text("\n".join(reg) + "\n", encoding="utf-8")
    (folder / "ins.csv").write_text("\n".join(ins) + "\n", encoding="utf-8")
    (folder / "cus.csv").write_text("\n".join(cus) + "\n", encoding="utf-8")
    (folder / "sources.yaml").write_text(MAPPING, encoding="utf-8")
    return folder / "sources.yaml"


def _entities(run: Path) -> dict[str, str]:
    m = pd.read_parquet(run / "mentions.parquet")
    return dict(zip(m["record_id"], m["entity_id"], strict=True))


def check(entity: dict[str, str]) -> None:
    for record, _, firm in INSPECTIONS:
        if firm.startswith("R"):
            assert entity[record] == entity[firm], record
    first: dict[str, str] = {}  # firm -> its first customs record
    for record, _, _, _, firm in CUSTOMS:
        first.setdefault(firm, record)
        assert entity[record] == entity[first[firm]] == entity.get(firm, entity[record]), record
    assert len({entity["C3"], entity["C5"], entity["C7"]}) == 3
    assert entity["J5"] == entity["J6"] != entity["R1"]
    assert len({entity["J7"], entity["R4"], entity["R5"]}) == 3
    assert entity["J8"] not in {entity["R1"], entity["J5"]}
    assert entity["J13"] not in {entity["R1"], entity["J5"]}
    assert entity["J14"] not in {entity["R4"], entity["R5"]}


def test_firms_named_in_full_join_the_registered_one(tmp_path: Path) -> None:
    sources = _write(tmp_path)
    result = link(sources, tmp_path / "run", quiet=True)
    check(_entities(tmp_path / "run"))
    assert result.report["resolution"]["links"]["context_registered_name"]["accepted"] >= 5
    assert result.report["resolution"]["links"]["context_short_name"]["accepted"] >= 3
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
