// Hash routing: every view has a URL (#/worklist, #/entity/E…, #/alert/12, #/case/3,
// #/investigation/5, …), so a reload or a shared link restores it.

// {name, id, params}: "#/entity/E0123?x=1" -> {name: "entity", id: "E0123", params: {x: "1"}}
export function parseHash(hash = window.location.hash) {
  const text = String(hash || "").replace(/^#\/?/, "");
  const [path, qs] = text.split("?", 2);
  const parts = path.split("/").filter(Boolean).map((p) => decodeURIComponent(p));
  const params = Object.fromEntries(new URLSearchParams(qs || ""));
  return { name: parts[0] || "", id: parts[1] || null, params };
}

export function hashFor(name, id, params) {
  let out = `#/${encodeURIComponent(name)}`;
  if (id !== null && id !== undefined && id !== "") out += `/${encodeURIComponent(id)}`;
  const usp = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length)) continue;
    usp.set(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  const qs = usp.toString();
  return qs ? `${out}?${qs}` : out;
}

let handler = null;
let silent = null; // a hash we set ourselves without wanting its view re-run

// go to a view: the handler runs for it (unless quiet: only the URL changes, e.g. after the
// view is already drawn)
export function go(name, id, params, { quiet = false, replace = false } = {}) {
  const hash = hashFor(name, id, params);
  if (hash === window.location.hash) {
    if (!quiet && handler) handler(parseHash(hash));
    return;
  }
  if (quiet) silent = hash;
  if (replace) window.history.replaceState(null, "", hash);
  else window.location.hash = hash;
  if (replace && !quiet && handler) handler(parseHash(hash));
}

export function onRoute(fn) {
  handler = fn;
  window.addEventListener("hashchange", () => {
    if (silent && window.location.hash === silent) {
      silent = null;
      return;
    }
    silent = null;
    fn(parseHash());
  });
}
