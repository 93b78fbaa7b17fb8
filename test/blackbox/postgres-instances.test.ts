/**
 * Two server instances on one PostgreSQL database: they agree on the signing key, each sees the
 * other's writes at once, and interleaved createToken / revokeToken / PATCH / device enrollment calls
 * on the same profiles through both leave every profile consistent (no lost update; token value,
 * expiry and QR code from one call; every enrollment counted exactly once).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { call, cli, createProfile, newTenant, PROFILES, startServer, type Call, type TestServer } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../pg-helpers.js';
import { decodeQrPng } from '../qr-decode.js';
import { parseIsoToUs } from '../../src/time.js';

const EXTRAS = 'android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE';
const TOKEN_KEY = 'com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN';
/** Each instance stamps times with its own clock: allow for a small skew between processes (µs). */
const SKEW_US = 20_000;

/** The entity without the request-dependent context URL. */
function entity(res: Call): Record<string, unknown> {
  assert.equal(res.status, 200, res.text);
  const { '@odata.context': _context, ...rest } = res.json as Record<string, unknown>;
  return rest;
}

/** Runs `tasks` with at most `limit` in flight at once. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

describe('two instances on one PostgreSQL database', () => {
  let db: TestDatabase;
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    db = await createTestDatabase();
    // Started at the same moment on an empty database: both migrate and create the first key.
    // Refused enrollments (a token replaced meanwhile) must not lock the test's address out.
    const args = ['--enroll-failure-limit', '0'];
    [a, b] = await Promise.all([startServer({ database: db, args }), startServer({ database: db, args })]);
  });
  after(async () => {
    await Promise.all([a?.dispose(), b?.dispose()]);
    await db?.drop();
  });

  it('agree on one signing key: a token minted through either store is accepted by both', async () => {
    const store = await a.openStore();
    try {
      assert.equal((await store.listSigningKeys()).length, 1, 'racing first starts created exactly one key');
    } finally {
      await store.close();
    }
    const tenant = newTenant();
    const fromCli = (await cli(['token', '--tenant', tenant, '--database', db.url])).stdout.trim();
    for (const token of [await a.token({ tenantId: tenant }), await b.token({ tenantId: tenant }), fromCli]) {
      assert.equal((await call(a.url, 'GET', PROFILES, { token })).status, 200);
      assert.equal((await call(b.url, 'GET', PROFILES, { token })).status, 200);
    }
  });

  it('see each other\'s writes at once: create, read, paging, delete and licence state', async () => {
    const tenant = newTenant();
    const token = await a.token({ tenantId: tenant });
    const created = await Promise.all([1, 2, 3].map((i) => createProfile(i % 2 ? a.url : b.url, token, { displayName: `shared ${i}` })));
    for (const p of created) {
      assert.deepEqual(entity(await call(a.url, 'GET', `${PROFILES}/${p.id}`, { token })), entity(await call(b.url, 'GET', `${PROFILES}/${p.id}`, { token })));
    }
    // A skiptoken signed by one instance is accepted by the other (the secret derives from the shared key).
    const first = await call(a.url, 'GET', `${PROFILES}?$top=2&$orderby=displayName`, { token });
    assert.equal(first.status, 200, first.text);
    const next = new URL(first.json['@odata.nextLink']);
    const second = await call(b.url, 'GET', next.pathname + next.search, { token });
    assert.equal(second.status, 200, second.text);
    assert.deepEqual([...first.json.value, ...second.json.value].map((p: { displayName: string }) => p.displayName), ['shared 1', 'shared 2', 'shared 3']);

    assert.equal((await call(b.url, 'DELETE', `${PROFILES}/${created[0]!.id}`, { token })).status, 204);
    assert.equal((await call(a.url, 'GET', `${PROFILES}/${created[0]!.id}`, { token })).status, 404);

    assert.equal((await cli(['tenant', tenant, '--unlicensed', '--database', db.url])).code, 0);
    for (const s of [a, b]) assert.equal((await call(s.url, 'GET', PROFILES, { token })).status, 400);
    assert.equal((await cli(['tenant', tenant, '--licensed', '--database', db.url])).code, 0);
    for (const s of [a, b]) assert.equal((await call(s.url, 'GET', PROFILES, { token })).status, 200);
  });

  it('a licence change made anywhere, even in SQL by hand, reaches both instances at once', async () => {
    const tenant = newTenant();
    const token = await a.token({ tenantId: tenant });
    // Both instances have read (and may cache) the tenant's state.
    for (const s of [a, b]) assert.equal((await call(s.url, 'GET', PROFILES, { token })).status, 200);
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const expect = async (status: number, what: string) => {
      const until = Date.now() + 500;
      for (const s of [a, b]) {
        for (;;) {
          const res = await call(s.url, 'GET', PROFILES, { token });
          if (res.status === status) break;
          assert.ok(Date.now() < until, `${what}: ${s.url} still answers ${res.status}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };
    try {
      await sql.query('INSERT INTO tenants (tenant_id, licensed) VALUES ($1, false)', [tenant]);
      await expect(400, 'INSERT unlicensed');
      await sql.query('UPDATE tenants SET licensed = true WHERE tenant_id = $1', [tenant]);
      await expect(200, 'UPDATE licensed');
      await sql.query('UPDATE tenants SET licensed = false WHERE tenant_id = $1', [tenant]);
      await expect(400, 'UPDATE unlicensed');
      await sql.query('TRUNCATE tenants');
      await expect(200, 'TRUNCATE');
    } finally {
      await sql.end();
    }
  });

  it('interleaved createToken, revokeToken, PATCH and enrollments on the same profiles through both leave each profile consistent', async (t) => {
    const tenant = newTenant();
    const token = await a.token({ tenantId: tenant });
    const profiles = await Promise.all([1, 2, 3, 4].map((i) => createProfile(a.url, token, { displayName: `contended ${i}` })));
    for (const p of profiles) {
      assert.equal((await call(b.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } })).status, 204);
    }
    const startUs = Date.now() * 1000;
    // Each createToken asks for a validity of its own, 10,000 s apart, so the final expiry names the call.
    const STEP = 10_000;
    const KINDS = [
      'createToken', 'enroll', 'enroll', 'patch', 'enroll', 'enroll', 'enroll', 'revokeToken', 'enroll', 'patch',
      'createToken', 'enroll', 'enroll', 'enroll', 'patch', 'enroll', 'enroll', 'enroll', 'patch', 'enroll',
    ] as const;
    type Op = { profile: string; kind: (typeof KINDS)[number]; n: number };
    const ops: Op[] = [];
    for (const p of profiles) {
      for (let i = 0; i < 40; i++) ops.push({ profile: p.id, kind: KINDS[i % KINDS.length]!, n: ops.length });
    }
    /** Enrollments answered 200, by profile: the count each one reported. */
    const enrolled = new Map<string, number[]>(profiles.map((p) => [p.id, []]));
    for (let i = ops.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ops[i], ops[j]] = [ops[j]!, ops[i]!];
    }
    const names = new Set<string>();
    const descriptions = new Set<string>();
    const statuses = await pool(
      ops.map((op) => async () => {
        const base = op.n % 2 ? a.url : b.url;
        const path = `${PROFILES}/${op.profile}`;
        let res: Call;
        if (op.kind === 'enroll') {
          // A device scans the profile's current QR code; the token may be replaced before it enrolls.
          const current = await call(op.n % 2 ? b.url : a.url, 'GET', `${path}?$select=tokenValue`, { token });
          const value = current.json?.tokenValue as string | null;
          if (!value) return [op, 200, 'no token to enroll with'] as const;
          res = await call(base, 'POST', '/enrollment/android/enroll', { body: { enrollmentToken: value, serialNumber: `SN-${op.n}` } });
          if (res.status === 200) {
            assert.equal(res.json.profileId, op.profile);
            enrolled.get(op.profile)!.push(res.json.enrolledDeviceCount as number);
          } else {
            assert.equal(res.status, 403, res.text);
            assert.equal(res.json.error.code, 'InvalidEnrollmentToken');
            return [op, 200, 'refused: the token was replaced or revoked meanwhile'] as const;
          }
        } else if (op.kind === 'createToken') {
          res = await call(base, 'POST', `${path}/createToken`, { token, body: { tokenValidityInSeconds: STEP * (op.n + 1) } });
        } else if (op.kind === 'revokeToken') {
          res = await call(base, 'POST', `${path}/revokeToken`, { token });
        } else if (op.n % 4 < 2) {
          names.add(`name ${op.n}`);
          res = await call(base, 'PATCH', path, { token, body: { displayName: `name ${op.n}` } });
        } else {
          descriptions.add(`description ${op.n}`);
          res = await call(base, 'PATCH', path, { token, body: { description: `description ${op.n}` } });
        }
        return [op, res.status, res.text] as const;
      }),
      16,
    );
    for (const [op, status, text] of statuses) assert.equal(status, op.kind === 'enroll' ? 200 : 204, `${op.kind}: ${text}`);
    const totalEnrolled = [...enrolled.values()].reduce((n, xs) => n + xs.length, 0);
    t.diagnostic(`${ops.length} calls, ${totalEnrolled} enrollments counted`);
    assert.ok(totalEnrolled >= 10, `enough enrollments succeeded to mean something (${totalEnrolled})`);

    const store = await a.openStore();
    try {
      const tokens = new Set<string>();
      for (const p of profiles) {
        const viaA = entity(await call(a.url, 'GET', `${PROFILES}/${p.id}`, { token }));
        const viaB = entity(await call(b.url, 'GET', `${PROFILES}/${p.id}`, { token }));
        assert.deepEqual(viaA, viaB, 'both instances answer the same');
        const modifiedUs = parseIsoToUs(viaA.lastModifiedDateTime as string)!;
        const expiresUs = parseIsoToUs(viaA.tokenExpirationDateTime as string)!;
        assert.ok(viaA.displayName === p.displayName || names.has(viaA.displayName as string), `displayName ${viaA.displayName}`);
        assert.ok(viaA.description === null || descriptions.has(viaA.description as string), `description ${viaA.description}`);
        // Every enrollment counted once: the counts the enrollments reported are exactly 1..N.
        const counts = enrolled.get(p.id)!.sort((x, y) => x - y);
        assert.equal(viaA.enrolledDeviceCount, counts.length, 'enrolledDeviceCount = enrollments answered 200');
        assert.deepEqual(counts, counts.map((_, i) => i + 1), 'each enrollment got its own count');

        if (viaA.tokenValue === null) {
          assert.equal(viaA.qrCodeContent, null);
          assert.equal(viaA.qrCodeImage, null);
          assert.ok(expiresUs >= startUs - SKEW_US && expiresUs <= modifiedUs + SKEW_US, `a revoked token expires at the revocation instant: ${startUs} ${expiresUs} ${modifiedUs}`);
        } else {
          const value = viaA.tokenValue as string;
          assert.match(value, /^[A-Z]{20}$/);
          assert.ok(!tokens.has(value), 'token values are unique');
          tokens.add(value);
          const content = viaA.qrCodeContent as string;
          assert.equal((JSON.parse(content) as Record<string, Record<string, string>>)[EXTRAS]![TOKEN_KEY], value);
          const image = viaA.qrCodeImage as { type: string; value: string };
          assert.equal(decodeQrPng(image.value)?.text, content, 'the QR image is of this token');
          // The expiry names the createToken call that set this token; that call was on this profile.
          const n = Math.round((expiresUs - startUs) / 1e6 / STEP) - 1;
          const op = ops.find((o) => o.n === n);
          assert.ok(op && op.kind === 'createToken' && op.profile === p.id, `expiry ${viaA.tokenExpirationDateTime} matches no createToken of this profile`);
          const issuedUs = expiresUs - STEP * (n + 1) * 1e6;
          assert.ok(issuedUs >= startUs - SKEW_US && issuedUs <= modifiedUs + SKEW_US, 'the token was issued during the run, at or before the last change');
          const holder = await store.findToken(value);
          assert.equal(holder?.id, p.id);
          // A cached QR image, if any, belongs to the current token (saved conditionally).
          const byToken = holder && (await store.get(holder.def, holder.tenantId, holder.id));
          if (byToken?.qrCodeImage) assert.equal(byToken.qrCodeImage, image.value);
        }
      }
    } finally {
      await store.close();
    }
  });

  it('PATCHes of different properties through both instances at once lose no update', async () => {
    const token = await a.token();
    const p = await createProfile(a.url, token, { displayName: 'start' });
    for (let round = 0; round < 15; round++) {
      const [ra, rb] = await Promise.all([
        call(a.url, 'PATCH', `${PROFILES}/${p.id}`, { token, body: { displayName: `name ${round}` } }),
        call(b.url, 'PATCH', `${PROFILES}/${p.id}`, { token, body: { description: `description ${round}` } }),
      ]);
      assert.equal(ra.status, 204);
      assert.equal(rb.status, 204);
      const now = entity(await call(b.url, 'GET', `${PROFILES}/${p.id}`, { token }));
      assert.equal(now.displayName, `name ${round}`);
      assert.equal(now.description, `description ${round}`);
    }
  });
});
