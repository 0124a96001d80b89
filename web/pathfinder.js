// The path finder: ends by ID or name (suggestions from /search as one types; an ambiguous
// name's candidates offered to pick from), the relation filter and "include hubs" sent, each
// distinct path listed and drawn with every relationship in its real direction.

import { api, ApiError } from "./api.js";
import { h } from "./dom.js";
import { REL_LABELS } from "./graph.js";
import { addToCanvas } from "./canvas.js";

const ENTITY_ID = /^[EP][0-9a-f]{12}$/;
const SUGGESTIONS = 8;

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

// who a search hit or a candidate is, beyond the name
export function placeOf(x) {
  if (x.city && x.province && x.city.startsWith(x.province)) return x.city;
  return [x.province, x.city].filter(Boolean).join(" ");
}

export function whoIs(x) {
  const place = placeOf(x);
  return [x.id_masked, x.birth_year ? `${x.birth_year} 年生` : null, place || null, x.uscc ? `USCC ${x.uscc}` : null]
    .filter(Boolean).join(" · ");
}

// "A —股东→ B" when the relationship runs from A to B, "A ←股东— B" when from B to A; a step
// with relationships both ways shows both
export function stepText(step, name) {
  const forward = step.relations.filter((r) => r.source === step.a).map((r) => r.type_label || REL_LABELS[r.type] || r.type);
  const backward = step.relations.filter((r) => r.source !== step.a).map((r) => r.type_label || REL_LABELS[r.type] || r.type);
  const arrows = [];
  if (forward.length) arrows.push(`—${forward.join("、")}→`);
  if (backward.length) arrows.push(`←${backward.join("、")}—`);
  return ` ${arrows.join(" ")} ${name(step.b)}`;
}

export function pathText(path, name) {
  if (!path.steps || !path.steps.length) return path.nodes.map(name).join(" — ");
  return name(path.steps[0].a) + path.steps.map((s) => stepText(s, name)).join("");
}

// the path as a Subgraph: its named nodes and every relationship of its steps, as stored
function subgraphOf(path, nodes) {
  const wanted = new Set(path.nodes);
  const edges = path.steps.flatMap((s) => s.relations.map((r) => ({ id: r.id, type: r.type, source: r.source, target: r.target })));
  return { nodes: nodes.filter((n) => wanted.has(n.id)), edges };
}

export function createPathFinder({ state, guarded, setStatus, setMode, selectedTypes }) {
  let answer = null;
  const timers = {};
  const seq = { source: 0, target: 0 };

  const input = (end) => $(end === "source" ? "path-source" : "path-target");

  function choose(end, entityId, name) {
    const el = input(end);
    el.value = name;
    el.dataset.entityId = entityId;
    el.dataset.chosen = name;
    $(`path-${end}-suggest`).replaceChildren();
  }

  // the value sent: the chosen entity's ID while the text is still its name, else the text
  function endpoint(end) {
    const el = input(end);
    const text = el.value.trim();
    return el.dataset.entityId && el.dataset.chosen === text ? el.dataset.entityId : text;
  }

  function suggestionList(end, items) {
    return items.map((hit) => h("li", {},
      h("button", { type: "button", "data-testid": "path-suggestion", "data-entity-id": hit.entity_id,
        onclick: () => choose(end, hit.entity_id, hit.name) },
      h("span", { class: "name" }, hit.name), " ", h("span", { class: "muted small" }, whoIs(hit)))));
  }

  async function suggest(end) {
    const text = input(end).value.trim();
    const mine = ++seq[end];
    const list = $(`path-${end}-suggest`);
    if (!text || ENTITY_ID.test(text) || text === input(end).dataset.chosen) {
      list.replaceChildren();
      return;
    }
    let page;
    try {
      page = await api.search(text, undefined, SUGGESTIONS);
    } catch {
      return; // a suggestion is a help, not an action: the submit reports errors
    }
    if (mine !== seq[end]) return; // typed on since
    list.replaceChildren(...suggestionList(end, page.items || []));
  }

  function offerCandidates(err) {
    const field = ((err.problem.errors || [])[0] || {}).field || "";
    const end = field.endsWith("target") ? "target" : "source";
    const given = input(end).value.trim();
    const candidates = err.problem.candidates || [];
    setStatus(`${end === "source" ? "起点" : "终点"}“${given}”对应 ${candidates.length} 个实体，请在下方选择一个。The name is ambiguous: pick one.`, "error");
    $("path-candidates").replaceChildren(
      h("p", { class: "small" }, `“${given}” 可能是 may mean:`),
      h("ul", {}, candidates.map((c) => h("li", {},
        h("button", { type: "button", "data-testid": "path-candidate", "data-entity-id": c.entity_id,
          onclick: () => { choose(end, c.entity_id, c.name); $("path-candidates").replaceChildren(); guarded(find); } },
        h("span", { class: "name" }, c.name), " ", h("span", { class: "muted small" }, whoIs(c) || c.entity_id))))));
  }

  async function draw(index) {
    setMode("graph", "graph");
    const p = answer.items[index];
    const g = state.graph;
    const cap = g.maxNodes;
    g.maxNodes = Number.MAX_SAFE_INTEGER; // a path is drawn whole
    try {
      const sub = subgraphOf(p, answer.nodes || []);
      addToCanvas(sub, { highlight: { nodes: p.nodes, edges: sub.edges.map((e) => e.id) } });
    } finally {
      g.maxNodes = cap;
    }
    listPaths(index);
    setStatus(`路径 path ${index + 1}/${answer.items.length}: ${p.nodes.length - 1} 跳 hops`);
  }

  function listPaths(active) {
    const name = nameOf(answer);
    $("path-results").replaceChildren(...answer.items.map((p, i) =>
      h("li", { "data-testid": "path-item", "data-index": i, class: i === active ? "active" : "" },
        h("button", { type: "button", onclick: () => guarded(() => draw(i)) },
          `${p.nodes.length - 1} 跳 hops: `, h("span", { "data-testid": "path-text" }, pathText(p, name))))));
  }

  async function find(ev) {
    if (ev) ev.preventDefault();
    $("path-candidates").replaceChildren();
    for (const end of ["source", "target"]) { // no suggestion arrives after the request
      clearTimeout(timers[end]);
      seq[end] += 1;
      $(`path-${end}-suggest`).replaceChildren();
    }
    const source = endpoint("source");
    const target = endpoint("target");
    if (!source || !target) return;
    const types = selectedTypes();
    const hubs = $("path-include-hubs").checked;
    try {
      answer = await api.paths(source, target, $("path-hops").value, types && types.length ? types : undefined, hubs);
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.problem.code === "ambiguous_name") {
        offerCandidates(err);
        return;
      }
      throw err;
    }
    state.paths = answer.items || [];
    if (!state.paths.length) {
      $("path-results").replaceChildren(h("li", { class: "muted", "data-testid": "no-path" },
        hubs ? "未找到路径 no path within the hop limit"
          : "未找到路径（已避开枢纽地址/电话，可勾选“经过枢纽”）no path avoiding hubs within the hop limit"));
      setStatus(`${answer.source.name} → ${answer.target.name}: 未找到路径 no path`);
      return;
    }
    await draw(0);
  }

  function wire() {
    $("path-form").addEventListener("submit", (ev) => guarded(() => find(ev)));
    for (const end of ["source", "target"]) {
      input(end).addEventListener("input", () => {
        clearTimeout(timers[end]);
        timers[end] = setTimeout(() => suggest(end), 200);
      });
    }
  }

  // "path from here" / "path to here" on the entity panel
  function setEnd(end, entityId, name) {
    choose(end, entityId, name || entityId);
  }

  return { wire, find, setEnd };
}

function nameOf(answer) {
  const names = new Map((answer.nodes || []).map((n) => [n.id, n.label]));
  for (const e of [answer.source, answer.target]) if (e) names.set(e.entity_id, e.name);
  return (id) => names.get(id) || id;
}
