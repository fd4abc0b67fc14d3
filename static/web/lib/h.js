// Small DOM helpers shared by the pages: query, build, show, and the formats people read.
// Nothing here knows a page or an order.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// h builds an element; text children are set as text, never parsed as HTML, so names and
// domains typed by people are safe anywhere they are shown.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// domainsNode shows an order's (or a queue entry's) domains as people type them, each
// followed by its ASCII form (punycode) in its own element where the two differ, so that a
// look-alike in another script (аррӏе.com) shows its xn-- form: 例子.中国 (xn--fsqu00a.xn--fiqs8s).
export function domainsNode(o, sep = '、') {
  const ds = (o && o.domains) || [];
  const ascii = (o && o.domains_ascii) || [];
  const parts = [];
  ds.forEach((d, i) => {
    if (i) parts.push(sep);
    parts.push(h('span', { class: 'domain' }, d));
    if (ascii[i] && ascii[i] !== d) parts.push(' ', h('span', { class: 'domain-ascii' }, `(${ascii[i]})`));
  });
  return h('span', { class: 'domains-list' }, parts);
}

export function show(el, on) { if (el) el.hidden = !on; }

// labelNode keeps a label's parenthesised part, such as （正面/人像页）, on one line.
export function labelNode(label) {
  const i = String(label).indexOf('（');
  if (i <= 0) return h('span', {}, label);
  return h('span', {}, label.slice(0, i), h('span', { class: 'nowrap' }, label.slice(i)));
}

export function fmtSize(n) {
  if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(1) + ' MB';
  return Math.max(1, Math.round(n / 1024)) + ' KB';
}

export function fmtTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
