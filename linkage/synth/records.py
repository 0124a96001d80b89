"""Turn the true world into agency records (as each agency publishes them) plus the truth rows.

Each source is a `Table` of rows (lists of cells, in column order) and the truth mentions its
mapping yields. Bad rows (for quarantine) are inserted last, so their row numbers are known.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace

import numpy as np

from linkage.synth import names as nm
from linkage.synth import noise
from linkage.synth.identifiers import format_phone
from linkage.synth.noise import NoiseLevel
from linkage.synth.profiles import Profile
from linkage.synth.styles import ProfileNoise
from linkage.synth.world import CUTOFF, DATA_START, Event, Firm, World

Cell = str | None
BAD_BYTES_MARK = "@@UNDECODABLE@@"

COLUMNS: dict[str, tuple[str, ...]] = {
    "registry_enterprises": (
        "记录编号", "统一社会信用代码", "注册号", "企业名称", "法定代表人", "法定代表人证件号码",
        "住所", "联系电话", "成立日期", "登记状态", "注销日期", "登记机关"),
    "registry_shareholders": (
        "记录编号", "企业名称", "统一社会信用代码", "股东名称", "股东类型", "证件号码",
        "持股比例", "入股日期", "退出日期"),
    "registry_personnel": ("记录编号", "企业名称", "统一社会信用代码", "姓名", "职务", "证件号码",
                           "任职日期", "离任日期"),
    "customs_declarations": (
        "报关单号", "申报日期", "进出口标志", "收发货人名称", "海关编码", "统一社会信用代码",
        "申报人姓名", "申报人证件号码", "商品编码", "商品名称", "口岸", "货值"),
    "inspection_results": (
        "编号", "企业名称", "海关编码", "商品编码", "商品名称", "检验结果", "不合格原因",
        "检验日期", "检验机构"),
    "administrative_penalties": (
        "处罚决定书文号", "当事人名称", "统一社会信用代码", "法定代表人", "违法类型", "处罚内容",
        "罚款金额", "处罚日期", "处罚机关"),
    "credit_blacklist": (
        "名单编号", "主体名称", "主体类型", "证件号码", "列入日期", "列入原因", "认定部门"),
}

NOISE: dict[str, NoiseLevel] = {
    "registry_enterprises": NoiseLevel(id_mistyped=0.02, id_missing=0.02),
    "registry_shareholders": NoiseLevel(name=0.05, id_missing=0.10, id_mistyped=0.03),
    "registry_personnel": NoiseLevel(name=0.05, id_missing=0.20, id_mistyped=0.03),
    "customs_declarations": NoiseLevel(name=0.20, english=0.15, id_missing=0.60,
                                       id_mistyped=0.03),
    "customs_declarant": NoiseLevel(id_missing=0.15, id_mistyped=0.03),
    "inspection_results": NoiseLevel(name=0.25),
    "administrative_penalties": NoiseLevel(name=0.35, id_missing=0.40, id_mistyped=0.10),
    "credit_blacklist": NoiseLevel(name=0.15, id_mistyped=0.05),
}
DECLARANT_PHONE = "申报人电话"


def columns_for(profile: Profile) -> dict[str, tuple[str, ...]]:
    """The columns of each source under a profile (customs gains the declarant's phone)."""
    out = dict(COLUMNS)
    if profile.customs.declarant_phone > 0:
        cols = list(out["customs_declarations"])
        cols.insert(cols.index("申报人证件号码") + 1, DECLARANT_PHONE)
        out["customs_declarations"] = tuple(cols)
    return out


@dataclass
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[list[Cell]] = field(default_factory=list)
    mentions: list[tuple[str, str, str]] = field(default_factory=list)  # (record_id, role, entity)
    dropped: set[str] = field(default_factory=set)  # record ids whose mentions are not expected

    def add(self, row: list[Cell], mentions: list[tuple[str, str]]) -> None:
        key = row[0]
        assert key is not None
        self.rows.append(row)
        self.mentions.extend((key, role, ent) for role, ent in mentions)


@dataclass
class Records:
    tables: dict[str, Table]
    event_records: list[tuple[Event, str, str]]  # (event, source, record_id)
    quarantine: list[dict[str, object]]


def _d(x: dt.date | None, fmt: str = "%Y-%m-%d") -> str:
    return "" if x is None else x.strftime(fmt)


def tie_dates(f: Firm, shareholders: bool) -> list[tuple[dt.date, dt.date | None]]:
    """The (start, end) of each shareholder / officer tie (from establishment when undated)."""
    ties, dated = (f.shareholders, f.shareholder_dates) if shareholders else \
        (f.officers, f.officer_dates)
    return dated if len(dated) == len(ties) else [(f.established, None)] * len(ties)


class _Maker:
    def __init__(self, world: World, seed: int, profile: Profile) -> None:
        self.w = world
        self.rng = random.Random(seed * 7919 + 1)
        self.np = np.random.default_rng(seed + 104729)
        self.x = ProfileNoise(profile, seed)
        self.phone_column = profile.customs.declarant_phone > 0
        self.noise = {src: replace(level, **profile.sources.get(src, {}))
                      for src, level in NOISE.items()}
        unknown = set(profile.sources) - set(NOISE)
        if unknown:
            raise ValueError(f"profile {profile.name}: unknown sources {sorted(unknown)}; "
                             f"known: {', '.join(NOISE)}")
        self.t = {name: Table(name, cols) for name, cols in columns_for(profile).items()}
        self.event_records: list[tuple[Event, str, str]] = []
        self.quarantine: list[dict[str, object]] = []
        self._seq: dict[str, int] = {}

    def seq(self, key: str) -> int:
        self._seq[key] = self._seq.get(key, 0) + 1
        return self._seq[key]

    def fname(self, f: Firm, source: str) -> str:
        return self.x.firm_name(f, *noise.firm_name(f, self.noise[source], self.rng))

    def ident(self, value: str, source: str) -> str:
        return noise.identifier(value, self.noise[source], self.rng)[0]

    def pident(self, value: str, source: str) -> str:
        """A person's resident ID as this source writes it."""
        return self.x.person_id(self.ident(value, source), source)

    def optional(self, value: str) -> str:
        return "" if self.x.blank() else value

    # -- registry ------------------------------------------------------------------------
    def registry(self, order: list[int]) -> None:
        people, rng = self.w.people, self.rng
        src = "registry_enterprises"
        for f in (self.w.firms[i] for i in order):
            d = nm.DISTRICTS[f.district]
            rep = people[f.legal_rep]
            key = f"SCJG{self.seq(src):08d}"
            phone = format_phone(f.phone, f.phone_area, rng)
            row: list[Cell] = [
                key, f.uscc, self.optional(f.reg_no or ""), f.name, rep.name,
                self.pident(rep.id_number, src),
                self.optional(noise.address(f.address, rng, 0.1)), self.optional(phone),
                _d(f.established), f.status,
                _d(f.dereg), f"{d.city}{d.district}市场监督管理局"]
            self.t[src].add(row, [("enterprise", f.eid), ("legal_rep", rep.pid)])
        self._shareholders(order)
        self._personnel(order)

    def _shareholders(self, order: list[int]) -> None:
        src, t = "registry_shareholders", self.t["registry_shareholders"]
        for f in (self.w.firms[i] for i in order):
            for (kind, idx, pct), (start, end) in zip(f.shareholders, tie_dates(f, True),
                                                      strict=True):
                key = f"GD{self.seq(src):09d}"
                if kind == "P":
                    p = self.w.people[idx]
                    holder, htype, hid, role, ent = self.x.person_name(p.name, p.name, src), \
                        "自然人", p.id_number, "shareholder_person", p.pid
                else:
                    h = self.w.firms[idx]
                    holder, htype, hid, role, ent = self.fname(h, src), "企业法人", h.uscc, \
                        "shareholder_enterprise", h.eid
                firm_name = self.fname(f, src)  # drawn before the ID: the default's order
                written = self.pident(hid, src) if kind == "P" else self.ident(hid, src)
                row: list[Cell] = [key, firm_name, f.uscc, holder, htype, written,
                                   f"{pct:.2f}", _d(start), _d(end)]
                t.add(row, [("enterprise", f.eid), (role, ent)])

    def _personnel(self, order: list[int]) -> None:
        src, t = "registry_personnel", self.t["registry_personnel"]
        roles = {"董事": "director", "监事": "supervisor", "经理": "manager"}
        for f in (self.w.firms[i] for i in order):
            for (pidx, title), (start, end) in zip(f.officers, tie_dates(f, False), strict=True):
                p = self.w.people[pidx]
                key = f"RY{self.seq(src):09d}"
                pid_no = self.pident(p.id_number, src) or None
                row: list[Cell] = [key, self.fname(f, src), f.uscc,
                                   noise.person_name(p.name, self.rng, 0.02), title, pid_no,
                                   _d(start), _d(end) or None]
                t.add(row, [("enterprise", f.eid), (roles[title], p.pid)])

    # -- customs ---------------------------------------------------------------------------
    def customs(self) -> None:
        t, rng = self.t["customs_declarations"], self.rng
        start = max(DATA_START, dt.date(2019, 1, 1))
        dated: list[tuple[dt.date, Firm, int]] = []
        agents = set(self.w.declarant_agents)
        for f in self.w.firms:
            if not f.customs_code:
                continue
            lo = max(f.established, start)
            hi = f.dereg or CUTOFF
            if (hi - lo).days <= 0:
                continue
            n = int(self.np.poisson(1.6 * min(1.0, (hi - lo).days / 1500)))
            agent = f.declarants[0] in agents
            for i in range(max(n, 1) if agent else n):
                when = lo + dt.timedelta(days=rng.randrange((hi - lo).days))
                r = 0.0 if agent and i == 0 else rng.random()
                declarant = f.declarants[0] if r < 0.75 else (
                    rng.choice(self.w.declarant_pool) if r < 0.95 else f.legal_rep)
                dated.append((when, f, declarant))
        dated.sort(key=lambda x: (x[0], x[1].idx))
        for when, f, declarant in dated:
            t.add(*self._declaration(when, f, declarant))

    def _declaration(self, when: dt.date, f: Firm,
                     declarant: int) -> tuple[list[Cell], list[tuple[str, str]]]:
        rng, src = self.rng, "customs_declarations"
        d = nm.DISTRICTS[f.district]
        imp = rng.random() < 0.7
        key = f"{d.customs}{when.year}{1 if imp else 0}{self.seq(src):09d}"
        name = self.fname(f, src)
        try:
            name.encode("gbk")
        except UnicodeEncodeError:
            name = f.name
        hs, goods, _ = rng.choice(nm.GOODS)
        p = self.w.people[declarant]
        value = round(float(self.np.lognormal(11.5, 1.2)), 2)
        row: list[Cell] = [
            key, _d(when, "%Y%m%d"), "进口" if imp else "出口", name, f.customs_code,
            self.ident(f.uscc, src),
            self.x.person_name(p.name, noise.person_name(p.name, rng, 0.03), src),
            self.x.person_id(noise.identifier(p.id_number, self.noise["customs_declarant"],
                                              rng)[0]), hs, goods,
            rng.choice(nm.PORTS[d.city_short]), f"{value:.2f}"]
        if self.phone_column:
            row.insert(8, self.x.declarant_phone(p.mobile))
        return row, [("consignee", f.eid), ("declarant", p.pid)]

    # -- events ----------------------------------------------------------------------------
    def inspections(self) -> None:
        src, rng = "inspection_results", self.rng
        items: list[tuple[dt.date, Firm, Event | None]] = []
        for e in self.w.events:
            if e.kind == "INSPECTION_FAILURE" and not e.future:
                items.append((e.date, self.w.firms[int(e.subject[4:])], e))
        for f in self.w.firms:
            if not f.customs_code:
                continue
            lo = max(f.established, DATA_START)
            hi = f.dereg or CUTOFF
            if (hi - lo).days > 0:
                for _ in range(int(self.np.poisson(0.6))):
                    items.append((lo + dt.timedelta(days=rng.randrange((hi - lo).days)), f, None))
        items.sort(key=lambda x: (x[0], x[1].idx, x[2] is None))
        for when, f, ev in items:
            key = f"JY{when.year}{self.seq(src):08d}"
            hs, goods, reason = rng.choice(nm.GOODS)
            d = nm.DISTRICTS[f.district]
            row: list[Cell] = [key, self.fname(f, src), f.customs_code, hs, goods,
                               "不合格" if ev else "合格", reason if ev else None, _d(when),
                               f"{d.city_short}海关技术中心"]
            self.t[src].add(row, [("enterprise", f.eid)])
            if ev:
                self.event_records.append((ev, src, key))

    def penalties(self) -> None:
        src, rng = "administrative_penalties", self.rng
        for e in self.w.events:
            if e.kind != "PENALTY" or e.future:
                continue
            f = self.w.firms[int(e.subject[4:])]
            d = nm.DISTRICTS[f.district]
            n = self.seq(d.customs_abbr + str(e.date.year))
            key = f"{d.customs_abbr}关缉违字〔{e.date.year}〕{n:04d}号"
            vtype, content = rng.choice(nm.PENALTY_TYPES)
            rep = self.w.people[f.legal_rep]
            rep_name = "" if rng.random() < 0.1 else self.x.person_name(
                rep.name, noise.person_name(rep.name, rng, 0.03), src)
            amount = round(float(self.np.lognormal(10.5, 1.0)), -2)
            row: list[Cell] = [key, self.fname(f, src), self.ident(f.uscc, src), rep_name, vtype,
                               content, f"{amount:.2f}", _d(e.date), f"{d.city_short}海关"]
            mentions = [("party", f.eid)] + ([("legal_rep", rep.pid)] if rep_name else [])
            self.t[src].add(row, mentions)
            self.event_records.append((e, src, key))

    def blacklist(self) -> None:
        src, rng = "credit_blacklist", self.rng
        for e in self.w.events:
            if e.kind != "BLACKLISTING" or e.future:
                continue
            key = f"SX{e.date.year}{self.seq(src):08d}"
            if e.subject.startswith("ent-"):
                f = self.w.firms[int(e.subject[4:])]
                name, stype, number, role = self.fname(f, src), "企业", f.uscc, "subject_enterprise"
            else:
                p = self.w.people[int(e.subject[4:])]
                name, stype, number, role = self.x.person_name(p.name, p.name, src), "自然人", \
                    p.id_number, "subject_person"
            written = self.pident(number, src) if role == "subject_person" else \
                self.ident(number, src)
            row: list[Cell] = [key, name, stype, written, _d(e.date),
                               rng.choice(nm.BLACKLIST_REASONS), rng.choice(nm.BLACKLIST_DEPTS)]
            self.t[src].add(row, [(role, e.subject)])
            self.event_records.append((e, src, key))

    # -- bad rows ----------------------------------------------------------------------------
    def bad_rows(self) -> None:
        """Genuinely bad rows, inserted at random places; recorded as expected quarantine."""
        rng = self.rng
        n = max(1, len(self.w.firms) // 1000)
        insp = self.t["inspection_results"]
        for i in range(2 * n):
            f = rng.choice([f for f in self.w.firms[:200] if f.customs_code])
            key = f"JY2024{90000000 + i:08d}"
            hs, goods, _ = nm.GOODS[i % len(nm.GOODS)]
            bad_date = i % 2 == 0
            row: list[Cell] = [key, "" if not bad_date else f.name, f.customs_code, hs, goods,
                               "合格", None, "2024-13-45" if bad_date else "2024-03-08",
                               "上海海关技术中心"]
            self._insert(insp, row, "unparseable_date" if bad_date else "missing_required")
        pen = self.t["administrative_penalties"]
        for _ in range(n):
            j = rng.randrange(len(pen.rows))
            self._insert(pen, list(pen.rows[j]), "duplicate_key", after=j)
        bl = self.t["credit_blacklist"]
        for i in range(n):
            row = [f"SX2023{99000000 + i:08d}", "", "企业", "", "2023-05-06",
                   nm.BLACKLIST_REASONS[0], nm.BLACKLIST_DEPTS[0]]
            self._insert(bl, row, "missing_required")
        cus = self.t["customs_declarations"]
        for _ in range(n):
            j = rng.randrange(len(cus.rows))
            row = list(cus.rows[j])
            assert row[0] is not None
            row[0] = row[0][:9] + f"{900000000 + self.seq('bad'):09d}"
            row[3] = f"{BAD_BYTES_MARK}{row[3]}"
            self._insert(cus, row, "undecodable")

    def _insert(self, t: Table, row: list[Cell], reason: str, after: int | None = None) -> None:
        lo = 0 if after is None else after + 1
        pos = self.rng.randrange(lo, len(t.rows) + 1)
        t.rows.insert(pos, row)
        self.quarantine.append({"source": t.name, "record_id": row[0], "reason": reason,
                                "_row": row})

    def finish(self) -> Records:
        positions = {name: {id(r): i for i, r in enumerate(t.rows, 1)}
                     for name, t in self.t.items()
                     if any(q["source"] == name for q in self.quarantine)}
        for q in self.quarantine:
            q["row_number"] = positions[str(q["source"])][id(q.pop("_row"))]
        self.quarantine.sort(key=lambda q: (str(q["source"]), int(str(q["row_number"]))))
        return Records(self.t, self.event_records, self.quarantine)


def make_records(world: World, seed: int, profile: Profile | None = None) -> Records:
    m = _Maker(world, seed, profile or Profile(name="default"))
    order = list(range(len(world.firms)))
    m.rng.shuffle(order)
    m.registry(order)
    m.customs()
    m.inspections()
    m.penalties()
    m.blacklist()
    m.bad_rows()
    return m.finish()
