// Errors told in Chinese, with what to do next (an English gloss for the logs and tests).

import { ApiError } from "./api.js";

const FIELD_NAMES = { "body.name": "名称", "body.notes": "备注", "body.text": "备注", "body.assignee": "负责人" };

function fieldErrors(problem) {
  return (problem.errors || []).map((e) => `${FIELD_NAMES[e.field] || e.field}：${e.message}`).join("；");
}

// {text, code}: one sentence saying what went wrong and what to do about it
export function describeError(err) {
  if (!(err instanceof ApiError)) {
    const msg = err && err.message ? err.message : String(err);
    return { text: `页面出错：${msg}。请刷新页面后重试；若反复出现，请联系管理员。`, code: "client" };
  }
  const p = err.problem || {};
  const rid = p.request_id ? `（请求编号 ${p.request_id}）` : "";
  const detail = p.detail ? `：${p.detail}` : "";
  switch (err.status) {
    case 0:
      return { text: "无法连接服务器：请确认服务器正在运行、网络畅通，然后重试。(cannot reach the server)", code: "network" };
    case 401:
      return { text: `密钥无效或已被吊销，请重新输入有效的 API 密钥登录。${rid}`, code: "unauthenticated" };
    case 403:
      return { text: `当前密钥的角色无权执行此操作，请联系管理员开通权限。${rid}`, code: "forbidden" };
    case 404:
      return { text: `未找到${detail}。数据可能已在重新运行后变化，请刷新列表后重试。${rid}`, code: "not_found" };
    case 409:
      return { text: `操作与当前状态冲突${detail}。请刷新后再试。${rid}`, code: "conflict" };
    case 413:
      return { text: `提交的内容过大，请减少内容后重试。${rid}`, code: "payload_too_large" };
    case 422: {
      const fields = fieldErrors(p);
      return { text: `输入有误${fields ? `：${fields}` : detail}。请修改后重试。${rid}`, code: "validation_error" };
    }
    case 429:
      return { text: `请求过于频繁，请稍候几秒再试。${rid}`, code: "rate_limited" };
    case 503:
      return { text: `服务暂时不可用（HTTP 503 ${p.code || "unavailable"}）${detail}。请稍后重试；若持续出现，请联系管理员。${rid}`, code: p.code || "unavailable" };
    default:
      if (err.status >= 500) {
        return { text: `服务器内部错误，请稍后重试，并把请求编号告知管理员。${rid}`, code: p.code || "internal_error" };
      }
      return { text: `请求失败（${err.status}）${detail}。${rid}`, code: p.code || "error" };
  }
}
