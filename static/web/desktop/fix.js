// The owner's fix after a review round (退回补正): each issue with its suggestion, beside
// the material or field it names; the flagged fields edited (PATCH) — everything else is
// locked by the server, and the page offers only what it allows. Also the last decision
// kept readable once the order is withdrawn.

import { h, show } from '../lib/h.js';
import { parseDomains, domainHint } from './domains.js';

export function inChanges(o) { return !!o && o.state === 'changes_requested'; }

function review(o) { return (o && o.review) || null; }

export function slotIssues(o, slot) {
  const r = review(o);
  return r ? (r.issues || []).filter((i) => i.target === 'material' && i.slot === slot) : [];
}

export function fieldIssues(o, field) {
  const r = review(o);
  return r ? (r.issues || []).filter((i) => i.target === 'field' && i.field === field) : [];
}

// pending is what the owner must still fix: "material:SLOT" and "field:NAME".
export function pending(o) {
  const r = review(o);
  return new Set((r && r.pending) || []);
}

// issueNode shows one issue as the owner reads it: what is wrong, the reviewer's note, what
// to do.
export function issueNode(i, fixed) {
  return h('div', { class: 'issue' + (fixed ? ' fixed' : ''), dataset: { code: i.code, target: i.slot || i.field } },
    h('b', { class: 'issue-msg' }, i.message_zh || i.code, fixed ? h('span', { class: 'badge badge-ok' }, '已处理') : h('span', { class: 'badge badge-warn' }, '待处理')),
    i.note ? h('span', { class: 'issue-note' }, `审核说明：${i.note}`) : '',
    i.suggest_zh ? h('span', { class: 'issue-suggest' }, `建议：${i.suggest_zh}`) : '');
}

const FIELD_ZH = {
  subject_name: '主办者名称', organization_certificate_type: '单位证件类型', domains: '网站域名',
  'subject_leader.name': '主体负责人姓名', 'subject_leader.id_number': '主体负责人证件号码', 'subject_leader.id_valid_until': '主体负责人证件有效期',
  'subject_leader.id_type': '主体负责人证件类型',
  'website_leader.name': '网站负责人姓名', 'website_leader.id_number': '网站负责人证件号码', 'website_leader.id_valid_until': '网站负责人证件有效期',
  'website_leader.id_type': '网站负责人证件类型',
};

export function fieldLabel(f) { return FIELD_ZH[f] || f; }

function personOf(o, key) {
  if (key === 'website_leader' && o.website_leader_same_as_subject_leader) return o.subject_leader || {};
  return o[key] || {};
}

// editor builds the input of one flagged field, prefilled with what the order holds (an ID
// number is only known masked, so it is typed again).
function editor(o, field, id, catalog) {
  const [key, sub] = field.includes('.') ? field.split('.') : [field, ''];
  if (field === 'subject_name') return h('input', { id, value: o.subject_name || '', maxlength: '128' });
  if (field === 'organization_certificate_type') {
    const sel = h('select', { id }, catalog.orgCertificateTypes.map((t) => h('option', { value: t.type, selected: t.type === o.organization_certificate_type }, t.label_zh)));
    return sel;
  }
  if (field === 'domains') return h('textarea', { id, rows: '3' }, (o.domains || []).join('\n'));
  const p = personOf(o, key);
  if (sub === 'name') return h('input', { id, value: p.name || '', maxlength: '64' });
  if (sub === 'id_number') return h('input', { id, value: '', maxlength: '32', spellcheck: 'false', placeholder: `请重新填写完整号码（当前 ${p.id_number_masked || ''}）` });
  if (sub === 'id_valid_until') {
    const long = p.id_valid_until === 'long_term';
    const date = h('input', { id, type: 'date', value: long ? '' : (p.id_valid_until || ''), disabled: long });
    const box = h('input', { type: 'checkbox', id: id + '-long', checked: long });
    box.addEventListener('change', () => { date.disabled = box.checked; });
    return h('span', { class: 'inline' }, date, h('label', { class: 'check' }, box, ' 长期'));
  }
  return h('input', { id, value: '' });
}

function readValue(field, id) {
  const el = document.getElementById(id);
  if (field === 'domains') return parseDomains(el.value);
  if (field.endsWith('.id_valid_until')) return document.getElementById(id + '-long').checked ? 'long_term' : el.value;
  return el.value.trim();
}

// patchBody nests the edited values as the order's fields are nested.
export function patchBody(values) {
  const body = {};
  for (const [f, v] of Object.entries(values)) {
    if (!f.includes('.')) { body[f] = v; continue; }
    const [key, sub] = f.split('.');
    body[key] = body[key] || {};
    body[key][sub] = v;
  }
  return body;
}

// renderFixFields draws the editors of the flagged fields into box. ctx: {order, catalog,
// request(method, path, body), orderPath, onOrder(order)}.
export function renderFixFields(box, ctx) {
  const o = ctx.order;
  const r = review(o);
  const fields = [...new Set(((r && r.issues) || []).filter((i) => i.target === 'field').map((i) => i.field))];
  show(box, inChanges(o) && fields.length > 0);
  if (!inChanges(o) || !fields.length) { box.replaceChildren(); return; }
  // Keep what is being typed: the box is rebuilt only when the order's version changes.
  if (box.dataset.version === String(o.version)) return;
  box.dataset.version = String(o.version);
  const todo = pending(o);
  const err = h('div', { class: 'notice notice-error', role: 'alert', hidden: true, id: 'fix-fields-error' });
  const rows = fields.map((f) => {
    const id = 'fix-' + f.replace(/\W/g, '-');
    const fixed = !todo.has('field:' + f);
    const hint = h('p', { class: 'hint fix-hint', id: id + '-hint' });
    const ed = editor(o, f, id, ctx.catalog);
    if (f === 'domains') {
      ed.addEventListener('input', () => { hint.textContent = domainHint(parseDomains(ed.value)); });
    }
    return h('div', { class: 'field fix-field', dataset: { field: f } },
      h('label', { class: 'label', for: id }, fieldLabel(f)),
      fieldIssues(o, f).map((i) => issueNode(i, fixed)),
      ed, hint);
  });
  const save = h('button', { type: 'button', class: 'btn btn-primary', id: 'fix-save' }, '保存修改');
  save.addEventListener('click', async () => {
    show(err, false);
    const values = {};
    for (const f of fields) values[f] = readValue(f, 'fix-' + f.replace(/\W/g, '-'));
    const dh = values.domains ? domainHint(values.domains) : '';
    if (dh) { err.textContent = dh; show(err, true); return; }
    const empty = fields.find((f) => (Array.isArray(values[f]) ? !values[f].length : !values[f]));
    if (empty) { err.textContent = `请填写${fieldLabel(empty)}。`; show(err, true); return; }
    save.disabled = true;
    const res = await ctx.request('PATCH', ctx.orderPath(''), patchBody(values));
    save.disabled = false;
    if (!res.ok) {
      const d = res.error.details || {};
      err.textContent = res.error.message_zh + (d.hint_zh ? ` ${d.hint_zh}` : '');
      show(err, true);
      return;
    }
    box.dataset.version = '';
    ctx.onOrder(res.data.order);
  });
  box.replaceChildren(
    h('h2', { class: 'card-title' }, '需要修改的信息'),
    h('p', { class: 'muted small' }, '只有审核意见指出的信息可以修改；如信息本来无误，直接单击“保存修改”确认即可。'),
    ...rows, err, h('div', { class: 'actions' }, save));
}

const OUTCOME_ZH = { changes: '退回补正', reject: '审核未通过', approve: '初审通过' };

// lastDecision shows, in the open states, why the order came back: the last review's
// reasons and issues, or the authority's, so that a withdraw does not lose them.
export function renderLastDecision(box, o, labelOf) {
  const r = review(o);
  const a = o && o.authority;
  const open = o && (o.state === 'draft' || o.state === 'uploaded');
  const authorityBack = a && a.status === 'rejected';
  const shown = open && ((r && r.outcome !== 'approve') || authorityBack);
  show(box, !!shown);
  if (!shown) { box.replaceChildren(); return; }
  const parts = [h('b', {}, authorityBack ? '管局退回的原因（订单已撤回）' : `第 ${r.round} 轮初审意见：${OUTCOME_ZH[r.outcome] || r.outcome}（订单已撤回）`)];
  if (authorityBack && a.reason) parts.push(h('p', { class: 'last-reason' }, a.reason));
  if (!authorityBack && r.reason) parts.push(h('p', { class: 'last-reason' }, r.reason));
  if (!authorityBack && (r.issues || []).length) {
    parts.push(h('ul', { class: 'last-issues' }, r.issues.map((i) => h('li', {},
      h('b', {}, i.target === 'material' ? labelOf(i.slot) : fieldLabel(i.field)), '：', i.message_zh || i.code,
      i.note ? `（${i.note}）` : '', i.suggest_zh ? ` 建议：${i.suggest_zh}` : ''))));
  }
  parts.push(h('p', { class: 'muted small' }, '请按以上意见修改后重新提交。'));
  box.replaceChildren(...parts);
}
