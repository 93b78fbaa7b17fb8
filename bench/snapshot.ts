/**
 * Snapshot export at scale: imports N profiles with tokens (`PUT /_admin/snapshot`), restarts the
 * server on the same store (so the export starts from a fresh process, not from the import's heap),
 * then `GET /_admin/snapshot` twice while sampling the server's resident memory, then PUTs the export
 * back. Prints each import's size, time and peak RSS, and each export's time, size and RSS growth
 * (peak during the export − before it).
 *
 *   npm run build && node --import tsx bench/snapshot.ts
 *   BENCH_PROFILES=20000 …          (default 100,000)
 *   BENCH_STORE=postgres …          (a database of its own on BENCH_PG_URL, dropped afterwards)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { cleanup, startEnrollgraph, tempDir, type EnrollgraphServer } from './lib.js';
import { benchDatabase } from './postgres.js';

/** The store flags of a bench server: a fresh data dir, or a fresh PostgreSQL database with BENCH_STORE=postgres. */
export async function benchStore(): Promise<{ args: string[]; dataDir: string }> {
  const dataDir = tempDir('enrollgraph-snapshot-');
  return process.env.BENCH_STORE === 'postgres' ? { args: ['--database', await benchDatabase()], dataDir } : { args: [], dataDir };
}

/** A snapshot document of `count` profiles with tokens, spread over `tenants` tenants. */
export function profilesSnapshot(count: number, tenants = 10): { profiles: Record<string, unknown>[]; tenantIds: string[] } {
  const tenantIds = Array.from({ length: tenants }, () => randomUUID());
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const expires = new Date(Date.now() + 365 * 86400_000).toISOString();
  const profiles = Array.from({ length: count }, (_, i) => {
    let token = '';
    for (const b of randomBytes(20)) token += letters[b % 26];
    return {
      tenantId: tenantIds[i % tenants]!, id: randomUUID(), displayName: `Kiosk ${i}`, description: `Bench profile number ${i}`,
      tokenValue: token, tokenExpirationDateTime: expires,
    };
  });
  return { profiles, tenantIds };
}

/** Resident memory of a process, in MB (Linux /proc); NaN once it has exited. */
export function rssMb(pid: number): number {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return Number.NaN;
  }
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Samples a process's RSS every few ms until stopped; returns the highest value seen. */
export function rssPeak(pid: number): { stop(): number } {
  let peak = 0;
  const sample = () => {
    const now = rssMb(pid);
    if (now > peak) peak = now;
  };
  sample();
  const timer = setInterval(sample, 5);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

export async function putSnapshot(url: string, adminKey: string, doc: unknown): Promise<void> {
  const res = await fetch(`${url}/_admin/snapshot`, {
    method: 'PUT', headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify(doc),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`PUT /_admin/snapshot: ${res.status} ${text.slice(0, 500)}`);
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const count = Number(process.env.BENCH_PROFILES ?? 100_000);
  const adminKey = `bench-${randomUUID()}`;
  const store = await benchStore();
  const args = ['--admin-key', adminKey, '--throttling', 'off', '--log-level', 'warn', ...store.args];
  const start = () => startEnrollgraph(args, { dataDir: store.dataDir });
  console.log(`snapshot export of ${count} profiles with tokens, ${process.env.BENCH_STORE === 'postgres' ? 'PostgreSQL' : 'SQLite'}, node ${process.version}`);

  let server: EnrollgraphServer = await start();
  /** PUT /_admin/snapshot, with the server's RSS before and at its peak. */
  const importing = async (label: string, doc: unknown) => {
    const before = rssMb(server.proc.pid!);
    const peak = rssPeak(server.proc.pid!);
    const started = performance.now();
    await putSnapshot(server.url, adminKey, doc);
    const ms = performance.now() - started;
    console.log(`${label}: ${(JSON.stringify(doc).length / 1e6).toFixed(1)} MB body in ${(ms / 1000).toFixed(1)} s; RSS ${before.toFixed(0)} → peak ${peak.stop().toFixed(0)} MB`);
  };

  await settle(500);
  await importing('import', { profiles: profilesSnapshot(count).profiles });
  await server.stop();

  server = await start();
  await settle(1000);
  let exported: unknown;
  for (const round of [1, 2]) {
    const before = rssMb(server.proc.pid!);
    const peak = rssPeak(server.proc.pid!);
    const t0 = performance.now();
    const res = await fetch(`${server.url}/_admin/snapshot`, { headers: { Authorization: `Bearer ${adminKey}` } });
    if (res.status !== 200) throw new Error(`GET /_admin/snapshot: ${res.status} ${await res.text()}`);
    const text = await res.text();
    const ms = performance.now() - t0;
    const max = peak.stop();
    const doc = JSON.parse(text) as { profiles: unknown[] };
    if (doc.profiles.length !== count) throw new Error(`the export holds ${doc.profiles.length} profiles, not ${count}`);
    exported = doc;
    console.log(
      `export ${round}: ${(text.length / 1e6).toFixed(1)} MB in ${(ms / 1000).toFixed(2)} s; RSS ${before.toFixed(0)} → peak ${max.toFixed(0)} MB ` +
        `(growth ${(max - before).toFixed(0)} MB)`,
    );
    await settle(500);
  }
  // The export is a snapshot PUT takes back (within its body limit).
  await importing('import of the export', exported);
  await server.stop();
}

/** Runs `main` when `moduleUrl` is the script node was started with, then cleans up. */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  main()
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => cleanup());
}

runIfMain(import.meta.url, main);
