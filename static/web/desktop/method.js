// 2. Choosing the upload method (app or PC).

import { $, show } from '../lib/h.js';
import { orderPath, api, applyOrder, provinceName } from './state.js';
import { render } from './view.js';
import { ensurePairing } from './qr.js';

export function renderMethod(S) {
  const o = S.order;
  const prov = o.province_name_zh || provinceName(S, o.province);
  const appOK = o.app_upload_available;
  $('#method-lead').textContent = appOK
    ? '请选择上传资料的方式。使用阿里云 app 可一次完成资料上传和网站负责人核验。'
    : `${prov}的备案目前请使用电脑上传资料。`;
  $('#method-app').classList.toggle('disabled', !appOK);
  $('#choose-app').disabled = !appOK;
  $('#choose-app').className = 'btn ' + (appOK ? 'btn-primary' : 'btn-secondary');
  $('#choose-app').textContent = appOK ? '使用 app 上传' : '暂不可用';
  const badge = $('#method-app-badge');
  badge.textContent = appOK ? '推荐' : '暂未开放';
  badge.className = 'badge ' + (appOK ? 'badge-accent' : 'badge-muted');
  const reason = $('#method-app-reason');
  reason.textContent = appOK ? '' : `${prov}暂未开放阿里云 app 核验（其他省份 app 核验开放时间待定），请使用电脑上传资料。`;
  show(reason, !appOK);
  $('#method-pc').classList.toggle('suggested', !appOK);
  $('#choose-pc').className = 'btn ' + (appOK ? 'btn-secondary' : 'btn-primary');
  show($('#method-back'), !!o.upload_method);
  const cur = { app: '当前方式：使用阿里云 app 上传', pc: '当前方式：使用电脑上传' }[o.upload_method];
  $('#method-app').classList.toggle('chosen', o.upload_method === 'app');
  $('#method-pc').classList.toggle('chosen', o.upload_method === 'pc');
  if (cur) $('#method-lead').textContent += `${cur}。已上传的资料会保留。`;
}

export async function chooseMethod(S, method, errBox) {
  show(errBox, false);
  const r = await api(S, 'PUT', orderPath(S, '/upload-method'), { method });
  if (!r.ok) {
    errBox.textContent = r.error.message_zh;
    show(errBox, true);
    return false;
  }
  applyOrder(S, r.data.order);
  S.reviewing = false;
  S.choosing = false;
  S.renewals = 0;
  if (method !== 'app') { S.pairing = null; S.phone = null; S.complete = false; }
  render(S);
  if (method === 'app') ensurePairing(S);
  return true;
}
