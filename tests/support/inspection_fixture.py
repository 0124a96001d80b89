"""The tiny fixture run with an inspector roster planted in it: inspectors tied to firms in
every way a conflict can arise (legal representative, shareholder one and two hops away,
officer, declarant, shared address, shared phone), one free of ties, one not in the graph and
one with a malformed resident ID."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import tests.support.graph_fixture as F
from inspection.roster import RosterEntry
from runfolder.folder import write_report, write_table
from tests.support.graph_fixture import _Builder, _p, _populate

INS_REP, INS_OWN, INS_DIR = _p("f1"), _p("f2"), _p("f3")
INS_DECL, INS_ADDR, INS_PHONE, INS_FREE = _p("f4"), _p("f5"), _p("f6"), _p("f7")
# inspector code -> (person, the firms it must never be assigned, how)
PLANTED: dict[str, tuple[str, dict[str, str]]] = {
    "JC001": (INS_REP, {F.A4: "legal representative"}),
    "JC002": (INS_OWN, {F.BO_HOLD: "shareholder", F.BO_TARGET: "shareholder of its owner"}),
    "JC003": (INS_DIR, {F.H3: "supervisor"}),
    "JC004": (INS_DECL, {F.H1: "declarant"}),
    "JC005": (INS_ADDR, {F.G[2]: "shared address", F.G[3]: "shared address"}),
    "JC006": (INS_PHONE, {F.G[0]: "shared phone", F.G[1]: "shared phone"}),
    "JC007": (INS_FREE, {}),
}
NOT_IN_GRAPH_ID = "310104198505050020"  # valid, held by no record
RISK = [(F.A1, 82.5, "high"), (F.A2, 75.0, "high"), (F.A3, 45.0, "medium"),
        (F.G[0], 35.0, "medium"), (F.H2, 12.0, "low"), (F.A4, 5.0, "low")]


def _plant(b: _Builder) -> None:
    d = date
    b.person(INS_REP, "钱进", "310101", d(1981, 1, 1))
    b.rel("LEGAL_REP_OF", INS_REP, F.A4)
    b.person(INS_OWN, "孔明", "110101", d(1982, 2, 2))
    b.rel("SHAREHOLDER_OF", INS_OWN, F.BO_HOLD, share=5.0)
    b.person(INS_DIR, "曹勇", "320102", d(1983, 3, 3))
    b.rel("SUPERVISOR_OF", INS_DIR, F.H3, role="监事")
    b.person(INS_DECL, "严华", "310104", d(1984, 4, 4))
    b.rel("DECLARANT_FOR", INS_DECL, F.H1)
    b.person(INS_ADDR, "华敏", "330106", d(1985, 5, 5))
    b.entities[INS_ADDR].update(address=F.RING_ADDR, address_std=F.RING_ADDR)
    b.mention(INS_ADDR, "registry_personnel", "RY0001", "officer")
    b.person(INS_PHONE, "金鑫", "330106", d(1986, 6, 6), phone=F.RING_PHONE)
    b.mention(INS_PHONE, "registry_personnel", "RY0002", "officer")
    b.person(INS_FREE, "魏然", "440106", d(1987, 7, 7))
    b.mention(INS_FREE, "registry_personnel", "RY0003", "officer")


def build_inspection_run(dir: Path) -> tuple[Path, list[RosterEntry]]:
    """The run folder (scored: RISK) and the roster of the planted inspectors plus one not in
    the graph (JC008) and one with a malformed ID (JC009)."""
    run_dir = Path(dir) / F.RUN_ID
    run_dir.mkdir(parents=True, exist_ok=True)
    b = _Builder()
    _populate(b)
    _plant(b)
    entities, evidence = b.rows()
    write_table(run_dir, "mentions", sorted(b.mentions, key=lambda m: m["mention_id"]))
    write_table(run_dir, "entities", entities)
    write_table(run_dir, "relations", sorted(b.relations.values(),
                                             key=lambda r: r["relation_id"]))
    write_table(run_dir, "events", sorted(b.events, key=lambda e: e["event_id"]))
    write_table(run_dir, "evidence", evidence)
    write_table(run_dir, "risk", [
        {"entity_id": e, "score": s, "level": lv, "reasons": "[]", "run_id": F.RUN_ID}
        for e, s, lv in RISK])
    n_ent = sum(e["kind"] == "enterprise" for e in entities)
    write_report(run_dir, {
        "run_id": F.RUN_ID, "created_at": "2026-01-01T00:00:00+00:00", "version": 1,
        "sources": {}, "entities": {"enterprise": n_ent, "person": len(entities) - n_ent},
        "models": {}, "timings": {}})
    ids = {e["entity_id"]: e["id_number"] for e in entities}
    roster = [RosterEntry(code=code, name=b.entities[pid]["name"], id_number=ids[pid],
                          agency="上海海关")
              for code, (pid, _) in PLANTED.items()]
    roster.append(RosterEntry(code="JC008", name="新人", id_number=NOT_IN_GRAPH_ID))
    roster.append(RosterEntry(code="JC009", name="错号", id_number="12345"))
    return run_dir, roster


def roster_csv(roster: list[RosterEntry]) -> str:
    lines = ["执法人员编号,姓名,身份证号码,所属单位"]
    lines += [f"{r.code},{r.name},{r.id_number},{r.agency or ''}" for r in roster]
    return "\n".join(lines) + "\n"


__all__ = ["PLANTED", "build_inspection_run", "roster_csv", "json"]
