"""The oracle run (perfect linkage from the generator's truth) is a valid run folder."""

from __future__ import annotations

import json
from pathlib import Path

from graph.tables import load_run
from risk.evaluate import evaluate_risk
from risk.score import score_run
from tests.support.oracle_run import write_oracle_run

TRUTH = {
    "mentions.csv": "source,record_id,role,entity\n"
                    "reg,1,enterprise,ent-000001\nreg,1,legal_rep,per-000001\n"
                    "reg,2,enterprise,ent-000002\nreg,2,legal_rep,per-000001\n"
                    "decl,9,consignee,ent-000002\ndecl,9,declarant,per-000002\n"
                    "pen,5,party,ent-000001\n",
    "enterprises.csv": "entity,name,uscc,reg_no,customs_code,address,phone,established,status,"
                       "deregistered,group,latent_risk\n"
                       "ent-000001,甲公司,,,,北京市朝阳区1号,01012345678,2015-01-01,注销,2020-01-01,1,1\n"
                       "ent-000002,乙公司,,,,北京市朝阳区1号,,2020-06-01,存续,,1,1\n",
    "persons.csv": "entity,name,gender,birth_date,id_number,mobile\n"
                   "per-000001,张三,男,1970-01-01,,13800000000\n"
                   "per-000002,李四,男,1980-01-01,,\n",
    "relations.csv": "type,src,dst,share_pct,role\nLEGAL_REP_OF,per-000001,ent-000001,,\n"
                     "LEGAL_REP_OF,per-000001,ent-000002,,\n",
    "events.csv": "entity,type,date,future,source,record_id\n"
                  "ent-000001,PENALTY,2019-05-01,false,pen,5\n"
                  "ent-000002,PENALTY,2025-09-01,true,pen,6\n",
}


def test_oracle_run_keeps_future_events_out(tmp_path: Path) -> None:
    gen = tmp_path / "gen"
    (gen / "truth").mkdir(parents=True)
    for name, text in TRUTH.items():
        (gen / "truth" / name).write_text(text, encoding="utf-8")
    risk = {"controllers": [], "phoenix_pairs": [["ent-000001", "ent-000002"]], "cycles": [],
            "rings": [], "hubs": [], "future_violators": ["ent-000002"],
            "active_at_cutoff": ["ent-000002"]}
    (gen / "truth" / "risk.json").write_text(json.dumps(risk), encoding="utf-8")
    run = write_oracle_run(gen, tmp_path / "run")
    tables = load_run(run)
    assert len(tables.events) == 1  # the future penalty is held out
    assert set(tables.relations["type"]) == {"LEGAL_REP_OF", "DECLARANT_FOR"}
    score_run(run)
    result = evaluate_risk(run, gen / "truth")
    assert result["queries"]["phoenix_pairs"]["recall"] == 1.0
    assert result["prediction"]["entities"] == 1
