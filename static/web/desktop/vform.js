// The verification form card (download, print, sign).

import { $, h } from '../lib/h.js';
import { orderPath, requirements, desktopText } from './state.js';

// formRule is how this order's form is filled in and signed (a seal, a fingerprint,
// Guangdong's own form): the server's guidance for the order's form slot.
function formRule(S) {
  const r = requirements(S).find((x) => x.slot === 'verification_form');
  const c = S.catalog.slot('verification_form');
  return desktopText((r && r.guidance_zh) || (c && c.guidance_zh) || '');
}

export function renderVerificationForm(S, view) {
  const slot = $(`#view-${view} .vform-slot`);
  const has = !!S.materials.verification_form;
  const app = view === 'app';
  slot.replaceChildren(h('div', { class: 'card vform' + (app && !has ? ' vform-first' : '') },
    h('div', { class: 'vform-icon', 'aria-hidden': 'true' }, app ? '1' : '单'),
    h('div', { class: 'vform-body' },
      h('h2', { class: 'card-title' }, app ? '第一步：打印并签好真实性核验单' : '真实性核验单', has ? h('span', { class: 'badge badge-ok' }, '已上传') : ''),
      h('p', {}, app ? '扫码前先完成这一步，手机会拍摄它。' : '', formRule(S))),
    h('a', { class: 'btn btn-secondary', id: 'vform-link-' + view, href: orderPath(S, '/verification-form'), target: '_blank', rel: 'noopener' }, '下载核验单')));
}
