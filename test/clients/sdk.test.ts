/**
 * Acceptance suite with Microsoft's own client libraries, unchanged but for the base URL and the
 * authority: the Graph JS client v3 with MSAL and with Azure Identity over https, and the beta SDK
 * (Kiota) over http on 127.0.0.1 and over https with Azure Identity. Each runs the seven operations.
 *
 * TLS trust comes only from the certificate the server generated: each scenario runs in its own
 * process (test/clients/scenario.ts) started with NODE_EXTRA_CA_CERTS pointing at it. Nothing here
 * disables certificate verification.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tenantIdForDomain } from '../../src/authority/identities.js';
import { ROOT, RW, startServer, tempDir, type TestServer } from '../helpers.js';
import type { OperationsResult, ScenarioInput, ScenarioOutput, SeenError } from './scenario.js';

const SCENARIO = join(ROOT, 'test', 'clients', 'scenario.ts');
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Runs one scenario in a fresh Node process; `caFile` becomes its NODE_EXTRA_CA_CERTS. */
function runScenario(input: ScenarioInput, caFile?: string): Promise<ScenarioOutput> {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_TLS_REJECT_UNAUTHORIZED;
  if (caFile !== undefined) env.NODE_EXTRA_CA_CERTS = caFile;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', SCENARIO, JSON.stringify(input)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as ScenarioOutput);
      } catch {
        reject(new Error(`scenario ${input.kind} exited ${code} without a result:\n${out}\n${err}`));
      }
    });
  });
}

function operationsOf(out: ScenarioOutput): OperationsResult {
  if (!out.ok) throw new Error(out.error);
  assert.ok(out.operations, 'the scenario ran the operations');
  return out.operations;
}

function assertNotFound(e: SeenError, kind: string) {
  assert.equal(e.kind, kind);
  assert.equal(e.status, 404);
  assert.equal(e.code, 'ResourceNotFound');
  assert.match(e.requestId ?? '', GUID);
  assert.equal(e.requestId, e.headerRequestId, "the error's request id is the response's request-id");
}

/** The seven operations' results, as any client saw them. */
function assertOperations(r: OperationsResult, tenantId: string, errorKind: string) {
  // create
  assert.match(r.created.id, GUID);
  assert.equal(r.created.accountId, tenantId, 'the profile belongs to the tenant of the token');
  assert.equal(r.created.tokenValue, null);
  assert.equal(r.created.qrPngBytes, 0);
  // list
  assert.ok(r.listedIds.includes(r.created.id), 'list shows the new profile');
  // get
  assert.equal(r.got.id, r.created.id);
  assert.equal(r.got.displayName, r.created.displayName);
  assert.equal(r.got.description, r.created.description);
  // update: 204 with no body, as Intune answers; the client takes it and returns nothing
  assert.equal(r.updated, null, 'PATCH answered 204 without a body');
  // createToken: 204, nothing returned; a GET shows the token and its QR code
  assert.equal(r.createTokenReturned, 'undefined');
  const t = r.afterCreateToken;
  assert.match(t.displayName ?? '', /\(renamed\)$/, 'the update was kept');
  assert.match(t.tokenValue ?? '', /^[A-Z]{20}$/);
  assert.ok(t.qrCodeContent?.includes(t.tokenValue!), 'qrCodeContent carries the token');
  const qr = JSON.parse(t.qrCodeContent!) as Record<string, Record<string, string>>;
  assert.equal(qr['android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE']?.['com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN'], t.tokenValue);
  assert.ok(t.qrPngBytes > 100, 'a PNG QR image');
  const expiresIn = (Date.parse(t.tokenExpirationDateTime ?? '') - Date.now()) / 1000;
  assert.ok(expiresIn > 3300 && expiresIn <= 3601, `token expires in about an hour (${expiresIn} s)`);
  // revokeToken
  assert.equal(r.afterRevoke.tokenValue, null);
  assert.equal(r.afterRevoke.qrCodeContent, null);
  assert.equal(r.afterRevoke.qrPngBytes, 0);
  // delete, then the profile is gone; an unknown id is the same 404
  assert.equal(r.deleteReturned, 'undefined');
  assertNotFound(r.afterDelete, errorKind);
  assertNotFound(r.unknownId, errorKind);
}

describe('Microsoft client libraries against Enrollgraph', () => {
  const dir = tempDir('enrollgraph-clients-');
  const domain = `contoso-${randomUUID().slice(0, 8)}.test`;
  const tenantId = randomUUID();
  const app = { clientId: randomUUID(), secret: `s3cret-${randomUUID()}` };
  const publicApp = randomUUID();
  const user = { username: `admin@${domain}`, password: 'P@ssw0rd-1' };
  const openDomain = `open-${randomUUID().slice(0, 8)}.test`;
  let strict: TestServer;
  let open: TestServer;
  let certFile: string;
  let openToken: string;
  const results = new Map<string, Promise<ScenarioOutput>>();

  before(async () => {
    const identities = join(dir, 'identities.yaml');
    writeFileSync(
      identities,
      [
        'tenants:',
        `  - id: ${tenantId}`,
        `    domains: [${domain}]`,
        'apps:',
        `  - clientId: ${app.clientId}`,
        '    displayName: Provisioning pipeline',
        `    secrets: [${app.secret}]`,
        `    applicationPermissions: [${RW}]`,
        `    delegatedScopes: [${RW}]`,
        `  - clientId: ${publicApp}`,
        '    publicClient: true',
        `    delegatedScopes: [${RW}]`,
        'users:',
        `  - upn: ${user.username}`,
        `    password: ${user.password}`,
        `    tenant: ${domain}`,
        '',
      ].join('\n'),
    );
    [strict, open] = await Promise.all([
      // SQLite pinned even on PostgreSQL test runs: a generated certificate lives in a data directory.
      startServer({ storage: 'none', dataDir: join(dir, 'data'), args: ['--data', join(dir, 'data'), '--tls', '--allow-app-only', '--identities', identities] }),
      startServer({ storage: 'none', args: ['--memory'] }),
    ]);
    certFile = join(strict.dataDir, 'tls', 'cert.pem');
    assert.match(strict.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    for (let i = 0; i < 50 && !strict.output().includes('OAuth authority'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(strict.output().includes(`TLS certificate: ${certFile}`), 'the banner names the certificate');

    // Kiota over plain http: a delegated token from the open server's own authority.
    const res = await fetch(`${open.url}/${openDomain}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', client_id: randomUUID(), username: `it@${openDomain}`, password: 'any', scope: `https://graph.microsoft.com/${RW} openid profile offline_access` }),
    });
    assert.equal(res.status, 200);
    openToken = ((await res.json()) as { access_token: string }).access_token;

    const https = { server: strict.url, tenant: domain, clientId: app.clientId, clientSecret: app.secret };
    const scenarios: [string, ScenarioInput, string | undefined][] = [
      ['v3-msal', { kind: 'v3-msal', ...https }, certFile],
      ['v3-msal-user', { kind: 'v3-msal-user', ...https, user }, certFile],
      ['v3-identity', { kind: 'v3-identity', ...https, tenant: tenantId }, certFile],
      ['kiota-token', { kind: 'kiota-token', server: open.url, tenant: openDomain, token: openToken }, undefined],
      ['kiota-identity-user', { kind: 'kiota-identity-user', server: strict.url, tenant: tenantId, clientId: publicApp, user }, certFile],
      [
        'oauth-probes',
        { kind: 'oauth-probes', ...https, user, unknownTenant: 'fabrikam.test', ungrantedScope: 'https://graph.microsoft.com/User.Read' },
        certFile,
      ],
    ];
    // All client processes run at once; each test awaits its own.
    for (const [name, input, ca] of scenarios) {
      const p = runScenario(input, ca);
      p.catch(() => undefined);
      results.set(name, p);
    }
  });

  after(async () => {
    await Promise.allSettled([...results.values()]);
    await Promise.all([strict?.dispose(), open?.dispose()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('Graph client v3 over https + MSAL client credentials (app-only, --allow-app-only)', async () => {
    assertOperations(operationsOf(await results.get('v3-msal')!), tenantId, 'GraphError');
  });

  test('Graph client v3 over https + MSAL username/password (delegated)', async () => {
    assertOperations(operationsOf(await results.get('v3-msal-user')!), tenantId, 'GraphError');
  });

  test('Graph client v3 over https + Azure Identity ClientSecretCredential', async () => {
    assertOperations(operationsOf(await results.get('v3-identity')!), tenantId, 'GraphError');
  });

  test('beta SDK (Kiota) over http on 127.0.0.1 with a token from the open authority', async () => {
    assertOperations(operationsOf(await results.get('kiota-token')!), tenantIdForDomain(openDomain), 'ODataError');
  });

  test('beta SDK (Kiota) over https + Azure Identity UsernamePasswordCredential (public client)', async () => {
    assertOperations(operationsOf(await results.get('kiota-identity-user')!), tenantId, 'ODataError');
  });

  test('beta SDK (Kiota) retries a 429 with Retry-After: 1 and then succeeds', async () => {
    const token = openToken;
    const rule = await open.admin('POST', '/_admin/faults', { operation: 'list', tenant: tenantIdForDomain(openDomain), status: 429, retryAfter: 1, nth: 1 });
    assert.equal(rule.status, 201, rule.text);
    const out = await runScenario({ kind: 'kiota-retry', server: open.url, tenant: openDomain, token });
    assert.ok(out.ok, out.ok ? '' : out.error);
    assert.ok(out.retry, 'the scenario listed');
    assert.ok(out.retry.elapsedMs >= 1000, `the SDK waited for Retry-After (${out.retry.elapsedMs} ms)`);
    const journal = await open.admin('GET', `/_admin/requests?tenant=${tenantIdForDomain(openDomain)}`);
    const lists = (journal.json.value as { operation: string; status: number }[]).filter((r) => r.operation === 'list').slice(-2);
    assert.deepEqual(lists.map((r) => r.status), [429, 200], 'first try throttled, the retry served');
    await open.admin('DELETE', '/_admin/faults');
  });

  test('MSAL and Azure Identity: tokens, cache, on-behalf-of and OAuth errors from the authority', async () => {
    const out = await results.get('oauth-probes')!;
    if (!out.ok) throw new Error(out.error);
    const p = out.probes as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

    const cc = p.clientCredentials;
    assert.deepEqual(cc.claims.roles, [RW]);
    assert.equal(cc.claims.tid, tenantId);
    assert.equal(cc.claims.appid, app.clientId);
    assert.equal(cc.claims.idtyp, 'app');
    assert.equal(cc.claims.iss, `https://sts.windows.net/${tenantId}/`);
    assert.equal(cc.claims.aud, 'https://graph.microsoft.com');
    assert.equal(cc.fromCache, true, "MSAL's second call is served from its cache");

    const pw = p.password;
    assert.equal(pw.claims.scp, RW);
    assert.equal(pw.claims.upn, user.username);
    assert.equal(pw.claims.idtyp, 'user');
    assert.match(pw.claims.oid, GUID);
    assert.equal(pw.account.homeAccountId, `${pw.claims.oid}.${tenantId}`, 'MSAL built the account from client_info');
    assert.equal(pw.account.tenantId, tenantId);
    assert.equal(pw.account.username, user.username);
    assert.equal(pw.idTokenClaims.aud, app.clientId);

    const obo = p.onBehalfOf;
    assert.equal(obo.apiClaims.aud, `api://${app.clientId}`);
    assert.equal(obo.claims.aud, 'https://graph.microsoft.com');
    assert.equal(obo.claims.oid, pw.claims.oid, 'on-behalf-of keeps the user');
    assert.equal(obo.claims.upn, user.username);
    assert.equal(obo.claims.appid, app.clientId);
    assert.equal(obo.claims.scp, RW);

    assert.deepEqual(p.azureIdentity.claims.roles, [RW]);

    const failed = (name: string, errorCode: string, aadsts: string) => {
      const r = p[name];
      assert.equal(r.ok, false, `${name} must fail`);
      assert.equal(r.error.errorCode, errorCode, `${name}: ${JSON.stringify(r.error)}`);
      assert.match(r.error.message, new RegExp(aadsts), name);
    };
    failed('wrongSecret', 'invalid_client', 'AADSTS7000215');
    failed('wrongPassword', 'invalid_grant', 'AADSTS50126');
    failed('unknownUser', 'invalid_grant', 'AADSTS50034');
    failed('ungrantedScope', 'invalid_scope', 'AADSTS65001');
    // MSAL first reads the unknown tenant's metadata, which the authority refuses.
    assert.equal(p.unknownTenant.ok, false);
    assert.match(JSON.stringify(p.unknownTenant.error), /endpoints_resolution_error|AADSTS90002/);
    assert.equal(p.identityWrongSecret.ok, false);
    assert.match(p.identityWrongSecret.error.message, /invalid_client|AADSTS7000215/);
  });
});
