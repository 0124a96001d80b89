"""The committed small data set (tests/fixtures/small): identifiers, noise, encoding, planted
structures and the predictability of the held-out future."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric, uscc

from linkage.synth import names as nm
from linkage.synth.checks import risk_signal

BASE = Path(__file__).parents[1] / "fixtures" / "small"
DATA, TRUTH = BASE / "data", BASE / "truth"


def _csv(name: str, encoding: str = "utf-8") -> pd.DataFrame:
    return pd.read_csv(DATA / name, dtype=str, keep_default_na=False, encoding=encoding,
                       encoding_errors="replace")


@pytest.fixture(scope="module")
def risk() -> dict:  # type: ignore[type-arg]
    return json.loads((TRUTH / "risk.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def mentions() -> pd.DataFrame:
    return pd.read_csv(TRUTH / "mentions.csv", dtype=str)


@pytest.fixture(scope="module")
def firms() -> pd.DataFrame:
    return pd.read_csv(TRUTH / "enterprises.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return pd.read_csv(TRUTH / "persons.csv", dtype=str, keep_default_na=False)


# -- identifiers ------------------------------------------------------------------------------

def test_every_clean_identifier_is_valid(firms: pd.DataFrame, people: pd.DataFrame) -> None:
    assert firms["uscc"].map(uscc.is_valid).all()
    assert firms["uscc"].str.match(r"^91\d{6}").all()
    assert firms["uscc"].is_unique
    assert people["id_number"].map(ric.is_valid).all()
    assert people["id_number"].is_unique
    # sequence digit odd for men, even for women
    odd = people["id_number"].str[16].astype(int) % 2 == 1
    assert (odd == people["gender"].eq("男")).all()
    reg = firms.loc[firms["reg_no"] != "", "reg_no"]
    assert len(reg) > 50 and reg.str.fullmatch(r"\d{15}").all()
    codes = firms.loc[firms["customs_code"] != "", "customs_code"]
    districts = {d.customs for d in nm.DISTRICTS}
    assert codes.str.fullmatch(r"\d{10}").all() and codes.str[:4].isin(districts).all()


def test_registry_carries_true_identifiers(firms: pd.DataFrame, mentions: pd.DataFrame) -> None:
    reg = _csv("registry_enterprises.csv")
    ent = mentions[(mentions["source"] == "registry_enterprises")
                   & (mentions["role"] == "enterprise")].set_index("record_id")["entity"]
    true = firms.set_index("entity")["uscc"]
    assert (reg["统一社会信用代码"] == reg["记录编号"].map(ent).map(true)).all()


# -- noise ------------------------------------------------------------------------------------

def _share(mask: pd.Series) -> float:
    return float(mask.mean())


def test_customs_file_is_gbk_and_noisy(firms: pd.DataFrame, mentions: pd.DataFrame) -> None:
    raw = (DATA / "customs_declarations.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = raw.split(b"\n")
    assert lines[0].decode("gbk").startswith("报关单号,申报日期")
    undecodable = 0
    for line in lines[1:]:
        try:
            line.decode("gbk")
        except UnicodeDecodeError:
            undecodable += 1
    assert 1 <= undecodable <= 5
    cus = _csv("customs_declarations.csv", "gbk")
    assert _share(cus["统一社会信用代码"] == "") == pytest.approx(0.6, abs=0.06)
    english = cus["收发货人名称"].str.contains(r"CO\.|Co\.", regex=True)
    assert _share(english) == pytest.approx(0.15, abs=0.04)
    assert cus.loc[english, "收发货人名称"].str.contains("IMPORT AND EXPORT TRADING").any()
    # consignee names differ from the registered name in about a third of declarations
    con = mentions[(mentions["source"] == "customs_declarations")
                   & (mentions["role"] == "consignee")].set_index("record_id")["entity"]
    true_name = cus["报关单号"].map(con).map(firms.set_index("entity")["name"])
    known = true_name.notna()
    assert _share(cus.loc[known, "收发货人名称"] != true_name[known]) == pytest.approx(
        0.32, abs=0.06)
    assert cus["海关编码"].str.fullmatch(r"\d{10}").all()
    assert cus["申报日期"].str.fullmatch(r"20\d{6}").all()


def test_penalty_noise(firms: pd.DataFrame, mentions: pd.DataFrame) -> None:
    pen = _csv("administrative_penalties.csv").drop_duplicates("处罚决定书文号")
    party = mentions[(mentions["source"] == "administrative_penalties")
                     & (mentions["role"] == "party")].set_index("record_id")["entity"]
    true = firms.set_index("entity")
    ents = pen["处罚决定书文号"].map(party)
    given = pen["统一社会信用代码"]
    assert _share(given == "") == pytest.approx(0.4, abs=0.12)
    present = given != ""
    wrong = given[present] != ents[present].map(true["uscc"])
    assert _share(wrong) == pytest.approx(0.1 / 0.6, abs=0.1)
    # most mistyped codes fail the checksum but are kept as data
    assert given[present][wrong].map(uscc.is_valid).mean() < 0.5
    assert _share(pen["当事人名称"] != ents.map(true["name"])) == pytest.approx(0.35, abs=0.12)
    assert _share(pen["法定代表人"] == "") == pytest.approx(0.1, abs=0.08)


def test_name_variants_present() -> None:
    inspections = [json.loads(line)["企业名称"] for line in
                   (DATA / "inspection_results.jsonl").read_text(encoding="utf-8").splitlines()]
    names = pd.concat([_csv("administrative_penalties.csv")["当事人名称"], pd.Series(inspections)])
    assert names.str.contains("（").any() and names.str.contains(r"\(", regex=True).any()
    assert names.str.contains(" ").any()
    assert names.str.contains("貿易|實業|進出口|廣州|東").any()  # traditional characters
    assert names.str.contains("有限责任公司").any() and names.str.contains("有限公司").any()


def test_phone_formats() -> None:
    phones = _csv("registry_enterprises.csv")["联系电话"]
    assert phones.str.fullmatch(r"1\d{10}").any()  # bare mobile
    assert phones.str.fullmatch(r"0\d{2,3}-\d{8}").any()  # landline with dash
    assert phones.str.fullmatch(r"0\d{2,3}-\d{8}-\d+").any()  # extension
    assert phones.str.startswith("+86").any()


def test_namesakes_are_common(people: pd.DataFrame) -> None:
    counts = Counter(people["name"])
    top = counts.most_common(1)[0][1]
    assert top >= 15, counts.most_common(5)
    # a heavy head of common names and a long tail of rare ones
    assert sum(c for c in counts.values() if c > 1) / len(people) > 0.4
    assert sum(1 for c in counts.values() if c == 1) / len(people) > 0.2


def test_personnel_parquet_has_missing_ids() -> None:
    table = pq.read_table(DATA / "registry_personnel.parquet").to_pandas()
    assert set(table["职务"]) == {"董事", "监事", "经理"}
    assert table["证件号码"].isna().mean() == pytest.approx(0.2, abs=0.05)


# -- planted structures in the source data ----------------------------------------------------

def _records_of(mentions: pd.DataFrame, entity: str, source: str, role: str) -> list[str]:
    m = mentions[(mentions["entity"] == entity) & (mentions["source"] == source)
                 & (mentions["role"] == role)]
    return list(m["record_id"])


def _violating(mentions: pd.DataFrame) -> set[str]:
    """Enterprises with an event row in the published sources."""
    events = pd.read_csv(TRUTH / "events.csv", dtype=str, keep_default_na=False)
    published = events[events["record_id"] != ""]
    return set(published.loc[published["entity"].str.startswith("ent-"), "entity"])


def test_controllers_are_behind_several_violating_firms(
    risk: dict, mentions: pd.DataFrame  # type: ignore[type-arg]
) -> None:
    violating = _violating(mentions)
    holders = mentions[(mentions["source"] == "registry_shareholders")]
    assert len(risk["controllers"]) >= 3
    for c in risk["controllers"]:
        rows = holders[(holders["entity"] == c) & (holders["role"] == "shareholder_person")]
        firms = set(holders[(holders["record_id"].isin(rows["record_id"]))
                            & (holders["role"] == "enterprise")]["entity"])
        assert len(firms) >= 4 and len(firms & violating) >= 2, c


def test_phoenix_pairs(risk: dict, mentions: pd.DataFrame) -> None:  # type: ignore[type-arg]
    reg = _csv("registry_enterprises.csv").set_index("记录编号")
    violating = _violating(mentions)
    assert len(risk["phoenix_pairs"]) >= 3
    for old, new in risk["phoenix_pairs"]:
        (r_old,) = _records_of(mentions, old, "registry_enterprises", "enterprise")
        (r_new,) = _records_of(mentions, new, "registry_enterprises", "enterprise")
        a, b = reg.loc[r_old], reg.loc[r_new]
        assert a["登记状态"] == "注销" and a["注销日期"] <= b["成立日期"]
        assert a["法定代表人"] == b["法定代表人"]
        assert old in violating
        norm = str.maketrans("０１２３４５６７８９", "0123456789")
        assert re.sub(r"\s", "", a["住所"].translate(norm))[-8:] == \
            re.sub(r"\s", "", b["住所"].translate(norm))[-8:]


def test_cycles_in_shareholder_rows(risk: dict, mentions: pd.DataFrame) -> None:  # type: ignore[type-arg]
    sh = mentions[mentions["source"] == "registry_shareholders"]
    holder = sh[sh["role"] == "shareholder_enterprise"].set_index("record_id")["entity"]
    held = sh[sh["role"] == "enterprise"].set_index("record_id")["entity"]
    edges = {(holder[r], held[r]) for r in holder.index}
    assert len(risk["cycles"]) >= 2
    for cyc in risk["cycles"]:
        for i, f in enumerate(cyc):
            assert (cyc[i - 1], f) in edges


def test_hubs(risk: dict, firms: pd.DataFrame) -> None:  # type: ignore[type-arg]
    by_addr = firms.groupby("address")["entity"].apply(set)
    kinds = Counter((h["kind"], h["legitimate"]) for h in risk["hubs"])
    assert kinds[("address", True)] == 1 and kinds[("address", False)] >= 2
    assert kinds[("phone", False)] >= 1
    for h in risk["hubs"]:
        assert len(h["enterprises"]) >= 3
        if h["kind"] == "address":
            assert by_addr[h["value"]] == set(h["enterprises"])


def test_rings_and_declarant_agents(risk: dict, mentions: pd.DataFrame) -> None:  # type: ignore[type-arg]
    violating = _violating(mentions)
    for ring in risk["rings"]:
        assert len(ring) >= 4 and len(set(ring) & violating) >= 2
    cus = mentions[mentions["source"] == "customs_declarations"]
    con = cus[cus["role"] == "consignee"].set_index("record_id")["entity"]
    assert len(risk["declarant_agents"]) >= 2
    for agent in risk["declarant_agents"]:
        recs = cus[(cus["entity"] == agent) & (cus["role"] == "declarant")]["record_id"]
        assert len(set(con[recs]) & violating) >= 3, agent


def test_future_is_held_out_and_network_predicts_it(risk: dict) -> None:  # type: ignore[type-arg]
    events = pd.read_csv(TRUTH / "events.csv", dtype=str, keep_default_na=False)
    future = events[events["future"] == "true"]
    assert (future["record_id"] == "").all() and (future["date"] > risk["cutoff_date"]).all()
    past = events[events["future"] == "false"]
    assert (past["date"] <= risk["cutoff_date"]).all()
    assert set(risk["future_violators"]) <= set(risk["active_at_cutoff"])
    sig = risk_signal(TRUTH)
    assert 0.58 <= sig["baseline_auc"] <= 0.76, sig
    assert sig["network_auc"] >= 0.78 and sig["network_auc"] - sig["baseline_auc"] >= 0.08, sig


def test_people_are_adults_when_they_act_for_a_firm(
    firms: pd.DataFrame, people: pd.DataFrame
) -> None:
    rel = pd.read_csv(TRUTH / "relations.csv", dtype=str)
    rel = rel[rel["src"].str.startswith("per-")]
    born = rel["src"].map(people.set_index("entity")["birth_date"])
    est = rel["dst"].map(firms.set_index("entity")["established"])
    age = (pd.to_datetime(est) - pd.to_datetime(born)).dt.days / 365.25
    assert (age >= 18).all()
    assert (firms["established"] <= json.loads(
        (TRUTH / "risk.json").read_text(encoding="utf-8"))["cutoff_date"]).all()
