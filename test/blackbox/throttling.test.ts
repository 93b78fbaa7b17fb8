import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call, graphError, newTenant, PROFILES, startServer, tempDir, type TestServer } from '../helpers.js';

/** A window boundary (epoch seconds divisible by 20 and 60). */
const T0 = Date.UTC(2030, 0, 1) / 1000;
const iso = (sec: number) => new Date(sec * 1000).toISOString();
const BATCH = '/beta/$batch';
const REL = '/deviceManagement/androidForWorkEnrollmentProfiles';

async function freeze(server: TestServer, sec: number) {
  const res = await server.admin('PUT', '/_admin/clock', { now: iso(sec), frozen: true });
  assert.equal(res.status, 200, res.text);
}

async function advance(server: TestServer, seconds: number) {
  const res = await server.admin('POST', '/_admin/clock/advance', { seconds });
  assert.equal(res.status, 200, res.text);
}

const create = (server: TestServer, token: string, name = 'Kiosk') => call(server.url, 'POST', PROFILES, { token, body: { displayName: name } });

/** Sends `n` calls, `width` at a time; returns their statuses. */
async function many(n: number, width: number, fn: (i: number) => Promise<{ status: number }>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i += width) out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => fn(i + j)))).map((r) => r.status));
  return out;
}

describe('throttling (Intune limits: 200 writes / 2000 requests per tenant, 100 / 1000 per app, per 20 s)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ throttling: true });
    await freeze(server, T0 + 1);
  });
  after(() => server.dispose());

  it('gives the 201st write of a tenant window 429 with Retry-After, keeps per-app and per-tenant budgets apart, and frees them when the window ends', async () => {
    const tenant = newTenant();
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => server.token({ tenantId: tenant, appId: randomUUID(), nowSeconds: T0 })));
    assert.deepEqual(new Set(await many(100, 25, () => create(server, a!))), new Set([201]));
    // App A has spent its 100 writes: its 101st is refused, although the tenant has 100 left.
    const overApp = await create(server, a!);
    graphError(overApp, 429, 'TooManyRequests');
    assert.equal(overApp.headers.get('retry-after'), '19');
    // App B has a budget of its own; its writes bring the tenant to 200.
    assert.deepEqual(new Set(await many(100, 25, () => create(server, b!))), new Set([201]));
    // The tenant's 201st write (app C's first) is refused; reads are still within the request budgets.
    const overTenant = await create(server, c!);
    graphError(overTenant, 429, 'TooManyRequests');
    assert.equal(overTenant.headers.get('retry-after'), '19');
    assert.equal((await call(server.url, 'GET', `${PROFILES}?$top=1`, { token: c })).status, 200);
    // Refused calls counted against nothing: exactly 200 profiles exist.
    assert.equal((await server.storedAll(tenant)).length, 200);
    // Another tenant is not affected.
    const other = await server.token({ tenantId: newTenant(), appId: randomUUID(), nowSeconds: T0 });
    assert.equal((await create(server, other)).status, 201);

    await advance(server, 18); // T0+19: one second of the window left
    const late = await create(server, c!);
    graphError(late, 429, 'TooManyRequests');
    assert.equal(late.headers.get('retry-after'), '1');
    await advance(server, 1); // T0+20: a new window
    assert.equal((await create(server, c!)).status, 201);
    assert.equal((await create(server, a!)).status, 201);
  });
});

describe('throttling with configured limits', () => {
  let server: TestServer;
  const limits = ['--app-write-limit', '2', '--tenant-write-limit', '3', '--app-request-limit', '5', '--tenant-request-limit', '8'];
  before(async () => {
    server = await startServer({ throttling: true, args: limits });
    await freeze(server, T0 + 41);
  });
  after(() => server.dispose());

  it('counts reads against the request budgets, per app and per tenant', async () => {
    const tenant = newTenant();
    const [a, b] = await Promise.all([1, 2].map(() => server.token({ tenantId: tenant, appId: randomUUID(), nowSeconds: T0 })));
    assert.deepEqual(await many(5, 5, () => call(server.url, 'GET', PROFILES, { token: a })), [200, 200, 200, 200, 200]);
    const r = await call(server.url, 'GET', PROFILES, { token: a });
    graphError(r, 429, 'TooManyRequests');
    assert.equal(r.headers.get('retry-after'), '19'); // window 40–60, now 41
    assert.deepEqual(await many(3, 1, () => call(server.url, 'GET', PROFILES, { token: b })), [200, 200, 200]);
    graphError(await call(server.url, 'GET', PROFILES, { token: b }), 429, 'TooManyRequests'); // the tenant's 9th request
  });

  it('throttles each $batch item on its own, and the batch itself costs nothing', async () => {
    const tenant = newTenant();
    const token = await server.token({ tenantId: tenant, appId: randomUUID(), nowSeconds: T0 });
    const item = (id: string) => ({ id, method: 'POST', url: REL, headers: { 'Content-Type': 'application/json' }, body: { displayName: `b${id}` } });
    const res = await call(server.url, 'POST', BATCH, { token, body: { requests: [item('1'), item('2'), item('3'), { ...item('4'), dependsOn: ['3'] }] } });
    assert.equal(res.status, 200);
    const statuses = (res.json.responses as { id: string; status: number; headers: Record<string, string>; body: any }[]) // eslint-disable-line @typescript-eslint/no-explicit-any
      .map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 2, JSON.stringify(res.json));
    assert.equal(statuses.filter((s) => s === 429 || s === 424).length, 2);
    const throttled = (res.json.responses as { status: number; headers: Record<string, string>; body: { error: { code: string } } }[]).find((r) => r.status === 429)!;
    assert.equal(throttled.body.error.code, 'TooManyRequests');
    assert.equal(throttled.headers['Retry-After'], '19');
    assert.equal((await server.storedAll(tenant)).length, 2);
    // 2 writes (+2 refused that count nothing) of the app's 5 requests: three more reads pass, the batch itself was free.
    assert.deepEqual(await many(3, 3, () => call(server.url, 'GET', PROFILES, { token })), [200, 200, 200]);
    graphError(await call(server.url, 'GET', PROFILES, { token }), 429, 'TooManyRequests');
  });
});

describe('throttling across processes', () => {
  it('several servers on one store share one budget', async () => {
    const dataDir = tempDir();
    const adminKey = `shared-${randomUUID()}`;
    const args = ['--app-write-limit', '4', '--tenant-write-limit', '100'];
    const one = await startServer({ dataDir, throttling: true, adminKey, args });
    const two = await startServer({ dataDir, keepData: true, throttling: true, adminKey, args });
    try {
      await freeze(one, T0 + 1);
      await two.admin('PUT', '/_admin/clock', { now: iso(T0 + 1), frozen: true }); // this process applies it at once
      const tenant = newTenant();
      const token = await one.token({ tenantId: tenant, appId: randomUUID(), nowSeconds: T0 });
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await create(i % 2 === 0 ? one : two, token)).status);
      assert.deepEqual(statuses, [201, 201, 201, 201, 429, 429]);
    } finally {
      await two.dispose();
      await one.dispose(); // removes the data directory
    }
  });
});
