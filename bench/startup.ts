/**
 * Start-up time: from spawning the process to the first answer of `/readyz`, for
 * `enrollgraph serve --memory` against a bare node:http server (bench/baseline-server.mjs) started
 * and asked the same way, in turns (baseline, Enrollgraph, baseline, …) so that a machine whose
 * speed drifts moves both alike. Prints each run, the medians and the median of the per-pair ratios
 * (the figure docs/performance.md quotes).
 *
 *   npm run build && node --import tsx bench/startup.ts [runs]      (default 11 runs of each)
 *
 * Extra arguments for `serve` can be given in BENCH_SERVE_ARGS (e.g. "--tls").
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'enrollgraph.js');
const BASELINE = join(ROOT, 'bench', 'baseline-server.mjs');

/** Milliseconds from spawn to the first HTTP answer at `path`; the server prints its URL on stderr. */
async function startOnce(args: string[], urlPattern: RegExp, path: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        out += d;
        const m = urlPattern.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}`)));
    });
    const res = await fetch(`${url}${path}`);
    await res.arrayBuffer();
    if (path === '/readyz' && res.status !== 200) throw new Error(`/readyz answered ${res.status}`);
    return performance.now() - t0;
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const runs = Number(process.argv[2] ?? 11);
const serveArgs = (process.env.BENCH_SERVE_ARGS ?? '').split(/\s+/).filter(Boolean);
const baseline: number[] = [];
const enrollgraph: number[] = [];
const ratios: number[] = [];
// One of each first, not counted: the file system cache then holds both programs' files.
await startOnce([BASELINE], /listening on (\S+)/, '/');
await startOnce([BIN, 'serve', '--memory', '--port', '0', '--log-level', 'warn', ...serveArgs], /serving Microsoft Graph on (\S+)\/v1\.0/, '/readyz');
console.log('run  baseline ms  enrollgraph ms  ratio');
for (let i = 0; i < runs; i++) {
  const b = await startOnce([BASELINE], /listening on (\S+)/, '/');
  const e = await startOnce([BIN, 'serve', '--memory', '--port', '0', '--log-level', 'warn', ...serveArgs], /serving Microsoft Graph on (\S+)\/v1\.0/, '/readyz');
  baseline.push(b);
  enrollgraph.push(e);
  ratios.push(e / b);
  console.log(`${String(i + 1).padStart(3)}  ${b.toFixed(0).padStart(11)}  ${e.toFixed(0).padStart(14)}  ${(e / b).toFixed(2).padStart(5)}`);
}
console.log(`\nmedian: baseline ${median(baseline).toFixed(0)} ms, enrollgraph serve --memory ${median(enrollgraph).toFixed(0)} ms to /readyz`);
console.log(`ratio (median of the ${runs} pairs): ${median(ratios).toFixed(2)}× (target: at most 4×)`);
