// The entity panel: attributes, identifiers, source records, merge evidence, events, risk.

import { KIND_LABELS } from "./graph.js";
import { fmt, h, riskBadge, table } from "./dom.js";

const IDENTIFIERS = [
  ["uscc", "统一社会信用代码 USCC"],
  ["customs_code", "海关编码 Customs code"],
  ["reg_no", "注册号 Reg. no."],
  ["id_number", "证件号码 ID number"],
];

const METHOD_LABELS = {
  exact_id: "相同证照号 exact identifier",
  splink: "概率匹配 probabilistic (Splink)",
  context: "同行记录 context",
  masked_id: "脱敏证件号可见位一致 masked ID",
  judgement: "人工判定 judgement",
};

// replace the container's content, skipping absent (null) parts
export function fill(container, ...parts) {
  container.replaceChildren(...parts.flat().filter((p) => p !== null && p !== undefined && p !== false));
}

function section(title, testid, ...body) {
  return h("section", { class: "panel-section", "data-testid": testid }, h("h3", {}, title), ...body);
}

function identifiers(profile) {
  const attrs = profile.attributes || {};
  const rows = IDENTIFIERS.map(([k, label]) => [label, profile[k] ?? attrs[k]]).filter(([, v]) => v);
  if (!rows.length) return h("p", { class: "muted" }, "无证照号 no identifiers");
  return h("dl", { class: "kv" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function attributes(profile) {
  const skip = new Set(["names", "mention_ids", "sources", ...IDENTIFIERS.map(([k]) => k)]);
  const entries = Object.entries(profile.attributes || {}).filter(([k, v]) => !skip.has(k) && v !== null && v !== "");
  if (!entries.length) return h("p", { class: "muted" }, "—");
  return h("dl", { class: "kv" }, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, fmt(v))]));
}

function sources(profile) {
  const bySource = new Map();
  for (const s of profile.sources || []) {
    if (!bySource.has(s.source)) bySource.set(s.source, []);
    bySource.get(s.source).push(s);
  }
  if (!bySource.size) return h("p", { class: "muted" }, "—");
  return [...bySource.entries()].map(([src, recs]) =>
    h("details", { open: true, "data-testid": "source-group", "data-source": src },
      h("summary", {}, `${src} (${recs.length})`),
      table(
        [
          { key: "record_id", title: "记录 record" },
          { key: "role", title: "角色 role" },
          { key: "name", title: "名称 name" },
          { key: "record_date", title: "日期 date" },
        ],
        recs,
      )),
  );
}

function features(list) {
  if (!list || !list.length) return "—";
  return h("ul", { class: "features" }, list.map((f) =>
    h("li", {}, `${f.column}: ${fmt(f.value_l)} ↔ ${fmt(f.value_r)} (${fmt(f.level)}, w=${fmt(f.weight)})`)));
}

export function evidenceTable(evidence) {
  if (!evidence || !evidence.length) return h("p", { class: "muted" }, "单一记录，无合并 single record, nothing merged");
  return h("ol", { class: "evidence", "data-testid": "evidence-table" }, evidence.map((e) =>
    h("li", { "data-testid": "evidence-row", "data-method": e.method },
      h("div", {}, h("code", {}, e.mention_id_l), " ↔ ", h("code", {}, e.mention_id_r)),
      h("div", { class: "small" },
        h("strong", {}, METHOD_LABELS[e.method] || e.method),
        e.match_weight == null
          ? ` · 依据 matched on ${(e.features || []).map((f) => `${f.column} ${f.value_l ?? ""}`.trim()).join("、") || "—"}`
          : ` · 匹配权重 weight ${fmt(e.match_weight)} · 概率 p ${fmt(e.match_probability)}`),
      features(e.features))));
}

function events(profile) {
  if (!profile.events || !profile.events.length) return h("p", { class: "muted" }, "无记录 none");
  return table(
    [
      { key: "type", title: "类型 type" },
      { key: "date", title: "日期 date" },
      { key: "category", title: "类别 category" },
      { key: "amount", title: "金额 amount" },
      { key: "description", title: "说明 description" },
      { key: "source", title: "来源 source" },
    ],
    profile.events,
    { testid: "events-table" },
  );
}

const ENTITY_ID = /\b[EP][0-9a-f]{12}\b/g;

// a reason's summary with entity IDs replaced by names where the caller knows them
function readable(text, labelOf) {
  if (!labelOf || !text) return text;
  return text.replace(ENTITY_ID, (id) => {
    const label = labelOf(id);
    return label && label !== id ? `${label} (${id})` : id;
  });
}

// the events behind a reason, each with how its record was attached to its entity
function reasonEvents(events) {
  if (!events || !events.length) return null;
  return h("ul", { class: "reason-events small", "data-testid": "reason-events" },
    ...events.map((e) => {
      const at = e.attachment;
      const how = at ? `${at.method_label || at.method}${at.identifier_value ? ` ${at.identifier_label || at.identifier} ${at.identifier_value}` : ""}${at.match_probability != null ? ` p=${fmt(at.match_probability)}` : ""}` : "";
      return h("li", { "data-testid": "reason-event", "data-low-confidence": at && at.low_confidence ? "true" : "false" },
        `${e.date || "日期不详"} ${e.agency || ""} ${e.type_label || e.type}${e.category ? ` ${e.category}` : ""}${e.amount != null ? ` ${fmt(e.amount)}元` : ""}`,
        how ? h("span", { class: "muted" }, ` · ${how}`) : null,
        at && at.low_confidence ? h("span", { class: "badge risk-medium", title: "name-only or weak merge" }, "低置信 low confidence") : null);
    }));
}

// risk score with its reasons; onReason(reason, index) when a reason is selected
export function riskSection(risk, { onReason, labelOf } = {}) {
  if (!risk) return section("风险 Risk", "risk", h("p", { class: "muted" }, "未评分 not scored"));
  const items = (risk.reasons || []).map((r, i) =>
    h("li", {
      class: onReason ? "reason selectable" : "reason",
      tabindex: onReason ? 0 : undefined,
      "data-testid": "risk-reason",
      "data-rule": r.rule,
      "data-index": i,
      onclick: onReason ? (ev) => {
        ev.currentTarget.parentElement.querySelectorAll(".reason").forEach((x) => x.classList.remove("active"));
        ev.currentTarget.classList.add("active");
        onReason(r, i);
      } : undefined,
      onkeydown: onReason ? (ev) => { if (ev.key === "Enter" || ev.key === " ") ev.currentTarget.click(); } : undefined,
    },
    h("span", { class: "rule", title: r.rule_label ? r.rule : undefined }, r.rule_label || r.rule),
    h("span", { class: "contrib" }, `+${fmt(r.contribution)}`),
    h("div", { class: "summary" }, readable(r.detail || r.summary, labelOf)),
    reasonEvents(r.events),
    onReason && r.path_nodes && r.path_nodes.length ? h("div", { class: "muted small" }, `路径 path: ${r.path_nodes.length} 节点 nodes`) : null),
  );
  return section("风险 Risk", "risk",
    h("p", {}, riskBadge(risk.level, risk.score)),
    items.length ? h("ol", { class: "reasons", "data-testid": "risk-reasons" }, items) : h("p", { class: "muted" }, "无风险因素 no reasons"),
    learnedBlock(risk.learned));
}

const signed = (x) => `${x >= 0 ? "+" : "−"}${fmt(Math.abs(x))}`;

// the learned score beside the rules (shipped only where it beat them on the run's backtest):
// its probability, level and the SHAP contributions (log-odds) of the firm's graph features
export function learnedBlock(learned) {
  if (!learned) return null;
  return h("div", { class: "learned", "data-testid": "learned-score", "data-level": learned.level },
    h("h4", {}, "模型评分 Learned score ", riskBadge(learned.level, null),
      h("span", { "data-testid": "learned-probability" }, ` 违法概率 probability ${(Number(learned.score) * 100).toFixed(1)}%`)),
    h("ol", { class: "reasons", "data-testid": "learned-reasons" },
      (learned.reasons || []).map((r) => h("li", { class: "reason", "data-testid": "learned-reason", "data-feature": r.feature },
        h("span", { class: "rule", title: r.feature }, r.label || r.feature),
        h("span", { class: "contrib" }, signed(r.contribution)),
        h("span", { class: "muted small" }, ` = ${r.value === null ? "无 n/a" : fmt(r.value)}`)))),
    h("p", { class: "muted small" },
      `对数几率 log-odds ${fmt(learned.log_odds)} = 基线 ${fmt(learned.expected_value)} ${signed((learned.reasons || []).reduce((a, r) => a + r.contribution, 0))} (上列 listed) ${signed(learned.other)} (其他 other)`));
}

export function renderEntity(container, profile, { onReason, onPathEnd, labelOf } = {}) {
  fill(container,
    h("header", { class: "panel-head" },
      h("h2", { "data-testid": "entity-name" }, profile.name),
      h("div", { class: "muted" }, `${KIND_LABELS[profile.kind] || profile.kind} ${profile.kind} · `,
        h("code", { "data-testid": "entity-id" }, profile.entity_id)),
      riskBadge(profile.risk_level ?? profile.risk?.level, profile.risk_score ?? profile.risk?.score),
      h("div", { class: "buttons" },
        h("button", { type: "button", "data-testid": "path-from-here", onclick: () => onPathEnd && onPathEnd("source", profile.entity_id) }, "设为起点 path from"),
        h("button", { type: "button", "data-testid": "path-to-here", onclick: () => onPathEnd && onPathEnd("target", profile.entity_id) }, "设为终点 path to"))),
    (profile.names || []).length > 1 ? section("曾用名/别名 Names", "names", h("p", {}, profile.names.join("、"))) : null,
    section("证照 Identifiers", "identifiers", identifiers(profile)),
    riskSection(profile.risk, { onReason, labelOf }),
    section("属性 Attributes", "attributes", attributes(profile)),
    section("来源记录 Source records", "sources", ...[sources(profile)].flat()),
    section("合并依据 Why merged", "evidence", evidenceTable(profile.evidence)),
    section("事件 Events", "events", events(profile)),
  );
}

// a node that is not an entity (address, phone, event, or a placeholder): what the graph knows
export function renderNode(container, data, neighbours) {
  fill(container,
    h("header", { class: "panel-head" },
      h("h2", { "data-testid": "entity-name" }, data.label),
      h("div", { class: "muted" }, `${KIND_LABELS[data.kind] || data.kind} ${data.kind} · `, h("code", { "data-testid": "entity-id" }, data.id))),
    section("相连 Connected in the drawing", "neighbours",
      h("ul", {}, neighbours.map((n) => h("li", {}, `${n.label} (${n.relation})`)))),
  );
}

// inspector view of a search hit: the risk answer only
export function renderInspectorRisk(container, hit, risk) {
  fill(container,
    h("header", { class: "panel-head" },
      h("h2", { "data-testid": "entity-name" }, hit.name),
      h("div", { class: "muted" }, h("code", { "data-testid": "entity-id" }, hit.entity_id)),
      hit.uscc ? h("div", {}, `USCC ${hit.uscc}`) : null),
    riskSection(risk),
  );
}

const MATCH_METHODS = {
  uscc: "统一社会信用代码 USCC",
  customs_code: "海关编码 customs code",
  id_number: "证件号码 ID number",
  model: "匹配模型 model",
  similarity: "名称相似 name similarity",
  name_key: "名称变体（组织形式/地区）name variant",
};

const pct = (x) => (x === undefined || x === null ? "—" : `${Math.round(Number(x) * 100)}%`);

// the inspector's answer: the match with its confidence, the recommendation in Chinese, the
// reasons, and the candidates the name may also mean (each with its confidence)
export function renderLookup(container, res) {
  const m = res.match;
  const candidates = res.candidates || [];
  fill(container,
    h("p", { "data-testid": "lookup-match", "data-entity-id": m ? m.entity.entity_id : undefined },
      m ? `${m.entity.name} (${m.entity.entity_id}) · ${MATCH_METHODS[m.method] || m.method}` : "未匹配 no match",
      " ", riskBadge(res.risk_level, res.risk_score),
      h("span", { "data-testid": "lookup-confidence" }, ` · 置信度 confidence ${pct(res.confidence)}`)),
    h("p", { "data-testid": "lookup-recommendation", "data-recommendation": res.recommendation },
      "建议 recommendation: ", h("strong", {}, res.recommendation_label || fmt(res.recommendation)),
      res.recommendation_label ? h("span", { class: "muted" }, ` (${res.recommendation})`) : null),
    (res.reasons || []).length
      ? h("ul", {}, res.reasons.map((r) => h("li", {}, `${r.rule_label || r.rule} +${fmt(r.contribution)}: ${r.detail || r.summary}`)))
      : null,
    learnedBlock(res.learned),
    candidates.length ? section("候选企业 Candidates", "lookup-candidates",
      h("ol", {}, candidates.map((c) => h("li", { "data-testid": "lookup-candidate", "data-entity-id": c.entity.entity_id },
        h("span", { class: "name" }, c.entity.name), " ",
        h("span", { class: "muted small" }, `${c.entity.entity_id} · 置信度 confidence ${pct(c.confidence)}`),
        c.same_name ? h("span", { class: "badge", "data-testid": "lookup-same-name", title: "组织形式或地区写法不同的同一名称 a legal-form or region variant" }, " 名称变体 variant") : null,
        " ", riskBadge(c.entity.risk_level, c.entity.risk_score))))) : null,
    (res.notes || []).length ? h("p", { class: "muted small" }, res.notes.join("；")) : null,
  );
}
