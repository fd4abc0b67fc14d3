// The workbench's image viewer: one material large, zoomed (buttons, keys, the wheel),
// rotated in quarter turns and panned by dragging. The transform is set through the CSSOM
// (element.style), which the pages' Content-Security-Policy allows; style attributes in the
// markup it would not.

const STEPS = [0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 6, 8];

export function createViewer({ box, img, zoomLabel, empty }) {
  const v = { scale: 1, fit: true, turn: 0, x: 0, y: 0, natural: null };

  function fitScale() {
    if (!img.naturalWidth) return 1;
    const quarter = v.turn % 2 === 1;
    const w = quarter ? img.naturalHeight : img.naturalWidth;
    const hgt = quarter ? img.naturalWidth : img.naturalHeight;
    const r = box.getBoundingClientRect();
    return Math.min(r.width / w, r.height / hgt, 4) || 1;
  }

  function apply() {
    const s = v.fit ? fitScale() : v.scale;
    if (v.fit) { v.scale = s; v.x = 0; v.y = 0; }
    img.style.width = img.naturalWidth ? `${img.naturalWidth}px` : '';
    img.style.transform = `translate(-50%, -50%) translate(${v.x}px, ${v.y}px) rotate(${v.turn * 90}deg) scale(${s})`;
    zoomLabel.textContent = v.fit ? `适合窗口 ${Math.round(s * 100)}%` : `${Math.round(s * 100)}%`;
    box.dataset.scale = String(s);
    box.dataset.turn = String(v.turn % 4);
  }

  function zoom(dir) {
    const cur = v.fit ? fitScale() : v.scale;
    let next = cur;
    if (dir > 0) next = STEPS.find((s) => s > cur + 1e-6) || STEPS[STEPS.length - 1];
    else next = [...STEPS].reverse().find((s) => s < cur - 1e-6) || STEPS[0];
    v.fit = false;
    v.scale = next;
    apply();
  }

  function fit() { v.fit = true; apply(); }
  function rotate() { v.turn = (v.turn + 1) % 4; if (v.fit) apply(); else apply(); }

  // show replaces the image; a new material starts fitted and upright.
  function showImage(src, alt) {
    v.fit = true; v.turn = 0; v.x = 0; v.y = 0;
    if (!src) {
      img.removeAttribute('src');
      img.hidden = true;
      empty.hidden = false;
      zoomLabel.textContent = '';
      return;
    }
    img.hidden = false;
    empty.hidden = true;
    img.alt = alt;
    if (img.getAttribute('src') !== src) img.src = src;
    apply();
  }

  img.addEventListener('load', apply);
  window.addEventListener('resize', () => { if (v.fit) apply(); });
  box.addEventListener('wheel', (e) => {
    if (img.hidden) return;
    e.preventDefault();
    zoom(e.deltaY < 0 ? 1 : -1);
  }, { passive: false });

  let drag = null;
  box.addEventListener('pointerdown', (e) => {
    if (img.hidden) return;
    drag = { x: e.clientX - v.x, y: e.clientY - v.y };
    box.classList.add('dragging');
    box.setPointerCapture(e.pointerId);
  });
  box.addEventListener('pointermove', (e) => {
    if (!drag) return;
    if (v.fit) { v.fit = false; }
    v.x = e.clientX - drag.x;
    v.y = e.clientY - drag.y;
    apply();
  });
  const end = () => { drag = null; box.classList.remove('dragging'); };
  box.addEventListener('pointerup', end);
  box.addEventListener('pointercancel', end);

  return { show: showImage, zoomIn: () => zoom(1), zoomOut: () => zoom(-1), fit, rotate };
}
