// The case workspace canvas: the page-facing API over the graph (graph.js) with an undo
// history, remove / collapse, layouts, the timeline slider, hover cards, labels by zoom and a
// busy indicator. Other pages (worklist, cases, bundle export) call the exported functions;
// web/README.md documents them.

import { GraphView, LAYOUTS } from "./graph.js";
import { hoverCards, watchZoom } from "./canvas-hover.js";

const HISTORY_LIMIT = 40;

const canvas = {
  view: null,
  history: [], // canvas states before each change, newest last
  relabel: () => {},
  controls: {}, // {undo, remove, collapse, layout, timeline, timelineLabel, busy, card}
  onChange: () => {},
  busy: 0,
};

export { LAYOUTS };

// the GraphView of the page (null before createCanvas or without the graph library)
export function canvasView() {
  return canvas.view;
}

// Create the canvas in `container`. controls: the page's elements (all optional) for undo,
// remove, collapse, layout <select>, timeline <input type=range> and its <output>, busy overlay
// and hover card. onNodeTap(id, kind) is called for entity, address, phone and event nodes;
// group nodes open themselves. onChange() after every change of the drawing.
export function createCanvas(container, { onNodeTap, onChange, controls = {} } = {}) {
  canvas.controls = controls;
  canvas.onChange = onChange || (() => {});
  canvas.history = [];
  canvas.view = new GraphView(container, {
    onNodeTap: (id, kind) => {
      if (kind === "Group") {
        openGroup(id);
      } else if (kind !== "Namesakes" && onNodeTap) {
        onNodeTap(id, kind);
      }
    },
  });
  canvas.relabel = watchZoom(canvas.view.cy, container);
  if (controls.card) hoverCards(canvas.view.cy, controls.card);
  const c = controls;
  if (c.undo) c.undo.addEventListener("click", () => undo());
  if (c.remove) c.remove.addEventListener("click", () => removeSelected());
  if (c.collapse) c.collapse.addEventListener("click", () => collapseSelected());
  if (c.layout) {
    c.layout.replaceChildren(...Object.entries(LAYOUTS).map(([value, label]) => {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = label;
      return o;
    }));
    c.layout.addEventListener("change", () => relayout(c.layout.value));
  }
  if (c.timeline) c.timeline.addEventListener("input", () => applyTimeline());
  document.addEventListener("keydown", onKey);
  changed();
  return canvas.view;
}

// after changing the drawing through canvasView() directly: resync undo, timeline, labels
export function canvasChanged() {
  if (canvas.view) changed();
}

function changed() {
  const v = canvas.view;
  const c = canvas.controls;
  if (c.undo) c.undo.disabled = canvas.history.length === 0;
  if (c.layout) c.layout.value = v.layoutName;
  syncTimeline();
  canvas.relabel();
  canvas.onChange();
}

// Delete / Backspace removes the selected nodes, Ctrl+Z (⌘Z) undoes; not while typing
function onKey(ev) {
  const t = ev.target;
  if (!canvas.view || (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName)))) return;
  if ((ev.key === "Delete" || ev.key === "Backspace") && selectedIds().length) {
    ev.preventDefault();
    removeSelected();
  } else if ((ev.ctrlKey || ev.metaKey) && !ev.shiftKey && ev.key.toLowerCase() === "z") {
    ev.preventDefault();
    undo();
  }
}

// ---- history --------------------------------------------------------------------------------

// remember the current drawing (call before changing it)
export function record() {
  const v = canvas.view;
  if (!v) return;
  canvas.history.push(v.snapshot());
  if (canvas.history.length > HISTORY_LIMIT) canvas.history.shift();
  if (canvas.controls.undo) canvas.controls.undo.disabled = false;
}

export function canUndo() {
  return canvas.history.length > 0;
}

// back to the drawing before the last change; false when there is nothing to undo
export function undo() {
  const v = canvas.view;
  if (!v || !canvas.history.length) return false;
  v.restore(canvas.history.pop());
  changed();
  return true;
}

// ---- the API for other pages -----------------------------------------------------------------

// Add a Subgraph ({nodes, edges, truncated}, as GET /entities/{id}/network answers) to the
// canvas without removing anything. Options: root (ID or IDs marked as opened), expanded (IDs marked
// expanded), anchor (new nodes placed around it), highlight ({nodes, edges} ID lists, or a
// list of node IDs), layout (true: the whole drawing when it was empty or in the hierarchical
// layout, else only the new nodes around the anchor; false: none). Returns the nodes added.
export function addToCanvas(subgraph, { highlight, root, expanded, anchor, layout = true } = {}) {
  const v = canvas.view;
  if (!v) return 0;
  record();
  const before = new Set(v.realNodes().map((n) => n.id()));
  const roots = [root].flat().filter(Boolean);
  const added = v.merge(subgraph || {}, { anchor, roots, expanded: expanded || [] });
  if (layout) {
    const fresh = v.realNodes().filter((n) => !before.has(n.id())).map((n) => n.id());
    if (before.size <= 1 || v.layoutName !== "force" || !anchor || !v.hasNode(anchor)) v.layout();
    else if (fresh.length) v.placeAround(anchor, fresh);
  }
  if (highlight) {
    const nodes = Array.isArray(highlight) ? highlight : highlight.nodes || [];
    const edges = Array.isArray(highlight) ? [] : highlight.edges || [];
    v.highlight(nodes, edges);
  }
  changed();
  return added;
}

// the canvas as plain JSON (nodes with positions, edges, opened / collapsed hubs, timeline
// cut-off, layout, viewport); restoreCanvas takes it back
export function canvasState() {
  const v = canvas.view;
  return v ? JSON.parse(JSON.stringify(v.snapshot())) : null;
}

// replace the canvas with a state from canvasState() (undoable); throws on a malformed state
export function restoreCanvas(state) {
  const v = canvas.view;
  if (!v) return false;
  const parsed = typeof state === "string" ? JSON.parse(state) : state;
  const before = v.snapshot();
  v.restore(parsed); // throws before touching the drawing when the state is malformed
  canvas.history.push(before);
  changed();
  return true;
}

// the drawing as a PNG Blob, or null when the canvas is empty (nothing to export)
export async function exportPng() {
  const v = canvas.view;
  if (!v || v.counts().nodes === 0) return null;
  const blob = v.cy.png({ output: "blob-promise", full: true, scale: 2, bg: "#ffffff" });
  return blob;
}

// empty the canvas (undoable)
export function clearCanvas() {
  const v = canvas.view;
  if (!v) return;
  record();
  v.clear();
  changed();
}

// run an async action with the canvas's busy indicator shown (e.g. a depth-3 expansion)
export async function withBusy(fn) {
  const c = canvas.controls;
  canvas.busy += 1;
  if (c.busy) c.busy.hidden = false;
  try {
    return await fn();
  } finally {
    canvas.busy -= 1;
    if (c.busy && canvas.busy === 0) c.busy.hidden = true;
  }
}

// ---- editing ---------------------------------------------------------------------------------

function selectedIds() {
  return canvas.view ? canvas.view.cy.nodes(":selected").map((n) => n.id()) : [];
}

export function removeNodes(ids) {
  const v = canvas.view;
  if (!v || !ids.length) return 0;
  record();
  const n = v.remove(ids);
  changed();
  return n;
}

export function removeSelected() {
  return removeNodes(selectedIds());
}

export function collapseNode(id) {
  const v = canvas.view;
  if (!v || !v.hasNode(id)) return;
  record();
  v.collapse(id);
  changed();
}

export function collapseSelected() {
  for (const id of selectedIds()) collapseNode(id);
}

export function openGroup(groupId) {
  const v = canvas.view;
  if (!v) return null;
  record();
  const owner = v.openGroup(groupId);
  v.layout();
  changed();
  return owner;
}

export function relayout(name) {
  const v = canvas.view;
  if (!v) return;
  v.layout(name);
  changed();
}

// ---- timeline --------------------------------------------------------------------------------

// the slider runs over the drawing's dates; its last position shows everything
function syncTimeline() {
  const { timeline, timelineLabel } = canvas.controls;
  const v = canvas.view;
  if (!timeline || !v) return;
  const dates = v.dates();
  timeline.max = String(Math.max(dates.length - 1, 0));
  timeline.disabled = dates.length < 2;
  const at = v.cutoff ? dates.filter((d) => d <= v.cutoff).length - 1 : dates.length - 1;
  timeline.value = String(Math.max(at, 0));
  timeline.dataset.dates = String(dates.length);
  if (timelineLabel) {
    timelineLabel.textContent = v.cutoff ? `≤ ${v.cutoff}` : dates.length ? `全部 all (${dates[0]} – ${dates[dates.length - 1]})` : "无日期 no dates";
  }
}

export function setCutoff(iso) {
  const v = canvas.view;
  if (!v) return;
  v.setCutoff(iso);
  changed();
}

function applyTimeline() {
  const v = canvas.view;
  const dates = v.dates();
  const i = Number(canvas.controls.timeline.value);
  setCutoff(i >= dates.length - 1 ? null : dates[i]);
}
