// The order's live events (lib/ws.js) applied to the state: a snapshot replaces everything,
// each event changes its part.

import { openEvents } from '../lib/ws.js';
import { orderPath, api, applyOrder, requirements, setMaterial } from './state.js';
import { render, fatal, banner, currentView } from './view.js';
import { inChanges } from './fix.js';
import { ensurePairing } from './qr.js';
import { lapse } from './resume.js';

export function connect(S) {
  if (S.events) S.events.close();
  S.events = openEvents(orderPath(S, '/events'), {
    onEvent: (ev) => handleEvent(S, ev),
    onSynced: (again, isOpen) => {
      if (!again) { banner(''); return; }
      banner('已重新连接，页面已同步最新进度。', 'ok');
      setTimeout(() => { if (isOpen()) banner(''); }, 2500);
    },
    // Before retrying, learn whether the order can be opened at all: a missing cookie or
    // a wrong order is not cured by reconnecting.
    check: async ({ opened, attempt }) => {
      if (opened && attempt <= 1) return true;
      const r = await api(S, 'GET', orderPath(S, ''));
      if (!r.ok && r.error.code === 'unauthorized') {
        // The cookie lapsed or was never in this browser: the order number and its resume
        // code open it again (resume.js).
        lapse(S);
        return false;
      }
      if (!r.ok && (r.status === 401 || r.status === 404)) {
        fatal('备案订单不存在，请重新填写备案信息。');
        return false;
      }
      if (r.ok) { applyOrder(S, r.data.order); render(S); }
      return true;
    },
    onRetry: (attempt, delay) => banner(`与服务器的连接已断开，正在重新连接…（${Math.round(delay / 1000) || 1} 秒后第 ${attempt} 次重试）`, 'warn'),
  });
}

function handleEvent(S, ev) {
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
    render(S);
    ensurePairing(S);
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
      setMaterial(S, d);
      // After a review round an upload may settle a pending item: the order says which.
      if (inChanges(S.order)) refreshOrder(S);
      break;
    case 'material_removed':
      delete S.materials[d.slot];
      for (const r of requirements(S)) if (r.slot === d.slot) r.uploaded = false;
      break;
    case 'upload_complete':
      S.complete = true;
      if (S.pairing) S.pairing.completed = true;
      // The phone is done: the next step is checking what it uploaded (核对已上传资料).
      if (currentView(S) === 'app') {
        S.reviewing = true;
        window.scrollTo({ top: 0 });
      }
      break;
    case 'review_decided':
    case 'order_edited':
    case 'authority_updated':
      // The data is part of the order (its review, fields or authority): the page shows the
      // order as the server has it.
      refreshOrder(S);
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
      refreshOrder(S);
      if (d.to === 'app') followAppChoice(S);
      break;
    case 'state_changed':
      if (S.order) {
        S.order.state = d.to;
        if (d.reason) S.order.reject_reason = d.reason;
        if (d.to === 'draft' && S.catalog.withdrawable(d.from)) {
          S.order.upload_method = '';
          S.pairing = null;
          S.phone = null;
          S.complete = false;
          S.reviewing = false;
        }
      }
      // The event carries only the states; the order's other fields (required materials,
      // method) are fetched so the page shows them as the server has them.
      refreshOrder(S);
      break;
    default:
      return;
  }
  render(S);
  if (ev.type === 'pairing_expired' && d.reason === 'expired') ensurePairing(S);
}

// followAppChoice: when another tab chose the app, it makes the QR; this tab shows the one
// its pairing_created brings, and makes one itself only if none came.
function followAppChoice(S) {
  setTimeout(() => { if (!S.pairing) ensurePairing(S); }, 2000);
}

async function refreshOrder(S) {
  const r = await api(S, 'GET', orderPath(S, ''));
  if (r.ok) { applyOrder(S, r.data.order); render(S); }
}
