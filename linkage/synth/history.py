"""Dated ties: when each shareholder and officer tie started and, for former ones, ended.

Runs after the world is built (its own random stream, so the firms, people and events of a seed
stay what they were). Every tie starts when its firm was established, except the ties of a
transfer: for a share of the firms older than two years, one shareholder (or officer) joined
later, on the transfer date, and a former holder of that seat - a new person - held it from the
firm's establishment until that date. Former ties end; current ties have no end date (a
deregistered firm's registry rows keep their last holders, as registries do; its legal
representative's tie ends on the deregistration date through `注销日期`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from linkage.synth.world import CUTOFF, World

TRANSFER_SHARE = 0.15  # firms whose one shareholder seat changed hands
APPOINT_SHARE = 0.10  # firms whose one officer seat changed hands
MIN_AGE_DAYS = 730


def _transfer_date(rng: random.Random, est: dt.date, end: dt.date) -> dt.date | None:
    lo, hi = est + dt.timedelta(days=180), end - dt.timedelta(days=30)
    if (hi - lo).days <= 0:
        return None
    return lo + dt.timedelta(days=rng.randrange((hi - lo).days))


def date_ties(world: World, new_person: Callable[[], int], seed: int) -> None:
    """Fill `shareholder_dates` / `officer_dates` of every firm (parallel to its ties), adding
    the former holders of transferred seats as ended ties."""
    rng = random.Random(seed * 15_485_863 + 7)
    planted = set(world.controllers)
    for f in world.firms:
        f.shareholder_dates = [(f.established, None) for _ in f.shareholders]
        f.officer_dates = [(f.established, None) for _ in f.officers]
        end = f.dereg or CUTOFF
        if (end - f.established).days < MIN_AGE_DAYS:
            continue
        seats = [i for i, (k, o, _) in enumerate(f.shareholders)
                 if k == "P" and o not in planted and o != f.legal_rep]
        if seats and rng.random() < TRANSFER_SHARE:
            when = _transfer_date(rng, f.established, end)
            if when is not None:
                i = rng.choice(seats)
                _, _, pct = f.shareholders[i]
                f.shareholder_dates[i] = (when, None)
                f.shareholders.append(("P", new_person(), pct))
                f.shareholder_dates.append((f.established, when))
        posts = [i for i, (o, title) in enumerate(f.officers)
                 if title != "董事" and o not in planted and o != f.legal_rep]
        if posts and rng.random() < APPOINT_SHARE:
            when = _transfer_date(rng, f.established, end)
            if when is not None:
                i = rng.choice(posts)
                f.officer_dates[i] = (when, None)
                f.officers.append((new_person(), f.officers[i][1]))
                f.officer_dates.append((f.established, when))
