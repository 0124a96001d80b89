"""The violation process: quarterly Poisson hazards with contagion inside controlling groups.

A firm's hazard in a quarter is `BASE_RATE · exp(latent) · drift · (1 + CONTAGION · m)` events
per firm-year, where `m` is the number of events (capped at CONTAGION_CAP) of the *other* firms
of its controlling group in the previous MEMORY_QUARTERS quarters, and `drift` is drawn once per
firm for the past and once for the held-out future (PERIOD_SD in world.py). So firms tied to a
controller whose other firms recently violated violate more - a signal in the graph before any
date - while most firms, with a low latent risk, violate rarely and at random (the noise). A firm
is exposed only on its active window: from establishment (or DATA_START) to deregistration,
the cutoff, or half-way for revoked firms; the future window (after CUTOFF) only for firms still
active at the cutoff.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np

from linkage.synth.world import BASE_RATE, CUTOFF, DATA_START, EVAL_END, PERIOD_SD, Event, World

CONTAGION = 0.4  # relative hazard added per recent event of another firm of the group
CONTAGION_CAP = 3
MEMORY_QUARTERS = 8
QUARTER_DAYS = 91


def _windows(w: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per firm: start and end (day numbers) of the past window, and whether the future opens."""
    start, end, future = [], [], []
    for f in w.firms:
        lo = max(f.established, DATA_START)
        hi = f.dereg or (CUTOFF if f.status != "吊销" else min(CUTOFF, lo + dt.timedelta(
            days=max(30, (CUTOFF - lo).days // 2))))
        start.append(lo.toordinal())
        end.append(hi.toordinal())
        future.append(f.dereg is None and f.status != "吊销")
    return np.array(start), np.array(end), np.array(future)


def _kind(customs: bool, r: float) -> str:
    if customs and r < 0.55:
        return "INSPECTION_FAILURE"
    return "PENALTY" if r < 0.9 else "BLACKLISTING"


def simulate(w: World, rng: random.Random, gen: np.random.Generator) -> list[Event]:
    """The unforced events of every firm, past and held-out future, in date order per quarter."""
    n = len(w.firms)
    group = np.array([f.group for f in w.firms])
    n_groups = int(group.max()) + 1 if n else 1
    base = BASE_RATE * np.exp(np.array([f.latent for f in w.firms]))
    drift = np.exp(gen.normal(0.0, PERIOD_SD, size=(2, n)))
    start, end, future_open = _windows(w)
    cut, stop = CUTOFF.toordinal(), EVAL_END.toordinal()
    customs = [bool(f.customs_code) for f in w.firms]
    history: list[np.ndarray] = []  # per past quarter: events per firm
    out: list[Event] = []
    q0 = DATA_START.toordinal()
    while q0 <= stop:
        q1 = min(q0 + QUARTER_DAYS, stop + 1)
        recent = np.sum(history[-MEMORY_QUARTERS:], axis=0) if history else np.zeros(n)
        by_group = np.bincount(group, weights=recent, minlength=n_groups)
        others = np.minimum(by_group[group] - recent, CONTAGION_CAP)
        # exposure: the part of [q0, q1) inside the past window, or inside the future window
        past_lo, past_hi = np.maximum(start, q0), np.minimum(np.minimum(end, cut) + 1, q1)
        fut_lo, fut_hi = max(cut + 1, q0), q1
        past_days = np.clip(past_hi - past_lo, 0, None)
        fut_days = np.where(future_open, max(0, fut_hi - fut_lo), 0)
        rate = base * (1.0 + CONTAGION * others) / 365.25
        counts = np.zeros(n)
        for days, lo, period in ((past_days, past_lo, 0), (fut_days, None, 1)):
            k = gen.poisson(rate * drift[period] * days)
            for i in np.flatnonzero(k):
                first = int(lo[i]) if lo is not None else fut_lo
                for _ in range(int(k[i])):
                    when = dt.date.fromordinal(first + rng.randrange(int(days[i])))
                    f = w.firms[i]
                    out.append(Event(_kind(customs[i], rng.random()), f.eid, when, period == 1))
            counts += k
        history.append(counts)
        q0 = q1
    return out
