/**
 * The migrations are literal SQL, frozen when released; the model is today's. These tests fail when
 * a property is added to (or changed in) a model without a migration, and when a data directory made
 * by an earlier release does not upgrade in place with everything it held.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { TENANT_COLUMN, withRole } from '../../src/model/edm.js';
import { ENTITIES } from '../../src/model/registry.js';
import { androidForWorkEnrollmentProfile as afw } from '../../src/model/androidForWorkEnrollmentProfile.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { sqliteFile } from '../../src/store/sqlite-file.js';
import { ROOT } from '../helpers.js';

const SQLITE_TYPES = { text: 'TEXT', int: 'INTEGER', bigint: 'INTEGER', bool: 'INTEGER' } as const;

function migratedDatabase(): { db: Database.Database; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'enrollgraph-schema-'));
  openSqliteStore(dir).close();
  const db = new Database(sqliteFile(dir), { readonly: true });
  return { db, dispose: () => (db.close(), rmSync(dir, { recursive: true, force: true })) };
}

describe('the migrated SQLite schema', () => {
  it('has exactly the columns of every entity of the model, with their types and nullability', () => {
    const { db, dispose } = migratedDatabase();
    try {
      for (const def of ENTITIES) {
        const cols = db.prepare(`PRAGMA table_info(${def.table})`).all() as { name: string; type: string; notnull: number }[];
        assert.ok(cols.length > 0, `${def.table} exists`);
        const model = [TENANT_COLUMN, ...def.properties.flatMap((p) => (p.column && p.column.name !== TENANT_COLUMN.name ? [p.column] : []))];
        assert.deepEqual(cols.map((c) => c.name).sort(), model.map((c) => c.name).sort(), `${def.typeName}: columns`);
        for (const c of model) {
          const got = cols.find((x) => x.name === c.name)!;
          assert.equal(got.type, SQLITE_TYPES[c.sql], `${def.typeName}.${c.name}: type`);
          assert.equal(got.notnull === 1, c.notNull, `${def.typeName}.${c.name}: NOT NULL`);
        }
      }
    } finally {
      dispose();
    }
  });
});

describe('upgrading a data directory made by release 0.1.0 (schema version 5)', () => {
  it('keeps every profile, token, device and tenant, and enrolls with the old token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'enrollgraph-upgrade-'));
    copyFileSync(join(ROOT, 'test', 'fixtures', 'upgrade', 'sqlite-v5.db'), sqliteFile(dir));
    const store = openSqliteStore(dir);
    try {
      await store.ping();
      const tenant = '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10';
      const order = [{ column: withRole(afw, 'created')!.column!, desc: false }];
      const profiles = await store.list(afw, { tenantId: tenant, orderBy: order, limit: 10 });
      assert.deepEqual(profiles.map((p) => [p.displayName, p.description]), [['Lobby kiosks', 'front desk'], ['Warehouse scanners', null]]);
      const [lobby, warehouse] = profiles;
      assert.match(lobby!.tokenValue as string, /^[A-Z]{20}$/);
      assert.equal(lobby!.enrolledDeviceCount, 1);
      assert.equal(warehouse!.tokenValue, null);
      assert.equal(warehouse!.tokenExpirationDateTime, warehouse!.lastModifiedDateTime, 'revoked: expiry is the revocation instant');
      // The old token is in the registry: found in one lookup, and it enrolls.
      assert.deepEqual(await store.findToken(lobby!.tokenValue as string), { def: afw, tenantId: tenant, id: lobby!.id });
      const enrolled = await store.enroll(lobby!.tokenValue as string, Date.now() * 1000, { deviceId: 'dev-2', serialNumber: null, model: null, enrolledUs: Date.now() * 1000 });
      assert.equal(enrolled?.record.enrolledDeviceCount, 2);
      const control = await store.openControlStore();
      const devices = await control.listDevices(tenant);
      assert.deepEqual(devices.map((d) => [d.serialNumber, d.profileType, d.profileId]), [
        ['SN-1', 'androidForWorkEnrollmentProfile', lobby!.id],
        [null, 'androidForWorkEnrollmentProfile', lobby!.id],
      ]);
      assert.deepEqual(await store.getTenant('0b5e1d43-2a77-4c1e-8f0a-3d9c6b2e7a11'), { tenantId: '0b5e1d43-2a77-4c1e-8f0a-3d9c6b2e7a11', licensed: false });
      assert.equal((await store.listSigningKeys()).length, 1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
