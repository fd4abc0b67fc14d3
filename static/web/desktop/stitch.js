// Stitching pages ("添加一页"): the one open panel (S.stitch) that orders several files and
// sends them to be stacked into one image.

import { $, h, show } from '../lib/h.js';
import { mb } from '../lib/catalog.js';
import { orderPath, sendFile, materialURL, setMaterial } from './state.js';
import { render } from './view.js';
import { renderReview } from './review.js';
import { detect, IMAGE_FORMATS, notImage } from './upload-errors.js';

// S.stitch is the one open "add a page" panel: {slot, pages: [{file, url, name}], error,
// progress}. The pages are stacked top to bottom in this order by the server.
export async function openStitch(S, slot, files = []) {
  if (S.stitch && S.stitch.slot !== slot) closeStitch(S);
  if (!S.stitch) {
    S.stitch = { slot, pages: [], error: '' };
    // "Add a page" adds to what is there: the uploaded image is the first page.
    const m = S.materials[slot];
    if (m) {
      try {
        const res = await fetch(materialURL(S, slot, m), { credentials: 'same-origin' });
        if (res.ok) {
          const blob = await res.blob();
          addPages(S, [new File([blob], '当前已上传的图片.' + (m.format === 'jpeg' ? 'jpg' : m.format), { type: blob.type })]);
        }
      } catch { /* the person can pick the certificate again */ }
    }
  }
  addPages(S, files);
  render(S);
  const card = $(`.slot-card[data-slot="${slot}"]`);
  if (card) {
    const first = $('.stitch-pick', card);
    if (first && !files.length) first.focus();
    $('.stitch', card).scrollIntoView({ block: 'nearest' });
  }
}

function addPages(S, files) {
  const st = S.stitch;
  if (!st) return;
  for (const f of files) {
    const max = S.catalog.limits.stitch_max_parts;
    if (st.pages.length >= max) { st.error = `最多拼接 ${max} 页。`; break; }
    st.pages.push({ file: f, url: URL.createObjectURL(f), name: f.name });
  }
}

function closeStitch(S) {
  if (!S.stitch) return;
  for (const p of S.stitch.pages) URL.revokeObjectURL(p.url);
  S.stitch = null;
}

function movePage(S, from, to) {
  const pages = S.stitch.pages;
  if (to < 0 || to >= pages.length || from === to) return;
  const [p] = pages.splice(from, 1);
  pages.splice(to, 0, p);
  renderReview(S);
}

export function renderStitch(S, card, slot) {
  const box = $('.stitch', card);
  if (!box) return;
  const st = S.stitch && S.stitch.slot === slot ? S.stitch : null;
  show(box, !!st);
  if (!st) { box.replaceChildren(); return; }
  const pick = h('input', { type: 'file', multiple: true, class: 'file-input', id: 'stitch-file-' + slot, 'aria-label': '选择要拼接的图片', accept: 'image/jpeg,image/png,image/gif,.jpg,.jpeg,.png,.gif' });
  pick.addEventListener('change', () => { addPages(S, Array.from(pick.files || [])); pick.value = ''; renderReview(S); });
  const n = st.pages.length;
  const list = h('ol', { class: 'pages' }, st.pages.map((p, i) => {
    const li = h('li', { class: 'spage', draggable: 'true', dataset: { index: String(i), name: p.name } },
      h('span', { class: 'page-no' }, String(i + 1)),
      h('img', { src: p.url, alt: `第 ${i + 1} 页：${p.name}` }),
      h('span', { class: 'page-name', title: p.name }, p.name),
      h('span', { class: 'page-actions' },
        h('button', { type: 'button', class: 'btn btn-link btn-sm up', disabled: i === 0, 'aria-label': `上移第 ${i + 1} 页`, onclick: () => movePage(S, i, i - 1) }, '上移'),
        h('button', { type: 'button', class: 'btn btn-link btn-sm down', disabled: i === n - 1, 'aria-label': `下移第 ${i + 1} 页`, onclick: () => movePage(S, i, i + 1) }, '下移'),
        h('button', { type: 'button', class: 'btn btn-link btn-sm drop-page', 'aria-label': `移除第 ${i + 1} 页`, onclick: () => { URL.revokeObjectURL(p.url); st.pages.splice(i, 1); renderReview(S); } }, '移除')));
    li.addEventListener('dragstart', (e) => { e.dataTransfer.setData('text/x-page', String(i)); e.dataTransfer.effectAllowed = 'move'; li.classList.add('dragging'); });
    li.addEventListener('dragend', () => li.classList.remove('dragging'));
    li.addEventListener('dragover', (e) => { if (e.dataTransfer.types.includes('text/x-page')) { e.preventDefault(); li.classList.add('over'); } });
    li.addEventListener('dragleave', () => li.classList.remove('over'));
    li.addEventListener('drop', (e) => {
      const from = e.dataTransfer.getData('text/x-page');
      if (from === '') return;
      e.preventDefault();
      e.stopPropagation();
      movePage(S, Number(from), i);
    });
    return li;
  }));
  const go = h('button', { type: 'button', class: 'btn btn-primary btn-sm stitch-go', disabled: n < 2 || st.progress !== undefined, onclick: () => uploadStitch(S, slot) },
    st.progress !== undefined ? `正在拼接上传 ${Math.round(st.progress * 100)}%` : `拼接 ${n} 页并上传`);
  box.replaceChildren(
    h('div', { class: 'stitch-head' },
      h('b', {}, '添加一页：拼成一张图片'),
      h('span', { class: 'muted small' }, `授权书、变更证明等与证件按下列顺序从上到下拼成一张图片（2–${S.catalog.limits.stitch_max_parts} 页）。拖动或用“上移/下移”调整顺序。`)),
    h('div', { class: 'stitch-body' },
      h('div', {}, n ? list : h('p', { class: 'muted small' }, '还没有选择图片。'),
        h('div', { class: 'stitch-actions' },
          pick,
          h('label', { class: 'btn btn-secondary btn-sm stitch-pick', for: 'stitch-file-' + slot, tabindex: '0' }, '选择图片（可多选）'),
          go,
          h('button', { type: 'button', class: 'btn btn-link btn-sm stitch-cancel', onclick: () => { closeStitch(S); renderReview(S); } }, '取消'))),
      h('div', { class: 'stitch-preview', 'aria-label': '拼接预览' },
        h('span', { class: 'muted small' }, '预览'),
        st.pages.map((p) => h('img', { src: p.url, alt: '' })))),
    st.error ? h('p', { class: 'slot-error', role: 'alert' }, st.error) : '');
}

async function uploadStitch(S, slot) {
  const st = S.stitch;
  if (!st || st.pages.length < 2) return;
  st.error = '';
  for (const p of st.pages) {
    const f = await detect(p.file);
    if (!IMAGE_FORMATS.has(f)) { st.error = notImage(p.name, f); renderReview(S); return; }
    if (p.file.size > S.catalog.limits.fit_max_bytes) { st.error = `“${p.name}”超过 ${mb(S.catalog.limits.fit_max_bytes)}，请缩小后再拼接。`; renderReview(S); return; }
  }
  const fd = new FormData();
  for (const p of st.pages) fd.append('file', p.file, p.name);
  st.progress = 0;
  renderReview(S);
  const res = await sendFile(S, 'POST', orderPath(S, '/materials/' + encodeURIComponent(slot) + '/stitch'), fd, '',
    (f) => { if (S.stitch === st) { st.progress = f; renderReview(S); } });
  delete st.progress;
  if (res.ok && res.data && res.data.material) {
    if (S.stitch === st) closeStitch(S);
    setMaterial(S, res.data.material);
  } else {
    const e = res.data && res.data.error;
    st.error = (e && e.message_zh) || (res.status ? `拼接失败（HTTP ${res.status}），请稍后重试。` : '网络连接失败，请检查网络后重试。');
  }
  render(S);
}
