// Who has seen my materials: the order's audit log, when the server offers one.

import { $, h, show } from '../lib/h.js';
import { orderPath, api, labelOf } from './state.js';

const ACTOR_ZH = { desktop: '您（电脑）', phone: '您的手机', operator: '审核人员', reviewer: '初审人员', system: '系统' };

// The audit actions of README's privacy section, as the owner reads them.
const ACTION_ZH = {
  create: '创建订单', read: '查看', read_form: '查看核验单', upload: '上传', remove: '删除',
  method: '选择上传方式', pairing_create: '生成二维码', pairing_revoke: '撤销二维码',
  pairing_expire: '二维码过期', claim: '扫码连接', complete: '完成上传', submit: '提交审核',
  withdraw: '撤回', review: '审核', read_pii: '查看备案信息（含完整证件号码）', edit: '修改备案信息',
  authority: '管局审核进度', resume: '凭续办码继续办理', resume_rotate: '更换续办码',
  read_order: '服务商查看订单', read_materials: '服务商查看资料列表', read_list: '手机查看已核验订单',
};

// loadAudit shows the order's audit log when the server offers one: a server without it
// answers 404, and then the list stays hidden.
export async function loadAudit(S) {
  const a = S.audit;
  if (a.absent || a.busy || Date.now() - a.at < 5000 || !S.orderId) return;
  a.busy = true;
  a.at = Date.now();
  const r = await api(S, 'GET', orderPath(S, '/audit'));
  a.busy = false;
  const box = $('#audit');
  if (r.status === 404) a.absent = true;
  if (!r.ok || !r.data || !Array.isArray(r.data.entries)) { show(box, false); return; }
  // Newest first; the server keeps them newest last.
  const all = r.data.entries.slice(-8).reverse();
  $('#audit-list').replaceChildren(...(all.length ? all.map((e) => h('li', {},
    h('span', { class: 'audit-at' }, new Date(e.at).toLocaleString('zh-CN', { hour12: false })),
    h('span', { class: 'audit-actor' }, ACTOR_ZH[e.actor] || e.actor),
    h('span', {}, [ACTION_ZH[e.action] || e.action, e.slot ? labelOf(S, e.slot) : ''].filter(Boolean).join(' · ')),
    e.ip ? h('span', { class: 'muted' }, e.ip) : '')) : [h('li', { class: 'muted' }, '暂无记录')]));
  show(box, true);
}
