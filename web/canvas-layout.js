// Layouts of the canvas: the whole drawing (force or hierarchical) and the cheap placement
// of an expansion's new nodes around the expanded node.

import { HIDDEN_CLASSES } from "./canvas-style.js";

export const LAYOUTS = {
  force: "力导向 force",
  hierarchy: "层级 hierarchical (directed)",
};

const real = (n) => !n.data("virtual");

// Place only the nodes not drawn before (`fresh`, IDs) in rings around `anchor` by their hop
// distance from it, leaving everything else where it is: cheap enough for a depth-3
// expansion into a large canvas (the full layout is a click away). An anchor not yet placed
// goes to the right of the drawing.
export function placeAround(view, anchor, fresh) {
  const cy = view.cy;
  const centre = cy.getElementById(anchor);
  const news = new Set(fresh);
  const old = view.visible().nodes().filter((n) => real(n) && !news.has(n.id()));
  if (news.has(anchor) && old.nonempty()) {
    const bb = old.boundingBox();
    centre.position({ x: bb.x2 + 80 + 40 * Math.sqrt(news.size), y: (bb.y1 + bb.y2) / 2 });
  }
  const c = centre.position();
  const rings = new Map();
  const seen = new Set([anchor]);
  let frontier = [centre];
  for (let hop = 1; frontier.length; hop += 1) {
    const next = [];
    for (const n of frontier) {
      n.neighborhood("node").forEach((m) => {
        if (seen.has(m.id()) || !news.has(m.id())) return;
        seen.add(m.id());
        next.push(m);
        if (!rings.has(hop)) rings.set(hop, []);
        rings.get(hop).push(m);
      });
    }
    frontier = next;
  }
  const stray = [...news].filter((id) => !seen.has(id)).map((id) => cy.getElementById(id));
  if (stray.length) rings.set(rings.size + 1, stray);
  cy.batch(() => {
    for (const [hop, nodes] of rings) {
      const radius = 90 * hop + 6 * nodes.length;
      nodes.forEach((n, i) => {
        const a = (2 * Math.PI * i) / nodes.length + hop * 0.4;
        n.position({ x: c.x + radius * Math.cos(a), y: c.y + radius * Math.sin(a) });
      });
    }
  });
}

// lay out the visible drawing: "force" (cose) or "hierarchy" (breadthfirst along the
// relationships' direction, roots = the opened entities or the nodes nothing points at)
export function runLayout(view) {
  const visible = view.visible();
  if (visible.empty()) return false;
  const cy = view.cy;
  if (view.layoutName === "hierarchy") {
    const nodes = visible.nodes().filter(real).filter((n) => n.isChildless());
    let roots = nodes.filter((n) => n.hasClass("root"));
    if (roots.empty()) roots = nodes.filter((n) => n.incomers("edge").not(HIDDEN_CLASSES).empty());
    visible.layout({
      name: "breadthfirst", directed: true, roots: roots.nonempty() ? roots : undefined,
      spacingFactor: 1.1, animate: false, fit: false, avoidOverlap: true,
    }).run();
  } else {
    const hasPositions = cy.nodes().some((n) => n.position().x !== 0 || n.position().y !== 0);
    visible.layout({
      name: "cose", animate: false, randomize: !hasPositions,
      nodeRepulsion: () => 400000, idealEdgeLength: () => 100, edgeElasticity: () => 100,
      numIter: 500, fit: false,
    }).run();
  }
  return true;
}
