// Search that tells namesakes apart: each hit with its masked ID, birth year, place and tied
// firms (roles, a violation badge), the whole result's names with counts, and paging.

import { api } from "./api.js";
import { fmt, h, riskBadge } from "./dom.js";
import { KIND_LABELS, REL_LABELS } from "./graph.js";
import { placeOf } from "./pathfinder.js";

export const PAGE_SIZE = 20;

function violationBadge(violating) {
  return violating ? h("span", { class: "badge violating", "data-testid": "violating-badge", title: "有违法违规事件 has events of its own" }, "违法 violating") : null;
}

function ties(hit) {
  if (!hit.ties || !hit.ties.length) return null;
  const more = (hit.n_ties || 0) - hit.ties.length;
  return h("ul", { class: "ties small", "data-testid": "hit-ties" },
    ...hit.ties.map((t) => h("li", { "data-testid": "hit-tie", "data-entity-id": t.entity_id },
      t.name, " ", h("span", { class: "muted" }, (t.roles || []).map((r) => REL_LABELS[r] || r).join("、")),
      " ", violationBadge(t.violating))),
    more > 0 ? h("li", { class: "muted" }, `另有 ${more} 家 and ${more} more`) : null);
}

// who this hit is, beyond the name: masked ID, birth year, place, identifiers of a firm
function facts(hit) {
  const parts = [`${KIND_LABELS[hit.kind] || hit.kind}`];
  if (hit.id_masked) parts.push(`证件 ${hit.id_masked}`);
  if (hit.birth_year) parts.push(`${hit.birth_year} 年生`);
  const place = placeOf(hit);
  if (place) parts.push(place);
  if (hit.uscc) parts.push(`USCC ${hit.uscc}`);
  parts.push(`${hit.match} ${fmt(hit.similarity)}`);
  return h("span", { class: "muted small", "data-testid": "hit-facts" }, parts.join(" · "));
}

function hitRow(hit, onOpen) {
  return h("li", { "data-testid": "search-result", "data-entity-id": hit.entity_id, "data-name": hit.name },
    h("button", { type: "button", onclick: () => onOpen(hit) },
      h("span", { class: "name" }, hit.name), " ", riskBadge(hit.risk_level, hit.risk_score), " ", violationBadge(hit.violating)),
    h("div", {}, facts(hit)),
    ties(hit));
}

// the results list: names with counts (when several), the hits grouped by name, paging
export function renderSearchPage(list, page, { query, onOpen, onPage }) {
  const items = page.items || [];
  const groups = page.groups || [];
  const total = page.total ?? items.length;
  const offset = page.offset || 0;
  const limit = page.limit || PAGE_SIZE;
  const parts = [];
  if (!items.length) {
    list.replaceChildren(h("li", { class: "muted", "data-testid": "search-empty" }, "无结果 no match"));
    return;
  }
  parts.push(h("li", { class: "search-head", "data-testid": "search-range" },
    `共 ${total} 条，第 ${offset + 1}–${offset + items.length} 条 · ${total} hits for “${query}”`));
  if (groups.length > 1 || (groups[0] && groups[0].count > 1)) {
    parts.push(h("li", { class: "search-groups small", "data-testid": "search-groups" },
      "同名 names: ", ...groups.map((g, i) => [i ? "、" : "",
        h("span", { "data-testid": "search-group", "data-name": g.name, "data-count": g.count }, `${g.name} ×${g.count}`)])));
  }
  const byName = new Map();
  for (const hit of items) {
    if (!byName.has(hit.name)) byName.set(hit.name, []);
    byName.get(hit.name).push(hit);
  }
  for (const [name, hits] of byName) {
    const count = (groups.find((g) => g.name === name) || {}).count || hits.length;
    parts.push(h("li", { class: "name-group", "data-testid": "search-name-group", "data-name": name },
      count > 1 ? h("div", { class: "group-title small" }, `${name} · 同名 ${count} 人/家 namesakes`) : null,
      h("ol", { class: "results" }, hits.map((hit) => hitRow(hit, onOpen)))));
  }
  const prev = offset > 0;
  const next = offset + items.length < total;
  if (prev || next) {
    parts.push(h("li", { class: "pager", "data-testid": "search-pager" },
      h("button", { type: "button", "data-testid": "search-prev", disabled: !prev, onclick: () => onPage(Math.max(0, offset - limit)) }, "‹ 上一页 previous"),
      h("button", { type: "button", "data-testid": "search-next", disabled: !next, onclick: () => onPage(offset + limit) }, "下一页 next ›")));
  }
  list.replaceChildren(...parts);
}

// runs a search (a page of it) and renders it; returns the page
export async function runSearch(list, { query, kind, offset = 0, onOpen, setStatus, guarded }) {
  const page = await api.search(query, kind || undefined, PAGE_SIZE, offset);
  const again = (o) => runSearch(list, { query, kind, offset: o, onOpen, setStatus, guarded });
  renderSearchPage(list, page, { query, onOpen, onPage: (o) => guarded(() => again(o)) });
  setStatus(`${page.total ?? (page.items || []).length} 条结果 results for “${query}”`);
  return page;
}
