import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { call, createProfile, graphError, newTenant, PROFILES, startServer, type TestServer } from '../helpers.js';

const T0 = Date.UTC(2030, 0, 1) / 1000;

describe('clock control', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.dispose());

  it('runs on the machine clock until told otherwise', async () => {
    const res = await server.admin('GET', '/_admin/clock');
    assert.equal(res.status, 200);
    assert.equal(res.json.frozen, false);
    assert.ok(Math.abs(Date.parse(res.json.now) - Date.now()) < 5_000);
  });

  it('freezes, sets and advances "now", and the server stamps data with it', async () => {
    let res = await server.admin('PUT', '/_admin/clock', { now: '2030-01-01T00:00:00Z', frozen: true });
    assert.deepEqual({ now: res.json.now, frozen: res.json.frozen }, { now: '2030-01-01T00:00:00.0000000Z', frozen: true });
    const tenant = newTenant();
    const token = await server.token({ tenantId: tenant, nowSeconds: T0 });
    const p = await createProfile(server.url, token);
    assert.equal(p.createdDateTime, '2030-01-01T00:00:00.0000000Z');
    res = await server.admin('POST', '/_admin/clock/advance', { seconds: 90.5 });
    assert.equal(res.json.now, '2030-01-01T00:01:30.5000000Z');
    await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 6 } });
    const got = await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token });
    assert.equal(got.json.lastModifiedDateTime, '2030-01-01T00:01:30.5000000Z');
    assert.equal(got.json.tokenExpirationDateTime, '2030-01-01T00:01:36.5000000Z');
    // Still frozen: a later read shows the same instant.
    assert.equal((await server.admin('GET', '/_admin/clock')).json.now, '2030-01-01T00:01:30.5000000Z');
    // Anyone may read it (the console counts down by it); only the key may change it.
    const open = await call(server.url, 'GET', '/clock');
    assert.equal(open.status, 200);
    assert.deepEqual({ now: open.json.now, frozen: open.json.frozen }, { now: '2030-01-01T00:01:30.5000000Z', frozen: true });
    assert.equal((await call(server.url, 'PUT', '/clock', { body: { now: '2040-01-01T00:00:00Z' } })).status, 404);
    assert.equal((await call(server.url, 'PUT', '/_admin/clock', { body: { now: '2040-01-01T00:00:00Z' } })).status, 401);
    assert.equal((await call(server.url, 'GET', '/clock')).json.now, '2030-01-01T00:01:30.5000000Z');
  });

  it('checks access-token lifetimes against the server clock', async () => {
    await server.admin('PUT', '/_admin/clock', { now: '2030-01-01T00:00:00Z', frozen: true });
    const token = await server.token({ tenantId: newTenant(), nowSeconds: T0, expiresIn: 60 });
    assert.equal((await call(server.url, 'GET', PROFILES, { token })).status, 200);
    await server.admin('POST', '/_admin/clock/advance', { seconds: 60 + 31 }); // past exp and the 30 s tolerance
    const res = await call(server.url, 'GET', PROFILES, { token });
    const err = graphError(res, 401, 'InvalidAuthenticationToken');
    assert.equal(err.message, 'Lifetime validation failed, the token is expired.');
  });

  it('runs from a set instant when not frozen, and goes back to the machine clock on DELETE', async () => {
    let res = await server.admin('PUT', '/_admin/clock', { now: '2031-06-01T12:00:00Z', frozen: false });
    assert.equal(res.json.frozen, false);
    const first = Date.parse(res.json.now);
    assert.ok(Math.abs(first - Date.UTC(2031, 5, 1, 12)) < 2_000);
    await sleep(20);
    assert.ok(Date.parse((await server.admin('GET', '/_admin/clock')).json.now) > first);
    res = await server.admin('DELETE', '/_admin/clock');
    assert.equal(res.json.frozen, false);
    assert.ok(Math.abs(Date.parse(res.json.now) - Date.now()) < 5_000);
  });

  it('refuses malformed clock settings', async () => {
    graphError(await server.admin('PUT', '/_admin/clock', { now: 'tomorrow' }), 400, 'BadRequest');
    graphError(await server.admin('PUT', '/_admin/clock', { frozen: 'yes' }), 400, 'BadRequest');
    graphError(await server.admin('PUT', '/_admin/clock', { later: 1 }), 400, 'BadRequest');
    graphError(await server.admin('POST', '/_admin/clock/advance', { seconds: '5' }), 400, 'BadRequest');
  });

  it('is shared by every process on the store: another one picks a change up within about a second', async () => {
    const other = await startServer({ dataDir: server.dataDir, keepData: true, adminKey: server.adminKey! });
    try {
      await server.admin('PUT', '/_admin/clock', { now: '2032-02-02T00:00:00Z', frozen: true });
      const deadline = Date.now() + 3_000;
      let seen = '';
      while (Date.now() < deadline) {
        seen = (await other.admin('GET', '/_admin/clock')).json.now;
        if (seen === '2032-02-02T00:00:00.0000000Z') break;
        await sleep(100);
      }
      assert.equal(seen, '2032-02-02T00:00:00.0000000Z');
      await other.admin('POST', '/_admin/clock/advance', { seconds: 10 });
      assert.equal((await other.admin('GET', '/_admin/clock')).json.now, '2032-02-02T00:00:10.0000000Z'); // at once where it was changed
    } finally {
      await other.dispose();
    }
  });
});
