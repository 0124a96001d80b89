"""The generator's dated history (tests/fixtures/small): dated ties, seat transfers, and
violations after a date that the exposure before it predicts - but not trivially."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

BASE = Path(__file__).parents[1] / "fixtures" / "small"
TRUTH = BASE / "truth"
CUT, NEXT = "2024-06-30", "2025-06-30"


def _truth(name: str) -> pd.DataFrame:
    return pd.read_csv(TRUTH / name, dtype=str, keep_default_na=False)


def test_every_tie_is_dated_and_transfers_hand_seats_over() -> None:
    rel = _truth("relations.csv")
    firms = _truth("enterprises.csv").set_index("entity")
    assert (rel["start_date"] != "").all()
    assert (rel["start_date"] >= rel["dst"].map(firms["established"])).all()
    ended = rel[(rel["end_date"] != "") & (rel["type"] != "LEGAL_REP_OF")]
    assert len(ended) >= 100 and (ended["end_date"] > ended["start_date"]).all()
    # a former holder's tie ends the day a new holder's tie at the same firm starts
    starts = set(zip(rel["type"], rel["dst"], rel["start_date"], strict=True))
    assert all((t, d, e) in starts for t, d, e in
               zip(ended["type"], ended["dst"], ended["end_date"], strict=True))
    reps = rel[rel["type"] == "LEGAL_REP_OF"].set_index("dst")["end_date"]
    assert (reps.reindex(firms.index) == firms["deregistered"]).all()


def test_registry_files_carry_the_tie_dates() -> None:
    sh = pd.read_csv(BASE / "data" / "registry_shareholders.csv", dtype=str,
                     keep_default_na=False)
    men = _truth("mentions.csv")
    men = men[men["source"] == "registry_shareholders"]
    holder = men[men["role"] != "enterprise"].set_index("record_id")["entity"]
    firm = men[men["role"] == "enterprise"].set_index("record_id")["entity"]
    got = set(zip(sh["记录编号"].map(holder), sh["记录编号"].map(firm), sh["入股日期"],
                  sh["退出日期"], strict=True))
    rel = _truth("relations.csv")
    rel = rel[rel["type"] == "SHAREHOLDER_OF"]
    want = set(zip(rel["src"], rel["dst"], rel["start_date"], rel["end_date"], strict=True))
    assert got == want
    per = pd.read_parquet(BASE / "data" / "registry_personnel.parquet")
    assert per["任职日期"].notna().all() and per["离任日期"].notna().sum() >= 20


def test_exposure_before_a_date_predicts_violations_after_it() -> None:
    ev = _truth("events.csv")
    ev = ev[ev["entity"].str.startswith("ent-")]
    firms = _truth("enterprises.csv")
    active = firms[(firms["established"] <= CUT)
                   & ((firms["deregistered"] == "") | (firms["deregistered"] > CUT))]
    before = ev[(ev["date"] > "2022-06-30") & (ev["date"] <= CUT)]
    after = set(ev.loc[(ev["date"] > CUT) & (ev["date"] <= NEXT), "entity"])
    group = firms.set_index("entity")["group"]
    hits = before.assign(group=before["entity"].map(group))
    per_group = hits.groupby("group")["entity"].apply(set)
    own = set(before["entity"])
    exposed = active["entity"].map(
        lambda e: bool(per_group.get(group[e], set()) - {e}))
    y = active["entity"].isin(after)
    rate_exposed, rate_other = y[exposed].mean(), y[~exposed].mean()
    assert rate_exposed >= 10 * rate_other, (rate_exposed, rate_other)
    assert rate_exposed < 0.6  # noise: most exposed firms do not violate within the year
    # not only the exposed: some violators had neither exposure nor own history
    quiet = y & ~exposed & ~active["entity"].isin(own)
    assert 0.02 * y.sum() <= quiet.sum() <= 0.5 * y.sum(), (quiet.sum(), y.sum())
