/**
 * The generated certificate kept in a store's settings (`loadOrCreateStoredPair`, used with
 * PostgreSQL): created once, reused, renewed in its last week, and processes racing to create or
 * renew it converge on one pair. Here on the SQLite control store (in memory); the same races on real
 * PostgreSQL connections are in test/blackbox/postgres-tls.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { ControlStore } from '../../src/store/control.js';
import { checkPair, createSelfSignedCertificate, loadOrCreateStoredPair, TLS_SETTING } from '../../src/tls.js';

const DAY_MS = 86_400_000;

function settings(): Promise<ControlStore> {
  return openSqliteStore(null).openControlStore();
}

/** The stored value as the server keeps it: cert and key in one JSON text. */
function stored(pair: { cert: string; key: string }): string {
  return JSON.stringify({ cert: pair.cert, key: pair.key });
}

describe('a generated certificate kept in the store', () => {
  it('is created on first use, stored with its key as one value, and reused', async () => {
    const store = await settings();
    const first = await loadOrCreateStoredPair(store);
    assert.ok(first.notAfter.getTime() > Date.now() + 700 * DAY_MS);
    assert.deepEqual(JSON.parse((await store.getSetting(TLS_SETTING))!), { cert: first.cert, key: first.key });
    checkPair(first.cert, first.key);
    const again = await loadOrCreateStoredPair(store);
    assert.equal(again.cert, first.cert, 'loaded, not made again');
    assert.equal(again.key, first.key);
  });

  it('racing first starts converge on the one pair that was stored first', async () => {
    const store = await settings();
    const pairs = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateStoredPair(store)));
    assert.equal(new Set(pairs.map((p) => p.cert)).size, 1, 'one certificate for all');
    assert.equal(new Set(pairs.map((p) => p.key)).size, 1);
    assert.equal((await store.getSetting(TLS_SETTING)), stored(pairs[0]!));
  });

  it('is renewed when less than a week is left, by one of several racing starts', async () => {
    const store = await settings();
    const old = createSelfSignedCertificate({ days: 6 });
    await store.initSetting(TLS_SETTING, stored(old));
    const pairs = await Promise.all([1, 2, 3].map(() => loadOrCreateStoredPair(store)));
    assert.equal(new Set(pairs.map((p) => p.cert)).size, 1, 'one renewed certificate for all');
    assert.notEqual(pairs[0]!.cert, old.cert);
    assert.equal(await store.getSetting(TLS_SETTING), stored(pairs[0]!));
    // Eight days left is still fine.
    const fine = createSelfSignedCertificate({ days: 8 });
    const other = await settings();
    await other.initSetting(TLS_SETTING, stored(fine));
    assert.equal((await loadOrCreateStoredPair(other)).cert, fine.cert);
  });

  it('does not replace a pair another process renewed after this one read the old one', async () => {
    const store = await settings();
    const old = createSelfSignedCertificate({ days: 2 });
    const renewedElsewhere = createSelfSignedCertificate();
    await store.initSetting(TLS_SETTING, stored(renewedElsewhere));
    // This process read the old pair just before the other one replaced it.
    let reads = 0;
    const late = {
      getSetting: async (name: string) => (reads++ === 0 ? stored(old) : store.getSetting(name)),
      initSetting: store.initSetting.bind(store),
      replaceSetting: store.replaceSetting.bind(store),
    };
    const got = await loadOrCreateStoredPair(late);
    assert.equal(got.cert, renewedElsewhere.cert, 'uses the pair the other process stored');
    assert.equal(await store.getSetting(TLS_SETTING), stored(renewedElsewhere), 'the conditional replace changed nothing');
  });

  it('replaces an unusable stored value; an error never quotes the key', async () => {
    for (const bad of ['not json', JSON.stringify({ cert: 'x' }), stored({ cert: createSelfSignedCertificate().cert, key: createSelfSignedCertificate().key })]) {
      const store = await settings();
      await store.initSetting(TLS_SETTING, bad);
      const got = await loadOrCreateStoredPair(store);
      checkPair(got.cert, got.key);
      assert.equal(await store.getSetting(TLS_SETTING), stored(got));
    }
    // A store where nothing sticks and an unusable pair (with a real key in it) stays: a clear error without the key.
    const junk = stored({ cert: createSelfSignedCertificate({ days: 1 }).cert, key: createSelfSignedCertificate().key });
    const stuck = { getSetting: async () => junk, initSetting: async () => junk, replaceSetting: async () => junk };
    await assert.rejects(loadOrCreateStoredPair(stuck), (err: Error) => {
      assert.match(err.message, /stayed unusable/);
      assert.doesNotMatch(err.message, /PRIVATE KEY|MII/);
      return true;
    });
  });
});
