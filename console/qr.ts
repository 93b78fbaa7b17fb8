/**
 * The QR code on screen, crisp: Graph's PNG (qrCodeImage) is read module by module and drawn on a
 * canvas at a whole number of device pixels per module. A browser that scales the PNG by a fraction
 * (388 → 352 px) blurs module edges until a phone-style decoder cannot read a screenshot of it.
 */
import { h } from './dom.js';

interface Grid {
  size: number;
  dark: Uint8Array;
}

async function readGrid(dataUri: string): Promise<Grid> {
  const img = new Image();
  img.src = dataUri;
  await img.decode();
  const w = img.naturalWidth;
  const hgt = img.naturalHeight;
  const c = document.createElement('canvas');
  c.width = w;
  c.height = hgt;
  const ctx = c.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, w, hgt).data;
  const isDark = (x: number, y: number) => px[(y * w + x) * 4]! < 128;
  // The top-left finder pattern starts at the first dark pixel and is 7 modules wide.
  let x0 = -1;
  let y0 = -1;
  for (let y = 0; y < hgt && x0 < 0; y++) {
    for (let x = 0; x < w; x++) {
      if (isDark(x, y)) {
        x0 = x;
        y0 = y;
        break;
      }
    }
  }
  if (x0 < 0) throw new Error('The QR image has no dark module.');
  let run = 0;
  while (x0 + run < w && isDark(x0 + run, y0)) run++;
  const m = Math.max(1, Math.round(run / 7));
  const size = Math.round(w / m);
  const dark = new Uint8Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let col = 0; col < size; col++) {
      const x = Math.min(w - 1, Math.floor(col * m + m / 2));
      const y = Math.min(hgt - 1, Math.floor(r * m + m / 2));
      dark[r * size + col] = isDark(x, y) ? 1 : 0;
    }
  }
  return { size, dark };
}

/** Largest CSS width the code may take: its box, at most 22rem. */
function available(box: HTMLElement): number {
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  return Math.min(box.clientWidth || 22 * rem, 22 * rem);
}

function draw(canvas: HTMLCanvasElement, grid: Grid, cssWidth: number): void {
  const dpr = window.devicePixelRatio || 1;
  const scale = Math.max(1, Math.floor((cssWidth * dpr) / grid.size));
  const side = grid.size * scale;
  if (canvas.width !== side) {
    canvas.width = side;
    canvas.height = side;
  }
  canvas.style.width = `${side / dpr}px`;
  canvas.style.height = `${side / dpr}px`;
  canvas.dataset.scale = String(scale);
  canvas.dataset.modules = String(grid.size);
  const ctx = canvas.getContext('2d')!;
  // Black on white whatever the colour scheme: scanners expect dark modules on a light ground.
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, side, side);
  ctx.fillStyle = '#000';
  for (let r = 0; r < grid.size; r++) {
    for (let c = 0; c < grid.size; c++) if (grid.dark[r * grid.size + c]) ctx.fillRect(c * scale, r * scale, scale, scale);
  }
}

/** The QR code of a profile (canvas, redrawn when its box or the pixel ratio changes) and its PNG download. */
export function qrFigure(image: { type: string; value: string }, label: string, fileName: string, caption: string): HTMLElement {
  const uri = `data:${image.type || 'image/png'};base64,${image.value}`;
  const canvas = h('canvas', { class: 'qr', role: 'img', 'aria-label': label, width: 1, height: 1 });
  const box = h('div', { class: 'qrcanvas' }, canvas);
  const download = h('a', { class: 'button secondary', href: uri, download: fileName }, 'Download PNG');
  const fig = h('figure', { class: 'qrbox' }, box, h('figcaption', {}, caption, ' ', download));
  void readGrid(uri).then(
    (grid) => {
      const redraw = () => draw(canvas, grid, available(box));
      redraw();
      new ResizeObserver(redraw).observe(box);
      // A zoom changes the pixel ratio; the box's CSS width may stay the same.
      const watch = () => matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`).addEventListener('change', () => (redraw(), watch()), { once: true });
      watch();
      canvas.dataset.ready = 'true';
    },
    () => box.replaceChildren(h('img', { class: 'qr', src: uri, alt: label })),
  );
  return fig;
}
