/**
 * HTTP benchmark helpers: child-process servers (the node:http baseline and the built Enrollgraph),
 * an autocannon measurement with sub-millisecond latency percentiles, a results table, CPU-profile
 * summaries, and a cleanup registry that kills the children and removes temp dirs on every way out.
 *
 * Used by bench/run.ts; a new scenario only needs a URL, a request shape and the status it expects.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
// @ts-ignore -- autocannon ships no type declarations (and there is no @types package here); typed below.
import autocannonUntyped from 'autocannon';
import { exportJWK, generateKeyPair } from 'jose';
import { v1Issuer } from '../src/identity/claims.js';
import { KeyRing } from '../src/identity/keys.js';
import { mintAccessToken, type MintOptions } from '../src/identity/mint.js';
import { openStore } from '../src/server.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { SystemClock } from '../src/time.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'enrollgraph.js');
export const BASELINE_SERVER = join(ROOT, 'bench', 'baseline-server.mjs');
export const PROFILES = '/beta/deviceManagement/androidForWorkEnrollmentProfiles';

// ---------------------------------------------------------------------------------------------
// autocannon (the subset used here)

interface AutocannonOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  pipelining: number;
  duration: number;
  timeout?: number;
}

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  resets: number;
  statusCodeStats: Record<string, { count: number }>;
  requests: { total: number; average: number; sent: number };
  latency: { p50: number; p99: number };
}

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void): this;
  stop(): void;
}

const autocannon = autocannonUntyped as (opts: AutocannonOptions) => AutocannonInstance;

// ---------------------------------------------------------------------------------------------
// Cleanup: every child and temp dir is registered here; cleanup() runs on success, on error and on
// SIGINT/SIGTERM, and a synchronous last resort (SIGKILL + rmSync) runs at process exit.

type CleanupFn = () => Promise<void> | void;
const cleanups: { run: CleanupFn; sync: () => void }[] = [];
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  process.once('exit', () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        c.sync();
      } catch {
        // best effort at exit
      }
    }
  });
}

/** Registers a cleanup step (run in reverse order of registration); `sync` is the last resort at exit. */
export function onCleanup(run: CleanupFn, sync: () => void): void {
  installHandlers();
  cleanups.push({ run, sync });
}

/** Runs every registered cleanup step once (newest first); never throws. */
export async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c.run();
    } catch (err) {
      console.error(`bench: cleanup step failed: ${err instanceof Error ? err.message : String(err)}`);
      try {
        c.sync();
      } catch {
        // nothing more to do
      }
    }
  }
}

/** A temp directory removed at cleanup. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  onCleanup(remove, remove);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Child-process servers

export interface ChildServer {
  name: string;
  /** Base URL (scheme, host, port). */
  url: string;
  proc: ChildProcess;
  /** The last ~64 KB of the child's stdout and stderr. */
  output(): string;
  /** Why the child exited on its own ("exit code 1", "signal SIGSEGV"), or undefined while it runs / was stopped by us. */
  crashed(): string | undefined;
  /** CPU time the child has used so far (user + system, all threads), in ms; undefined where /proc is unavailable. */
  cpuMs(): number | undefined;
  /** SIGTERM (graceful: lets --cpu-prof write its profile), SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const OUTPUT_LIMIT = 64 * 1024;

interface SpawnOptions {
  name: string;
  args: string[];
  /** Matched against stderr+stdout; group 1 is the base URL. */
  ready: RegExp;
  nodeArgs?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}

async function spawnServer(opts: SpawnOptions): Promise<ChildServer> {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...opts.args], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > OUTPUT_LIMIT * 2) out = out.slice(-OUTPUT_LIMIT);
  };
  proc.stdout!.on('data', append);
  proc.stderr!.on('data', append);

  let stopping = false;
  let crash: string | undefined;
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      if (!stopping) crash = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
  });
  const isRunning = () => proc.exitCode === null && proc.signalCode === null;

  const stop = async (graceMs = 5_000) => {
    stopping = true;
    if (!isRunning()) return exited;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => isRunning() && proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  onCleanup(
    () => stop(),
    () => {
      if (isRunning()) proc.kill('SIGKILL');
    },
  );

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${opts.name} did not start within ${opts.timeoutMs ?? 20_000} ms:\n${out}`)), opts.timeoutMs ?? 20_000);
    const check = () => {
      const m = opts.ready.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', check);
        proc.stderr!.off('data', check);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${opts.name} exited before listening (${crash ?? 'stopped'}):\n${out}`));
    });
  });

  return {
    name: opts.name,
    url,
    proc,
    output: () => out,
    crashed: () => crash,
    cpuMs: () => (proc.pid === undefined ? undefined : procCpuMs(proc.pid)),
    stop,
  };
}

/** utime + stime of a Linux process from /proc, in ms (clock ticks assumed 100/s, as on every mainstream kernel). */
function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The baseline: a bare node:http server answering 204 to everything (bench/baseline-server.mjs), or
 * 200 with the JSON in `bodyFile` (after `workUs` µs of busy CPU per request, if given).
 */
export function startBaseline(opts: { nodeArgs?: string[]; bodyFile?: string; workUs?: number } = {}): Promise<ChildServer> {
  return spawnServer({
    name: 'baseline',
    args: [BASELINE_SERVER, ...(opts.bodyFile ? ['0', opts.bodyFile, String(opts.workUs ?? 0)] : [])],
    ready: /listening on (http:\/\/\S+)/,
    ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
  });
}

export interface EnrollgraphServer extends ChildServer {
  dataDir: string;
  /** Mints a token on this server's store (delegated ReadWrite.All for a fresh tenant unless told otherwise). */
  token(opts?: Partial<MintOptions>): Promise<string>;
}

export interface EnrollgraphOptions {
  /** Node flags for the server process, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  nodeArgs?: string[];
  /** Use this data dir (kept) instead of a fresh temp dir (removed at cleanup). */
  dataDir?: string;
  env?: Record<string, string>;
}

/**
 * Starts the built server (`bin/enrollgraph.js serve --port 0 --data <temp dir>`, plus `args`) and
 * waits until it listens. `npm run build` must have run.
 *
 * Tokens are minted on the server's store (the SQLite file is shared; with `--database URL` in `args`,
 * the PostgreSQL database, and no data dir is given). With `--memory` in `args` there
 * is no shared store, so the server is given a trusted issuer instead (`--trusted-issuers`: a JWKS
 * file with a key made here) and tokens are signed with that key for one fixed tenant.
 */
export async function startEnrollgraph(args: string[] = [], opts: EnrollgraphOptions = {}): Promise<EnrollgraphServer> {
  const dataDir = opts.dataDir ?? tempDir('enrollgraph-bench-');
  const inMemory = args.includes('--memory');
  const databaseUrl = args.includes('--database') ? args[args.indexOf('--database') + 1] : undefined;
  let ownIssuer: { tenantId: string; keys: KeyRing } | undefined;
  const storeArgs: string[] = [];
  if (inMemory) {
    const tenantId = randomUUID();
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    const kid = `bench${randomUUID().replace(/-/g, '')}`;
    const jwks = join(dataDir, 'bench-jwks.json');
    const issuers = join(dataDir, 'bench-issuers.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] }));
    writeFileSync(issuers, JSON.stringify([{ issuer: v1Issuer(tenantId), jwks }]));
    storeArgs.push('--trusted-issuers', issuers);
    // mintAccessToken only reads the signing key of the ring.
    ownIssuer = { tenantId, keys: { signingKey: { kid, privateKey } } as unknown as KeyRing };
  } else if (databaseUrl === undefined) {
    storeArgs.push('--data', dataDir);
  }
  const server = await spawnServer({
    name: 'enrollgraph',
    args: [BIN, 'serve', '--port', '0', ...storeArgs, ...args],
    ready: /serving Microsoft Graph on (http\S+)\/v1\.0/,
    ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  return {
    ...server,
    dataDir,
    async token(o = {}) {
      if (ownIssuer) {
        if (o.tenantId !== undefined && o.tenantId !== ownIssuer.tenantId) throw new Error('with --memory, tokens are for one fixed tenant');
        return mintAccessToken(ownIssuer.keys, { ...o, tenantId: ownIssuer.tenantId });
      }
      // The server has created the signing key by now; the store is shared through the SQLite file (WAL).
      const store = databaseUrl !== undefined ? await openStore({ kind: 'postgres', url: databaseUrl }) : openSqliteStore(dataDir);
      try {
        const keys = await KeyRing.open(store, new SystemClock());
        return await mintAccessToken(keys, { tenantId: o.tenantId ?? randomUUID(), ...o });
      } finally {
        await store.close();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement

export interface Load {
  connections: number;
  pipelining: number;
  /** Measured duration, in seconds. */
  seconds: number;
  /** Unmeasured warm-up run before it, in seconds (0: none). */
  warmupSeconds: number;
}

export interface MeasureOptions extends Load {
  name: string;
  /** Full URL of the request. */
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The status every response must have (anything else is counted as `unexpected`). */
  expectStatus: number;
  /** The server under test: its CPU time is sampled and a crash is reported. */
  server?: ChildServer;
}

export interface Measurement {
  name: string;
  /** Completed requests per second over the measured run. */
  rps: number;
  /** Latency percentiles over every response of the measured run, in ms. */
  p50: number;
  p99: number;
  /** Responses in the measured run. */
  requests: number;
  durationSeconds: number;
  /** Responses with a status outside 2xx (warm-up included). */
  non2xx: number;
  /** Responses with a status other than `expectStatus` (warm-up included). */
  unexpected: number;
  /** Connection errors and timeouts (warm-up included). */
  errors: number;
  timeouts: number;
  /** Status code → count in the measured run. */
  statusCodes: Record<string, number>;
  /** CPU use during the measured run, in % of one core: the server child and this (load-generating) process. */
  serverCpuPercent: number | undefined;
  clientCpuPercent: number;
  /**
   * Server CPU time per response, in µs: steadier than req/s on a busy machine, and with a CPU-bound
   * server the ratio of two of these approximates the inverse ratio of their req/s.
   */
  serverCpuUsPerRequest: number | undefined;
  /** Set when the server was found dead after the run. */
  serverCrash: string | undefined;
}

/** Float latencies, grown as needed. */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  add(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

function statusCounts(r: AutocannonResult): Record<string, number> {
  return Object.fromEntries(Object.entries(r.statusCodeStats).map(([code, s]) => [code, s.count]));
}

function unexpectedCount(r: AutocannonResult, expect: number): number {
  return Object.entries(r.statusCodeStats).reduce((n, [code, s]) => (Number(code) === expect ? n : n + s.count), 0);
}

async function cannon(opts: MeasureOptions, seconds: number, samples?: Samples): Promise<AutocannonResult> {
  const instance = autocannon({
    url: opts.url,
    method: opts.method ?? 'GET',
    headers: opts.headers ?? {},
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    connections: opts.connections,
    pipelining: opts.pipelining,
    duration: seconds,
    timeout: 10,
  });
  // autocannon's own histogram has 1 ms resolution; the response event carries the hrtime duration.
  if (samples) instance.on('response', (_client, _status, _bytes, ms) => samples.add(ms));
  return instance;
}

/** Warms up, then measures one request shape with autocannon from this process. */
export async function measure(opts: MeasureOptions): Promise<Measurement> {
  let warm: AutocannonResult | undefined;
  if (opts.warmupSeconds > 0) warm = await cannon(opts, opts.warmupSeconds);

  const samples = new Samples();
  const serverCpu0 = opts.server?.cpuMs();
  const clientCpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await cannon(opts, opts.seconds, samples);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const clientCpu = process.cpuUsage(clientCpu0);
  const serverCpu1 = opts.server?.cpuMs();

  const sorted = samples.sorted();
  const round2 = (x: number) => Math.round(x * 100) / 100;
  return {
    name: opts.name,
    rps: r.duration > 0 ? Math.round(r.requests.total / r.duration) : 0,
    p50: round2(percentile(sorted, 50)),
    p99: round2(percentile(sorted, 99)),
    requests: r.requests.total,
    durationSeconds: r.duration,
    non2xx: r.non2xx + (warm?.non2xx ?? 0),
    unexpected: unexpectedCount(r, opts.expectStatus) + (warm ? unexpectedCount(warm, opts.expectStatus) : 0),
    errors: r.errors + (warm?.errors ?? 0),
    timeouts: r.timeouts + (warm?.timeouts ?? 0),
    statusCodes: statusCounts(r),
    serverCpuPercent:
      serverCpu0 !== undefined && serverCpu1 !== undefined ? Math.round(((serverCpu1 - serverCpu0) / wallMs) * 100) : undefined,
    serverCpuUsPerRequest:
      serverCpu0 !== undefined && serverCpu1 !== undefined && r.requests.total > 0
        ? Math.round(((serverCpu1 - serverCpu0) * 1000) / r.requests.total)
        : undefined,
    clientCpuPercent: Math.round(((clientCpu.user + clientCpu.system) / 1000 / wallMs) * 100),
    serverCrash: opts.server?.crashed(),
  };
}

/** True when the run saw no failure: no non-2xx or unexpected status, no connection error or timeout, no crash. */
export function isClean(m: Measurement): boolean {
  return m.non2xx === 0 && m.unexpected === 0 && m.errors === 0 && m.timeouts === 0 && m.serverCrash === undefined && m.requests > 0;
}

// ---------------------------------------------------------------------------------------------
// Reporting

export interface Row {
  measurement: Measurement;
  /** The baseline's req/s; the row's ratio is rps / baselineRps. Omit for the baseline itself. */
  baselineRps?: number;
  /** Minimum ratio to the baseline's req/s. */
  target?: number;
  /** Most p99 latency allowed, in ms. */
  p99LimitMs?: number;
  /** A row shown for comparison only: neither the baseline nor a scenario with a target. */
  reference?: boolean;
}

export interface RowSummary {
  name: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** rps / baseline rps; null for the baseline itself. */
  ratio: number | null;
  target: number | null;
  p99LimitMs: number | null;
  /** Every target of the row met (ratio and p99); null when it has none. */
  pass: boolean | null;
}

export function summarize(row: Row): RowSummary {
  const m = row.measurement;
  const ratio = row.baselineRps ? Math.round((m.rps / row.baselineRps) * 1000) / 1000 : null;
  const target = row.target ?? null;
  const p99LimitMs = row.p99LimitMs ?? null;
  const checks: boolean[] = [];
  if (target !== null && ratio !== null) checks.push(ratio >= target);
  if (p99LimitMs !== null) checks.push(m.p99 <= p99LimitMs);
  return {
    name: m.name,
    rps: m.rps,
    p50Ms: m.p50,
    p99Ms: m.p99,
    ratio,
    target,
    p99LimitMs,
    pass: checks.length === 0 ? null : checks.every(Boolean),
  };
}

/** Prints the results table on stdout (and returns it). */
export function printTable(rows: Row[]): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'vs baseline', 'target', 'result', 'non-2xx', 'srv CPU', 'srv µs/req', 'bench CPU'];
  const body = rows.map((row) => {
    const s = summarize(row);
    const m = row.measurement;
    const failed = !isClean(m);
    return [
      s.name,
      s.rps.toLocaleString('en-US'),
      Number.isFinite(s.p50Ms) ? s.p50Ms.toFixed(2) : '-',
      Number.isFinite(s.p99Ms) ? s.p99Ms.toFixed(2) : '-',
      s.ratio === null ? (row.p99LimitMs === undefined && !row.reference ? 'baseline' : '') : `${s.ratio.toFixed(2)}× baseline`,
      [s.target === null ? '' : `≥ ${s.target.toFixed(2)}×`, s.p99LimitMs === null ? '' : `p99 ≤ ${s.p99LimitMs} ms`].filter(Boolean).join(', '),
      failed ? 'ERROR' : s.pass === null ? '' : s.pass ? 'PASS' : 'FAIL',
      String(m.non2xx + (m.unexpected > m.non2xx ? m.unexpected - m.non2xx : 0)),
      m.serverCpuPercent === undefined ? '?' : `${m.serverCpuPercent}%`,
      m.serverCpuUsPerRequest === undefined ? '?' : String(m.serverCpuUsPerRequest),
      `${m.clientCpuPercent}%`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const text = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
  console.log(text);
  return text;
}

export function machineInfo(): { node: string; platform: string; cpus: number; cpuModel: string } {
  const c = cpus();
  return { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: c.length, cpuModel: c[0]?.model.trim() ?? 'unknown' };
}

// ---------------------------------------------------------------------------------------------
// CPU profiles (`node --cpu-prof` output)

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

const sourceMaps = new Map<string, SourceMap | undefined>();

/**
 * A frame of the bundled server (dist/*.js, scripts/build-server.mjs) at its place in the sources,
 * src/… or node_modules/…, through the chunk's source map; other frames as they are.
 */
export function originalFrame(f: CallFrame): CallFrame {
  if (!f.url.startsWith('file:') || !f.url.endsWith('.js')) return f;
  const file = fileURLToPath(f.url);
  if (!sourceMaps.has(file)) {
    sourceMaps.set(file, existsSync(`${file}.map`) ? new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))) : undefined);
  }
  const entry = sourceMaps.get(file)?.findEntry(f.lineNumber, f.columnNumber);
  if (!entry || !('originalSource' in entry)) return f;
  const url = entry.originalSource.startsWith('file:') ? entry.originalSource : pathToFileURL(join(dirname(file), entry.originalSource)).href;
  return { functionName: f.functionName, url, lineNumber: entry.originalLine, columnNumber: entry.originalColumn };
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A `.cpuprofile` with every frame at its place in the sources (`originalFrame`). */
export function readCpuProfile(file: string): CpuProfile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  for (const n of profile.nodes) n.callFrame = originalFrame(n.callFrame);
  return profile;
}

export interface ProfileEntry {
  label: string;
  ms: number;
  /** Share of the profile's busy (non-idle) time, in %. */
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  /** Self time by function. */
  functions: ProfileEntry[];
  /** Self time by where the code lives: a package under node_modules, node core, our src/ file, or a VM state. */
  groups: ProfileEntry[];
  /** Total (inclusive) time of Enrollgraph's own functions (src/), callees included. */
  inclusive: ProfileEntry[];
}

/** Newest `.cpuprofile` file in a directory (undefined if none). */
export function newestCpuProfile(dir: string): string | undefined {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  } catch {
    return undefined;
  }
}

function shortUrl(url: string): string {
  if (url === '') return '';
  if (url.startsWith('node:')) return url;
  let path = url;
  try {
    path = fileURLToPath(url);
  } catch {
    return url;
  }
  const rel = relative(ROOT, path);
  return rel.startsWith('..') ? basename(path) : rel.split(sep).join('/');
}

function groupOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node:${parts[0] === 'internal' ? `internal/${parts[1] ?? ''}` : parts[0]}`.replace(/\.js$/, '');
  }
  const short = shortUrl(url);
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(short);
  if (nm) return nm[1]!;
  return short;
}

/** Self time per function and per code location of a `.cpuprofile`. */
export function summarizeCpuProfile(file: string, top = 20): ProfileSummary {
  const profile = readCpuProfile(file);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const labelOf = (n: CpuProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const where = shortUrl(url);
    return `${functionName || '(anonymous)'}${where ? ` ${where}:${lineNumber + 1}` : ''}`;
  };
  const ours = (n: CpuProfileNode) => shortUrl(n.callFrame.url).startsWith('src/');
  const inclusive = new Map<string, number>();
  for (const [leaf, ms] of self) {
    const seen = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id);
      if (!n || !ours(n)) continue;
      const label = labelOf(n);
      if (seen.has(label)) continue; // recursion: count once
      seen.add(label);
      inclusive.set(label, (inclusive.get(label) ?? 0) + ms);
    }
  }
  const fns = new Map<string, number>();
  const groups = new Map<string, number>();
  let idle = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url } = n.callFrame;
    if (functionName === '(idle)') {
      idle += ms;
      continue;
    }
    const label = labelOf(n);
    fns.set(label, (fns.get(label) ?? 0) + ms);
    const g = groupOf(url, functionName);
    groups.set(g, (groups.get(g) ?? 0) + ms);
  }
  const busy = total - idle;
  const entries = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([label, ms]) => ({ label, ms: Math.round(ms), percent: Math.round((ms / busy) * 1000) / 10 }));
  return {
    totalMs: Math.round(total),
    idleMs: Math.round(idle),
    busyMs: Math.round(busy),
    functions: entries(fns, top),
    groups: entries(groups, top),
    inclusive: entries(inclusive, top),
  };
}

export function printProfileSummary(title: string, s: ProfileSummary): void {
  console.log(`\n${title}: ${s.busyMs} ms busy, ${s.idleMs} ms idle (${Math.round((s.idleMs / Math.max(1, s.totalMs)) * 100)}% idle)`);
  console.log('  self time by location:');
  for (const e of s.groups) console.log(`    ${e.percent.toFixed(1).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.label}`);
  console.log('  self time by function:');
  for (const e of s.functions) console.log(`    ${e.percent.toFixed(1).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.label}`);
  console.log('  total time (callees included) of Enrollgraph functions:');
  for (const e of s.inclusive) console.log(`    ${e.percent.toFixed(1).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.label}`);
}

/** For messages: a path under the repo as a relative path. */
export function repoPath(path: string): string {
  return relative(ROOT, path).split(sep).join('/') || '.';
}
