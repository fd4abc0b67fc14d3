// The workbench's queue: submitted orders, oldest submission first, with how long each has
// waited and who holds it. It refreshes itself every 10 seconds while it is shown; the
// waiting times tick in between from the server's waiting_s.

import { $, h, show, domainsNode } from './lib/h.js';
import { client } from './wb-client.js';

const REFRESH_MS = 10000;
const LONG_WAIT_S = 24 * 3600; // past a day the waiting time is shown in red

export function fmtWait(s) {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} 天 ${hr} 小时`;
  if (hr) return `${hr} 小时 ${m} 分`;
  if (m) return `${m} 分 ${s % 60} 秒`;
  return `${s} 秒`;
}

export function fmtDateTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return d.toLocaleString('zh-CN', { hour12: false, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

export function fmtClock(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return d.toLocaleTimeString('zh-CN', { hour12: false, hour: '2-digit', minute: '2-digit' });
}

// createQueue returns the queue view. ctx: {catalog, me() (the reviewer's name),
// open(id), unauthorized()}.
export function createQueue(ctx) {
  const q = { orders: [], fetchedAt: 0, cursor: '', next: '', timer: null, ticker: null, busy: false };

  async function load() {
    if (q.busy) return;
    q.busy = true;
    const r = await client.request('GET', '/api/v1/review/queue' + (q.cursor ? '?cursor=' + encodeURIComponent(q.cursor) : ''));
    q.busy = false;
    const err = $('#wb-queue-error');
    if (!r.ok) {
      if (r.status === 401) { ctx.unauthorized(); return; }
      err.textContent = r.error.message_zh;
      show(err, true);
      return;
    }
    show(err, false);
    q.orders = (r.data && r.data.orders) || [];
    q.next = (r.data && r.data.next_cursor) || '';
    q.fetchedAt = Date.now();
    $('#wb-queue-updated').textContent = `更新于 ${new Date().toLocaleTimeString('zh-CN', { hour12: false })}`;
    render();
  }

  function provinceName(code) {
    return ctx.catalog().provinceName(code);
  }

  function holder(o) {
    if (!o.held_by) return h('span', { class: 'holder muted' }, '无人处理');
    const mine = o.held_by === ctx.me();
    return h('span', { class: 'holder ' + (mine ? 'mine' : 'other') },
      mine ? '您' : o.held_by, o.held_until ? `（至 ${fmtClock(o.held_until)}）` : '');
  }

  function render() {
    const body = $('#wb-queue-body');
    const elapsed = (Date.now() - q.fetchedAt) / 1000;
    body.replaceChildren(...q.orders.map((o) => {
      const wait = (o.waiting_s || 0) + elapsed;
      const other = o.held_by && o.held_by !== ctx.me();
      const open = h('button', { type: 'button', class: 'btn btn-sm ' + (other ? 'btn-secondary' : 'btn-primary'), dataset: { open: o.id }, onclick: () => ctx.open(o.id) },
        other ? '查看' : '开始审核');
      return h('tr', { class: other ? 'held-other' : '', dataset: { order: o.id } },
        h('td', {}, h('div', { class: 'subject' }, o.subject_name, ' ', h('span', { class: 'muted small' }, o.subject_type === 'organization' ? '单位' : '个人')),
          h('div', { class: 'domains' }, domainsNode(o))),
        h('td', {}, provinceName(o.province)),
        h('td', {}, h('span', { class: 'round-badge' + (o.round > 1 ? ' again' : '') }, o.round > 1 ? `第 ${o.round} 轮（补正后）` : '第 1 轮')),
        h('td', {}, fmtDateTime(o.submitted_at)),
        h('td', {}, h('span', { class: 'waiting' + (wait >= LONG_WAIT_S ? ' long' : ''), dataset: { waiting: String(Math.floor(wait)) } }, fmtWait(wait))),
        h('td', {}, holder(o)),
        h('td', {}, open));
    }));
    show($('#wb-queue-empty'), q.orders.length === 0);
    show($('#wb-queue-table'), q.orders.length > 0);
    show($('#wb-queue-pages'), !!(q.next || q.cursor));
    show($('#wb-queue-next'), !!q.next);
    show($('#wb-queue-first'), !!q.cursor);
  }

  // Only the waiting times change between refreshes.
  function tick() {
    const elapsed = (Date.now() - q.fetchedAt) / 1000;
    for (const el of document.querySelectorAll('#wb-queue-body .waiting')) {
      const tr = el.closest('tr');
      const o = q.orders.find((x) => x.id === tr.dataset.order);
      if (!o) continue;
      const wait = (o.waiting_s || 0) + elapsed;
      el.textContent = fmtWait(wait);
      el.classList.toggle('long', wait >= LONG_WAIT_S);
    }
  }

  $('#wb-queue-refresh').addEventListener('click', load);
  $('#wb-queue-next').addEventListener('click', () => { q.cursor = q.next; load(); });
  $('#wb-queue-first').addEventListener('click', () => { q.cursor = ''; load(); });

  return {
    start() {
      this.stop();
      load();
      q.timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
      q.ticker = setInterval(tick, 1000);
    },
    stop() {
      clearInterval(q.timer);
      clearInterval(q.ticker);
      q.timer = q.ticker = null;
    },
    reload: load,
  };
}
