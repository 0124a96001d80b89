// Guanlian investigator workspace: wires the key prompt, search, graph, panels and tables.

import { api, ApiError, busy, forgetKey, onUnauthorized, storedKey, storeKey } from "./api.js";
import { download, h } from "./dom.js";
import { EXPANDABLE, kindOf, REL_LABELS, RISK_COLOURS } from "./graph.js";
import {
  addToCanvas, canvasChanged, clearCanvas, createCanvas, exportPng, record, withBusy,
} from "./canvas.js";
import { renderEntity, renderInspectorRisk, renderLookup, renderNode } from "./panels.js";
import { createPathFinder } from "./pathfinder.js";
import { runSearch } from "./search.js";
import { describeError } from "./errors.js";
import { go, onRoute, parseHash } from "./router.js";
import { renderTable, TABLES, toCsv } from "./tables.js";
import { createViews } from "./views.js";

const NETWORK_TYPES = Object.keys(REL_LABELS).filter((t) => t !== "SUBJECT_OF");
const INVESTIGATOR_ROLES = new Set(["investigator", "admin"]);

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

const state = {
  role: null,
  graph: null,
  entityId: null,
  table: null, // {name, rows}
  paths: [],
  me: null, // the signed-in key's ID
  investigation: null, // the saved investigation being worked on
  context: null, // {alert} or {case} shown in the panel (exported with the bundle)
};
window.guanlian = state; // for tests and the console: state.graph.cy is the Cytoscape instance

function setStatus(text, kind = "info") {
  const el = $("status");
  el.textContent = text || "";
  el.dataset.kind = kind;
}

// errors in Chinese with what to do (errors.js); the status line keeps the HTTP status
function showError(err) {
  const { text, code } = describeError(err);
  setStatus(text, "error");
  $("status").dataset.code = code;
}

// run an async action, reporting failures in the status line instead of throwing; the page
// counts as busy (<body data-busy>) until the whole action has finished
async function guarded(fn) {
  busy(+1);
  try {
    return await fn();
  } catch (err) {
    showError(err);
    return undefined;
  } finally {
    busy(-1);
  }
}

const isInvestigator = () => INVESTIGATOR_ROLES.has(state.role);

// ---- key prompt -------------------------------------------------------------------------

function showLogin(message) {
  document.body.dataset.signedIn = "0";
  $("login").hidden = false;
  $("workspace").hidden = true;
  $("whoami").hidden = true;
  if (message) setStatus(message, "error");
  $("login-key").focus();
}

async function login(key) {
  let who;
  try {
    who = await api.whoami(key);
  } catch (err) {
    forgetKey();
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      showLogin("密钥无效或已被吊销，请输入有效的 API 密钥。The key was refused.");
    } else {
      showLogin();
      showError(err);
    }
    return;
  }
  storeKey(key);
  start(who);
}

function start(who) {
  state.role = who.role;
  state.me = who.key_id;
  document.body.dataset.signedIn = "1";
  $("login").hidden = true;
  $("workspace").hidden = false;
  $("whoami").hidden = false;
  $("whoami-name").textContent = who.name || who.key_id;
  $("whoami-role").textContent = who.role;
  document.body.dataset.role = who.role;
  if (!isInvestigator()) document.querySelector(".topbar .sub").textContent = "Guanlian · 查验 Inspection";
  const investigator = isInvestigator();
  // views of investigator endpoints are removed for other roles, not merely hidden
  document.querySelectorAll('[data-role="investigator"]').forEach((el) => {
    if (investigator) el.hidden = false;
    else el.remove();
  });
  $("lookup").hidden = false;
  setStatus(`已登录 Signed in as ${who.role}`);
  if (investigator) {
    if (!state.graph) setupGraph();
    guarded(() => views.refreshInboxCount());
    guarded(() => views.route(parseHash()));
  }
}

// ---- graph ------------------------------------------------------------------------------

function setupGraph() {
  if (typeof window.cytoscape !== "function") {
    // a lasting banner: later status messages ("signed in", results) must not hide it
    $("assets-missing").hidden = false;
    return;
  }
  state.graph = createCanvas($("graph"), {
    onNodeTap: (id, kind) => guarded(() => tapNode(id, kind)),
    onChange: () => updateGraphInfo(),
    controls: {
      undo: $("undo"), remove: $("remove-node"), collapse: $("collapse-node"), layout: $("layout"),
      timeline: $("timeline"), timelineLabel: $("timeline-label"), busy: $("graph-busy"),
      card: $("hover-card"),
    },
  });
  state.graph.maxNodes = capValue();
  const fs = $("rel-filter");
  for (const t of NETWORK_TYPES) {
    fs.append(h("label", { class: "check" },
      h("input", { type: "checkbox", value: t, checked: true, "data-testid": `filter-${t}`, onchange: applyFilter }),
      ` ${REL_LABELS[t]} ${t}`));
  }
  $("legend").replaceChildren(
    ...Object.entries(RISK_COLOURS).map(([lvl, c]) => h("span", { class: "swatch" }, h("i", { style: { background: c } }), lvl)),
    h("span", {}, " · ▭ 企业 ● 个人 ⬡ 地址 ◆ 电话 ★ 事件"),
  );
}

function capValue() {
  const v = Number($("node-cap").value);
  return Number.isFinite(v) && v >= 5 ? Math.min(v, 500) : 80;
}

function selectedTypes() {
  const checked = [...$("rel-filter").querySelectorAll("input:checked")].map((i) => i.value);
  return checked.length === NETWORK_TYPES.length ? null : checked;
}

function applyFilter() {
  state.graph.setFilter(selectedTypes());
  updateGraphInfo();
}

function updateGraphInfo() {
  if (!state.graph) return;
  const c = state.graph.counts();
  $("graph-info").textContent = `${c.nodes} 节点 nodes · ${c.edges} 关系 edges${c.truncated ? " · 已截断 truncated (node cap)" : ""}`;
  $("graph-info").dataset.truncated = String(c.truncated);
}

// the relationship types to ask for: the checked ones, plus SUBJECT_OF (events) when shown
function requestedTypes() {
  const types = selectedTypes();
  if (!$("show-events").checked) return types && types.length ? types : undefined;
  return [...(types || NETWORK_TYPES), "SUBJECT_OF"];
}

async function fetchNetwork(id) {
  return api.network(id, { depth: $("depth").value, types: requestedTypes(), cap: capValue() });
}

// add an entity's (or address's / phone's) neighbourhood to the canvas; a failed request
// leaves the canvas as it was
async function expand(id, { root = false } = {}) {
  const g = state.graph;
  g.maxNodes = capValue();
  const sub = await withBusy(() => fetchNetwork(id));
  addToCanvas(sub, { anchor: id, expanded: [id], root: root ? id : undefined });
}

async function openEntity(id, { fresh = false, panel = true } = {}) {
  if (!isInvestigator()) return;
  state.entityId = id;
  if (!state.graph) {
    if (panel) await showEntity(id); // no graph library: the panel still works
    return;
  }
  const profile = panel ? api.entity(id) : null; // asked for while the neighbourhood is drawn
  if (profile) profile.catch(() => {}); // reported by showEntity below
  if (fresh) clearCanvas();
  await expand(id, { root: true });
  if (panel) await showEntity(id, profile);
}

async function showEntity(id, pending) {
  const profile = await (pending || api.entity(id));
  state.entityId = id;
  if (state.graph) state.graph.select(id);
  renderEntity($("entity-panel"), profile, {
    onReason: state.graph ? (reason) => guarded(() => showReason(reason)) : undefined,
    onPathEnd: (end, eid) => pathFinder.setEnd(end, eid, profile.name),
    labelOf: (eid) => (state.graph && state.graph.nodeData(eid) || {}).label,
  });
}

async function tapNode(id, kind) {
  if (kind === "Enterprise" || kind === "Person") {
    const profile = api.entity(id);
    profile.catch(() => {});
    await expand(id);
    await showEntity(id, profile);
    return;
  }
  if (EXPANDABLE.has(kind)) await expand(id); // an address or a phone: its firms and people
  const cy = state.graph.cy;
  const node = cy.getElementById(id);
  const neighbours = node.connectedEdges().filter((e) => !e.data("virtual")).map((e) => {
    const other = e.source().id() === id ? e.target() : e.source();
    return { label: other.data("label"), relation: REL_LABELS[e.data("type")] || e.data("type") };
  });
  renderNode($("entity-panel"), node.data(), neighbours);
}

// put a path (nodes, edges) on the drawing: fetch the missing entities' neighbourhoods and keep
// only the path's own nodes and edges from them, then add placeholders for anything still missing
async function ensurePath(nodes, edges, types) {
  const g = state.graph;
  const wantNodes = new Set(nodes);
  const wantEdges = new Set(edges);
  const missing = nodes.filter((id) => !g.hasNode(id) && EXPANDABLE.has(kindOf(id)));
  // fetch first: a failed request leaves the canvas untouched
  const found = { nodes: new Map(), edges: new Map() };
  for (const id of missing) {
    if (found.nodes.has(id)) continue;
    const sub = await withBusy(() => api.network(id, { depth: 1, cap: 500 }));
    for (const n of sub.nodes) if (wantNodes.has(n.id)) found.nodes.set(n.id, n);
    for (const e of sub.edges) if (wantEdges.has(e.id)) found.edges.set(e.id, e);
  }
  const before = g.counts().nodes;
  const placeholders = edges.filter((id) => g.cy.getElementById(id).empty() && !found.edges.has(id));
  if (found.nodes.size || found.edges.size || placeholders.length || nodes.some((id) => !g.hasNode(id))) record();
  const cap = g.maxNodes;
  g.maxNodes = Number.MAX_SAFE_INTEGER;
  g.merge({ nodes: [...found.nodes.values()], edges: [...found.edges.values()] });
  g.maxNodes = cap;
  g.ensurePath(nodes, edges, types);
  if (missing.length || g.counts().nodes !== before) g.layout();
  canvasChanged();
}

async function drawPath(nodes, edges, types, { highlight = true } = {}) {
  await ensurePath(nodes, edges, types || []);
  if (highlight) state.graph.highlight(nodes, edges);
}

async function showReason(reason) {
  const nodes = reason.path_nodes || [];
  const edges = reason.path_edges || [];
  if (!nodes.length) {
    state.graph.highlight([state.entityId], []);
    setStatus(`${reason.rule}: ${reason.summary}`);
    return;
  }
  await ensurePath(nodes, edges, []);
  state.graph.highlight(nodes, edges);
  setStatus(`${reason.rule}: ${reason.summary}`);
}

// ---- search -----------------------------------------------------------------------------

async function search(ev) {
  ev.preventDefault();
  const query = $("search-input").value.trim();
  if (!query) return;
  const kind = isInvestigator() ? $("search-kind").value : "Enterprise";
  await runSearch($("search-results"), {
    query, kind, setStatus, guarded, onOpen: (hit) => guarded(() => openHit(hit)),
  });
}

async function openHit(hit) {
  if (isInvestigator()) {
    go("entity", hit.entity_id); // the route opens it (a URL per entity)
  } else {
    // an unscored enterprise has no risk answer (404): don't ask for it
    const risk = hit.risk_level ? await api.risk(hit.entity_id) : null;
    renderInspectorRisk($("entity-panel"), hit, risk);
  }
}

// ---- tables -----------------------------------------------------------------------------

async function loadTable(name) {
  document.querySelectorAll(".tabs [data-table]").forEach((b) => b.classList.toggle("active", b.dataset.table === name));
  const res = await TABLES[name].load();
  state.table = { name, rows: res.items || [] };
  renderTable($("table"), name, state.table.rows, (target) => guarded(() => openInGraph(target)));
}

async function openInGraph({ roots, focus, nodes, edges }) {
  views.setMode("graph", "graph");
  const g = state.graph;
  g.maxNodes = capValue();
  const merged = { nodes: [], edges: [], truncated: false };
  for (const id of roots) {
    const sub = await withBusy(() => api.network(id, { depth: 1, cap: capValue() }));
    merged.nodes.push(...sub.nodes);
    merged.edges.push(...sub.edges);
    merged.truncated = merged.truncated || sub.truncated;
  }
  addToCanvas(merged, { root: roots, expanded: roots });
  const wanted = new Set(nodes);
  const between = edges || g.cy.edges().filter((e) => wanted.has(e.source().id()) && wanted.has(e.target().id())).map((e) => e.id());
  g.highlight(nodes, between);
  updateGraphInfo();
  if (focus) await showEntity(focus);
}

async function exportGraphPng() {
  const blob = await exportPng();
  if (!blob) {
    setStatus("图中没有节点，无法导出 PNG：请先在图中打开一个实体。The graph is empty: nothing to export.", "error");
    return;
  }
  const url = URL.createObjectURL(blob);
  download("guanlian-graph.png", url);
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function exportCsv() {
  if (!state.table) {
    setStatus("请先打开一个表 open a table first", "error");
    return;
  }
  const blob = new Blob([toCsv(state.table.name, state.table.rows)], { type: "text/csv;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  download(`guanlian-${state.table.name}.csv`, url);
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- inspection lookup ------------------------------------------------------------------

async function lookup(ev) {
  ev.preventDefault();
  const f = new FormData($("lookup-form"));
  const subject = {};
  for (const k of ["name", "uscc", "customs_code", "declarant_name", "declarant_id"]) {
    const v = String(f.get(k) || "").trim();
    if (v) subject[k] = v;
  }
  renderLookup($("lookup-result"), await api.lookup(subject));
}

// ---- wiring -----------------------------------------------------------------------------

function wire() {
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(() => login($("login-key").value.trim()));
  });
  $("logout").addEventListener("click", () => {
    forgetKey();
    window.location.reload();
  });
  $("search-form").addEventListener("submit", (ev) => guarded(() => search(ev)));
  $("lookup-form").addEventListener("submit", (ev) => guarded(() => lookup(ev)));
  pathFinder.wire();
  $("relayout").addEventListener("click", () => state.graph && state.graph.layout());
  $("clear-highlight").addEventListener("click", () => state.graph && state.graph.clearHighlight());
  $("clear-graph").addEventListener("click", () => { clearCanvas(); updateGraphInfo(); });
  $("export-png").addEventListener("click", () => guarded(exportGraphPng));
  $("show-events").addEventListener("change", () => state.graph && state.graph.setShowEvents($("show-events").checked));
  $("export-bundle").addEventListener("click", () => guarded(() => views.exportBundle()));
  $("inv-save").addEventListener("click", () => guarded(() => views.save(false)));
  $("inv-save-new").addEventListener("click", () => guarded(() => views.save(true)));
  $("export-csv").addEventListener("click", exportCsv);
  $("node-cap").addEventListener("change", () => { if (state.graph) state.graph.maxNodes = capValue(); });
  document.querySelectorAll(".tabs [data-table]").forEach((b) =>
    b.addEventListener("click", () => guarded(() => loadTable(b.dataset.table))));
}

const pathFinder = createPathFinder({
  state, guarded, setStatus, setMode: (...a) => views.setMode(...a), selectedTypes,
});

const views = createViews({
  state, guarded, setStatus, openEntity, showEntity: async (id) => showEntity(id), openInGraph, drawPath,
  updateGraphInfo,
});

// a key revoked (or expired) mid-session: back to sign-in, the workspace hidden
onUnauthorized(() => {
  forgetKey();
  showLogin("登录已失效：密钥已被吊销或过期，请重新输入有效的 API 密钥。Signed out: the key was refused.");
});
onRoute((r) => {
  if (isInvestigator() && document.body.dataset.signedIn === "1") guarded(() => views.route(r));
});

wire();
const key = storedKey();
if (key) guarded(() => login(key));
else showLogin();
