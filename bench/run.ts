/**
 * HTTP throughput of Enrollgraph relative to a bare node:http server on the same machine.
 *
 *   npm run bench                                        (build, then ~1 min)
 *   BENCH_SECONDS=2 BENCH_WARMUP_SECONDS=0.5 npm run bench   (quick check)
 *
 * One run: the baseline (node:http, 204 to everything) is measured, then Enrollgraph is started on
 * SQLite in a temp data dir (auth on), one profile is created through the API, and each scenario is
 * measured against it. Load comes from autocannon in this process; the servers are child processes.
 * Each scenario with a target is compared with a baseline measured right before it (the first one
 * with the opening baseline): the machine's speed drifts by 10–20 % within a minute, and a ratio of
 * two measurements taken minutes apart would carry that drift.
 * Prints a table (req/s, p50/p99 latency, ratio to the baseline's req/s, target PASS/FAIL), then each
 * target's verdict with, for a throughput target, about how much server CPU a request it allows at the
 * adjacent baseline, and writes .bench/results.json.
 *
 * Exit code: 0 whether targets pass or fail; 1 if any response had an unexpected or non-2xx status,
 * a connection failed or timed out, a server crashed, or the bench itself failed.
 *
 * Environment:
 *   BENCH_SECONDS         measured seconds per scenario (default 8)
 *   BENCH_WARMUP_SECONDS  unmeasured warm-up before each (default 2; 0 = none)
 *   BENCH_CONNECTIONS     concurrent connections (default 10)
 *   BENCH_HIGH_CONNECTIONS  the SQLite scenarios again with this many connections, for their p99
 *                         latency (default 32; target p99 ≤ 10 ms)
 *                         (and, for reference, a bare node:http server answering with the GET's body,
 *                         then the same at the usual concurrency after 50 µs of busy CPU per request)
 *   BENCH_PIPELINING      requests in flight per connection (default 1)
 *   BENCH_SCENARIOS       comma-separated subset of the Enrollgraph scenarios (default: all)
 *   BENCH_SERVER_ARGS     arguments for `enrollgraph serve` (default "--log-level warn"; e.g. add
 *                         "--memory" to compare with in-memory SQLite, or "--qr-threads 0")
 *   BENCH_POSTGRES=0      skip the PostgreSQL scenarios (bench/postgres.ts: createToken and GET with one
 *                         instance and with --workers 2, on a database it creates; BENCH_PG_URL)
 *   BENCH_CPU_PROF=1      run the Enrollgraph server under --cpu-prof (profile in .bench/cpu-profiles/)
 *                         and print where its CPU time went
 *
 * Graph throttling (Intune's service limits: 100 writes per app per 20 s, …) would answer a load test
 * with 429 after a moment, so the server runs with throttling off (ENROLLGRAPH_THROTTLING=off; a
 * value already set in the environment wins): the bench measures what the server can serve.
 *
 *   BENCH_BASELINE_RECHECK=0  skip measuring the baseline a second time at the end (a check that the
 *                         machine's speed did not change during the run; on by default)
 *
 * The ratios are only meaningful on an otherwise idle machine: the load generator shares the CPUs
 * with the server, and anything else running skews them. The run prints the load average it started
 * with and warns when the second baseline run differs from the first by more than 10%.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  cleanup, isClean, machineInfo, measure, newestCpuProfile, printProfileSummary, printTable, PROFILES, repoPath, ROOT,
  startBaseline, startEnrollgraph, summarize, summarizeCpuProfile,
  type Load, type Measurement, type ProfileSummary, type Row,
} from './lib.js';
import { benchPostgres } from './postgres.js';

// ---------------------------------------------------------------------------------------------
// Configuration

function envNumber(name: string, fallback: number, min: number, integer: boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got '${raw}'`);
  }
  return n;
}

interface Context {
  /** Enrollgraph's base URL. */
  url: string;
  /** A delegated ReadWrite.All token of the profile's tenant. */
  token: string;
  profileId: string;
}

interface RequestShape {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  expectStatus: number;
}

/** An Enrollgraph scenario: one request shape, repeated; `target` is the minimum ratio to the baseline's req/s. */
interface Scenario {
  name: string;
  target: number;
  /** Brings the profile into the state the scenario measures (runs before the probe request). */
  setup?(ctx: Context): Promise<void>;
  request(ctx: Context): RequestShape;
}

/** Gives the profile a token (and so a QR code), whatever ran before. */
async function ensureToken(ctx: Context): Promise<void> {
  const res = await once(ctx.url, {
    method: 'POST',
    path: `${PROFILES}/${ctx.profileId}/createToken`,
    headers: { Authorization: `Bearer ${ctx.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ tokenValidityInSeconds: 3600 }),
    expectStatus: 204,
  });
  if (res.status !== 204) throw new Error(`createToken failed: ${res.status} ${res.text.slice(0, 500)}`);
}

const SCENARIOS: Scenario[] = [
  {
    name: 'createToken',
    target: 0.25,
    request: (ctx) => ({
      method: 'POST',
      path: `${PROFILES}/${ctx.profileId}/createToken`,
      headers: { Authorization: `Bearer ${ctx.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ tokenValidityInSeconds: 3600 }),
      expectStatus: 204,
    }),
  },
  {
    name: 'GET',
    target: 0.2,
    // The realistic read: a profile with a token, so the response carries its QR code (~3.5 KB of JSON).
    setup: ensureToken,
    request: (ctx) => ({
      method: 'GET',
      path: `${PROFILES}/${ctx.profileId}`,
      headers: { Authorization: `Bearer ${ctx.token}` },
      expectStatus: 200,
    }),
  },
];

/** The most p99 latency allowed at BENCH_HIGH_CONNECTIONS, in ms. */
const P99_LIMIT_MS = 10;
/** Busy CPU per request of the reference server that shows what ratio a fixed amount of work gets here. */
const REFERENCE_WORK_US = 50;

/** Throttling off, unless the environment says otherwise; see the header. */
const SERVER_ENV: Record<string, string> = process.env.ENROLLGRAPH_THROTTLING === undefined ? { ENROLLGRAPH_THROTTLING: 'off' } : {};

// ---------------------------------------------------------------------------------------------

async function once(url: string, shape: RequestShape): Promise<{ status: number; text: string }> {
  const res = await fetch(url + shape.path, {
    method: shape.method,
    ...(shape.headers ? { headers: shape.headers } : {}),
    ...(shape.body !== undefined ? { body: shape.body } : {}),
  });
  return { status: res.status, text: await res.text() };
}

function describeFailure(m: Measurement): string[] {
  const out: string[] = [];
  if (m.requests === 0) out.push(`${m.name}: no responses at all`);
  if (m.non2xx > 0) out.push(`${m.name}: ${m.non2xx} non-2xx responses (status codes ${JSON.stringify(m.statusCodes)})`);
  if (m.unexpected > m.non2xx) out.push(`${m.name}: ${m.unexpected - m.non2xx} responses with an unexpected 2xx status`);
  if (m.errors > 0) out.push(`${m.name}: ${m.errors} connection errors`);
  if (m.timeouts > 0) out.push(`${m.name}: ${m.timeouts} timeouts`);
  if (m.serverCrash) out.push(`${m.name}: the server ${m.serverCrash}`);
  return out;
}

/** Starts the baseline server, measures it and stops it (so it takes no CPU from what runs next). */
async function measureBaseline(name: string, load: Load): Promise<Measurement> {
  const baseline = await startBaseline();
  try {
    const m = await measure({ name, url: `${baseline.url}/`, expectStatus: 204, server: baseline, ...load });
    console.error(`bench: ${name} ${m.rps} req/s`);
    return m;
  } finally {
    await baseline.stop();
  }
}

async function main(): Promise<number> {
  const load: Load = {
    seconds: envNumber('BENCH_SECONDS', 8, 1, false),
    warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', 2, 0, false),
    connections: envNumber('BENCH_CONNECTIONS', 10, 1, true),
    pipelining: envNumber('BENCH_PIPELINING', 1, 1, true),
  };
  const highConnections = envNumber('BENCH_HIGH_CONNECTIONS', 32, 1, true);
  const serverArgs = (process.env.BENCH_SERVER_ARGS ?? '--log-level warn').split(/\s+/).filter(Boolean);
  const wanted = process.env.BENCH_SCENARIOS?.split(/[\s,]+/).filter(Boolean);
  const scenarios = wanted?.length ? SCENARIOS.filter((s) => wanted.some((w) => w.toLowerCase() === s.name.toLowerCase())) : SCENARIOS;
  if (wanted?.length && scenarios.length !== wanted.length) {
    throw new Error(`BENCH_SCENARIOS: unknown scenario in '${wanted.join(',')}' (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  }
  const profileDir = process.env.BENCH_CPU_PROF === '1' ? join('.bench', 'cpu-profiles', new Date().toISOString().replace(/[:.]/g, '-')) : undefined;

  const recheck = process.env.BENCH_BASELINE_RECHECK !== '0';
  const machine = machineInfo();
  const loadAverage = Math.round(loadavg()[0]! * 100) / 100;
  console.error(
    `bench: node ${machine.node}, ${machine.cpus} CPU(s) ${machine.cpuModel}, load average ${loadAverage}; ${load.connections} connections, ` +
      `pipelining ${load.pipelining}, ${load.warmupSeconds} s warm-up + ${load.seconds} s per scenario; serve ${serverArgs.join(' ')}`,
  );
  const warnings: string[] = [];
  if (loadAverage > 0.5) {
    warnings.push(`the machine was not idle at the start (load average ${loadAverage}): expect noisy ratios`);
    console.error(`bench: warning: ${warnings[0]}`);
  }

  const rows: Row[] = [];
  const failures: string[] = [];
  let profile: ProfileSummary | undefined;
  let baselineRps: number | undefined;
  try {
    // 1. The baseline, alone on the machine.
    const b = await measureBaseline('baseline', load);
    rows.push({ measurement: b });
    failures.push(...describeFailure(b));
    baselineRps = b.rps;
    /**
     * The baseline again, right before a scenario with a target: this machine's speed drifts by 10–20 %
     * within a minute, so each ratio compares two measurements taken moments apart (its row precedes
     * the scenario's in the table).
     */
    const baselineNow = async (): Promise<number> => {
      const m = await measureBaseline('baseline', load);
      rows.push({ measurement: m });
      failures.push(...describeFailure(m));
      return m.rps;
    };

    // 2. Enrollgraph on SQLite in a temp dir, one profile.
    const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    if (profileDir) mkdirSync(join(ROOT, profileDir), { recursive: true });
    const server = await startEnrollgraph(serverArgs, { nodeArgs, env: SERVER_ENV });
    console.error(`bench: enrollgraph at ${server.url}`);
    const token = await server.token();
    const created = await once(server.url, {
      method: 'POST',
      path: PROFILES,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ displayName: 'bench' }),
      expectStatus: 201,
    });
    if (created.status !== 201) throw new Error(`creating the profile failed: ${created.status} ${created.text}`);
    const ctx: Context = { url: server.url, token, profileId: (JSON.parse(created.text) as { id: string }).id };

    /** Measures one scenario under `l`; false when the server crashed. */
    const run = async (scenario: Scenario, name: string, l: Load, limits: Pick<Row, 'baselineRps' | 'target' | 'p99LimitMs'>): Promise<boolean> => {
      await scenario.setup?.(ctx);
      const shape = scenario.request(ctx);
      // One request first, so a wrong setup fails with the server's answer rather than a load of errors.
      const probe = await once(ctx.url, shape);
      if (probe.status !== shape.expectStatus) {
        throw new Error(`${name}: expected ${shape.expectStatus}, got ${probe.status} ${probe.text.slice(0, 500)}`);
      }
      if (shape.method === 'GET') getBody = probe.text;
      const m = await measure({
        name,
        url: ctx.url + shape.path,
        method: shape.method,
        ...(shape.headers ? { headers: shape.headers } : {}),
        ...(shape.body !== undefined ? { body: shape.body } : {}),
        expectStatus: shape.expectStatus,
        server,
        ...l,
      });
      rows.push({ measurement: m, ...limits });
      failures.push(...describeFailure(m));
      console.error(`bench: ${name} ${m.rps} req/s, p99 ${m.p99} ms`);
      if (m.serverCrash) console.error(`bench: server output:\n${server.output().slice(-4000)}`);
      return !m.serverCrash;
    };
    let alive = true;
    let getBody: string | undefined;
    for (const [i, scenario] of scenarios.entries()) {
      // The first scenario follows the baseline above; each later one gets a baseline of its own.
      const reference = i === 0 ? b.rps : await baselineNow();
      alive = await run(scenario, scenario.name, load, { baselineRps: reference, target: scenario.target });
      if (!alive) break;
    }
    // The same with more clients at once: the latency a burst of concurrent callers sees.
    for (const scenario of alive && highConnections !== load.connections ? scenarios : []) {
      if (!(await run(scenario, `${scenario.name} @${highConnections}`, { ...load, connections: highConnections }, { p99LimitMs: P99_LIMIT_MS }))) break;
    }
    await server.stop();
    // For reference: the bare node:http server answering every request with the GET's own bytes, at
    // the same concurrency (the body's cost to the kernel and to the load generator, with no work behind it).
    if (alive && getBody !== undefined && highConnections !== load.connections) {
      const file = join(server.dataDir, 'get-body.json');
      writeFileSync(file, getBody);
      const bare = await startBaseline({ bodyFile: file });
      try {
        const m = await measure({ name: `node:http, GET's body @${highConnections}`, url: `${bare.url}/`, expectStatus: 200, server: bare, ...load, connections: highConnections });
        rows.push({ measurement: m, reference: true });
        failures.push(...describeFailure(m));
      } finally {
        await bare.stop();
      }
      // And the ratio this machine gives a server that spends a fixed REFERENCE_WORK_US of CPU on each
      // request: the floors are ratios, and how a given amount of work scores differs from machine to
      // machine (docs/performance.md).
      const reference = await baselineNow();
      const busy = await startBaseline({ bodyFile: file, workUs: REFERENCE_WORK_US });
      try {
        const m = await measure({ name: `node:http, GET's body, ${REFERENCE_WORK_US} µs work`, url: `${busy.url}/`, expectStatus: 200, server: busy, ...load });
        rows.push({ measurement: m, reference: true, baselineRps: reference });
        failures.push(...describeFailure(m));
      } finally {
        await busy.stop();
      }
    }
    const crash = server.crashed();
    if (crash && !rows.some((r) => r.measurement.serverCrash)) failures.push(`enrollgraph ${crash}`);

    // 2b. The same on PostgreSQL: one instance, then --workers 2 (bench/postgres.ts; BENCH_POSTGRES=0 skips).
    if (process.env.BENCH_POSTGRES !== '0') {
      const before = rows.length;
      const pg = await benchPostgres({ load, baseline: baselineNow, serverArgs, env: SERVER_ENV, rows });
      failures.push(...pg.failures, ...rows.slice(before).filter((r) => r.baselineRps !== undefined).flatMap((r) => describeFailure(r.measurement)));
    }

    // 3. The baseline again: did the machine's speed change while the scenarios ran?
    if (recheck) {
      const again = await measureBaseline('baseline again', load);
      rows.push({ measurement: again, baselineRps: b.rps });
      failures.push(...describeFailure(again));
      const drift = again.rps / b.rps - 1;
      if (Math.abs(drift) > 0.1) {
        warnings.push(`the baseline changed by ${Math.round(drift * 100)}% during the run (other load on the machine?): the ratios are unreliable`);
      }
    }

    if (profileDir) {
      const file = newestCpuProfile(join(ROOT, profileDir));
      if (file) {
        profile = summarizeCpuProfile(file, 25);
        printProfileSummary(`enrollgraph CPU profile ${repoPath(file)}`, profile);
      } else {
        console.error('bench: no CPU profile was written');
      }
    }
  } catch (err) {
    failures.push(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await cleanup();
  }

  console.log('');
  if (rows.length > 0) printTable(rows);
  const summaries = rows.map((r) => ({ ...summarize(r), measurement: r.measurement }));
  for (const s of summaries) {
    const verdict = isClean(s.measurement) ? (s.pass ? 'PASS' : 'FAIL') : 'ERROR (see below)';
    if (s.ratio !== null && s.target !== null) {
      // A server busy all the time spends its CPU per request in inverse proportion to its rate, so
      // this is about what the target allows a request at this baseline.
      const us = s.measurement.serverCpuUsPerRequest;
      const budget = us ? `; ${us} µs of server CPU a request, the target allows about ${Math.round((us * s.ratio) / s.target)}` : '';
      console.log(`${s.name} ${s.ratio.toFixed(2)}× baseline (target ≥ ${s.target.toFixed(2)}×): ${verdict}${budget}`);
    }
    if (s.p99LimitMs !== null) console.log(`${s.name} p99 ${s.p99Ms.toFixed(2)} ms (target ≤ ${s.p99LimitMs} ms): ${verdict}`);
  }
  for (const w of warnings) console.error(`bench: warning: ${w}`);
  for (const f of failures) console.error(`bench: ERROR ${f}`);
  const errorsInRows = rows.some((r) => !isClean(r.measurement));
  const ok = failures.length === 0 && !errorsInRows;

  const outDir = join(ROOT, '.bench');
  mkdirSync(outDir, { recursive: true });
  const results = {
    date: new Date().toISOString(),
    machine: { ...machine, loadAverage },
    load,
    server: { args: serverArgs, env: SERVER_ENV, store: serverArgs.includes('--memory') ? 'in-memory SQLite' : 'SQLite in a temp data dir' },
    baselineRps,
    ok,
    failures,
    warnings,
    rows: summaries,
    ...(profile ? { cpuProfile: { dir: profileDir!.split('\\').join('/'), ...profile } } : {}),
  };
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: ${repoPath(join(outDir, 'results.json'))}${ok ? '' : ' (run FAILED: see errors above)'}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup();
    process.exit(1);
  },
);
