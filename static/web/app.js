// The desktop page of beianscan: the order form, the choice of upload method, the app's QR
// code with live progress, the PC upload and review, and the state after submitting.
//
// Everything the page knows about an order comes from the websocket (a snapshot, then
// events) and from the answers of its own requests. The desktop token is an HttpOnly
// cookie scoped to the order's API path: it never appears in a URL or in this script.
//
// This module only starts the page. lib/ holds what any page of beianscan can use (the API
// client, the websocket, the element helper, the catalogue); desktop/ holds this page's
// parts. The page's state is one object made by newState and passed to every function
// that reads or changes it (their first parameter, S): no module keeps state of its own.

import { $, $$ } from './lib/h.js';
import { loadCatalog, mb } from './lib/catalog.js';
import { newState } from './desktop/state.js';
import { render, fatal } from './desktop/view.js';
import { setupForm } from './desktop/form.js';
import { chooseMethod } from './desktop/method.js';
import { ensurePairing, tick } from './desktop/qr.js';
import { submitOrder, fixPairing, tickFix } from './desktop/review.js';
import { askWithdraw, withdraw, tickStatus } from './desktop/status.js';
import { enableLightbox } from './lib/lightbox.js';
import { connect } from './desktop/events.js';
import { setupResume } from './desktop/resume.js';
import { loadMine } from './desktop/mine.js';

// fillLimits writes the catalogue's limits into the page's static text.
function fillLimits(S) {
  $$('[data-limit]').forEach((el) => { el.textContent = mb(S.catalog.limits[el.dataset.limit]); });
}

async function start(S) {
  try {
    S.catalog = await loadCatalog();
  } catch {
    fatal('页面数据加载失败，请检查网络后刷新页面。');
    return;
  }
  fillLimits(S);
  setupForm(S);
  setupResume(S);
  $('#choose-app').addEventListener('click', () => chooseMethod(S, 'app', $('#method-error')));
  $('#choose-pc').addEventListener('click', () => chooseMethod(S, 'pc', $('#method-error')));
  $('#qr-refresh').addEventListener('click', () => { S.phoneGone = ''; S.qrError = ''; ensurePairing(S, true); });
  $('#switch-to-pc').addEventListener('click', () => chooseMethod(S, 'pc', $('#method-error')));
  $('#go-review').addEventListener('click', () => { S.reviewing = true; render(S); window.scrollTo({ top: 0 }); });
  $('#back-to-app').addEventListener('click', () => { S.reviewing = false; render(S); ensurePairing(S); window.scrollTo({ top: 0 }); });
  $('#change-method').addEventListener('click', () => { S.choosing = true; render(S); window.scrollTo({ top: 0 }); });
  $('#method-back').addEventListener('click', () => { S.choosing = false; render(S); ensurePairing(S); });
  $('#submit-order').addEventListener('click', () => submitOrder(S));
  $('#withdraw').addEventListener('click', () => askWithdraw(S));
  $('#fix-withdraw').addEventListener('click', () => askWithdraw(S));
  $('#withdraw-confirm').addEventListener('click', () => withdraw(S));
  $('#withdraw-cancel').addEventListener('click', () => $('#withdraw-dialog').close());
  $('#fix-qr-go').addEventListener('click', () => fixPairing(S));
  enableLightbox();
  // A file dropped beside a slot must not make the browser leave the page.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());
  setInterval(() => { tick(S); tickStatus(S); tickFix(S); }, 500);

  const params = new URLSearchParams(location.search || location.hash.slice(1));
  const id = params.get('order');
  if (id) {
    S.orderId = id;
    S.reviewing = params.get('step') === 'review';
    render(S);
    connect(S);
  } else {
    // An owner from the provider's console sees 我的备案 instead of a new order's form.
    await loadMine(S);
    render(S);
  }
}

start(newState());
