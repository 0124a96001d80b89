"""GET /entities/{id}/network as the workspace canvas uses it: around an address or a phone,
events with their dates, relationship start dates, and edges in their stored direction."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from runfolder.folder import read_table, write_table
from runfolder.ids import address_id, phone_id
from tests.api.test_api_support import serve, tiny_run
from tests.support.graph_fixture import A1, A2, A3, CTRL, HUB_ADDR, HUB_PHONE, D


def _dated_run(base: Path) -> Path:
    """The tiny run with one relationship (CTRL -> A3, shareholder) given a start date."""
    run = tiny_run(base)
    rows = pq.read_table(run / "relations.parquet").to_pylist()
    for r in rows:
        if (r["type"], r["src"], r["dst"]) == ("SHAREHOLDER_OF", CTRL, A3):
            r["start_date"] = date(2018, 6, 1)
    write_table(run, "relations", rows)
    return run


def test_network_around_an_address_and_a_phone(tmp_path: Path) -> None:
    with serve(tmp_path) as s:
        addr = address_id(HUB_ADDR)
        resp = s.get(f"/entities/{addr}/network")
        assert resp.status_code == 200, resp.text
        body = resp.json()
        ids = {n["id"] for n in body["nodes"]}
        assert set(D) <= ids and addr in ids
        assert all(e["type"] == "LOCATED_AT" and e["target"] == addr for e in body["edges"])
        phone = s.get(f"/entities/{phone_id(HUB_PHONE)}/network")
        assert phone.status_code == 200, phone.text
        assert set(D[:5]) <= {n["id"] for n in phone.json()["nodes"]}
        # an address that is not in the run, and IDs of no node kind
        assert s.get(f"/entities/{address_id('不存在的地址1号')}/network").status_code == 404
        assert s.get("/entities/V0123456789ab/network").status_code == 422
        assert s.get("/entities/Azz/network").status_code == 422
        # inspectors still may not draw networks
        assert s.get(f"/entities/{addr}/network", role="inspector").status_code == 403


def test_events_with_dates_and_edges_in_their_direction(tmp_path: Path) -> None:
    run = _dated_run(tmp_path)
    with serve(tmp_path, run=run) as s:
        events = s.get(f"/entities/{A2}/network", params={"types": "SUBJECT_OF,LEGAL_REP_OF"})
        assert events.status_code == 200, events.text
        dated = {n["label"]: n["date"] for n in events.json()["nodes"] if n["date"]}
        assert dated == {"逃避检验": "2023-01-15", "食品不合格": "2024-09-01"}
        subject = [e for e in events.json()["edges"] if e["type"] == "SUBJECT_OF"]
        assert len(subject) == 2 and all(e["source"] == A2 for e in subject)
        # by default no events are walked
        plain = s.get(f"/entities/{A2}/network").json()
        assert not any(n["date"] for n in plain["nodes"])
        assert all(e["type"] != "SUBJECT_OF" for e in plain["edges"])

        net = s.get(f"/entities/{CTRL}/network").json()
        by_pair = {(e["type"], e["source"], e["target"]): e for e in net["edges"]}
        assert by_pair[("SHAREHOLDER_OF", CTRL, A3)]["start_date"] == "2018-06-01"
        assert by_pair[("LEGAL_REP_OF", CTRL, A1)]["start_date"] is None
        # the person is the source of every control relationship: person -> firm
        assert all(e["source"] == CTRL for e in net["edges"])
        relations = read_table(run, "relations", ("type", "src", "dst"))
        stored = {(r.type, r.src, r.dst) for r in relations.itertuples()}
        control = {k for k in by_pair if k[0] not in ("LOCATED_AT", "HAS_PHONE")}
        assert control and control <= stored  # as stored: src -> dst
