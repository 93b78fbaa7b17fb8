/**
 * Background WAL checkpoints keep the WAL bounded while writes never stop (a PASSIVE checkpoint alone
 * let it grow for as long as the writes went on), and every acknowledged write is in the database.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore, SQLITE_FILE, type SqliteStore } from '../../src/store/sqlite.js';
import { MIN_US } from '../../src/time.js';

const TENANT = '7d3e1f20-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
const PAGE = 4096;
const RESTART_FRAMES = 256;

/** A distinct 20-letter token: `prefix` and then the digits of `n` spelled as letters. */
const token = (prefix: string, n: number) => `${prefix}${String(n).padStart(19, '0')}`.replace(/\d/g, (d) => 'ABCDEFGHIJ'[Number(d)]!);

describe('SQLite background checkpoints', () => {
  let dir: string;
  let store: SqliteStore;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'enrollgraph-ckpt-'));
    store = openSqliteStore(dir, { backgroundCheckpoints: { intervalMs: 10, restartFrames: RESTART_FRAMES } });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('start the WAL over under writes that never pause, so it stops growing', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `p${i}`);
    for (const id of ids) {
      await store.insertProfile({ tenantId: TENANT, id, displayName: id, description: null, nowUs: 1, tokenExpiresUs: MIN_US });
    }
    const wal = () => statSync(join(dir, `${SQLITE_FILE}-wal`)).size;
    let largest = 0;
    let commits = 0;
    const started = Date.now();
    // ~1.5 s of back-to-back group commits (each writes 2 pages or more): far past the limit if never restarted.
    while (Date.now() - started < 1500) {
      const n = commits++;
      assert.equal(await store.setToken(TENANT, ids[n % ids.length]!, token('T', n), 2, 1), 'ok');
      if (n % 50 === 0) largest = Math.max(largest, wal());
    }
    const written = commits * 2 * PAGE;
    assert.ok(written > 16 * RESTART_FRAMES * PAGE, `only ${commits} commits: too few to tell`);
    // Unbounded, the WAL holds everything written; bounded, it holds what arrives while one checkpoint runs.
    assert.ok(largest < written / 4, `the WAL reached ${largest} bytes after ${commits} commits (${written} bytes of pages written)`);

    // Every acknowledged write is there, whatever the checkpoints did.
    await sleep(50);
    const last = commits - 1;
    assert.equal((await store.getProfile(TENANT, ids[last % ids.length]!))?.tokenValue, token('T', last));
  });

  it("another connection's long read neither stalls the writer nor loses a write; the WAL starts over once it ends", async () => {
    const reader = new Database(join(dir, SQLITE_FILE));
    try {
      reader.prepare('BEGIN').run();
      reader.prepare('SELECT count(*) FROM schema_migrations').get(); // holds a read snapshot of the WAL
      const wal = () => statSync(join(dir, `${SQLITE_FILE}-wal`)).size;
      const slowest = { ms: 0 };
      const started = Date.now();
      let n = 0;
      while (Date.now() - started < 600) {
        const t = performance.now();
        assert.equal(await store.setToken(TENANT, 'p0', token('R', n++), 2, 1), 'ok');
        slowest.ms = Math.max(slowest.ms, performance.now() - t);
      }
      // A RESTART that waited for the reader would hold a write for the whole busy timeout (5 s).
      assert.ok(slowest.ms < 250, `a write took ${Math.round(slowest.ms)} ms while another connection read`);
      reader.prepare('COMMIT').run();
      const held = wal();
      const after = Date.now();
      let restarted = false;
      while (!restarted && Date.now() - after < 3000) {
        await store.setToken(TENANT, 'p0', token('S', n++), 2, 1);
        restarted = wal() < held;
        await sleep(1);
      }
      assert.ok(restarted, `the WAL stayed at ${held} bytes or more after the reader ended`);
    } finally {
      reader.close();
    }
  });
});
