// What the canvas looks like: labels, colours and shapes per node kind, and the Cytoscape style.

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
  Group: "聚合",
  Namesakes: "同名",
};

export const EVENT_KINDS = new Set(["Penalty", "InspectionFailure", "Blacklisting"]);
const KIND_BY_PREFIX = { E: "Enterprise", P: "Person", A: "Address", T: "Phone", V: "Penalty" };
// kinds whose neighbourhood the API draws (GET /entities/{id}/network)
export const EXPANDABLE = new Set(["Enterprise", "Person", "Address", "Phone"]);

export const RISK_COLOURS = { high: "#d62728", medium: "#f28e2b", low: "#59a14f" };
const NO_RISK = "#9aa5b1";
const EVENT_COLOUR = "#6f4e9c";

export const SHAPES = {
  Enterprise: "round-rectangle",
  Person: "ellipse",
  Address: "hexagon",
  Phone: "diamond",
  Penalty: "star",
  InspectionFailure: "star",
  Blacklisting: "star",
  Group: "round-tag",
};

export const FONT = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif';

export function kindOf(id) {
  return KIND_BY_PREFIX[String(id).charAt(0)] || "Enterprise";
}

export function nodeColour(kind, risk) {
  if (risk && RISK_COLOURS[risk]) return RISK_COLOURS[risk];
  if (EVENT_KINDS.has(kind)) return EVENT_COLOUR;
  return NO_RISK;
}

export function edgeLabel(type, sharePct) {
  const base = REL_LABELS[type] || type;
  return sharePct === null || sharePct === undefined ? base : `${base} ${Number(sharePct).toFixed(0)}%`;
}

const HIDDEN = ".filtered, .later, .collapsed";
export const HIDDEN_CLASSES = HIDDEN;

export const STYLE = [
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
  {
    selector: "node[kind = 'Group']",
    style: {
      width: 40, height: 22, "background-color": "#e4e7eb", "border-width": 2, "border-color": "#7b8794",
      "border-style": "dashed", "text-valign": "center", "text-margin-y": 0, "font-size": 10, color: "#334e68",
    },
  },
  {
    // namesake grouping: a compound node around persons of the same name
    selector: "node[kind = 'Namesakes']",
    style: {
      shape: "round-rectangle", "background-color": "#f0f4f8", "background-opacity": 0.6,
      "border-width": 1, "border-style": "dashed", "border-color": "#829ab1",
      "text-valign": "top", "text-margin-y": -2, "font-size": 10, color: "#486581", padding: 8,
    },
  },
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
      "target-arrow-color": "#8a99a8",
      // the arrow points at the relationship's target, as the API gives it (person → firm)
      "target-arrow-shape": "triangle",
      "curve-style": "bezier",
      "arrow-scale": 0.9,
    },
  },
  // a path edge not (yet) known with its direction: dashed and without an arrow
  { selector: "edge[?synthetic]", style: { "line-style": "dashed", "target-arrow-shape": "none" } },
  { selector: "edge[type = 'GROUP']", style: { "line-style": "dotted", "target-arrow-shape": "none", label: "" } },
  { selector: HIDDEN, style: { display: "none" } },
  { selector: ".faded", style: { opacity: 0.2 } },
  // labels by zoom level (canvas-view.js sets the classes when the zoom crosses a threshold)
  { selector: "edge.quiet", style: { label: "" } },
  { selector: "node.quiet", style: { label: "" } },
  {
    selector: "node.highlighted",
    style: { "border-width": 4, "border-color": "#2f80ed", opacity: 1, "z-index": 10, label: "data(label)" },
  },
  {
    selector: "edge.highlighted",
    style: {
      width: 4, "line-color": "#2f80ed", "target-arrow-color": "#2f80ed", opacity: 1,
      color: "#1f2933", "z-index": 10, label: "data(label)",
    },
  },
];
