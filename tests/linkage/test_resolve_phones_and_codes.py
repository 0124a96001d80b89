"""People told apart or together by their own mobile numbers and birth dates, a passport
holder's name run together, and firms named by their old organisation code: what a second
reviewer's agency files (stop 48) showed the linkage getting wrong. The Spark engine gives the
same entities."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from stdnum.cn import uscc

from linkage.run import link
from linkage.standardise.identifiers import org_code, org_code_is_valid
from linkage.synth.identifiers import make_ric, make_uscc
from tests.linkage.test_resolve_registered_name import same_on_both_engines

_RNG = random.Random(48)
FIRM_A = make_uscc("310115", _RNG)  # a Shanghai trader
# a Qingdao maker, named by its organisation code too (4·3+7·7+0+0+2·5+1·8+5·4+8·2 = 115, 115
# mod 11 = 5, check 11-5 = 6), inside its USCC
ORG_B = "470021586"
FIRM_B = "91370211" + ORG_B + uscc.calc_check_digit("91370211" + ORG_B)
FIRM_C = make_uscc("440300", _RNG)  # a Shenzhen firm with a foreign legal representative
RIC_WANG = make_ric("310104", dt.date(1988, 1, 20), True, _RNG)
RIC_LIU = make_ric("350203", dt.date(1991, 12, 7), True, _RNG)
FIRM_D = make_uscc("310115", _RNG)  # a Shanghai firm whose legal representative is foreign

REGISTRY = [  # record, firm, USCC, legal representative, ID, mobile
    ("R1", "上海恒通贸易有限公司", FIRM_A, "王伟", RIC_WANG, "13800138000"),
    ("R2", "青岛永兴机械设备有限公司", FIRM_B, "孙建国", "", ""),
    ("R3", "深圳博远电子科技有限公司", FIRM_C, "DAVID BROWN", "S51421572", ""),
    ("R4", "上海德瑞贸易有限公司", FIRM_D, "PATEL RAJ", "", ""),
]
CONTACTS = [  # declaration, firm, USCC, contact, mobile
    ("C1", "上海恒通贸易有限公司", FIRM_A, "王伟", "13912345678"),  # another 王伟 of the firm
    ("C2", "上海恒通贸易有限公司", FIRM_A, "王伟", "139 1234 5678"),
    ("C3", "上海恒通贸易有限公司", FIRM_A, "王伟", "13800138000"),  # the legal representative
    ("C4", "上海德瑞贸易有限公司", FIRM_D, "PATELRAJ", ""),  # written alike, read apart
]
INSPECTIONS = [  # record, firm as written (no code), person, mobile, birth date
    ("J1", "恒通", "刘洋", "13700001111", ""),
    ("J2", "厦门某进出口", "刘洋", "+86 137-0000-1111", ""),
    ("J3", "永兴", "李军", "13557448543", "1965-03-02"),  # a father ...
    ("J4", "永兴机械", "李军", "13557448543", "1990-11-21"),  # ... and his son, one phone
]
PENALTIES = [("P1", "刘洋", RIC_LIU, "13700001111")]  # 刘洋 with his ID and the same mobile
HOLDERS = [  # record, firm, licence number as written, shareholder, document
    ("H1", "青岛永兴机械设备有限公司", f"{ORG_B[:8]}-{ORG_B[8]}", "钱敏", ""),
    ("H2", "深圳博远电子科技有限公司", FIRM_C, "BROWNDAVID", "S 51421572"),
]
MAPPING = """\
version: 1
sources:
  registry:
    path: registry.csv
    format: csv
    key: 记录号
    mentions:
      firm:
        kind: enterprise
        required: [name]
        properties: {name: 企业名称, uscc: 统一社会信用代码}
      rep:
        kind: person
        required: [name]
        properties: {name: 法定代表人, id_number: 证件号码, phone: 手机}
    relations:
      - {type: LEGAL_REP_OF, src: rep, dst: firm}
  customs:
    path: customs.csv
    format: csv
    key: 报关单号
    mentions:
      firm:
        kind: enterprise
        required: [name]
        properties: {name: 收发货人, uscc: 统一社会信用代码}
      contact: {kind: person, required: [name], properties: {name: 联系人, phone: 联系电话}}
    relations:
      - {type: MANAGER_OF, src: contact, dst: firm}
  inspection:
    path: inspection.csv
    format: csv
    key: 编号
    mentions:
      firm: {kind: enterprise, required: [name], properties: {name: 企业名称}}
      contact:
        kind: person
        required: [name]
        properties: {name: 联系人, phone: 电话, birth_date: 出生日期}
    relations:
      - {type: MANAGER_OF, src: contact, dst: firm}
  penalty:
    path: penalty.csv
    format: csv
    key: 编号
    mentions:
      party:
        kind: person
        required: [name]
        properties: {name: 姓名, id_number: 身份证号, phone: 手机}
  holders:
    path: holders.csv
    format: csv
    key: 记录号
    mentions:
      firm: {kind: enterprise, required: [name], properties: {name: 企业名称, uscc: 企业证照号}}
      holder: {kind: person, required: [name], properties: {name: 股东名称, id_number: 证件号码}}
    relations:
      - {type: SHAREHOLDER_OF, src: holder, dst: firm}
"""


def _csv(path: Path, header: str, rows: Sequence[tuple[str, ...]]) -> None:
    path.write_text("\n".join([header, *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")


def _write(folder: Path) -> Path:
    _csv(folder / "registry.csv", "记录号,企业名称,统一社会信用代码,法定代表人,证件号码,手机",
         REGISTRY)
    _csv(folder / "customs.csv", "报关单号,收发货人,统一社会信用代码,联系人,联系电话", CONTACTS)
    _csv(folder / "inspection.csv", "编号,企业名称,联系人,电话,出生日期", INSPECTIONS)
    _csv(folder / "penalty.csv", "编号,姓名,身份证号,手机", PENALTIES)
    _csv(folder / "holders.csv", "记录号,企业名称,企业证照号,股东名称,证件号码", HOLDERS)
    (folder / "sources.yaml").write_text(MAPPING, encoding="utf-8")
    return folder / "sources.yaml"


def _entities(run: Path) -> dict[str, str]:
    m = pd.read_parquet(run / "mentions.parquet")
    return dict(zip(m["source"] + ":" + m["record_id"] + ":" + m["role"], m["entity_id"],
                    strict=True))


def check(e: dict[str, str]) -> None:
    # two 王伟 at one firm, each with a mobile of their own: the contact's rows are one person,
    # the legal representative another; the row with the representative's mobile is his
    assert e["customs:C1:contact"] == e["customs:C2:contact"] != e["registry:R1:rep"]
    assert e["customs:C3:contact"] == e["registry:R1:rep"]
    assert e["customs:C4:contact"] == e["registry:R4:rep"]
    # one name and one mobile across agencies, no firm resolved: one person, the ID holder's
    assert e["inspection:J1:contact"] == e["inspection:J2:contact"] == e["penalty:P1:party"]
    # a father and his son of one name sharing a phone, birth dates apart: two people
    assert e["inspection:J3:contact"] != e["inspection:J4:contact"]
    # a passport holder written with the name run together, the same document: one person
    assert e["holders:H2:holder"] == e["registry:R3:rep"]
    # a firm named by its organisation code is the registered firm whose USCC holds it
    assert e["holders:H1:firm"] == e["registry:R2:firm"]
    assert e["holders:H2:firm"] == e["registry:R3:firm"]


def test_organisation_codes_read() -> None:
    assert org_code_is_valid("123456788")  # 1·3+2·7+3·9+4·10+5·8+6·8+7·4+8·2 = 201: 11-3 = 8
    assert org_code(" 12345678-8 ") == "123456788"
    assert org_code("12345678-9") is None  # a wrong check character
    assert org_code("1234567X-X") is None
    assert org_code(FIRM_B) is None  # a USCC is not an organisation code
    assert org_code_is_valid("00000006X")  # 6·2 = 12, 11 - 1 = 10: X
    assert org_code_is_valid("000000000")  # 0, 11 - 0 = 11: 0
    assert org_code_is_valid("000000019")  # 1·2 = 2, 11 - 2 = 9
def test_phones_birth_dates_and_codes_decide(tmp_path: Path) -> None:
    result = link(_write(tmp_path), tmp_path / "run", quiet=True)
    check(_entities(tmp_path / "run"))
    links = result.report["resolution"]["links"]
    assert links["context_mobile"]["accepted"] >= 2
    evidence = pd.read_parquet(tmp_path / "run" / "evidence.parquet")
    assert evidence["features"].str.contains("the same name and mobile number").any()
    m = pd.read_parquet(tmp_path / "run" / "mentions.parquet")
    h1 = m[(m["record_id"] == "H1") & (m["role"] == "firm")].iloc[0]
    assert pd.isna(h1["uscc"])  # an organisation code, not a malformed USCC


@pytest.mark.slow
@pytest.mark.spark
def test_the_same_on_spark(tmp_path: Path) -> None:
    check(same_on_both_engines(_write(tmp_path), tmp_path, _entities))
