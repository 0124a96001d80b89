// HTTP client for the Guanlian API (same origin). The key lives in sessionStorage only.

const KEY_STORAGE = "guanlian.apiKey";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.title ? `${problem.title}: ${problem.detail || ""}` : `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

// counts requests in flight on <body data-busy> so tests and styles can tell when the page is idle
export function busy(delta) {
  const body = document.body;
  body.dataset.busy = String(Math.max(0, Number(body.dataset.busy || 0) + delta));
}

// called once when an authenticated request is refused with 401 (the key was revoked or
// expired mid-session): the page returns to sign-in
let unauthorized = null;
export function onUnauthorized(fn) {
  unauthorized = fn;
}

function query(params) {
  if (params instanceof URLSearchParams) {
    const s = params.toString();
    return s ? `?${s}` : "";
  }
  const usp = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    usp.set(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  const s = usp.toString();
  return s ? `?${s}` : "";
}

async function request(method, path, { params, body, key } = {}) {
  const apiKey = key || storedKey();
  const headers = { Accept: "application/json" };
  if (apiKey) headers["X-API-Key"] = apiKey;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  busy(+1);
  try {
    let resp;
    try {
      resp = await fetch(path + query(params), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (err) {
      // the server is stopped or unreachable: the browser gives no status at all
      throw new ApiError(0, { title: "无法连接服务器", detail: String(err && err.message || err), code: "network" });
    }
    const text = await resp.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { title: "Invalid response", detail: text.slice(0, 200) };
      }
    }
    if (!resp.ok) {
      if (resp.status === 401 && !key && apiKey && unauthorized) unauthorized();
      throw new ApiError(resp.status, data);
    }
    return data;
  } finally {
    busy(-1);
  }
}

const enc = encodeURIComponent;

export const api = {
  whoami: (key) => request("GET", "/whoami", { key }),
  search: (q, kind, limit = 20, offset = 0) => request("GET", "/search", { params: { q, kind, limit, offset: offset || undefined } }),
  entity: (id) => request("GET", `/entities/${enc(id)}`),
  risk: (id) => request("GET", `/entities/${enc(id)}/risk`),
  network: (id, { depth, types, cap }) =>
    request("GET", `/entities/${enc(id)}/network`, { params: { depth, types, cap } }),
  paths: (source, target, maxHops, types, includeHubs) =>
    request("GET", "/paths", { params: { source, target, max_hops: maxHops, types, include_hubs: includeHubs ? "true" : undefined } }),
  sharedControllers: (limit = 50) =>
    request("GET", "/risk/shared-controllers", { params: { limit } }),
  rings: (limit = 50) => request("GET", "/risk/rings", { params: { limit } }),
  phoenix: (limit = 50) => request("GET", "/risk/phoenix", { params: { limit } }),
  lookup: (record) => request("POST", "/inspection/lookup", { body: record }),
  readyz: () => request("GET", "/readyz"),
  worklist: (usp) => request("GET", "/risk/entities", { params: usp }),
  hubs: (limit = 50) => request("GET", "/risk/hubs", { params: { limit, min_enterprises: 2 } }),
  cycles: (limit = 50) => request("GET", "/risk/cycles", { params: { limit } }),
  exposure: (id) => request("GET", `/entities/${enc(id)}/exposure`),
  owners: (id) => request("GET", `/entities/${enc(id)}/beneficial-owners`),
  alerts: (params) => request("GET", "/alerts", { params }),
  alert: (id) => request("GET", `/alerts/${enc(id)}`),
  acknowledge: (id) => request("POST", `/alerts/${enc(id)}/acknowledge`),
  cases: (params) => request("GET", "/cases", { params }),
  caseOf: (id) => request("GET", `/cases/${enc(id)}`),
  openCase: (alertId, title) => request("POST", "/cases", { body: { alert_id: alertId, title: title || undefined } }),
  joinCase: (caseId, alertId) => request("POST", `/cases/${enc(caseId)}/alerts`, { body: { alert_id: alertId } }),
  assignCase: (caseId, assignee) => request("POST", `/cases/${enc(caseId)}/assign`, { body: { assignee } }),
  noteCase: (caseId, text) => request("POST", `/cases/${enc(caseId)}/notes`, { body: { text } }),
  moveCase: (caseId, status) => request("POST", `/cases/${enc(caseId)}/status`, { body: { status } }),
  closeCase: (caseId, outcome, note) => request("POST", `/cases/${enc(caseId)}/close`, { body: { outcome, note: note || "" } }),
  investigations: (params) => request("GET", "/investigations", { params }),
  investigation: (id) => request("GET", `/investigations/${enc(id)}`),
  saveInvestigation: (body) => request("POST", "/investigations", { body }),
  updateInvestigation: (id, body) => request("PUT", `/investigations/${enc(id)}`, { body }),
  deleteInvestigation: (id) => request("DELETE", `/investigations/${enc(id)}`),
  report: (since) => request("GET", "/inspection/report", { params: { since } }),
};
