// The views behind the URL: the board (worklist, catalogue, exposure, owners, inbox, cases,
// saved investigations, the inspections' report) and the graph with a side panel (entity, alert, case, saved
// investigation). app.js hands in what it owns (state, graph actions, status line).

import { api } from "./api.js";
import { download, h } from "./dom.js";
import { buildBundle } from "./bundle.js";
import { showCase, renderCases } from "./cases.js";
import { refreshInboxCount, renderInbox, showAlert } from "./inbox.js";
import { renderReport } from "./report.js";
import { go, parseHash } from "./router.js";
import { entityIds, renderSaved, restore, snapshot } from "./saved.js";
import { renderTable, TABLES } from "./tables.js";
import { renderCycles, renderExposure, renderHubs, renderOwners, renderWorklist } from "./worklist.js";

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
const NAV = { worklist: "worklist", catalogue: "worklist", exposure: "worklist", owners: "worklist", inbox: "inbox", alert: "inbox", cases: "cases", case: "cases", saved: "saved", investigation: "saved", report: "report", entity: "graph", graph: "graph" };

// app: {state, guarded, setStatus, openEntity, showEntity, openInGraph, drawPath, updateGraphInfo}
export function createViews(app) {
  const { state } = app;

  function setMode(mode, navName) {
    const board = mode === "board";
    $("board").hidden = !board;
    for (const id of ["graph", "graph-info", "canvas-bar"]) if ($(id)) $(id).hidden = board;
    // the graph's fixed-height frame too, or a board view is squeezed to what is left beside it
    const frame = document.querySelector(".graph-wrap");
    if (frame) frame.hidden = board;
    if (!board && state.graph) state.graph.cy.resize();
    document.querySelectorAll('[data-testid="views"] a').forEach((a) => {
      if (a.dataset.view === navName) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
  }

  const ctx = {
    guarded: app.guarded,
    setStatus: app.setStatus,
    me: () => state.me,
    labelOf: (id) => {
      const d = state.graph && state.graph.nodeData(id);
      return d && d.label && d.label !== id ? `${d.label} (${id})` : id;
    },
  };

  async function drawChange(stored) {
    const ch = (stored.alert && stored.alert.change) || {};
    state.entityId = stored.entity_id;
    if (!state.graph) return;
    await app.openEntity(stored.entity_id, { panel: false, fresh: true });
    const nodes = ch.path_nodes || [];
    if (nodes.length) await app.drawPath(nodes, ch.path_edges || [], ch.path_types || []);
    else state.graph.highlight([stored.entity_id], []);
  }

  // the alert's before / after views (tests read them at guanlian.alertGraphs)
  function onAlertGraphs(graphs) {
    for (const cy of Object.values(state.alertGraphs || {})) if (cy) cy.destroy();
    state.alertGraphs = graphs;
  }

  async function drawCase(c) {
    if (!state.graph || !c.alert_ids.length) return;
    state.graph.clear();
    const nodes = [];
    const edges = [];
    for (const id of c.alert_ids.slice(0, 8)) {
      const stored = await api.alert(id);
      const ch = stored.alert.change || {};
      if (!state.entityId) state.entityId = stored.entity_id;
      await app.openEntity(stored.entity_id, { panel: false, fresh: false });
      if ((ch.path_nodes || []).length) await app.drawPath(ch.path_nodes, ch.path_edges || [], ch.path_types || [], { highlight: false });
      nodes.push(stored.entity_id, ...(ch.path_nodes || []));
      edges.push(...(ch.path_edges || []));
    }
    state.graph.highlight(nodes, edges);
  }

  async function catalogue(name) {
    const board = $("board");
    if (name === "hubs") return renderHubs(board, (t) => app.guarded(() => openTarget(t)));
    if (name === "cycles") return renderCycles(board, (t) => app.guarded(() => openTarget(t)));
    if (!TABLES[name]) throw new Error(`未知目录 unknown catalogue view “${name}”`);
    const res = await TABLES[name].load();
    board.replaceChildren(h("p", {}, h("a", { href: "#/worklist", "data-testid": "back-to-worklist" }, "‹ 返回工作清单 back to the worklist")), h("div", { class: "table-wrap" }));
    renderTable(board.lastChild, name, res.items || [], (t) => app.guarded(() => openTarget(t)));
    return null;
  }

  async function openTarget(target) {
    setMode("graph", "graph");
    await app.openInGraph(target);
    go("graph", null, { roots: target.roots.join(","), focus: target.focus }, { quiet: true });
  }

  async function showPathOf(path, from) {
    setMode("graph", "graph");
    await app.openEntity(from, { panel: true });
    await app.drawPath(path.nodes, path.edges, path.types);
  }

  async function loadInvestigation(id) {
    const inv = await api.investigation(id);
    state.investigation = inv;
    $("inv-name").value = inv.name;
    $("inv-notes").value = inv.notes;
    $("inv-current").textContent = `当前 current: #${inv.id} ${inv.name}`;
    if (state.graph) {
      restore(state.graph, inv.canvas);
      app.updateGraphInfo();
    }
    const focus = inv.canvas.focus || inv.entity_ids[0];
    if (focus) await app.showEntity(focus, { select: true });
    app.setStatus(`已恢复调查 restored investigation #${inv.id} “${inv.name}”`);
  }

  async function route(r) {
    state.context = null;
    const board = $("board");
    const nav = NAV[r.name] || "worklist";
    switch (r.name) {
      case "":
      case "worklist":
        setMode("board", nav);
        await renderWorklist(board, r.params);
        return;
      case "catalogue":
        setMode("board", nav);
        await catalogue(r.id);
        return;
      case "exposure":
        setMode("board", nav);
        await renderExposure(board, r.id, (p, from) => app.guarded(() => showPathOf(p, from)));
        return;
      case "owners":
        setMode("board", nav);
        await renderOwners(board, r.id, (p, from) => app.guarded(() => showPathOf(p, from)));
        return;
      case "inbox":
        setMode("board", nav);
        await Promise.all([renderInbox(board, r.params), refreshInboxCount()]);
        return;
      case "cases":
        setMode("board", nav);
        await renderCases(board, r.params);
        return;
      case "saved":
        setMode("board", nav);
        await renderSaved(board, (inv) => app.guarded(async () => {
          await api.deleteInvestigation(inv.id);
          if (state.investigation && state.investigation.id === inv.id) {
            state.investigation = null;
            $("inv-current").textContent = "";
          }
          app.setStatus(`已删除 deleted “${inv.name}”`);
          await route(parseHash());
        }));
        return;
      case "report":
        setMode("board", nav);
        await renderReport(board, r.params);
        return;
      case "entity":
        setMode("graph", nav);
        await app.openEntity(r.id, { panel: true });
        return;
      case "graph": {
        setMode("graph", nav);
        const roots = String(r.params.roots || "").split(",").filter(Boolean);
        if (roots.length && state.graph && !roots.every((id) => state.graph.hasNode(id))) {
          await app.openInGraph({ roots: roots.slice(0, 8), focus: r.params.focus, nodes: roots });
        }
        return;
      }
      case "alert": {
        setMode("graph", nav);
        const stored = await showAlert($("entity-panel"), r.id, { ...ctx, drawChange, onAlertGraphs });
        state.context = { alert: stored };
        return;
      }
      case "case": {
        setMode("graph", nav);
        state.entityId = null;
        const c = await showCase($("entity-panel"), r.id, { ...ctx, me: state.me, drawCase });
        state.context = { case: c };
        return;
      }
      case "investigation":
        setMode("graph", nav);
        await loadInvestigation(r.id);
        return;
      default:
        app.setStatus(`未知页面 “${r.name}”，已返回工作清单。Unknown page: back to the worklist.`, "error");
        go("worklist", null, {}, { replace: true });
    }
  }

  async function save(asNew) {
    const name = $("inv-name").value.trim();
    if (!name) {
      app.setStatus("请先为调查命名，再保存。Give the investigation a name first.", "error");
      $("inv-name").focus();
      return;
    }
    const canvas = state.graph ? snapshot(state.graph, state.entityId) : { nodes: [], edges: [], highlight: { nodes: [], edges: [] }, focus: state.entityId || null };
    const body = { name, notes: $("inv-notes").value, canvas, entity_ids: entityIds(canvas) };
    const current = state.investigation;
    const saved = current && !asNew ? await api.updateInvestigation(current.id, body) : await api.saveInvestigation(body);
    state.investigation = saved;
    $("inv-current").textContent = `当前 current: #${saved.id} ${saved.name}`;
    go("investigation", saved.id, null, { quiet: true });
    app.setStatus(`已保存调查 saved investigation #${saved.id}（${body.entity_ids.length} 个实体 entities）`);
  }

  async function exportBundle() {
    if (!state.entityId) {
      app.setStatus("没有可导出的实体：请先在图中打开一个实体（或预警、案件），再导出案件包。Open an entity first.", "error");
      return;
    }
    const bundle = await buildBundle(state.graph, {
      entityId: state.entityId,
      caseData: state.context && state.context.case,
      alertData: state.context && state.context.alert,
      user: state.me,
    });
    const url = URL.createObjectURL(bundle.blob);
    download(bundle.name, url);
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    app.setStatus(`案件包已导出 bundle exported: ${bundle.files.join(", ")}${bundle.warnings.length ? `。注意：${bundle.warnings.join("；")}` : ""}`,
      bundle.warnings.length ? "warning" : "info");
  }

  return { route, setMode, save, exportBundle, refreshInboxCount };
}
