// 3b/4. The PC upload and the review: one card per required material, the image beside what
// the order says, and submitting.

import { $, $$, h, show, labelNode, fmtSize, fmtTime, domainsNode } from '../lib/h.js';
import { mb } from '../lib/catalog.js';
import { samples } from '../samples.js';
import { orderPath, api, applyOrder, requirements, missingRequired, openState, idTypeName, validName, desktopText, provinceName, labelOf, serverNow, deviceName } from './state.js';
import { inChanges, slotIssues, pending, issueNode, renderFixFields, fieldLabel } from './fix.js';
import { render } from './view.js';
import { setThumb, renderWarnings } from './materials.js';
import { openStitch, renderStitch } from './stitch.js';
import { loadAudit } from './audit.js';
import { uploadFile, removeMaterial } from './upload.js';

const STITCH_SLOTS = new Set(['organization_certificate', 'subject_leader_id_front', 'subject_leader_id_back', 'website_leader_id_front', 'website_leader_id_back']);

// compareRows is what the order says about a slot's document: the owner compares it with
// the image beside it (the ID number masked, as the server gives it).
function compareRows(S, slot) {
  const o = S.order;
  const person = (p) => [
    ['姓名', p.name],
    ['证件', idTypeName(S, p.id_type)],
    ['号码', p.id_number_masked],
    ['有效期至', validName(p.id_valid_until)],
  ];
  const who = slot.startsWith('subject_leader') ? o.subject_leader : o.website_leader;
  switch (slot) {
    case 'organization_certificate':
      return [['单位名称', o.subject_name], ['证件类型', S.catalog.orgCertLabel(o.organization_certificate_type)]];
    case 'subject_leader_id_front':
    case 'website_leader_id_front':
      return person(who || {});
    case 'subject_leader_id_back':
    case 'website_leader_id_back':
      return [['姓名', (who || {}).name], ['有效期至', validName((who || {}).id_valid_until)]];
    case 'verification_form':
      return [
        ['主办者', o.subject_name],
        ['网站负责人', (o.website_leader || {}).name],
        ['域名', (o.domains || []).length ? domainsNode(o) : ''],
        ['省份', o.province_name_zh || provinceName(S, o.province)],
      ];
    case 'face_photo':
      return [['网站负责人', (o.website_leader || {}).name]];
    case 'domain_certificate':
      return [['域名', (o.domains || []).length ? domainsNode(o) : '']];
    default:
      return [];
  }
}

export function renderReview(S) {
  const o = S.order;
  const pc = o.upload_method === 'pc';
  const miss = missingRequired(S);
  const fixing = inChanges(o);
  $('#review-title').textContent = fixing ? '按初审意见补正' : pc && miss.length ? '上传资料' : '核对已上传资料';
  $('#review-lead').textContent = fixing
    ? '初审人员指出了下列资料或信息需要修改：请按每项的建议重新上传或修改，其余内容已锁定。全部处理后重新提交，进入下一轮初审。'
    : pc && miss.length
      ? `请上传证件原件的彩色扫描件或照片（jpg、png、gif，每张小于 ${mb(S.catalog.limits.max_bytes)}），可拖拽到对应位置。每张图片旁列出了您填写的信息，上传后请逐项对照。`
      : '请逐项对照：每张图片旁是您填写的备案信息（证件号码只显示首尾几位），姓名、证件号码、有效期和域名须与图片上的一致，不一致会被退回。单击图片可查看大图。';
  show($('#pc-verify'), pc && !fixing);
  show($('#back-to-app'), !pc && !fixing);
  show($('#change-method'), !fixing);
  renderFixPanel(S);

  const grid = $('#slot-grid');
  const keep = new Set();
  for (const r of requirements(S)) {
    keep.add(r.slot);
    let card = $(`.slot-card[data-slot="${r.slot}"]`, grid);
    if (!card) { card = slotCard(S, r); grid.append(card); }
    updateSlotCard(S, card, r);
  }
  $$('.slot-card', grid).forEach((c) => { if (!keep.has(c.dataset.slot)) c.remove(); });
  // Required first, then the optional ones, which stay compact while empty.
  const ordered = [...requirements(S).filter((r) => r.required), ...requirements(S).filter((r) => !r.required)];
  for (const r of ordered) grid.append($(`.slot-card[data-slot="${r.slot}"]`, grid));

  const req = requirements(S).filter((r) => r.required);
  const sum = $('#submit-summary');
  if (fixing) {
    const todo = [...pending(o)];
    $('#submit-order').textContent = '重新提交审核';
    sum.replaceChildren(todo.length
      ? h('span', { class: 'missing', id: 'pending-list' }, `还需处理 ${todo.length} 项：${todo.map((p) => pendingLabel(S, p)).join('、')}`)
      : h('span', { class: 'ok' }, '审核意见已全部处理，可以重新提交审核'));
    $('#submit-order').classList.toggle('btn-primary', !todo.length);
    $('#submit-order').classList.toggle('btn-secondary', !!todo.length);
    loadAudit(S);
    return;
  }
  $('#submit-order').textContent = '提交审核';
  // The list of what is missing is said once, here; after a refused submit it turns red.
  const box = $('#submit-error');
  const refused = box.dataset.kind === 'missing';
  if (refused) show(box, false);
  if (refused && !miss.length) box.dataset.kind = '';
  sum.replaceChildren(
    h('b', {}, `必需资料已上传 ${req.length - miss.length}/${req.length}`),
    miss.length
      ? h('span', { class: refused ? 'missing missing-refused' : 'missing', role: refused ? 'alert' : null, id: 'missing-list' },
        refused ? `资料不完整，还缺少：${miss.map((r) => r.label_zh).join('、')}。请上传后再提交。` : `还需上传：${miss.map((r) => r.label_zh).join('、')}`)
      : h('span', { class: 'ok' }, '资料已齐全，核对无误后即可提交审核'),
  );
  const warned = Object.values(S.materials).filter((m) => (m.warnings || []).length).length;
  if (warned && !miss.length) {
    sum.append(h('div', { class: 'muted small' }, `有 ${warned} 张图片带有质量提示，建议替换后再提交，以提高审核通过率。`));
  }
  $('#submit-order').classList.toggle('btn-primary', !miss.length);
  $('#submit-order').classList.toggle('btn-secondary', !!miss.length);
  loadAudit(S);
}

function slotCard(S, r) {
  const input = h('input', { type: 'file', class: 'file-input', accept: 'image/jpeg,image/png,image/gif,.jpg,.jpeg,.png,.gif', dataset: { slot: r.slot }, id: 'file-' + r.slot, 'aria-label': `选择${r.label_zh}的图片` });
  input.addEventListener('change', () => {
    if (input.files && input.files[0]) uploadFile(S, r.slot, input.files[0]);
    input.value = '';
  });
  const stitchable = STITCH_SLOTS.has(r.slot);
  const card = h('div', { class: 'slot-card card', dataset: { slot: r.slot } },
    h('div', { class: 'slot-head' },
      h('div', { class: 'slot-label' }),
      h('span', { class: 'slot-status' })),
    h('div', { class: 'slot-body' },
      h('div', { class: 'slot-left' },
        h('div', { class: 'slot-preview' },
          h('div', { class: 'slot-empty' },
            h('div', { class: 'slot-empty-icon', 'aria-hidden': 'true' }, '＋'),
            h('div', { class: 'slot-empty-text' }))),
        h('div', { class: 'progress', hidden: true }, h('div', { class: 'bar' })),
        h('div', { class: 'slot-meta' })),
      h('div', { class: 'slot-right' },
        h('dl', { class: 'compare' }),
        h('ul', { class: 'warnings' }),
        h('div', { class: 'slot-error', role: 'alert', hidden: true }),
        h('p', { class: 'slot-hint' }, slotHint(S, r)),
        h('div', { class: 'samples', 'aria-label': '示例图' }, h('span', { class: 'samples-title' }, '示例图'), samples(r.slot)),
        h('div', { class: 'slot-actions' },
          input,
          h('label', { class: 'btn btn-secondary btn-sm pick', for: 'file-' + r.slot }),
          stitchable ? h('button', { type: 'button', class: 'btn btn-link btn-sm add-page', onclick: () => openStitch(S, r.slot) }, '添加一页') : '',
          r.slot === 'verification_form' ? h('a', { class: 'btn btn-link btn-sm', id: 'vform-link-review', href: orderPath(S, '/verification-form'), target: '_blank', rel: 'noopener' }, '下载核验单') : '',
          h('button', { type: 'button', class: 'btn btn-link btn-sm remove', onclick: (e) => removeMaterial(S, r.slot, e.currentTarget) }, '删除')))),
    stitchable ? h('div', { class: 'stitch', hidden: true }) : '');
  const preview = $('.slot-preview', card);
  preview.addEventListener('dragover', (e) => {
    if (!canUploadFromPC(S, r)) return;
    e.preventDefault();
    preview.classList.add('drag');
  });
  preview.addEventListener('dragleave', () => preview.classList.remove('drag'));
  preview.addEventListener('drop', (e) => {
    e.preventDefault();
    preview.classList.remove('drag');
    if (!canUploadFromPC(S, r)) return;
    const fs = Array.from((e.dataTransfer && e.dataTransfer.files) || []);
    // Several files dropped on a slot that can take pages: they are the pages, in order.
    if (fs.length > 1 && STITCH_SLOTS.has(r.slot)) { openStitch(S, r.slot, fs); return; }
    if (fs[0]) uploadFile(S, r.slot, fs[0]);
  });
  preview.addEventListener('click', (e) => {
    if (e.target.closest('img') || !canUploadFromPC(S, r) || S.materials[r.slot]) return;
    input.click();
  });
  return card;
}

// slotHint is the server's guidance for this order's slot (ID type, form, registrar), else
// the catalogue's for any order; the reader is at the computer.
function slotHint(S, r) {
  const c = S.catalog.slot(r.slot);
  return desktopText(r.guidance_zh || (c && c.guidance_zh) || '');
}

// canUploadFromPC: in the open states every slot but the face photo; after a review round
// only the flagged slots (the server answers slot_locked for the others).
function canUploadFromPC(S, r) {
  if (r.slot === 'face_photo') return false;
  return openState(S) || (inChanges(S.order) && !!r.flagged);
}

// pendingLabel names an item of REVIEW.pending ("material:SLOT", "field:NAME").
function pendingLabel(S, p) {
  const i = p.indexOf(':');
  const name = p.slice(i + 1);
  return p.slice(0, i) === 'material' ? labelOf(S, name) : fieldLabel(name);
}

// renderFixPanel: in changes_requested, the round's summary, the phone's re-upload QR (app
// orders whose flagged slots the app may take) and the editors of the flagged fields.
export function renderFixPanel(S) {
  const o = S.order;
  const fixing = inChanges(o);
  show($('#fix-panel'), fixing);
  renderFixFields($('#fix-fields'), { order: o, catalog: S.catalog, request: (m, p, b) => api(S, m, p, b), orderPath: (rest) => orderPath(S, rest), onOrder: (ord) => { applyOrder(S, ord); render(S); } });
  if (!fixing) return;
  const r = o.review || {};
  const todo = pending(o);
  $('#fix-summary').replaceChildren(
    h('b', {}, `第 ${r.round || o.round} 轮初审：需要补正 ${(r.issues || []).length} 项`),
    todo.size ? ` · 还有 ${todo.size} 项待处理` : ' · 已全部处理');
  const app = o.upload_method === 'app' && requirements(S).some((x) => x.flagged && x.app_allowed);
  show($('#fix-phone'), app);
  if (!app) return;
  // Only a pairing made for this fix counts: the one of the first upload is long done.
  const p = S.pairing && S.pairing.id === S.fixPairingId ? S.pairing : null;
  const live = p && !p.expired && Date.parse(p.expires_at) > serverNow(S);
  const img = $('#fix-qr');
  show(img, !!live && !p.claimed);
  if (live && img.dataset.pairing !== p.id) {
    img.dataset.pairing = p.id;
    // The pairing id keeps browsers from showing a cached older code; it is not a secret.
    img.src = `${p.qr_png_url || orderPath(S, '/pairing/qr.png')}?p=${encodeURIComponent(p.id)}`;
  }
  $('#fix-phone-status').textContent = p && p.claimed
    ? (S.complete ? '手机已完成重新上传。' : `手机已连接（${deviceName(S.phone)}），请在手机上重新拍摄需要补正的资料。`)
    : live ? '请用阿里云 app 扫描二维码：手机只能重新上传需要补正的资料。' : '需要用手机重新拍摄时，单击“生成重新上传二维码”。';
  $('#fix-qr-go').textContent = live || (p && p.claimed) ? '换一个二维码' : '生成重新上传二维码';
}

// fixPairing makes the QR of a re-upload pairing: the phone that claims it may upload the
// flagged slots only.
export async function fixPairing(S) {
  const r = await api(S, 'POST', orderPath(S, '/pairing'));
  if (!r.ok) {
    $('#fix-phone-status').textContent = r.error.message_zh;
    return;
  }
  S.pairing = r.data.pairing;
  S.fixPairingId = r.data.pairing.id;
  S.phone = null;
  S.complete = false;
  render(S);
}

function updateSlotCard(S, card, r) {
  const m = S.materials[r.slot];
  const up = S.uploads[r.slot] || {};
  // After a review round: the slot's issues beside it, and whether it is flagged or locked.
  const fixing = inChanges(S.order);
  card.classList.toggle('flagged', fixing && !!r.flagged);
  card.classList.toggle('locked', fixing && !r.flagged);
  let issues = $('.slot-issues', card);
  if (!issues) { issues = h('div', { class: 'slot-issues' }); $('.slot-right', card).prepend(issues); }
  const mine = fixing ? slotIssues(S.order, r.slot) : [];
  const fixed = !pending(S.order).has('material:' + r.slot);
  issues.replaceChildren(...mine.map((i) => issueNode(i, fixed)));
  show(issues, mine.length > 0);
  card.classList.toggle('has', !!m);
  card.classList.toggle('warn', !!(m && m.warnings && m.warnings.length));
  // An empty optional slot is one line, not a 200 px drop zone.
  card.classList.toggle('compact', !r.required && !m && up.progress === undefined && !up.error && !(S.stitch && S.stitch.slot === r.slot));
  $('.slot-label', card).replaceChildren(labelNode(r.label_zh),
    r.required ? '' : h('span', { class: 'badge badge-muted' }, '可选'));
  const st = $('.slot-status', card);
  st.textContent = m ? (m.via === 'app' ? '已上传 · 来自 app' : '已上传 · 来自电脑') : (r.required ? '未上传' : '');
  st.className = 'slot-status ' + (m ? 'ok' : r.required ? 'pending' : '');
  if (fixing) {
    st.textContent = r.flagged ? (fixed ? '已重新上传' : '需要重新上传') : '已锁定';
    st.className = 'slot-status ' + (r.flagged ? (fixed ? 'ok' : 'pending') : '');
  }

  const dl = $('.compare', card);
  const rows = compareRows(S, r.slot).filter(([, v]) => v);
  dl.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { dataset: { k } }, v)]));
  show(dl, rows.length > 0);

  const preview = $('.slot-preview', card);
  setThumb(S, preview, r.slot, m, 'preview');
  const pcOK = canUploadFromPC(S, r);
  $('.slot-empty-text', card).textContent = r.slot === 'face_photo'
    ? '人脸核验照片需在阿里云 app 中现场拍摄'
    : '拖拽图片到此处，或单击选择文件';
  preview.classList.toggle('clickable', pcOK && !m);
  $('.slot-meta', card).textContent = m
    ? `${m.format.toUpperCase()} · ${m.width}×${m.height} · ${fmtSize(m.size)}${m.fitted ? `（已自动压缩，原图 ${fmtSize(m.original_size)}）` : ''} · ${fmtTime(m.uploaded_at)}`
    : '';
  renderWarnings(S, $('.warnings', card), m);

  const prog = $('.progress', card);
  show(prog, up.progress !== undefined);
  if (up.progress !== undefined) $('.bar', prog).style.width = Math.round(up.progress * 100) + '%';

  const err = $('.slot-error', card);
  err.replaceChildren();
  if (up.error) {
    err.append(h('span', {}, up.error));
    if (up.fitFile) {
      err.append(' ', h('button', { type: 'button', class: 'btn btn-link btn-sm fit', onclick: () => uploadFile(S, r.slot, up.fitFile, true) }, '自动压缩后上传'));
    }
  }
  show(err, !!up.error);

  const pick = $('.pick', card);
  pick.textContent = m ? '替换' : '选择文件';
  show(pick, pcOK);
  $('.file-input', card).disabled = !pcOK;
  const add = $('.add-page', card);
  if (add) show(add, pcOK);
  const rm = $('.remove', card);
  show(rm, !!m && openState(S));
  if (!rm.dataset.confirm) rm.textContent = '删除';
  renderStitch(S, card, r.slot);
}

export async function submitOrder(S) {
  const box = $('#submit-error');
  show(box, false);
  const btn = $('#submit-order');
  btn.disabled = true;
  const r = await api(S, 'POST', orderPath(S, '/submit'));
  btn.disabled = false;
  if (r.ok) {
    applyOrder(S, r.data.order);
    S.reviewing = false;
    render(S);
    window.scrollTo({ top: 0 });
    return;
  }
  const msg = r.error.message_zh;
  box.dataset.kind = '';
  const missing = r.error.details && r.error.details.missing;
  if (r.error.code === 'materials_incomplete' && Array.isArray(missing) && missing.length) {
    // The summary beside the button already lists what is missing: it turns red instead
    // of a second list.
    box.dataset.kind = 'missing';
    renderReview(S);
    const list = $('#missing-list');
    if (list) list.focus && list.scrollIntoView({ block: 'nearest' });
    return;
  }
  const pend = r.error.details && r.error.details.pending;
  if (r.error.code === 'changes_incomplete' && Array.isArray(pend) && pend.length) {
    box.textContent = `还有未处理的审核意见：${pend.map((p) => pendingLabel(S, p)).join('、')}。请处理后再提交。`;
    show(box, true);
    return;
  }
  box.textContent = msg;
  show(box, true);
}

// tickFix takes the re-upload QR away once it has lapsed.
export function tickFix(S) {
  const p = S.pairing;
  if (inChanges(S.order) && p && !p.claimed && !$('#fix-qr').hidden && Date.parse(p.expires_at) <= serverNow(S)) renderFixPanel(S);
}
