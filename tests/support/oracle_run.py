"""A run folder built from the generator's truth (perfect linkage), for evaluating risk alone.

`write_oracle_run(generated_dir, out_dir)` turns `DIR/truth/*.csv` into a contract run folder:
one entity per true entity (ID = `runfolder.ids.entity_id(kind, truth ID)`), the true relations plus
DECLARANT_FOR from declaration records, and only the *past* events (future ones stay held out).
Comparing `evaluate-risk` on it with a linked run separates risk-model error from linkage error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from runfolder.folder import write_report, write_table
from runfolder.ids import entity_id, event_id, relation_id


def _eid(truth_id: str) -> str:
    return entity_id("enterprise" if truth_id.startswith("ent-") else "person", truth_id)


def _phone(digits: object) -> str | None:
    if not isinstance(digits, str) or not digits:
        return None
    return "+86" + digits.lstrip("0")


def _date(value: object) -> Any:
    return None if not isinstance(value, str) or not value else datetime.fromisoformat(value).date()


def write_oracle_run(generated_dir: Path | str, out_dir: Path | str) -> Path:
    truth = Path(generated_dir) / "truth"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_id = "oracle-" + Path(generated_dir).name
    read = {n: pd.read_csv(truth / f"{n}.csv", dtype=str, keep_default_na=False)
            for n in ("mentions", "enterprises", "persons", "relations", "events")}
    men = read["mentions"]
    men["mention_id"] = men["source"] + ":" + men["record_id"] + ":" + men["role"]
    men["entity_id"] = men["entity"].map(_eid)
    by_entity = men.groupby("entity_id")["mention_id"].agg(sorted).to_dict()
    mentions = [
        {"mention_id": m, "source": s, "record_id": r, "role": ro, "entity_id": e, "run_id": run_id,
         "kind": "enterprise" if e.startswith("E") else "person"}
        for m, s, r, ro, e in zip(men["mention_id"], men["source"], men["record_id"], men["role"],
                                  men["entity_id"], strict=True)
    ]
    entities = []
    for row in read["enterprises"].to_dict("records"):
        eid = _eid(row["entity"])
        entities.append({
            "entity_id": eid, "kind": "enterprise", "name": row["name"], "names": [row["name"]],
            "uscc": row["uscc"] or None, "customs_code": row["customs_code"] or None,
            "reg_no": row["reg_no"] or None, "phone": _phone(row["phone"]),
            "address": row["address"], "address_std": row["address"],
            "established": _date(row["established"]), "status": row["status"],
            "mention_ids": by_entity.get(eid, []), "n_mentions": len(by_entity.get(eid, [])),
            "run_id": run_id,
        })
    for row in read["persons"].to_dict("records"):
        eid = _eid(row["entity"])
        entities.append({
            "entity_id": eid, "kind": "person", "name": row["name"], "names": [row["name"]],
            "id_number": row["id_number"] or None, "phone": _phone(row["mobile"]),
            "birth_date": _date(row["birth_date"]), "mention_ids": by_entity.get(eid, []),
            "n_mentions": len(by_entity.get(eid, [])), "run_id": run_id,
        })
    rel = read["relations"]
    decl = men[men["role"] == "declarant"].merge(
        men[men["role"] == "consignee"], on=["source", "record_id"], suffixes=("", "_c"))
    rel = pd.concat([rel, pd.DataFrame({
        "type": "DECLARANT_FOR", "src": decl["entity"], "dst": decl["entity_c"], "share_pct": "",
        "role": "",
    })], ignore_index=True).drop_duplicates(["type", "src", "dst"])
    relations = [
        {"relation_id": relation_id(t, _eid(s), _eid(d), ""), "type": t, "src": _eid(s),
         "dst": _eid(d), "share_pct": float(p) if p else None, "role": ro or None,
         "mention_ids": [], "sources": [], "run_id": run_id}
        for t, s, d, p, ro in zip(rel["type"], rel["src"], rel["dst"], rel["share_pct"],
                                  rel["role"], strict=True)
    ]
    ev = read["events"]
    ev = ev[ev["future"] != "true"].reset_index(drop=True)
    ev["mention_id"] = [  # records naming several subjects get one event each
        f"{s}:{r}:event:{e}" if s else f"truth:{i}:event"
        for i, (s, r, e) in enumerate(zip(ev["source"], ev["record_id"], ev["entity"],
                                          strict=True))
    ]
    events = [
        {"event_id": event_id(m), "type": t, "entity_id": _eid(e), "date": _date(d),
         "source": s or None, "record_id": r or None, "mention_id": m, "run_id": run_id}
        for e, t, d, s, r, m in zip(ev["entity"], ev["type"], ev["date"], ev["source"],
                                    ev["record_id"], ev["mention_id"], strict=True)
    ]
    for name, rows in (("mentions", mentions), ("entities", entities), ("relations", relations),
                       ("events", events), ("evidence", [])):
        write_table(out, name, rows)
    report = {"run_id": run_id, "created_at": datetime.now(UTC).isoformat(), "version": 1,
              "sources": {}, "entities": {}, "models": {}, "timings": {}}
    write_report(out, report)
    return out
