// The reviewers' workbench (/review): log in with a reviewer's name and key, the queue of
// submitted orders, one order at a time under this reviewer's hold. The session is an
// HttpOnly cookie set by the server; the key never stays in the page.

import { $, show } from './lib/h.js';
import { client } from './wb-client.js';
import { loadCatalog } from './lib/catalog.js';
import { createQueue } from './wb-queue.js';
import { createOrderView } from './wb-order.js';

const W = { catalog: null, me: sessionStorage.getItem('wb-reviewer') || '' };

const ctx = {
  catalog: () => W.catalog,
  me: () => W.me,
  open: (id) => go(id),
  back: () => go(''),
  unauthorized: () => { W.me = ''; sessionStorage.removeItem('wb-reviewer'); route(); },
  banner,
};

const queue = createQueue(ctx);
const orderView = createOrderView(ctx);

function banner(text, kind) {
  const b = $('#wb-banner');
  b.textContent = text || '';
  b.className = 'conn-banner ' + (kind || '');
  show(b, !!text);
  clearTimeout(banner.t);
  if (text) banner.t = setTimeout(() => show(b, false), 6000);
}

function views(which) {
  for (const v of ['login', 'queue', 'order']) show($('#wb-' + v), v === which);
  show($('#wb-nav'), which !== 'login');
  $('#wb-me').textContent = W.me ? `审核人员：${W.me}` : '';
  document.body.dataset.view = which;
}

function go(id) {
  const u = new URL(location.href);
  u.search = id ? '?order=' + encodeURIComponent(id) : '';
  history.pushState(null, '', u.href);
  route();
}

// route shows what the URL names: the queue, or ?order=ID. Whether the session is alive is
// learnt from the first call (401 → the login form).
function route() {
  const id = new URLSearchParams(location.search).get('order');
  queue.stop();
  if (!W.me) { orderView.stop(); views('login'); $('#wb-name').focus(); return; }
  if (id) {
    views('order');
    if (orderView.current() !== id) orderView.open(id);
  } else {
    orderView.stop();
    views('queue');
    queue.start();
  }
}

async function login(e) {
  e.preventDefault();
  const name = $('#wb-name').value.trim();
  const key = $('#wb-key').value;
  const err = $('#wb-login-error');
  show(err, false);
  if (!name || !key) { err.textContent = '请填写审核人员名称和密钥。'; show(err, true); return; }
  const btn = $('#wb-login-go');
  btn.disabled = true;
  const r = await client.request('POST', '/api/v1/review/session', { name, key });
  btn.disabled = false;
  $('#wb-key').value = '';
  if (!r.ok) {
    err.textContent = r.status === 401 ? '名称或密钥不正确。' : r.error.message_zh;
    show(err, true);
    return;
  }
  W.me = name;
  sessionStorage.setItem('wb-reviewer', name);
  route();
}

async function logout() {
  queue.stop();
  orderView.stop();
  await client.request('DELETE', '/api/v1/review/session');
  W.me = '';
  sessionStorage.removeItem('wb-reviewer');
  history.pushState(null, '', '/review');
  route();
}

async function start() {
  $('#wb-login-form').addEventListener('submit', login);
  $('#wb-logout').addEventListener('click', logout);
  $('#wb-to-queue').addEventListener('click', () => go(''));
  window.addEventListener('popstate', route);
  try {
    W.catalog = await loadCatalog();
  } catch {
    const f = $('#wb-fatal');
    f.textContent = '无法加载审核所需的目录（原因、提示文字），请刷新页面重试。';
    show(f, true);
    return;
  }
  // A session cookie may outlive the tab's memory of the name: the queue answers 200 then.
  if (!W.me) {
    const r = await client.request('GET', '/api/v1/review/queue');
    if (r.ok) W.me = '（已登录）';
  }
  route();
}

start();
