/**
 * The SQLite data directory stays bounded under writes that never pause: SQLite's own
 * wal_autocheckpoint and journal_size_limit (src/store/sqlite.ts) keep the WAL from growing with
 * every commit. What a user sees is the size of the directory on disk, sampled while a storm of
 * createToken calls runs; without checkpoints the WAL would grow by some pages per commit (tens of
 * megabytes for this storm). SQLite only: the PostgreSQL pass skips it.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { call, createProfile, PROFILES, startTenantServer } from '../helpers.js';
import { TEST_STORE } from '../pg-helpers.js';

const WRITES = 12_000;
/** The WAL may reach its limit (16 MiB) plus a checkpoint's worth of frames; the database itself is small. */
const BOUND_BYTES = 40 * 1024 * 1024;

const dirBytes = (dir: string) => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);

describe('SQLite under a write storm', { skip: TEST_STORE === 'postgres' && 'SQLite only' }, () => {
  it(`keeps the data directory under ${BOUND_BYTES / 2 ** 20} MB through ${WRITES} createToken calls`, async () => {
    const { server, token } = await startTenantServer();
    try {
      const ids = await Promise.all(Array.from({ length: 8 }, async (_, i) => (await createProfile(server.url, token, { displayName: `storm ${i}` })).id as string));
      let done = 0;
      let largest = 0;
      const worker = async (w: number) => {
        while (done < WRITES) {
          const n = done++;
          const res = await call(server.url, 'POST', `${PROFILES}/${ids[(n + w) % ids.length]}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } });
          assert.equal(res.status, 204, res.text);
          if (n % 250 === 0) largest = Math.max(largest, dirBytes(server.dataDir));
        }
      };
      await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
      largest = Math.max(largest, dirBytes(server.dataDir));
      assert.ok(largest < BOUND_BYTES, `the data directory reached ${(largest / 2 ** 20).toFixed(1)} MB`);
    } finally {
      await server.dispose();
    }
  });
});
