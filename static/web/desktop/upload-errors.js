// What the page says when a file cannot be taken as an image: the format the bytes show
// (a PDF renamed .jpg is a PDF), and how to make a photo of it; a file over the limit, with
// its size and the limit. The server says the same in its error's details (detected,
// max_bytes); the page checks first so that nothing is sent in vain.

import { fmtSize } from '../lib/h.js';
import { mb } from '../lib/catalog.js';

// detect reads a file's first bytes: 'jpeg', 'png', 'gif', or what else it is ('pdf',
// 'heic', 'webp', 'bmp', 'tiff'), or ''.
export async function detect(file) {
  const b = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const s = String.fromCharCode(...b);
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (s.startsWith('\x89PNG')) return 'png';
  if (s.startsWith('GIF8')) return 'gif';
  if (s.startsWith('%PDF-')) return 'pdf';
  if (s.slice(4, 8) === 'ftyp') return /^(avif|avis)/.test(s.slice(8, 12)) ? 'avif' : 'heic';
  if (s.startsWith('RIFF') && s.slice(8, 12) === 'WEBP') return 'webp';
  if (s.startsWith('BM')) return 'bmp';
  if (s.startsWith('II*\x00') || s.startsWith('MM\x00*')) return 'tiff';
  return '';
}

export const IMAGE_FORMATS = new Set(['jpeg', 'png', 'gif']);

// notImage says why a file is not taken, by what its bytes are.
export function notImage(name, detected) {
  const f = `“${name}”`;
  switch (detected) {
    case 'pdf':
      return `${f}是 PDF 文件，不是图片（与文件名无关，内容是 PDF）。请打开 PDF，将该页截图或导出（“另存为图片”）为 jpg 或 png 后上传；纸质文件也可以直接用手机拍照上传。`;
    case 'heic': case 'avif':
      return `${f}是苹果手机的 HEIC/HEIF 照片，不能直接上传。请在手机“设置 > 相机 > 格式”中选择“兼容性最佳”后重拍，或将照片导出为 jpg 后上传。`;
    case 'webp': case 'bmp': case 'tiff':
      return `${f}是 ${detected.toUpperCase()} 格式的图片，请另存为 jpg 或 png 后上传。`;
    default:
      return `${f}不是 jpg、jpeg、png 或 gif 格式的图片，请重新选择。`;
  }
}

// tooLarge says a file is over the limit, with its size and the limit.
export function tooLarge(name, size, max) {
  return `图片大小应小于 ${mb(max)}：“${name}”为 ${fmtSize(size)}。请压缩后重新上传，或单击“自动压缩后上传”。`;
}

// fromServer turns an upload's error answer into what the page says, using the details the
// server sends (detected format, max_bytes); '' when the error has nothing of that.
export function fromServer(e, file) {
  if (!e) return '';
  const d = e.details || {};
  if (e.code === 'unsupported_format') return notImage(file.name, d.detected || '');
  if (e.code === 'too_large' && d.max_bytes) return tooLarge(file.name, d.size || file.size, d.max_bytes);
  return '';
}
