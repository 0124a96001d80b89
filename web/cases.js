// Cases: the list (GET /cases) and one case's view: status (new, assigned, in progress),
// assign, notes, its history, and closing with an outcome (confirmed / false positive /
// not actionable). Every change goes through the API, which audits it.

import { api } from "./api.js";
import { fmt, h } from "./dom.js";
import { fill } from "./panels.js";
import { CASE_STATUS, label, OUTCOMES, when } from "./labels.js";

export async function renderCases(board, params) {
  const status = params.status || "";
  const page = await api.cases({ status: status || undefined, limit: 100 });
  const rows = page.items.map((c) => h("tr", { "data-testid": "case-row", "data-case-id": c.id },
    h("td", {}, h("a", { href: `#/case/${c.id}`, "data-testid": "case-link" }, `#${c.id}`)),
    h("td", {}, c.title),
    h("td", {}, label(CASE_STATUS, c.status)),
    h("td", {}, c.outcome ? OUTCOMES[c.outcome] || c.outcome : "—"),
    h("td", {}, c.assignee || "—"),
    h("td", {}, String(c.alert_ids.length)),
    h("td", {}, when(c.updated_at))));
  const filter = h("select", { "aria-label": "按状态筛选 filter by status", "data-testid": "cases-status",
    onchange: (ev) => { window.location.hash = ev.target.value ? `#/cases?status=${ev.target.value}` : "#/cases"; } },
  h("option", { value: "" }, "全部 All"),
  Object.entries(CASE_STATUS).map(([k, v]) => h("option", { value: k, selected: k === status }, `${v} ${k}`)));
  board.replaceChildren(h("h2", {}, "案件 Cases"), h("p", {}, filter, ` 共 ${page.total} 件`),
    rows.length
      ? h("table", { "data-testid": "cases-table" },
        h("thead", {}, h("tr", {}, ["编号 id", "标题 title", "状态 status", "结论 outcome", "负责人 assignee", "预警数 alerts", "更新 updated"].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows))
      : h("p", { class: "muted", "data-testid": "cases-empty" }, "暂无案件：从预警收件箱开立案件。No case yet: open one from an alert."));
  return page;
}

function historyLine(e) {
  const d = e.detail || {};
  const what = {
    opened: `开立（预警 #${d.alert_id}）opened`,
    joined: `加入预警 #${d.alert_id} joined`,
    assigned: `分派给 ${d.assignee} assigned`,
    note: `备注 note: ${d.text}`,
    status: `状态 ${label(CASE_STATUS, d.before)} → ${label(CASE_STATUS, d.after)}`,
    closed: `结案 closed: ${OUTCOMES[d.outcome] || d.outcome}${d.note ? ` — ${d.note}` : ""}`,
  }[e.action] || `${e.action} ${fmt(d)}`;
  return h("li", { "data-testid": "case-history-item", "data-action": e.action }, h("span", { class: "muted small" }, `${when(e.at)} · ${e.actor} · `), what);
}

// ctx: {guarded, setStatus, drawCase(case), me}
export async function showCase(panel, caseId, ctx) {
  const c = await api.caseOf(caseId);
  const closed = c.status === "closed";
  const act = (fn, done) => () => ctx.guarded(async () => {
    await fn();
    ctx.setStatus(done);
    await showCase(panel, caseId, ctx);
  });
  const assignee = h("input", { value: c.assignee || ctx.me || "", "aria-label": "负责人 assignee", "data-testid": "case-assignee" });
  const status = h("select", { "aria-label": "状态 status", "data-testid": "case-status-select" },
    ["new", "assigned", "in_progress"].map((s) => h("option", { value: s, selected: s === c.status }, label(CASE_STATUS, s))));
  const note = h("textarea", { rows: 3, "aria-label": "备注 note", "data-testid": "case-note" });
  const outcome = h("select", { "aria-label": "结论 outcome", "data-testid": "case-outcome" },
    Object.entries(OUTCOMES).map(([k, v]) => h("option", { value: k }, v)));
  const closeNote = h("input", { "aria-label": "结案说明 closing note", placeholder: "结案说明 closing note", "data-testid": "case-close-note" });
  fill(panel,
    h("header", { class: "panel-head" },
      h("h2", { "data-testid": "case-title-shown" }, `案件 #${c.id} ${c.title}`),
      h("p", {}, "状态 status: ", h("strong", { "data-testid": "case-status" }, label(CASE_STATUS, c.status)),
        c.outcome ? [" · 结论 outcome: ", h("strong", { "data-testid": "case-outcome-shown" }, OUTCOMES[c.outcome] || c.outcome)] : null),
      h("p", { class: "small" }, `负责人 assignee: ${c.assignee || "—"} · 开立 opened by ${c.opened_by} ${when(c.created_at)}`),
      h("p", {}, "预警 alerts: ", c.alert_ids.map((id) => [h("a", { href: `#/alert/${id}`, "data-testid": "case-alert" }, `#${id}`), " "]))),
    closed ? h("section", { class: "panel-section", "data-testid": "case-reopen-section" },
      h("button", { type: "button", "data-testid": "case-reopen",
        onclick: act(() => api.moveCase(c.id, "in_progress"), "案件已重新打开 case reopened") }, "重新打开 Reopen (处理中 in progress)")) : null,
    closed ? null : h("section", { class: "panel-section", "data-testid": "case-actions" },
      h("h3", {}, "处理 Work the case"),
      h("div", { class: "row" }, assignee, h("button", { type: "button", "data-testid": "case-assign",
        onclick: act(() => api.assignCase(c.id, assignee.value.trim()), "已分派 assigned") }, "分派 Assign")),
      h("div", { class: "row" }, status, h("button", { type: "button", "data-testid": "case-move",
        onclick: act(() => api.moveCase(c.id, status.value), "状态已更新 status changed") }, "更新状态 Set status")),
      h("div", { class: "col" }, note, h("button", { type: "button", "data-testid": "case-add-note",
        onclick: act(() => api.noteCase(c.id, note.value), "备注已添加 note added") }, "添加备注 Add note")),
      h("div", { class: "row" }, outcome, closeNote, h("button", { type: "button", "data-testid": "case-close",
        onclick: act(() => api.closeCase(c.id, outcome.value, closeNote.value.trim()), "已结案 case closed") }, "结案 Close"))),
    h("section", { class: "panel-section", "data-testid": "case-history" },
      h("h3", {}, "历史 History"),
      h("ol", { class: "history" }, (c.history || []).map(historyLine))));
  await ctx.drawCase(c);
  return c;
}
