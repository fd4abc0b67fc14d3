// The desktop page of beianscan: the order form, the choice of upload method, the app's QR
// code with live progress, the PC upload and review, and the state after submitting.
//
// Everything the page knows about an order comes from the websocket (a snapshot, then
// events) and from the answers of its own requests. The desktop token is an HttpOnly
// cookie scoped to the order's API path: it never appears in a URL or in this script.

import { samples } from './samples.js';
import { loadCatalog, mb } from './lib/catalog.js';
import { $, $$, h, show, labelNode, fmtSize, fmtTime } from './lib/h.js';
import { newClient } from './lib/api.js';
import { openEvents } from './lib/ws.js';
import { enableLightbox } from './lightbox.js';
import { renderProgress } from './progress.js';
import { parseDomains, domainHint } from './domains.js';
import { detect, IMAGE_FORMATS, notImage, tooLarge, fromServer } from './upload-errors.js';
import { inChanges, slotIssues, pending, issueNode, renderFixFields, renderLastDecision, fieldLabel } from './fix.js';

const MAX_AUTO_RENEWALS = 10; // a forgotten tab stops renewing its QR after this many

const ORG_CERT_ZH = {
  business_license: '营业执照',
  public_institution: '事业单位法人证书',
  social_organization: '社会团体法人登记证书',
  other: '其他',
};

const STATE_ZH = {
  draft: '草稿：待上传资料',
  uploaded: '资料已齐全，待提交',
  submitted: '服务商初审中',
  changes_requested: '需要补正',
  rejected: '初审未通过',
  approved: '初审通过',
  authority_review: '管局审核中',
  filed: '备案成功',
  authority_rejected: '管局退回',
};

// The states that withdraw leaves (to draft, upload method cleared, materials kept).
const WITHDRAWABLE = new Set(['submitted', 'changes_requested', 'rejected', 'authority_rejected']);

const STITCH_SLOTS = new Set(['organization_certificate', 'subject_leader_id_front', 'subject_leader_id_back', 'website_leader_id_front', 'website_leader_id_back']);

// ---------------------------------------------------------------- small helpers

// deviceName is what the desktop calls the phone: the name the app sent, else the start
// and end of its device ID, which alone would wrap onto a lone digit.
function deviceName(ph) {
  if (!ph) return '未知';
  if (ph.device_name) return ph.device_name;
  const id = String(ph.device || '');
  if (!id) return '未知';
  return id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

function idTypeName(t) {
  return S.catalog.idTypeLabel(t);
}

function validName(v) {
  return v === 'long_term' ? '长期' : (v || '');
}

// desktopText drops "在电脑端" from the server's guidance: the reader is at the computer.
function desktopText(t) {
  return String(t || '').replace(/请?在电脑端/g, '').replace(/使用电脑端上传/g, '在本页上传');
}

function provinceName(code) {
  return S.catalog.provinceName(code);
}

// ---------------------------------------------------------------- state

const S = {
  catalog: null, // the server's tables (lib/catalog.js)
  client: newClient({ message: desktopText }),
  events: null, // the websocket (lib/ws.js)
  audit: { at: 0, busy: false, absent: false }, // absent: the server has no audit log (404)
  orderId: null,
  order: null,
  materials: {}, // slot → MATERIAL
  pairing: null, // {id, expires_at, qr_png_url, claimed, expired, completed, device, app_version}
  phone: null, // {device, app_version} while a phone holds the pairing
  phoneGone: '', // why the last phone went away, shown until a new one connects
  complete: false,
  version: 0, // the highest event version seen
  reviewing: false,
  pairingBusy: false,
  renewals: 0,
  uploads: {}, // slot → {progress, error, pending file}
  stitch: null, // the open "add a page" panel
};

function orderPath(rest = '') {
  return `/api/v1/orders/${encodeURIComponent(S.orderId)}${rest}`;
}

// api sends a request through the page's client (lib/api.js): {ok, status, data, error}.
function api(method, path, body) {
  return S.client.request(method, path, body);
}

function sendFile(method, path, body, contentType, onProgress) {
  return S.client.sendFile(method, path, body, contentType, onProgress);
}

// serverNow is the server's clock, as the answers' Date headers tell it.
function serverNow() { return S.client.now(); }

function applyOrder(order) {
  if (!order) return;
  if (S.order && order.version < S.order.version) return;
  S.order = order;
}

function requirements() {
  return (S.order && S.order.required_materials) || [];
}

function labelOf(slot) {
  const r = requirements().find((x) => x.slot === slot);
  return r ? r.label_zh : slot;
}

function missingRequired() {
  return requirements().filter((r) => r.required && !S.materials[r.slot]);
}

function openState() {
  return S.order && (S.order.state === 'draft' || S.order.state === 'uploaded');
}

// ---------------------------------------------------------------- views

function currentView() {
  if (!S.order) return S.orderId ? 'loading' : 'form';
  const o = S.order;
  // Asked to fix particular items, the owner works on the review page, where only those
  // items take changes.
  if (inChanges(o)) return 'review';
  if (!openState()) return 'status';
  if (S.choosing || !o.upload_method) return 'method';
  if (o.upload_method === 'app') return S.reviewing ? 'review' : 'app';
  if (o.upload_method === 'pc') return 'review';
  return 'method';
}

const STEP_OF = { form: 'form', method: 'method', app: 'upload', review: 'review', status: 'status', loading: 'method' };

function setURL() {
  const u = new URL(location.href);
  u.search = '';
  u.hash = '';
  if (S.orderId) {
    u.searchParams.set('order', S.orderId);
    if (S.reviewing && S.order && S.order.upload_method === 'app') u.searchParams.set('step', 'review');
  }
  if (u.href !== location.href) history.replaceState(null, '', u.href);
}

function render() {
  const view = currentView();
  for (const v of ['form', 'method', 'app', 'review', 'status']) show($('#view-' + v), v === view);
  show($('#loading'), view === 'loading');
  document.body.dataset.view = view;

  const order = ['form', 'method', 'upload', 'review', 'status', 'authority'];
  let step = STEP_OF[view];
  // A PC upload is uploading until every required material is there, then reviewing.
  if (view === 'review' && S.order.upload_method === 'pc' && missingRequired().length) step = 'upload';
  let at = order.indexOf(step);
  // After submitting, the provider's review and the authority's are steps of their own,
  // each ticked only once it happened.
  if (S.order && inChanges(S.order)) at = order.indexOf('status');
  if (view === 'status') {
    const st = S.order.state;
    if (['approved', 'authority_review', 'authority_rejected'].includes(st)) at = order.indexOf('authority');
    if (st === 'filed') at = order.length;
  }
  $$('#stepper li').forEach((li, i) => {
    li.classList.toggle('done', i < at);
    li.classList.toggle('current', i === at);
  });

  renderChip();
  if (view === 'method') renderMethod();
  if (view === 'app') renderApp();
  if (view === 'review') renderReview();
  if (view === 'status') renderStatus();
  // On the app path the form comes first (the phone photographs it); in the review its
  // download sits on its own card.
  if (view === 'app') renderVerificationForm(view);
  renderLastDecision($('#last-review'), S.order, labelOf);
  setURL();
}

function renderChip() {
  const chip = $('#order-chip');
  if (!S.order) { show(chip, false); return; }
  const o = S.order;
  chip.replaceChildren(
    h('span', { class: 'chip-name' }, o.subject_name),
    h('span', { class: 'chip-sep' }, '·'),
    h('span', { class: 'chip-province' }, o.province_name_zh || provinceName(o.province)),
    h('span', { class: 'chip-sep' }, '·'),
    h('span', { class: 'chip-domains' }, (o.domains || []).join('、')),
    h('span', { class: 'state-pill state-' + o.state, id: 'order-state' }, STATE_ZH[o.state] || o.state),
  );
  show(chip, true);
}

// ---------------------------------------------------------------- 1. the order form

function personFields(prefix) {
  const id = (f) => `f-${prefix}-${f}`;
  const options = S.catalog.idTypes.map((t) => h('option', { value: t.id_type }, t.label_zh));
  return h('div', { class: 'grid-2 person-fields', dataset: { prefix } },
    h('div', { class: 'field', dataset: { field: `${prefix}.name` } },
      h('label', { class: 'label', for: id('name') }, '姓名 ', h('span', { class: 'req' }, '*')),
      h('input', { id: id('name'), name: `${prefix}.name`, maxlength: '64' }),
      h('p', { class: 'field-error', role: 'alert' })),
    h('div', { class: 'field', dataset: { field: `${prefix}.id_type` } },
      h('label', { class: 'label', for: id('id-type') }, '证件类型 ', h('span', { class: 'req' }, '*')),
      h('select', { id: id('id-type'), name: `${prefix}.id_type` }, options),
      h('p', { class: 'field-error', role: 'alert' })),
    h('div', { class: 'field', dataset: { field: `${prefix}.id_number` } },
      h('label', { class: 'label', for: id('id-number') }, '证件号码 ', h('span', { class: 'req' }, '*')),
      h('input', { id: id('id-number'), name: `${prefix}.id_number`, maxlength: '32', spellcheck: 'false' }),
      h('p', { class: 'field-error', role: 'alert' })),
    h('div', { class: 'field', dataset: { field: `${prefix}.id_valid_until` } },
      h('label', { class: 'label', for: id('valid') }, '证件有效期至 ', h('span', { class: 'req' }, '*')),
      h('div', { class: 'inline' },
        h('input', { id: id('valid'), name: `${prefix}.id_valid_until`, type: 'date' }),
        h('label', { class: 'check' }, h('input', { type: 'checkbox', id: id('long-term'), name: `${prefix}.long_term` }), ' 长期')),
      h('p', { class: 'field-error', role: 'alert' })),
  );
}

function setupForm() {
  const sel = $('#f-province');
  for (const p of S.catalog.provinces) sel.append(h('option', { value: p.code }, p.name_zh));
  $('[data-person="subject_leader"]').append(personFields('subject_leader'));
  const wl = personFields('website_leader');
  wl.id = 'website-leader-fields';
  $('[data-person="website_leader"]').append(wl);

  const form = $('#order-form');
  const sync = () => {
    const org = form.subject_type.value === 'organization';
    show($('#org-cert-field'), org);
    $('#subject-name-label').textContent = org ? '主办单位名称' : '主办者名称（个人姓名）';
    show($('#website-leader-fields'), !$('#f-same').checked);
    for (const p of ['subject_leader', 'website_leader']) {
      $(`#f-${p}-valid`).disabled = $(`#f-${p}-long-term`).checked;
    }
  };
  form.addEventListener('change', sync);
  form.addEventListener('input', (e) => {
    const f = e.target.closest('.field');
    if (f) setFieldError(f, '');
  });
  sync();
  form.addEventListener('submit', (e) => { e.preventDefault(); createOrder(); });
  // A web address typed as a domain is said at once, on leaving the field.
  $('#f-domains').addEventListener('blur', () => {
    const hint = domainHint(parseDomains($('#f-domains').value));
    if (hint) setFieldError($('#f-domains').closest('.field'), hint);
  });
}

function setFieldError(field, msg) {
  const p = $('.field-error', field);
  if (p) p.textContent = msg;
  field.classList.toggle('invalid', !!msg);
}

function clearFormErrors() {
  $$('#order-form .field').forEach((f) => setFieldError(f, ''));
  show($('#form-error'), false);
}

// fieldFor finds the form field an error's details.field names, or the nearest enclosing
// one ("website_leader.name" falls back to "website_leader").
function fieldFor(name) {
  let n = name;
  while (n) {
    const f = $(`#order-form [data-field="${CSS.escape(n)}"]`);
    if (f && !f.closest('[hidden]')) return f;
    n = n.includes('.') ? n.slice(0, n.lastIndexOf('.')) : '';
  }
  return null;
}

function readPerson(prefix) {
  const v = (f) => $(`#f-${prefix}-${f}`).value.trim();
  return {
    name: v('name'),
    id_type: v('id-type'),
    id_number: v('id-number'),
    id_valid_until: $(`#f-${prefix}-long-term`).checked ? 'long_term' : v('valid'),
  };
}

function localChecks(body) {
  const errs = [];
  if (!body.province) errs.push(['province', '请选择主体所在省份。']);
  if (!body.subject_name) errs.push(['subject_name', body.subject_type === 'organization' ? '请填写主办单位名称。' : '请填写主办者名称。']);
  if (body.subject_type === 'organization' && !body.organization_certificate_type) {
    errs.push(['organization_certificate_type', '请选择单位证件类型。']);
  }
  const people = [['subject_leader', body.subject_leader]];
  if (!body.website_leader_same_as_subject_leader) people.push(['website_leader', body.website_leader]);
  for (const [p, v] of people) {
    if (!v.name) errs.push([`${p}.name`, '请填写姓名。']);
    if (!v.id_number) errs.push([`${p}.id_number`, '请填写证件号码。']);
    if (!v.id_valid_until) errs.push([`${p}.id_valid_until`, '请选择证件有效期，或勾选“长期”。']);
  }
  if (body.domains.length === 0) errs.push(['domains', '请填写网站域名。']);
  else if (domainHint(body.domains)) errs.push(['domains', domainHint(body.domains)]);
  return errs;
}

async function createOrder() {
  clearFormErrors();
  const form = $('#order-form');
  const same = $('#f-same').checked;
  const body = {
    subject_type: form.subject_type.value,
    province: $('#f-province').value,
    subject_name: $('#f-subject-name').value.trim(),
    subject_leader: readPerson('subject_leader'),
    website_leader_same_as_subject_leader: same,
    domains: parseDomains($('#f-domains').value),
    domain_registered_here: $('#f-domain-here').checked,
  };
  if (body.subject_type === 'organization') body.organization_certificate_type = $('#f-org-cert').value;
  if (!same) body.website_leader = readPerson('website_leader');

  const local = localChecks(body);
  if (local.length) {
    for (const [f, msg] of local) { const el = fieldFor(f); if (el) setFieldError(el, msg); }
    focusFirstError();
    return;
  }
  const btn = $('#create-order');
  btn.disabled = true;
  btn.textContent = '正在创建订单…';
  const r = await api('POST', '/api/v1/orders', body);
  btn.disabled = false;
  btn.textContent = '下一步：上传资料';
  if (!r.ok) {
    const f = r.error.details && r.error.details.field;
    const el = f && fieldFor(f);
    if (el) setFieldError(el, r.error.message_zh);
    else {
      $('#form-error').textContent = r.error.message_zh;
      show($('#form-error'), true);
    }
    focusFirstError();
    return;
  }
  // The desktop token is also set as an HttpOnly cookie for this order's API path; the
  // page relies on that and drops the copy in the answer.
  S.orderId = r.data.order.id;
  applyOrder(r.data.order);
  render();
  connect();
  window.scrollTo({ top: 0 });
}

function focusFirstError() {
  const f = $('#order-form .field.invalid') || $('#form-error:not([hidden])');
  if (!f) return;
  f.scrollIntoView({ block: 'center' });
  const input = f.querySelector && f.querySelector('input:not([type=checkbox]):not([type=radio]), select, textarea');
  if (input) input.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- 2. choosing the method

function renderMethod() {
  const o = S.order;
  const prov = o.province_name_zh || provinceName(o.province);
  const appOK = o.app_upload_available;
  $('#method-lead').textContent = appOK
    ? '请选择上传资料的方式。使用阿里云 app 可一次完成资料上传和网站负责人核验。'
    : `${prov}的备案目前请使用电脑上传资料。`;
  $('#method-app').classList.toggle('disabled', !appOK);
  $('#choose-app').disabled = !appOK;
  $('#choose-app').className = 'btn ' + (appOK ? 'btn-primary' : 'btn-secondary');
  $('#choose-app').textContent = appOK ? '使用 app 上传' : '暂不可用';
  const badge = $('#method-app-badge');
  badge.textContent = appOK ? '推荐' : '暂未开放';
  badge.className = 'badge ' + (appOK ? 'badge-accent' : 'badge-muted');
  const reason = $('#method-app-reason');
  reason.textContent = appOK ? '' : `${prov}暂未开放阿里云 app 核验（其他省份 app 核验开放时间待定），请使用电脑上传资料。`;
  show(reason, !appOK);
  $('#method-pc').classList.toggle('suggested', !appOK);
  $('#choose-pc').className = 'btn ' + (appOK ? 'btn-secondary' : 'btn-primary');
  show($('#method-back'), !!o.upload_method);
  const cur = { app: '当前方式：使用阿里云 app 上传', pc: '当前方式：使用电脑上传' }[o.upload_method];
  $('#method-app').classList.toggle('chosen', o.upload_method === 'app');
  $('#method-pc').classList.toggle('chosen', o.upload_method === 'pc');
  if (cur) $('#method-lead').textContent += `${cur}。已上传的资料会保留。`;
}

async function chooseMethod(method, errBox) {
  show(errBox, false);
  const r = await api('PUT', orderPath('/upload-method'), { method });
  if (!r.ok) {
    errBox.textContent = r.error.message_zh;
    show(errBox, true);
    return false;
  }
  applyOrder(r.data.order);
  S.reviewing = false;
  S.choosing = false;
  S.renewals = 0;
  if (method !== 'app') { S.pairing = null; S.phone = null; S.complete = false; }
  render();
  if (method === 'app') ensurePairing();
  return true;
}

// ---------------------------------------------------------------- 3a. the app

function pairingDeadline(p) {
  return Date.parse(p.expires_at) || 0;
}

// ensurePairing shows a QR code whenever the app view has none that can still be scanned:
// on arrival, when one lapses (automatically, up to MAX_AUTO_RENEWALS times), or on request.
async function ensurePairing(force = false) {
  if (currentView() !== 'app' || !openState()) return;
  const p = S.pairing;
  const lapsed = p && !p.claimed && (p.expired || pairingDeadline(p) <= serverNow());
  if (!force && p && !lapsed) return;
  if (!force && p && p.claimed) return;
  if (S.pairingBusy) return;
  if (!force && S.renewals >= MAX_AUTO_RENEWALS) { renderApp(); return; }
  S.pairingBusy = true;
  const forId = p ? p.id : null;
  renderApp();
  const r = await api('POST', orderPath('/pairing'));
  S.pairingBusy = false;
  if (r.ok) {
    S.renewals = force ? 0 : S.renewals + 1;
    const np = r.data.pairing;
    // The pairing_created event may have come first; either way the newest pairing wins.
    if (!S.pairing || S.pairing.id === forId || S.pairing.id === np.id) {
      S.pairing = np;
      S.phone = null;
      S.complete = false;
    }
    S.qrError = '';
  } else {
    S.qrError = r.error.message_zh;
  }
  render();
}

function renderApp() {
  const p = S.pairing;
  const box = $('#qr-box');
  const img = $('#qr-img');
  const overlay = $('#qr-overlay');
  let state = 'loading';
  if (p && p.claimed) state = 'claimed';
  else if (p && !p.expired && pairingDeadline(p) > serverNow()) state = 'live';
  else if (p) state = S.renewals >= MAX_AUTO_RENEWALS && !S.pairingBusy ? 'stopped' : 'expired';
  if (S.qrError && !S.pairingBusy) state = 'error';
  if (!p && S.phoneGone && !S.pairingBusy) state = 'gone';
  box.dataset.state = state;

  if (p && img.dataset.pairing !== p.id) {
    img.dataset.pairing = p.id;
    img.dataset.loaded = '';
    // The pairing id keeps browsers from showing a cached older code; it is not a secret.
    img.src = `${p.qr_png_url || orderPath('/pairing/qr.png')}?p=${encodeURIComponent(p.id)}`;
  }
  const msg = {
    loading: h('span', {}, '正在生成二维码…'),
    claimed: h('span', { class: 'ok' }, h('span', { class: 'big-tick' }, '✓'), '手机已连接'),
    expired: h('span', {}, '二维码已过期，正在更新…'),
    stopped: h('span', {}, '二维码已过期', h('br'), '请单击下方“刷新二维码”'),
    error: h('span', {}, S.qrError || ''),
    gone: h('span', {}, '手机已断开连接', h('br'), '请单击下方“刷新二维码”后重新扫描'),
    live: null,
  }[state];
  overlay.replaceChildren(...(msg ? [msg] : []));
  updateCountdown();

  // Timeline.
  const appSlots = requirements().filter((r) => r.app_allowed);
  const required = appSlots.filter((r) => r.required);
  const done = required.filter((r) => S.materials[r.slot]).length;
  let stage = 'waiting';
  if (S.complete) stage = 'complete';
  else if (S.phone && Object.values(S.materials).some((m) => m.via === 'app')) stage = 'uploading';
  else if (S.phone) stage = 'connected';
  const tl = $('#timeline');
  tl.dataset.stage = stage;
  const stages = ['waiting', 'connected', 'uploading', 'complete'];
  const at = stages.indexOf(stage);
  $$('#timeline > li').forEach((li, i) => {
    li.classList.toggle('done', i < at || (stage === 'complete' && i === at));
    li.classList.toggle('current', i === at && stage !== 'complete');
  });
  $('#tl-waiting').textContent = S.phoneGone && !S.phone ? S.phoneGone
    : (S.phone || S.complete) ? '已扫码' : '请用阿里云 app 扫描二维码';
  const tlc = $('#tl-connected');
  if (S.phone) {
    tlc.replaceChildren(h('span', { class: 'device', title: S.phone.device || '' }, `设备：${deviceName(S.phone)}`), h('br'), `app 版本：${S.phone.app_version || '未知'}`);
  } else tlc.textContent = '扫码后，这里会显示手机的设备信息';
  $('#qr-refresh').textContent = p && p.claimed ? '换一部手机扫码' : '刷新二维码';
  $('#tl-uploading').textContent = S.phone || S.complete
    ? `已上传 ${done}/${required.length} 项必需资料`
    : '资料上传后会逐项显示在下方';
  $('#tl-complete').textContent = S.complete
    ? '手机端已完成上传，请单击“核对已上传资料”'
    : '手机端完成后，单击“核对已上传资料”';

  // Checklist.
  $('#checklist-count').textContent = `必需资料已上传 ${done}/${required.length}`;
  const list = $('#checklist');
  const keep = new Set();
  for (const r of appSlots) {
    keep.add(r.slot);
    let li = $(`li[data-slot="${r.slot}"]`, list);
    if (!li) {
      li = h('li', { class: 'check-item', dataset: { slot: r.slot } },
        h('span', { class: 'check-icon' }),
        h('div', { class: 'check-thumb' }),
        h('div', { class: 'check-body' },
          h('div', { class: 'check-label' }),
          h('div', { class: 'check-meta' }),
          h('ul', { class: 'warnings' })));
      list.append(li);
    }
    const m = S.materials[r.slot];
    li.classList.toggle('done', !!m);
    $('.check-icon', li).textContent = m ? '✓' : '';
    const label = $('.check-label', li);
    label.replaceChildren(labelNode(r.label_zh), r.required ? '' : h('span', { class: 'badge badge-muted' }, '可选'));
    $('.check-meta', li).textContent = m
      ? `${m.via === 'app' ? '来自 app' : '来自电脑'} · ${m.width}×${m.height} · ${fmtSize(m.size)} · ${fmtTime(m.uploaded_at)}`
      : (r.required ? '等待上传' : '可选，按需上传');
    setThumb($('.check-thumb', li), r.slot, m, 'thumb');
    renderWarnings($('.warnings', li), m);
  }
  $$('li[data-slot]', list).forEach((li) => { if (!keep.has(li.dataset.slot)) li.remove(); });
  // Keep the order of the requirements.
  for (const r of appSlots) { const li = $(`li[data-slot="${r.slot}"]`, list); if (li) list.append(li); }

  const ready = S.complete || S.order.state === 'uploaded';
  const btn = $('#go-review');
  btn.className = 'btn btn-lg ' + (ready ? 'btn-primary' : 'btn-secondary');
  btn.classList.toggle('pulse', S.complete);
}

function updateCountdown() {
  const el = $('#qr-countdown');
  const p = S.pairing;
  if (!p || p.claimed) {
    el.textContent = p && p.claimed ? '已扫码，请在手机上继续操作' : '';
    return;
  }
  const left = Math.ceil((pairingDeadline(p) - serverNow()) / 1000);
  if (p.expired || left <= 0) {
    el.textContent = S.renewals >= MAX_AUTO_RENEWALS ? '二维码已过期' : '二维码已过期，正在自动更新';
    return;
  }
  const mm = Math.floor(left / 60);
  const ss = String(left % 60).padStart(2, '0');
  el.textContent = '';
  el.append('二维码 ', h('b', { id: 'qr-left' }, `${mm}:${ss}`), ' 后失效，失效后将自动更新');
}

// tick runs the countdown, and renews a QR whose lapse the server has not announced yet
// (say, while the websocket was reconnecting).
function tick() {
  // The text message's time left, to the minute.
  if (currentView() === 'status' && S.order.state === 'authority_review' && Date.now() - (S.progressAt || 0) > 15000) {
    S.progressAt = Date.now();
    renderProgress($('#review-stages'), S.order, serverNow());
  }
  if (inChanges(S.order) && S.pairing && !S.pairing.claimed && Date.parse(S.pairing.expires_at) <= serverNow() && !$('#fix-qr').hidden) renderFixPanel();
  if (currentView() !== 'app') return;
  updateCountdown();
  const p = S.pairing;
  if (p && !p.claimed && !p.expired && pairingDeadline(p) + 2500 < serverNow()) {
    ensurePairing();
  } else if (p && !p.claimed && !p.expired && pairingDeadline(p) <= serverNow()) {
    renderApp();
  }
}

// ---------------------------------------------------------------- materials

function materialURL(slot, m) {
  // The sha256 only busts the cache; the cookie authorizes the request.
  return `${orderPath('/materials/' + encodeURIComponent(slot))}?v=${m.sha256}`;
}

function setThumb(box, slot, m, cls) {
  const img = $('img', box);
  if (!m) {
    if (img) img.remove();
    box.classList.add('empty');
    return;
  }
  box.classList.remove('empty');
  if (img && img.dataset.sha === m.sha256) return;
  // data-zoom: a click opens it large (lightbox.js); tabindex lets the keyboard do the same.
  const ni = h('img', { class: cls, alt: labelOf(slot), loading: 'eager', 'data-zoom': '', tabindex: '0', title: '单击查看大图', dataset: { sha: m.sha256, slot } });
  ni.src = materialURL(slot, m);
  if (img) img.replaceWith(ni); else box.prepend(ni);
}

function renderWarnings(ul, m) {
  const ws = (m && m.warnings) || [];
  ul.replaceChildren(...ws.map((w) => h('li', { class: 'warning', dataset: { code: w } }, S.catalog.warningText(w))));
  show(ul, ws.length > 0);
}

// ---------------------------------------------------------------- 3b/4. review and PC upload

// compareRows is what the order says about a slot's document: the owner compares it with
// the image beside it (the ID number masked, as the server gives it).
function compareRows(slot) {
  const o = S.order;
  const person = (p) => [
    ['姓名', p.name],
    ['证件', idTypeName(p.id_type)],
    ['号码', p.id_number_masked],
    ['有效期至', validName(p.id_valid_until)],
  ];
  const who = slot.startsWith('subject_leader') ? o.subject_leader : o.website_leader;
  switch (slot) {
    case 'organization_certificate':
      return [['单位名称', o.subject_name], ['证件类型', ORG_CERT_ZH[o.organization_certificate_type] || '']];
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
        ['域名', (o.domains || []).join('、')],
        ['省份', o.province_name_zh || provinceName(o.province)],
      ];
    case 'face_photo':
      return [['网站负责人', (o.website_leader || {}).name]];
    case 'domain_certificate':
      return [['域名', (o.domains || []).join('、')]];
    default:
      return [];
  }
}

function renderReview() {
  const o = S.order;
  const pc = o.upload_method === 'pc';
  const miss = missingRequired();
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
  renderFixPanel();

  const grid = $('#slot-grid');
  const keep = new Set();
  for (const r of requirements()) {
    keep.add(r.slot);
    let card = $(`.slot-card[data-slot="${r.slot}"]`, grid);
    if (!card) { card = slotCard(r); grid.append(card); }
    updateSlotCard(card, r);
  }
  $$('.slot-card', grid).forEach((c) => { if (!keep.has(c.dataset.slot)) c.remove(); });
  // Required first, then the optional ones, which stay compact while empty.
  const ordered = [...requirements().filter((r) => r.required), ...requirements().filter((r) => !r.required)];
  for (const r of ordered) grid.append($(`.slot-card[data-slot="${r.slot}"]`, grid));

  const req = requirements().filter((r) => r.required);
  const sum = $('#submit-summary');
  if (fixing) {
    const todo = [...pending(o)];
    $('#submit-order').textContent = '重新提交审核';
    sum.replaceChildren(todo.length
      ? h('span', { class: 'missing', id: 'pending-list' }, `还需处理 ${todo.length} 项：${todo.map(pendingLabel).join('、')}`)
      : h('span', { class: 'ok' }, '审核意见已全部处理，可以重新提交审核'));
    $('#submit-order').classList.toggle('btn-primary', !todo.length);
    $('#submit-order').classList.toggle('btn-secondary', !!todo.length);
    loadAudit();
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
  loadAudit();
}

function slotCard(r) {
  const input = h('input', { type: 'file', class: 'file-input', accept: 'image/jpeg,image/png,image/gif,.jpg,.jpeg,.png,.gif', dataset: { slot: r.slot }, id: 'file-' + r.slot, 'aria-label': `选择${r.label_zh}的图片` });
  input.addEventListener('change', () => {
    if (input.files && input.files[0]) uploadFile(r.slot, input.files[0]);
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
        h('p', { class: 'slot-hint' }, slotHint(r)),
        h('div', { class: 'samples', 'aria-label': '示例图' }, h('span', { class: 'samples-title' }, '示例图'), samples(r.slot)),
        h('div', { class: 'slot-actions' },
          input,
          h('label', { class: 'btn btn-secondary btn-sm pick', for: 'file-' + r.slot }),
          stitchable ? h('button', { type: 'button', class: 'btn btn-link btn-sm add-page', onclick: () => openStitch(r.slot) }, '添加一页') : '',
          r.slot === 'verification_form' ? h('a', { class: 'btn btn-link btn-sm', id: 'vform-link-review', href: orderPath('/verification-form'), target: '_blank', rel: 'noopener' }, '下载核验单') : '',
          h('button', { type: 'button', class: 'btn btn-link btn-sm remove', onclick: (e) => removeMaterial(r.slot, e.currentTarget) }, '删除')))),
    stitchable ? h('div', { class: 'stitch', hidden: true }) : '');
  const preview = $('.slot-preview', card);
  preview.addEventListener('dragover', (e) => {
    if (!canUploadFromPC(r)) return;
    e.preventDefault();
    preview.classList.add('drag');
  });
  preview.addEventListener('dragleave', () => preview.classList.remove('drag'));
  preview.addEventListener('drop', (e) => {
    e.preventDefault();
    preview.classList.remove('drag');
    if (!canUploadFromPC(r)) return;
    const fs = Array.from((e.dataTransfer && e.dataTransfer.files) || []);
    // Several files dropped on a slot that can take pages: they are the pages, in order.
    if (fs.length > 1 && STITCH_SLOTS.has(r.slot)) { openStitch(r.slot, fs); return; }
    if (fs[0]) uploadFile(r.slot, fs[0]);
  });
  preview.addEventListener('click', (e) => {
    if (e.target.closest('img') || !canUploadFromPC(r) || S.materials[r.slot]) return;
    input.click();
  });
  return card;
}

// slotHint is the server's guidance for this order's slot (ID type, form, registrar), else
// the catalogue's for any order; the reader is at the computer.
function slotHint(r) {
  const c = S.catalog.slot(r.slot);
  return desktopText(r.guidance_zh || (c && c.guidance_zh) || '');
}

// canUploadFromPC: in the open states every slot but the face photo; after a review round
// only the flagged slots (the server answers slot_locked for the others).
function canUploadFromPC(r) {
  if (r.slot === 'face_photo') return false;
  return openState() || (inChanges(S.order) && !!r.flagged);
}

// pendingLabel names an item of REVIEW.pending ("material:SLOT", "field:NAME").
function pendingLabel(p) {
  const i = p.indexOf(':');
  const kind = p.slice(0, i);
  const name = p.slice(i + 1);
  return kind === 'material' ? labelOf(name) : fieldLabel(name);
}

// renderFixPanel: in changes_requested, the round's summary, the phone's re-upload QR (app
// orders) and the editors of the flagged fields.
function renderFixPanel() {
  const o = S.order;
  const panel = $('#fix-panel');
  const fixing = inChanges(o);
  show(panel, fixing);
  renderFixFields($('#fix-fields'), { order: o, request: api, orderPath, onOrder: (ord) => { applyOrder(ord); render(); } });
  if (!fixing) return;
  const r = o.review || {};
  const todo = pending(o);
  const flaggedSlots = requirements().filter((x) => x.flagged);
  $('#fix-summary').replaceChildren(
    h('b', {}, `第 ${r.round || o.round} 轮初审：需要补正 ${(r.issues || []).length} 项`),
    todo.size ? ` · 还有 ${todo.size} 项待处理` : ' · 已全部处理');
  const phone = $('#fix-phone');
  const app = o.upload_method === 'app' && flaggedSlots.some((x) => x.app_allowed);
  show(phone, app);
  if (app) {
    const p = S.pairing;
    const live = p && !p.expired && Date.parse(p.expires_at) > serverNow();
    const img = $('#fix-qr');
    show(img, !!live && !p.claimed);
    if (live && img.dataset.pairing !== p.id) {
      img.dataset.pairing = p.id;
      img.src = `${p.qr_png_url || orderPath('/pairing/qr.png')}?p=${encodeURIComponent(p.id)}`;
    }
    $('#fix-phone-status').textContent = p && p.claimed
      ? (S.complete ? '手机已完成重新上传。' : `手机已连接（${deviceName(S.phone)}），请在手机上重新拍摄需要补正的资料。`)
      : live ? '请用阿里云 app 扫描二维码：手机只能重新上传需要补正的资料。' : '需要用手机重新拍摄时，单击“生成重新上传二维码”。';
    $('#fix-qr-go').textContent = live || (p && p.claimed) ? '换一个二维码' : '生成重新上传二维码';
  }
}

async function fixPairing() {
  const r = await api('POST', orderPath('/pairing'));
  if (r.ok) {
    S.pairing = r.data.pairing;
    S.phone = null;
    S.complete = false;
  } else {
    $('#fix-phone-status').textContent = r.error.message_zh;
    return;
  }
  render();
}

function updateSlotCard(card, r) {
  const m = S.materials[r.slot];
  const up = S.uploads[r.slot] || {};
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
  const rows = compareRows(r.slot).filter(([, v]) => v);
  dl.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { dataset: { k } }, v)]));
  show(dl, rows.length > 0);

  const preview = $('.slot-preview', card);
  setThumb(preview, r.slot, m, 'preview');
  const pcOK = canUploadFromPC(r);
  $('.slot-empty-text', card).textContent = r.slot === 'face_photo'
    ? '人脸核验照片需在阿里云 app 中现场拍摄'
    : '拖拽图片到此处，或单击选择文件';
  preview.classList.toggle('clickable', pcOK && !m);
  $('.slot-meta', card).textContent = m
    ? `${m.format.toUpperCase()} · ${m.width}×${m.height} · ${fmtSize(m.size)}${m.fitted ? `（已自动压缩，原图 ${fmtSize(m.original_size)}）` : ''} · ${fmtTime(m.uploaded_at)}`
    : '';
  renderWarnings($('.warnings', card), m);

  const prog = $('.progress', card);
  show(prog, up.progress !== undefined);
  if (up.progress !== undefined) $('.bar', prog).style.width = Math.round(up.progress * 100) + '%';

  const err = $('.slot-error', card);
  err.replaceChildren();
  if (up.error) {
    err.append(h('span', {}, up.error));
    if (up.fitFile) {
      err.append(' ', h('button', { type: 'button', class: 'btn btn-link btn-sm fit', onclick: () => uploadFile(r.slot, up.fitFile, true) }, '自动压缩后上传'));
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
  show(rm, !!m && openState());
  if (!rm.dataset.confirm) rm.textContent = '删除';
  renderStitch(card, r.slot);
}

// ---------------------------------------------------------------- stitching pages

// S.stitch is the one open "add a page" panel: {slot, pages: [{file, url, name}], error,
// progress}. The pages are stacked top to bottom in this order by the server.
async function openStitch(slot, files = []) {
  if (S.stitch && S.stitch.slot !== slot) closeStitch();
  if (!S.stitch) {
    S.stitch = { slot, pages: [], error: '' };
    // "Add a page" adds to what is there: the uploaded image is the first page.
    const m = S.materials[slot];
    if (m) {
      try {
        const res = await fetch(materialURL(slot, m), { credentials: 'same-origin' });
        if (res.ok) {
          const blob = await res.blob();
          addPages([new File([blob], '当前已上传的图片.' + (m.format === 'jpeg' ? 'jpg' : m.format), { type: blob.type })]);
        }
      } catch { /* the person can pick the certificate again */ }
    }
  }
  addPages(files);
  render();
  const card = $(`.slot-card[data-slot="${slot}"]`);
  if (card) {
    const first = $('.stitch-pick', card);
    if (first && !files.length) first.focus();
    $('.stitch', card).scrollIntoView({ block: 'nearest' });
  }
}

function addPages(files) {
  const st = S.stitch;
  if (!st) return;
  for (const f of files) {
    const max = S.catalog.limits.stitch_max_parts;
    if (st.pages.length >= max) { st.error = `最多拼接 ${max} 页。`; break; }
    st.pages.push({ file: f, url: URL.createObjectURL(f), name: f.name });
  }
}

function closeStitch() {
  if (!S.stitch) return;
  for (const p of S.stitch.pages) URL.revokeObjectURL(p.url);
  S.stitch = null;
}

function movePage(from, to) {
  const pages = S.stitch.pages;
  if (to < 0 || to >= pages.length || from === to) return;
  const [p] = pages.splice(from, 1);
  pages.splice(to, 0, p);
  renderReview();
}

function renderStitch(card, slot) {
  const box = $('.stitch', card);
  if (!box) return;
  const st = S.stitch && S.stitch.slot === slot ? S.stitch : null;
  show(box, !!st);
  if (!st) { box.replaceChildren(); return; }
  const pick = h('input', { type: 'file', multiple: true, class: 'file-input', id: 'stitch-file-' + slot, 'aria-label': '选择要拼接的图片', accept: 'image/jpeg,image/png,image/gif,.jpg,.jpeg,.png,.gif' });
  pick.addEventListener('change', () => { addPages(Array.from(pick.files || [])); pick.value = ''; renderReview(); });
  const n = st.pages.length;
  const list = h('ol', { class: 'pages' }, st.pages.map((p, i) => {
    const li = h('li', { class: 'spage', draggable: 'true', dataset: { index: String(i), name: p.name } },
      h('span', { class: 'page-no' }, String(i + 1)),
      h('img', { src: p.url, alt: `第 ${i + 1} 页：${p.name}` }),
      h('span', { class: 'page-name', title: p.name }, p.name),
      h('span', { class: 'page-actions' },
        h('button', { type: 'button', class: 'btn btn-link btn-sm up', disabled: i === 0, 'aria-label': `上移第 ${i + 1} 页`, onclick: () => movePage(i, i - 1) }, '上移'),
        h('button', { type: 'button', class: 'btn btn-link btn-sm down', disabled: i === n - 1, 'aria-label': `下移第 ${i + 1} 页`, onclick: () => movePage(i, i + 1) }, '下移'),
        h('button', { type: 'button', class: 'btn btn-link btn-sm drop-page', 'aria-label': `移除第 ${i + 1} 页`, onclick: () => { URL.revokeObjectURL(p.url); st.pages.splice(i, 1); renderReview(); } }, '移除')));
    li.addEventListener('dragstart', (e) => { e.dataTransfer.setData('text/x-page', String(i)); e.dataTransfer.effectAllowed = 'move'; li.classList.add('dragging'); });
    li.addEventListener('dragend', () => li.classList.remove('dragging'));
    li.addEventListener('dragover', (e) => { if (e.dataTransfer.types.includes('text/x-page')) { e.preventDefault(); li.classList.add('over'); } });
    li.addEventListener('dragleave', () => li.classList.remove('over'));
    li.addEventListener('drop', (e) => {
      const from = e.dataTransfer.getData('text/x-page');
      if (from === '') return;
      e.preventDefault();
      e.stopPropagation();
      movePage(Number(from), i);
    });
    return li;
  }));
  const go = h('button', { type: 'button', class: 'btn btn-primary btn-sm stitch-go', disabled: n < 2 || st.progress !== undefined, onclick: () => uploadStitch(slot) },
    st.progress !== undefined ? `正在拼接上传 ${Math.round(st.progress * 100)}%` : `拼接 ${n} 页并上传`);
  box.replaceChildren(
    h('div', { class: 'stitch-head' },
      h('b', {}, '添加一页：拼成一张图片'),
      h('span', { class: 'muted small' }, `授权书、变更证明等与证件按下列顺序从上到下拼成一张图片（2–${S.catalog.limits.stitch_max_parts} 页）。拖动或用“上移/下移”调整顺序。`)),
    h('div', { class: 'stitch-body' },
      h('div', {}, n ? list : h('p', { class: 'muted small' }, '还没有选择图片。'),
        h('div', { class: 'stitch-actions' },
          pick,
          h('label', { class: 'btn btn-secondary btn-sm stitch-pick', for: 'stitch-file-' + slot, tabindex: '0' }, '选择图片（可多选）'),
          go,
          h('button', { type: 'button', class: 'btn btn-link btn-sm stitch-cancel', onclick: () => { closeStitch(); renderReview(); } }, '取消'))),
      h('div', { class: 'stitch-preview', 'aria-label': '拼接预览' },
        h('span', { class: 'muted small' }, '预览'),
        st.pages.map((p) => h('img', { src: p.url, alt: '' })))),
    st.error ? h('p', { class: 'slot-error', role: 'alert' }, st.error) : '');
}

async function uploadStitch(slot) {
  const st = S.stitch;
  if (!st || st.pages.length < 2) return;
  st.error = '';
  for (const p of st.pages) {
    const f = await detect(p.file);
    if (!IMAGE_FORMATS.has(f)) { st.error = notImage(p.name, f); renderReview(); return; }
    if (p.file.size > S.catalog.limits.fit_max_bytes) { st.error = `“${p.name}”超过 ${mb(S.catalog.limits.fit_max_bytes)}，请缩小后再拼接。`; renderReview(); return; }
  }
  const fd = new FormData();
  for (const p of st.pages) fd.append('file', p.file, p.name);
  st.progress = 0;
  renderReview();
  const res = await sendFile('POST', orderPath('/materials/' + encodeURIComponent(slot) + '/stitch'), fd, '',
    (f) => { if (S.stitch === st) { st.progress = f; renderReview(); } });
  delete st.progress;
  if (res.ok && res.data && res.data.material) {
    if (S.stitch === st) closeStitch();
    setMaterial(res.data.material);
  } else {
    const e = res.data && res.data.error;
    st.error = (e && e.message_zh) || (res.status ? `拼接失败（HTTP ${res.status}），请稍后重试。` : '网络连接失败，请检查网络后重试。');
  }
  render();
}

// ---------------------------------------------------------------- who has seen my materials

const ACTOR_ZH = { desktop: '您（电脑）', phone: '您的手机', operator: '审核人员', system: '系统' };
// The audit actions of README's privacy section, as the owner reads them.
const ACTION_ZH = {
  create: '创建订单', read: '查看', read_form: '查看核验单', upload: '上传', remove: '删除',
  method: '选择上传方式', pairing_create: '生成二维码', pairing_revoke: '撤销二维码',
  pairing_expire: '二维码过期', claim: '扫码连接', complete: '完成上传', submit: '提交审核',
  withdraw: '撤回', review: '审核',
};

// loadAudit shows the order's audit log when the server offers one: a server without it
// answers 404, and then the list stays hidden.
async function loadAudit() {
  const a = S.audit;
  if (a.absent || a.busy || Date.now() - a.at < 5000 || !S.orderId) return;
  a.busy = true;
  a.at = Date.now();
  const r = await api('GET', orderPath('/audit'));
  a.busy = false;
  const box = $('#audit');
  if (r.status === 404) a.absent = true;
  if (!r.ok || !r.data || !Array.isArray(r.data.entries)) { show(box, false); return; }
  // Newest first; the server keeps them newest last.
  const all = r.data.entries.slice(-8).reverse();
  $('#audit-list').replaceChildren(...(all.length ? all.map((e) => h('li', {},
    h('span', { class: 'audit-at' }, new Date(e.at).toLocaleString('zh-CN', { hour12: false })),
    h('span', { class: 'audit-actor' }, ACTOR_ZH[e.actor] || e.actor),
    h('span', {}, [ACTION_ZH[e.action] || e.action, e.slot ? labelOf(e.slot) : ''].filter(Boolean).join(' · ')),
    e.ip ? h('span', { class: 'muted' }, e.ip) : '')) : [h('li', { class: 'muted' }, '暂无记录')]));
  show(box, true);
}

async function uploadFile(slot, file, fit = false) {
  const { max_bytes: maxBytes, fit_max_bytes: fitMaxBytes } = S.catalog.limits;
  const up = (S.uploads[slot] = {});
  const fmt = await detect(file);
  if (!IMAGE_FORMATS.has(fmt)) {
    up.error = notImage(file.name, fmt);
    renderReview();
    return;
  }
  if (!fit && file.size >= maxBytes) {
    up.error = tooLarge(file.name, file.size, maxBytes);
    if (file.size <= fitMaxBytes) up.fitFile = file;
    renderReview();
    return;
  }
  if (fit && file.size > fitMaxBytes) {
    up.error = `图片超过 ${mb(fitMaxBytes)}（${fmtSize(file.size)}），无法自动压缩，请缩小后重新上传。`;
    renderReview();
    return;
  }
  up.progress = 0;
  renderReview();
  const res = await sendFile('PUT', orderPath('/materials/' + encodeURIComponent(slot)) + (fit ? '?fit=1' : ''), file, 'image/' + fmt,
    (f) => { up.progress = f; renderReview(); });
  delete up.progress;
  if (res.ok && res.data && res.data.material) {
    setMaterial(res.data.material);
  } else {
    const e = res.data && res.data.error;
    up.error = fromServer(e, file) || (e && desktopText(e.message_zh)) || (res.status ? `上传失败（HTTP ${res.status}），请稍后重试。` : '网络连接失败，请检查网络后重试。');
    if (e && e.code === 'too_large' && !fit && file.size <= fitMaxBytes) up.fitFile = file;
  }
  render();
}

async function removeMaterial(slot, btn) {
  // A second click within a few seconds confirms, so nothing is deleted by a slip.
  if (!btn.dataset.confirm) {
    btn.dataset.confirm = '1';
    btn.textContent = '确认删除？';
    btn.classList.add('danger');
    setTimeout(() => { delete btn.dataset.confirm; btn.classList.remove('danger'); btn.textContent = '删除'; }, 4000);
    return;
  }
  delete btn.dataset.confirm;
  btn.classList.remove('danger');
  const r = await api('DELETE', orderPath('/materials/' + encodeURIComponent(slot)));
  if (r.ok || r.error.code === 'material_not_found') {
    delete S.materials[slot];
    S.uploads[slot] = {};
  } else {
    S.uploads[slot] = { error: r.error.message_zh };
  }
  render();
}

function setMaterial(m) {
  S.materials[m.slot] = m;
  S.uploads[m.slot] = {};
  for (const r of requirements()) if (r.slot === m.slot) r.uploaded = true;
}

async function submitOrder() {
  const box = $('#submit-error');
  show(box, false);
  const btn = $('#submit-order');
  btn.disabled = true;
  const r = await api('POST', orderPath('/submit'));
  btn.disabled = false;
  if (r.ok) {
    applyOrder(r.data.order);
    S.reviewing = false;
    render();
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
    renderReview();
    const list = $('#missing-list');
    if (list) list.focus && list.scrollIntoView({ block: 'nearest' });
    return;
  }
  const pend = r.error.details && r.error.details.pending;
  if (r.error.code === 'changes_incomplete' && Array.isArray(pend) && pend.length) {
    box.textContent = `还有未处理的审核意见：${pend.map(pendingLabel).join('、')}。请处理后再提交。`;
    show(box, true);
    return;
  }
  box.textContent = msg;
  show(box, true);
}

// ---------------------------------------------------------------- the verification form

function formRequirement(o) {
  if (o.subject_type === 'organization') return '单位备案须在核验单上加盖单位公章。';
  if (o.province === 'CN-JX' || o.province === 'CN-XJ') return '个人备案须在网站负责人签字处签字，并加盖本人手印。';
  if (o.province === 'CN-GD') return '广东个人备案使用广东专用核验单：须清晰签字，并手写承诺内容（“本人已履行网站备案信息当面核验手续……”，全文见核验单）。';
  return '个人备案须在网站负责人签字处清晰签字。';
}

function renderVerificationForm(view) {
  const slot = $(`#view-${view} .vform-slot`);
  const o = S.order;
  const has = !!S.materials.verification_form;
  const app = view === 'app';
  slot.replaceChildren(h('div', { class: 'card vform' + (app && !has ? ' vform-first' : '') },
    h('div', { class: 'vform-icon', 'aria-hidden': 'true' }, app ? '1' : '单'),
    h('div', { class: 'vform-body' },
      h('h2', { class: 'card-title' }, app ? '第一步：打印并签好真实性核验单' : '真实性核验单', has ? h('span', { class: 'badge badge-ok' }, '已上传') : ''),
      h('p', {}, app
        ? '扫码前先下载打印，用黑色签字笔填写、签字，手机会拍摄它。'
        : '下载并打印核验单，用黑色签字笔填写后，扫描或拍照上传。', formRequirement(o))),
    h('a', { class: 'btn btn-secondary', id: 'vform-link-' + view, href: orderPath('/verification-form'), target: '_blank', rel: 'noopener' }, '下载核验单')));
}

// ---------------------------------------------------------------- 5. after submitting

function renderStatus() {
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
    authority_review: '管局审核中',
    filed: '备案成功',
    rejected: '初审未通过',
    authority_rejected: '管局退回',
  }[o.state] || (STATE_ZH[o.state] || o.state);
  renderProgress($('#review-stages'), o, serverNow());
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
  show(w, WITHDRAWABLE.has(o.state));
  const back = rejected || o.state === 'authority_rejected';
  w.textContent = back ? '撤回并重新上传' : '撤回订单';
  w.className = 'btn ' + (back ? 'btn-primary' : 'btn-secondary');

  const row = $('#status-thumbs');
  const keep = new Set();
  for (const r of requirements()) {
    const m = S.materials[r.slot];
    if (!m) continue;
    keep.add(r.slot);
    let fig = $(`figure[data-slot="${r.slot}"]`, row);
    if (!fig) {
      fig = h('figure', { class: 'mini', dataset: { slot: r.slot } }, h('div', { class: 'mini-img' }), h('figcaption', {}, labelNode(r.label_zh)));
      row.append(fig);
    }
    setThumb($('.mini-img', fig), r.slot, m, 'mini');
  }
  $$('figure', row).forEach((f) => { if (!keep.has(f.dataset.slot)) f.remove(); });
}

// askWithdraw says what a withdraw does before doing it: the order goes back to a draft,
// leaves the review queue, keeps its materials and the review's reasons, and the method is
// chosen again.
function askWithdraw() {
  const d = $('#withdraw-dialog');
  const o = S.order;
  $('#withdraw-what').textContent = o.state === 'submitted'
    ? '订单将退出服务商的初审队列，回到草稿。'
    : '订单将回到草稿。';
  $('#withdraw-error').hidden = true;
  d.showModal();
  $('#withdraw-cancel').focus();
}

async function withdraw() {
  const box = $('#withdraw-error');
  show(box, false);
  const r = await api('POST', orderPath('/withdraw'));
  if (!r.ok) {
    box.textContent = r.error.message_zh;
    show(box, true);
    return;
  }
  $('#withdraw-dialog').close();
  applyOrder(r.data.order);
  S.pairing = null;
  S.phone = null;
  S.complete = false;
  S.reviewing = false;
  render();
  window.scrollTo({ top: 0 });
}

// ---------------------------------------------------------------- the websocket

function banner(text, kind) {
  const b = $('#conn-banner');
  b.textContent = text || '';
  b.className = 'conn-banner ' + (kind || '');
  show(b, !!text);
}

function connect() {
  if (S.events) S.events.close();
  S.events = openEvents(orderPath('/events'), {
    onEvent: handleEvent,
    onSynced: (again, isOpen) => {
      if (!again) { banner(''); return; }
      banner('已重新连接，页面已同步最新进度。', 'ok');
      setTimeout(() => { if (isOpen()) banner(''); }, 2500);
    },
    // Before retrying, learn whether the order can be opened at all: a missing cookie or
    // a wrong order is not cured by reconnecting.
    check: async ({ opened, attempt }) => {
      if (opened && attempt <= 1) return true;
      const r = await api('GET', orderPath(''));
      if (!r.ok && (r.status === 401 || r.status === 404)) {
        fatal(r.error.code === 'unauthorized'
          ? '无法打开此订单：登录凭证已失效，或订单是在其他浏览器中创建的。请在创建订单的浏览器中打开，或重新填写备案信息。'
          : '备案订单不存在，请重新填写备案信息。');
        return false;
      }
      if (r.ok) { applyOrder(r.data.order); render(); }
      return true;
    },
    onRetry: (attempt, delay) => banner(`与服务器的连接已断开，正在重新连接…（${Math.round(delay / 1000) || 1} 秒后第 ${attempt} 次重试）`, 'warn'),
  });
}

function fatal(msg) {
  $('#fatal').textContent = msg;
  show($('#fatal'), true);
  show($('#loading'), false);
  banner('');
  for (const v of ['form', 'method', 'app', 'review', 'status']) show($('#view-' + v), false);
  $('#fatal').append(' ', h('a', { href: '/' }, '新建备案订单'));
}

function handleEvent(ev) {
  if (ev.type === 'snapshot') {
    // A snapshot replaces everything: it is how a reconnect catches up on what it missed.
    S.version = ev.version;
    S.order = ev.order;
    S.materials = {};
    for (const m of ev.materials || []) S.materials[m.slot] = m;
    S.pairing = ev.pairing || null;
    const p = S.pairing;
    S.phone = p && p.claimed ? { device: p.device, device_name: p.device_name, app_version: p.app_version } : null;
    S.complete = !!(p && p.completed);
    render();
    ensurePairing();
    return;
  }
  if (typeof ev.version === 'number') {
    if (ev.version < S.version) return;
    S.version = ev.version;
  }
  const d = ev.data || {};
  switch (ev.type) {
    case 'pairing_created':
      if (!S.pairing || S.pairing.id !== d.id) {
        S.pairing = { id: d.id, expires_at: d.expires_at, qr_png_url: d.qr_png_url, claimed: false, expired: false };
        S.phone = null;
        S.complete = false;
      }
      break;
    case 'pairing_expired':
      if (S.pairing && S.pairing.id === d.pairing_id) {
        if (d.reason === 'expired') S.pairing.expired = true;
        else S.pairing = null;
      }
      break;
    case 'phone_connected':
      S.phone = { device: d.device, device_name: d.device_name, app_version: d.app_version };
      S.phoneGone = '';
      if (S.pairing) S.pairing.claimed = true;
      break;
    case 'phone_disconnected':
      if (S.phone && d.reason !== 'replaced') S.phoneGone = '手机已断开连接（二维码已失效），请刷新二维码后重新扫描。';
      S.phone = null;
      S.complete = false;
      if (S.pairing && S.pairing.claimed) S.pairing = null;
      break;
    case 'material_uploaded':
      setMaterial(d);
      // After a review round an upload may settle a pending item: the order says which.
      if (inChanges(S.order)) refreshOrder();
      break;
    case 'material_removed':
      delete S.materials[d.slot];
      for (const r of requirements()) if (r.slot === d.slot) r.uploaded = false;
      break;
    case 'upload_complete':
      S.complete = true;
      if (S.pairing) S.pairing.completed = true;
      // The phone is done: the next step is checking what it uploaded (核对已上传资料).
      if (currentView() === 'app') {
        S.reviewing = true;
        window.scrollTo({ top: 0 });
      }
      break;
    case 'review_decided':
    case 'order_edited':
    case 'authority_updated':
      // The data is part of the order (its review, fields or authority): the page shows the
      // order as the server has it.
      refreshOrder();
      break;
    case 'method_changed':
      // Another tab (or this one) chose, changed or cleared the method: follow it.
      if (S.order) {
        S.order.upload_method = d.to || '';
        S.choosing = false;
        if (d.to !== 'app') {
          S.pairing = null;
          S.phone = null;
          S.complete = false;
          S.reviewing = false;
        }
      }
      refreshOrder();
      if (d.to === 'app') followAppChoice();
      break;
    case 'state_changed':
      if (S.order) {
        S.order.state = d.to;
        if (d.reason) S.order.reject_reason = d.reason;
        if (d.to === 'draft' && WITHDRAWABLE.has(d.from)) {
          S.order.upload_method = '';
          S.pairing = null;
          S.phone = null;
          S.complete = false;
          S.reviewing = false;
        }
      }
      // The event carries only the states; the order's other fields (required materials,
      // method) are fetched so the page shows them as the server has them.
      refreshOrder();
      break;
    default:
      return;
  }
  render();
  if (ev.type === 'pairing_expired' && d.reason === 'expired') ensurePairing();
}

// followAppChoice: when another tab chose the app, it makes the QR; this tab shows the one
// its pairing_created brings, and makes one itself only if none came.
function followAppChoice() {
  setTimeout(() => { if (!S.pairing) ensurePairing(); }, 2000);
}

async function refreshOrder() {
  const r = await api('GET', orderPath(''));
  if (r.ok) { applyOrder(r.data.order); render(); }
}

// ---------------------------------------------------------------- start

// fillLimits writes the catalogue's limits into the page's static text.
function fillLimits() {
  $$('[data-limit]').forEach((el) => { el.textContent = mb(S.catalog.limits[el.dataset.limit]); });
}

async function start() {
  try {
    S.catalog = await loadCatalog();
  } catch {
    fatal('页面数据加载失败，请检查网络后刷新页面。');
    return;
  }
  fillLimits();
  setupForm();
  $('#choose-app').addEventListener('click', () => chooseMethod('app', $('#method-error')));
  $('#choose-pc').addEventListener('click', () => chooseMethod('pc', $('#method-error')));
  $('#qr-refresh').addEventListener('click', () => { S.phoneGone = ''; S.qrError = ''; ensurePairing(true); });
  $('#switch-to-pc').addEventListener('click', () => chooseMethod('pc', $('#method-error')));
  $('#go-review').addEventListener('click', () => { S.reviewing = true; render(); window.scrollTo({ top: 0 }); });
  $('#back-to-app').addEventListener('click', () => { S.reviewing = false; render(); ensurePairing(); window.scrollTo({ top: 0 }); });
  $('#change-method').addEventListener('click', () => { S.choosing = true; render(); window.scrollTo({ top: 0 }); });
  $('#method-back').addEventListener('click', () => { S.choosing = false; render(); ensurePairing(); });
  $('#submit-order').addEventListener('click', submitOrder);
  $('#withdraw').addEventListener('click', askWithdraw);
  $('#fix-withdraw').addEventListener('click', askWithdraw);
  $('#withdraw-confirm').addEventListener('click', withdraw);
  $('#withdraw-cancel').addEventListener('click', () => $('#withdraw-dialog').close());
  $('#fix-qr-go').addEventListener('click', fixPairing);
  enableLightbox();
  // A file dropped beside a slot must not make the browser leave the page.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  setInterval(tick, 500);

  const params = new URLSearchParams(location.search || location.hash.slice(1));
  const id = params.get('order');
  if (id) {
    S.orderId = id;
    S.reviewing = params.get('step') === 'review';
    render();
    connect();
  } else {
    render();
  }
}

start();
