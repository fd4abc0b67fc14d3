// The verification form card (download, print, sign).

import { $, h } from '../lib/h.js';
import { orderPath } from './state.js';

function formRequirement(o) {
  if (o.subject_type === 'organization') return '单位备案须在核验单上加盖单位公章。';
  if (o.province === 'CN-JX' || o.province === 'CN-XJ') return '个人备案须在网站负责人签字处签字，并加盖本人手印。';
  if (o.province === 'CN-GD') return '广东个人备案使用广东专用核验单：须清晰签字，并手写承诺内容（“本人已履行网站备案信息当面核验手续……”，全文见核验单）。';
  return '个人备案须在网站负责人签字处清晰签字。';
}

export function renderVerificationForm(S, view) {
  const slot = $(`#view-${view} .vform-slot`);
  const o = S.order;
  const has = !!S.materials.verification_form;
  const app = view === 'app';
  slot.replaceChildren(h('div', { class: 'card vform' + (app && !has ? ' vform-first' : '') },
    h('div', { class: 'vform-icon', 'aria-hidden': 'true' }, app ? '1' : '单'),
    h('div', { class: 'vform-body' },
      h('h2', { class: 'card-title' }, app ? '第一步：打印并签好真实性核验单' : '真实性核验单', has ? h('span', { class: 'badge badge-ok' }, '已上传') : ''),
      h('p', {}, app
        ? '扫码前先下载打印，用黑色签字笔填写、签字，手机会拍摄它。'
        : '下载并打印核验单，用黑色签字笔填写后，扫描或拍照上传。', formRequirement(o))),
    h('a', { class: 'btn btn-secondary', id: 'vform-link-' + view, href: orderPath(S, '/verification-form'), target: '_blank', rel: 'noopener' }, '下载核验单')));
}
