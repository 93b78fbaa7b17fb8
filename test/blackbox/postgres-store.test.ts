/**
 * The PostgreSQL store on its own: migrations and the first signing key when several processes start
 * at once, values that must survive the round trip, and how it fails when the database is unreachable.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KeyRing } from '../../src/identity/keys.js';
import { LATEST_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres.js';
import { MIN_US, SystemClock } from '../../src/time.js';
import { createTestDatabase, type TestDatabase } from '../pg-helpers.js';

describe('PostgreSQL store', () => {
  let db: TestDatabase;
  let stores: PostgresStore[] = [];

  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await db?.drop();
  });

  it('processes starting together migrate once and agree on one signing key', async () => {
    stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore({ url: db.url, poolSize: 2 })));
    const rings = await Promise.all(stores.map((s) => KeyRing.open(s, new SystemClock())));
    assert.equal(new Set(rings.map((r) => r.signingKey.kid)).size, 1, 'one signer for all');
    assert.equal((await stores[0]!.listSigningKeys()).length, 1, 'one key stored');
    for (const s of stores) await s.ping();
    // The migrations ran once each: a second start finds nothing to do.
    const again = await openPostgresStore({ url: db.url });
    try {
      await again.ping();
    } finally {
      await again.close();
    }
    assert.equal(MIGRATIONS.at(-1)!.version, LATEST_VERSION);
  });

  it('answers reads asked for together with one statement, each with its own profile', async () => {
    const s = stores[0]!;
    const [t1, t2] = [crypto.randomUUID(), crypto.randomUUID()];
    const shared = crypto.randomUUID(); // the same id in two tenants
    const three = { id: crypto.randomUUID() };
    for (const [tenantId, id, name] of [[t1, shared, 'one'], [t2, shared, 'two'], [t1, three.id, 'three']] as const) {
      await s.insertProfile({ tenantId, id, displayName: name, description: null, nowUs: 1_000_000, tokenExpiresUs: MIN_US });
    }
    const got = await Promise.all([
      s.getProfile(t1, shared), s.getProfile(t2, shared), s.getProfile(t1, three.id), s.getProfile(t2, three.id),
      s.getProfile(t1, shared), s.getProfile(crypto.randomUUID(), shared),
    ]);
    assert.deepEqual(got.map((p) => p?.displayName), ['one', 'two', 'three', undefined, 'one', undefined]);
    assert.notEqual(got[0], got[4], 'each caller gets its own record');
    // A write acknowledged before a read is always in it.
    await s.updateProfile(t1, shared, { displayName: 'one, renamed' }, 2_000_000);
    assert.equal((await s.getProfile(t1, shared))?.displayName, 'one, renamed');
  });

  it('writes tokens asked for together with one statement: the last per profile holds, a collision fails alone', async () => {
    const s = stores[0]!;
    const tenantId = crypto.randomUUID();
    const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    for (const id of [a, b, c]) await s.insertProfile({ tenantId, id, displayName: id, description: null, nowUs: 1_000_000, tokenExpiresUs: MIN_US });
    const got = await Promise.all([
      s.setToken(tenantId, a, 'AAAAAAAAAAAAAAAAAAAA', 9_000_000, 2_000_000),
      s.setToken(tenantId, b, 'BBBBBBBBBBBBBBBBBBBB', 9_000_000, 2_000_000),
      s.setToken(tenantId, a, 'CCCCCCCCCCCCCCCCCCCC', 9_000_001, 2_000_001),
      s.setToken(tenantId, crypto.randomUUID(), 'DDDDDDDDDDDDDDDDDDDD', 9_000_000, 2_000_000),
    ]);
    assert.deepEqual(got, ['ok', 'ok', 'ok', 'not-found']);
    assert.equal((await s.getProfile(tenantId, a))?.tokenValue, 'CCCCCCCCCCCCCCCCCCCC');
    assert.equal((await s.getProfile(tenantId, a))?.tokenExpiresUs, 9_000_001);
    assert.equal((await s.getProfile(tenantId, b))?.tokenValue, 'BBBBBBBBBBBBBBBBBBBB');
    // c asks for the token b holds, in the same turn as a good write to a: only c is refused.
    const [dup, fine] = await Promise.all([
      s.setToken(tenantId, c, 'BBBBBBBBBBBBBBBBBBBB', 9_000_000, 3_000_000),
      s.setToken(tenantId, a, 'EEEEEEEEEEEEEEEEEEEE', 9_000_000, 3_000_000),
    ]);
    assert.equal(dup, 'duplicate');
    assert.equal(fine, 'ok');
    assert.equal((await s.getProfile(tenantId, c))?.tokenValue, null);
    assert.equal((await s.getProfile(tenantId, a))?.tokenValue, 'EEEEEEEEEEEEEEEEEEEE');
  });

  it('keeps microsecond times (and the 0001-01-01 minimum) exactly, and reports duplicate token values', async () => {
    const s = stores[0]!;
    const tenantId = crypto.randomUUID();
    const nowUs = 1_795_941_935_365_183; // µs with a non-zero last digit
    const p = await s.insertProfile({ tenantId, id: crypto.randomUUID(), displayName: 'times', description: null, nowUs, tokenExpiresUs: MIN_US });
    assert.equal(p.createdUs, nowUs);
    assert.equal(p.tokenExpiresUs, MIN_US);
    assert.equal(typeof p.enrolledDeviceCount, 'number');
    assert.equal(await s.setToken(tenantId, p.id, 'ABCDEFGHIJKLMNOPQRST', nowUs + 2_051_244_000_000_000, nowUs + 1), 'ok');
    const q = await s.insertProfile({ tenantId, id: crypto.randomUUID(), displayName: 'other', description: 'd', nowUs, tokenExpiresUs: MIN_US });
    assert.equal(await s.setToken(tenantId, q.id, 'ABCDEFGHIJKLMNOPQRST', nowUs, nowUs), 'duplicate');
    assert.equal(await s.setToken(tenantId, crypto.randomUUID(), 'ZZZZZZZZZZZZZZZZZZZZ', nowUs, nowUs), 'not-found');
    const back = await s.getProfile(tenantId, p.id);
    assert.equal(back?.tokenExpiresUs, nowUs + 2_051_244_000_000_000);
    assert.equal(back?.modifiedUs, nowUs + 1);
    assert.equal(await s.countProfiles(tenantId), 2);
    assert.equal((await s.getTenant(tenantId)), undefined);
    await s.setTenantLicensed(tenantId, false);
    assert.deepEqual(await s.getTenant(tenantId), { tenantId, licensed: false });
  });

  it('an unreachable database fails fast with StoreUnavailableError, and a closed store too', async () => {
    // A port that accepts nothing: connection refused.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const started = Date.now();
    await assert.rejects(openPostgresStore({ url: db.urlVia('127.0.0.1', port), timeoutMs: 500 }), StoreUnavailableError);
    assert.ok(Date.now() - started < 2_000);

    // A server that accepts and never answers: the connection timeout bounds the wait.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const t0 = Date.now();
      await assert.rejects(openPostgresStore({ url: db.urlVia('127.0.0.1', (silent.address() as net.AddressInfo).port), timeoutMs: 500 }), StoreUnavailableError);
      assert.ok(Date.now() - t0 < 2_500, `gave up after ${Date.now() - t0} ms`);
    } finally {
      silent.close();
    }

    const s = await openPostgresStore({ url: db.url });
    await s.close();
    await assert.rejects(s.getTenant('x'), StoreUnavailableError);
  });
});
