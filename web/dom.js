// Tiny DOM builder: text is always set as text (never parsed as HTML).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style") Object.assign(el.style, v); // CSSOM: allowed by the page's CSP
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function fmt(v) {
  if (v === undefined || v === null || v === "") return "—";
  if (Array.isArray(v)) return v.length ? v.join("、") : "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function riskBadge(level, score) {
  const text = level ? `${{ high: "高", medium: "中", low: "低" }[level] || ""} ${level}` : "未评分 n/a";
  const s = score === undefined || score === null ? "" : ` ${Number(score).toFixed(0)}`;
  return h("span", { class: `badge risk-${level || "none"}`, "data-testid": "risk-badge" }, text + s);
}

// a table from column specs [{key, title, render?}] and rows; rows carry data-row-index
export function table(columns, rows, { testid, rowTestid } = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", {}, c.title)));
  const body = rows.map((r, i) =>
    h("tr", { "data-row-index": i, "data-testid": rowTestid }, columns.map((c) => {
      const v = c.render ? c.render(r, i) : fmt(r[c.key]);
      return h("td", {}, v);
    })),
  );
  return h("table", { "data-testid": testid }, h("thead", {}, head), h("tbody", {}, body));
}

export function download(filename, href) {
  const a = h("a", { href, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}
