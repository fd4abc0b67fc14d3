// Uploading and removing one material from the PC, with the page's own checks first (format
// by the first bytes, the catalogue's size limits).

import { fmtSize } from '../lib/h.js';
import { mb } from '../lib/catalog.js';
import { detect, IMAGE_FORMATS, notImage, tooLarge, fromServer } from './upload-errors.js';
import { orderPath, api, sendFile, desktopText, setMaterial } from './state.js';
import { render } from './view.js';
import { renderReview } from './review.js';

export async function uploadFile(S, slot, file, fit = false) {
  const { max_bytes: maxBytes, fit_max_bytes: fitMaxBytes } = S.catalog.limits;
  const up = (S.uploads[slot] = {});
  const fmt = await detect(file);
  if (!IMAGE_FORMATS.has(fmt)) {
    up.error = notImage(file.name, fmt);
    renderReview(S);
    return;
  }
  if (!fit && file.size >= maxBytes) {
    up.error = tooLarge(file.name, file.size, maxBytes);
    if (file.size <= fitMaxBytes) up.fitFile = file;
    renderReview(S);
    return;
  }
  if (fit && file.size > fitMaxBytes) {
    up.error = `图片超过 ${mb(fitMaxBytes)}（${fmtSize(file.size)}），无法自动压缩，请缩小后重新上传。`;
    renderReview(S);
    return;
  }
  up.progress = 0;
  renderReview(S);
  const res = await sendFile(S, 'PUT', orderPath(S, '/materials/' + encodeURIComponent(slot)) + (fit ? '?fit=1' : ''), file, 'image/' + fmt,
    (f) => { up.progress = f; renderReview(S); });
  delete up.progress;
  if (res.ok && res.data && res.data.material) {
    setMaterial(S, res.data.material);
  } else {
    const e = res.data && res.data.error;
    up.error = fromServer(e, file) || (e && desktopText(e.message_zh)) || (res.status ? `上传失败（HTTP ${res.status}），请稍后重试。` : '网络连接失败，请检查网络后重试。');
    if (e && e.code === 'too_large' && !fit && file.size <= fitMaxBytes) up.fitFile = file;
  }
  render(S);
}

export async function removeMaterial(S, slot, btn) {
  // A second click within a few seconds confirms, so nothing is deleted by a slip.
  if (!btn.dataset.confirm) {
    btn.dataset.confirm = '1';
    btn.textContent = '确认删除？';
    btn.classList.add('danger');
    setTimeout(() => { delete btn.dataset.confirm; btn.classList.remove('danger'); btn.textContent = '删除'; }, 4000);
    return;
  }
  delete btn.dataset.confirm;
  btn.classList.remove('danger');
  const r = await api(S, 'DELETE', orderPath(S, '/materials/' + encodeURIComponent(slot)));
  if (r.ok || r.error.code === 'material_not_found') {
    delete S.materials[slot];
    S.uploads[slot] = {};
  } else {
    S.uploads[slot] = { error: r.error.message_zh };
  }
  render(S);
}
