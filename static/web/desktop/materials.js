// A material's thumbnail and its quality warnings (texts from the catalogue), as the app's
// checklist, the review cards and the status page show them.

import { $, h, show } from '../lib/h.js';
import { labelOf, materialURL } from './state.js';

export function setThumb(S, box, slot, m, cls) {
  const img = $('img', box);
  if (!m) {
    if (img) img.remove();
    box.classList.add('empty');
    return;
  }
  box.classList.remove('empty');
  if (img && img.dataset.sha === m.sha256) return;
  // data-zoom: a click opens it large (lib/lightbox.js); tabindex lets the keyboard do the same.
  const ni = h('img', { class: cls, alt: labelOf(S, slot), loading: 'eager', 'data-zoom': '', tabindex: '0', title: '单击查看大图', dataset: { sha: m.sha256, slot } });
  ni.src = materialURL(S, slot, m);
  if (img) img.replaceWith(ni); else box.prepend(ni);
}

export function renderWarnings(S, ul, m) {
  const ws = (m && m.warnings) || [];
  ul.replaceChildren(...ws.map((w) => h('li', { class: 'warning', dataset: { code: w } }, S.catalog.warningText(w))));
  show(ul, ws.length > 0);
}
