import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, cli, createProfile, graphError, newTenant, PROFILES, startServer, tempDir, type TestServer } from '../helpers.js';

const T0 = Date.UTC(2030, 0, 1) / 1000;
const ENDPOINTS: [string, string][] = [
  ['POST', '/_admin/reset'], ['GET', '/_admin/snapshot'], ['PUT', '/_admin/snapshot'], ['GET', '/_admin/clock'], ['PUT', '/_admin/clock'],
  ['DELETE', '/_admin/clock'], ['POST', '/_admin/clock/advance'], ['GET', '/_admin/faults'], ['POST', '/_admin/faults'], ['DELETE', '/_admin/faults'],
  ['DELETE', '/_admin/faults/x'], ['GET', '/_admin/tenants'], ['PUT', `/_admin/tenants/${newTenant()}`], ['GET', '/_admin/devices'],
  ['GET', '/_admin/requests'], ['GET', '/_admin/unknown'], ['GET', '/_admin/'], ['GET', '/_admin'],
];

/** Makes some state of every kind: profiles with tokens and enrolled devices, an unlicensed tenant, a fault rule, a frozen clock. */
async function populate(server: TestServer): Promise<{ tenant: string; token: string }> {
  await server.admin('PUT', '/_admin/clock', { now: '2030-01-01T00:00:00.123456Z', frozen: true });
  const tenant = newTenant();
  const token = await server.token({ tenantId: tenant, nowSeconds: T0 });
  const a = await createProfile(server.url, token, { displayName: 'A', description: 'first' });
  await createProfile(server.url, token, { displayName: 'B' });
  await call(server.url, 'POST', `${PROFILES}/${a.id}/createToken`, { token, body: { tokenValidityInSeconds: 600 } });
  const value = (await server.stored(tenant, a.id))!.tokenValue!;
  await call(server.url, 'POST', '/enrollment/android/enroll', { body: { enrollmentToken: value, serialNumber: 'S1', model: 'M' } });
  await server.admin('PUT', `/_admin/tenants/${newTenant()}`, { licensed: false });
  await server.admin('POST', '/_admin/faults', { operation: 'get', nth: 1000, status: 500 });
  return { tenant, token };
}

const withoutTakenAt = (s: Record<string, unknown>) => {
  const { takenAt: _ignored, ...rest } = s;
  return rest;
};

describe('control API', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.dispose());

  it('refuses every /_admin/ call without the admin key, or with another one', async () => {
    for (const [method, path] of ENDPOINTS) {
      const none = await call(server.url, method, path, method === 'GET' || method === 'DELETE' ? {} : { body: {} });
      graphError(none, 401, 'Unauthorized');
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      graphError(await call(server.url, method, path, { token: 'not-the-key' }), 401, 'Unauthorized');
    }
    graphError(await server.admin('GET', '/_admin/unknown'), 404, 'ResourceNotFound');
    // Graph tokens are no admin keys.
    graphError(await call(server.url, 'GET', '/_admin/clock', { token: await server.token() }), 401, 'Unauthorized');
  });

  it('exports a versioned snapshot and imports it back exactly, in another server too', async () => {
    const { tenant, token } = await populate(server);
    const taken = await server.admin('GET', '/_admin/snapshot');
    assert.equal(taken.status, 200);
    const snap = taken.json;
    assert.equal(snap.format, 'enrollgraph-snapshot');
    assert.equal(snap.version, 1);
    assert.deepEqual(snap.clock, { frozen: true, now: '2030-01-01T00:00:00.1234560Z' });
    const mine = snap.profiles.filter((p: { tenantId: string }) => p.tenantId === tenant);
    assert.equal(mine.length, 2);
    const a = mine.find((p: { displayName: string }) => p.displayName === 'A');
    assert.equal(a.enrolledDeviceCount, 1);
    assert.match(a.tokenValue, /^[A-Z]{20}$/);
    assert.equal(a.description, 'first');
    assert.ok(snap.tenants.some((t: { licensed: boolean }) => !t.licensed));
    assert.equal(snap.devices.length, 1);
    assert.equal(snap.faults.length, 1);
    assert.equal(JSON.stringify(snap).includes('privateJwk') || JSON.stringify(snap).includes('"d":'), false);
    const graphBefore = (await call(server.url, 'GET', PROFILES, { token })).json.value;

    // Reset, then import: the same state again, and the same Graph answers.
    assert.equal((await server.admin('POST', '/_admin/reset')).status, 200);
    assert.equal((await server.storedAll(tenant)).length, 0);
    assert.equal((await server.admin('GET', '/_admin/clock')).json.frozen, false);
    const put = await server.admin('PUT', '/_admin/snapshot', snap);
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(withoutTakenAt((await server.admin('GET', '/_admin/snapshot')).json), withoutTakenAt(snap));
    assert.deepEqual((await call(server.url, 'GET', PROFILES, { token })).json.value, graphBefore);

    // Into a fresh server.
    const fresh = await startServer();
    try {
      assert.equal((await fresh.admin('PUT', '/_admin/snapshot', snap)).status, 200);
      assert.deepEqual(withoutTakenAt((await fresh.admin('GET', '/_admin/snapshot')).json), withoutTakenAt(snap));
    } finally {
      await fresh.dispose();
    }
  });

  it('refuses a malformed snapshot and changes nothing', async () => {
    const before = (await server.admin('GET', '/_admin/snapshot')).json;
    const bad = [
      { version: 2 },
      { profiles: [{ tenantId: 'not-a-guid', displayName: 'x' }] },
      { profiles: [{ tenantId: newTenant(), displayName: 'x', tokenValue: 'T' }] },
      { profiles: [{ tenantId: newTenant(), id: 'same', displayName: 'x' }, { tenantId: newTenant(), id: 'x', displayName: 'y', tokenValue: 'T', tokenExpirationDateTime: '2030-01-01T00:00:00Z' }, { tenantId: newTenant(), id: 'z', displayName: 'y', tokenValue: 'T', tokenExpirationDateTime: '2030-01-01T00:00:00Z' }] },
      { faults: [{ status: 200 }] },
      { surprise: true },
      [],
    ];
    for (const doc of bad) graphError(await server.admin('PUT', '/_admin/snapshot', doc), 400, 'BadRequest');
    assert.deepEqual(withoutTakenAt((await server.admin('GET', '/_admin/snapshot')).json), withoutTakenAt(before));
  });

  it('resets one tenant, leaving the others', async () => {
    await server.admin('POST', '/_admin/reset');
    const keep = newTenant();
    const drop = newTenant();
    await createProfile(server.url, await server.token({ tenantId: keep }));
    await createProfile(server.url, await server.token({ tenantId: drop }));
    await server.admin('PUT', `/_admin/tenants/${drop}`, { licensed: false });
    const res = await server.admin('POST', '/_admin/reset', { tenant: drop });
    assert.equal(res.status, 200);
    assert.equal((await server.storedAll(drop)).length, 0);
    assert.equal((await server.storedAll(keep)).length, 1);
    assert.deepEqual((await server.admin('GET', '/_admin/tenants')).json.value, []);
    graphError(await server.admin('POST', '/_admin/reset', { tenant: 'nope' }), 400, 'BadRequest');
  });

  it('marks tenants licensed or unlicensed', async () => {
    const tenant = newTenant();
    const token = await server.token({ tenantId: tenant });
    assert.deepEqual((await server.admin('PUT', `/_admin/tenants/${tenant}`, { licensed: false })).json, { tenantId: tenant, licensed: false });
    graphError(await call(server.url, 'GET', PROFILES, { token }), 400, 'BadRequest');
    await server.admin('PUT', `/_admin/tenants/${tenant}`, { licensed: true });
    assert.equal((await call(server.url, 'GET', PROFILES, { token })).status, 200);
    graphError(await server.admin('PUT', `/_admin/tenants/${tenant}`, { licensed: 'no' }), 400, 'BadRequest');
  });

  it('keeps a journal of the last requests', async () => {
    const tenant = newTenant();
    const token = await server.token({ tenantId: tenant });
    await createProfile(server.url, token);
    await call(server.url, 'GET', `${PROFILES}/nope`, { token, headers: { 'client-request-id': 'mine-1' } });
    const res = await server.admin('GET', '/_admin/requests?limit=2');
    assert.equal(res.json.value.length, 2);
    const [created, missing] = res.json.value;
    assert.deepEqual({ method: created.method, path: created.path, operation: created.operation, tenant: created.tenant, status: created.status },
      { method: 'POST', path: PROFILES, operation: 'create', tenant, status: 201 });
    assert.equal(missing.status, 404);
    assert.equal(missing.clientRequestId, 'mine-1');
    assert.match(missing.requestId, /^[0-9a-f-]{36}$/);
    assert.equal(typeof missing.latencyMs, 'number');
    assert.ok(!Number.isNaN(Date.parse(missing.time)));
    const onlyTenant = (await server.admin('GET', `/_admin/requests?tenant=${tenant}`)).json.value;
    assert.equal(onlyTenant.length, 2);
  });

  it('serves Prometheus metrics', async () => {
    const tenant = newTenant();
    const token = await server.token({ tenantId: tenant });
    const p = await createProfile(server.url, token);
    await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 60 } });
    await call(server.url, 'POST', `${PROFILES}/${p.id}/revokeToken`, { token });
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /enrollgraph_http_requests_total\{operation="create",status="201"\} \d+/);
    assert.match(text, /enrollgraph_http_request_duration_seconds_bucket\{le="0.005",operation="create"\} \d+/);
    assert.match(text, /enrollgraph_enrollment_tokens_created_total [1-9]/);
    assert.match(text, /enrollgraph_enrollment_tokens_revoked_total [1-9]/);
    assert.match(text, /enrollgraph_devices_enrolled_total \d+/);
    assert.match(text, /# TYPE enrollgraph_throttled_requests_total counter/);
  });
});

describe('seed file and admin key', () => {
  it('applies a seed to an empty store at start and on every reset, not over existing data', async () => {
    const dir = tempDir();
    const tenant = newTenant();
    const seed = join(dir, 'seed.json');
    writeFileSync(seed, JSON.stringify({
      clock: { frozen: true, now: '2030-01-01T00:00:00Z' },
      tenants: [{ tenantId: newTenant(), licensed: false }],
      profiles: [{ tenantId: tenant, displayName: 'Seeded kiosk', tokenValue: 'SEEDSEEDSEEDSEEDSEED', tokenExpirationDateTime: '2030-01-02T00:00:00Z' }],
      faults: [{ operation: 'delete', status: 503 }],
    }));
    const server = await startServer({ args: ['--seed', seed] });
    try {
      const token = await server.token({ tenantId: tenant, nowSeconds: T0 });
      const listed = (await call(server.url, 'GET', PROFILES, { token })).json.value;
      assert.equal(listed.length, 1);
      assert.equal(listed[0].displayName, 'Seeded kiosk');
      assert.equal(listed[0].createdDateTime, '2030-01-01T00:00:00.0000000Z');
      const id = listed[0].id;
      const enrolled = await call(server.url, 'POST', '/enrollment/android/enroll', { body: { enrollmentToken: 'SEEDSEEDSEEDSEEDSEED' } });
      assert.equal(enrolled.json.profileId, id);
      await createProfile(server.url, token, { displayName: 'extra' });
      graphError(await call(server.url, 'DELETE', `${PROFILES}/${id}`, { token }), 503, 'serviceNotAvailable');
      // Reset: back to the seed (same ids), the extra profile and the count gone.
      await server.admin('DELETE', '/_admin/faults');
      await server.admin('DELETE', '/_admin/clock');
      assert.deepEqual((await server.admin('POST', '/_admin/reset')).json, { reset: 'all', seeded: true });
      const again = (await call(server.url, 'GET', PROFILES, { token })).json.value;
      assert.deepEqual(again.map((p: { id: string; enrolledDeviceCount: number }) => [p.id, p.enrolledDeviceCount]), [[id, 0]]);
      assert.equal((await server.admin('GET', '/_admin/clock')).json.frozen, true);
      assert.equal((await server.admin('GET', '/_admin/faults')).json.value.length, 1);
      await createProfile(server.url, token, { displayName: 'kept' });
      // A restart on the same (now non-empty) store does not apply the seed again.
      await server.stop();
      const restarted = await startServer({ dataDir: server.dataDir, keepData: true, args: ['--seed', seed] });
      try {
        assert.equal((await call(restarted.url, 'GET', PROFILES, { token })).json.value.length, 2);
      } finally {
        await restarted.dispose();
      }
    } finally {
      await server.dispose();
    }
  });

  it('refuses to start with a broken seed file', async () => {
    const dir = tempDir();
    const seed = join(dir, 'seed.json');
    writeFileSync(seed, JSON.stringify({ profiles: [{ displayName: 'no tenant' }] }));
    await assert.rejects(startServer({ args: ['--seed', seed] }), /tenantId/);
  });

  /** The start-up lines follow "serving …", on which the helper returns: wait for the admin key line. */
  async function printedKey(server: TestServer): Promise<string | undefined> {
    for (let i = 0; i < 100 && !/admin key: \S+/.test(server.output()); i++) await new Promise((r) => setTimeout(r, 20));
    return /admin key: (\S+)/.exec(server.output())?.[1];
  }

  it('generates an admin key at first start, prints it that once and keeps it in the store', async () => {
    const server = await startServer({ adminKey: false });
    try {
      const key = await printedKey(server);
      assert.ok(key, server.output());
      assert.equal((await call(server.url, 'GET', '/_admin/clock', { token: key })).status, 200);
      await server.stop();
      const again = await startServer({ dataDir: server.dataDir, keepData: true, adminKey: false });
      try {
        // The line about the key follows "serving …", on which the helper returns.
        for (let i = 0; i < 250 && !/the admin key is kept in the store/.test(again.output()); i++) await new Promise((r) => setTimeout(r, 20));
        assert.match(again.output(), /the admin key is kept in the store \(print it with: enrollgraph admin-key --/);
        assert.doesNotMatch(again.output(), /admin key: \S+/, 'a restart does not print the key again');
        const shown = await cli(['admin-key', '--data', server.dataDir]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.equal(shown.stdout.trim(), key);
        assert.equal((await call(again.url, 'GET', '/_admin/clock', { token: key })).status, 200);
      } finally {
        await again.dispose();
      }
    } finally {
      await server.dispose();
    }
  });
});
