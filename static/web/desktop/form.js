// 1. The order form: the fields, the checks made before sending, and the server's field
// errors shown beside their fields.

import { parseDomains, domainHint } from './domains.js';
import { $, $$, h, show } from '../lib/h.js';
import { api, applyOrder } from './state.js';
import { render } from './view.js';
import { connect } from './events.js';

function personFields(S, prefix) {
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

export function setupForm(S) {
  const sel = $('#f-province');
  for (const p of S.catalog.provinces) sel.append(h('option', { value: p.code }, p.name_zh));
  $('#f-org-cert').append(...S.catalog.orgCertificateTypes.map((t) => h('option', { value: t.type }, t.label_zh)));
  $('[data-person="subject_leader"]').append(personFields(S, 'subject_leader'));
  const wl = personFields(S, 'website_leader');
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
  form.addEventListener('submit', (e) => { e.preventDefault(); createOrder(S); });
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

async function createOrder(S) {
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
  const r = await api(S, 'POST', '/api/v1/orders', body);
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
  // Shown once (resume.js); the page keeps it nowhere but in memory.
  S.resumeCode = r.data.resume_code || '';
  applyOrder(S, r.data.order);
  render(S);
  connect(S);
  window.scrollTo({ top: 0 });
}

function focusFirstError() {
  const f = $('#order-form .field.invalid') || $('#form-error:not([hidden])');
  if (!f) return;
  f.scrollIntoView({ block: 'center' });
  const input = f.querySelector && f.querySelector('input:not([type=checkbox]):not([type=radio]), select, textarea');
  if (input) input.focus({ preventScroll: true });
}
