// The desktop page's state and what is derived from it alone: the order, its materials and
// requirements, the pairing and the phone, the uploads in progress. newState makes it; every
// other module gets it passed as S.

import { newClient } from '../lib/api.js';

export function newState() {
  return {
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
    choosing: false, // the method view is open again over a chosen method
    qrError: '', // why the last QR could not be made
    fixPairingId: '', // the re-upload QR made after a review round (review.js)
    fixBusy: false, // a re-upload QR is being made: the old one is not shown (review.js)
    resumeCode: '', // the new order's resume code, shown until written down (resume.js)
    lapsed: false, // the order in the URL answered unauthorized: offer 继续办理
    mine: null, // the owner's orders (我的备案) when the cookie is an owner's session (mine.js)
  };
}

export function orderPath(S, rest = '') {
  return `/api/v1/orders/${encodeURIComponent(S.orderId)}${rest}`;
}

// api sends a request through the page's client (lib/api.js): {ok, status, data, error}.
export function api(S, method, path, body) {
  return S.client.request(method, path, body);
}

export function sendFile(S, method, path, body, contentType, onProgress) {
  return S.client.sendFile(method, path, body, contentType, onProgress);
}

// serverNow is the server's clock, as the answers' Date headers tell it.
export function serverNow(S) { return S.client.now(); }

export function applyOrder(S, order) {
  if (!order) return;
  if (S.order && order.version < S.order.version) return;
  S.order = order;
}

export function requirements(S) {
  return (S.order && S.order.required_materials) || [];
}

export function labelOf(S, slot) {
  const r = requirements(S).find((x) => x.slot === slot);
  return r ? r.label_zh : slot;
}

export function missingRequired(S) {
  return requirements(S).filter((r) => r.required && !S.materials[r.slot]);
}

export function openState(S) {
  return S.order && (S.order.state === 'draft' || S.order.state === 'uploaded');
}

// deviceName is what the desktop calls the phone: the name the app sent, else the start
// and end of its device ID, which alone would wrap onto a lone digit.
export function deviceName(ph) {
  if (!ph) return '未知';
  if (ph.device_name) return ph.device_name;
  const id = String(ph.device || '');
  if (!id) return '未知';
  return id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

export function idTypeName(S, t) {
  return S.catalog.idTypeLabel(t);
}

export function validName(v) {
  return v === 'long_term' ? '长期' : (v || '');
}

// desktopText drops "在电脑端" from the server's guidance: the reader is at the computer.
export function desktopText(t) {
  return String(t || '').replace(/请?在电脑端/g, '').replace(/使用电脑端上传/g, '在本页上传');
}

export function provinceName(S, code) {
  return S.catalog.provinceName(code);
}

export function materialURL(S, slot, m) {
  // The sha256 only busts the cache; the cookie authorizes the request.
  return `${orderPath(S, '/materials/' + encodeURIComponent(slot))}?v=${m.sha256}`;
}

export function setMaterial(S, m) {
  S.materials[m.slot] = m;
  S.uploads[m.slot] = {};
  for (const r of requirements(S)) if (r.slot === m.slot) r.uploaded = true;
}
