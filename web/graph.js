// The relationship graph drawn with Cytoscape.js (window.cytoscape, loaded from /ui/vendor/):
// the elements the API gave, and the view over them (relationship filter, timeline cut-off,
// collapsed hubs, namesake boxes, highlight, layout). canvas.js is the page-facing API.

import { groupNamesakes, regroup } from "./canvas-groups.js";
import { LAYOUTS, placeAround, runLayout } from "./canvas-layout.js";
import {
  EVENT_KINDS, HIDDEN_CLASSES, SHAPES, STYLE, edgeLabel, kindOf, nodeColour,
} from "./canvas-style.js";

export {
  EVENT_KINDS, EXPANDABLE, KIND_LABELS, REL_LABELS, RISK_COLOURS, kindOf,
} from "./canvas-style.js";

export { LAYOUTS };

const real = (n) => !n.data("virtual");

export class GraphView {
  constructor(container, { onNodeTap } = {}) {
    this.cy = window.cytoscape({
      container,
      style: STYLE,
      minZoom: 0.1,
      maxZoom: 4,
      boxSelectionEnabled: false,
    });
    this.maxNodes = 80;
    this.activeTypes = null; // null = all types shown
    this.showEvents = true;
    this.cutoff = null; // ISO date: later relationships and events are hidden; null = all
    this.layoutName = "force";
    this.hubThreshold = 5; // an address / phone with this many neighbours is collapsed
    this.opened = new Set(); // collapsed hubs the user opened
    this.collapsedByUser = new Set();
    this.truncated = false;
    this.cy.on("tap", "node", (evt) => onNodeTap && onNodeTap(evt.target.id(), evt.target.data("kind")));
  }

  clear() {
    this.cy.elements().remove();
    this.opened.clear();
    this.collapsedByUser.clear();
    this.truncated = false;
  }

  hasNode(id) {
    return this.cy.getElementById(id).nonempty();
  }

  nodeData(id) {
    const n = this.cy.getElementById(id);
    return n.nonempty() ? n.data() : null;
  }

  realNodes() {
    return this.cy.nodes().filter(real);
  }

  // Add a Subgraph (nodes/edges) to the drawing; returns the number of new nodes. Nodes beyond
  // the cap are left out (and the drawing is marked truncated); edges need both ends drawn and
  // keep the API's direction (source → target).
  // roots / expanded: IDs marked as opened / expanded before the view is recomputed
  merge(subgraph, { anchor, roots = [], expanded = [] } = {}) {
    const cy = this.cy;
    const centre = anchor && this.hasNode(anchor) ? cy.getElementById(anchor).position() : null;
    let added = 0;
    let drawn = this.realNodes().length;
    cy.batch(() => {
      for (const n of subgraph.nodes || []) {
        const existing = cy.getElementById(n.id);
        if (existing.nonempty()) {
          if (existing.data("placeholder") || n.risk_level) {
            existing.data({
              label: n.label, kind: n.kind, risk: n.risk_level || existing.data("risk") || null,
              colour: nodeColour(n.kind, n.risk_level || existing.data("risk")),
              shape: SHAPES[n.kind] || "ellipse", placeholder: false,
            });
          }
          continue;
        }
        if (drawn >= this.maxNodes) {
          this.truncated = true;
          continue;
        }
        const el = {
          group: "nodes",
          data: {
            id: n.id, label: n.label || n.id, kind: n.kind, risk: n.risk_level || null,
            colour: nodeColour(n.kind, n.risk_level), shape: SHAPES[n.kind] || "ellipse",
            placeholder: Boolean(n.placeholder), date: n.date || null,
          },
        };
        if (centre) el.position = { x: centre.x + (Math.random() - 0.5) * 120, y: centre.y + (Math.random() - 0.5) * 120 };
        cy.add(el);
        added += 1;
        drawn += 1;
      }
      for (const e of subgraph.edges || []) {
        const existing = cy.getElementById(e.id);
        if (existing.nonempty()) {
          // a real edge replaces a placeholder drawn for a path (its direction is now known)
          if (!existing.data("synthetic") || e.synthetic) continue;
          existing.remove();
        }
        if (!this.hasNode(e.source) || !this.hasNode(e.target)) continue;
        cy.add({
          group: "edges",
          data: {
            id: e.id, source: e.source, target: e.target, type: e.type,
            share_pct: e.share_pct ?? null, label: edgeLabel(e.type, e.share_pct),
            synthetic: Boolean(e.synthetic), start_date: e.start_date || null,
          },
        });
      }
      if (subgraph.truncated) this.truncated = true;
      for (const id of roots) cy.getElementById(id).addClass("root");
      for (const id of expanded) cy.getElementById(id).addClass("expanded");
    });
    this.refresh();
    return added;
  }

  // Make sure a path (node IDs + edge IDs between consecutive nodes) is drawn: nodes and edges
  // missing from the drawing are added as placeholders (labelled by ID, dashed, no arrow: the
  // path answer does not say which way the relationship runs).
  ensurePath(nodes, edges, types) {
    const sub = { nodes: [], edges: [] };
    for (const id of nodes) {
      if (!this.hasNode(id)) sub.nodes.push({ id, label: id, kind: kindOf(id), placeholder: true });
    }
    edges.forEach((id, i) => {
      if (i + 1 >= nodes.length || this.cy.getElementById(id).nonempty()) return;
      sub.edges.push({
        id, source: nodes[i], target: nodes[i + 1], type: (types && types[i]) || "", synthetic: true,
      });
    });
    const cap = this.maxNodes;
    this.maxNodes = Math.max(cap, this.realNodes().length + sub.nodes.length);
    this.merge(sub);
    this.maxNodes = cap;
  }

  markRoot(id) {
    this.cy.getElementById(id).addClass("root");
  }

  markExpanded(id) {
    this.cy.getElementById(id).addClass("expanded");
  }

  select(id) {
    this.cy.nodes(":selected").unselect();
    this.cy.getElementById(id).select();
  }

  // remove nodes (a group node removes its members, a namesake box its persons) and their edges
  remove(ids) {
    const cy = this.cy;
    const gone = cy.collection();
    for (const id of ids) {
      const n = cy.getElementById(id);
      if (n.empty()) continue;
      if (n.data("kind") === "Group") for (const m of n.data("members")) gone.merge(cy.getElementById(m));
      else if (n.data("kind") === "Namesakes") gone.merge(n.children());
      else gone.merge(n);
    }
    cy.remove(gone);
    for (const id of ids) { this.opened.delete(id); this.collapsedByUser.delete(id); }
    this.refresh();
    return gone.length;
  }

  // fold a node's leaf neighbours into one group node (undone by openGroup)
  collapse(id) {
    if (!this.hasNode(id)) return;
    this.opened.delete(id);
    this.collapsedByUser.add(id);
    this.refresh();
  }

  // open a group node: its owner's neighbours are drawn again (and the owner stays open)
  openGroup(groupId) {
    const g = this.cy.getElementById(groupId);
    if (g.empty()) return null;
    const owner = g.data("owner");
    this.collapsedByUser.delete(owner);
    this.opened.add(owner);
    this.refresh();
    return owner;
  }

  setFilter(types) {
    this.activeTypes = types ? new Set(types) : null;
    this.refresh();
  }

  setShowEvents(show) {
    this.showEvents = Boolean(show);
    this.refresh();
  }

  setCutoff(iso) {
    this.cutoff = iso || null;
    this.refresh();
  }

  // the dates on the drawing (relationship start dates, event dates), sorted, distinct
  dates() {
    const out = new Set();
    this.cy.edges().forEach((e) => { if (e.data("start_date")) out.add(e.data("start_date")); });
    this.cy.nodes().forEach((n) => { if (n.data("date")) out.add(n.data("date")); });
    return [...out].sort();
  }

  // Recompute what is shown: relationship filter, events, timeline, orphans, hubs, namesakes.
  refresh() {
    const cy = this.cy;
    const active = this.activeTypes;
    const cutoff = this.cutoff;
    cy.batch(() => {
      cy.elements().removeClass("filtered later");
      cy.edges().forEach((e) => {
        const type = e.data("type");
        if (type === "GROUP") return;
        const hide = (type === "SUBJECT_OF" && !this.showEvents)
          || (active !== null && !e.data("synthetic") && type !== "SUBJECT_OF" && !active.has(type));
        e.toggleClass("filtered", hide);
        if (cutoff && e.data("start_date") && e.data("start_date") > cutoff) e.addClass("later");
      });
      cy.nodes().filter(real).forEach((n) => {
        if (EVENT_KINDS.has(n.data("kind"))) {
          if (!this.showEvents) n.addClass("filtered");
          if (cutoff && n.data("date") && n.data("date") > cutoff) n.addClass("later");
        }
      });
      cy.nodes().filter(real).forEach((n) => {
        if (n.hasClass("filtered") || n.hasClass("later")) return;
        const edges = n.connectedEdges().filter((e) => e.data("type") !== "GROUP");
        const shown = edges.filter((e) => !e.hasClass("filtered") && !e.hasClass("later")
          && !e.source().hasClass("filtered") && !e.source().hasClass("later")
          && !e.target().hasClass("filtered") && !e.target().hasClass("later"));
        const keep = n.hasClass("root") || n.hasClass("highlighted") || shown.nonempty() || edges.empty();
        if (!keep) n.addClass(edges.some((e) => e.hasClass("later")) ? "later" : "filtered");
      });
      regroup(cy, this);
      groupNamesakes(cy);
    });
  }

  // Highlight the given nodes and edges (a risk reason's or a found path); fade the rest.
  highlight(nodeIds, edgeIds) {
    const cy = this.cy;
    cy.batch(() => {
      cy.elements().removeClass("highlighted faded");
      const els = cy.collection();
      for (const id of nodeIds || []) els.merge(cy.getElementById(id));
      for (const id of edgeIds || []) els.merge(cy.getElementById(id));
      if (els.nonempty()) {
        els.addClass("highlighted");
        cy.elements().difference(els).addClass("faded");
      }
    });
    this.refresh();
    const els = cy.elements(".highlighted");
    if (els.nonempty()) this.fit(els);
  }

  clearHighlight() {
    this.cy.elements().removeClass("highlighted faded");
    this.refresh();
  }

  visible() {
    return this.cy.elements().not(HIDDEN_CLASSES);
  }

  // place only the nodes not drawn before around `anchor` (canvas-layout.js)
  placeAround(anchor, fresh) {
    placeAround(this, anchor, fresh);
    this.fit();
  }

  // lay out the visible drawing: "force" or "hierarchy" (canvas-layout.js)
  layout(name) {
    if (name) this.layoutName = name;
    if (runLayout(this)) this.fit();
  }

  // fit the given elements (default: all visible) without zooming in past a readable scale
  fit(eles) {
    const cy = this.cy;
    const target = eles || this.visible();
    cy.fit(target, 40);
    if (cy.zoom() > 1.4) {
      cy.zoom(1.4);
      cy.center(target);
    }
  }

  png() {
    return this.cy.png({ output: "base64uri", full: true, scale: 2, bg: "#ffffff" });
  }

  counts() {
    return { nodes: this.realNodes().length, edges: this.cy.edges().filter(real).length, truncated: this.truncated };
  }

  // the drawing as plain JSON (real elements only: groups and boxes are derived on restore)
  snapshot() {
    const cy = this.cy;
    const keep = ["root", "expanded"];
    return {
      version: 1,
      nodes: this.realNodes().map((n) => {
        const data = { ...n.data() };
        delete data.parent; // namesake boxes are derived
        return { data, position: { ...n.position() }, classes: keep.filter((c) => n.hasClass(c)) };
      }),
      edges: cy.edges().filter(real).map((e) => ({ data: { ...e.data() } })),
      opened: [...this.opened],
      collapsed: [...this.collapsedByUser],
      cutoff: this.cutoff,
      layout: this.layoutName,
      truncated: this.truncated,
      zoom: cy.zoom(),
      pan: { ...cy.pan() },
    };
  }

  restore(state) {
    const cy = this.cy;
    if (!state || !Array.isArray(state.nodes) || !Array.isArray(state.edges)) {
      throw new Error("not a canvas state: nodes and edges lists are required");
    }
    // checked whole before the drawing is touched
    const text = (v) => typeof v === "string" && v.length > 0;
    state.nodes.forEach((n, i) => {
      if (!n || !n.data || !text(n.data.id)) throw new Error(`not a canvas state: nodes[${i}] has no data.id`);
      if (n.classes !== undefined && !Array.isArray(n.classes)) throw new Error(`not a canvas state: nodes[${i}].classes is not a list`);
    });
    state.edges.forEach((e, i) => {
      if (!e || !e.data || !text(e.data.id) || !text(e.data.source) || !text(e.data.target)) {
        throw new Error(`not a canvas state: edges[${i}] needs data.id, data.source and data.target`);
      }
    });
    cy.batch(() => {
      cy.elements().remove();
      cy.add(state.nodes.map((n) => ({
        group: "nodes", data: { ...n.data }, position: n.position, classes: (n.classes || []).join(" "),
      })));
      cy.add(state.edges.filter((e) => this.hasNode(e.data.source) && this.hasNode(e.data.target))
        .map((e) => ({ group: "edges", data: { ...e.data } })));
    });
    this.opened = new Set(state.opened || []);
    this.collapsedByUser = new Set(state.collapsed || []);
    this.cutoff = state.cutoff || null;
    this.layoutName = state.layout || this.layoutName;
    this.truncated = Boolean(state.truncated);
    this.refresh();
    if (state.zoom && state.pan) cy.viewport({ zoom: state.zoom, pan: state.pan });
    else this.fit();
  }
}
