// Saved investigations (server-side, per key owner: /investigations): the canvas as JSON
// (nodes and edges with data, positions and classes; the highlight; the focused entity),
// the entity IDs on it and notes. Saving, the list, restoring a saved canvas.

import { api } from "./api.js";
import { restoreCanvas } from "./canvas.js";
import { h } from "./dom.js";
import { when } from "./labels.js";

const TRANSIENT = new Set(["highlighted", "faded"]);
const ENTITY = /^[EP][0-9a-f]{12}$/;

// the drawn graph as JSON (what /investigations stores and the case bundle exports): the
// canvas's own state (graph.snapshot(): real nodes with positions, edges), in the stored form
// (classes as one string), with the highlight and the focused entity
export function snapshot(graph, focus) {
  const cy = graph.cy;
  const state = graph.snapshot();
  return {
    nodes: state.nodes.map((n) => ({ data: n.data, position: n.position, classes: (n.classes || []).join(" ") })),
    edges: state.edges.map((e) => ({ data: e.data, classes: "" })),
    highlight: {
      nodes: cy.nodes(".highlighted").map((n) => n.id()).filter((id) => graph.hasNode(id)),
      edges: cy.edges(".highlighted").map((e) => e.id()),
    },
    focus: focus && ENTITY.test(focus) ? focus : null,
  };
}

export function entityIds(canvas) {
  return canvas.nodes.map((n) => n.data.id).filter((id) => ENTITY.test(id));
}

// draw a saved canvas through the canvas's restore (undoable; the saved positions kept)
export function restore(graph, canvas) {
  restoreCanvas({
    version: 1,
    nodes: (canvas.nodes || []).map((n) => ({
      data: n.data, position: n.position || undefined,
      classes: String(n.classes || "").split(" ").filter((c) => c && !TRANSIENT.has(c)),
    })),
    edges: (canvas.edges || []).map((e) => ({ data: e.data })),
  });
  const hl = canvas.highlight || {};
  if ((hl.nodes || []).length || (hl.edges || []).length) graph.highlight(hl.nodes, hl.edges);
  else graph.fit();
}

export async function renderSaved(board, onDeleted) {
  const page = await api.investigations({ limit: 200 });
  const rows = page.items.map((inv) => h("tr", { "data-testid": "saved-row", "data-investigation-id": inv.id },
    h("td", {}, h("a", { href: `#/investigation/${inv.id}`, "data-testid": "saved-open" }, inv.name)),
    h("td", {}, String(inv.entity_ids.length)),
    h("td", {}, when(inv.updated_at)),
    h("td", {}, h("button", { type: "button", "data-testid": "saved-delete", "aria-label": `删除 delete ${inv.name}`,
      onclick: () => onDeleted(inv) }, "删除 Delete"))));
  board.replaceChildren(h("h2", {}, "已保存的调查 Saved investigations"),
    h("p", { class: "muted" }, "仅本密钥的持有人可见 visible to this key's owner only"),
    rows.length
      ? h("table", { "data-testid": "saved-table" },
        h("thead", {}, h("tr", {}, ["名称 name", "实体数 entities", "更新 updated", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows))
      : h("p", { class: "muted", "data-testid": "saved-empty" }, "尚未保存调查：在图中打开实体后点击“保存调查”。Nothing saved yet."));
  return page;
}
