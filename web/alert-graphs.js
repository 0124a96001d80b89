// An alert's before / after graph: the relationships among the alert's path nodes in the
// previous run and in the new one (change.before / change.after, computed when the alert was
// raised), each drawn in its own small Cytoscape view. The new path is highlighted on the
// after graph; what the previous run did not have (a new relationship, a new entity) is
// drawn in red and marked “新增 new”, and each graph is also listed as text.

import { h } from "./dom.js";
import { KIND_LABELS, REL_LABELS, SHAPES, STYLE, nodeColour } from "./canvas-style.js";
import { LEVELS } from "./labels.js";

const NEW_COLOUR = "#c81e1e";

const MINI_STYLE = [
  ...STYLE,
  { selector: "node.new", style: { "border-width": 4, "border-color": NEW_COLOUR, "border-style": "dashed" } },
  { selector: "node.highlighted.new", style: { "border-color": NEW_COLOUR } },
  {
    selector: "edge.new",
    style: { "line-color": NEW_COLOUR, "target-arrow-color": NEW_COLOUR, "line-style": "dashed", width: 4, color: NEW_COLOUR },
  },
];

function elements(graph, when) {
  const nodes = (graph.nodes || []).map((n) => ({
    group: "nodes",
    data: {
      id: n.id, label: n.label || n.id, kind: n.kind, shape: SHAPES[n.kind] || "ellipse",
      colour: nodeColour(n.kind, n.level),
    },
    classes: when === "after" && n.new ? "new" : "",
  }));
  const drawn = new Set(nodes.map((n) => n.data.id));
  const edges = (graph.edges || []).filter((e) => drawn.has(e.src) && drawn.has(e.dst)).map((e) => ({
    group: "edges",
    data: {
      id: e.id, source: e.src, target: e.dst, type: e.type,
      label: `${REL_LABELS[e.type] || e.type}${when === "after" && e.new ? " 新增" : ""}`,
    },
    classes: [when === "after" && e.new ? "new" : "", when === "after" && e.on_path ? "highlighted" : ""].join(" ").trim(),
  }));
  return [...nodes, ...edges];
}

function describe(graph, when) {
  const name = new Map((graph.nodes || []).map((n) => [n.id, n.label || n.id]));
  const nodes = (graph.nodes || []).map((n) => h("li", { "data-testid": `alert-${when}-node`, "data-node-id": n.id, "data-new": when === "after" && n.new ? "1" : "0" },
    `${KIND_LABELS[n.kind] || n.kind || "?"} ${n.label || n.id}`,
    n.level ? ` · ${LEVELS[n.level] || n.level}风险` : "",
    n.violating ? " · 违法" : "",
    when === "after" && n.new ? " · 新增 new" : ""));
  const edges = (graph.edges || []).map((e) => h("li", { "data-testid": `alert-${when}-edge`, "data-edge-id": e.id, "data-new": when === "after" && e.new ? "1" : "0", "data-on-path": e.on_path ? "1" : "0" },
    `${name.get(e.src) || e.src} —${REL_LABELS[e.type] || e.type}→ ${name.get(e.dst) || e.dst}`,
    when === "after" && e.new ? " · 新增 new" : ""));
  return h("details", {}, h("summary", {}, `${nodes.length} 个节点 nodes, ${edges.length} 条关系 relationships`),
    h("ul", { class: "mini-list" }, nodes, edges.length ? edges : h("li", { class: "muted" }, "节点之间没有关系 no relationship among them")));
}

// draws both graphs into `section`; returns {before, after} Cytoscape instances (null without
// the graph library or without a stored graph)
export function renderChangeGraphs(section, stored) {
  const ch = (stored.alert && stored.alert.change) || {};
  const out = { before: null, after: null };
  const parts = [["before", `之前 Before · ${stored.previous_run_id}`, ch.before], ["after", `之后 After · ${stored.run_id}`, ch.after]];
  if (!parts.some(([, , g]) => g && (g.nodes || []).length)) {
    section.replaceChildren(h("h3", {}, "前后对比 Before / after"),
      h("p", { class: "muted", "data-testid": "alert-graphs-none" }, "该预警没有保存前后对比图（由旧版本产生）。This alert carries no before / after graph."));
    return out;
  }
  const boxes = [];
  for (const [when, title, graph] of parts) {
    const g = graph || { nodes: [], edges: [] };
    const newEdges = when === "after" ? (g.edges || []).filter((e) => e.new).length : 0;
    const summary = when === "after"
      ? `之后的图：${g.nodes.length} 个节点，${g.edges.length} 条关系，其中 ${newEdges} 条新增，新路径高亮`
      : `之前的图：${g.nodes.length} 个节点，${g.edges.length} 条关系`;
    const box = h("div", { class: "mini-graph", role: "img", "aria-label": summary, "data-testid": `alert-${when}-graph`, "data-nodes": g.nodes.length, "data-edges": g.edges.length });
    boxes.push([when, g, box]);
    section.append(h("figure", { class: "mini", "data-testid": `alert-${when}` },
      h("figcaption", {}, h("strong", {}, title)),
      g.nodes.length ? box : h("p", { class: "muted", "data-testid": `alert-${when}-empty` }, "上一次运行中没有这些节点 none of these nodes existed then"),
      describe(g, when)));
  }
  section.prepend(h("h3", {}, "前后对比 Before / after"),
    h("p", { class: "small muted" }, "蓝色：新路径；红色虚线：本次运行新增的关系或实体。Blue: the new path; red dashed: new in this run."));
  if (!window.cytoscape) return out;
  for (const [when, g, box] of boxes) {
    if (!g.nodes.length) continue;
    const cy = window.cytoscape({
      container: box, style: MINI_STYLE, elements: elements(g, when), minZoom: 0.2, maxZoom: 1.2,
      boxSelectionEnabled: false, autoungrabify: true, userZoomingEnabled: false, userPanningEnabled: false,
    });
    if (when === "after") cy.nodes().filter((n) => (ch.path_nodes || []).includes(n.id())).addClass("highlighted");
    cy.layout({ name: "breadthfirst", directed: false, padding: 16, spacingFactor: 1.4, animate: false }).run();
    cy.fit(undefined, 16);
    out[when] = cy;
  }
  return out;
}
