// The way after submitting, drawn as it happened: 服务商初审 → 管局审核 · 短信核验 → 备案成功.
// A step is ticked only when the server says it happened (the order's state, its last
// review and the authority's last reported stage); nothing is promised that the provider has
// not configured, so no durations are shown.

import { h } from '../lib/h.js';

const PROVIDER_DONE = new Set(['approved', 'authority_review', 'filed', 'authority_rejected']);

function fmtDate(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return d.toLocaleString('zh-CN', { hour12: false, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

// timeLeft says how long until deadline (ms since the epoch), in whole minutes rounded
// down: the page never says there is more time than there is.
export function timeLeft(deadline, now) {
  const ms = deadline - now;
  if (ms <= 0) return '';
  const m = Math.floor(ms / 60000);
  if (m < 1) return '不到 1 分钟';
  const hr = Math.floor(m / 60);
  return hr ? `${hr} 小时 ${m % 60} 分钟` : `${m} 分钟`;
}

// steps returns the three steps of the order: {key, title, status: done|current|failed|todo, text}.
export function steps(o, now) {
  const a = o.authority || null;
  const r = o.review || null;
  const s = o.state;
  const provider = { key: 'provider', title: '服务商初审', status: 'todo', text: '提交后由服务商核对资料。' };
  if (s === 'submitted') {
    provider.status = 'current';
    provider.text = o.round > 1 ? `第 ${o.round} 轮初审中：已收到您补正后的资料。` : '初审中：服务商正在核对您的资料。';
  } else if (s === 'changes_requested') {
    provider.status = 'failed';
    provider.text = '需要补正：请按下方审核意见修改后重新提交。';
  } else if (s === 'rejected') {
    provider.status = 'failed';
    provider.text = '初审未通过。';
  } else if (PROVIDER_DONE.has(s)) {
    provider.status = 'done';
    provider.text = r && r.decided_at ? `初审通过（${fmtDate(r.decided_at)}）。` : '初审通过。';
  }

  const authority = { key: 'authority', title: '管局审核 · 短信核验', status: 'todo', text: '初审通过后，由服务商提交省通信管理局审核。' };
  if (s === 'approved') {
    authority.text = '初审已通过，等待服务商提交管局。';
  } else if (s === 'authority_review') {
    authority.status = 'current';
    const dl = a && a.sms_deadline ? Date.parse(a.sms_deadline) : NaN;
    if (!isNaN(dl)) {
      const left = timeLeft(dl, now);
      authority.text = left
        ? `工信部已发送核验短信：请在 24 小时内按短信提示完成核验（截止 ${fmtDate(a.sms_deadline)}，还剩 ${left}）。`
        : `工信部核验短信的 24 小时期限已过（截止 ${fmtDate(a.sms_deadline)}）。如未完成核验，请联系服务商。`;
      authority.sms = { deadline: a.sms_deadline, left };
    } else {
      // Nothing is said to have been sent before the back office reports sms_sent.
      authority.text = '已提交管局审核。收到工信部核验短信后，请在 24 小时内按短信提示完成核验。';
    }
  } else if (s === 'filed') {
    authority.status = 'done';
    authority.text = '管局审核通过。';
  } else if (s === 'authority_rejected') {
    authority.status = 'failed';
    authority.text = `管局退回：${(a && a.reason) || '未说明原因'}。撤回订单后可修改资料并重新提交。`;
  }

  const filed = { key: 'filed', title: '备案成功', status: 'todo', text: '管局审核通过后，获得 ICP 备案号。' };
  if (s === 'filed') {
    filed.status = 'done';
    filed.text = a && a.icp_number ? `备案号：${a.icp_number}` : '备案成功。';
    filed.icp = a && a.icp_number;
  }
  return [provider, authority, filed];
}

const MARK = { done: '✓', current: '…', failed: '!', todo: '' };

// renderProgress draws the steps into the list el.
export function renderProgress(el, o, now = Date.now()) {
  el.replaceChildren(...steps(o, now).map((st, i) => h('li', { class: st.status, dataset: { stage: st.key, status: st.status } },
    h('span', { class: 'stage-mark', 'aria-hidden': 'true' }, MARK[st.status] || String(i + 1)),
    h('div', {},
      h('b', {}, `${i + 1} ${st.title}`, h('span', { class: 'sr-only' }, { done: '（已完成）', current: '（进行中）', failed: '（未通过）', todo: '（未开始）' }[st.status])),
      h('span', { class: 'stage-text' }, st.text),
      st.icp ? h('span', { class: 'icp-number', id: 'icp-number' }, st.icp) : ''))));
}
