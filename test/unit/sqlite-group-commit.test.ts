/**
 * SQLite's group commit: writes made in one event-loop turn commit together, and a token write
 * followed in the same group by another token write of the same profile is not run (its token would
 * be replaced in the same transaction). What each caller is told and what the file holds afterwards
 * must be what running the writes one by one would give.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore, replacedTokenWrites, type SqliteStore } from '../../src/store/sqlite.js';
import { MIN_US } from '../../src/time.js';

const TENANT = '5f2b8c1e-7a3d-4e6f-9b0c-1d2e3f4a5b6c';
const NOW = 1_800_000_000_000_000;
const EXPIRES = NOW + 3_600_000_000;

describe('replacedTokenWrites', () => {
  const t = (key: string) => ({ key, tokenWrite: true });
  const w = (key: string) => ({ key, tokenWrite: false });
  const any = { key: undefined, tokenWrite: false };

  it('replaces a token write by the next token write of the same profile', () => {
    assert.deepEqual([...replacedTokenWrites([t('a'), t('a')])], [1, -1]);
    assert.deepEqual([...replacedTokenWrites([t('a'), t('a'), t('a')])], [1, 2, -1]);
    assert.deepEqual([...replacedTokenWrites([t('a'), t('b'), t('a'), t('b')])], [2, 3, -1, -1]);
  });

  it('keeps a token write when another write of its profile comes next', () => {
    assert.deepEqual([...replacedTokenWrites([t('a'), w('a'), t('a')])], [-1, -1, -1]);
    assert.deepEqual([...replacedTokenWrites([w('a'), t('a')])], [-1, -1]);
    assert.deepEqual([...replacedTokenWrites([t('a')])], [-1]);
  });

  it('keeps every token write before a write that may touch any profile', () => {
    assert.deepEqual([...replacedTokenWrites([t('a'), any, t('a')])], [-1, -1, -1]);
    assert.deepEqual([...replacedTokenWrites([t('a'), t('a'), any, t('a'), t('a')])], [1, -1, -1, 4, -1]);
  });
});

describe('SQLite group commit', () => {
  let dir: string;
  let store: SqliteStore;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'enrollgraph-group-'));
    store = openSqliteStore(dir, { readCache: true });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function profile(id: string) {
    await store.insertProfile({ tenantId: TENANT, id, displayName: id, description: null, nowUs: NOW, tokenExpiresUs: MIN_US });
  }
  const token = (n: number) => `TOKEN${String(n).padStart(15, '0').replace(/\d/g, (d) => 'ABCDEFGHIJ'[Number(d)]!)}`;

  it('stores the last of several createToken writes of one profile made together; each caller is told ok', async () => {
    await profile('g1');
    const results = await Promise.all([1, 2, 3].map((n) => store.setToken(TENANT, 'g1', token(n), EXPIRES + n, NOW + n)));
    assert.deepEqual(results, ['ok', 'ok', 'ok']);
    const stored = await store.getProfile(TENANT, 'g1');
    assert.equal(stored?.tokenValue, token(3));
    assert.equal(stored?.tokenExpiresUs, EXPIRES + 3);
    assert.equal(await store.findProfileByToken(token(1)), undefined, 'a replaced token never reaches the file');
    assert.equal(await store.findProfileByToken(token(2)), undefined);
    assert.equal((await store.findProfileByToken(token(3)))?.id, 'g1');
  });

  it('runs a token write that another write of the profile follows: revoke in between wins over the earlier token', async () => {
    await profile('g2');
    const [first, revoked, second, revokedAgain] = await Promise.all([
      store.setToken(TENANT, 'g2', token(11), EXPIRES, NOW),
      store.revokeToken(TENANT, 'g2', NOW + 1),
      store.setToken(TENANT, 'g2', token(12), EXPIRES, NOW + 2),
      store.revokeToken(TENANT, 'g2', NOW + 3),
    ]);
    assert.deepEqual([first, revoked, second, revokedAgain], ['ok', true, 'ok', true]);
    assert.equal((await store.getProfile(TENANT, 'g2'))?.tokenValue, null);
  });

  it('tells every replaced write of a missing profile not-found', async () => {
    const results = await Promise.all([21, 22].map((n) => store.setToken(TENANT, 'absent', token(n), EXPIRES, NOW)));
    assert.deepEqual(results, ['not-found', 'not-found']);
  });

  it('keeps the writes of other profiles in the group apart', async () => {
    await profile('g3');
    await profile('g4');
    const results = await Promise.all([
      store.setToken(TENANT, 'g3', token(31), EXPIRES, NOW),
      store.setToken(TENANT, 'g4', token(41), EXPIRES, NOW),
      store.setToken(TENANT, 'g3', token(32), EXPIRES, NOW),
      store.updateProfile(TENANT, 'g4', { displayName: 'four' }, NOW + 1),
      store.setToken(TENANT, 'g4', token(42), EXPIRES, NOW + 2),
    ]);
    assert.deepEqual(results.map((r) => (typeof r === 'object' ? r?.displayName : r)), ['ok', 'ok', 'ok', 'four', 'ok']);
    const [g3, g4] = [await store.getProfile(TENANT, 'g3'), await store.getProfile(TENANT, 'g4')];
    assert.equal(g3?.tokenValue, token(32));
    assert.equal(g4?.tokenValue, token(42));
    assert.equal(g4?.displayName, 'four');
  });

  it('a collision with another profile\'s token fails only that write, and only when it is not replaced', async () => {
    await profile('g5');
    await profile('g6');
    await store.setToken(TENANT, 'g5', token(51), EXPIRES, NOW);
    const results = await Promise.all([
      store.setToken(TENANT, 'g6', token(51), EXPIRES, NOW), // g5's token, but replaced by the next: never written
      store.setToken(TENANT, 'g6', token(61), EXPIRES, NOW),
      store.setToken(TENANT, 'g5', token(52), EXPIRES, NOW),
      store.updateProfile(TENANT, 'g5', { displayName: 'five' }, NOW),
      store.setToken(TENANT, 'g5', token(61), EXPIRES, NOW), // g6's new token: a real collision
    ]);
    assert.deepEqual(results.map((r) => (typeof r === 'object' ? r?.displayName : r)), ['ok', 'ok', 'ok', 'five', 'duplicate']);
    assert.equal((await store.getProfile(TENANT, 'g5'))?.tokenValue, token(52));
    assert.equal((await store.getProfile(TENANT, 'g6'))?.tokenValue, token(61));
  });
});
