import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { snapshotText, toSnapshot } from '../../src/control/snapshot.js';
import { androidForWorkEnrollmentProfile as def } from '../../src/model/androidForWorkEnrollmentProfile.js';
import { EXPORT_PAGE_ROWS, type StateData, type StateReader } from '../../src/store/control.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

const TENANTS = ['6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', '0a4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c'];

/** More records than a page holds, of two tenants, with and without tokens; devices, faults, a frozen clock. */
function bigState(n = EXPORT_PAGE_ROWS * 2 + 7): StateData {
  return {
    clock: { frozenUs: 1_893_456_000_123_456, offsetUs: 0 },
    tenants: [{ tenantId: TENANTS[1]!, licensed: false }, { tenantId: TENANTS[0]!, licensed: true }],
    entities: {
      [def.typeName]: Array.from({ length: n }, (_, i) => ({
        tenantId: TENANTS[i % 2]!, id: `p${String(i).padStart(5, '0')}`, accountId: TENANTS[i % 2]!, displayName: `Kiosk "${i}" ✓`,
        description: i % 3 === 0 ? null : `line\nbreak ${i}`, createdDateTime: 1_893_456_000_000_000 + i, lastModifiedDateTime: 1_893_456_000_000_000 + i,
        tokenValue: i % 2 === 0 ? `T${String(i).padStart(19, '0')}` : null, tokenExpirationDateTime: 1_893_456_999_000_000, enrolledDeviceCount: i % 5,
      })),
    },
    devices: [{ deviceId: 'd1', tenantId: TENANTS[0]!, profileType: def.typeName, profileId: 'p00000', serialNumber: null, model: 'M', enrolledUs: 1_893_456_000_000_003 }],
    faults: [
      { id: 'f2', position: 1, spec: JSON.stringify({ operation: 'list', status: 429, retryAfter: 1 }), hits: 4 },
      { id: 'f1', position: 2, spec: JSON.stringify({ status: 500, nth: 3 }), hits: 0 },
    ],
  };
}

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += c;
  return out;
}

/** What GET /_admin/snapshot answered before it streamed: the whole document, stringified at once. */
function wholeDocument(state: StateData, takenAt: string): string {
  const { format, version, ...rest } = toSnapshot(state);
  return JSON.stringify({ format, version, takenAt, ...rest });
}

describe('streamed snapshot text', () => {
  for (const where of ['an in-memory database', 'a database file']) {
    it(`is the text of the whole document, page after page, from ${where}`, async () => {
      const dir = where === 'a database file' ? mkdtempSync(join(tmpdir(), 'enrollgraph-unit-')) : null;
      const store = openSqliteStore(dir);
      try {
        const control = await store.openControlStore();
        await control.replaceState(bigState());
        const state = await control.exportState();
        assert.equal(state.entities[def.typeName]!.length, EXPORT_PAGE_ROWS * 2 + 7);
        const streamed = await text(snapshotText(await control.readState(), '2030-01-01T00:00:00.0000000Z'));
        assert.equal(streamed, wholeDocument(state, '2030-01-01T00:00:00.0000000Z'));
        // Faults in position order, tenants by id.
        const doc = JSON.parse(streamed);
        assert.deepEqual(doc.faults.map((f: { id: string }) => f.id), ['f2', 'f1']);
        assert.deepEqual(doc.tenants.map((t: { tenantId: string }) => t.tenantId), [...TENANTS].sort());
      } finally {
        await store.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('reads one state: writes during the export are not in it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'enrollgraph-unit-'));
    const store = openSqliteStore(dir);
    try {
      const control = await store.openControlStore();
      await control.replaceState(bigState());
      const before = await control.exportState();
      const chunks = snapshotText(await control.readState(), 'x');
      const first = await chunks.next();
      // Meanwhile the store's own connection goes on writing.
      await control.replaceState({ ...bigState(3), faults: [] });
      await store.setTenantLicensed(TENANTS[0]!, false);
      const rest = await text(chunks);
      assert.equal((first.value as string) + rest, wholeDocument(before, 'x'));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes its reader when it ends, fails, or is abandoned before or after the first chunk', async () => {
    const reader = (fail = false) => {
      const r = {
        closed: 0,
        clock: { frozenUs: null, offsetUs: 0 },
        async *tenants() {
          yield [{ tenantId: TENANTS[0]!, licensed: true }];
          if (fail) throw new Error('store gone');
        },
        async *records() {
          yield Array.from({ length: EXPORT_PAGE_ROWS }, (_, i) => ({ tenantId: TENANTS[0]!, id: `${i}`.repeat(200), displayName: 'x' }));
        },
        async *devices() {},
        async *faults() {},
        async close() {
          r.closed++;
        },
      };
      return r satisfies StateReader;
    };
    const ended = reader();
    await text(snapshotText(ended, 't'));
    assert.ok(ended.closed >= 1);

    const failed = reader(true);
    await assert.rejects(text(snapshotText(failed, 't')), /store gone/);
    assert.ok(failed.closed >= 1);

    const untouched = reader();
    await snapshotText(untouched, 't').return!();
    assert.ok(untouched.closed >= 1);

    const started = reader();
    const chunks = snapshotText(started, 't');
    assert.equal((await chunks.next()).done, false);
    await chunks.return!();
    assert.ok(started.closed >= 1);
  });
});
