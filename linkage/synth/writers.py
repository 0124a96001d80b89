"""Write the agency files, `sources.yaml` and the truth tables of a generated data set."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from linkage.synth.records import (
    BAD_BYTES_MARK,
    DECLARANT_PHONE,
    Records,
    Table,
    tie_dates,
)
from linkage.synth.world import CUTOFF, EVAL_END, World


class _Flow(dict[str, Any]):
    """A small mapping written inline: `{column: 企业名称}`."""


class _FlowList(list[str]):
    """A short list written inline: `[name]`."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))

# source name -> (file name, format, encoding)
FILES: dict[str, tuple[str, str, str]] = {
    "registry_enterprises": ("registry_enterprises.csv", "csv", "utf-8"),
    "registry_shareholders": ("registry_shareholders.csv", "csv", "utf-8"),
    "registry_personnel": ("registry_personnel.parquet", "parquet", "utf-8"),
    "customs_declarations": ("customs_declarations.csv", "csv", "gbk"),
    "inspection_results": ("inspection_results.jsonl", "jsonl", "utf-8"),
    "administrative_penalties": ("administrative_penalties.csv", "csv", "utf-8"),
    "credit_blacklist": ("credit_blacklist.csv", "csv", "utf-8"),
}
UNDECODABLE = b"\xff\xfe\xff"  # 0xFF is never a valid GBK byte


def _csv_text(t: Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(t.columns)
    writer.writerows([["" if c is None else c for c in r] for r in t.rows])
    return buf.getvalue()


def write_table(t: Table, data_dir: Path) -> Path:
    fname, fmt, encoding = FILES[t.name]
    path = data_dir / fname
    cols = t.columns
    if fmt == "csv":
        raw = _csv_text(t).encode(encoding)
        path.write_bytes(raw.replace(BAD_BYTES_MARK.encode("ascii"), UNDECODABLE))
    elif fmt == "jsonl":
        with path.open("w", encoding=encoding, newline="\n") as fh:
            for r in t.rows:
                fh.write(json.dumps(dict(zip(cols, r, strict=True)), ensure_ascii=False) + "\n")
    else:
        table = pa.table({c: pa.array([r[i] for r in t.rows], type=pa.string())
                          for i, c in enumerate(cols)})
        pq.write_table(table, path, compression="zstd")
    return path


def sources_mapping(declarant_phone: bool = False) -> dict[str, Any]:
    """The `sources.yaml` content, in the form of docs/contracts.md ("Source mapping");
    `declarant_phone` maps the customs declarant's phone column of some noise profiles."""

    def col(c: str) -> dict[str, str]:
        return _Flow(column=c)

    def src(name: str, agency: str, key: str, mentions: dict[str, Any],
            relations: list[dict[str, Any]] | None = None,
            events: list[dict[str, Any]] | None = None,
            date_format: str | None = None) -> dict[str, Any]:
        fname, fmt, enc = FILES[name]
        out: dict[str, Any] = {"agency": agency, "path": f"data/{fname}", "format": fmt}
        if fmt != "parquet":
            out["encoding"] = enc
        out["key"] = key
        if date_format:
            out["date_format"] = date_format
        out["mentions"] = mentions
        if relations:
            out["relations"] = relations
        if events:
            out["events"] = events
        return out

    def ent(props: dict[str, str], required: tuple[str, ...] = ("name",),
            flt: dict[str, Any] | None = None) -> dict[str, Any]:
        m: dict[str, Any] = {"kind": "enterprise", "required": _FlowList(required)}
        if flt:
            m["filter"] = _Flow(flt)
        m["properties"] = {k: col(v) for k, v in props.items()}
        return m

    def per(props: dict[str, str], flt: dict[str, Any] | None = None) -> dict[str, Any]:
        m: dict[str, Any] = {"kind": "person", "required": _FlowList(["name"])}
        if flt:
            m["filter"] = _Flow(flt)
        m["properties"] = {k: col(v) for k, v in props.items()}
        return m

    officer_roles = {"director": ("董事", "DIRECTOR_OF"), "supervisor": ("监事", "SUPERVISOR_OF"),
                     "manager": ("经理", "MANAGER_OF")}
    sources = {
        "registry_enterprises": src(
            "registry_enterprises", "市场监督管理局", "记录编号",
            {"enterprise": ent({"name": "企业名称", "uscc": "统一社会信用代码", "reg_no": "注册号",
                                "address": "住所", "phone": "联系电话", "established": "成立日期",
                                "status": "登记状态", "record_date": "成立日期"}),
             "legal_rep": per({"name": "法定代表人", "id_number": "法定代表人证件号码"})},
            relations=[{"type": "LEGAL_REP_OF", "src": "legal_rep", "dst": "enterprise",
                        "start_date": col("成立日期"), "end_date": col("注销日期")}]),
        "registry_shareholders": src(
            "registry_shareholders", "市场监督管理局", "记录编号",
            {"enterprise": ent({"name": "企业名称", "uscc": "统一社会信用代码"}),
             "shareholder_person": per({"name": "股东名称", "id_number": "证件号码"},
                                       flt={"column": "股东类型", "equals": "自然人"}),
             "shareholder_enterprise": ent({"name": "股东名称", "uscc": "证件号码"},
                                           flt={"column": "股东类型", "equals": "企业法人"})},
            relations=[{"type": "SHAREHOLDER_OF", "src": s, "dst": "enterprise",
                        "share_pct": col("持股比例"), "start_date": col("入股日期"),
                        "end_date": col("退出日期")}
                       for s in ("shareholder_person", "shareholder_enterprise")]),
        "registry_personnel": src(
            "registry_personnel", "市场监督管理局", "记录编号",
            {"enterprise": ent({"name": "企业名称", "uscc": "统一社会信用代码"}),
             **{role: per({"name": "姓名", "id_number": "证件号码"},
                          flt={"column": "职务", "equals": title})
                for role, (title, _) in officer_roles.items()}},
            relations=[{"type": rel, "src": role, "dst": "enterprise", "role": col("职务"),
                        "start_date": col("任职日期"), "end_date": col("离任日期")}
                       for role, (_, rel) in officer_roles.items()]),
        "customs_declarations": src(
            "customs_declarations", "海关", "报关单号",
            {"consignee": ent({"name": "收发货人名称", "customs_code": "海关编码",
                               "uscc": "统一社会信用代码", "record_date": "申报日期"}),
             "declarant": per({"name": "申报人姓名", "id_number": "申报人证件号码",
                               **({"phone": DECLARANT_PHONE} if declarant_phone else {}),
                               "record_date": "申报日期"})},
            relations=[{"type": "DECLARANT_FOR", "src": "declarant", "dst": "consignee",
                        "start_date": col("申报日期")}],
            date_format="%Y%m%d"),
        "inspection_results": src(
            "inspection_results", "海关（检验检疫）", "编号",
            {"enterprise": ent({"name": "企业名称", "customs_code": "海关编码",
                                "record_date": "检验日期"}, required=("name", "record_date"))},
            events=[{"type": "INSPECTION_FAILURE", "subject": "enterprise", "date": col("检验日期"),
                     "category": col("不合格原因"),
                     "description": _Flow(template="{编号} {商品名称} {不合格原因}"),
                     "filter": _Flow(column="检验结果", equals="不合格")}]),
        "administrative_penalties": src(
            "administrative_penalties", "海关", "处罚决定书文号",
            {"party": ent({"name": "当事人名称", "uscc": "统一社会信用代码",
                           "record_date": "处罚日期"}),
             "legal_rep": per({"name": "法定代表人", "record_date": "处罚日期"})},
            relations=[{"type": "LEGAL_REP_OF", "src": "legal_rep", "dst": "party"}],
            events=[{"type": "PENALTY", "subject": "party", "date": col("处罚日期"),
                     "category": col("违法类型"), "amount": col("罚款金额"),
                     "description": _Flow(template="{处罚决定书文号} {处罚内容}")}]),
        "credit_blacklist": src(
            "credit_blacklist", "信用中国", "名单编号",
            {"subject_enterprise": ent({"name": "主体名称", "uscc": "证件号码",
                                        "record_date": "列入日期"},
                                       flt={"column": "主体类型", "equals": "企业"}),
             "subject_person": per({"name": "主体名称", "id_number": "证件号码",
                                    "record_date": "列入日期"},
                                   flt={"column": "主体类型", "equals": "自然人"})},
            events=[{"type": "BLACKLISTING", "subject": subj, "date": col("列入日期"),
                     "category": col("列入原因"),
                     "description": _Flow(template="{名单编号} {认定部门} {列入原因}"),
                     "filter": _Flow(column="主体类型", equals=val)}
                    for subj, val in (("subject_enterprise", "企业"),
                                      ("subject_person", "自然人"))]),
    }
    return {"version": 1, "sources": sources}


def write_sources_yaml(path: Path, declarant_phone: bool = False) -> None:
    text = yaml.dump(sources_mapping(declarant_phone), Dumper=_Dumper, allow_unicode=True,
                     sort_keys=False, width=120)
    path.write_text("# Generated by `guanlian generate`; paths are relative to this file.\n" + text,
                    encoding="utf-8")


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_truth(world: World, rec: Records, truth_dir: Path) -> None:
    """mentions.csv, risk.json and the true entity, relation and event tables."""
    rows = [[name, rid, role, ent] for name, t in rec.tables.items()
            for rid, role, ent in t.mentions]
    _write_csv(truth_dir / "mentions.csv", ["source", "record_id", "role", "entity"], rows)
    people, firms = world.people, world.firms
    _write_csv(truth_dir / "persons.csv",
               ["entity", "name", "gender", "birth_date", "id_number", "mobile"],
               [[p.pid, p.name, "男" if p.male else "女", p.birth.isoformat(), p.id_number,
                 p.mobile] for p in people])
    _write_csv(truth_dir / "enterprises.csv",
               ["entity", "name", "uscc", "reg_no", "customs_code", "address", "phone",
                "established", "status", "deregistered", "group", "latent_risk"],
               [[f.eid, f.name, f.uscc, f.reg_no or "", f.customs_code or "", f.address, f.phone,
                 f.established.isoformat(), f.status, f.dereg.isoformat() if f.dereg else "",
                 f.group, f"{f.latent:.4f}"] for f in firms])
    rel_rows: list[list[Any]] = []

    def day(x: dt.date | None) -> str:
        return x.isoformat() if x else ""

    for f in firms:
        rel_rows.append(["LEGAL_REP_OF", people[f.legal_rep].pid, f.eid, "", "",
                         day(f.established), day(f.dereg)])
        for (kind, idx, pct), (start, end) in zip(f.shareholders, tie_dates(f, True),
                                                  strict=True):
            holder = people[idx].pid if kind == "P" else firms[idx].eid
            rel_rows.append(["SHAREHOLDER_OF", holder, f.eid, f"{pct:.2f}", "", day(start),
                             day(end)])
        for (pidx, title), (start, end) in zip(f.officers, tie_dates(f, False), strict=True):
            rtype = {"董事": "DIRECTOR_OF", "监事": "SUPERVISOR_OF", "经理": "MANAGER_OF"}[title]
            rel_rows.append([rtype, people[pidx].pid, f.eid, "", title, day(start), day(end)])
    _write_csv(truth_dir / "relations.csv",
               ["type", "src", "dst", "share_pct", "role", "start_date", "end_date"], rel_rows)
    by_event = {id(e): (s, k) for e, s, k in rec.event_records}
    _write_csv(truth_dir / "events.csv",
               ["entity", "type", "date", "future", "source", "record_id"],
               [[e.subject, e.kind, e.date.isoformat(), str(e.future).lower(),
                 *by_event.get(id(e), ("", ""))] for e in world.events])
    active = [f.eid for f in firms if f.dereg is None and f.status != "吊销"]
    future = sorted({e.subject for e in world.events if e.future and e.subject.startswith("ent-")})
    risk = {
        "cutoff_date": CUTOFF.isoformat(),
        "evaluation_end": EVAL_END.isoformat(),
        "controllers": [people[c].pid for c in world.controllers],
        "phoenix_pairs": [[firms[a].eid, firms[b].eid] for a, b in world.phoenix_pairs],
        "hubs": [{"kind": h.kind, "value": h.value, "legitimate": h.legitimate,
                  "enterprises": [firms[i].eid for i in h.enterprises]} for h in world.hubs],
        "cycles": [[firms[i].eid for i in c] for c in world.cycles],
        "rings": [[firms[i].eid for i in r] for r in world.rings],
        "declarant_agents": [people[a].pid for a in world.declarant_agents],
        "future_violators": future,
        "active_at_cutoff": active,
        "expected_quarantine": rec.quarantine,
        "notes": {
            "future_violators": "enterprises with >= 1 event in (cutoff_date, evaluation_end]; "
                                "none of these events is in the sources. Evaluate on "
                                "active_at_cutoff.",
            "expected_quarantine": "duplicate_key: the later row (row_number) is the duplicate; "
                                   "mentions.csv keeps the first occurrence's mentions.",
        },
    }
    (truth_dir / "risk.json").write_text(json.dumps(risk, ensure_ascii=False, indent=1) + "\n",
                                         encoding="utf-8")
