// 继续办理: the resume code shown once after the order's creation, and the form that opens
// an order again in any browser with its number and code (POST …/resume sets a fresh
// cookie). A returning owner whose cookie lapsed is sent here rather than to a step.

import { $, show } from '../lib/h.js';
import { api, applyOrder } from './state.js';
import { render } from './view.js';
import { connect } from './events.js';

// groups writes a code in groups of four, as it is easiest to copy; the server ignores
// the hyphens.
function groups(code) {
  return String(code || '').match(/.{1,4}/g)?.join('-') || '';
}

// renderResumeCode shows the code of the order just created until the person says it is
// written down; it is kept nowhere but in the page's memory.
export function renderResumeCode(S) {
  const card = $('#resume-code-card');
  if (!S.resumeCode) { show(card, false); return; }
  $('#resume-code-order').textContent = S.orderId;
  $('#resume-code-value').textContent = groups(S.resumeCode);
  show(card, true);
}

// renderResume fills the 继续办理 form; lapsed says the cookie of the order in the URL no
// longer opens it.
export function renderResume(S) {
  show($('#resume-lapsed'), !!S.lapsed);
  if (S.lapsed && !$('#r-order').value) $('#r-order').value = S.orderId || '';
}

// lapse is what the page does when the order's own API answers unauthorized: the owner is
// offered the form instead of a step of the order.
export function lapse(S) {
  if (S.events) S.events.close();
  S.events = null;
  S.lapsed = true;
  S.order = null;
  render(S);
}

export function setupResume(S) {
  $('#resume-code-done').addEventListener('click', () => { S.resumeCode = ''; renderResumeCode(S); });
  $('#resume-form').addEventListener('submit', (e) => { e.preventDefault(); resume(S); });
}

async function resume(S) {
  const id = $('#r-order').value.trim().toLowerCase();
  const code = $('#r-code').value;
  const err = $('#resume-error');
  show(err, false);
  if (!id || !code.trim()) {
    err.textContent = '请填写订单号和续办码。';
    show(err, true);
    return;
  }
  const btn = $('#resume-submit');
  btn.disabled = true;
  const r = await api(S, 'POST', `/api/v1/orders/${encodeURIComponent(id)}/resume`, { code });
  btn.disabled = false;
  if (!r.ok) {
    err.textContent = r.status === 401 ? '订单号或续办码不正确，请核对后重试。' : r.error.message_zh;
    show(err, true);
    return;
  }
  $('#r-code').value = '';
  S.lapsed = false;
  S.orderId = r.data.order.id;
  applyOrder(S, r.data.order);
  render(S);
  connect(S);
  window.scrollTo({ top: 0 });
}
