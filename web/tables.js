// Risk catalogue tables (shared controllers, rings, phoenix firms) with CSV export.

import { api } from "./api.js";
import { fmt, h } from "./dom.js";

const names = (list) => (list || []).map((x) => x.name || x.entity_id || x).join("、");

// each table: how to load it, its columns (text values, also used for CSV) and what
// "open in graph" opens (roots to fetch) and highlights
export const TABLES = {
  controllers: {
    title: "共同控制人 Shared controllers",
    load: () => api.sharedControllers(),
    columns: [
      { title: "控制人 controller", value: (r) => r.controller.name },
      { title: "ID", value: (r) => r.controller.entity_id },
      { title: "违法企业数 violating firms", value: (r) => r.n_violating_firms },
      { title: "事件数 events", value: (r) => r.n_events },
      { title: "企业 firms", value: (r) => names(r.firms) },
      { title: "角色 roles", value: (r) => [...new Set((r.firms || []).flatMap((f) => f.roles || []))].join(",") },
    ],
    open: (r) => ({
      roots: [r.controller.entity_id],
      focus: r.controller.entity_id,
      nodes: [r.controller.entity_id, ...(r.firms || []).map((f) => f.entity_id)],
    }),
  },
  rings: {
    title: "关联团伙 Rings",
    load: () => api.rings(),
    columns: [
      { title: "团伙 ring", value: (r) => r.ring_id },
      { title: "规模 size", value: (r) => r.size },
      { title: "违法企业数 violating", value: (r) => r.n_violating },
      { title: "企业 enterprises", value: (r) => (r.enterprises || []).join(" ") },
      { title: "连接点 connectors", value: (r) => (r.connectors || []).join(" ") },
    ],
    open: (r) => ({
      roots: (r.enterprises || []).slice(0, 8),
      focus: (r.enterprises || [])[0],
      nodes: [...(r.enterprises || []), ...(r.connectors || [])],
    }),
  },
  phoenix: {
    title: "“凤凰”企业 Phoenix firms",
    load: () => api.phoenix(),
    columns: [
      { title: "原企业 predecessor", value: (r) => r.predecessor.name },
      { title: "新企业 successor", value: (r) => r.successor.name },
      { title: "共同点 shared", value: (r) => (r.shared || []).join(",") },
      { title: "处罚日期 penalty", value: (r) => r.penalty_date },
      { title: "新企业成立 established", value: (r) => r.successor_established },
      { title: "IDs", value: (r) => `${r.predecessor.entity_id} ${r.successor.entity_id}` },
    ],
    open: (r) => ({
      roots: [r.predecessor.entity_id, r.successor.entity_id],
      focus: r.predecessor.entity_id,
      nodes: [r.predecessor.entity_id, r.successor.entity_id, ...(r.via || [])],
    }),
  },
};

export function renderTable(container, name, rows, onOpen) {
  const spec = TABLES[name];
  const head = h("tr", {}, spec.columns.map((c) => h("th", {}, c.title)), h("th", {}, ""));
  const body = rows.map((r, i) =>
    h("tr", { "data-testid": `row-${name}`, "data-row-index": i },
      spec.columns.map((c) => h("td", {}, fmt(c.value(r)))),
      h("td", {}, h("button", { type: "button", "data-testid": "open-in-graph", onclick: () => onOpen(spec.open(r)) }, "在图中打开 open in graph"))),
  );
  container.replaceChildren(
    h("h3", {}, `${spec.title} (${rows.length})`),
    rows.length ? h("table", { "data-testid": `table-${name}`, "data-table": name }, h("thead", {}, head), h("tbody", {}, body))
      : h("p", { class: "muted", "data-testid": `table-${name}`, "data-table": name }, "无结果 no results"),
  );
}

function csvCell(v) {
  const s = v === undefined || v === null ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// CSV (with a BOM so spreadsheet programs read the Chinese as UTF-8)
export function toCsv(name, rows) {
  const spec = TABLES[name];
  const lines = [spec.columns.map((c) => csvCell(c.title)).join(",")];
  for (const r of rows) lines.push(spec.columns.map((c) => csvCell(c.value(r))).join(","));
  return "\ufeff" + lines.join("\r\n") + "\r\n";
}
