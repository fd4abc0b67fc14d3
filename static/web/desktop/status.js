// 5. After submitting: the way through the provider's review and the authority's
// (progress.js), the rejection reason, withdrawing (asked first).

import { $, $$, h, show, labelNode } from '../lib/h.js';
import { orderPath, api, applyOrder, requirements, serverNow } from './state.js';
import { render } from './view.js';
import { renderProgress } from './progress.js';
import { setThumb } from './materials.js';

export function renderStatus(S) {
  const o = S.order;
  $('#status-card').dataset.state = o.state;
  // Plain glyphs and an inline clock: emoji need fonts that many desktops lack.
  if (o.state === 'submitted' || o.state === 'authority_review' || o.state === 'approved') {
    $('#status-icon').innerHTML = '<svg width="30" height="30" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/></svg>';
  } else {
    $('#status-icon').textContent = { filed: '✓', rejected: '!', authority_rejected: '!' }[o.state] || '';
  }
  $('#status-title').textContent = {
    submitted: o.round > 1 ? `已重新提交：服务商第 ${o.round} 轮初审中` : '已提交审核：服务商初审中',
    approved: '服务商初审通过：等待提交管局',
  }[o.state] || S.catalog.stateLabel(o.state);
  renderProgress($('#review-stages'), o, serverNow(S));
  $('#status-text').textContent = {
    submitted: '审核结果会显示在本页面。审核期间资料不可修改；如需修改，可撤回订单。',
    approved: '服务商初审已通过，接下来由服务商提交管局审核；管局的进度会显示在本页面。',
    authority_review: '管局审核期间资料不可修改。',
    filed: '恭喜，网站备案已成功。',
    rejected: '撤回到草稿后，可以重新选择上传资料的方式（app 或电脑），修改资料后再次提交。',
    authority_rejected: '撤回到草稿后，可以按管局的意见修改资料，再次提交。',
  }[o.state] || '';
  const rejected = o.state === 'rejected';
  show($('#reject-box'), rejected);
  $('#reject-reason').textContent = (o.review && o.review.reason) || o.reject_reason || '未说明原因，请联系客服。';
  const w = $('#withdraw');
  show(w, S.catalog.withdrawable(o.state));
  const back = rejected || o.state === 'authority_rejected';
  w.textContent = back ? '撤回并重新上传' : '撤回订单';
  w.className = 'btn ' + (back ? 'btn-primary' : 'btn-secondary');

  const row = $('#status-thumbs');
  const keep = new Set();
  for (const r of requirements(S)) {
    const m = S.materials[r.slot];
    if (!m) continue;
    keep.add(r.slot);
    let fig = $(`figure[data-slot="${r.slot}"]`, row);
    if (!fig) {
      fig = h('figure', { class: 'mini', dataset: { slot: r.slot } }, h('div', { class: 'mini-img' }), h('figcaption', {}, labelNode(r.label_zh)));
      row.append(fig);
    }
    setThumb(S, $('.mini-img', fig), r.slot, m, 'mini');
  }
  $$('figure', row).forEach((f) => { if (!keep.has(f.dataset.slot)) f.remove(); });
}

// askWithdraw says what a withdraw does before doing it: the order goes back to a draft,
// leaves the review queue, keeps its materials and the review's reasons, and the method is
// chosen again.
export function askWithdraw(S) {
  const d = $('#withdraw-dialog');
  const o = S.order;
  $('#withdraw-what').textContent = o.state === 'submitted'
    ? '订单将退出服务商的初审队列，回到草稿。'
    : '订单将回到草稿。';
  // Only an order that came back with reasons (a review round that did not pass, or the
  // authority's) is told that they stay readable: a first round withdrawn before any
  // decision has none.
  const r = o.review;
  show($('#withdraw-keeps-review'), !!((r && r.outcome !== 'approve') || (o.authority && o.authority.status === 'rejected')));
  show($('#withdraw-error'), false);
  d.showModal();
  $('#withdraw-cancel').focus();
}

export async function withdraw(S) {
  const box = $('#withdraw-error');
  show(box, false);
  const r = await api(S, 'POST', orderPath(S, '/withdraw'));
  if (!r.ok) {
    box.textContent = r.error.message_zh;
    show(box, true);
    return;
  }
  $('#withdraw-dialog').close();
  applyOrder(S, r.data.order);
  S.pairing = null;
  S.phone = null;
  S.complete = false;
  S.reviewing = false;
  render(S);
  window.scrollTo({ top: 0 });
}

// tickStatus keeps the text message's time left current, to the minute.
export function tickStatus(S) {
  if (!S.order || S.order.state !== 'authority_review' || $('#view-status').hidden) return;
  if (Date.now() - (S.progressAt || 0) < 15000) return;
  S.progressAt = Date.now();
  renderProgress($('#review-stages'), S.order, serverNow(S));
}
