// 我的备案: the orders of an owner who came from the provider's console (its session is the
// page's cookie, set by POST /api/v1/session). GET /api/v1/orders answers only such a
// session; any other browser gets 401 and sees the new order's form as before. Each line
// says what has happened, and no more: the provider's review only once it was decided, the
// authority only once the back office reported it.

import { $, h, show, domainsNode } from '../lib/h.js';
import { api } from './state.js';

// loadMine asks for the owner's list; S.mine stays null when this browser holds no owner
// session.
export async function loadMine(S) {
  const r = await api(S, 'GET', '/api/v1/orders');
  S.mine = r.ok ? r.data.orders : null;
}

function fmtDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString('zh-CN', { hour12: false, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

const OUTCOME = { approve: '初审通过', changes: '初审要求补正', reject: '初审未通过' };

// reviewText is the provider's last decision, or '' while none was made.
function reviewText(r) {
  if (!r || !OUTCOME[r.outcome]) return '';
  return `${OUTCOME[r.outcome]}（第 ${r.round} 轮，${fmtDate(r.decided_at)}）`;
}

// authorityText is the authority's stage as the back office reported it, or ''.
function authorityText(a) {
  if (!a) return '';
  switch (a.status) {
    case 'submitted': return `已报送管局审核（${fmtDate(a.updated_at)}）`;
    case 'sms_sent': return `工信部已发送核验短信（${fmtDate(a.updated_at)}）`;
    case 'filed': return `备案成功${a.icp_number ? '：' + a.icp_number : ''}（${fmtDate(a.updated_at)}）`;
    case 'rejected': return `管局退回（${fmtDate(a.updated_at)}）`;
    default: return '';
  }
}

export function renderMine(S) {
  const list = $('#mine-list');
  const orders = S.mine || [];
  show($('#mine-empty'), orders.length === 0);
  list.replaceChildren(...orders.map((o) => {
    const review = reviewText(o.review);
    const authority = authorityText(o.authority);
    return h('li', { class: 'card mine-order', dataset: { order: o.id } },
      h('div', { class: 'mine-head' },
        h('span', { class: 'mine-subject' }, o.subject_name),
        h('span', { class: 'state-pill state-' + o.state }, S.catalog.stateLabel(o.state))),
      h('p', { class: 'mine-domains' }, domainsNode(o)),
      h('p', { class: 'mine-dates' }, `创建于 ${fmtDate(o.created_at)} · 更新于 ${fmtDate(o.updated_at)}`),
      review && h('p', { class: 'mine-review' }, review),
      authority && h('p', { class: 'mine-authority' }, authority),
      h('a', { class: 'btn btn-secondary mine-open', href: '/?order=' + encodeURIComponent(o.id),
        'aria-label': `打开订单：${o.subject_name}` }, '打开'));
  }));
}
