/**
 * PostgreSQL figures for `npm run bench` (called by run.ts after the SQLite scenarios, against the
 * same baseline): createToken and GET of one profile with one instance (`--database`), then with two
 * processes on one port (`--workers 2`) on the same database. PostgreSQL runs on this machine and
 * shares its CPUs with the servers and the load generator.
 *
 * Environment:
 *   BENCH_POSTGRES=0       skip these scenarios
 *   BENCH_PG_URL           an admin connection (default postgres://postgres@127.0.0.1:5432/postgres);
 *                          the bench creates a database of its own there and drops it afterwards
 *
 * Standalone (baseline measured here): node --import tsx bench/postgres.ts
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import {
  cleanup, measure, onCleanup, PROFILES, printTable, startBaseline, startEnrollgraph, summarize,
  type EnrollgraphServer, type Load, type Row,
} from './lib.js';

// Issue 12's floors.
export const PG_TARGETS = { createToken: 0.1, GET: 0.12 };

const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A database for this run, dropped at cleanup (also on Ctrl-C). */
export async function benchDatabase(): Promise<string> {
  const name = `enrollgraph_bench_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE "${name}"`);
  const drop = () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  onCleanup(drop, () => undefined);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

async function request(url: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, text: await res.text() };
}

/** Measures a fresh baseline (adding its row to the table) and returns its req/s. */
export type BaselineNow = () => Promise<number>;

async function scenarios(label: string, server: EnrollgraphServer, load: Load, baseline: BaselineNow, targets: boolean, rows: Row[]): Promise<void> {
  const token = await server.token();
  const created = await request(server.url, 'POST', PROFILES, token, { displayName: 'bench' });
  if (created.status !== 201) throw new Error(`${label}: creating the profile failed: ${created.status} ${created.text}`);
  const id = (JSON.parse(created.text) as { id: string }).id;
  const createToken = { method: 'POST', path: `${PROFILES}/${id}/createToken`, body: JSON.stringify({ tokenValidityInSeconds: 3600 }), expectStatus: 204 };
  const get = { method: 'GET', path: `${PROFILES}/${id}`, expectStatus: 200 };
  let baselineRps: number | undefined;
  for (const [name, shape] of [['createToken', createToken], ['GET', get]] as const) {
    // GET reads a profile with a token (so the answer carries its QR code), as the SQLite scenario does.
    if (name === 'GET') {
      const r = await request(server.url, 'POST', createToken.path, token, { tokenValidityInSeconds: 3600 });
      if (r.status !== 204) throw new Error(`${label}: createToken failed: ${r.status} ${r.text}`);
    }
    // A baseline right before each measurement with a target; the others share the last one.
    if (targets || baselineRps === undefined) baselineRps = await baseline();
    const m = await measure({
      name: `${label} ${name}`,
      url: server.url + shape.path,
      method: shape.method,
      headers: { Authorization: `Bearer ${token}`, ...('body' in shape ? { 'Content-Type': 'application/json' } : {}) },
      ...('body' in shape ? { body: shape.body } : {}),
      expectStatus: shape.expectStatus,
      server,
      ...load,
    });
    console.error(`bench: ${m.name} ${m.rps} req/s`);
    rows.push({ measurement: m, baselineRps, ...(targets ? { target: PG_TARGETS[name] } : {}) });
    if (m.serverCrash) break;
  }
}

/**
 * Measures the PostgreSQL scenarios, each against a baseline measured right before it (`baseline`). `serverArgs` are the bench's `serve`
 * arguments (e.g. the log level); `env` the servers' environment (throttling off).
 */
export async function benchPostgres(opts: {
  load: Load;
  baseline: BaselineNow;
  serverArgs: string[];
  env: Record<string, string>;
  /** The table: baselines and scenarios are appended in the order they run. */
  rows: Row[];
}): Promise<{ failures: string[] }> {
  const { rows } = opts;
  const failures: string[] = [];
  const url = await benchDatabase();
  for (const [label, extra, targets] of [
    ['pg', [], true],
    ['pg ×2 workers', ['--workers', '2'], false],
  ] as const) {
    const server = await startEnrollgraph([...opts.serverArgs, '--database', url, ...extra], { env: opts.env });
    try {
      await scenarios(label, server, opts.load, opts.baseline, targets, rows);
    } catch (err) {
      failures.push(`${label}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await server.stop();
      const crash = server.crashed();
      if (crash) failures.push(`${label}: enrollgraph ${crash}`);
    }
  }
  return { failures };
}

// Standalone: its own baseline, then the PostgreSQL scenarios.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const load: Load = { seconds: Number(process.env.BENCH_SECONDS ?? 8), warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 2), connections: 10, pipelining: 1 };
  (async () => {
    const baselineNow: BaselineNow = async () => {
      const server = await startBaseline();
      const b = await measure({ name: 'baseline', url: `${server.url}/`, expectStatus: 204, server, ...load });
      await server.stop();
      rows.push({ measurement: b });
      return b.rps;
    };
    const rows: Row[] = [];
    const { failures } = await benchPostgres({ load, baseline: baselineNow, serverArgs: ['--log-level', 'warn'], env: { ENROLLGRAPH_THROTTLING: 'off' }, rows });
    await cleanup();
    printTable(rows);
    for (const r of rows.map(summarize)) if (r.ratio !== null) console.log(`${r.name} ${r.ratio.toFixed(2)}× baseline${r.target !== null ? ` (target ≥ ${r.target.toFixed(2)}×): ${r.pass ? 'PASS' : 'FAIL'}` : ''}`);
    for (const f of failures) console.error(`bench: ERROR ${f}`);
    process.exit(failures.length ? 1 : 0);
  })().catch(async (err: unknown) => {
    console.error(err);
    await cleanup();
    process.exit(1);
  });
}
