// A material opened large: a click on any image marked data-zoom shows it at full size in
// a dialog (names and ID numbers are read off it, which a 150 px thumbnail does not allow).
// Esc, the close button or a click beside the image closes it; focus returns where it was.

import { h } from './h.js';

let dialog = null;

function ensureDialog() {
  if (dialog) return dialog;
  const img = h('img', { class: 'lightbox-img', alt: '' });
  const caption = h('p', { class: 'lightbox-caption' });
  const close = h('button', { type: 'button', class: 'btn btn-secondary btn-sm lightbox-close' }, '关闭');
  dialog = h('dialog', { class: 'lightbox', id: 'lightbox', 'aria-label': '查看大图' },
    h('div', { class: 'lightbox-bar' }, caption, close),
    h('div', { class: 'lightbox-body' }, img));
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (e) => { if (e.target === dialog || e.target.classList.contains('lightbox-body')) dialog.close(); });
  document.body.append(dialog);
  return dialog;
}

// openLightbox shows src large, with alt as its caption.
export function openLightbox(src, alt) {
  const d = ensureDialog();
  const img = d.querySelector('.lightbox-img');
  img.src = src;
  img.alt = alt || '';
  d.querySelector('.lightbox-caption').textContent = alt || '';
  if (!d.open) d.showModal();
  d.querySelector('.lightbox-close').focus();
}

// enableLightbox makes every image with data-zoom open large on click, and by keyboard
// (Enter or Space), now and later: one listener on the document.
export function enableLightbox() {
  const target = (e) => e.target.closest && e.target.closest('img[data-zoom]');
  document.addEventListener('click', (e) => {
    const img = target(e);
    if (!img) return;
    e.preventDefault();
    e.stopPropagation();
    openLightbox(img.currentSrc || img.src, img.alt);
  }, true);
  document.addEventListener('keydown', (e) => {
    const img = target(e);
    if (!img || (e.key !== 'Enter' && e.key !== ' ')) return;
    e.preventDefault();
    openLightbox(img.currentSrc || img.src, img.alt);
  });
}
