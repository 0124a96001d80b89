// The front page: the risk worklist (GET /risk/entities) ranked by score, filtered and paged,
// with the catalogue views (shared controllers, rings, phoenix firms, hubs, cycles) and each
// entity's exposure and beneficial owners reachable from it. Filters live in the URL.

import { api } from "./api.js";
import { fmt, h, riskBadge } from "./dom.js";
import { KIND_LABELS } from "./graph.js";
import { label, RULE_LABELS } from "./labels.js";
import { go } from "./router.js";

export const PAGE_SIZE = 20;
const LIST_FILTERS = ["level", "rule", "province", "city", "agency"];
const ONE_FILTERS = ["kind", "event_from", "event_to", "changed_since", "score"];
const RANKINGS = { rules: "规则评分 rule score", learned: "模型评分 learned score" };

export const CATALOGUE = [
  ["controllers", "共同控制人 Shared controllers"],
  ["rings", "关联团伙 Rings"],
  ["phoenix", "“凤凰”企业 Phoenix firms"],
  ["hubs", "枢纽地址/电话 Hubs"],
  ["cycles", "循环持股 Ownership cycles"],
];

const split = (v) => String(v || "").split(",").map((x) => x.trim()).filter(Boolean);

// the API query (list filters repeat) from the route's parameters
export function worklistQuery(params) {
  const usp = new URLSearchParams();
  for (const k of LIST_FILTERS) for (const v of split(params[k])) usp.append(k, v);
  for (const k of ONE_FILTERS) if (params[k]) usp.set(k, params[k]);
  usp.set("limit", String(PAGE_SIZE));
  usp.set("offset", String(Math.max(0, Number(params.offset) || 0)));
  return usp;
}

function field(name, title, input) {
  return h("label", { class: "filter" }, h("span", {}, title), input);
}

function filterForm(params) {
  const text = (name, placeholder) => h("input", {
    name, value: params[name] || "", placeholder, "data-testid": `wl-${name}`,
  });
  const levels = new Set(split(params.level));
  const form = h("form", { class: "wl-filters", "data-testid": "worklist-filters" },
    h("fieldset", { class: "levels" }, h("legend", {}, "等级 Level"),
      ["high", "medium", "low"].map((lv) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "level", value: lv, checked: levels.has(lv), "data-testid": `wl-level-${lv}` }),
        ` ${{ high: "高", medium: "中", low: "低" }[lv]} ${lv}`))),
    field("kind", "类型 Kind", h("select", { name: "kind", "data-testid": "wl-kind" },
      h("option", { value: "" }, "全部 All"),
      h("option", { value: "Enterprise", selected: params.kind === "Enterprise" }, "企业 Enterprise"),
      h("option", { value: "Person", selected: params.kind === "Person" }, "个人 Person"))),
    field("rule", "规则 Rule", text("rule", "shared_controller, phoenix")),
    field("province", "省 Province", text("province", "广东省")),
    field("city", "市 City", text("city", "深圳市")),
    field("agency", "机关 Agency", text("agency", "customs_penalties")),
    field("event_from", "事件起 Events from", h("input", { type: "date", name: "event_from", value: params.event_from || "", "data-testid": "wl-event_from" })),
    field("event_to", "事件止 Events to", h("input", { type: "date", name: "event_to", value: params.event_to || "", "data-testid": "wl-event_to" })),
    field("changed_since", "变化自运行 Changed since run", text("changed_since", "run folder name")),
    field("score", "排序依据 Rank by", h("select", { name: "score", "data-testid": "wl-score" },
      Object.entries(RANKINGS).map(([value, title]) => h("option", {
        value, selected: (params.score || "rules") === value }, title)))),
    h("div", { class: "buttons" },
      h("button", { type: "submit", "data-testid": "wl-apply" }, "筛选 Filter"),
      h("button", { type: "button", "data-testid": "wl-reset", onclick: () => go("worklist", null, {}) }, "重置 Reset")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const next = { level: f.getAll("level").join(",") };
    for (const k of ["kind", "rule", "province", "city", "agency", "event_from", "event_to", "changed_since"]) {
      next[k] = String(f.get(k) || "").trim();
    }
    // the rule score is the default: only the learned ranking goes in the URL
    next.score = f.get("score") === "learned" ? "learned" : "";
    go("worklist", null, next);
  });
  return form;
}

function pager(page, params) {
  const from = page.total ? page.offset + 1 : 0;
  const to = page.offset + page.items.length;
  const move = (offset) => go("worklist", null, { ...params, offset: offset || undefined });
  return h("nav", { class: "pager", "aria-label": "分页 pages" },
    h("button", { type: "button", "data-testid": "wl-prev", disabled: page.offset <= 0, onclick: () => move(Math.max(0, page.offset - PAGE_SIZE)) }, "‹ 上一页 Prev"),
    h("span", { "data-testid": "wl-range" }, ` 第 ${from}–${to} 条，共 ${page.total} 条 `),
    h("button", { type: "button", "data-testid": "wl-next", disabled: to >= page.total, onclick: () => move(page.offset + PAGE_SIZE) }, "下一页 Next ›"));
}

function catalogueLinks() {
  return h("nav", { class: "catalogue-links", "aria-label": "风险目录 risk catalogue" },
    h("span", { class: "muted" }, "风险目录 Catalogue: "),
    CATALOGUE.map(([name, title]) => h("a", { href: `#/catalogue/${name}`, "data-testid": `cat-${name}` }, title)));
}

// the learned score's level and probability (only firms where `guanlian score` shipped one)
function learnedBadge(it) {
  if (it.learned_level === null || it.learned_level === undefined) return "—";
  return h("span", { "data-testid": "wl-learned" }, riskBadge(it.learned_level, null),
    ` ${(Number(it.learned_score) * 100).toFixed(1)}%`);
}

export async function renderWorklist(board, params) {
  const page = await api.worklist(worklistQuery(params));
  const learned = params.score === "learned";
  const rows = page.items.map((it, i) => h("tr", { "data-testid": "worklist-row", "data-entity-id": it.entity.entity_id },
    h("td", {}, String(page.offset + i + 1)),
    h("td", {}, h("a", { href: `#/entity/${it.entity.entity_id}`, class: "name", "data-testid": "wl-open" }, it.entity.name),
      h("div", { class: "muted small" }, `${KIND_LABELS[it.entity.kind] || it.entity.kind} · `, h("code", {}, it.entity.entity_id))),
    h("td", {}, learned ? learnedBadge(it) : riskBadge(it.level, it.score)),
    h("td", {}, [it.province, it.city].filter(Boolean).join(" ") || "—"),
    h("td", { class: "small" }, it.rules.length ? it.rules.map((r) => label(RULE_LABELS, r)).join("、") : "—"),
    h("td", {}, h("div", { class: "buttons" },
      h("a", { href: `#/exposure/${it.entity.entity_id}`, "data-testid": "wl-exposure" }, "违法暴露 exposure"),
      it.entity.kind === "Enterprise" ? h("a", { href: `#/owners/${it.entity.entity_id}`, "data-testid": "wl-owners" }, "受益所有人 owners") : null))));
  board.replaceChildren(
    h("h2", {}, "风险工作清单 Risk worklist"),
    catalogueLinks(),
    filterForm(params),
    rows.length
      ? h("table", { "data-testid": "worklist-table" },
        h("thead", {}, h("tr", {}, ["#", "实体 entity", learned ? "模型评分 learned" : "风险 risk", "地区 region", "规则 rules", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows))
      : h("p", { class: "muted", "data-testid": "worklist-empty" }, learned
        ? "没有符合条件的模型评分：模型评分只在回测胜过规则评分时发布。No learned score matches: it is shipped only where it beat the rules on the run's backtest."
        : "没有符合条件的实体，请放宽筛选条件。No entity matches these filters."),
    pager(page, params));
  return page;
}

// ---- catalogue views --------------------------------------------------------------------

function backLink() {
  return h("p", {}, h("a", { href: "#/worklist", "data-testid": "back-to-worklist" }, "‹ 返回工作清单 back to the worklist"));
}

const entityLink = (id, name) => h("a", { href: `#/entity/${id}` }, name || id);

export async function renderHubs(board, onOpen) {
  const res = await api.hubs();
  const rows = (res.items || []).map((r) => h("tr", { "data-testid": "row-hubs" },
    h("td", {}, r.label), h("td", {}, r.kind === "Address" ? "地址 Address" : "电话 Phone"),
    h("td", {}, String(r.n_enterprises)), h("td", {}, String(r.n_violating)),
    h("td", {}, r.whitelisted ? "白名单 whitelisted" : "—"),
    h("td", {}, h("button", { type: "button", "data-testid": "open-in-graph", onclick: () => onOpen({
      roots: r.enterprises.slice(0, 8), focus: r.enterprises[0], nodes: [r.hub_id, ...r.enterprises],
    }) }, "在图中打开 open in graph"))));
  return catalogueTable(board, "枢纽地址/电话 Hubs", "hubs", ["地址/电话 hub", "类型 kind", "企业数 firms", "违法企业 violating", "白名单", ""], rows);
}

export async function renderCycles(board, onOpen) {
  const res = await api.cycles();
  const rows = (res.items || []).map((r) => h("tr", { "data-testid": "row-cycles" },
    h("td", {}, r.nodes.map((id, i) => [i ? " → " : "", entityLink(id)])),
    h("td", {}, r.share_pcts.map((p) => fmt(p)).join(" / ")),
    h("td", {}, h("button", { type: "button", "data-testid": "open-in-graph", onclick: () => onOpen({
      roots: r.nodes.slice(0, 8), focus: r.nodes[0], nodes: r.nodes, edges: r.edges,
    }) }, "在图中打开 open in graph"))));
  return catalogueTable(board, "循环持股 Ownership cycles", "cycles", ["持股环 cycle", "持股比例 shares %", ""], rows);
}

function catalogueTable(board, title, name, heads, rows) {
  board.replaceChildren(backLink(), h("h2", {}, `${title} (${rows.length})`),
    rows.length
      ? h("table", { "data-testid": `table-${name}` }, h("thead", {}, h("tr", {}, heads.map((t) => h("th", {}, t)))), h("tbody", {}, rows))
      : h("p", { class: "muted", "data-testid": `table-${name}` }, "无结果 no results"));
  return rows.length;
}

export async function renderExposure(board, id, onPath) {
  const res = await api.exposure(id);
  const rows = (res.items || []).map((r) => h("tr", { "data-testid": "row-exposure" },
    h("td", {}, entityLink(r.target.entity_id, r.target.name)),
    h("td", {}, String(r.hops)), h("td", {}, (r.event_types || []).join("、")),
    h("td", {}, h("button", { type: "button", "data-testid": "show-path", onclick: () => onPath(r.path, id) }, "显示路径 show path"))));
  board.replaceChildren(backLink(), h("h2", {}, `违法暴露 Exposure of `, entityLink(id), ` (${rows.length})`),
    rows.length
      ? h("table", { "data-testid": "table-exposure" }, h("thead", {}, h("tr", {}, ["违法实体 target", "跳数 hops", "事件 events", ""].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
      : h("p", { class: "muted", "data-testid": "table-exposure" }, "在跳数范围内没有违法实体 no violating entity within reach"));
}

export async function renderOwners(board, id, onPath) {
  const res = await api.owners(id);
  const rows = (res.owners || []).map((o) => h("tr", { "data-testid": "row-owners" },
    h("td", {}, entityLink(o.owner.entity_id, o.owner.name)),
    h("td", {}, `${fmt(o.effective_pct)}%`),
    h("td", {}, o.paths.length ? h("button", { type: "button", "data-testid": "show-path", onclick: () => onPath(o.paths[0], id) }, "显示路径 show path") : "—")));
  board.replaceChildren(backLink(), h("h2", {}, "受益所有人 Beneficial owners of ", entityLink(id)),
    res.actual_controller ? h("p", { "data-testid": "actual-controller" }, "实际控制人 actual controller: ", entityLink(res.actual_controller.entity_id, res.actual_controller.name)) : null,
    rows.length
      ? h("table", { "data-testid": "table-owners" }, h("thead", {}, h("tr", {}, ["所有人 owner", "穿透持股 effective", ""].map((t) => h("th", {}, t)))), h("tbody", {}, rows))
      : h("p", { class: "muted", "data-testid": "table-owners" }, `无持股达 ${fmt(res.threshold_pct)}% 的所有人 no owner at or above the threshold`));
}
