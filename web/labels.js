// Chinese names of the codes the worklist, inbox and cases show (rules, alert kinds, case
// statuses and outcomes); an unknown code is shown as it is.

export const RULE_LABELS = {
  own_events: "自身违法事件",
  shared_controller: "共同控制人",
  controls_violators: "控制违法企业",
  network_1: "一度关联违法",
  network_2: "二度关联违法",
  phoenix: "“凤凰”企业",
  hub: "枢纽地址/电话",
  ring: "关联团伙",
  blacklist: "黑名单关联",
};

export const ALERT_KINDS = {
  level_rise: "风险等级上升",
  new_path: "新增违法关联路径",
  new_phoenix: "新增“凤凰”企业",
  new_hub: "新增枢纽",
  new_ring: "新增关联团伙成员",
  lineage: "关注对象合并/拆分",
};

export const CASE_STATUS = { new: "新建", assigned: "已分派", in_progress: "处理中", closed: "已结案" };
export const OUTCOMES = { confirmed: "属实 confirmed", false_positive: "误报 false positive", not_actionable: "无需处置 not actionable" };
export const LEVELS = { high: "高", medium: "中", low: "低" };

export const label = (map, code) => (code && map[code] ? `${map[code]} ${code}` : code || "—");

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
