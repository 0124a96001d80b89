// The relationship graph drawn with Cytoscape.js (window.cytoscape, loaded from /ui/vendor/).

export const REL_LABELS = {
  LEGAL_REP_OF: "法定代表人",
  SHAREHOLDER_OF: "股东",
  DIRECTOR_OF: "董事",
  SUPERVISOR_OF: "监事",
  MANAGER_OF: "经理",
  DECLARANT_FOR: "申报人",
  LOCATED_AT: "地址",
  HAS_PHONE: "电话",
  SUBJECT_OF: "涉及",
};

export const KIND_LABELS = {
  Enterprise: "企业",
  Person: "个人",
  Address: "地址",
  Phone: "电话",
  Penalty: "处罚",
  InspectionFailure: "检验不合格",
  Blacklisting: "黑名单",
};

const KIND_BY_PREFIX = { E: "Enterprise", P: "Person", A: "Address", T: "Phone", V: "Penalty" };
export const EXPANDABLE = new Set(["Enterprise", "Person"]);

export const RISK_COLOURS = { high: "#d62728", medium: "#f28e2b", low: "#59a14f" };
const NO_RISK = "#9aa5b1";
const EVENT_COLOUR = "#6f4e9c";

const SHAPES = {
  Enterprise: "round-rectangle",
  Person: "ellipse",
  Address: "hexagon",
  Phone: "diamond",
  Penalty: "star",
  InspectionFailure: "star",
  Blacklisting: "star",
};

const FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif';

export function kindOf(id) {
  return KIND_BY_PREFIX[String(id).charAt(0)] || "Enterprise";
}

function nodeColour(kind, risk) {
  if (risk && RISK_COLOURS[risk]) return RISK_COLOURS[risk];
  if (kind === "Penalty" || kind === "InspectionFailure" || kind === "Blacklisting") return EVENT_COLOUR;
  return NO_RISK;
}

function edgeLabel(type, sharePct) {
  const base = REL_LABELS[type] || type;
  return sharePct === null || sharePct === undefined ? base : `${base} ${Number(sharePct).toFixed(0)}%`;
}

const STYLE = [
  {
    selector: "node",
    style: {
      label: "data(label)",
      shape: "data(shape)",
      "background-color": "data(colour)",
      "font-family": FONT,
      "font-size": 11,
      color: "#1f2933",
      "text-valign": "bottom",
      "text-margin-y": 4,
      "text-wrap": "ellipsis",
      "text-max-width": 140,
      width: 26,
      height: 26,
      "border-width": 1,
      "border-color": "#ffffff",
    },
  },
  { selector: "node[kind = 'Enterprise']", style: { width: 34, height: 24 } },
  { selector: "node[kind = 'Address'], node[kind = 'Phone']", style: { width: 18, height: 18, "font-size": 9 } },
  { selector: "node.root", style: { "border-width": 3, "border-color": "#1f2933" } },
  { selector: "node.expanded", style: { "border-style": "double", "border-width": 4, "border-color": "#52606d" } },
  { selector: "node:selected", style: { "overlay-color": "#2f80ed", "overlay-opacity": 0.25, "overlay-padding": 6 } },
  {
    selector: "edge",
    style: {
      label: "data(label)",
      "font-family": FONT,
      "font-size": 9,
      color: "#52606d",
      "text-rotation": "autorotate",
      "text-background-color": "#ffffff",
      "text-background-opacity": 0.8,
      "text-background-padding": 1,
      width: 1.5,
      "line-color": "#b8c2cc",
      "target-arrow-color": "#b8c2cc",
      "target-arrow-shape": "triangle",
      "curve-style": "bezier",
      "arrow-scale": 0.8,
    },
  },
  { selector: "edge[?synthetic]", style: { "line-style": "dashed" } },
  { selector: ".filtered", style: { display: "none" } },
  { selector: ".faded", style: { opacity: 0.2 } },
  {
    selector: "node.highlighted",
    style: { "border-width": 4, "border-color": "#2f80ed", opacity: 1, "z-index": 10 },
  },
  {
    selector: "edge.highlighted",
    style: {
      width: 4, "line-color": "#2f80ed", "target-arrow-color": "#2f80ed", opacity: 1,
      color: "#1f2933", "z-index": 10,
    },
  },
];

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
    this.truncated = false;
    this.cy.on("tap", "node", (evt) => onNodeTap && onNodeTap(evt.target.id(), evt.target.data("kind")));
  }

  clear() {
    this.cy.elements().remove();
    this.truncated = false;
  }

  hasNode(id) {
    return this.cy.getElementById(id).nonempty();
  }

  nodeData(id) {
    const n = this.cy.getElementById(id);
    return n.nonempty() ? n.data() : null;
  }

  // Add a Subgraph (nodes/edges) to the drawing; returns the number of new nodes. Nodes beyond
  // the cap are left out (and the drawing is marked truncated); edges need both ends drawn.
  merge(subgraph, { anchor } = {}) {
    const cy = this.cy;
    const centre = anchor && this.hasNode(anchor) ? cy.getElementById(anchor).position() : null;
    let added = 0;
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
        if (cy.nodes().length >= this.maxNodes) {
          this.truncated = true;
          continue;
        }
        const el = {
          group: "nodes",
          data: {
            id: n.id, label: n.label || n.id, kind: n.kind, risk: n.risk_level || null,
            colour: nodeColour(n.kind, n.risk_level), shape: SHAPES[n.kind] || "ellipse",
            placeholder: Boolean(n.placeholder),
          },
        };
        if (centre) el.position = { x: centre.x + (Math.random() - 0.5) * 120, y: centre.y + (Math.random() - 0.5) * 120 };
        cy.add(el);
        added += 1;
      }
      for (const e of subgraph.edges || []) {
        if (cy.getElementById(e.id).nonempty()) continue;
        if (!this.hasNode(e.source) || !this.hasNode(e.target)) continue;
        cy.add({
          group: "edges",
          data: {
            id: e.id, source: e.source, target: e.target, type: e.type,
            share_pct: e.share_pct ?? null, label: edgeLabel(e.type, e.share_pct),
            synthetic: Boolean(e.synthetic),
          },
        });
      }
      if (subgraph.truncated) this.truncated = true;
    });
    this.applyFilter();
    return added;
  }

  // Make sure a path (node IDs + edge IDs between consecutive nodes) is drawn: nodes and edges
  // missing from the drawing are added as placeholders (labelled by ID, dashed edges).
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
    this.maxNodes = Math.max(cap, this.cy.nodes().length + sub.nodes.length);
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

  setFilter(types) {
    this.activeTypes = types ? new Set(types) : null;
    this.applyFilter();
  }

  applyFilter() {
    const cy = this.cy;
    const active = this.activeTypes;
    cy.batch(() => {
      cy.edges().forEach((e) => {
        const type = e.data("type");
        const hide = active !== null && !e.data("synthetic") && type !== "SUBJECT_OF" && !active.has(type);
        e.toggleClass("filtered", hide);
      });
      cy.nodes().forEach((n) => {
        const visibleEdges = n.connectedEdges().filter((e) => !e.hasClass("filtered"));
        const keep = n.hasClass("root") || n.hasClass("highlighted") || visibleEdges.nonempty() || n.connectedEdges().empty();
        n.toggleClass("filtered", !keep);
      });
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
    this.applyFilter();
    const els = cy.elements(".highlighted");
    if (els.nonempty()) this.fit(els);
  }

  clearHighlight() {
    this.cy.elements().removeClass("highlighted faded");
    this.applyFilter();
  }

  layout() {
    const cy = this.cy;
    const visible = cy.elements().not(".filtered");
    if (visible.empty()) return;
    const hasPositions = cy.nodes().some((n) => n.position().x !== 0 || n.position().y !== 0);
    visible
      .layout({
        name: "cose",
        animate: false,
        randomize: !hasPositions,
        nodeRepulsion: () => 400000,
        idealEdgeLength: () => 100,
        edgeElasticity: () => 100,
        numIter: 1000,
        fit: false,
      })
      .run();
    this.fit();
  }

  // fit the given elements (default: all visible) without zooming in past a readable scale
  fit(eles) {
    const cy = this.cy;
    cy.fit(eles || cy.elements().not(".filtered"), 40);
    if (cy.zoom() > 1.4) {
      cy.zoom(1.4);
      cy.center(eles || cy.elements().not(".filtered"));
    }
  }

  png() {
    return this.cy.png({ output: "base64uri", full: true, scale: 2, bg: "#ffffff" });
  }

  counts() {
    return { nodes: this.cy.nodes().length, edges: this.cy.edges().length, truncated: this.truncated };
  }
}
