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
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'enrollgraph.js');
const BASELINE = join(ROOT, 'bench', 'baseline-server.mjs');

/**
 * The CPU time (user + system, all threads) a process has used so far, in ms, from Linux's
 * /proc/PID/stat (10 ms ticks); undefined elsewhere. Less sensitive than wall time to a machine
 * that other work keeps busy.
 */
function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}

/** Milliseconds from spawn to the first HTTP answer at `path`, and the CPU the server used until then. */
async function startOnce(args: string[], urlPattern: RegExp, path: string): Promise<{ wall: number; cpu: number | undefined }> {
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
    return { wall: performance.now() - t0, cpu: cpuMs(child.pid!) };
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
const cpu: { baseline: number[]; enrollgraph: number[] } = { baseline: [], enrollgraph: [] };
const serve = [BIN, 'serve', '--memory', '--port', '0', '--log-level', 'warn', ...serveArgs];
// One of each first, not counted: the file system cache then holds both programs' files.
await startOnce([BASELINE], /listening on (\S+)/, '/');
await startOnce(serve, /serving Microsoft Graph on (\S+)\/v1\.0/, '/readyz');
console.log('run  baseline ms  enrollgraph ms  ratio   CPU ms: baseline  enrollgraph');
for (let i = 0; i < runs; i++) {
  const b = await startOnce([BASELINE], /listening on (\S+)/, '/');
  const e = await startOnce(serve, /serving Microsoft Graph on (\S+)\/v1\.0/, '/readyz');
  baseline.push(b.wall);
  enrollgraph.push(e.wall);
  ratios.push(e.wall / b.wall);
  if (b.cpu !== undefined && e.cpu !== undefined) {
    cpu.baseline.push(b.cpu);
    cpu.enrollgraph.push(e.cpu);
  }
  const cpuCols = b.cpu !== undefined && e.cpu !== undefined ? `${String(b.cpu).padStart(16)}  ${String(e.cpu).padStart(11)}` : '';
  console.log(`${String(i + 1).padStart(3)}  ${b.wall.toFixed(0).padStart(11)}  ${e.wall.toFixed(0).padStart(14)}  ${(e.wall / b.wall).toFixed(2).padStart(5)}  ${cpuCols}`);
}
console.log(`\nmedian: baseline ${median(baseline).toFixed(0)} ms, enrollgraph serve --memory ${median(enrollgraph).toFixed(0)} ms to /readyz`);
if (cpu.baseline.length) console.log(`median CPU until the first answer: baseline ${median(cpu.baseline).toFixed(0)} ms, enrollgraph ${median(cpu.enrollgraph).toFixed(0)} ms (all threads)`);
console.log(`ratio (median of the ${runs} pairs): ${median(ratios).toFixed(2)}× (target: at most 4×)`);
