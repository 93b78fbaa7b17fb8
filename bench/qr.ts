/**
 * QR PNG rendering cost: qrcode's own PNG path (the baseline) vs the hand-written
 * 1-bit PNG writer in src/enrollment/qr.ts.
 *
 *   node --import tsx bench/qr.ts [max-renders-per-variant]
 *
 * Every variant renders the same set of distinct contents (real payload shape,
 * 20-27 character tokens) after a short warm-up, in one process. Each variant
 * stops after N renders or ~3 s, whichever comes first, so the whole run
 * stays under ~20 s.
 */
import { performance } from 'node:perf_hooks';
import QRCode from 'qrcode';
import { cloudDpcQrContent, qrMatrix, qrMatrixToPng, renderQrPng } from '../src/enrollment/qr.js';

const N = Math.max(1, Number.parseInt(process.argv[2] ?? '', 10) || 2000);
const WARMUP = 20;
const TIME_BUDGET_MS = 3_000;

const contents = Array.from({ length: 64 }, (_, i) =>
  cloudDpcQrContent(`ENROLLTOKEN${String(i).padStart(4, '0')}ABCDEFGHIJKLMNOPQRSTUVWXYZ`.slice(0, 20 + (i % 8))),
);

interface Result {
  name: string;
  renders: number;
  msPerRender: number;
  bytes: number;
}

async function run(name: string, render: (i: number) => Buffer | Promise<Buffer>): Promise<Result> {
  for (let i = 0; i < WARMUP; i++) await render(i);
  let bytes = 0;
  let i = 0;
  const start = performance.now();
  while (i < N) {
    bytes += (await render(i)).length;
    i++;
    if ((i & 15) === 0 && performance.now() - start > TIME_BUDGET_MS) break;
  }
  const elapsed = performance.now() - start;
  return { name, renders: i, msPerRender: elapsed / i, bytes: bytes / i };
}

const content = (i: number) => contents[i % contents.length]!;
const byteSegment = (c: string) => [{ mode: 'byte' as const, data: Buffer.from(c, 'utf8') }];
const pngOpts = { errorCorrectionLevel: 'M', margin: 4, scale: 4 } as const;
const matrices = contents.map(qrMatrix);

const results: Result[] = [];
const baseline = await run('QRCode.toBuffer(content, {M, margin 4, scale 4})  [baseline]', (i) => QRCode.toBuffer(content(i), pngOpts));
results.push(baseline);
// Same matrix as renderQrPng (one byte segment): isolates the PNG path.
const baselineByte = await run('QRCode.toBuffer(byte segment, same options)', (i) => QRCode.toBuffer(byteSegment(content(i)), pngOpts));
results.push(baselineByte);
const ours = await run('renderQrPng(content)  [hand-written 1-bit PNG]', (i) => renderQrPng(content(i)));
results.push(ours);
const matrixOnly = await run('  of which QRCode.create (matrix only)', (i) => {
  QRCode.create(byteSegment(content(i)), { errorCorrectionLevel: 'M' });
  return Buffer.alloc(0);
});
results.push(matrixOnly);
const encodeOnly = await run('  of which qrMatrixToPng (PNG encode only)', (i) => qrMatrixToPng(matrices[i % matrices.length]!));
results.push(encodeOnly);

const pad = Math.max(...results.map((r) => r.name.length));
console.log(`node ${process.version}; contents ${contents[0]!.length}-${contents[7]!.length} bytes (QR version ${(matrices[0]!.size - 17) / 4})`);
for (const r of results) {
  const size = r.bytes ? `, ${Math.round(r.bytes)} B/PNG` : '';
  console.log(`${r.name.padEnd(pad)}  ${r.msPerRender.toFixed(3).padStart(8)} ms/render  (${r.renders} renders${size})`);
}
const baselineEncode = Math.max(0, baselineByte.msPerRender - matrixOnly.msPerRender);
console.log(`ratio baseline / renderQrPng: ${(baseline.msPerRender / ours.msPerRender).toFixed(2)}x`);
console.log(
  `PNG step alone: qrcode ~${baselineEncode.toFixed(3)} ms (toBuffer minus matrix) vs ${encodeOnly.msPerRender.toFixed(3)} ms ` +
    `(~${(baselineEncode / encodeOnly.msPerRender).toFixed(0)}x)`,
);
