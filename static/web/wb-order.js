// The workbench's order: taking the hold, each material large beside the data it must
// match, the machine's warnings, a verdict per material and per field (pass, or flag with a
// reason from the catalogue and a note), what changed since the last round, and the
// decision. Nothing here decides what is allowed: the server checks every decision (hold,
// state, codes against targets) and the page shows its answer.

import { $, $$, h, show, domainsNode } from './lib/h.js';
import { client } from './wb-client.js';
import { createViewer } from './wb-viewer.js';
import { fmtDateTime, fmtClock } from './wb-queue.js';

const RENEW_MS = 60000; // the hold is renewed this often while the reviewer is active
const ACTIVE_MS = 5 * 60000; // … and counts as active for this long after a key or click

const OUTCOME_ZH = { approve: '初审通过', changes: '退回补正', reject: '驳回' };


function websiteLeader(o) {
  return o.website_leader_same_as_subject_leader ? o.subject_leader : o.website_leader;
}

function fullID(p) { return (p && (p.id_number || p.id_number_masked)) || ''; }
function validZh(v) { return v === 'long_term' ? '长期' : (v || ''); }

export function createOrderView(ctx) {
  // ctx: {catalog(), me(), back(), unauthorized(), banner(text, kind)}
  const O = { id: '', view: null, readOnly: false, heldBy: '', heldUntil: '', index: 0, marks: {}, lastActive: 0, renew: null, rejecting: false };
  const viewer = createViewer({ box: $('#wb-viewer'), img: $('#wb-image'), zoomLabel: $('#wb-zoom'), empty: $('#wb-viewer-empty') });

  const cat = () => ctx.catalog();
  const reasons = () => cat().reasons;
  const reasonOf = (code) => cat().reason(code);
  const warningText = (code) => cat().warningText(code);
  const idTypeZh = (t) => cat().idTypeLabel(t);
  const provinceZh = (c) => cat().provinceName(c);
  const orgCertZh = (t) => cat().orgCertLabel(t);

  const order = () => O.view.order;
  const materialOf = (slot) => (O.view.materials || []).find((m) => m.slot === slot);
  const changed = () => O.view.changed_since_last_round || { slots: [], fields: [] };
  const slotChanged = (slot) => (changed().slots || []).includes(slot);
  const fieldChanged = (f) => (changed().fields || []).some((x) => x === f || f.startsWith(x + '.') || x.startsWith(f + '.'));
  const lastRound = () => { const rs = O.view.rounds || []; return rs.length ? rs[rs.length - 1] : null; };

  // The materials this order requires or holds, in the order's own order.
  function items() {
    const o = order();
    return (o.required_materials || []).filter((r) => r.required || materialOf(r.slot)).map((r) => ({ slot: r.slot, label: r.label_zh, guidance: r.guidance_zh, required: r.required }));
  }

  // fields are the order's fields a reviewer can flag, with what the owner entered.
  function fields() {
    const o = order();
    const out = [{ name: 'subject_name', label: o.subject_type === 'organization' ? '主办单位名称' : '主办者名称', value: o.subject_name }];
    if (o.subject_type === 'organization') out.push({ name: 'organization_certificate_type', label: '单位证件类型', value: orgCertZh(o.organization_certificate_type) });
    const person = (key, zh) => {
      const p = o[key] || {};
      out.push({ name: `${key}.name`, label: `${zh}姓名`, value: p.name });
      out.push({ name: `${key}.id_number`, label: `${zh}证件号码（${idTypeZh(p.id_type)}）`, value: fullID(p), mono: true });
      out.push({ name: `${key}.id_valid_until`, label: `${zh}证件有效期至`, value: validZh(p.id_valid_until) });
    };
    person('subject_leader', '主体负责人');
    if (!o.website_leader_same_as_subject_leader) person('website_leader', '网站负责人');
    out.push({ name: 'domains', label: '网站域名', value: (o.domains || []).length ? domainsNode(o) : '' });
    return out;
  }

  // compare lists what a material must match: [label, value, field name].
  function compare(slot) {
    const o = order();
    const who = slot.startsWith('subject_leader') ? ['subject_leader', o.subject_leader] : ['website_leader', websiteLeader(o)];
    const [key, p] = [who[0], who[1] || {}];
    switch (slot) {
      case 'organization_certificate':
        return [['单位名称', o.subject_name, 'subject_name'], ['证件类型', orgCertZh(o.organization_certificate_type), 'organization_certificate_type']];
      case 'subject_leader_id_front': case 'website_leader_id_front':
        return [['姓名', p.name, `${key}.name`], ['证件类型', idTypeZh(p.id_type), ''], ['证件号码', fullID(p), `${key}.id_number`], ['有效期至', validZh(p.id_valid_until), `${key}.id_valid_until`]];
      case 'subject_leader_id_back': case 'website_leader_id_back':
        return [['姓名', p.name, `${key}.name`], ['证件号码', fullID(p), `${key}.id_number`], ['有效期至', validZh(p.id_valid_until), `${key}.id_valid_until`]];
      case 'verification_form': {
        const wl = websiteLeader(o) || {};
        return [['主办者', o.subject_name, 'subject_name'], ['网站负责人', wl.name, o.website_leader_same_as_subject_leader ? 'subject_leader.name' : 'website_leader.name'],
          ['证件号码', fullID(wl), o.website_leader_same_as_subject_leader ? 'subject_leader.id_number' : 'website_leader.id_number'],
          ['域名', (o.domains || []).length ? domainsNode(o) : '', 'domains'], ['省份', provinceZh(o.province), '']];
      }
      case 'face_photo':
        return [['网站负责人', (websiteLeader(o) || {}).name, o.website_leader_same_as_subject_leader ? 'subject_leader.name' : 'website_leader.name']];
      case 'domain_certificate':
        return [['域名', (o.domains || []).length ? domainsNode(o) : '', 'domains'], ['域名持有者应为', o.subject_name, 'subject_name']];
      default:
        return [];
    }
  }

  const key = (kind, name) => `${kind}:${name}`;
  const mark = (k) => O.marks[k] || {};

  // ---------------------------------------------------------------- opening

  async function open(id) {
    stop();
    O.id = id; O.view = null; O.marks = {}; O.index = 0; O.readOnly = false; O.heldBy = ''; O.heldUntil = ''; O.rejecting = false;
    notice('', '');
    $('#wb-order-title').textContent = '正在打开订单…';
    $('#wb-order-sub').textContent = '';
    $('#wb-hold').replaceChildren();
    show($('#wb-work'), false);
    const r = await client.request('POST', `/api/v1/review/orders/${encodeURIComponent(id)}/hold`);
    if (r.ok) {
      takeView(r.data);
      O.heldUntil = (r.data && r.data.held_until) || '';
    } else if (r.status === 401) {
      ctx.unauthorized(); return;
    } else if (r.error.code === 'held_by_other' || r.error.code === 'invalid_state') {
      // Someone else holds it, or it is no longer waiting: it can still be read, not decided.
      const d = r.error.details || {};
      O.readOnly = true;
      O.heldBy = r.error.code === 'held_by_other' ? (d.reviewer || '其他审核人员') : '';
      O.heldUntil = d.until || '';
      const v = await client.request('GET', `/api/v1/review/orders/${encodeURIComponent(id)}`);
      if (!v.ok) { notice(v.error.message_zh, 'error'); return; }
      takeView(v.data);
      notice(r.error.code === 'held_by_other'
        ? `该订单正由 ${O.heldBy} 审核${O.heldUntil ? `（锁定至 ${fmtClock(O.heldUntil)}）` : ''}：您现在只能查看，不能作出结论。锁定过期后可接手。`
        : `该订单当前不在待审状态（${stateZh(order().state)}），只能查看。`, 'warn');
    } else {
      notice(r.error.message_zh, 'error');
      return;
    }
    O.lastActive = Date.now();
    if (!O.readOnly) O.renew = setInterval(renewHold, RENEW_MS);
    render();
    $('#wb-viewer').focus({ preventScroll: true });
  }

  function takeView(v) {
    const keepMarks = O.view && O.view.order.version === v.order.version;
    O.view = v;
    if (!keepMarks) O.marks = O.marks || {};
  }

  async function renewHold() {
    if (O.readOnly || !O.id || Date.now() - O.lastActive > ACTIVE_MS) return;
    const r = await client.request('POST', `/api/v1/review/orders/${encodeURIComponent(O.id)}/hold`);
    if (r.ok) {
      O.heldUntil = (r.data && r.data.held_until) || O.heldUntil;
      if (r.data && r.data.order && r.data.order.version !== order().version) {
        O.view = r.data;
        notice('订单内容已更新，页面已刷新为最新内容，请重新核对。', 'warn');
        render();
      }
      renderHold();
      return;
    }
    if (r.status === 401) { ctx.unauthorized(); return; }
    O.readOnly = true;
    stop();
    if (r.error.code === 'held_by_other') {
      const d = r.error.details || {};
      O.heldBy = d.reviewer || '其他审核人员';
      notice(`您的锁定已过期，订单已由 ${O.heldBy} 接手：您现在只能查看。`, 'warn');
    } else notice(r.error.message_zh, 'warn');
    render();
  }

  function stop() { clearInterval(O.renew); O.renew = null; }

  async function release() {
    stop();
    if (O.id && !O.readOnly) await client.request('DELETE', `/api/v1/review/orders/${encodeURIComponent(O.id)}/hold`);
    O.id = '';
    ctx.back();
  }

  function notice(text, kind) {
    const n = $('#wb-order-notice');
    n.textContent = text;
    n.className = 'notice ' + (kind ? 'notice-' + kind : '');
    show(n, !!text);
  }

  function stateZh(s) { return cat().stateLabel(s); }

  // ---------------------------------------------------------------- rendering

  function render() {
    if (!O.view) return;
    const o = order();
    show($('#wb-work'), true);
    $('#wb-order').classList.toggle('wb-readonly', O.readOnly);
    $('#wb-order-title').textContent = o.subject_name;
    $('#wb-order-sub').replaceChildren(
      `订单 ${o.id} · ${provinceZh(o.province)} · ${o.subject_type === 'organization' ? '单位' : '个人'}备案 · `,
      h('span', { class: 'round-badge' + (o.round > 1 ? ' again' : '') }, `第 ${o.round || 1} 轮`),
      o.round > 1 ? ' 申请人已按上一轮意见补正，黄色标记为本轮更新的内容。' : '');
    renderHold();
    renderTabs();
    renderItem();
    renderFields();
    renderRounds();
    renderDecide();
  }

  function renderHold() {
    const box = $('#wb-hold');
    if (O.readOnly) {
      box.replaceChildren(O.heldBy ? h('span', { class: 'other' }, `${O.heldBy} 审核中`) : h('span', { class: 'muted' }, '只读'),
        ' ', h('button', { type: 'button', class: 'btn btn-link btn-sm', id: 'wb-take', onclick: () => open(O.id) }, '重试接手'));
      return;
    }
    box.replaceChildren(h('span', { class: 'mine' }, '由您锁定审核'), O.heldUntil ? h('span', { class: 'muted' }, `（至 ${fmtClock(O.heldUntil)}，操作时自动续期）`) : h('span', { class: 'muted' }, '（操作时自动续期）'));
  }

  function tabState(k) {
    const m = mark(k);
    if (m.verdict === 'pass') return ['pass', '通过'];
    if (m.verdict === 'flag') return ['flag', '有问题'];
    return ['todo', '未检查'];
  }

  function renderTabs() {
    const list = $('#wb-tab-list');
    list.replaceChildren(...items().map((it, i) => {
      const [cls, txt] = tabState(key('material', it.slot));
      const m = materialOf(it.slot);
      const warn = m && (m.warnings || []).length;
      return h('li', {}, h('button', {
        type: 'button', class: 'wb-tab' + (slotChanged(it.slot) ? ' changed' : ''), dataset: { slot: it.slot },
        'aria-current': O.index === i ? 'true' : 'false', onclick: () => select(i),
      }, h('span', { class: 'wb-tab-label' }, it.label, warn ? h('span', { class: 'sr-only' }, '（有机器提示）') : '', warn ? h('span', { 'aria-hidden': 'true' }, ' ⚠') : ''),
      h('span', { class: 'wb-tab-state ' + cls }, txt)));
    }));
    const ff = fields();
    const flagged = ff.filter((f) => mark(key('field', f.name)).verdict === 'flag').length;
    const st = $('#wb-fields-state');
    st.className = 'wb-tab-state ' + (flagged ? 'flag' : 'todo');
    st.textContent = flagged ? `${flagged} 项有问题` : `${ff.length} 项`;
    $('#wb-tab-fields').setAttribute('aria-current', O.index === items().length ? 'true' : 'false');
    $('#wb-tab-fields').classList.toggle('changed', (changed().fields || []).length > 0);
  }

  function currentItem() { return items()[O.index] || null; }

  function renderItem() {
    const it = currentItem();
    show($('#wb-stage'), !!it);
    show($('#wb-match'), !!it);
    show($('#wb-verdict'), !!it);
    show($('#wb-fields'), true);
    if (!it) return;
    const m = materialOf(it.slot);
    const ch = slotChanged(it.slot);
    $('#wb-stage').classList.toggle('changed', ch);
    $('#wb-stage-title').replaceChildren(it.label, ch ? h('span', { class: 'changed-badge' }, '本轮重新上传') : '');
    viewer.show(m ? `/api/v1/review/orders/${encodeURIComponent(O.id)}/materials/${encodeURIComponent(it.slot)}?v=${m.sha256}` : '', it.label);
    $('#wb-image').dataset.slot = it.slot;
    $('#wb-image-meta').textContent = m
      ? `${String(m.format).toUpperCase()} · ${m.width}×${m.height} · ${Math.round(m.size / 1024)} KB · ${m.via === 'app' ? '来自 app' : '来自电脑'} · 上传于 ${fmtDateTime(m.uploaded_at)}`
      : '';

    const rows = compare(it.slot).filter(([, v]) => v);
    $('#wb-compare').replaceChildren(...rows.flatMap(([k, v, f]) => [
      h('dt', {}, k),
      h('dd', { class: [k === '证件号码' ? 'id-number' : '', f && fieldChanged(f) ? 'changed' : ''].join(' ').trim(), dataset: { k, field: f || '' } }, v,
        f && fieldChanged(f) ? h('span', { class: 'changed-badge' }, '已修改') : '')]));
    show($('#wb-compare'), rows.length > 0);

    const rules = $('#wb-rules');
    if (it.slot === 'verification_form' || it.slot === 'face_photo') {
      rules.replaceChildren(h('b', {}, it.slot === 'verification_form' ? `${provinceZh(order().province)}核验单要求` : '拍摄要求'), it.guidance || '');
      show(rules, !!it.guidance);
    } else show(rules, false);

    const ws = (m && m.warnings) || [];
    $('#wb-warnings').replaceChildren(...ws.map((w) => h('li', { class: 'warning', dataset: { code: w } }, '机器提示：', warningText(w))));
    show($('#wb-warnings'), ws.length > 0);

    renderPrev($('#wb-prev'), 'material', it.slot, ch ? '申请人已重新上传' : '本轮未重新上传');
    renderVerdict(it);
  }

  // renderPrev shows what the last round said about this item, if anything.
  function renderPrev(box, target, name, after) {
    const r = lastRound();
    const iss = r && (r.issues || []).filter((i) => i.target === target && (target === 'material' ? i.slot === name : i.field === name));
    if (!iss || !iss.length) { show(box, false); return; }
    box.replaceChildren(h('b', {}, `第 ${r.round} 轮的问题（${after}）`),
      ...iss.map((i) => h('div', {}, i.message_zh || i.code, i.note ? `：${i.note}` : '')));
    show(box, true);
  }

  function reasonOptions(target, selected) {
    const rs = reasons().filter((r) => (r.targets || []).includes(target));
    return [h('option', { value: '' }, '请选择原因'), ...rs.map((r) => h('option', { value: r.code, selected: r.code === selected }, r.message_zh))];
  }

  function renderVerdict(it) {
    const k = key('material', it.slot);
    const m = mark(k);
    $('#wb-pass').setAttribute('aria-pressed', String(m.verdict === 'pass'));
    $('#wb-flag').setAttribute('aria-pressed', String(m.verdict === 'flag'));
    $('#wb-pass').disabled = O.readOnly;
    $('#wb-flag').disabled = O.readOnly;
    show($('#wb-flag-form'), m.verdict === 'flag');
    const sel = $('#wb-reason');
    sel.replaceChildren(...reasonOptions(it.slot, m.code));
    sel.value = m.code || '';
    sel.disabled = O.readOnly;
    const r = reasonOf(m.code);
    $('#wb-reason-suggest').textContent = r ? `申请人将看到：${r.message_zh}。${r.suggest_zh || ''}` : '';
    const note = $('#wb-note');
    if (note.value !== (m.note || '')) note.value = m.note || '';
    note.disabled = O.readOnly;
  }

  function renderFields() {
    const box = $('#wb-field-list');
    box.replaceChildren(...fields().map((f) => {
      const k = key('field', f.name);
      const m = mark(k);
      const ch = fieldChanged(f.name);
      const id = 'wb-f-' + f.name.replace(/\W/g, '-');
      const el = h('div', { class: 'wb-field ' + (m.verdict || '') + (ch ? ' changed' : ''), dataset: { field: f.name } },
        h('div', { class: 'wb-field-head' },
          h('div', {},
            h('div', { class: 'wb-field-name', id: id + '-name' }, f.label, ch ? h('span', { class: 'changed-badge' }, '本轮已修改') : ''),
            h('div', { class: 'wb-field-value' + (f.mono ? ' id-number' : '') }, f.value || '—')),
          h('div', { class: 'wb-field-btns', role: 'group', 'aria-labelledby': id + '-name' },
            h('button', { type: 'button', class: 'btn btn-secondary btn-sm wb-pass', 'aria-pressed': String(m.verdict === 'pass'), disabled: O.readOnly, onclick: () => setVerdict(k, 'pass') }, '通过'),
            h('button', { type: 'button', class: 'btn btn-secondary btn-sm wb-flag', 'aria-pressed': String(m.verdict === 'flag'), disabled: O.readOnly, onclick: () => setVerdict(k, 'flag') }, '有问题'))));
      const prev = h('div', { class: 'wb-prev' });
      renderPrev(prev, 'field', f.name, ch ? '申请人已修改' : '申请人未修改');
      el.append(prev);
      if (m.verdict === 'flag') {
        const sel = h('select', { id: id + '-reason', disabled: O.readOnly, 'aria-label': `${f.label}：问题原因` }, reasonOptions('field', m.code));
        sel.value = m.code || '';
        sel.addEventListener('change', () => { O.marks[k].code = sel.value; activity(); renderTabs(); renderDecide(); });
        const note = h('textarea', { id: id + '-note', rows: '2', maxlength: '200', disabled: O.readOnly, 'aria-label': `${f.label}：说明（给申请人看）`, placeholder: '说明（给申请人看，最多 200 字）' });
        note.value = m.note || '';
        note.addEventListener('input', () => { O.marks[k].note = note.value; activity(); });
        el.append(h('div', { class: 'wb-field-flag' }, sel, note));
      }
      return el;
    }));
  }

  function renderRounds() {
    const rs = O.view.rounds || [];
    show($('#wb-rounds'), rs.length > 0);
    $('#wb-round-list').replaceChildren(...rs.map((r) => h('li', {},
      h('b', {}, `第 ${r.round} 轮：${OUTCOME_ZH[r.outcome] || r.outcome}`), ` · ${fmtDateTime(r.decided_at)}`,
      r.reason ? h('div', {}, `原因：${r.reason}`) : '',
      (r.issues || []).length ? h('ul', {}, (r.issues || []).map((i) => h('li', {},
        i.target === 'material' ? labelOf(i.slot) : fieldLabel(i.field), '：', i.message_zh || i.code, i.note ? `（${i.note}）` : ''))) : '')));
  }

  function labelOf(slot) {
    const r = (order().required_materials || []).find((x) => x.slot === slot);
    return r ? r.label_zh : slot;
  }
  function fieldLabel(name) {
    const f = fields().find((x) => x.name === name);
    return f ? f.label : name;
  }

  function issues() {
    const out = [];
    for (const [k, m] of Object.entries(O.marks)) {
      if (m.verdict !== 'flag') continue;
      const [kind, name] = [k.slice(0, k.indexOf(':')), k.slice(k.indexOf(':') + 1)];
      const issue = kind === 'material' ? { target: 'material', slot: name } : { target: 'field', field: name };
      issue.code = m.code || '';
      if (m.note && m.note.trim()) issue.note = m.note.trim();
      out.push(issue);
    }
    return out;
  }

  function renderDecide() {
    const its = items();
    const checked = its.filter((it) => mark(key('material', it.slot)).verdict).length;
    const iss = issues();
    const noCode = iss.filter((i) => !i.code).length;
    const sum = $('#wb-decide-summary');
    sum.replaceChildren(
      `资料已检查 ${checked}/${its.length}`,
      iss.length ? h('span', { class: 'flagged' }, ` · ${iss.length} 项有问题`) : ' · 未发现问题',
      noCode ? h('span', { class: 'flagged' }, `（${noCode} 项未选择原因）`) : '',
      O.readOnly ? h('span', { class: 'muted' }, ' · 只读：不能作出结论') : '');
    const approve = $('#wb-approve');
    approve.disabled = O.readOnly || iss.length > 0 || checked < its.length;
    approve.title = iss.length ? '有标记为有问题的项目：请退回补正' : checked < its.length ? '请逐项检查全部资料后再通过' : '';
    const changes = $('#wb-changes');
    changes.disabled = O.readOnly || iss.length === 0 || noCode > 0;
    $('#wb-reject').disabled = O.readOnly;
    $('#wb-release').disabled = O.readOnly;
    show($('#wb-reject-form'), O.rejecting);
    $('#wb-reject').classList.toggle('armed', O.rejecting);
    $('#wb-reject').textContent = O.rejecting ? '确认驳回' : '驳回';
  }

  // ---------------------------------------------------------------- acting

  function activity() { O.lastActive = Date.now(); }

  function select(i) {
    const n = items().length;
    O.index = Math.max(0, Math.min(n, i));
    activity();
    renderTabs();
    renderItem();
    if (O.index === n) $('#wb-fields').scrollIntoView({ block: 'start', behavior: 'smooth' });
  }

  function setVerdict(k, verdict) {
    if (O.readOnly) return;
    const m = O.marks[k] || {};
    if (m.verdict === verdict && verdict === 'flag') return;
    O.marks[k] = { ...m, verdict };
    activity();
    renderTabs();
    if (k.startsWith('field:')) renderFields(); else renderItem();
    renderDecide();
  }

  function passCurrent() {
    const it = currentItem();
    if (!it) {
      // On the fields: every field not flagged passes.
      for (const f of fields()) { const k = key('field', f.name); if (!O.marks[k]) O.marks[k] = { verdict: 'pass' }; }
      renderFields(); renderTabs(); renderDecide();
      return;
    }
    setVerdict(key('material', it.slot), 'pass');
    select(O.index + 1);
  }

  function flagCurrent() {
    const it = currentItem();
    if (!it) return;
    setVerdict(key('material', it.slot), 'flag');
    $('#wb-reason').focus();
  }

  async function decide(outcome) {
    const err = $('#wb-decide-error');
    show(err, false);
    let body;
    if (outcome === 'approve') body = { outcome };
    else if (outcome === 'changes') body = { outcome, issues: issues() };
    else {
      if (!O.rejecting) { O.rejecting = true; renderDecide(); $('#wb-reject-reason').focus(); return; }
      const reason = $('#wb-reject-reason').value.trim();
      if (!reason) { err.textContent = '请填写驳回原因：申请人会看到它。'; show(err, true); $('#wb-reject-reason').focus(); return; }
      body = { outcome, reason };
    }
    const btns = ['#wb-approve', '#wb-changes', '#wb-reject'].map((s) => $(s));
    btns.forEach((b) => { b.disabled = true; });
    const r = await client.request('POST', `/api/v1/review/orders/${encodeURIComponent(O.id)}/decision`, body);
    if (r.ok) {
      stop();
      const name = order().subject_name;
      O.id = '';
      ctx.banner(`已作出结论：${OUTCOME_ZH[outcome]}（${name}）。`, 'ok');
      ctx.back();
      return;
    }
    if (r.status === 401) { ctx.unauthorized(); return; }
    let msg = r.error.message_zh;
    if (r.error.code === 'not_held') msg = '您对此订单的锁定已失效（可能已被他人接手）：结论未保存。请返回队列重新打开。';
    if (r.error.code === 'invalid_state') msg = '订单状态已变化（申请人可能已撤回或已由他人审核）：结论未保存。';
    const d = r.error.details || {};
    if (r.error.code === 'invalid_request' && (d.slot || d.field || d.code)) msg += `（${[d.slot && labelOf(d.slot), d.field && fieldLabel(d.field), d.code].filter(Boolean).join('，')}）`;
    err.textContent = msg;
    show(err, true);
    renderDecide();
  }

  // ---------------------------------------------------------------- wiring

  $('#wb-pass').addEventListener('click', passCurrent);
  $('#wb-flag').addEventListener('click', flagCurrent);
  $('#wb-reason').addEventListener('change', () => {
    const it = currentItem();
    if (!it) return;
    const k = key('material', it.slot);
    O.marks[k] = { ...(O.marks[k] || { verdict: 'flag' }), code: $('#wb-reason').value };
    activity(); renderVerdict(it); renderTabs(); renderDecide();
  });
  $('#wb-note').addEventListener('input', () => {
    const it = currentItem();
    if (!it) return;
    const k = key('material', it.slot);
    O.marks[k] = { ...(O.marks[k] || { verdict: 'flag' }), note: $('#wb-note').value };
    activity();
  });
  $('#wb-tab-fields').addEventListener('click', () => select(items().length));
  $('#wb-zoom-in').addEventListener('click', () => viewer.zoomIn());
  $('#wb-zoom-out').addEventListener('click', () => viewer.zoomOut());
  $('#wb-fit').addEventListener('click', () => viewer.fit());
  $('#wb-rotate').addEventListener('click', () => viewer.rotate());
  $('#wb-approve').addEventListener('click', () => decide('approve'));
  $('#wb-changes').addEventListener('click', () => decide('changes'));
  $('#wb-reject').addEventListener('click', () => decide('reject'));
  $('#wb-release').addEventListener('click', release);

  document.addEventListener('keydown', (e) => {
    if ($('#wb-order').hidden || !O.view || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
    if (typing) {
      if (e.key === 'Escape') t.blur();
      return;
    }
    const act = {
      j: () => select(O.index + 1), ArrowDown: () => select(O.index + 1),
      k: () => select(O.index - 1), ArrowUp: () => select(O.index - 1),
      p: passCurrent, f: flagCurrent,
      '+': () => viewer.zoomIn(), '=': () => viewer.zoomIn(), '-': () => viewer.zoomOut(),
      0: () => viewer.fit(), r: () => viewer.rotate(),
    }[e.key.length === 1 ? e.key.toLowerCase() : e.key];
    if (!act) return;
    e.preventDefault();
    activity();
    act();
  });
  document.addEventListener('pointerdown', activity);

  return { open, stop, release, current: () => O.id };
}
