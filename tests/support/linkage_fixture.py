"""A small, deterministic `Extraction`-shaped world with known truth, for resolution tests.

Firms appear in a registry (valid USCC, legal representative and shareholders with IDs), on
customs declarations (customs code, sometimes a mistyped USCC, sometimes the pinyin name)
and on penalties (name and sometimes USCC; the legal representative by name only). Persons
include namesakes: the same common names at different firms with different IDs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from pypinyin import lazy_pinyin
from stdnum.cn import ric, uscc

from linkage.rowmap import NOTE_COLUMNS

TRADES = ["华信", "永安", "东方", "金桥", "海通", "瑞丰", "恒达", "新世纪", "龙腾", "远洋",
          "宏图", "博远", "天成", "中联", "汇丰", "鼎盛", "益康", "嘉禾", "明珠", "同创"]
INDUSTRIES = ["进出口贸易", "食品", "国际物流", "机械设备", "化工"]
SURNAME_NAMES = ["王伟", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴昊"]
DISTRICTS = [("上海市", "上海市", "浦东新区"), ("广东省", "深圳市", "南山区"),
             ("浙江省", "宁波市", "北仑区"), ("江苏省", "苏州市", "工业园区")]

MENTION_COLUMNS = [
    "mention_id", "source", "record_id", "role", "kind", "name", "name_std", "name_pinyin",
    "uscc", "uscc_valid", "id_number", "id_valid", "customs_code", "reg_no", "phone", "address",
    "address_std", "province", "city", "district", "birth_date", "established", "status",
    "record_date", "context_mentions",
]


@dataclass
class FakeExtraction:
    mentions: pd.DataFrame
    relations: pd.DataFrame
    events: pd.DataFrame
    quarantine: pd.DataFrame
    counts: dict[str, dict[str, int]]
    truth: dict[str, str] = field(default_factory=dict)  # mention_id -> true entity
    malformed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NOTE_COLUMNS))


def _uscc(rng: random.Random) -> str:
    body = "91310115" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc.calc_check_digit(body)


def _ric(rng: random.Random, birth: date) -> str:
    body = f"110101{birth:%Y%m%d}{rng.randrange(100, 999)}"
    return body + ric.calc_check_digit(body + "0")


def _typo(value: str, rng: random.Random) -> str:
    i = rng.randrange(len(value))
    new = "7" if value[i] != "7" else "3"
    return value[:i] + new + value[i + 1:]


def _mention(**kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(MENTION_COLUMNS)
    row.update(kw)
    row["mention_id"] = f"{row['source']}:{row['record_id']}:{row['role']}"
    name = row.get("name")
    row["name_std"] = row.get("name_std") or name
    if name and not row.get("name_pinyin"):
        row["name_pinyin"] = "".join(lazy_pinyin(row["name_std"]))
    row["uscc_valid"] = bool(row["uscc"]) and uscc.is_valid(row["uscc"])
    row["id_valid"] = bool(row["id_number"]) and ric.is_valid(row["id_number"])
    row["context_mentions"] = row.get("context_mentions") or []
    return row


def build(n_firms: int = 20, seed: int = 3) -> FakeExtraction:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    rels: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    truth: dict[str, str] = {}
    persons: list[dict[str, Any]] = []
    for p in range(n_firms + 5):
        birth = date(1960 + p % 30, 1 + p % 12, 1 + p % 27)
        persons.append({
            "name": SURNAME_NAMES[p % len(SURNAME_NAMES)],  # namesakes: names repeat
            "id": _ric(rng, birth), "birth": birth.isoformat(),
            "phone": f"+86139{p:08d}", "entity": f"person{p}",
        })

    def add(entity: str, **kw: Any) -> str:
        row = _mention(**kw)
        rows.append(row)
        truth[row["mention_id"]] = entity
        return str(row["mention_id"])

    for f in range(n_firms):
        trade = TRADES[f % len(TRADES)]
        industry = INDUSTRIES[f % len(INDUSTRIES)]
        name = f"{trade}{industry}有限公司"
        code = _uscc(rng)
        customs = f"3115{f:06d}"
        province, city, district = DISTRICTS[f % len(DISTRICTS)]
        address = f"{province}{city}{district}港城路{100 + f}号"
        phone = f"+8621{50000000 + f * 7}"
        firm = f"firm{f}"
        rep = persons[f]
        holder = persons[f + 1]
        rid = f"R{f:04d}"
        ent = add(firm, source="registry", record_id=rid, role="enterprise", kind="enterprise",
                  name=name, uscc=code, address=address, address_std=address, phone=phone,
                  province=province, city=city, district=district, established="2010-05-01",
                  status="存续")
        lr = add(rep["entity"], source="registry", record_id=rid, role="legal_rep", kind="person",
                 name=rep["name"], id_number=rep["id"], birth_date=rep["birth"],
                 context_mentions=[ent])
        rels.append({"type": "LEGAL_REP_OF", "src_mention": lr, "dst_mention": ent})
        # shareholder: with ID on the registry
        sh = add(holder["entity"], source="registry", record_id=rid, role="shareholder",
                 kind="person", name=holder["name"], id_number=holder["id"],
                 birth_date=holder["birth"], phone=holder["phone"], context_mentions=[ent])
        rels.append({"type": "SHAREHOLDER_OF", "src_mention": sh, "dst_mention": ent,
                     "share_pct": 40.0})
        # customs declarations: one with the Chinese name and a mistyped USCC,
        # one with the pinyin name and the customs code only
        add(firm, source="customs", record_id=f"C{f:04d}a", role="consignee", kind="enterprise",
            name=name, uscc=_typo(code, rng), customs_code=customs, phone=phone)
        add(firm, source="customs", record_id=f"C{f:04d}b", role="consignee", kind="enterprise",
            name=" ".join(lazy_pinyin(name)).upper(),
            name_std=" ".join(lazy_pinyin(name)).upper(),
            name_pinyin="".join(lazy_pinyin(name)), customs_code=customs)
        # a declaration naming the shareholder as declarant, with phone but no ID
        add(holder["entity"], source="customs", record_id=f"C{f:04d}a", role="declarant",
            kind="person", name=holder["name"], phone=holder["phone"], birth_date=holder["birth"])
        # penalties: the firm by name and address; its legal representative by name only
        pid = f"P{f:04d}"
        party = add(firm, source="penalties", record_id=pid, role="party", kind="enterprise",
                    name=name, address=address, address_std=address, province=province,
                    city=city, district=district, phone=phone)
        pen_rep = add(rep["entity"], source="penalties", record_id=pid, role="legal_rep",
                      kind="person", name=rep["name"], context_mentions=[party])
        rels.append({"type": "LEGAL_REP_OF", "src_mention": pen_rep, "dst_mention": party})
        events.append({"event_mention_id": f"penalties:{pid}:event", "type": "PENALTY",
                       "subject_mention": party, "date": date(2023, 1, 1 + f % 28),
                       "category": "逃避检验", "amount": 10000.0 + f, "description": "罚款",
                       "source": "penalties", "record_id": pid})
    mentions = pd.DataFrame(rows, columns=MENTION_COLUMNS)
    relations = pd.DataFrame(rels, columns=[
        "type", "src_mention", "dst_mention", "share_pct", "role", "start_date", "end_date",
        "source", "record_id"])
    relations["source"] = relations["src_mention"].str.split(":").str[0]
    relations["record_id"] = relations["src_mention"].str.split(":").str[1]
    quarantine = pd.DataFrame([{
        "source": "customs", "file": "data/customs.csv", "row_number": 7, "record_id": None,
        "field": "name", "reason": "missing required field", "raw": "{}"}])
    counts: dict[str, dict[str, int]] = {}
    for source, group in mentions.groupby("source"):
        n_rows = group["record_id"].nunique()
        extra = 1 if source == "customs" else 0
        counts[str(source)] = {"rows_in": n_rows + extra, "rows_mapped": n_rows,
                               "rows_quarantined": extra, "mentions": len(group)}
    return FakeExtraction(mentions, relations, pd.DataFrame(events), quarantine, counts, truth)
