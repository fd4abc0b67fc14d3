// Which view the page shows, the stepper, the order chip, the URL, and the page-wide notices
// (the connection banner, a fatal error).

import { $, $$, h, show, domainsNode } from '../lib/h.js';
import { missingRequired, openState, provinceName, labelOf } from './state.js';
import { inChanges, renderLastDecision } from './fix.js';
import { renderMethod } from './method.js';
import { renderApp } from './qr.js';
import { renderReview } from './review.js';
import { renderVerificationForm } from './vform.js';
import { renderStatus } from './status.js';
import { renderResume, renderResumeCode } from './resume.js';
import { renderMine } from './mine.js';

export function currentView(S) {
  if (S.lapsed) return 'resume';
  if (!S.order) return S.orderId ? 'loading' : (S.mine ? 'mine' : 'form');
  const o = S.order;
  // Asked to fix particular items, the owner works on the review page, where only those
  // items take changes.
  if (inChanges(o)) return 'review';
  if (!openState(S)) return 'status';
  if (S.choosing || !o.upload_method) return 'method';
  if (o.upload_method === 'app') return S.reviewing ? 'review' : 'app';
  if (o.upload_method === 'pc') return 'review';
  return 'method';
}

const STEP_OF = { form: 'form', method: 'method', app: 'upload', review: 'review', status: 'status', loading: null, resume: null, mine: null };

function setURL(S) {
  const u = new URL(location.href);
  u.search = '';
  u.hash = '';
  if (S.orderId) {
    u.searchParams.set('order', S.orderId);
    if (S.reviewing && S.order && S.order.upload_method === 'app') u.searchParams.set('step', 'review');
  }
  if (u.href !== location.href) history.replaceState(null, '', u.href);
}

export function render(S) {
  const view = currentView(S);
  for (const v of ['form', 'method', 'app', 'review', 'status', 'mine']) show($('#view-' + v), v === view);
  // 继续办理 sits under the new order's form, and alone when the cookie has lapsed.
  show($('#view-resume'), view === 'form' || view === 'resume');
  show($('#loading'), view === 'loading');
  document.body.dataset.view = view;

  const order = ['form', 'method', 'upload', 'review', 'status', 'authority'];
  let step = STEP_OF[view];
  // A PC upload is uploading until every required material is there, then reviewing.
  if (view === 'review' && S.order.upload_method === 'pc' && missingRequired(S).length) step = 'upload';
  // While the order cannot be read (loading, a lapsed cookie) no step is claimed.
  let at = step ? order.indexOf(step) : -1;
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

  renderChip(S);
  renderResumeCode(S);
  if (view === 'form' || view === 'resume') renderResume(S);
  if (view === 'mine') renderMine(S);
  if (view === 'method') renderMethod(S);
  if (view === 'app') renderApp(S);
  if (view === 'review') renderReview(S);
  if (view === 'status') renderStatus(S);
  // On the app path the form comes first (the phone photographs it); in the review its
  // download sits on its own card.
  if (view === 'app') renderVerificationForm(S, view);
  renderLastDecision($('#last-review'), S.order, (slot) => labelOf(S, slot));
  setURL(S);
}

function renderChip(S) {
  const chip = $('#order-chip');
  if (!S.order) { show(chip, false); return; }
  const o = S.order;
  chip.replaceChildren(
    h('span', { class: 'chip-name' }, o.subject_name),
    h('span', { class: 'chip-sep' }, '·'),
    h('span', { class: 'chip-province' }, o.province_name_zh || provinceName(S, o.province)),
    h('span', { class: 'chip-sep' }, '·'),
    h('span', { class: 'chip-domains' }, domainsNode(o)),
    h('span', { class: 'state-pill state-' + o.state, id: 'order-state' }, S.catalog.stateLabel(o.state)),
  );
  show(chip, true);
}



export function fatal(msg) {
  $('#fatal').textContent = msg;
  show($('#fatal'), true);
  show($('#loading'), false);
  banner('');
  for (const v of ['form', 'method', 'app', 'review', 'status', 'resume', 'mine']) show($('#view-' + v), false);
  $('#fatal').append(' ', h('a', { href: '/' }, '新建备案订单'));
}

export function banner(text, kind) {
  const b = $('#conn-banner');
  b.textContent = text || '';
  b.className = 'conn-banner ' + (kind || '');
  show(b, !!text);
}
