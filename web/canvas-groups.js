// Readable graphs at scale: hubs collapsed into one expandable node, namesakes grouped.
//
// Both are derived from the drawn elements on every refresh (GraphView.refresh) and are never
// part of a saved canvas state: a group node (kind "Group", id "group:<owner>") stands for the
// collapsed neighbours of its owner; a namesake box (kind "Namesakes", id "names:<name>") is a
// compound parent around the persons of one name.

import { EVENT_KINDS, HIDDEN_CLASSES, KIND_LABELS } from "./canvas-style.js";

const CONNECTORS = new Set(["Address", "Phone"]);
export const GROUP_PREFIX = "group:";
export const NAMES_PREFIX = "names:";

const isVirtual = (n) => Boolean(n.data("virtual"));
const isEvent = (n) => EVENT_KINDS.has(n.data("kind"));
const pinned = (n) => n.hasClass("root") || n.hasClass("expanded") || n.hasClass("highlighted") || n.selected();

// distinct visible neighbours of a node, over visible edges
function neighbours(node) {
  const out = new Map();
  node.connectedEdges().forEach((e) => {
    if (e.hasClass("filtered") || e.hasClass("later") || e.data("type") === "GROUP") return;
    const other = e.source().id() === node.id() ? e.target() : e.source();
    if (!other.hasClass("filtered") && !other.hasClass("later") && !isVirtual(other)) out.set(other.id(), other);
  });
  return [...out.values()];
}

// the nodes to collapse: what the user collapsed, and every address / phone with at least
// `threshold` neighbours that the user has not opened
function collapsedOwners(cy, view) {
  const owners = new Set();
  cy.nodes().forEach((n) => {
    if (isVirtual(n) || n.hasClass("filtered") || n.hasClass("later")) return;
    const id = n.id();
    if (view.collapsedByUser.has(id)) owners.add(id);
    else if (CONNECTORS.has(n.data("kind")) && !view.opened.has(id)
             && neighbours(n).filter((m) => !isEvent(m)).length >= view.hubThreshold) owners.add(id);
  });
  return owners;
}

// Collapse: a neighbour of an owner is folded into the owner's group node when it is not
// pinned (root, expanded, highlighted, selected) and all its other (non-event) neighbours are
// owners too; its events fold with it. A group needs at least two members.
export function regroup(cy, view) {
  cy.remove(cy.nodes().filter((n) => n.data("kind") === "Group"));
  cy.nodes().removeClass("collapsed");
  const owners = collapsedOwners(cy, view);
  const hubs = [];
  for (const ownerId of owners) {
    const owner = cy.getElementById(ownerId);
    const members = neighbours(owner).filter((m) => !isEvent(m) && !pinned(m) && !owners.has(m.id())
      && neighbours(m).every((x) => isEvent(x) || owners.has(x.id())));
    if (members.length < 2) continue;
    hubs.push({ owner, members });
  }
  for (const { owner, members } of hubs) {
    for (const m of members) {
      m.addClass("collapsed");
      neighbours(m).filter(isEvent).forEach((ev) => ev.addClass("collapsed"));
    }
    const kinds = new Set(members.map((m) => m.data("kind")));
    const noun = kinds.size === 1 ? KIND_LABELS[[...kinds][0]] || "节点" : "节点";
    const gid = GROUP_PREFIX + owner.id();
    const p = owner.position();
    cy.add([
      {
        group: "nodes",
        data: {
          id: gid, kind: "Group", virtual: true, owner: owner.id(), members: members.map((m) => m.id()),
          label: `+${members.length} ${noun} ▸`, shape: "round-tag", colour: "#e4e7eb",
        },
        position: { x: p.x + 60, y: p.y + 70 },
      },
      {
        group: "edges",
        data: { id: `${gid}:edge`, source: owner.id(), target: gid, type: "GROUP", label: "", virtual: true },
      },
    ]);
  }
}

// Namesakes: persons of one name (two or more drawn) inside one labelled compound box.
export function groupNamesakes(cy) {
  const byName = new Map();
  cy.nodes("[kind = 'Person']").forEach((n) => {
    if (n.hasClass("filtered") || n.hasClass("later") || n.hasClass("collapsed")) return;
    const name = n.data("label");
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push(n);
  });
  const wanted = new Map(); // person id -> parent id
  for (const [name, people] of byName) {
    if (people.length < 2) continue;
    const pid = NAMES_PREFIX + name;
    if (cy.getElementById(pid).empty()) {
      cy.add({
        group: "nodes",
        data: { id: pid, kind: "Namesakes", virtual: true, label: `同名 ${name} ×${people.length}`, colour: "#f0f4f8", shape: "round-rectangle" },
      });
    } else {
      cy.getElementById(pid).data("label", `同名 ${name} ×${people.length}`);
    }
    for (const p of people) wanted.set(p.id(), pid);
  }
  cy.nodes("[kind = 'Person']").forEach((n) => {
    const parent = wanted.get(n.id()) || null;
    const current = n.parent().nonempty() ? n.parent().id() : null;
    if (parent !== current) n.move({ parent });
  });
  cy.nodes("[kind = 'Namesakes']").forEach((box) => {
    if (box.children().empty()) box.remove();
  });
}

// members of a group node (for opening it)
export function groupOwner(cy, groupId) {
  const g = cy.getElementById(groupId);
  return g.nonempty() ? g.data("owner") : null;
}
