// 3a. The app path: the QR code (renewed when it lapses), its countdown, the phone's
// progress and the checklist of what the phone uploaded.

import { $, $$, h, labelNode, fmtSize, fmtTime } from '../lib/h.js';
import { orderPath, api, serverNow, requirements, openState, deviceName } from './state.js';
import { currentView, render } from './view.js';
import { setThumb, renderWarnings } from './materials.js';

const MAX_AUTO_RENEWALS = 10; // a forgotten tab stops renewing its QR after this many

function pairingDeadline(p) {
  return Date.parse(p.expires_at) || 0;
}

// ensurePairing shows a QR code whenever the app view has none that can still be scanned:
// on arrival, when one lapses (automatically, up to MAX_AUTO_RENEWALS times), or on request.
export async function ensurePairing(S, force = false) {
  if (currentView(S) !== 'app' || !openState(S)) return;
  const p = S.pairing;
  const lapsed = p && !p.claimed && (p.expired || pairingDeadline(p) <= serverNow(S));
  if (!force && p && !lapsed) return;
  if (!force && p && p.claimed) return;
  if (S.pairingBusy) return;
  if (!force && S.renewals >= MAX_AUTO_RENEWALS) { renderApp(S); return; }
  S.pairingBusy = true;
  const forId = p ? p.id : null;
  renderApp(S);
  const r = await api(S, 'POST', orderPath(S, '/pairing'));
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
  render(S);
}

export function renderApp(S) {
  const p = S.pairing;
  const box = $('#qr-box');
  const img = $('#qr-img');
  const overlay = $('#qr-overlay');
  if (p && img.dataset.pairing !== p.id) {
    img.dataset.pairing = p.id;
    img.dataset.loaded = '';
    // Until the new image has loaded the browser may still paint the old one.
    img.onload = () => {
      if (img.dataset.pairing !== p.id) return;
      img.dataset.loaded = '1';
      renderApp(S);
    };
    img.onerror = () => {
      if (img.dataset.pairing !== p.id) return;
      S.qrError = '二维码图片未能加载，请单击下方“刷新二维码”';
      renderApp(S);
    };
    // The pairing id keeps browsers from showing a cached older code; it is not a secret.
    img.src = `${p.qr_png_url || orderPath(S, '/pairing/qr.png')}?p=${encodeURIComponent(p.id)}`;
  }
  let state = 'loading';
  if (p && p.claimed) state = 'claimed';
  // A code being replaced (a refresh in flight) is not shown: once the new one exists,
  // scanning the old one only tells the phone it expired.
  else if (p && !p.expired && pairingDeadline(p) > serverNow(S)) state = S.pairingBusy || img.dataset.loaded !== '1' ? 'loading' : 'live';
  else if (p) state = S.renewals >= MAX_AUTO_RENEWALS && !S.pairingBusy ? 'stopped' : 'expired';
  if (S.qrError && !S.pairingBusy) state = 'error';
  if (!p && S.phoneGone && !S.pairingBusy) state = 'gone';
  box.dataset.state = state;
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
  updateCountdown(S);

  // Timeline.
  const appSlots = requirements(S).filter((r) => r.app_allowed);
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
    setThumb(S, $('.check-thumb', li), r.slot, m, 'thumb');
    renderWarnings(S, $('.warnings', li), m);
  }
  $$('li[data-slot]', list).forEach((li) => { if (!keep.has(li.dataset.slot)) li.remove(); });
  // Keep the order of the requirements.
  for (const r of appSlots) { const li = $(`li[data-slot="${r.slot}"]`, list); if (li) list.append(li); }

  const ready = S.complete || S.order.state === 'uploaded';
  const btn = $('#go-review');
  btn.className = 'btn btn-lg ' + (ready ? 'btn-primary' : 'btn-secondary');
  btn.classList.toggle('pulse', S.complete);
}

function updateCountdown(S) {
  const el = $('#qr-countdown');
  const p = S.pairing;
  if (!p || p.claimed) {
    el.textContent = p && p.claimed ? '已扫码，请在手机上继续操作' : '';
    return;
  }
  const left = Math.ceil((pairingDeadline(p) - serverNow(S)) / 1000);
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
export function tick(S) {
  if (currentView(S) !== 'app') return;
  updateCountdown(S);
  const p = S.pairing;
  if (p && !p.claimed && !p.expired && pairingDeadline(p) + 2500 < serverNow(S)) {
    ensurePairing(S);
  } else if (p && !p.claimed && !p.expired && pairingDeadline(p) <= serverNow(S)) {
    renderApp(S);
  }
}
