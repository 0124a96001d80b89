// Hover cards (name, kind, risk level, violations drawn) and labels shown by zoom level.

import { h } from "./dom.js";
import { EVENT_KINDS, KIND_LABELS, REL_LABELS } from "./canvas-style.js";

const LEVELS = { high: "高 high", medium: "中 medium", low: "低 low" };

// zoom below FAR: only the opened entities and the highlight are labelled; below NEAR: entity
// labels only (no relationship, address, phone or event labels); from NEAR: everything
const FAR = 0.45;
const NEAR = 0.8;

export function labelLevel(zoom) {
  if (zoom < FAR) return "none";
  return zoom < NEAR ? "entities" : "all";
}

export function applyLabels(cy, container) {
  const level = labelLevel(cy.zoom());
  cy.batch(() => {
    cy.elements().removeClass("quiet");
    if (level === "all") return;
    cy.edges().addClass("quiet");
    cy.nodes().forEach((n) => {
      const kind = n.data("kind");
      const minor = kind === "Address" || kind === "Phone" || EVENT_KINDS.has(kind);
      if (level === "none" ? !n.hasClass("root") && kind !== "Group" : minor) n.addClass("quiet");
    });
  });
  container.dataset.labels = level;
  return level;
}

// relabel whenever the zoom crosses a threshold (and after the drawing changed: call again)
export function watchZoom(cy, container) {
  let last = null;
  cy.on("zoom", () => {
    const level = labelLevel(cy.zoom());
    if (level !== last) last = applyLabels(cy, container);
  });
  cy.on("add", () => { last = null; });
  return () => { last = applyLabels(cy, container); };
}

function violations(node) {
  return node.connectedEdges("[type = 'SUBJECT_OF']").map((e) => {
    const ev = e.source().id() === node.id() ? e.target() : e.source();
    return ev;
  }).filter((ev) => EVENT_KINDS.has(ev.data("kind")));
}

// the card's lines for a node
export function cardLines(node) {
  const d = node.data();
  if (d.kind === "Group") return [`${d.label}`, `${d.members.length} 个节点已折叠 collapsed · 点击展开 click to open`];
  if (d.kind === "Namesakes") return [d.label, "同名不同人 same name, different IDs"];
  const lines = [`${KIND_LABELS[d.kind] || d.kind} ${d.kind} · ${d.id}`];
  if (d.risk) lines.push(`风险 risk: ${LEVELS[d.risk] || d.risk}`);
  if (EVENT_KINDS.has(d.kind)) {
    lines.push(`日期 date: ${d.date || "—"}`);
  } else {
    const evs = violations(node);
    lines.push(evs.length
      ? `违规 violations: ${evs.map((ev) => `${ev.data("label")}${ev.data("date") ? ` (${ev.data("date")})` : ""}`).join("；")}`
      : "违规 violations: 图中无 none drawn");
  }
  const degree = node.connectedEdges().filter((e) => !e.data("virtual")).length;
  const types = new Set(node.connectedEdges().map((e) => REL_LABELS[e.data("type")]).filter(Boolean));
  lines.push(`关系 ${degree} relationships${types.size ? `: ${[...types].join("、")}` : ""}`);
  return lines;
}

export function hoverCards(cy, card) {
  cy.on("mouseover", "node", (evt) => {
    const node = evt.target;
    const [title, ...rest] = node.data("kind") === "Group" || node.data("kind") === "Namesakes"
      ? cardLines(node) : [node.data("label"), ...cardLines(node)];
    card.replaceChildren(
      h("strong", { "data-testid": "hover-name" }, title),
      ...rest.map((line) => h("div", {}, line)),
    );
    const p = node.renderedPosition();
    card.style.left = `${Math.round(p.x + 14)}px`;
    card.style.top = `${Math.round(p.y + 14)}px`;
    card.dataset.nodeId = node.id();
    card.hidden = false;
  });
  cy.on("mouseout", "node", () => { card.hidden = true; });
  cy.on("viewport remove", () => { card.hidden = true; });
}
