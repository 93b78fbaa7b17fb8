/**
 * The database goes away under load and comes back. The server reaches PostgreSQL through a TCP proxy
 * this test controls (so the machine's PostgreSQL keeps serving other tests), which can reset every
 * connection and refuse new ones, or silently stop forwarding (a network that drops packets).
 * While it is away: 503 serviceNotAvailable with Retry-After, never a 500, every request answered
 * within the configured timeout; /readyz 503. Once it is back: full service without a restart.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { call, createProfile, graphError, PROFILES, startServer, type TestServer } from '../helpers.js';
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from '../pg-helpers.js';

type Mode = 'up' | 'reset' | 'blackhole';

/** A TCP proxy to PostgreSQL that can be cut. */
class CuttableProxy {
  private readonly server: net.Server;
  private mode: Mode = 'up';
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => this.sockets.delete(s));
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.mode === 'reset') return void client.resetAndDestroy();
    if (this.mode === 'blackhole') return; // accepted, never answered
    const upstream = net.connect(this.target.port, this.target.host);
    this.track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** 'reset': every connection is reset and new ones too. 'blackhole': nothing is forwarded any more. */
  cut(mode: 'reset' | 'blackhole'): void {
    this.mode = mode;
    for (const s of this.sockets) {
      if (mode === 'reset') s.resetAndDestroy();
      else {
        s.unpipe();
        s.pause();
      }
    }
  }

  /** Back to normal; connections held by a blackhole are dropped (as a recovering network would). */
  restore(): void {
    this.mode = 'up';
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Sample {
  start: number;
  ms: number;
  status: number;
  code?: string;
  retryAfter: string | null;
}

const DB_TIMEOUT_MS = 800;
/** A request makes at most two database calls in a row, each bounded by about the timeout. */
const ANSWER_WITHIN_MS = 2 * DB_TIMEOUT_MS + 1_200;

describe('PostgreSQL outage under load', () => {
  let db: TestDatabase;
  let proxy: CuttableProxy;
  let server: TestServer;

  before(async () => {
    db = await createTestDatabase();
    const target = new URL(PG_ADMIN_URL);
    proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const port = await proxy.listen();
    // Throttling on (with limits this load cannot reach): its counters are in the database too, on
    // every request's path.
    const limits = ['--tenant-write-limit', '--tenant-request-limit', '--app-write-limit', '--app-request-limit'].flatMap((f) => [f, '1000000000']);
    server = await startServer({
      database: { ...db, url: db.urlVia('127.0.0.1', port) },
      args: ['--db-timeout', String(DB_TIMEOUT_MS), '--db-pool', '4', ...limits],
      throttling: true,
    });
  });
  after(async () => {
    await server?.dispose();
    await proxy?.close();
    await db?.drop();
  });

  it('answers 503 with Retry-After (never 500, never late) while the database is away, and recovers when it is back', async (t) => {
    const token = await server.token();
    const profiles = await Promise.all([1, 2, 3].map((i) => createProfile(server.url, token, { displayName: `outage ${i}` })));
    const samples: Sample[] = [];
    const failures: string[] = [];
    const unanswered = (err: unknown) => {
      failures.push(String((err as Error).cause ?? err));
      return undefined;
    };
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const p = profiles[(w + i) % profiles.length]!;
        const start = Date.now();
        const res =
          i % 2 === 0
            ? await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token }).catch(unanswered)
            : await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } }).catch(unanswered);
        if (!res) {
          samples.push({ start, ms: Date.now() - start, status: 0, retryAfter: null });
          continue;
        }
        samples.push({ start, ms: Date.now() - start, status: res.status, code: res.json?.error?.code, retryAfter: res.headers.get('retry-after') });
        if (res.status === 503) {
          graphError(res, 503, 'serviceNotAvailable');
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, (_, w) => worker(w)));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const ready = async () => (await call(server.url, 'GET', '/readyz')).status;
    const waitReady = async (want: number, withinMs: number) => {
      const until = Date.now() + withinMs;
      for (;;) {
        const s = await ready();
        if (s === want) return Date.now();
        assert.ok(Date.now() < until, `/readyz did not turn ${want} within ${withinMs} ms`);
        await sleep(50);
      }
    };
    const phases: { name: string; from: number; to: number; expect: 'ok' | 'down' }[] = [];
    const phase = async (name: string, expect: 'ok' | 'down', ms: number) => {
      const from = Date.now();
      await sleep(ms);
      phases.push({ name, from, to: Date.now(), expect });
    };

    try {
      await phase('healthy', 'ok', 800);
      for (const mode of ['reset', 'blackhole'] as const) {
        proxy.cut(mode);
        const cutAt = Date.now();
        await waitReady(503, ANSWER_WITHIN_MS);
        // Requests that started a moment after the cut find the database away.
        await sleep(Math.max(0, cutAt + 300 - Date.now()));
        await phase(`${mode}: away`, 'down', 1_500);
        proxy.restore();
        const backAt = await waitReady(200, 10_000);
        await sleep(Math.max(0, backAt + 200 - Date.now()));
        await phase(`${mode}: back`, 'ok', 1_000);
      }
    } finally {
      running = false;
      await load;
    }

    const describe = (xs: Sample[]) => JSON.stringify(xs.slice(0, 5));
    assert.deepEqual(failures, [], `every request was answered; server output:\n${server.output().slice(-3000)}`);
    assert.equal(samples.filter((s) => s.status >= 500 && s.status !== 503).length, 0, `no 5xx but 503: ${describe(samples.filter((s) => s.status >= 500 && s.status !== 503))}`);
    const late = samples.filter((s) => s.ms > ANSWER_WITHIN_MS);
    assert.equal(late.length, 0, `every request answered within ${ANSWER_WITHIN_MS} ms: ${describe(late)}`);
    for (const s of samples.filter((x) => x.status === 503)) {
      assert.equal(s.code, 'serviceNotAvailable');
      assert.ok(Number(s.retryAfter) >= 1, `Retry-After ${s.retryAfter}`);
    }
    for (const p of phases) {
      const inPhase = samples.filter((s) => s.start >= p.from && s.start + s.ms <= p.to);
      const statuses: Record<number, number> = {};
      for (const s of inPhase) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
      t.diagnostic(`${p.name}: ${JSON.stringify(statuses)}, slowest ${Math.max(0, ...inPhase.map((s) => s.ms))} ms`);
      assert.ok(inPhase.length > 0, `requests were answered during '${p.name}'`);
      if (p.expect === 'ok') {
        const bad = inPhase.filter((s) => s.status >= 300);
        assert.equal(bad.length, 0, `'${p.name}': every request succeeds: ${describe(bad)}`);
      } else {
        const ok = inPhase.filter((s) => s.status < 300);
        assert.equal(ok.length, 0, `'${p.name}': no request can succeed without the database: ${describe(ok)}`);
        assert.ok(inPhase.every((s) => s.status === 503));
      }
    }
    // The store holds a consistent state afterwards: every profile answers, with a token.
    for (const p of profiles) {
      const res = await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token });
      assert.equal(res.status, 200);
      assert.match(res.json.tokenValue, /^[A-Z]{20}$/);
    }
  });
});
