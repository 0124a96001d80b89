"""The true world: people, enterprises, their ties, planted risk structures and events over time.

Every firm belongs to a controlling group with a latent risk; planted structures (controllers,
phoenix firms, rings, hubs, cycles, declarant agents) get a high latent risk. Events are drawn
from quarterly Poisson hazards that grow with the firm's latent risk and with the recent events of
the other firms of its controlling group (linkage.synth.hazard); events after the cutoff are the
held-out future. Ties are dated afterwards (linkage.synth.history).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import numpy as np

from linkage.synth import identifiers as ids
from linkage.synth import names as nm

DATA_START = dt.date(2020, 1, 1)
CUTOFF = dt.date(2025, 6, 30)
EVAL_END = dt.date(2026, 6, 30)
BASE_RATE = 0.02  # events per firm-year at latent risk 0
FIRM_SD = 0.3  # a firm's own deviation from its group's latent risk
PERIOD_SD = 0.5  # the same firm's rate drifts between the past and the held-out future


@dataclass(slots=True)
class Person:
    idx: int
    name: str
    male: bool
    birth: dt.date
    id_number: str
    mobile: str

    @property
    def pid(self) -> str:
        return f"per-{self.idx:06d}"


@dataclass(slots=True)
class Firm:
    idx: int
    district: int
    region: str  # region token used in the registered name: 上海 / 上海市
    brand: str
    industry: int
    form: int
    name: str
    uscc: str
    reg_no: str | None
    address: str
    phone: str  # digits
    phone_area: str | None  # area code for landlines, None for mobiles
    established: dt.date
    legal_rep: int
    group: int
    latent: float
    status: str = "存续"
    dereg: dt.date | None = None
    customs_code: str | None = None
    shareholders: list[tuple[str, int, float]] = field(default_factory=list)  # (P|E, idx, pct)
    officers: list[tuple[int, str]] = field(default_factory=list)  # (person idx, 董事|监事|经理)
    declarants: list[int] = field(default_factory=list)
    # (start, end) of each tie, parallel to shareholders / officers (linkage.synth.history)
    shareholder_dates: list[tuple[dt.date, dt.date | None]] = field(default_factory=list)
    officer_dates: list[tuple[dt.date, dt.date | None]] = field(default_factory=list)

    @property
    def eid(self) -> str:
        return f"ent-{self.idx:06d}"


@dataclass(slots=True)
class Event:
    kind: str  # PENALTY | INSPECTION_FAILURE | BLACKLISTING
    subject: str  # ent-… or per-…
    date: dt.date
    future: bool
    forced: bool = False


@dataclass(slots=True)
class Hub:
    kind: str  # address | phone
    value: str
    enterprises: list[int]
    legitimate: bool


@dataclass
class World:
    people: list[Person] = field(default_factory=list)
    firms: list[Firm] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    declarant_pool: list[int] = field(default_factory=list)
    controllers: list[int] = field(default_factory=list)
    phoenix_pairs: list[tuple[int, int]] = field(default_factory=list)
    rings: list[list[int]] = field(default_factory=list)
    cycles: list[list[int]] = field(default_factory=list)
    hubs: list[Hub] = field(default_factory=list)
    declarant_agents: list[int] = field(default_factory=list)


class _Draws:
    """Categorical draws in vectorised chunks, consumed one at a time (deterministic order)."""

    def __init__(self, gen: np.random.Generator, weights: np.ndarray, chunk: int = 4096) -> None:
        self.gen, self.p, self.chunk = gen, weights, chunk
        self.buf: list[int] = []

    def __call__(self) -> int:
        if not self.buf:
            self.buf = self.gen.choice(len(self.p), size=self.chunk, p=self.p).tolist()[::-1]
        return self.buf.pop()


class _Builder:
    """Stateful construction of one world; all randomness comes from one seed."""

    def __init__(self, n_firms: int, seed: int) -> None:
        self.n = n_firms
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.w = World()
        self._surname = _Draws(self.np, nm.surname_weights())
        self._male = _Draws(self.np, nm.zipf_weights(len(nm.GIVEN_MALE), 1.0))
        self._female = _Draws(self.np, nm.zipf_weights(len(nm.GIVEN_FEMALE), 1.0))
        self.district = _Draws(self.np, nm.district_weights())
        self._form = _Draws(self.np, np.array(nm.FORM_WEIGHTS))
        self._ids: set[str] = set()
        self._names: set[str] = set()
        self._group = 0
        self._street_no: dict[tuple[int, int], int] = {}

    # -- people -------------------------------------------------------------------------
    def person(self) -> int:
        rng = self.rng
        male = rng.random() < 0.68
        surname = nm.SURNAMES[self._surname()][0]
        if rng.random() < nm.RARE_GIVEN_SHARE:
            chars = nm.GIVEN_CHARS_MALE if male else nm.GIVEN_CHARS_FEMALE
            given = rng.choice(chars) + rng.choice(chars)
        else:
            given = nm.GIVEN_MALE[self._male()] if male else nm.GIVEN_FEMALE[self._female()]
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 35))
        while True:
            number = ids.make_ric(rng.choice(nm.BIRTH_REGIONS), birth, male, rng)
            if number not in self._ids:
                break
        self._ids.add(number)
        p = Person(len(self.w.people), surname + given, male, birth, number, ids.make_mobile(rng))
        self.w.people.append(p)
        return p.idx

    # -- firms --------------------------------------------------------------------------
    def new_group(self, latent: float) -> tuple[int, float]:
        self._group += 1
        return self._group, latent

    def address(self, district: int) -> str:
        d = nm.DISTRICTS[district]
        street = self.rng.randrange(len(d.streets))
        key = (district, street)
        self._street_no[key] = self._street_no.get(key, 0) + self.rng.randrange(1, 4)
        no = self._street_no[key]
        extra = self.rng.choice(("", "", f"{self.rng.randrange(1, 30)}楼",
                                 f"{self.rng.randrange(1, 9)}幢{self.rng.randrange(101, 1999)}室"))
        return f"{d.province}{d.city if d.city != d.province else ''}{d.district}" \
               f"{d.streets[street]}{no}号{extra}"

    def firm(self, group: tuple[int, float], est: dt.date, legal_rep: int,
             district: int | None = None, brand: str | None = None) -> int:
        rng = self.rng
        if district is None:
            district = self.district()
        d = nm.DISTRICTS[district]
        for _ in range(50):
            b = brand or rng.choice(nm.BRAND_CHARS) + rng.choice(nm.BRAND_CHARS)
            industry = rng.randrange(len(nm.INDUSTRIES))
            form = self._form()
            region = d.city_short if rng.random() < 0.6 or d.city == d.province else d.city
            name = region + b + nm.INDUSTRIES[industry][0] + nm.FORMS[form][0]
            if name not in self._names:
                break
            brand = None
        self._names.add(name)
        while True:
            uscc = ids.make_uscc(d.code, rng)
            if uscc not in self._ids:
                break
        self._ids.add(uscc)
        reg_no = ids.make_reg_no(d.code, rng) if est < dt.date(2015, 10, 1) and rng.random() < 0.6 \
            else None
        if rng.random() < 0.5:
            phone, area = ids.make_landline(d.area_code, rng), d.area_code
        else:
            phone, area = self.w.people[legal_rep].mobile, None
        f = Firm(len(self.w.firms), district, region, b, industry, form, name, uscc, reg_no,
                 self.address(district), phone, area, est, legal_rep, group[0],
                 group[1] + float(self.np.normal(0.0, FIRM_SD)))
        if rng.random() < 0.7:
            f.customs_code = ids.make_customs_code(d.customs, rng)
        self.w.firms.append(f)
        return f.idx

    def staff(self, f: int, owners: list[int], supervisor: int | None = None) -> None:
        """Shareholders (persons) and officers of firm f; owners[0] is the legal rep."""
        firm = self.w.firms[f]
        rng = self.rng
        cuts = sorted(rng.sample(range(5, 96, 5), len(owners) - 1)) if len(owners) > 1 else []
        bounds = [0, *cuts, 100]
        shares = sorted((bounds[i + 1] - bounds[i] for i in range(len(owners))), reverse=True)
        firm.shareholders = [("P", o, float(s)) for o, s in zip(owners, shares, strict=True)]
        firm.officers = [(firm.legal_rep, rng.choice(("董事", "董事", "经理")))]
        sup = supervisor if supervisor is not None else (
            owners[1] if len(owners) > 1 and rng.random() < 0.5 else self.person())
        if sup != firm.legal_rep:
            firm.officers.append((sup, "监事"))
        if rng.random() < 0.3:
            firm.officers.append((self.person(), "经理"))

    def young_or_old(self, k: int, lo: dt.date) -> dt.date:
        """Risky groups keep opening firms: after the first two, half are under three years old."""
        if k >= 2 and self.rng.random() < 0.5:
            return self.est_date(CUTOFF - dt.timedelta(days=1000), CUTOFF - dt.timedelta(days=30))
        return self.est_date(lo)

    def est_date(self, lo: dt.date = dt.date(2003, 1, 1), hi: dt.date = CUTOFF) -> dt.date:
        return lo + dt.timedelta(days=self.rng.randrange(0, max(1, (hi - lo).days)))


def _scaled(n: int, per: int, minimum: int) -> int:
    return max(minimum, n // per)


def _plant(b: _Builder) -> None:
    """Create the planted risk structures before the ordinary firms."""
    rng, w = b.rng, b.w
    # controllers: one person behind 3-6 firms, legal rep of some, shareholder of all
    for _ in range(_scaled(b.n, 120, 3)):
        c = b.person()
        w.controllers.append(c)
        group = b.new_group(rng.uniform(1.6, 2.6))
        for k in range(rng.randint(4, 7)):
            rep = c if k % 2 == 0 else b.person()
            f = b.firm(group, b.young_or_old(k, dt.date(2016, 1, 1)), rep)
            b.staff(f, [rep, c] if rep != c else [c, b.person()])
    # phoenix: penalised firm deregistered, successor with the same people and address
    for _ in range(_scaled(b.n, 250, 3)):
        rep = b.person()
        group = b.new_group(rng.uniform(1.5, 2.5))
        old = b.firm(group, b.est_date(dt.date(2008, 1, 1), dt.date(2019, 1, 1)), rep)
        partner = b.person()
        b.staff(old, [rep, partner])
        penal = b.est_date(max(DATA_START, w.firms[old].established + dt.timedelta(days=200)),
                           dt.date(2023, 6, 1))
        w.events.append(Event("PENALTY", w.firms[old].eid, penal, False, forced=True))
        dereg = penal + dt.timedelta(days=rng.randrange(30, 240))
        w.firms[old].status, w.firms[old].dereg = "注销", dereg
        new_est = dereg + dt.timedelta(days=rng.randrange(0, 200))
        new = b.firm(group, min(new_est, CUTOFF - dt.timedelta(days=5)), rep,
                     district=w.firms[old].district,
                     brand=w.firms[old].brand if rng.random() < 0.5 else None)
        b.staff(new, [rep, partner])
        w.firms[new].address = w.firms[old].address
        if rng.random() < 0.5:
            w.firms[new].phone = w.firms[old].phone
            w.firms[new].phone_area = w.firms[old].phone_area
        w.phoenix_pairs.append((old, new))
    # rings: 4-8 firms tied by coordinators, shared addresses and phones
    for _ in range(_scaled(b.n, 200, 2)):
        group = b.new_group(rng.uniform(1.4, 2.4))
        coordinators = [b.person() for _ in range(rng.randint(1, 2))]
        district = b.district()
        addresses = [b.address(district) for _ in range(2)]
        phone = ids.make_landline(nm.DISTRICTS[district].area_code, rng)
        ring = []
        for k in range(rng.randint(5, 9)):
            rep = b.person()
            f = b.firm(group, b.young_or_old(k, dt.date(2017, 1, 1)), rep, district=district)
            b.staff(f, [rep], supervisor=rng.choice(coordinators))
            firm = w.firms[f]
            firm.officers.append((coordinators[0], "董事"))
            firm.address = rng.choice(addresses)
            if rng.random() < 0.6:
                firm.phone, firm.phone_area = phone, nm.DISTRICTS[district].area_code
            ring.append(f)
        w.rings.append(ring)
    # circular ownership A -> B -> C (-> D) -> A
    for _ in range(_scaled(b.n, 1000, 2)):
        group = b.new_group(rng.uniform(0.8, 1.8))
        cyc = []
        for _k in range(rng.randint(3, 4)):
            rep = b.person()
            f = b.firm(group, b.est_date(dt.date(2010, 1, 1)), rep)
            b.staff(f, [rep, b.person()])
            cyc.append(f)
        for i, f in enumerate(cyc):
            holder = cyc[i - 1]
            pct = float(rng.choice((10, 15, 20, 30, 40)))
            firm = w.firms[f]
            firm.shareholders = [(k, o, round(s * (100 - pct) / 100, 2))
                                 for k, o, s in firm.shareholders] + [("E", holder, pct)]
        w.cycles.append(cyc)


def _ordinary(b: _Builder) -> None:
    """Fill up to n firms with ordinary single- and multi-firm groups."""
    rng, w = b.rng, b.w
    while len(w.firms) < b.n:
        owners_n = rng.choice((1, 1, 2, 2, 3))
        k = 1 if rng.random() < 0.85 else rng.randint(2, 3)
        group = b.new_group(float(b.np.normal(-2.2, 0.6) if k == 1 else b.np.normal(-1.6, 1.0)))
        boss = b.person()
        for _ in range(min(k, b.n - len(w.firms))):
            others = [b.person() for _ in range(owners_n - 1)]
            f = b.firm(group, b.est_date(), boss)
            b.staff(f, [boss, *others])
            if len(w.firms) > 50 and rng.random() < 0.08:  # a holding company among earlier firms
                holder = rng.randrange(0, f)
                pct = float(rng.choice((20, 30, 51, 60)))
                w.firms[f].shareholders = [(kind, o, round(s * (100 - pct) / 100, 2))
                                           for kind, o, s in w.firms[f].shareholders]
                w.firms[f].shareholders.append(("E", holder, pct))


def _hubs(b: _Builder) -> None:
    """Formation-agent addresses and phones (risky) and one legitimate registered-agent hub."""
    rng, w = b.rng, b.w
    planted = {f for r in w.rings for f in r} | {f for p in w.phoenix_pairs for f in p}
    ordinary = [f.idx for f in w.firms if f.idx not in planted]
    ring_firms = [f for r in w.rings for f in r]
    taken: set[int] = set()
    for h in range(_scaled(b.n, 500, 2) + 1):
        legit = h == 0
        size = rng.randint(10, 40) if not legit else min(60, max(12, b.n // 100))
        members = rng.sample(ordinary, min(size, len(ordinary)))
        if not legit:
            members += rng.sample(ring_firms, min(len(ring_firms), rng.randint(1, 3)))
        members = sorted(set(members) - taken)
        taken.update(members)
        district = w.firms[members[0]].district
        d = nm.DISTRICTS[district]
        building = "秘书服务中心" if legit else rng.choice(("创业园", "商务中心", "经济小区"))
        addr = f"{d.province}{d.city if d.city != d.province else ''}{d.district}" \
               f"{rng.choice(d.streets)}{rng.randrange(100, 999)}号{building}"
        phone = ids.make_landline(d.area_code, rng)
        phone_members = members if legit else [m for m in members if rng.random() < 0.4]
        for m in members:
            w.firms[m].address = addr
            if not legit:
                w.firms[m].latent += 1.3
        for m in phone_members:
            w.firms[m].phone, w.firms[m].phone_area = phone, d.area_code
        w.hubs.append(Hub("address", addr, members, legit))
        if len(phone_members) >= 3:
            w.hubs.append(Hub("phone", phone, sorted(phone_members), legit))


def _declarants(b: _Builder) -> None:
    """Broker declarants for every trader; planted agents declare for many risky firms."""
    rng, w = b.rng, b.w
    w.declarant_pool = [b.person() for _ in range(_scaled(b.n, 30, 6))]
    for f in w.firms:
        if f.customs_code:
            f.declarants = rng.sample(w.declarant_pool, 2)
    risky = [f.idx for f in w.firms if f.customs_code and f.latent > 1.2]
    traders = [f.idx for f in w.firms if f.customs_code]
    for _ in range(_scaled(b.n, 1000, 2)):
        agent = b.person()
        w.declarant_agents.append(agent)
        clients = rng.sample(risky, min(len(risky), rng.randint(4, 8)))
        clients += rng.sample(traders, 3)
        for c in clients:
            w.firms[c].declarants.insert(0, agent)
            w.firms[c].latent += 0.4


def _status(b: _Builder) -> None:
    rng = b.rng
    for f in b.w.firms:
        if f.dereg is not None:
            continue
        r = rng.random()
        age = (CUTOFF - f.established).days
        if r < 0.08 and age > 500:
            f.status, f.dereg = "注销", f.established + dt.timedelta(days=rng.randrange(365, age))
        elif r < 0.11 and age > 500:
            f.status = "吊销"
        else:
            f.status = "存续" if rng.random() < 0.7 else "在业"


def _events(b: _Builder) -> None:
    """Events of the violation process (linkage.synth.hazard); future ones are held out."""
    from linkage.synth.hazard import simulate  # hazard imports this module

    rng, w = b.rng, b.w
    w.events.extend(simulate(w, rng, b.np))
    _force_observable(b)
    for e in list(w.events):  # a blacklisted firm's legal rep is often listed too
        if e.kind == "BLACKLISTING" and not e.future and rng.random() < 0.5:
            rep = w.firms[int(e.subject[4:])].legal_rep
            w.events.append(Event("BLACKLISTING", w.people[rep].pid, e.date, False))
    w.events.sort(key=lambda e: (e.date, e.subject, e.kind))


def _force_observable(b: _Builder) -> None:
    """Planted controllers and rings must be visible in the past data: >= 2 violating firms."""
    rng, w = b.rng, b.w
    past = {e.subject for e in w.events if not e.future}
    groups: list[list[int]] = list(w.rings)
    held: dict[int, list[int]] = {c: [] for c in w.controllers}
    for f in w.firms:
        for k, o, _ in f.shareholders:
            if k == "P" and o in held:
                held[o].append(f.idx)
    groups += [held[c] for c in w.controllers]
    def window(firm: Firm) -> tuple[dt.date, int]:
        lo = max(firm.established, DATA_START)
        return lo, ((firm.dereg or CUTOFF) - lo).days

    for g in groups:
        hit = [i for i in g if w.firms[i].eid in past]
        open_ = [i for i in g if i not in hit and window(w.firms[i])[1] > 0]
        for i in rng.sample(open_, min(len(open_), max(0, 2 - len(hit)))):
            firm = w.firms[i]
            lo, days = window(firm)
            kind = "INSPECTION_FAILURE" if firm.customs_code else "PENALTY"
            when = lo + dt.timedelta(days=rng.randrange(days))
            w.events.append(Event(kind, firm.eid, when, False, forced=True))
            past.add(firm.eid)
    by_agent: dict[int, list[Firm]] = {a: [] for a in w.declarant_agents}
    for firm in w.firms:
        if firm.declarants and firm.declarants[0] in by_agent:
            by_agent[firm.declarants[0]].append(firm)
    for agent in w.declarant_agents:
        clients = [c for c in by_agent[agent] if window(c)[1] > 0]
        done = [c for c in clients if c.eid in past]
        todo = [c for c in clients if c.eid not in past]
        for c in rng.sample(todo, min(len(todo), max(0, 3 - len(done)))):
            lo, days = window(c)
            when = lo + dt.timedelta(days=rng.randrange(days))
            w.events.append(Event("INSPECTION_FAILURE", c.eid, when, False, forced=True))
            past.add(c.eid)


def build_world(n_firms: int, seed: int) -> World:
    b = _Builder(n_firms, seed)
    _plant(b)
    _ordinary(b)
    _hubs(b)
    _declarants(b)
    _status(b)
    _events(b)
    from linkage.synth.history import date_ties  # history imports this module

    date_ties(b.w, b.person, seed)
    return b.w
