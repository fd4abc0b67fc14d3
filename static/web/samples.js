// Sample images (示例图) of every slot: one correct example and the usual ways a photo is
// refused, drawn here as SVG so they need no image files and show no real person.

const OK = 'ok';

// The wrong examples of each kind of document, most frequent first.
const KIND_OF = {
  organization_certificate: ['license', ['cut', 'gray']],
  subject_leader_id_front: ['idFront', ['blurry', 'cut']],
  website_leader_id_front: ['idFront', ['blurry', 'cut']],
  subject_leader_id_back: ['idBack', ['gray', 'blurry']],
  website_leader_id_back: ['idBack', ['gray', 'blurry']],
  verification_form: ['form', ['cut', 'blurry']],
  face_photo: ['face', ['background', 'blurry']],
  domain_certificate: ['domain', ['cut']],
  supplementary: ['letter', ['gray']],
};

export const SAMPLE_CAPTION = {
  ok: '正确',
  blurry: '模糊',
  cut: '四角不全',
  gray: '黑白复印件',
  background: '彩色背景',
};

let seq = 0;

// Each drawing is in a 120×80 box, the document a little inside it, so "cut off" can move
// it past the edge.
function doc(kind) {
  switch (kind) {
    case 'idFront':
      return `<rect x="14" y="10" width="92" height="60" rx="5" fill="#dbe9f7" stroke="#7aa2cf"/>
        <rect x="20" y="18" width="48" height="4" rx="2" fill="#5b6b7f"/>
        <rect x="20" y="28" width="40" height="3" rx="1.5" fill="#8a97a8"/>
        <rect x="20" y="35" width="44" height="3" rx="1.5" fill="#8a97a8"/>
        <rect x="20" y="42" width="36" height="3" rx="1.5" fill="#8a97a8"/>
        <rect x="20" y="58" width="60" height="4" rx="2" fill="#5b6b7f"/>
        <rect x="76" y="18" width="24" height="30" rx="2" fill="#f4f6f9"/>
        <circle cx="88" cy="28" r="6" fill="#c98f6b"/>
        <path d="M78 48c2-8 18-8 20 0z" fill="#2f5f9e"/>`;
    case 'idBack':
      return `<rect x="14" y="10" width="92" height="60" rx="5" fill="#dbe9f7" stroke="#7aa2cf"/>
        <circle cx="30" cy="30" r="10" fill="#e0453a"/><circle cx="30" cy="30" r="4" fill="#f6c343"/>
        <rect x="46" y="22" width="50" height="5" rx="2.5" fill="#5b6b7f"/>
        <rect x="46" y="32" width="40" height="3" rx="1.5" fill="#8a97a8"/>
        <rect x="24" y="50" width="70" height="3" rx="1.5" fill="#8a97a8"/>
        <rect x="24" y="58" width="58" height="3" rx="1.5" fill="#8a97a8"/>`;
    case 'license':
      return `<rect x="20" y="6" width="80" height="68" rx="2" fill="#fffaf0" stroke="#c79a4a" stroke-width="2"/>
        <rect x="44" y="13" width="32" height="5" rx="2" fill="#b53a2e"/>
        <rect x="28" y="26" width="50" height="3" rx="1.5" fill="#8a97a8"/>
        <rect x="28" y="33" width="56" height="3" rx="1.5" fill="#8a97a8"/>
        <rect x="28" y="40" width="44" height="3" rx="1.5" fill="#8a97a8"/>
        <rect x="28" y="47" width="52" height="3" rx="1.5" fill="#8a97a8"/>
        <circle cx="80" cy="60" r="9" fill="none" stroke="#d8342a" stroke-width="2"/>
        <path d="M77 60l3-4 3 4z" fill="#d8342a"/>`;
    case 'form':
      return `<rect x="30" y="4" width="60" height="72" rx="1" fill="#fff" stroke="#9aa3ae"/>
        <rect x="44" y="9" width="32" height="4" rx="2" fill="#3d4550"/>
        <rect x="36" y="19" width="48" height="2.5" fill="#9aa3ae"/>
        <rect x="36" y="26" width="48" height="2.5" fill="#9aa3ae"/>
        <rect x="36" y="33" width="40" height="2.5" fill="#9aa3ae"/>
        <rect x="36" y="40" width="48" height="2.5" fill="#9aa3ae"/>
        <path d="M38 58c4-5 7 3 11-2s6 2 10-1" fill="none" stroke="#1f3f8f" stroke-width="1.6"/>
        <circle cx="76" cy="60" r="7" fill="none" stroke="#d8342a" stroke-width="1.6"/>`;
    case 'face':
      return `<circle cx="60" cy="32" r="14" fill="#c98f6b"/>
        <path d="M46 28c2-12 26-12 28 0c-4-6-24-6-28 0z" fill="#2b2b2b"/>
        <path d="M32 80c4-22 52-22 56 0z" fill="#2f5f9e"/>`;
    case 'domain':
      return `<rect x="16" y="8" width="88" height="64" rx="3" fill="#fff" stroke="#c79a4a" stroke-width="2"/>
        <rect x="22" y="14" width="76" height="52" fill="none" stroke="#e6cf9f"/>
        <rect x="42" y="20" width="36" height="5" rx="2" fill="#3d4550"/>
        <rect x="30" y="34" width="60" height="3" rx="1.5" fill="#8a97a8"/>
        <rect x="34" y="42" width="52" height="3" rx="1.5" fill="#8a97a8"/>
        <circle cx="84" cy="56" r="6" fill="none" stroke="#d8342a" stroke-width="1.6"/>`;
    default:
      return `<rect x="30" y="4" width="60" height="72" rx="1" fill="#fff" stroke="#9aa3ae"/>
        <rect x="38" y="12" width="30" height="4" rx="2" fill="#3d4550"/>
        <rect x="38" y="22" width="44" height="2.5" fill="#9aa3ae"/>
        <rect x="38" y="29" width="44" height="2.5" fill="#9aa3ae"/>
        <rect x="38" y="36" width="36" height="2.5" fill="#9aa3ae"/>
        <circle cx="74" cy="62" r="7" fill="none" stroke="#d8342a" stroke-width="1.6"/>`;
  }
}

// drawing returns the SVG markup of one sample: only the project's own constant strings
// go into it.
function drawing(kind, fault) {
  const id = `smp${++seq}`;
  let defs = '';
  let attrs = '';
  let bg = '#f1f3f6';
  if (kind === 'face') bg = '#ffffff';
  if (fault === 'blurry') {
    defs = `<filter id="${id}"><feGaussianBlur stdDeviation="2.2"/></filter>`;
    attrs = `filter="url(#${id})"`;
  } else if (fault === 'gray') {
    defs = `<filter id="${id}"><feColorMatrix type="saturate" values="0"/></filter>`;
    attrs = `filter="url(#${id})"`;
    bg = '#e9e9e9';
  } else if (fault === 'cut') {
    attrs = 'transform="translate(34 22) rotate(8 60 40)"';
  } else if (fault === 'background') {
    bg = '#3f7bd9';
  }
  return `<svg viewBox="0 0 120 80" width="120" height="80" aria-hidden="true" focusable="false">
    <defs>${defs}</defs><rect width="120" height="80" fill="${bg}"/>
    <g ${attrs}>${doc(kind)}</g></svg>`;
}

// samples returns the figures of a slot: the correct example first, then the wrong ones.
export function samples(slot) {
  const [kind, faults] = KIND_OF[slot] || KIND_OF.supplementary;
  return [OK, ...faults].map((fault) => {
    const fig = document.createElement('figure');
    fig.className = 'sample ' + (fault === OK ? 'sample-ok' : 'sample-bad');
    fig.dataset.fault = fault;
    const art = document.createElement('div');
    art.className = 'sample-art';
    art.innerHTML = drawing(kind, fault === OK ? '' : fault);
    const cap = document.createElement('figcaption');
    cap.textContent = (fault === OK ? '✓ ' : '✗ ') + SAMPLE_CAPTION[fault];
    fig.append(art, cap);
    return fig;
  });
}
