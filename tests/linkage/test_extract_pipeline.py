"""End to end extraction over small hand-made agency files exercising every mapping feature."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from stdnum.cn import ric, uscc

from linkage.extract import EVENT_COLUMNS, MENTION_COLUMNS, RELATION_COLUMNS, Extraction, extract
from linkage.rowmap import QUARANTINE_COLUMNS


def _uscc(body: str) -> str:
    return body + uscc.calc_check_digit(body)


def _ric(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


USCC_A = _uscc("91310115MA1K3YJ12")
USCC_B = _uscc("91440300MA5F00001")
ID_ZHANG = _ric("11010119800307001")
BAD_ID = ID_ZHANG[:-1] + ("0" if ID_ZHANG[-1] != "0" else "1")


def _csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([header, *rows])
    path.write_bytes(out.getvalue().encode(encoding))


MAPPING: dict[str, Any] = {
    "version": 1,
    "sources": {
        "registry": {
            "agency": "市场监督管理局",
            "path": "data/registry.csv",
            "format": "csv",
            "encoding": "utf-8",
            "key": "记录编号",
            "filters": [{"column": "登记状态", "not_in": ["撤销"]}],
            "mentions": {
                "enterprise": {
                    "kind": "enterprise",
                    "required": ["name"],
                    "properties": {
                        "name": {"column": "企业名称"},
                        "uscc": {"column": "统一社会信用代码"},
                        "address": {"column": "住所"},
                        "phone": {"column": "联系电话"},
                        "established": {"column": "成立日期", "on_error": "quarantine"},
                        "status": {"column": "登记状态"},
                        "record_date": {"literal": "2024-01-01"},
                    },
                },
                "legal_rep": {
                    "kind": "person",
                    "required": ["name"],
                    "properties": {
                        "name": {"column": "法定代表人"},
                        "id_number": {"column": "证件号码"},
                        "address": {"ref": "enterprise.address"},
                    },
                },
            },
            "relations": [{"type": "LEGAL_REP_OF", "src": "legal_rep", "dst": "enterprise",
                           "start_date": {"column": "成立日期"}}],
        },
        "shareholders": {
            "path": "data/shareholders.parquet",
            "format": "parquet",
            "key": "记录编号",
            "mentions": {
                "enterprise": {"kind": "enterprise", "required": ["name"],
                               "properties": {"name": {"column": "企业名称"}}},
                "holder_person": {
                    "kind": "person", "required": ["name"],
                    "filter": {"column": "股东类型", "equals": "自然人"},
                    "properties": {"name": {"column": "股东名称"},
                                   "id_number": {"column": "证件号码"}},
                },
                "holder_firm": {
                    "kind": "enterprise", "required": ["name"],
                    "filter": [{"column": "股东类型", "in": ["企业法人", "合伙企业"]}],
                    "properties": {"name": {"column": "股东名称"}, "uscc": {"column": "证件号码"}},
                },
            },
            "relations": [
                {"type": "SHAREHOLDER_OF", "src": "holder_person", "dst": "enterprise",
                 "share_pct": {"column": "持股比例"}, "role": {"literal": "自然人股东"}},
                {"type": "SHAREHOLDER_OF", "src": "holder_firm", "dst": "enterprise",
                 "share_pct": {"column": "持股比例"}},
            ],
        },
        "customs": {
            "path": "data/customs.csv",
            "format": "csv",
            "encoding": "gbk",
            "key": "报关单号",
            "date_format": "%Y%m%d",
            "mentions": {
                "consignee": {"kind": "enterprise", "required": ["name"],
                              "properties": {"name": {"column": "收发货人"},
                                             "customs_code": {"column": "海关编码"},
                                             "record_date": {"column": "申报日期"}}},
                "declarant": {"kind": "person", "required": ["name"],
                              "properties": {"name": {"column": "申报人"},
                                             "phone": {"column": "电话"}}},
            },
            "relations": [{"type": "DECLARANT_FOR", "src": "declarant", "dst": "consignee"}],
        },
        "inspections": {
            "path": "data/inspections.jsonl",
            "format": "jsonl",
            "key": "编号",
            "mentions": {"firm": {"kind": "enterprise", "required": ["name"],
                                  "properties": {"name": {"column": "企业名称"}}}},
            "events": [
                {"type": "INSPECTION_FAILURE", "subject": "firm", "date": {"column": "日期"},
                 "category": {"column": "原因"},
                 "description": {"template": "{编号} {商品} {原因}"},
                 "filter": {"column": "结果", "equals": "不合格"}},
                {"type": "PENALTY", "subject": "firm", "date": {"column": "日期"},
                 "amount": {"column": "罚款", "on_error": "quarantine"},
                 "category": {"literal": "行政处罚"},
                 "filter": {"column": "罚款", "present": True}},
            ],
        },
    },
}


@pytest.fixture(scope="module")
def agency_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("agencies")
    data = root / "data"
    data.mkdir()
    _csv(data / "registry.csv",
         ["记录编号", "企业名称", "统一社会信用代码", "住所", "联系电话", "成立日期", "登记状态",
          "法定代表人", "证件号码"],
         [["R1", "上海华信进出口贸易有限公司", USCC_A, "上海市浦东新区张江路5号", "021-62381234",
           "2015-03-01", "存续", "张伟", ID_ZHANG],
          ["R2", "华信进出口贸易（上海）有限责任公司", "", "上海浦东新区张江路５号",
           "138 0013 8000",
           "2015/3/1", "存续", "張 偉", BAD_ID],
          ["R3", "北京某某贸易有限公司", "", "", "", "2015-13-01", "存续", "李四", ""],
          ["R1", "重复记录", "", "", "", "", "存续", "王五", ""],
          ["R4", "撤销公司", "", "", "", "", "撤销", "赵六", ""],
          ["R5", "", "", "", "", "", "存续", "", ""],
          ["R6", "深圳鑫源电子科技有限公司", "", "", "", "", "存续", "", ""],
          ["R7", "only", "three"]])
    pd.DataFrame({
        "记录编号": ["S1", "S2", "S3", "S4"],
        "企业名称": ["上海华信进出口贸易有限公司"] * 3 + ["深圳鑫源电子科技有限公司"],
        "股东类型": ["自然人", "企业法人", "外国投资者", "自然人"],
        "股东名称": ["张伟", "深圳鑫源电子科技有限公司", "ACME Ltd", "李秀英"],
        "证件号码": [ID_ZHANG, USCC_B, "", ""],
        "持股比例": [60.0, 40.0, 5.0, None],
    }).to_parquet(data / "shareholders.parquet")
    _csv(data / "customs.csv", ["报关单号", "收发货人", "海关编码", "申报日期", "申报人", "电话"],
         [["BG1", "SHANGHAI HUAXIN IMPORT AND EXPORT TRADING CO., LTD.", "2201961234",
           "20230501", "张伟", "+86 138-0013-8000"],
          ["BG2", "宁波盛达水产有限公司", "3104961234", "20230502", "陈静", "0574-87654321-801"],
          ["BG3", "宁波盛达水产有限公司", "3104961234", "20230503", "陈静", ""]],
         encoding="gbk")
    raw = (data / "customs.csv").read_bytes().replace("陈静,\n".encode("gbk"), b"\xff\xff,\n")
    (data / "customs.csv").write_bytes(raw)
    with (data / "inspections.jsonl").open("w", encoding="utf-8") as fh:
        for rec in [
            {"编号": "J1", "企业名称": "宁波盛达水产有限公司", "结果": "不合格",
             "日期": "2023-06-01",
             "原因": "菌落总数超标", "商品": "冻虾仁", "罚款": "5万元"},
            {"编号": "J2", "企业名称": "宁波盛达水产有限公司", "结果": "合格", "日期": "2023-06-02",
             "原因": "", "商品": "冻鱼"},
            {"编号": "J3", "企业名称": "青岛恒通化工有限公司", "结果": "不合格",
             "日期": "2023-06-03",
             "原因": "包装不符", "商品": "化工制品", "罚款": "很多"},
        ]:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    (root / "sources.yaml").write_text(yaml.safe_dump(MAPPING, allow_unicode=True),
                                       encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def result(agency_dir: Path) -> Extraction:
    return extract(agency_dir / "sources.yaml")


def _m(x: Extraction, mention_id: str) -> pd.Series:
    rows = x.mentions[x.mentions["mention_id"] == mention_id]
    assert len(rows) == 1, mention_id
    return rows.iloc[0]


def test_columns_follow_the_contract(result: Extraction) -> None:
    assert list(result.mentions.columns) == MENTION_COLUMNS
    assert list(result.relations.columns) == RELATION_COLUMNS
    assert list(result.events.columns) == EVENT_COLUMNS
    assert list(result.quarantine.columns) == QUARANTINE_COLUMNS
    assert result.mentions["mention_id"].is_unique


def test_every_row_is_accounted_for(result: Extraction) -> None:
    assert result.counts == {
        "registry": {"rows_in": 8, "rows_mapped": 3, "rows_quarantined": 5, "mentions": 5},
        "shareholders": {"rows_in": 4, "rows_mapped": 4, "rows_quarantined": 0, "mentions": 7},
        "customs": {"rows_in": 3, "rows_mapped": 2, "rows_quarantined": 1, "mentions": 4},
        "inspections": {"rows_in": 3, "rows_mapped": 2, "rows_quarantined": 1, "mentions": 2},
    }
    for name, c in result.counts.items():
        assert c["rows_in"] == c["rows_mapped"] + c["rows_quarantined"]
        assert (result.quarantine["source"] == name).sum() == c["rows_quarantined"]
        assert (result.mentions["source"] == name).sum() == c["mentions"]


def test_quarantine_reasons(result: Extraction) -> None:
    indexed = result.quarantine.set_index(["source", "row_number"])
    q = {k: {c: str(v) for c, v in row.items()} for k, row in indexed.iterrows()}
    assert q[("registry", 3)]["field"] == "成立日期"
    assert q[("registry", 3)]["reason"].startswith("bad date in mentions.enterprise")
    assert q[("registry", 4)]["reason"] == "duplicate record key R1 (first at row 1)"
    assert q[("registry", 5)]["reason"].startswith("excluded by filters[0]")
    assert q[("registry", 6)]["field"] == "企业名称"
    assert q[("registry", 6)]["reason"] == (
        "no mention: enterprise: missing required name; legal_rep: missing required name")
    assert q[("registry", 8)]["reason"].startswith("unparseable row")
    assert q[("customs", 3)]["reason"] == "undecodable bytes"
    assert q[("customs", 3)]["field"] == "申报人"
    assert q[("inspections", 3)]["reason"].startswith("bad number in events[1].amount")
    raw = json.loads(q[("registry", 4)]["raw"])
    assert raw["企业名称"] == "重复记录"
    assert str(result.quarantine["file"].iloc[0]).endswith(("registry.csv", "customs.csv",
                                                            "inspections.jsonl"))


def test_a_mention_missing_a_required_field_is_dropped_not_its_row(result: Extraction) -> None:
    ids = set(result.mentions["mention_id"])
    assert "registry:R6:enterprise" in ids and "registry:R6:legal_rep" not in ids
    d = result.dropped
    assert d[["source", "record_id", "role", "field"]].values.tolist() == [
        ["registry", "R6", "legal_rep", "法定代表人"]]


def test_properties_from_column_literal_and_ref(result: Extraction) -> None:
    rep = _m(result, "registry:R1:legal_rep")
    assert rep["address"] == "上海市浦东新区张江路5号"  # ref: enterprise.address
    assert rep["address_std"] == "上海市浦东新区张江路5号"
    ent = _m(result, "registry:R1:enterprise")
    assert ent["record_date"] == dt.date(2024, 1, 1)  # literal
    assert ent["established"] == dt.date(2015, 3, 1)
    assert ent["uscc"] == USCC_A and bool(ent["uscc_valid"])
    assert ent["phone"] == "+862162381234"


def test_standardised_variants_agree(result: Extraction) -> None:
    a, b = _m(result, "registry:R1:enterprise"), _m(result, "registry:R2:enterprise")
    assert a["name_std"] == b["name_std"] == "华信进出口贸易有限公司"
    assert a["name_region"] == b["name_region"] == "上海市"
    assert a["address_std"] == b["address_std"]
    assert b["established"] == dt.date(2015, 3, 1)  # 2015/3/1
    assert b["phone"] == "+8613800138000"
    en = _m(result, "customs:BG1:consignee")
    assert en["name_pinyin"] == a["name_pinyin"]
    p1, p2 = _m(result, "registry:R1:legal_rep"), _m(result, "registry:R2:legal_rep")
    assert p1["name_std"] == p2["name_std"] == "张伟"
    assert bool(p1["id_valid"]) and p1["birth_date"] == dt.date(1980, 3, 7)
    assert p2["id_number"] == BAD_ID and p2["id_valid"] == False  # noqa: E712 (pd.NA-aware)
    assert p2[["birth_date"]].isna().all()
    dec = _m(result, "customs:BG2:declarant")
    assert dec["phone"] == "+8657487654321"  # extension dropped


def test_mention_filters_choose_the_shareholder_kind(result: Extraction) -> None:
    ids = set(result.mentions[result.mentions["source"] == "shareholders"]["mention_id"])
    assert ids == {
        "shareholders:S1:enterprise", "shareholders:S1:holder_person",
        "shareholders:S2:enterprise", "shareholders:S2:holder_firm",
        "shareholders:S3:enterprise",  # a foreign investor: no filter holds, no holder mention
        "shareholders:S4:enterprise", "shareholders:S4:holder_person",
    }
    firm = _m(result, "shareholders:S2:holder_firm")
    assert firm["kind"] == "enterprise" and firm["uscc"] == USCC_B


def test_relations(result: Extraction) -> None:
    r = result.relations.set_index("src_mention")
    assert r.loc["shareholders:S1:holder_person", "share_pct"] == 60.0
    assert r.loc["shareholders:S1:holder_person", "role"] == "自然人股东"
    assert r.loc["shareholders:S2:holder_firm", "share_pct"] == 40.0
    assert r["share_pct"].isna()["shareholders:S4:holder_person"]
    assert r.loc["registry:R1:legal_rep", "type"] == "LEGAL_REP_OF"
    assert r.loc["registry:R1:legal_rep", "start_date"] == dt.date(2015, 3, 1)
    assert r.loc["customs:BG1:declarant", "dst_mention"] == "customs:BG1:consignee"
    assert "registry:R6:legal_rep" not in r.index  # its mention was dropped


def test_context_mentions(result: Extraction) -> None:
    assert list(_m(result, "registry:R1:legal_rep")["context_mentions"]) == [
        "registry:R1:enterprise"]
    assert list(_m(result, "customs:BG1:consignee")["context_mentions"]) == [
        "customs:BG1:declarant"]
    assert list(_m(result, "registry:R6:enterprise")["context_mentions"]) == []


def test_events_with_filters_and_templates(result: Extraction) -> None:
    ev = result.events.set_index("event_mention_id")
    assert set(ev.index) == {"inspections:J1:event", "inspections:J1:event2"}
    fail = ev.loc["inspections:J1:event"]
    assert fail["type"] == "INSPECTION_FAILURE"
    assert fail["description"] == "J1 冻虾仁 菌落总数超标"
    assert fail["date"] == dt.date(2023, 6, 1)
    assert fail["subject_mention"] == "inspections:J1:firm"
    pen = ev.loc["inspections:J1:event2"]
    assert pen["amount"] == 50_000.0 and pen["category"] == "行政处罚"


def test_a_new_agency_needs_only_a_mapping_entry(agency_dir: Path, tmp_path: Path) -> None:
    """Add the tax bureau's arrears list (JSON lines) without touching any code."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "tax.jsonl").write_text(
        json.dumps({"id": "T1", "纳税人": "宁波盛达水产有限公司", "欠税": "12,000",
                    "日期": "2024-02-01", "负责人": "陈静"}, ensure_ascii=False) + "\n",
        encoding="utf-8")
    mapping = json.loads(json.dumps(MAPPING))
    for src in mapping["sources"].values():
        src["path"] = str(agency_dir / src["path"])
    mapping["sources"]["tax_arrears"] = {
        "agency": "税务局", "path": "data/tax.jsonl", "format": "jsonl", "key": "id",
        "mentions": {"taxpayer": {"kind": "enterprise",
                                  "properties": {"name": {"column": "纳税人"}}},
                     "head": {"kind": "person", "properties": {"name": {"column": "负责人"}}}},
        "relations": [{"type": "MANAGER_OF", "src": "head", "dst": "taxpayer"}],
        "events": [{"type": "BLACKLISTING", "subject": "taxpayer", "date": {"column": "日期"},
                    "amount": {"column": "欠税"}, "category": {"literal": "欠税"}}],
    }
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    x = extract(path)
    assert x.counts["tax_arrears"] == {"rows_in": 1, "rows_mapped": 1, "rows_quarantined": 0,
                                       "mentions": 2}
    taxpayer = _m(x, "tax_arrears:T1:taxpayer")
    assert taxpayer["name_std"] == _m(x, "customs:BG2:consignee")["name_std"]
    assert list(taxpayer["context_mentions"]) == ["tax_arrears:T1:head"]
    ev = x.events[x.events["source"] == "tax_arrears"].iloc[0]
    assert (ev["type"], ev["amount"]) == ("BLACKLISTING", 12_000.0)
