"""One Hong Kong / Macao or Taiwan permit number, its holder written in characters in one
file and in the romanisation of their place in another (Cantonese CHAN Hoi Chun, Wade-Giles
Hsu Mei): one person when the Latin name has as many syllables as the name in characters;
another number, or a name of another length, keeps them apart. Spark gives the same."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from linkage.run import link
from tests.linkage.test_resolve_registered_name import same_on_both_engines

HOLDERS = "序号,姓名,证件号码,出生日期\n" + "\n".join([
    "1,陳海俊,H02925539,1964-11-16",
    "2,徐美,47509768,1962-06-23",
    "3,杨玲国,H47138868,1960-10-03",
    "4,林小红,H11112222,1970-01-01",
]) + "\n"
FAIR = "序号,姓名,证件号码\n" + "\n".join([
    "1,CHAN Hoi Chun,H02925539",  # Cantonese
    "2,Hsu Mei,47509768",  # Wade-Giles
    "3,YEUNG Ling Kwok,H47138868",
    "4,Chen HaiJun,H02925539",  # Mandarin pinyin, run together
    "5,LAM Siu,H11112222",  # two syllables for three characters: not checked, apart
    "6,WONG Tai Man,H99998888",  # a number no one else holds
]) + "\n"
MAPPING = """\
version: 1
sources:
  holders:
    path: holders.csv
    format: csv
    key: 序号
    mentions:
      p: {kind: person, required: [name], properties: {name: 姓名, id_number: 证件号码,
          birth_date: 出生日期}}
  fair:
    path: fair.csv
    format: csv
    key: 序号
    mentions:
      p: {kind: person, required: [name], properties: {name: 姓名, id_number: 证件号码}}
"""


def _write(folder: Path) -> Path:
    (folder / "holders.csv").write_text(HOLDERS, encoding="utf-8")
    (folder / "fair.csv").write_text(FAIR, encoding="utf-8")
    (folder / "sources.yaml").write_text(MAPPING, encoding="utf-8")
    return folder / "sources.yaml"


def _entities(run: Path) -> dict[str, str]:
    m = pd.read_parquet(run / "mentions.parquet")
    return {f"{s}{r}": e for s, r, e in zip(m["source"].str[0], m["record_id"], m["entity_id"],
                                            strict=True)}


def check(entity: dict[str, str]) -> None:
    assert entity["h1"] == entity["f1"] == entity["f4"]
    assert entity["h2"] == entity["f2"]
    assert entity["h3"] == entity["f3"]
    assert entity["h4"] != entity["f5"]
    assert len(set(entity.values())) == 6


def test_a_permit_joins_its_holders_romanised_name(tmp_path: Path) -> None:
    result = link(_write(tmp_path), tmp_path / "run", quiet=True)
    check(_entities(tmp_path / "run"))
    evidence = pd.read_parquet(tmp_path / "run" / "evidence.parquet")
    assert evidence["features"].str.contains("romanised, as many syllables").sum() == 3
    assert result.report["reconciled"]


@pytest.mark.slow
@pytest.mark.spark
def test_the_same_on_spark(tmp_path: Path) -> None:
    check(same_on_both_engines(_write(tmp_path), tmp_path, _entities))
