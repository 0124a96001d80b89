// The measured precision of the inspections (GET /inspection/report): hit rate = failed
// inspections / inspections recorded, by recommendation, risk class, score band, draw part
// (risk-weighted vs the uniform control group) and month. Each breakdown is an inline SVG
// chart drawn here (hit rate 0–100 %, bar height proportional to it) and a table of counts.

import { api } from "./api.js";
import { h } from "./dom.js";
import { label } from "./labels.js";
import { go } from "./router.js";

// the SVG namespace as the HTML parser assigns it to an <svg> tag (the page's files name no
// URL, not even a namespace identifier: tests/web/test_web_ui.py)
const NS = new DOMParser().parseFromString("<svg></svg>", "text/html").body.firstElementChild.namespaceURI;
export const PLOT_HEIGHT = 120; // px of a 100 % bar
const SLOT = 92; // px per group (room for "document_check")
const LEFT = 44;
const TOP = 18;
const BOTTOM = 34;

const RECOMMENDATIONS = { inspect: "查验", document_check: "单证审核", release: "放行" };
const PARTS = { weighted: "风险加权 weighted", uniform: "均匀对照 uniform", lookup: "现场查验 lookup" };

// the breakdowns of a Report: key, title, how a group is named, chart kind
export const SECTIONS = [
  ["by_recommendation", "按建议 By recommendation", (g) => label(RECOMMENDATIONS, g), "bar"],
  ["by_class", "按风险类别 By risk class", (g) => `类别 class ${g}`, "bar"],
  ["by_decile", "按评分段 By score band", (g) => `${g} 分`, "bar"],
  ["by_part", "加权 vs 均匀 Weighted vs uniform", (g) => PARTS[g] || g, "bar"],
  ["by_month", "按月份 By month", (g) => g, "line"],
];

export const percent = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`);

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// y of a hit rate (0 at the bottom of the plot, 1 at its top)
const yOf = (rate) => TOP + PLOT_HEIGHT * (1 - rate);

// a bar (or line) chart of the rows' hit rates; a group without outcomes has no mark
export function chart(key, title, rows, name, kind) {
  const width = LEFT + SLOT * Math.max(rows.length, 1) + 10;
  const height = TOP + PLOT_HEIGHT + BOTTOM;
  const shown = rows.map((r) => `${name(r.group)} ${percent(r.hit_rate)}`).join("；");
  const grid = [0, 0.5, 1].map((t) => svg("g", { class: "grid" },
    svg("line", { x1: LEFT, x2: width - 6, y1: yOf(t), y2: yOf(t) }),
    svg("text", { x: LEFT - 6, y: yOf(t) + 4, "text-anchor": "end" }, `${t * 100}%`)));
  const marks = [];
  const points = [];
  rows.forEach((r, i) => {
    const cx = LEFT + SLOT * i + SLOT / 2;
    const tip = svg("title", {}, `${name(r.group)}: ${percent(r.hit_rate)}（${r.failures}/${r.n}）`);
    const data = { "data-group": r.group, "data-hit-rate": r.hit_rate ?? "", "data-n": r.n, "data-failures": r.failures };
    if (r.hit_rate !== null && r.hit_rate !== undefined) {
      if (kind === "line") {
        points.push(`${cx},${yOf(r.hit_rate)}`);
        marks.push(svg("circle", { ...data, class: "point", cx, cy: yOf(r.hit_rate), r: 4, "data-testid": "report-mark" }, tip));
      } else {
        const bar = PLOT_HEIGHT * r.hit_rate;
        marks.push(svg("rect", { ...data, class: `bar bar-${r.group}`, x: cx - SLOT * 0.3, y: yOf(r.hit_rate), width: SLOT * 0.6, height: bar, "data-testid": "report-mark" }, tip));
      }
    }
    marks.push(svg("text", { class: "value", x: cx, y: yOf(r.hit_rate || 0) - 4, "text-anchor": "middle", "data-testid": "report-value", "data-group": r.group }, percent(r.hit_rate)));
    marks.push(svg("text", { class: "axis", x: cx, y: TOP + PLOT_HEIGHT + 14, "text-anchor": "middle" }, String(r.group)));
    marks.push(svg("text", { class: "axis", x: cx, y: TOP + PLOT_HEIGHT + 27, "text-anchor": "middle" }, `n=${r.n}`));
  });
  const line = kind === "line" && points.length > 1 ? svg("polyline", { class: "trend", points: points.join(" ") }) : null;
  return svg("svg", {
    class: "report-chart", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `${title} 命中率 hit rate: ${shown || "无数据 no data"}`, "data-testid": `report-chart-${key}`,
  }, grid, line, marks);
}

function rateTable(key, rows, name) {
  const head = h("tr", {}, ["组 Group", "检查数 Inspections", "不合格 Failures", "命中率 Hit rate"].map((t) => h("th", { scope: "col" }, t)));
  const body = rows.map((r) => h("tr", { "data-group": r.group, "data-testid": "report-row" },
    h("td", {}, name(r.group)), h("td", { class: "num" }, String(r.n)),
    h("td", { class: "num" }, String(r.failures)), h("td", { class: "num" }, percent(r.hit_rate))));
  return h("table", { class: "report-table", "data-testid": `report-table-${key}` }, h("thead", {}, head), h("tbody", {}, body));
}

function sinceForm(since) {
  const form = h("form", { class: "report-since", "data-testid": "report-since-form" },
    h("label", {}, "起始月份 Since ",
      h("input", { type: "month", name: "since", value: since || "", "data-testid": "report-since" })),
    h("button", { type: "submit", "data-testid": "report-apply" }, "筛选 Filter"),
    h("button", { type: "button", "data-testid": "report-all", onclick: () => go("report", null, {}) }, "全部 All"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    go("report", null, { since: String(new FormData(form).get("since") || "").trim() });
  });
  return form;
}

function thresholdsText(t) {
  if (!t) return "";
  return `建议阈值 thresholds (inspection/recommend.yaml): 查验 inspect ≥ ${t.inspect_min_score} 分或等级 level ≥ ${t.inspect_min_level}；` +
    `单证审核 document check ≥ ${t.document_check_min_score} 分或等级 level ≥ ${t.document_check_min_level}；其余放行 release`;
}

export async function renderReport(board, params) {
  const since = /^\d{4}-\d{2}$/.test(params.since || "") ? params.since : undefined;
  const report = await api.report(since);
  const head = [
    h("h2", {}, "抽查成效 Inspection report"),
    h("p", { class: "muted" }, "命中率 = 不合格的检查数 ÷ 检查数。Hit rate = failed inspections ÷ inspections recorded."),
    sinceForm(since),
  ];
  if (!report.outcomes) {
    board.replaceChildren(...head, h("p", { class: "empty", "data-testid": "report-empty" },
      `尚无检查结果${since ? `（自 ${since} 起）` : ""}：录入检查结果（POST /inspection/outcomes）后这里显示命中率。` +
      "No inspection outcomes recorded yet: the hit rates appear once outcomes are fed back."));
    return report;
  }
  const ratio = report.weighted_vs_uniform;
  const summary = h("p", { "data-testid": "report-summary" },
    h("strong", { "data-testid": "report-outcomes" }, String(report.outcomes)), " 条检查结果 outcomes；加权/均匀命中率之比 weighted ÷ uniform hit rate: ",
    h("strong", { "data-testid": "report-ratio" }, ratio === null || ratio === undefined ? "—（均匀对照组尚无不合格 no uniform failure yet）" : ratio.toFixed(2)));
  const sections = SECTIONS.map(([key, title, name, kind]) => {
    const rows = report[key] || [];
    return h("section", { class: "report-section", "data-testid": `report-${key}` },
      h("h3", {}, title),
      rows.length ? [chart(key, title, rows, name, kind), rateTable(key, rows, name)] : h("p", { class: "muted" }, "无数据 no data"));
  });
  board.replaceChildren(...head, summary, h("p", { class: "muted small", "data-testid": "report-thresholds" }, thresholdsText(report.thresholds)), ...sections);
  return report;
}
