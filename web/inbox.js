// The inbox: alerts raised by reruns (GET /alerts), the unacknowledged count on the nav, and
// one alert's view: what changed (scores and levels before / after, the graph among the path's
// nodes before the rerun and after it with the new path highlighted, the new path drawn on the
// main graph too), acknowledge, open a case from it or join it to an open case.

import { renderChangeGraphs } from "./alert-graphs.js";
import { api } from "./api.js";
import { fmt, h, riskBadge } from "./dom.js";
import { fill } from "./panels.js";
import { ALERT_KINDS, CASE_STATUS, label, when } from "./labels.js";
import { go } from "./router.js";

const PAGE = 50;

export async function refreshInboxCount() {
  const page = await api.alerts({ acknowledged: false, limit: 1 });
  const badge = document.querySelector('[data-testid="inbox-count"]');
  if (badge) {
    badge.textContent = String(page.total);
    badge.hidden = page.total === 0;
  }
  return page.total;
}

export async function renderInbox(board, params) {
  const all = params.all === "1";
  const offset = Math.max(0, Number(params.offset) || 0);
  const page = await api.alerts({ acknowledged: all ? undefined : false, limit: PAGE, offset });
  const rows = page.items.map((a) => h("tr", { "data-testid": "alert-row", "data-alert-id": a.id, class: a.acknowledged_at ? "acked" : "" },
    h("td", {}, h("a", { href: `#/alert/${a.id}`, "data-testid": "alert-open" }, `#${a.id}`)),
    h("td", {}, label(ALERT_KINDS, a.kind)),
    h("td", {}, a.summary),
    h("td", {}, levelChange(a.alert)),
    h("td", {}, when(a.created_at)),
    h("td", {}, a.acknowledged_at ? `已确认 ${a.acknowledged_by}` : "未确认 new")));
  board.replaceChildren(
    h("h2", {}, "预警收件箱 Alert inbox"),
    h("p", {},
      h("a", { href: "#/inbox", class: all ? "" : "active", "data-testid": "inbox-unacked" }, "未确认 Unacknowledged"), " · ",
      h("a", { href: "#/inbox?all=1", class: all ? "active" : "", "data-testid": "inbox-all" }, "全部 All"),
      ` · 共 ${page.total} 条`),
    rows.length
      ? h("table", { "data-testid": "alerts-table" },
        h("thead", {}, h("tr", {}, ["编号 id", "类型 kind", "摘要 summary", "变化 change", "时间 raised", "状态 state"].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows))
      : h("p", { class: "muted", "data-testid": "alerts-empty" }, all ? "暂无预警 no alerts yet" : "没有未确认的预警 nothing to acknowledge"),
    page.total > PAGE ? h("nav", { class: "pager", "aria-label": "分页 pages" },
      h("button", { type: "button", disabled: offset <= 0, onclick: () => go("inbox", null, { ...params, offset: Math.max(0, offset - PAGE) || undefined }) }, "‹ 上一页"),
      h("button", { type: "button", disabled: offset + PAGE >= page.total, onclick: () => go("inbox", null, { ...params, offset: offset + PAGE }) }, "下一页 ›")) : null);
  return page;
}

function levelChange(alert) {
  return h("span", { class: "change" }, riskBadge(alert.level_before, alert.score_before), " → ", riskBadge(alert.level_after, alert.score_after));
}

// the alert's view in the side panel; ctx: {guarded, drawChange(alert), setStatus,
// onAlertGraphs({before, after}) with the two small graphs' Cytoscape instances}
export async function showAlert(panel, alertId, ctx) {
  const [stored, open] = await Promise.all([api.alert(alertId), api.cases({ open: true, limit: 100 })]);
  const a = stored.alert;
  const ch = a.change || {};
  const joinable = (open.items || []).filter((c) => !c.alert_ids.includes(stored.id));
  const title = h("input", { name: "title", value: stored.summary, "aria-label": "案件标题 case title", "data-testid": "case-title" });
  const pick = h("select", { "aria-label": "选择案件 choose a case", "data-testid": "join-case-select" },
    joinable.map((c) => h("option", { value: c.id }, `#${c.id} ${c.title} (${CASE_STATUS[c.status] || c.status})`)));
  const inCases = (open.items || []).filter((c) => c.alert_ids.includes(stored.id));
  fill(panel,
    h("header", { class: "panel-head" },
      h("h2", { "data-testid": "alert-title" }, `预警 #${stored.id} ${label(ALERT_KINDS, stored.kind)}`),
      h("p", { "data-testid": "alert-summary" }, stored.summary),
      h("p", {}, "实体 entity: ", h("a", { href: `#/entity/${stored.entity_id}`, "data-testid": "alert-entity" }, stored.entity_id))),
    h("section", { class: "panel-section", "data-testid": "alert-change" },
      h("h3", {}, "变化 What changed"),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "之前 before"), h("th", {}, "之后 after"))),
        h("tbody", {},
          h("tr", {}, h("th", { scope: "row" }, "运行 run"), h("td", {}, stored.previous_run_id), h("td", {}, stored.run_id)),
          h("tr", {}, h("th", { scope: "row" }, "分数 score"), h("td", { "data-testid": "score-before" }, fmt(a.score_before)), h("td", { "data-testid": "score-after" }, fmt(a.score_after))),
          h("tr", {}, h("th", { scope: "row" }, "等级 level"), h("td", { "data-testid": "level-before" }, riskBadge(a.level_before)), h("td", { "data-testid": "level-after" }, riskBadge(a.level_after))))),
      (ch.path_nodes || []).length
        ? h("p", { "data-testid": "alert-path" }, `新路径 new path (${ch.path_nodes.length} 节点 nodes, 已在图中高亮 highlighted): `,
          h("span", { "data-testid": "alert-path-names" }, ch.path_nodes.join(" → ")))
        : h("p", { class: "muted" }, "无路径 no path"),
      (ch.event_ids || []).length ? h("p", {}, `新事件 new events: ${ch.event_ids.join("、")}`) : null,
      Object.keys(ch.evidence || {}).length ? h("p", {}, `路径上的合并依据 merge evidence on the path: ${Object.keys(ch.evidence).join("、")}`) : null),
    h("section", { class: "panel-section", "data-testid": "alert-graphs" }),
    h("section", { class: "panel-section", "data-testid": "alert-actions" },
      h("h3", {}, "处置 Act"),
      stored.acknowledged_at
        ? h("p", { "data-testid": "alert-acked" }, `已确认 acknowledged by ${stored.acknowledged_by}, ${when(stored.acknowledged_at)}`)
        : h("button", { type: "button", "data-testid": "alert-ack", onclick: () => ctx.guarded(async () => {
          await api.acknowledge(stored.id);
          await refreshInboxCount();
          ctx.setStatus(`预警 #${stored.id} 已确认 acknowledged`);
          await showAlert(panel, alertId, ctx);
        }) }, "确认 Acknowledge"),
      inCases.length ? h("p", { "data-testid": "alert-cases" }, "所在案件 in case: ", inCases.map((c) => h("a", { href: `#/case/${c.id}` }, `#${c.id} `))) : null,
      h("div", { class: "row" }, title,
        h("button", { type: "button", "data-testid": "case-open", onclick: () => ctx.guarded(async () => {
          const made = await api.openCase(stored.id, title.value.trim());
          go("case", made.id);
        }) }, "开立案件 Open a case")),
      joinable.length ? h("div", { class: "row" }, pick,
        h("button", { type: "button", "data-testid": "case-join", onclick: () => ctx.guarded(async () => {
          const joined = await api.joinCase(pick.value, stored.id);
          go("case", joined.id);
        }) }, "加入案件 Join case")) : h("p", { class: "muted small" }, "没有可加入的未结案件 no open case to join")));
  const graphs = renderChangeGraphs(panel.querySelector('[data-testid="alert-graphs"]'), stored);
  if (ctx.onAlertGraphs) ctx.onAlertGraphs(graphs);
  await ctx.drawChange(stored);
  // once drawn, the path reads by name
  const names = panel.querySelector('[data-testid="alert-path-names"]');
  if (names && ctx.labelOf) names.textContent = (ch.path_nodes || []).map((id) => ctx.labelOf(id) || id).join(" → ");
  return stored;
}
