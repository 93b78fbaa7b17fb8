import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, cli, createProfile, graphError, newTenant, PROFILES, startServer, type TestServer } from '../helpers.js';

const ENROLL = '/enrollment/android/enroll';
const T0 = Date.UTC(2030, 0, 1) / 1000;
const iso = (sec: number) => new Date(sec * 1000).toISOString();

async function freeze(server: TestServer, sec: number) {
  assert.equal((await server.admin('PUT', '/_admin/clock', { now: iso(sec), frozen: true })).status, 200);
}

const enroll = (server: TestServer, body: unknown) => call(server.url, 'POST', ENROLL, { body });

describe('device enrollment', () => {
  let server: TestServer;
  let tenant: string;
  let token: string;
  before(async () => {
    server = await startServer();
    await freeze(server, T0 + 1);
    tenant = newTenant();
    token = await server.token({ tenantId: tenant, nowSeconds: T0 });
  });
  after(() => server.dispose());

  /** A profile with a fresh token; returns its id and token value. */
  async function withToken(validity = 3600): Promise<{ id: string; value: string }> {
    const p = await createProfile(server.url, token);
    assert.equal((await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: validity } })).status, 204);
    return { id: p.id as string, value: (await server.stored(tenant, p.id))!.tokenValue! };
  }

  it('enrolls a device with a current token, counts it and records it', async () => {
    const { id, value } = await withToken();
    const res = await enroll(server, { enrollmentToken: value, serialNumber: 'SN-1', model: 'Pixel 8' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.profileId, id);
    assert.equal(res.json.tenantId, tenant);
    assert.equal(res.json.enrolledDeviceCount, 1);
    assert.equal(res.json.serialNumber, 'SN-1');
    assert.equal(res.json.model, 'Pixel 8');
    assert.equal(res.json.enrolledDateTime, '2030-01-01T00:00:01.0000000Z');
    assert.match(res.json.deviceId, /^[0-9a-f-]{36}$/);
    assert.ok(res.headers.get('request-id'));
    assert.equal((await enroll(server, { enrollmentToken: value })).json.enrolledDeviceCount, 2);
    assert.equal((await server.stored(tenant, id))!.enrolledDeviceCount, 2);
    const graph = await call(server.url, 'GET', `${PROFILES}/${id}`, { token });
    assert.equal(graph.json.enrolledDeviceCount, 2);
    const devices = await server.admin('GET', `/_admin/devices?tenant=${tenant}`);
    const serials = devices.json.value.filter((d: { profileId: string }) => d.profileId === id).map((d: { serialNumber: string | null }) => d.serialNumber);
    assert.deepEqual(serials.sort(), ['SN-1', null]); // same instant (frozen clock): any order
  });

  it('a 6-second token enrolls at t+5 s and is refused at t+7 s', async () => {
    const { id, value } = await withToken(6);
    await server.admin('POST', '/_admin/clock/advance', { seconds: 5 });
    assert.equal((await enroll(server, { enrollmentToken: value })).status, 200);
    await server.admin('POST', '/_admin/clock/advance', { seconds: 2 });
    const refused = await enroll(server, { enrollmentToken: value });
    const err = graphError(refused, 403, 'EnrollmentTokenExpired');
    assert.match(err.message, /expired at 2030-01-01T00:00:07/);
    assert.equal((await server.stored(tenant, id))!.enrolledDeviceCount, 1);
    await freeze(server, T0 + 1);
  });

  it('revokeToken, delete and a new createToken each invalidate the previous token, and nothing changes', async () => {
    const revoked = await withToken();
    await call(server.url, 'POST', `${PROFILES}/${revoked.id}/revokeToken`, { token });
    graphError(await enroll(server, { enrollmentToken: revoked.value }), 403, 'InvalidEnrollmentToken');
    assert.equal((await server.stored(tenant, revoked.id))!.enrolledDeviceCount, 0);

    const deleted = await withToken();
    await call(server.url, 'DELETE', `${PROFILES}/${deleted.id}`, { token });
    graphError(await enroll(server, { enrollmentToken: deleted.value }), 403, 'InvalidEnrollmentToken');

    const replaced = await withToken();
    await call(server.url, 'POST', `${PROFILES}/${replaced.id}/createToken`, { token, body: { tokenValidityInSeconds: 60 } });
    graphError(await enroll(server, { enrollmentToken: replaced.value }), 403, 'InvalidEnrollmentToken');
    const current = (await server.stored(tenant, replaced.id))!.tokenValue!;
    assert.equal((await enroll(server, { enrollmentToken: current })).json.enrolledDeviceCount, 1);
  });

  it('100 concurrent enrollments with one token add exactly 100', async () => {
    const { id, value } = await withToken();
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => enroll(server, { enrollmentToken: value, serialNumber: `C-${i}` })));
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
    assert.deepEqual(results.map((r) => r.json.enrolledDeviceCount).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1));
    assert.equal((await server.stored(tenant, id))!.enrolledDeviceCount, 100);
  });

  it('refuses malformed requests and unknown tokens with the Graph error envelope', async () => {
    graphError(await enroll(server, {}), 400, 'BadRequest');
    graphError(await enroll(server, { enrollmentToken: 42 }), 400, 'BadRequest');
    graphError(await enroll(server, { enrollmentToken: 'X', model: 7 }), 400, 'BadRequest');
    graphError(await call(server.url, 'POST', ENROLL, { rawBody: 'nope', headers: { 'Content-Type': 'application/json' } }), 400, 'BadRequest');
    graphError(await call(server.url, 'GET', ENROLL), 405, 'MethodNotAllowed');
    graphError(await enroll(server, { enrollmentToken: 'NOSUCHTOKENATALLXXXX' }), 403, 'InvalidEnrollmentToken');
  });

  it("refuses tokens of an unlicensed tenant", async () => {
    const t = newTenant();
    const tk = await server.token({ tenantId: t, nowSeconds: T0 });
    const p = await createProfile(server.url, tk);
    await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token: tk, body: { tokenValidityInSeconds: 600 } });
    const value = (await server.stored(t, p.id))!.tokenValue!;
    assert.equal((await server.admin('PUT', `/_admin/tenants/${t}`, { licensed: false })).status, 200);
    graphError(await enroll(server, { enrollmentToken: value }), 400, 'BadRequest');
    assert.equal((await server.stored(t, p.id))!.enrolledDeviceCount, 0);
  });

  it('enrollgraph enroll does the same from the command line', async () => {
    const { id, value } = await withToken();
    const ok = await cli(['enroll', '--token', value, '--url', server.url, '--serial', 'CLI-1', '--model', 'Sim']);
    assert.equal(ok.code, 0, ok.stderr);
    const out = JSON.parse(ok.stdout);
    assert.equal(out.profileId, id);
    assert.equal(out.enrolledDeviceCount, 1);
    assert.equal(out.serialNumber, 'CLI-1');
    const bad = await cli(['enroll', '--token', 'NOPENOPENOPENOPENOPE', '--url', server.url]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /403 InvalidEnrollmentToken/);
    assert.equal((await cli(['enroll', '--url', server.url])).code, 2);
  });
});

describe('enrollment rate limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ args: ['--enroll-failure-limit', '3', '--enroll-token-limit', '2'] });
    await freeze(server, T0 + 1);
  });
  after(() => server.dispose());

  it('limits refused attempts per client address (token guessing), then lets the address in again in the next window', async () => {
    const tenant = newTenant();
    const token = await server.token({ tenantId: tenant, nowSeconds: T0 });
    const p = await createProfile(server.url, token);
    await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } });
    const value = (await server.stored(tenant, p.id))!.tokenValue!;
    for (let i = 0; i < 3; i++) graphError(await enroll(server, { enrollmentToken: `GUESS${i}` }), 403, 'InvalidEnrollmentToken');
    const blocked = await enroll(server, { enrollmentToken: value });
    graphError(blocked, 429, 'TooManyRequests');
    assert.equal(blocked.headers.get('retry-after'), '59');
    assert.equal((await server.stored(tenant, p.id))!.enrolledDeviceCount, 0);
    await server.admin('POST', '/_admin/clock/advance', { seconds: 59 });
    assert.equal((await enroll(server, { enrollmentToken: value })).status, 200);
    // Per token: 2 per window.
    assert.equal((await enroll(server, { enrollmentToken: value })).status, 200);
    graphError(await enroll(server, { enrollmentToken: value }), 429, 'TooManyRequests');
    assert.equal((await server.stored(tenant, p.id))!.enrolledDeviceCount, 2);
  });
});
