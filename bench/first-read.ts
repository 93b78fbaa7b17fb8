/**
 * The first read of many profiles with tokens: every QR code is rendered then (none is cached yet).
 * Seeds N profiles with tokens in one tenant (`PUT /_admin/snapshot`), restarts the server (so no
 * image is in its memory either), then walks the list in pages of $top=1000 through
 * @odata.nextLink while another connection polls /healthz back to back. Prints /healthz latencies
 * of the idle server first (what the machine's load alone adds), then the list's time and /healthz
 * latencies during it, then the same walk again (images cached). With BENCH_CPU_PROF=1, also the
 * server main thread's longest busy stretches and what ran in them: what a /healthz call waited for.
 *
 *   npm run build && node --import tsx bench/first-read.ts
 *   BENCH_PROFILES=N …          (default 10,000)
 *   BENCH_STORE=postgres …      (a database of its own on BENCH_PG_URL, dropped afterwards)
 *   BENCH_CPU_PROF=1 …          (the server runs with --cpu-prof; prints where its main thread spent the time)
 *   BENCH_SERVER_ARGS="--qr-threads 2" …
 */
import { randomUUID } from 'node:crypto';
import { newestCpuProfile, printProfileSummary, PROFILES, readCpuProfile, startEnrollgraph, summarizeCpuProfile, tempDir, type CpuProfile } from './lib.js';
import { benchStore, profilesSnapshot, putSnapshot, runIfMain } from './snapshot.js';

const PAGE = 1000;
const IDLE_MS = 5_000;

interface Poll {
  latencies: number[];
  failures: number;
}

/** Polls `url` back to back (a short pause between calls) until stopped. */
function pollHealth(url: string): { stop(): Promise<Poll> } {
  const result: Poll = { latencies: [], failures: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(url);
        await res.text();
        if (res.status !== 200) result.failures++;
      } catch {
        result.failures++;
      }
      result.latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return result;
    },
  };
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
  const slow = s.filter((ms) => ms >= 100).length;
  return `max ${at(1).toFixed(1)} ms, p99.9 ${at(0.999).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, median ${at(0.5).toFixed(1)} ms, ${slow} of ${s.length} calls ≥ 100 ms`;
}

/** Walks the whole list; returns the time and the number of profiles with an image. */
async function walk(base: string, token: string): Promise<{ ms: number; rows: number; images: number }> {
  const t0 = performance.now();
  let next: string | undefined = `${base}${PROFILES}?$top=${PAGE}`;
  let rows = 0;
  let images = 0;
  while (next) {
    const res = await fetch(next, { headers: { Authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`GET ${next}: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as { value: { qrCodeImage?: { value?: string } | null }[]; '@odata.nextLink'?: string };
    rows += page.value.length;
    images += page.value.filter((p) => typeof p.qrCodeImage?.value === 'string' && p.qrCodeImage.value.length > 0).length;
    next = page['@odata.nextLink'];
  }
  return { ms: performance.now() - t0, rows, images };
}

/**
 * The main thread's longest busy stretches (no idle sample in between): what a /healthz call
 * waiting behind them waits for. For each, the functions of Enrollgraph and of its packages that
 * were on the stack longest.
 */
function printStalls(file: string, top = 8): void {
  const profile = readCpuProfile(file);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stretches: { ms: number; from: number; to: number; at: number }[] = [];
  let start = -1;
  let ms = 0;
  let at = 0;
  let clock = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    clock += (profile.timeDeltas[i] ?? 0) / 1000;
    const idle = byId.get(profile.samples[i]!)?.callFrame.functionName === '(idle)';
    if (idle) {
      if (start >= 0) stretches.push({ ms, from: start, to: i, at });
      start = -1;
      ms = 0;
    } else {
      if (start < 0) {
        start = i;
        at = clock;
      }
      ms += (profile.timeDeltas[i + 1] ?? 0) / 1000;
    }
  }
  stretches.sort((a, b) => b.ms - a.ms);
  const label = (f: CpuProfile['nodes'][number]['callFrame']) => {
    const where = /\/(src|node_modules)\/(.*)$/.exec(f.url);
    return where ? `${f.functionName || '(anonymous)'} ${where[1]}/${where[2]}:${f.lineNumber + 1}` : f.functionName || '(anonymous)';
  };
  console.log('  longest busy stretches of the main thread (ms after the profile began: length; longest on the stack | most self time):');
  for (const s of stretches.slice(0, top)) {
    const onStack = new Map<string, number>();
    const self = new Map<string, number>();
    for (let i = s.from; i < s.to; i++) {
      const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      const leaf = label(byId.get(profile.samples[i]!)!.callFrame);
      self.set(leaf, (self.get(leaf) ?? 0) + dt);
      const seen = new Set<string>();
      for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
        const f = byId.get(id)!.callFrame;
        if (!/\/(src|node_modules)\//.test(f.url) && !f.functionName.startsWith('(garbage')) continue;
        const l = label(f);
        if (seen.has(l)) continue;
        seen.add(l);
        onStack.set(l, (onStack.get(l) ?? 0) + dt);
      }
    }
    const top3 = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([l, t]) => `${l} ${t.toFixed(0)} ms`).join('; ');
    console.log(`    at ${(s.at / 1000).toFixed(1)} s: ${s.ms.toFixed(0)} ms: ${top3(onStack)} | ${top3(self)}`);
  }
}

async function main(): Promise<void> {
  const count = Number(process.env.BENCH_PROFILES ?? 10_000);
  const adminKey = `bench-${randomUUID()}`;
  const store = await benchStore();
  const extra = (process.env.BENCH_SERVER_ARGS ?? '').split(/\s+/).filter(Boolean);
  const args = ['--admin-key', adminKey, '--throttling', 'off', '--log-level', 'warn', ...store.args, ...extra];
  const profDir = process.env.BENCH_CPU_PROF === '1' ? tempDir('enrollgraph-first-read-prof-') : undefined;
  console.log(`first read of ${count} profiles with tokens, $top=${PAGE}, ${process.env.BENCH_STORE === 'postgres' ? 'PostgreSQL' : 'SQLite'}, node ${process.version}${extra.length ? `, ${extra.join(' ')}` : ''}`);

  let server = await startEnrollgraph(args, { dataDir: store.dataDir });
  const { profiles, tenantIds } = profilesSnapshot(count, 1);
  await putSnapshot(server.url, adminKey, { profiles });
  await server.stop();
  server = await startEnrollgraph(args, { dataDir: store.dataDir, ...(profDir ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir] } : {}) });
  const token = await server.token({ tenantId: tenantIds[0]! });
  await new Promise((r) => setTimeout(r, 500));
  // The same polling with nothing else to do: what this machine's load alone adds to /healthz.
  const idle = pollHealth(`${server.url}/healthz`);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  console.log(`idle server: /healthz ${stats((await idle.stop()).latencies)}`);

  for (const label of ['first read (renders every QR code)', 'second read (cached)']) {
    const poll = pollHealth(`${server.url}/healthz`);
    const list = await walk(server.url, token);
    const health = await poll.stop();
    if (list.rows !== count || list.images !== count) throw new Error(`${label}: ${list.rows} rows, ${list.images} with an image; expected ${count}`);
    console.log(`${label}: ${list.rows} profiles in ${(list.ms / 1000).toFixed(2)} s; /healthz ${stats(health.latencies)}${health.failures ? `, ${health.failures} failed` : ''}`);
  }
  await server.stop();
  if (profDir) {
    const file = newestCpuProfile(profDir);
    if (file) {
      printProfileSummary('server main thread', summarizeCpuProfile(file, 15));
      printStalls(file);
    }
  }
}

runIfMain(import.meta.url, main);
