"""A small HAND-MADE run folder with known planted risk patterns (shared by graph tests).

`build_tiny_run(dir)` writes `dir/run_tiny/` per docs/contracts.md and returns its path. Both the
embedded-store tests and the Neo4j contract tests use this SAME builder; keep it stable.

Planted patterns (IDs are constants below):
- controller: person CTRL (张伟) is legal rep of A1, A2, A4 and 60% shareholder of A3; A1, A2, A3
  have events (A4 is clean). Person CTRL2 (李娜) is director of A1 and A2.
  Shared controllers, ranked: CTRL (3 firms, 4 events), then CTRL2 (2 firms, 3 events).
- phoenix: PHX_OLD (deregistered 注销, penalised 2021-04-12) and PHX_NEW (established
  2021-10-08) share legal rep PHX_REP and the address.
- address hub: HUB_ADDR shared by D1..D6 (D1, D2 violate); phone HUB_PHONE shared by D1..D5.
- whitelisted hub: AGENT_ADDR (a registered-agent address, see `tiny_whitelist()`) shared
  by F1..F5 (F1 violates).
- ownership cycle: C1 -40%-> C2 -30%-> C3 -20%-> C1.
- beneficial owners: BO_P1 60% and BO_P2 40% of BO_HOLD; BO_HOLD 50% of BO_TARGET;
  BO_P3 20% of BO_TARGET (and its legal rep) → BO_P1 30%, BO_P2 20%, BO_P3 20%.
- ring: G1-G2 share a phone, G2-G3 share director RING_DIR, G3-G4 share an address; G1 and
  G4 violate.
- namesakes: NAMESAKE_1 and NAMESAKE_2 are both 王芳 with different ID numbers and firms
  (H1 clean, H2 penalised); they must stay separate and unconnected.
- blacklisted person BLK_P (周杰) holds 10% of clean firm H3.
- evidence: every entity with several mentions has exact_id evidence rows (a spanning chain).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from pypinyin import lazy_pinyin
from stdnum.cn import ric, uscc

from runfolder.folder import write_report, write_table
from runfolder.ids import event_id, relation_id

RUN_ID = "run_tiny"


def _e(n: str) -> str:
    return "E" + n.rjust(12, "0")


def _p(n: str) -> str:
    return "P" + n.rjust(12, "0")


A1, A2, A3, A4 = _e("a1"), _e("a2"), _e("a3"), _e("a4")
CTRL, CTRL2 = _p("c1"), _p("c2")
PHX_OLD, PHX_NEW, PHX_REP = _e("b1"), _e("b2"), _p("c3")
D = [_e(f"d{i}") for i in range(1, 7)]
F = [_e(f"f{i}") for i in range(1, 6)]
C1, C2, C3 = _e("e1"), _e("e2"), _e("e3")
BO_HOLD, BO_TARGET = _e("e4"), _e("e5")
BO_P1, BO_P2, BO_P3 = _p("c4"), _p("c5"), _p("c6")
G = [_e(f"g{i}") for i in range(1, 5)]
RING_DIR = _p("c7")
NAMESAKE_1, NAMESAKE_2 = _p("c8"), _p("c9")
H1, H2, H3 = _e("h1"), _e("h2"), _e("h3")
BLK_P = _p("ca")

HUB_ADDR = "广东省深圳市福田区深南大道3000号"
HUB_PHONE = "+8675512345678"
AGENT_ADDR = "上海市黄浦区中山东一路1号"
PHX_ADDR = "广东省广州市天河区天河路200号"
RING_PHONE = "+8657188886666"
RING_ADDR = "浙江省杭州市西湖区文三路50号"

VIOLATORS = frozenset({A1, A2, A3, PHX_OLD, D[0], D[1], F[0], G[0], G[3], H2, BLK_P})


def tiny_whitelist() -> list[str]:
    """The hubs whitelist the tests configure (the registered-agent address)."""
    return [AGENT_ADDR]


def _uscc(seq: int) -> str:
    body = f"91310000MA1{seq:06d}"
    return body + uscc.calc_check_digit(body)


def _ric(region: str, born: date, seq: int) -> str:
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body)


def _pinyin(name: str) -> str:
    return " ".join(lazy_pinyin(name))


def _geo(address: str | None) -> tuple[str | None, str | None, str | None]:
    if not address:
        return None, None, None
    for prov, end in (("广东省", "市"), ("浙江省", "市"), ("上海市", ""), ("北京市", ""),
                      ("江苏省", "市")):
        if address.startswith(prov):
            rest = address[len(prov):]
            city = prov if not end else prov + rest[: rest.index(end) + 1]
            return prov, city, None
    return None, None, None


class _Builder:
    def __init__(self) -> None:
        self.entities: dict[str, dict[str, Any]] = {}
        self.mentions: list[dict[str, Any]] = []
        self.relations: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.seq = 0

    def enterprise(self, eid: str, name: str, address: str, *, est: date, status: str = "存续",
                   phone: str | None = None) -> None:
        self.seq += 1
        prov, city, _ = _geo(address)
        self.entities[eid] = {
            "entity_id": eid, "kind": "enterprise", "province": prov, "city": city,
            "name": name, "names": [name],
            "name_pinyin": _pinyin(name), "uscc": _uscc(self.seq),
            "customs_code": f"3100{self.seq:06d}", "reg_no": None, "id_number": None,
            "phone": phone, "address": address, "address_std": address,
            "established": est, "status": status, "birth_date": None,
        }
        self.mention(eid, "registry_enterprises", f"QY{self.seq:04d}", "enterprise")

    def person(self, pid: str, name: str, region: str, born: date, *,
               phone: str | None = None) -> None:
        self.seq += 1
        self.entities[pid] = {
            "entity_id": pid, "kind": "person", "name": name, "names": [name],
            "name_pinyin": _pinyin(name), "uscc": None, "customs_code": None, "reg_no": None,
            "id_number": _ric(region, born, self.seq), "phone": phone, "address": None,
            "address_std": None, "province": None, "city": None, "established": None,
            "status": None, "birth_date": born,
        }

    def mention(self, eid: str, source: str, record_id: str, role: str) -> str:
        ent = self.entities[eid]
        mid = f"{source}:{record_id}:{role}"
        prov, city, _ = _geo(ent["address_std"])
        self.mentions.append({
            "mention_id": mid, "source": source, "record_id": record_id, "role": role,
            "kind": ent["kind"], "entity_id": eid, "name": ent["name"], "name_std": ent["name"],
            "name_pinyin": ent["name_pinyin"], "uscc": ent["uscc"],
            "uscc_valid": ent["uscc"] is not None, "id_number": ent["id_number"],
            "id_valid": ent["id_number"] is not None, "customs_code": ent["customs_code"],
            "reg_no": None, "phone": ent["phone"], "address": ent["address"],
            "address_std": ent["address_std"], "province": prov, "city": city,
            "district": None, "birth_date": ent["birth_date"], "established": ent["established"],
            "status": ent["status"], "record_date": ent["established"], "run_id": RUN_ID,
        })
        return mid

    def rel(self, rtype: str, src: str, dst: str, *, share: float | None = None,
            role: str | None = None, start: date | None = None) -> None:
        self.seq += 1
        source = {"LEGAL_REP_OF": "registry_enterprises", "SHAREHOLDER_OF": "registry_shareholders"
                  }.get(rtype, "registry_officers")
        record = f"R{self.seq:04d}"
        src_role = {"LEGAL_REP_OF": "legal_rep", "SHAREHOLDER_OF": "shareholder"}.get(
            rtype, "officer"
        )
        ms = self.mention(src, source, record, src_role)
        md = self.mention(dst, source, record, "enterprise")
        self.relations[(rtype, src, dst)] = {
            "relation_id": relation_id(rtype, src, dst, min(ms, md)), "type": rtype,
            "src": src, "dst": dst, "share_pct": share, "role": role, "start_date": start,
            "end_date": None, "mention_ids": sorted([ms, md]), "sources": [source],
            "run_id": RUN_ID,
        }

    def event(self, eid: str, etype: str, when: date, category: str,
              amount: float | None = None) -> None:
        self.seq += 1
        source = {"BLACKLISTING": "credit_blacklist", "INSPECTION_FAILURE": "customs_inspections"
                  }.get(etype, "customs_penalties")
        record = f"X{self.seq:04d}"
        self.mention(eid, source, record, "party")
        emid = f"{source}:{record}:event"
        self.events.append({
            "event_id": event_id(emid), "type": etype, "entity_id": eid, "date": when,
            "category": category, "amount": amount, "description": f"{category} {record}",
            "source": source, "record_id": record, "mention_id": emid, "run_id": RUN_ID,
        })

    def rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        by_entity: dict[str, list[str]] = {}
        for m in self.mentions:
            by_entity.setdefault(m["entity_id"], []).append(m["mention_id"])
        entities, evidence = [], []
        for eid in sorted(self.entities):
            mids = sorted(by_entity.get(eid, []))
            ent = dict(self.entities[eid])
            ent.update(n_mentions=len(mids), mention_ids=mids, run_id=RUN_ID,
                       sources=sorted({m.split(":")[0] for m in mids}))
            entities.append(ent)
            key = "uscc" if ent["kind"] == "enterprise" else "id_number"
            for left, right in zip(mids, mids[1:], strict=False):
                evidence.append({
                    "entity_id": eid, "mention_id_l": left, "mention_id_r": right,
                    "match_weight": 12.5, "match_probability": 0.9998, "method": "exact_id",
                    "features": json.dumps([{"column": key, "level": "exact", "weight": 12.5,
                                             "value_l": ent[key], "value_r": ent[key]}],
                                           ensure_ascii=False),
                    "run_id": RUN_ID,
                })
        return entities, evidence


def _populate(b: _Builder) -> None:
    d = date
    # controller behind three violating firms
    b.person(CTRL, "张伟", "310101", d(1975, 3, 2), phone="+8613800138000")
    b.person(CTRL2, "李娜", "310104", d(1982, 7, 19))
    b.enterprise(A1, "上海华信进出口贸易有限公司", "上海市浦东新区张江路100号", est=d(2015, 3, 1))
    b.enterprise(A2, "上海华瑞食品有限公司", "上海市浦东新区张江路101号", est=d(2016, 5, 9))
    b.enterprise(A3, "苏州华盛贸易有限公司", "江苏省苏州市工业园区星湖街8号", est=d(2017, 1, 4))
    b.enterprise(A4, "上海华宁物流有限公司", "上海市闵行区虹梅路9号", est=d(2018, 8, 8))
    for firm in (A1, A2, A4):
        b.rel("LEGAL_REP_OF", CTRL, firm)
    b.rel("SHAREHOLDER_OF", CTRL, A3, share=60.0)
    b.rel("DIRECTOR_OF", CTRL2, A1, role="董事")
    b.rel("DIRECTOR_OF", CTRL2, A2, role="董事")
    b.event(A1, "PENALTY", d(2024, 5, 10), "伪报品名", 50000.0)
    b.event(A2, "INSPECTION_FAILURE", d(2024, 9, 1), "食品不合格")
    b.event(A2, "PENALTY", d(2023, 1, 15), "逃避检验", 20000.0)
    b.event(A3, "BLACKLISTING", d(2024, 11, 20), "严重失信主体")
    # phoenix pair
    b.person(PHX_REP, "陈刚", "440106", d(1970, 1, 30))
    b.enterprise(PHX_OLD, "广州永盛贸易有限公司", PHX_ADDR, est=d(2012, 6, 1), status="注销")
    b.enterprise(PHX_NEW, "广州永泰贸易有限公司", PHX_ADDR, est=d(2021, 10, 8))
    b.rel("LEGAL_REP_OF", PHX_REP, PHX_OLD)
    b.rel("LEGAL_REP_OF", PHX_REP, PHX_NEW)
    b.event(PHX_OLD, "PENALTY", d(2021, 4, 12), "伪造单证", 80000.0)
    # address hub and phone hub
    hub_names = ["深圳鹏达", "深圳宏远", "深圳利丰", "深圳金桥", "深圳新港", "深圳捷通"]
    for i, (eid, trade) in enumerate(zip(D, hub_names, strict=True)):
        b.enterprise(eid, f"{trade}贸易有限公司", HUB_ADDR, est=d(2019, 1 + i, 1),
                     phone=HUB_PHONE if i < 5 else None)
    b.event(D[0], "PENALTY", d(2024, 1, 20), "拆单逃避检验", 10000.0)
    b.event(D[1], "INSPECTION_FAILURE", d(2024, 2, 21), "标签不合格")
    # whitelisted registered-agent address
    for i, eid in enumerate(F):
        b.enterprise(eid, f"上海代理{i + 1}号商贸有限公司", AGENT_ADDR, est=d(2020, 1 + i, 2))
    b.event(F[0], "INSPECTION_FAILURE", d(2023, 6, 6), "检出有害生物")
    # ownership cycle
    b.enterprise(C1, "宁波甲方投资有限公司", "浙江省宁波市鄞州区天童路1号", est=d(2014, 1, 1))
    b.enterprise(C2, "宁波乙方实业有限公司", "浙江省宁波市鄞州区天童路2号", est=d(2014, 2, 1))
    b.enterprise(C3, "宁波丙方贸易有限公司", "浙江省宁波市鄞州区天童路3号", est=d(2014, 3, 1))
    b.rel("SHAREHOLDER_OF", C1, C2, share=40.0)
    b.rel("SHAREHOLDER_OF", C2, C3, share=30.0)
    b.rel("SHAREHOLDER_OF", C3, C1, share=20.0)
    # beneficial-owner chain
    b.person(BO_P1, "王强", "110101", d(1968, 4, 4))
    b.person(BO_P2, "赵敏", "110102", d(1979, 9, 9))
    b.person(BO_P3, "刘洋", "110105", d(1985, 12, 12))
    b.enterprise(BO_HOLD, "北京恒通投资有限公司", "北京市朝阳区建国路1号", est=d(2010, 1, 1))
    b.enterprise(BO_TARGET, "北京恒远科技有限公司", "北京市海淀区中关村大街2号", est=d(2016, 1, 1))
    b.rel("SHAREHOLDER_OF", BO_P1, BO_HOLD, share=60.0)
    b.rel("SHAREHOLDER_OF", BO_P2, BO_HOLD, share=40.0)
    b.rel("SHAREHOLDER_OF", BO_HOLD, BO_TARGET, share=50.0)
    b.rel("SHAREHOLDER_OF", BO_P3, BO_TARGET, share=20.0)
    b.rel("LEGAL_REP_OF", BO_P3, BO_TARGET)
    # ring tied by a phone, a director and an address
    b.person(RING_DIR, "孙丽", "330106", d(1988, 2, 2))
    b.enterprise(G[0], "杭州东盛食品有限公司", "浙江省杭州市上城区解放路1号", est=d(2019, 3, 3),
                 phone=RING_PHONE)
    b.enterprise(G[1], "杭州西泰贸易有限公司", "浙江省杭州市拱墅区湖墅路2号", est=d(2019, 4, 4),
                 phone=RING_PHONE)
    b.enterprise(G[2], "杭州南达物流有限公司", RING_ADDR, est=d(2019, 5, 5))
    b.enterprise(G[3], "杭州北润进出口有限公司", RING_ADDR, est=d(2019, 6, 6))
    b.rel("DIRECTOR_OF", RING_DIR, G[1], role="董事")
    b.rel("DIRECTOR_OF", RING_DIR, G[2], role="董事")
    b.event(G[0], "PENALTY", d(2024, 2, 2), "伪报原产地", 30000.0)
    b.event(G[3], "INSPECTION_FAILURE", d(2023, 7, 7), "农药残留超标")
    # namesakes (same name, different people) and a blacklisted person
    b.person(NAMESAKE_1, "王芳", "310105", d(1980, 5, 5))
    b.person(NAMESAKE_2, "王芳", "440305", d(1992, 8, 8))
    b.enterprise(H1, "上海芳华服饰有限公司", "上海市长宁区延安西路5号", est=d(2018, 2, 2))
    b.enterprise(H2, "深圳芳源电子有限公司", "广东省深圳市南山区科技园6号", est=d(2020, 3, 3))
    b.rel("LEGAL_REP_OF", NAMESAKE_1, H1)
    b.rel("LEGAL_REP_OF", NAMESAKE_2, H2)
    b.event(H2, "PENALTY", d(2024, 3, 3), "瞒报", 5000.0)
    b.person(BLK_P, "周杰", "320102", d(1977, 7, 7))
    b.enterprise(H3, "南京杰诚贸易有限公司", "江苏省南京市玄武区中山路7号", est=d(2021, 1, 1))
    b.rel("SHAREHOLDER_OF", BLK_P, H3, share=10.0)
    b.event(BLK_P, "BLACKLISTING", d(2024, 6, 6), "失信被执行人")


def build_tiny_run(dir: Path) -> Path:
    """Write the tiny run folder under `dir` and return its path (`dir/run_tiny`)."""
    run_dir = Path(dir) / RUN_ID
    run_dir.mkdir(parents=True, exist_ok=True)
    b = _Builder()
    _populate(b)
    entities, evidence = b.rows()
    write_table(run_dir, "mentions", sorted(b.mentions, key=lambda m: m["mention_id"]))
    write_table(run_dir, "entities", entities)
    write_table(run_dir, "relations", sorted(b.relations.values(), key=lambda r: r["relation_id"]))
    write_table(run_dir, "events", sorted(b.events, key=lambda e: e["event_id"]))
    write_table(run_dir, "evidence", evidence)
    n_ent = sum(e["kind"] == "enterprise" for e in entities)
    report = {
        "run_id": RUN_ID, "created_at": "2026-01-01T00:00:00+00:00", "version": 1,
        "sources": {}, "entities": {"enterprise": n_ent, "person": len(entities) - n_ent},
        "models": {}, "timings": {},
    }
    write_report(run_dir, report)
    return run_dir
