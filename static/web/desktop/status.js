// 5. After submitting: the review state, the rejection reason, withdrawing.

import { $, $$, h, show, labelNode } from '../lib/h.js';
import { orderPath, api, applyOrder, requirements } from './state.js';
import { render, STATE_ZH } from './view.js';
import { setThumb } from './materials.js';

export function renderStatus(S) {
  const o = S.order;
  $('#status-card').dataset.state = o.state;
  // Plain glyphs and an inline clock: emoji need fonts that many desktops lack.
  if (o.state === 'submitted') {
    $('#status-icon').innerHTML = '<svg width="30" height="30" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/></svg>';
  } else {
    $('#status-icon').textContent = { approved: '✓', rejected: '!' }[o.state] || '';
  }
  $('#status-title').textContent = o.state === 'submitted' ? '已提交审核：服务商初审中' : (STATE_ZH[o.state] || o.state);
  const stages = $('#review-stages');
  show(stages, o.state !== 'rejected');
  $$('li', stages).forEach((li) => {
    const first = li.dataset.stage === 'provider';
    li.classList.toggle('current', o.state === 'submitted' && first);
    li.classList.toggle('done', o.state === 'approved');
  });
  $('#status-text').textContent = {
    submitted: '备案申请已提交：先由服务商初审，通过后再提交管局审核。审核结果会显示在本页面。审核期间资料不可修改；如需修改，可撤回订单。',
    approved: '备案审核已通过。',
    rejected: '备案审核未通过。撤回到草稿后，可以重新选择上传资料的方式（app 或电脑），修改资料后再次提交。',
  }[o.state] || '';
  show($('#reject-box'), o.state === 'rejected');
  $('#reject-reason').textContent = o.reject_reason || '未说明原因，请联系客服。';
  const w = $('#withdraw');
  show(w, o.state === 'submitted' || o.state === 'rejected');
  w.textContent = o.state === 'rejected' ? '撤回并重新上传' : '撤回订单';
  w.className = 'btn ' + (o.state === 'rejected' ? 'btn-primary' : 'btn-secondary');

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

export async function withdraw(S) {
  const box = $('#status-error');
  show(box, false);
  const r = await api(S, 'POST', orderPath(S, '/withdraw'));
  if (!r.ok) {
    box.textContent = r.error.message_zh;
    show(box, true);
    return;
  }
  applyOrder(S, r.data.order);
  S.pairing = null;
  S.phone = null;
  S.complete = false;
  S.reviewing = false;
  render(S);
  window.scrollTo({ top: 0 });
}
