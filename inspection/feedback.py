"""Outcomes fed back: the recorded inspection outcomes written as an agency source (a CSV and
its mapping) that the next `guanlian link` reads like any other source. A failed inspection
becomes an INSPECTION_FAILURE event of its firm (named by name, USCC and customs code, as the
run knows it); a pass is a mention of the firm with no event (recorded, as the customs
inspection results are).

`export_outcomes(outcomes, run_dir, out, sources)` writes `out/data/inspection_outcomes.csv`
and `out/sources.yaml`: the given sources.yaml (paths made absolute) plus the source
`inspection_outcomes`, or that source alone.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from inspection.models import Outcome
from runfolder.folder import read_table

SOURCE = "inspection_outcomes"
COLUMNS = ("编号", "企业名称", "统一社会信用代码", "海关编码", "检验结果", "不合格原因", "检验日期",
           "实体编号", "请求编号")
RESULT_TEXT = {"pass": "合格", "fail": "不合格"}


def outcome_source(csv_name: str) -> dict[str, Any]:
    """The mapping of the exported outcomes (sources.yaml entry)."""
    return {
        "agency": "检查结果回填 (guanlian)",
        "path": csv_name, "format": "csv", "encoding": "utf-8", "key": "编号",
        "mentions": {"enterprise": {
            "kind": "enterprise", "required": ["name", "record_date"],
            "properties": {"name": {"column": "企业名称"}, "uscc": {"column": "统一社会信用代码"},
                           "customs_code": {"column": "海关编码"},
                           "record_date": {"column": "检验日期"}}}},
        "events": [{
            "type": "INSPECTION_FAILURE", "subject": "enterprise", "date": {"column": "检验日期"},
            "category": {"column": "不合格原因"},
            "description": {"template": "{编号} {不合格原因}"},
            "filter": {"column": "检验结果", "equals": "不合格"}}],
    }


def _with_absolute_paths(sources_yaml: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(sources_yaml.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{sources_yaml}: cannot read ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sources"), dict):
        raise ValueError(f"{sources_yaml}: no `sources:` mapping")
    if SOURCE in doc["sources"]:
        raise ValueError(f"{sources_yaml}: already has a source named {SOURCE}")
    for name, spec in doc["sources"].items():
        if isinstance(spec, dict) and isinstance(spec.get("path"), str):
            spec["path"] = str((sources_yaml.parent / spec["path"]).resolve())
        else:
            raise ValueError(f"{sources_yaml}: source {name}: no path")
    return doc


def export_outcomes(outcomes: list[Outcome], run_dir: Path, out: Path,
                    sources: Path | None = None) -> dict[str, int]:
    """Write the outcome source and its sources.yaml under `out`; counts of what was written.
    An outcome of an entity the run does not hold (or not an enterprise) is skipped, counted."""
    doc: dict[str, Any] = (_with_absolute_paths(sources) if sources is not None
                           else {"version": 1})
    listed: dict[str, Any] = doc.setdefault("sources", {})
    ents = read_table(run_dir, "entities", ("entity_id", "kind", "name", "uscc", "customs_code"))
    known = {r.entity_id: r for r in ents.itertuples() if r.kind == "enterprise"}
    (out / "data").mkdir(parents=True, exist_ok=True)
    counts = {"fail": 0, "pass": 0, "skipped": 0}
    with (out / "data" / f"{SOURCE}.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for o in outcomes:
            ent = known.get(o.entity_id)
            if ent is None:
                counts["skipped"] += 1
                continue
            writer.writerow([f"JC{o.id:010d}", ent.name, ent.uscc or "", ent.customs_code or "",
                             RESULT_TEXT[o.result], o.findings or "" if o.result == "fail" else "",
                             o.inspected_on.isoformat(), o.entity_id, o.source_request_id])
            counts[o.result] += 1
    listed[SOURCE] = outcome_source(f"data/{SOURCE}.csv")
    (out / "sources.yaml").write_text(
        "# written by `guanlian outcomes export`: the run's sources plus the recorded "
        "inspection outcomes\n" + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
        encoding="utf-8")
    return counts
