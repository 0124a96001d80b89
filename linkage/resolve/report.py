"""`report.json` and the readable `report.html` of a run."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linkage.resolve.models import MODEL_VERSION, trained_levels

if TYPE_CHECKING:
    from linkage.resolve.judgements import Judgement

JUDGEMENTS_FILE = "judgements.json"


def model_summary(model: dict[str, Any], notes: list[str],
                  health: dict[str, Any] | None = None) -> dict[str, Any]:
    """Trained parameters of one model in a compact, chartable form, with its health
    (links offered / accepted, prior, warning: see `linkage.resolve.health`)."""
    comparisons = []
    raw = {c["output_column_name"]: c for c in model.get("comparisons", [])}
    for name, levels in trained_levels(model).items():
        entries = []
        for lv, spec in zip(levels, raw[name]["comparison_levels"], strict=True):
            entries.append({
                "label": lv.label,
                "null": lv.is_null,
                "m": spec.get("m_probability"),
                "u": spec.get("u_probability"),
                "match_weight": None if lv.is_null else round(lv.log2_bf, 4),
                "tf_adjustment": bool(spec.get("tf_adjustment_column")),
            })
        comparisons.append({"comparison": name, "levels": entries})
    return {
        "model_version": MODEL_VERSION,
        "probability_two_random_records_match": model.get("probability_two_random_records_match"),
        "comparisons": comparisons,
        "training_notes": notes,
        "health": health or {},
    }


def _table(rows: list[list[Any]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: dict[str, Any], charts: dict[str, str]) -> str:
    """A self-contained page: counts, reconciliation, model parameters, Splink charts
    (each chart is its own HTML file under `charts/`, embedded with an iframe)."""
    parts = [
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'>",
        f"<title>Guanlian linkage run {html.escape(report['run_id'])}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:left}th{background:#f3f3f3}"
        "iframe{width:100%;height:520px;border:1px solid #ddd}.bad{color:#b00}</style>",
        "</head><body>",
        f"<h1>Linkage run <code>{html.escape(report['run_id'])}</code></h1>",
        f"<p>Created {html.escape(report['created_at'])}; "
        f"engine {html.escape(report['engine'])}.</p>",
        "<h2>Entities</h2>",
        _table([[k, v] for k, v in report["entities"].items()], ["kind", "entities"]),
        _table([[k, v] for k, v in report["mentions"].items()], ["kind", "mentions"]),
        "<h2>Reconciliation per source</h2>",
    ]
    rows = []
    for name, c in report["sources"].items():
        ok = c["rows_in"] == c["rows_mapped"] + c["rows_quarantined"]
        rows.append([name, c["rows_in"], c["rows_mapped"], c["rows_quarantined"], c["mentions"],
                     "ok" if ok else "MISMATCH"])
    parts.append(_table(rows, ["source", "rows in", "mapped", "quarantined", "mentions",
                               "in = mapped + quarantined"]))
    malformed = report.get("malformed_values") or {}
    if malformed:
        parts.append("<h2>Values that could not be read (left empty)</h2>")
        parts.append(_table([[src, fld, n] for src, fields in malformed.items()
                             for fld, n in fields.items()], ["source", "field", "values"]))
    parts.append("<h2>Resolution</h2>")
    parts.append(_table(
        [[k, json.dumps(v, ensure_ascii=False)] for k, v in report["resolution"].items()],
        ["measure", "value"],
    ))
    parts.append(_table([[k, f"{v:.2f}"] for k, v in report["timings"].items()],
                        ["stage", "seconds"]))
    warnings = [s["health"]["warning"] for s in report["models"].values()
                if s.get("health", {}).get("warning")]
    for warning in warnings:
        parts.insert(5, f"<p class='bad'><strong>Warning: {html.escape(warning)}</strong></p>")
    for kind, summary in report["models"].items():
        parts.append(f"<h2>Model: {html.escape(kind)}</h2>")
        prior = summary.get("probability_two_random_records_match")
        parts.append(f"<p>Prior probability that two random records match: {prior}</p>")
        health = summary.get("health") or {}
        if health:
            parts.append(_table(
                [[health.get("records"), health.get("pairs_compared"),
                  health.get("links_offered"), health.get("links_accepted"),
                  health.get("prior")]],
                ["records", "pairs compared", "links offered", "links accepted",
                 "estimated prior"]))
        if health.get("warning"):
            parts.append(f"<p class='bad'><strong>Warning: "
                         f"{html.escape(str(health['warning']))}</strong></p>")
        rows = []
        for comp in summary["comparisons"]:
            for lv in comp["levels"]:
                rows.append([comp["comparison"], lv["label"], lv["m"], lv["u"],
                             lv["match_weight"], "yes" if lv["tf_adjustment"] else ""])
        parts.append(_table(rows, ["comparison", "level", "m", "u", "match weight", "tf"]))
        for note in summary.get("training_notes", []):
            parts.append(f"<p class='bad'>{html.escape(note)}</p>")
        for chart_name in sorted(charts):
            if chart_name.startswith(f"{kind}_"):
                parts.append(f"<h3>{html.escape(chart_name)}</h3>")
                parts.append(f"<iframe src='charts/{html.escape(chart_name)}.html'></iframe>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_charts(directory: Path, charts: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, page in charts.items():
        (directory / f"{name}.html").write_text(page, encoding="utf-8")


def write_models(folder: Path, resolution: Any, judged: list[Judgement]
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """A run's `models/` (each trained model as JSON), `charts/` and `judgements.json` (the
    reviewers' judgements the run honoured), for either engine's resolution (`.scored`,
    `.stats`); returns the model summaries of the report and the chart pages by name."""
    models_dir = folder / "models"
    models_dir.mkdir()
    charts: dict[str, str] = {}
    summaries: dict[str, Any] = {}
    health = resolution.stats.get("model_health", {})
    for kind, scored in resolution.scored.items():
        (models_dir / f"{kind}.json").write_text(
            json.dumps(scored.model, ensure_ascii=False, indent=2), encoding="utf-8")
        summaries[kind] = model_summary(scored.model, scored.training_notes, health.get(kind))
        for chart, page in scored.charts.items():
            charts[f"{kind}_{chart}"] = page
    write_charts(folder / "charts", charts)
    (folder / JUDGEMENTS_FILE).write_text(json.dumps([
        {"mention_id_l": j.mention_id_l, "mention_id_r": j.mention_id_r,
         "judgement": j.judgement, "who": j.who, "when": j.when.isoformat()}
        for j in judged], ensure_ascii=False, indent=1), encoding="utf-8")
    return summaries, charts
