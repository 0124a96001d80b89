// The case bundle: one ZIP with the focused entity's profile, risk reasons, merge evidence and
// events, the highlighted path, the canvas (JSON) and its picture (PNG), a manifest with the
// served run's ID and the export time, and the open case or alert when there is one.

import { api } from "./api.js";
import { buildZip, dataUriBytes } from "./zip.js";
import { snapshot } from "./saved.js";

const json = (v) => JSON.stringify(v, null, 2);

// {blob, name, files, warnings}; refuses (throws) without an entity to export
export async function buildBundle(graph, { entityId, caseData, alertData, user }) {
  if (!entityId) throw new Error("请先打开一个实体，再导出案件包 (open an entity first)");
  const [profile, ready] = await Promise.all([api.entity(entityId), api.readyz().catch(() => ({}))]);
  const canvas = graph ? snapshot(graph, entityId) : { nodes: [], edges: [], highlight: { nodes: [], edges: [] }, focus: entityId };
  const exportedAt = new Date();
  const warnings = [];
  const files = [
    { name: "profile.json", data: json(profile) },
    { name: "reasons.json", data: json((profile.risk && profile.risk.reasons) || []) },
    { name: "evidence.json", data: json(profile.evidence || []) },
    { name: "events.json", data: json(profile.events || []) },
    { name: "path.json", data: json({
      nodes: canvas.highlight.nodes.map((id) => ({ id, label: (canvas.nodes.find((n) => n.data.id === id) || { data: {} }).data.label || id })),
      edges: canvas.highlight.edges.map((id) => {
        const e = canvas.edges.find((x) => x.data.id === id) || { data: { id } };
        return { id, source: e.data.source, target: e.data.target, type: e.data.type };
      }),
    }) },
    { name: "canvas.json", data: json(canvas) },
  ];
  if (graph && canvas.nodes.length) {
    const png = dataUriBytes(graph.png());
    if (png.length) files.push({ name: "graph.png", data: png });
    else warnings.push("图片为空，未包含 graph.png (the picture came out empty)");
  } else {
    warnings.push("图中没有节点，案件包不含图片 graph.png (the graph is empty: no picture)");
  }
  if (caseData) files.push({ name: "case.json", data: json(caseData) });
  if (alertData) files.push({ name: "alert.json", data: json(alertData) });
  const manifest = {
    format: "guanlian-case-bundle/1",
    entity_id: entityId,
    entity_name: profile.name,
    run_id: ready.run_id || (profile.risk && profile.risk.run_id) || null,
    exported_at: exportedAt.toISOString(),
    exported_by: user || null,
    files: files.map((f) => f.name),
    warnings,
  };
  files.unshift({ name: "manifest.json", data: json(manifest) });
  const stamp = exportedAt.toISOString().replace(/[-:]/g, "").slice(0, 15);
  return { blob: buildZip(files, exportedAt), name: `guanlian-case-${entityId}-${stamp}.zip`, files: manifest.files, warnings };
}
