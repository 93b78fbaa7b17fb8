/**
 * The PostgreSQL store on its own: migrations and the first signing key when several processes start
 * at once, values that must survive the round trip, and how it fails when the database is unreachable.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { after, before, describe, it } from 'node:test';
import { KeyRing } from '../../src/identity/keys.js';
import { LATEST_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import { StoreUnavailableError } from '../../src/store/errors.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres.js';
import { MIN_US, SystemClock } from '../../src/time.js';
import { TENANT_COLUMN, type EntityDef } from '../../src/model/edm.js';
import { ENTITIES } from '../../src/model/registry.js';
import { androidForWorkEnrollmentProfile } from '../../src/model/androidForWorkEnrollmentProfile.js';
import { Problem } from '../../src/problem.js';
import { ROOT } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../pg-helpers.js';

const afw: EntityDef = androidForWorkEnrollmentProfile;

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

  it('keeps microsecond times (and the 0001-01-01 minimum) exactly; a token value is unique across records', async () => {
    const s = stores[0]!;
    const tenantId = crypto.randomUUID();
    const nowUs = 1_795_941_935_365_183; // µs with a non-zero last digit
    const record = (id: string, displayName: string) => ({
      tenantId, id, accountId: tenantId, displayName, description: null, createdDateTime: nowUs, lastModifiedDateTime: nowUs,
      tokenValue: null, tokenExpirationDateTime: MIN_US, enrolledDeviceCount: 0, qrCodeImage: null,
    });
    const p = await s.insert(afw, record(crypto.randomUUID(), 'times'));
    assert.equal(p.createdDateTime, nowUs);
    assert.equal(p.tokenExpirationDateTime, MIN_US);
    assert.equal(typeof p.enrolledDeviceCount, 'number');
    const set = (token: string, at: number) => ({ set: { tokenValue: token, tokenExpirationDateTime: at + 2_051_244_000_000_000, lastModifiedDateTime: at }, token });
    assert.deepEqual((await s.update(afw, tenantId, p.id, set('ABCDEFGHIJKLMNOPQRST', nowUs + 1))).ok, true);
    const q = await s.insert(afw, record(crypto.randomUUID(), 'other'));
    assert.deepEqual(await s.update(afw, tenantId, q.id, set('ABCDEFGHIJKLMNOPQRST', nowUs)), { ok: false, reason: 'duplicate-token' });
    assert.equal((await s.get(afw, tenantId, q.id))?.tokenValue, null, 'a refused change leaves nothing behind');
    assert.deepEqual(await s.update(afw, tenantId, crypto.randomUUID(), set('ZZZZZZZZZZZZZZZZZZZZ', nowUs)), { ok: false, reason: 'not-found' });
    const back = await s.get(afw, tenantId, p.id);
    assert.equal(back?.tokenExpirationDateTime, nowUs + 1 + 2_051_244_000_000_000);
    assert.equal(back?.lastModifiedDateTime, nowUs + 1);
    assert.deepEqual(await s.findToken('ABCDEFGHIJKLMNOPQRST'), { def: afw, tenantId, id: p.id });
    // A new token replaces the record's old one in the registry; revoking removes it.
    await s.update(afw, tenantId, p.id, set('QQQQQQQQQQQQQQQQQQQQ', nowUs + 2));
    assert.equal(await s.findToken('ABCDEFGHIJKLMNOPQRST'), undefined);
    await s.update(afw, tenantId, p.id, { set: { tokenValue: null }, token: null });
    assert.equal(await s.findToken('QQQQQQQQQQQQQQQQQQQQ'), undefined);
    assert.equal(await s.count(afw, tenantId), 2);
    assert.equal((await s.getTenant(tenantId)), undefined);
    await s.setTenantLicensed(tenantId, false);
    assert.deepEqual(await s.getTenant(tenantId), { tenantId, licensed: false });
  });

  it('a NUL character in a lookup is a refusal, not a database error', async () => {
    const s = stores[0]!;
    await assert.rejects(s.get(afw, crypto.randomUUID(), 'a\u0000b'), (err: unknown) => err instanceof Problem && err.kind === 'unstorable');
    await assert.rejects(s.findToken('A\u0000'), (err: unknown) => err instanceof Problem);
    // Calls of one turn share a statement: the refusal stays with the call that made it.
    const tenantId = crypto.randomUUID();
    const p = await s.insert(afw, {
      tenantId, id: crypto.randomUUID(), accountId: tenantId, displayName: 'neighbour', description: null, createdDateTime: 1, lastModifiedDateTime: 1,
      tokenValue: null, tokenExpirationDateTime: MIN_US, enrolledDeviceCount: 0, qrCodeImage: null,
    });
    const unstorable = (err: unknown) => err instanceof Problem && err.kind === 'unstorable';
    const token = (value: string) => ({ set: { tokenValue: value, tokenExpirationDateTime: 2, lastModifiedDateTime: 2 }, token: value });
    const [good, bad, written, refused] = await Promise.allSettled([
      s.get(afw, tenantId, p.id), s.get(afw, tenantId, 'a\u0000b'),
      s.update(afw, tenantId, p.id, token('NEIGHBOURNEIGHBOURNE')), s.update(afw, tenantId, 'a\u0000b', token('NEIGHBOURNEIGHBOURNF')),
    ]);
    assert.equal(good.status === 'fulfilled' && good.value?.id, p.id);
    assert.ok(bad.status === 'rejected' && unstorable(bad.reason));
    assert.equal(written.status === 'fulfilled' && written.value.ok, true);
    assert.ok(refused.status === 'rejected' && unstorable(refused.reason));
    assert.equal((await s.get(afw, tenantId, p.id))?.tokenValue, 'NEIGHBOURNEIGHBOURNE');
  });

  it('the migrated schema has exactly the columns of every entity of the model, with their types and nullability', async () => {
    const PG_TYPES = { text: 'text', int: 'integer', bigint: 'bigint', bool: 'boolean' } as const;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const def of ENTITIES) {
        const cols = (await client.query<{ column_name: string; data_type: string; is_nullable: string }>(
          'SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1', [def.table],
        )).rows;
        const model = [TENANT_COLUMN, ...def.properties.flatMap((p) => (p.column && p.column.name !== TENANT_COLUMN.name ? [p.column] : []))];
        assert.deepEqual(cols.map((c) => c.column_name).sort(), model.map((c) => c.name).sort(), `${def.typeName}: columns`);
        for (const c of model) {
          const got = cols.find((x) => x.column_name === c.name)!;
          assert.equal(got.data_type, PG_TYPES[c.sql], `${def.typeName}.${c.name}: type`);
          assert.equal(got.is_nullable === 'NO', c.notNull, `${def.typeName}.${c.name}: NOT NULL`);
        }
      }
    } finally {
      await client.end();
    }
  });

  it('a database made by release 0.1.0 (schema version 5) upgrades in place with everything it held', async () => {
    const old = await createTestDatabase();
    try {
      const client = new pg.Client({ connectionString: old.url });
      await client.connect();
      await client.query(readFileSync(join(ROOT, 'test', 'fixtures', 'upgrade', 'postgres-v5.sql'), 'utf8'));
      await client.end();
      const s = await openPostgresStore({ url: old.url });
      try {
        await s.ping();
        const tenant = '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10';
        const order = [{ column: afw.properties.find((p) => p.name === 'createdDateTime')!.column!, desc: false }];
        const profiles = await s.list(afw, { tenantId: tenant, orderBy: order, limit: 10 });
        assert.deepEqual(profiles.map((p) => [p.displayName, p.description]), [['Lobby kiosks', 'front desk'], ['Warehouse scanners', null]]);
        const lobby = profiles[0]!;
        assert.equal(lobby.enrolledDeviceCount, 1);
        assert.deepEqual(await s.findToken(lobby.tokenValue as string), { def: afw, tenantId: tenant, id: lobby.id });
        const now = Date.now() * 1000;
        assert.equal((await s.enroll(lobby.tokenValue as string, now, { deviceId: 'dev-2', serialNumber: null, model: null, enrolledUs: now }))?.record.enrolledDeviceCount, 2);
        const control = await s.openControlStore();
        try {
          assert.deepEqual((await control.listDevices(tenant)).map((d) => [d.serialNumber, d.profileType]), [
            ['SN-1', 'androidForWorkEnrollmentProfile'], [null, 'androidForWorkEnrollmentProfile'],
          ]);
        } finally {
          await control.close();
        }
        assert.deepEqual(await s.getTenant('0b5e1d43-2a77-4c1e-8f0a-3d9c6b2e7a11'), { tenantId: '0b5e1d43-2a77-4c1e-8f0a-3d9c6b2e7a11', licensed: false });
      } finally {
        await s.close();
      }
    } finally {
      await old.drop();
    }
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
