/** Unit tests of the authority's building blocks and of TLS certificate handling. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OAuthError } from '../../src/authority/errors.js';
import { IdentityDirectory, isDomainName, tenantIdForDomain, uuidV5, validateIdentityFile, type IdentityFile } from '../../src/authority/identities.js';
import { checkPair, createSelfSignedCertificate, loadOrCreateTls } from '../../src/tls.js';
import { tempDir } from '../helpers.js';

test('name-based UUIDs follow RFC 4122 version 5', () => {
  // The RFC's DNS namespace example, as every v5 implementation computes it.
  assert.equal(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  assert.equal(tenantIdForDomain('Contoso.COM'), tenantIdForDomain('contoso.com'));
  assert.notEqual(tenantIdForDomain('contoso.com'), tenantIdForDomain('fabrikam.com'));
});

test('tenant names: GUIDs and domains; anything else is refused', () => {
  assert.ok(isDomainName('contoso.onmicrosoft.com'));
  assert.ok(!isDomainName('beta'));
  assert.ok(!isDomainName('bad_name.com'));
  const open = IdentityDirectory.open();
  assert.equal(open.resolveTenant('Contoso.com'), tenantIdForDomain('contoso.com'));
  assert.equal(open.resolveTenant('organizations'), undefined);
  assert.throws(() => open.resolveTenant('no tenant'), (e: unknown) => e instanceof OAuthError && e.aadsts === 900023);
});

test('the identity file is validated with messages that name the field', () => {
  const bad = (file: unknown, message: RegExp) => assert.throws(() => validateIdentityFile(file as IdentityFile, 'f.yaml'), message);
  bad({ tenants: [{ id: 'nope' }] }, /tenants\[0\]\.id: 'nope' is not a GUID/);
  bad({ tenants: [{ id: '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', domain: 'x.com' }] }, /unknown field 'domain'/);
  bad({ apps: [{ clientId: 'a' }] }, /apps\[0\]: give the app a secret/);
  bad({ users: [{ upn: 'x@y.com', password: 'p', tenant: 'y.com' }] }, /users\[0\]\.tenant: 'y.com' is not a tenant/);
  bad({ users: 'x' }, /users: expected a list/);
  const ok = validateIdentityFile(
    {
      tenants: [{ id: '6F1C3A52-8D5E-4B0E-9A55-1F0C2B7D4E10', domains: ['Contoso.com'], licensed: false }],
      apps: [{ clientId: 'app', secret: 's', applicationPermissions: 'A B' as unknown as string[] }],
      users: [{ upn: 'u@contoso.com', password: 'p', tenant: 'CONTOSO.com' }],
    },
    'f',
  );
  assert.equal(ok.tenants[0]!.id, '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10');
  assert.deepEqual(ok.tenants[0]!.domains, ['contoso.com']);
  assert.deepEqual(ok.apps[0]!.applicationPermissions, ['A', 'B'], 'a space-separated string is a list');
  const dir = IdentityDirectory.fromData(ok);
  assert.deepEqual(dir.licensing, [{ tenantId: '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', licensed: false }]);
  assert.equal(dir.user('6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', 'U@Contoso.com')?.checkPassword('p'), true, 'UPNs are case-insensitive');
});

test('generated certificates: local names, key matches, and renewal when about to expire', () => {
  const dir = join(tempDir('enrollgraph-tls-unit-'), 'tls');
  try {
    const first = loadOrCreateTls(dir);
    const x509 = new X509Certificate(first.cert);
    assert.equal(x509.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(x509.checkIssued(x509), 'self-signed');
    assert.ok(checkPair(first.cert, first.key).notAfter.getTime() > Date.now() + 700 * 86_400_000);
    assert.equal(first.certFile, join(dir, 'cert.pem'));
    assert.equal(loadOrCreateTls(dir).cert, first.cert, 'loaded, not made again');
    // A certificate that expires within a week is replaced at start.
    const old = createSelfSignedCertificate({ days: 3 });
    writeFileSync(join(dir, 'cert.pem'), old.cert);
    writeFileSync(join(dir, 'key.pem'), old.key);
    const renewed = loadOrCreateTls(dir);
    assert.notEqual(renewed.cert, old.cert);
    assert.equal(readFileSync(join(dir, 'cert.pem'), 'utf8'), renewed.cert);
    // A damaged pair (key of another certificate) is replaced too.
    writeFileSync(join(dir, 'key.pem'), createSelfSignedCertificate().key);
    const repaired = loadOrCreateTls(dir);
    checkPair(repaired.cert, repaired.key);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});

test('processes starting together on one data directory end up with the same certificate', async () => {
  const { spawn } = await import('node:child_process');
  const { ROOT } = await import('../helpers.js');
  const dir = join(tempDir('enrollgraph-tls-race-'), 'tls');
  const script = `import('./src/tls.ts').then((m) => console.log(m.loadOrCreateTls(${JSON.stringify(dir)}).cert))`;
  try {
    const certs = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<string>((resolve, reject) => {
            const p = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
            let out = '';
            p.stdout.on('data', (d: Buffer) => (out += d));
            p.on('error', reject);
            p.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}`))));
          }),
      ),
    );
    assert.equal(new Set(certs).size, 1, 'one certificate for all');
    assert.equal(readFileSync(join(dir, 'cert.pem'), 'utf8').trim(), certs[0]);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});
