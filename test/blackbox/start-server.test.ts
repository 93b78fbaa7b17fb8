/**
 * The programmatic API (`import { startServer } from 'enrollgraph'`), in this process. On the
 * PostgreSQL pass the server of the store tests runs on a fresh database.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type EnrollgraphServer } from '../../src/index.js';
import { call, createProfile, newTenant, PROFILES, tempDir } from '../helpers.js';
import { createTestDatabase, TEST_STORE, type TestDatabase } from '../pg-helpers.js';

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('startServer()', () => {
  let server: EnrollgraphServer;
  before(async () => {
    server = await startServer({ throttling: false });
  });
  after(() => server.close());

  it('resolves once ready, in memory on a free port of 127.0.0.1', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(server.url).port, '8080');
    const ready = await call(server.url, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.store, 'sqlite');
    assert.equal((await call(server.url, 'GET', '/_admin/clock', { token: server.adminKey })).status, 200);
  });

  it('mintToken gives a delegated DeviceManagementConfiguration.ReadWrite.All token unless told otherwise', async () => {
    const tenant = newTenant();
    const token = await server.mintToken({ tenant });
    const claims = claimsOf(token);
    assert.equal(claims.tid, tenant);
    assert.equal(claims.idtyp, 'user');
    assert.equal(claims.scp, 'DeviceManagementConfiguration.ReadWrite.All');
    assert.equal(claims.exp as number - (claims.iat as number), 3600);
    assert.equal((await createProfile(server.url, token)).accountId, tenant);

    const reader = await server.mintToken({ tenant, scopes: ['DeviceManagementConfiguration.Read.All'], upn: 'reader@contoso.com', expiresIn: 60 });
    assert.equal(claimsOf(reader).upn, 'reader@contoso.com');
    assert.equal((await call(server.url, 'GET', PROFILES, { token: reader })).status, 200);
    assert.equal((await call(server.url, 'POST', PROFILES, { token: reader, body: { displayName: 'x' } })).status, 403);
    const app = await server.mintToken({ tenant, roles: ['DeviceManagementConfiguration.ReadWrite.All'] });
    assert.equal(claimsOf(app).idtyp, 'app');
    assert.equal((await call(server.url, 'GET', PROFILES, { token: app })).status, 403, 'app-only needs allowAppOnly');
    const expired = await server.mintToken({ tenant, expiresIn: -60 });
    assert.equal((await call(server.url, 'GET', PROFILES, { token: expired })).status, 401);
    await assert.rejects(server.mintToken({ tenant: 'contoso' }), /'tenant' must be a tenant GUID/);
  });

  it('clock: set (frozen or running), advance and reset move the server clock, and tokens are minted on it', async () => {
    const tenant = newTenant();
    await server.clock.set('2040-01-01T00:00:00Z', { frozen: true });
    try {
      assert.equal(server.clock.now(), '2040-01-01T00:00:00.0000000Z');
      const token = await server.mintToken({ tenant });
      assert.equal(claimsOf(token).iat, Date.parse('2040-01-01T00:00:00Z') / 1000);
      const profile = await createProfile(server.url, token);
      assert.equal(profile.createdDateTime, '2040-01-01T00:00:00.0000000Z');
      await call(server.url, 'POST', `${PROFILES}/${profile.id}/createToken`, { token, body: { tokenValidityInSeconds: 6 } });
      const enrollmentToken = (await call(server.url, 'GET', `${PROFILES}/${profile.id}`, { token })).json.tokenValue as string;
      await server.clock.advance(7);
      assert.equal(server.clock.now(), '2040-01-01T00:00:07.0000000Z');
      const late = await call(server.url, 'POST', '/enrollment/android/enroll', { body: { enrollmentToken } });
      assert.equal(late.status, 403);
      assert.equal(late.json.error.code, 'EnrollmentTokenExpired');
      // Over an hour on, the token minted at 00:00 has expired by the server's clock.
      await server.clock.advance(3600 + 600); // past exp and any clock-skew tolerance
      assert.equal((await call(server.url, 'GET', PROFILES, { token })).status, 401);
      await server.clock.set('2040-01-01T00:00:00Z', { frozen: false });
      assert.equal((await call(server.url, 'GET', '/_admin/clock', { token: server.adminKey })).json.frozen, false);
      await assert.rejects(server.clock.set('soon'), /ISO 8601/);
    } finally {
      await server.clock.reset();
    }
    assert.ok(Math.abs(Date.parse(server.clock.now()) - Date.now()) < 60_000, 'back on the machine clock');
  });

  it('reset() empties the store, or one tenant', async () => {
    const [a, b] = [newTenant(), newTenant()];
    const [ta, tb] = [await server.mintToken({ tenant: a }), await server.mintToken({ tenant: b })];
    await createProfile(server.url, ta);
    await createProfile(server.url, tb);
    await server.reset(a);
    assert.equal((await call(server.url, 'GET', PROFILES, { token: ta })).json.value.length, 0);
    assert.equal((await call(server.url, 'GET', PROFILES, { token: tb })).json.value.length, 1);
    await server.reset();
    assert.equal((await call(server.url, 'GET', PROFILES, { token: tb })).json.value.length, 0);
    assert.equal((await call(server.url, 'GET', PROFILES, { token: tb })).status, 200, 'tokens minted before a reset stay valid');
  });

  it('refuses options it cannot use, naming the option', async () => {
    await assert.rejects(startServer({ port: 70000 }), /options\.port must be from 0 to 65535/);
    await assert.rejects(startServer({ logLevel: 'loud' as 'info' }), /options\.logLevel must be one of/);
    await assert.rejects(startServer({ workers: 2 } as never), /unknown option 'workers'/);
    await assert.rejects(startServer({ colour: 'blue' } as never), /unknown option 'colour'/);
    await assert.rejects(startServer({ store: 'postgres://nobody@127.0.0.1:1/x', dbPool: 0 }), /options\.dbPool must be from 1/);
  });
});

describe('startServer() with serve options', () => {
  let database: TestDatabase | undefined;
  before(async () => {
    if (TEST_STORE === 'postgres') database = await createTestDatabase();
  });
  after(() => database?.drop());

  it('serves a data directory or a PostgreSQL URL, and takes every serve option', async () => {
    const dir = join(tempDir(), 'store');
    const store = database?.url ?? dir;
    const adminKey = 'programmatic-admin-key';
    const server = await startServer({ store, maxPageSize: 2, pageSize: 2, allowAppOnly: true, adminKey, tenantWriteLimit: 1, throttleWindow: 3600 });
    try {
      assert.equal((await call(server.url, 'GET', '/readyz')).json.store, database ? 'postgres' : 'sqlite');
      if (!database) assert.ok(existsSync(join(dir, 'enrollgraph.db')));
      assert.equal(server.adminKey, adminKey);
      const token = await server.mintToken({ tenant: newTenant(), roles: ['DeviceManagementConfiguration.ReadWrite.All'] });
      assert.equal((await call(server.url, 'POST', PROFILES, { token, body: { displayName: 'one' } })).status, 201);
      // tenantWriteLimit 1 in an hour-long window: the second write is throttled.
      assert.equal((await call(server.url, 'POST', PROFILES, { token, body: { displayName: 'two' } })).status, 429);
    } finally {
      await server.close();
    }
    assert.equal(await fetch(`${server.url}/readyz`).then(() => 'answered', () => 'closed'), 'closed');
  });

  it('serves https with tls: true, and names the certificate to trust', async () => {
    const server = await startServer({ tls: true });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(server.certificateFile && existsSync(server.certificateFile));
    } finally {
      await server.close();
    }
  });
});
