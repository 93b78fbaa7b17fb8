/**
 * SQLite's read cache (a server's store serves profiles and tenants by key from memory): every read
 * sees this connection's own commits at once, and a commit by another connection (another process
 * on the file, the CLI) from the next request on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EMPTY_STATE } from '../../src/store/control.js';
import { SqliteControlStore } from '../../src/store/sqlite-control.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import { MIN_US } from '../../src/time.js';

const TENANT = '0a6c1d2e-3f40-4b5c-8d7e-9f0a1b2c3d4e';

describe('SQLite read cache', () => {
  let dir: string;
  let server: SqliteStore; // as a server opens it
  let other: SqliteStore; // another process on the same file

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'enrollgraph-cache-'));
    server = openSqliteStore(dir, { readCache: true });
    other = openSqliteStore(dir);
  });
  after(async () => {
    await server.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function newProfile(id: string, name: string) {
    return server.insertProfile({ tenantId: TENANT, id, displayName: name, description: null, nowUs: 1_000_000, tokenExpiresUs: MIN_US });
  }

  it('hands out the same record while nothing changed', async () => {
    await newProfile('p1', 'one');
    server.beginRequest();
    const a = await server.getProfile(TENANT, 'p1');
    server.beginRequest();
    const b = await server.getProfile(TENANT, 'p1');
    assert.equal(a?.displayName, 'one');
    assert.equal(a, b, 'the same object: the cache answered');
    assert.ok(Object.isFrozen(a));
  });

  it("sees its own writes on the next read, even within one request", async () => {
    server.beginRequest();
    assert.equal((await server.getProfile(TENANT, 'p1'))?.displayName, 'one');
    await server.updateProfile(TENANT, 'p1', { displayName: 'one, renamed' }, 2_000_000);
    assert.equal((await server.getProfile(TENANT, 'p1'))?.displayName, 'one, renamed');
    await server.setToken(TENANT, 'p1', 'ABCDEFGHIJKLMNOPQRST', 9_000_000, 2_000_001);
    assert.equal((await server.getProfile(TENANT, 'p1'))?.tokenValue, 'ABCDEFGHIJKLMNOPQRST');
    await server.deleteProfile(TENANT, 'p1');
    assert.equal(await server.getProfile(TENANT, 'p1'), undefined);
  });

  it('sees writes of the control plane on the same connection (reset, licences)', async () => {
    await newProfile('p2', 'two');
    server.beginRequest();
    assert.equal((await server.getTenant(TENANT)), undefined);
    assert.ok(await server.getProfile(TENANT, 'p2'));
    await server.setTenantLicensed(TENANT, false);
    assert.deepEqual(await server.getTenant(TENANT), { tenantId: TENANT, licensed: false });
    await new SqliteControlStore(server.db).replaceState(EMPTY_STATE);
    assert.equal(await server.getProfile(TENANT, 'p2'), undefined);
    assert.equal(await server.getTenant(TENANT), undefined);
  });

  it("sees another connection's commits from the next request on", async () => {
    await newProfile('p3', 'three');
    server.beginRequest();
    assert.equal((await server.getProfile(TENANT, 'p3'))?.displayName, 'three');
    assert.equal(await server.getTenant(TENANT), undefined);
    await other.updateProfile(TENANT, 'p3', { displayName: 'three, elsewhere' }, 3_000_000);
    await other.setTenantLicensed(TENANT, false);
    server.beginRequest();
    assert.equal((await server.getProfile(TENANT, 'p3'))?.displayName, 'three, elsewhere');
    assert.deepEqual(await server.getTenant(TENANT), { tenantId: TENANT, licensed: false });
    await other.deleteProfile(TENANT, 'p3');
    server.beginRequest();
    assert.equal(await server.getProfile(TENANT, 'p3'), undefined);
  });

  it("its own writes drop only what they change: the tenant and other profiles stay cached", async () => {
    await newProfile('p5', 'five');
    await newProfile('p6', 'six');
    server.beginRequest();
    const tenant = await server.getTenant(TENANT);
    assert.ok(tenant, 'the tenant has a licence row (set by the test before)');
    const six = await server.getProfile(TENANT, 'p6');
    await server.setToken(TENANT, 'p5', 'QRSTUVWXYZABCDEFGHIJ', 9_000_000, 4_000_000);
    server.beginRequest();
    assert.equal((await server.getProfile(TENANT, 'p5'))?.tokenValue, 'QRSTUVWXYZABCDEFGHIJ');
    assert.equal(await server.getTenant(TENANT), tenant);
    assert.equal(await server.getProfile(TENANT, 'p6'), six);
    // Concurrent writes commit as one group; each still sees its own result.
    const [a, b] = await Promise.all([
      server.updateProfile(TENANT, 'p5', { displayName: 'five, again' }, 5_000_000),
      server.updateProfile(TENANT, 'p6', { displayName: 'six, again' }, 5_000_000),
    ]);
    assert.equal(a?.displayName, 'five, again');
    assert.equal(b?.displayName, 'six, again');
    assert.equal((await server.getProfile(TENANT, 'p6'))?.displayName, 'six, again');
    // One failing write in a group (a token another profile holds) leaves the others committed.
    const [dup, ok] = await Promise.all([
      server.setToken(TENANT, 'p6', 'QRSTUVWXYZABCDEFGHIJ', 9_000_000, 6_000_000),
      server.updateProfile(TENANT, 'p6', { displayName: 'six, third' }, 6_000_000),
    ]);
    assert.equal(dup, 'duplicate');
    assert.equal(ok?.displayName, 'six, third');
    const stored = await other.getProfile(TENANT, 'p6');
    assert.equal(stored?.displayName, 'six, third');
    assert.equal(stored?.tokenValue, null);
  });

  it("does not mistake another connection's commit for its own when both write", async () => {
    await newProfile('p7', 'seven');
    await newProfile('p8', 'eight');
    server.beginRequest();
    assert.equal((await server.getProfile(TENANT, 'p7'))?.displayName, 'seven');
    await other.updateProfile(TENANT, 'p7', { displayName: 'seven, elsewhere' }, 7_000_000);
    await server.updateProfile(TENANT, 'p8', { displayName: 'eight, here' }, 7_000_001);
    server.beginRequest();
    assert.equal((await server.getProfile(TENANT, 'p7'))?.displayName, 'seven, elsewhere');
    // And the other way round: our commit, then theirs.
    await server.updateProfile(TENANT, 'p8', { displayName: 'eight, again' }, 8_000_000);
    await other.updateProfile(TENANT, 'p7', { displayName: 'seven, third' }, 8_000_001);
    server.beginRequest();
    assert.equal((await server.getProfile(TENANT, 'p7'))?.displayName, 'seven, third');
    assert.equal((await server.getProfile(TENANT, 'p8'))?.displayName, 'eight, again');
  });

  it('a store without the cache reads the database every time', async () => {
    await newProfile('p4', 'four');
    const a = await other.getProfile(TENANT, 'p4');
    const b = await other.getProfile(TENANT, 'p4');
    assert.deepEqual(a, b);
    assert.notEqual(a, b);
  });
});
