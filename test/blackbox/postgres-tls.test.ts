/**
 * `serve --tls --database URL` without --cert/--key: the generated certificate and its key are kept in
 * the database (control setting `tls_certificate`). Instances started together on an empty database
 * serve one certificate; a restarted instance reuses it; one in its last week is renewed once, by
 * whichever of several racing instances wins; `--workers` serves it too. Each process writes only the
 * certificate's PEM to a temporary file (printed at start, removed at stop) — never the key.
 * HTTPS trust comes only from that PEM (the `ca` of node:https, or NODE_EXTRA_CA_CERTS in a child
 * process), never from turning verification off.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { newTenant, PROFILES, startServer, type TestServer } from '../helpers.js';
import { createTestDatabase, type TestDatabase } from '../pg-helpers.js';
import { openPostgresControlStore } from '../../src/store/postgres-control.js';
import { openStore } from '../../src/server.js';
import { checkPair, createSelfSignedCertificate, loadOrCreateStoredPair, TLS_SETTING } from '../../src/tls.js';

interface HttpsResult {
  status: number;
  body: string;
  fingerprint: string;
}

/** A GET over https that trusts exactly `ca` (plus the system roots). */
function httpsGet(url: string, ca: string | undefined, headers: Record<string, string> = {}): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'GET', headers, ...(ca !== undefined ? { ca } : {}) }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

/** The certificate file a server printed at start (waits for the line: it follows the "serving" line). */
async function printedCertFile(server: TestServer): Promise<string> {
  for (let i = 0; i < 100 && !server.output().includes('TLS certificate: '); i++) await new Promise((r) => setTimeout(r, 20));
  const m = /TLS certificate: (\S+) \(clients trust it with NODE_EXTRA_CA_CERTS=(\S+)\)/.exec(server.output());
  assert.ok(m, server.output());
  assert.equal(m[2], m[1]);
  return m[1]!;
}

/** The pair as stored in the database. */
async function storedPair(db: TestDatabase): Promise<{ cert: string; key: string } | undefined> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const row = (await c.query('SELECT value FROM control_settings WHERE name = $1', [TLS_SETTING])).rows[0] as { value: string } | undefined;
    return row && (JSON.parse(row.value) as { cert: string; key: string });
  } finally {
    await c.end();
  }
}

async function setStored(db: TestDatabase, pair: { cert: string; key: string }): Promise<void> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query('UPDATE control_settings SET value = $2 WHERE name = $1', [TLS_SETTING, JSON.stringify(pair)]);
  } finally {
    await c.end();
  }
}

/** The base64 body of a PEM key (what would give it away, whatever its header). */
const keyBody = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

/** Checks that nothing the server printed — its output, the files it named, their directories — holds the key. */
function assertKeyNotPrinted(server: TestServer, certFile: string, key: string): void {
  const secret = keyBody(key);
  assert.ok(secret.length > 1000);
  assert.ok(!server.output().replace(/\s+/g, '').includes(secret.slice(0, 64)), 'the key is not in the output');
  assert.doesNotMatch(server.output(), /PRIVATE KEY/);
  assert.deepEqual(readdirSync(dirname(certFile)), ['cert.pem'], 'only the certificate is written');
  const text = readFileSync(certFile, 'utf8');
  assert.doesNotMatch(text, /PRIVATE KEY/);
  assert.ok(!text.replace(/\s+/g, '').includes(secret.slice(0, 64)));
}

/** SIGTERM (a graceful stop removes the temporary certificate; dispose() alone would SIGKILL), then dispose. */
async function stopAll(...servers: (TestServer | undefined)[]): Promise<void> {
  await Promise.all(servers.map(async (s) => {
    await s?.stop();
    await s?.dispose();
  }));
}

/** GET `url` from a fresh Node process whose only extra trust is NODE_EXTRA_CA_CERTS=`caFile`. */
function statusWithExtraCaCerts(url: string, caFile: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: caFile };
  delete env.NODE_TLS_REJECT_UNAUTHORIZED;
  const script = "require('node:https').get(process.argv[1], (r) => { console.log(r.statusCode); r.resume(); }).on('error', (e) => { console.log(e.code || e.message); })";
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', script, url], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.on('error', reject);
    p.on('close', () => resolve(out.trim()));
  });
}

describe('serve --tls --database: one certificate kept in the database', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  it('instances started together serve the same certificate; the key is only in the database; a restart reuses it', async () => {
    const [a, b] = await Promise.all([startServer({ database: db, args: ['--tls'] }), startServer({ database: db, args: ['--tls'] })]);
    try {
      assert.match(a.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const [fileA, fileB] = [await printedCertFile(a), await printedCertFile(b)];
      assert.notEqual(fileA, fileB, 'each process writes its own copy');
      const pem = readFileSync(fileA, 'utf8');
      assert.equal(readFileSync(fileB, 'utf8'), pem);

      const stored = await storedPair(db);
      assert.ok(stored, 'the pair is stored');
      assert.equal(stored.cert, pem);
      assert.match(stored.key, /^-----BEGIN PRIVATE KEY-----/);
      checkPair(stored.cert, stored.key);

      const tenant = newTenant();
      const token = await a.token({ tenantId: tenant });
      for (const s of [a, b]) {
        const health = await httpsGet(`${s.url}/healthz`, pem);
        assert.equal(health.status, 200);
        assert.equal(health.fingerprint, fingerprintOf(pem), `${s.url} serves the stored certificate`);
        assert.equal((await httpsGet(`${s.url.replace('127.0.0.1', 'localhost')}/healthz`, pem)).status, 200, 'valid for localhost too');
        assert.equal((await httpsGet(`${s.url}${PROFILES}`, pem, { Authorization: `Bearer ${token}` })).status, 200);
        // Verification stays on: without trusting the PEM the handshake fails.
        await assert.rejects(httpsGet(`${s.url}/healthz`, undefined), /self[- ]signed certificate/);
      }
      assert.equal(await statusWithExtraCaCerts(`${b.url}/healthz`, fileA), '200', 'the printed file works as NODE_EXTRA_CA_CERTS');
      assertKeyNotPrinted(a, fileA, stored.key);
      assertKeyNotPrinted(b, fileB, stored.key);

      // SIGTERM: each removes its temporary copy; the database keeps the pair.
      assert.equal(await a.stop(), 0);
      assert.equal(existsSync(fileA), false, 'temporary certificate removed at stop');
      assert.equal(existsSync(dirname(fileA)), false);
      assert.equal(existsSync(fileB), true, 'the other instance keeps its own');

      const again = await startServer({ database: db, args: ['--tls'] });
      try {
        const fileAgain = await printedCertFile(again);
        assert.equal(readFileSync(fileAgain, 'utf8'), pem, 'the restarted instance reuses the stored certificate');
        assert.equal((await httpsGet(`${again.url}/healthz`, pem)).fingerprint, fingerprintOf(pem));
        assert.deepEqual(await storedPair(db), stored, 'not replaced');
        assertKeyNotPrinted(again, fileAgain, stored.key);
        assert.equal(await again.stop(), 0);
        assert.equal(existsSync(fileAgain), false);
      } finally {
        await stopAll(again);
      }
      assert.equal(await b.stop(), 0);
      assert.equal(existsSync(fileB), false);
    } finally {
      await stopAll(a, b);
    }
  });

  it('a certificate with less than a week left is renewed once by instances starting together', async () => {
    const old = createSelfSignedCertificate({ days: 5 });
    await setStored(db, old);
    const [a, b] = await Promise.all([startServer({ database: db, args: ['--tls'] }), startServer({ database: db, args: ['--tls'] })]);
    try {
      const pem = readFileSync(await printedCertFile(a), 'utf8');
      assert.notEqual(pem, old.cert, 'renewed');
      assert.equal(readFileSync(await printedCertFile(b), 'utf8'), pem, 'both use the one renewed certificate');
      assert.equal((await storedPair(db))?.cert, pem);
      for (const s of [a, b]) assert.equal((await httpsGet(`${s.url}/healthz`, pem)).fingerprint, fingerprintOf(pem));
      assert.ok(new Date(new X509Certificate(pem).validTo).getTime() > Date.now() + 700 * 86_400_000);
    } finally {
      await stopAll(a, b);
    }
  });

  it('--workers: the primary prints a copy of the stored certificate, every worker serves it, the copy goes at stop', async () => {
    const server = await startServer({ database: db, args: ['--tls', '--workers', '2'] });
    try {
      const file = await printedCertFile(server);
      const pem = readFileSync(file, 'utf8');
      assert.equal((await storedPair(db))?.cert, pem);
      // Connections are spread over the workers: several requests reach both.
      for (let i = 0; i < 6; i++) assert.equal((await httpsGet(`${server.url}/healthz`, pem)).fingerprint, fingerprintOf(pem));
      assert.equal(await server.stop(), 0);
      assert.equal(existsSync(file), false, 'the primary removes its copy at stop');
    } finally {
      await stopAll(server);
    }
  });

  it('control stores racing on a fresh database create one pair, and renew it once (conditional replace)', async () => {
    const fresh = await createTestDatabase();
    try {
      await (await openStore({ kind: 'postgres', url: fresh.url })).close(); // migrate
      const stores = await Promise.all([1, 2, 3, 4].map(() => openPostgresControlStore({ url: fresh.url })));
      try {
        const created = await Promise.all(stores.map((s) => loadOrCreateStoredPair(s)));
        assert.equal(new Set(created.map((p) => p.cert)).size, 1, 'one pair for all');
        assert.equal((await storedPair(fresh))?.cert, created[0]!.cert);

        const old = createSelfSignedCertificate({ days: 1 });
        await setStored(fresh, old);
        const renewed = await Promise.all(stores.map((s) => loadOrCreateStoredPair(s)));
        assert.equal(new Set(renewed.map((p) => p.cert)).size, 1, 'one renewal for all');
        assert.notEqual(renewed[0]!.cert, old.cert);
        assert.equal((await storedPair(fresh))?.cert, renewed[0]!.cert);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    } finally {
      await fresh.drop();
    }
  });
});
