/**
 * Acceptance suite with Microsoft's own client libraries, unchanged but for the base URL and the
 * authority: the Graph JS client v3 with MSAL and with Azure Identity over https, and the beta SDK
 * (Kiota) over http on 127.0.0.1 and over https with Azure Identity. Each runs the seven operations.
 *
 * TLS trust comes only from the certificate the server generated: each scenario runs in its own
 * process (test/clients/scenario.ts) started with NODE_EXTRA_CA_CERTS pointing at it. Nothing here
 * disables certificate verification.
 *
 * The Android Enterprise family runs through both clients too, over https with delegated tokens:
 * device-owner profiles in the main tenant, and the Managed Google Play binding in a tenant of its
 * own per client (unbinding there would refuse the device-owner scenarios' GMS-mode tokens).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import {
  AndroidDeviceOwnerEnrollmentModeObject as Mode,
  AndroidDeviceOwnerEnrollmentTokenTypeObject as TokenType,
  AndroidManagedStoreAccountAppSyncStatusObject as SyncStatus,
  AndroidManagedStoreAccountBindStatusObject as BindStatus,
  AndroidManagedStoreAccountEnrollmentTargetObject as Target,
  AospWifiSecurityTypeObject as WifiSecurity,
  ManagedGooglePlayEnterpriseTypeObject as EnterpriseType,
} from '@microsoft/msgraph-beta-sdk/models/index.js';
import { tenantIdForDomain } from '../../src/authority/identities.js';
import { ROOT, RW, startServer, tempDir, type TestServer } from '../helpers.js';
import type { BindingResult, DeviceOwnerResult, OperationsResult, ScenarioInput, ScenarioOutput, SeenEntity, SeenError } from './scenario.js';

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

/** One https request from this process, trusting only `ca` (the server's generated certificate). */
function overTls(ca: Buffer, method: string, url: string, opts: { token?: string; body?: unknown } = {}) {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) };
  return new Promise<{ status: number; location: string | undefined; text: string }>((resolve, reject) => {
    const req = request(url, { method, ca, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The type a client surfaced for each of `names`. */
function typesOf(e: SeenEntity, names: string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((n) => [n, e.types[n]]));
}

/** What a client surfaced for a device-owner profile, as the kind of client reads it. */
function deviceOwnerTypes(e: SeenEntity, client: 'v3' | 'kiota') {
  const date = client === 'kiota' ? 'Date' : 'string';
  assert.deepEqual(typesOf(e, ['createdDateTime', 'lastModifiedDateTime', 'tokenCreationDateTime', 'tokenExpirationDateTime']), {
    createdDateTime: date, lastModifiedDateTime: date, tokenCreationDateTime: date, tokenExpirationDateTime: date,
  }, 'dates');
  assert.deepEqual(typesOf(e, ['configureWifi', 'wifiHidden', 'isTeamsDeviceProfile', 'enrolledDeviceCount', 'enrollmentTokenUsageCount', 'roleScopeTagIds', 'enrollmentMode']), {
    configureWifi: 'boolean', wifiHidden: 'boolean', isTeamsDeviceProfile: 'boolean', enrolledDeviceCount: 'number', enrollmentTokenUsageCount: 'number',
    roleScopeTagIds: 'array', enrollmentMode: 'string',
  });
}

/** The device-owner operations' results, as either client saw them. */
function assertDeviceOwner(r: DeviceOwnerResult, tenantId: string, client: 'v3' | 'kiota') {
  const c = r.created.values;
  const errorKind = client === 'kiota' ? 'ODataError' : 'GraphError';
  // Kiota reads JSON null as undefined for primitives; the v3 client keeps the raw JSON.
  const none = client === 'kiota' ? undefined : null;
  // create: defaults as SPEC §6, enums as the SDK's enum values
  assert.match(String(c.id), GUID);
  assert.equal(c.accountId, tenantId);
  assert.equal(c.enrollmentMode, Mode.CorporateOwnedDedicatedDevice);
  assert.equal(c.enrollmentTokenType, TokenType.DefaultEscaped);
  assert.equal(c.wifiSecurityType, WifiSecurity.None);
  assert.equal(c.configureWifi, true);
  assert.equal(c.wifiHidden, false);
  assert.equal(c.isTeamsDeviceProfile, false);
  assert.deepEqual(c.roleScopeTagIds, ['0']);
  assert.equal(c.enrolledDeviceCount, 0);
  assert.equal(c.enrollmentTokenUsageCount, 0);
  assert.equal(c.tokenValue, none);
  // The zero date: Kiota makes it a Date of year 1.
  assert.equal(c.tokenExpirationDateTime, client === 'kiota' ? '0001-01-01T00:00:00.000Z' : '0001-01-01T00:00:00Z');
  assert.equal(c.tokenCreationDateTime, c.tokenExpirationDateTime);
  assert.equal(r.created.qrPngBytes, 0);
  deviceOwnerTypes(r.created, client);
  assert.equal(r.createdAosp.values.enrollmentMode, Mode.CorporateOwnedAOSPUserlessDevice);
  assert.equal(r.createdAosp.values.wifiSecurityType, WifiSecurity.Wpa);
  assert.equal(r.createdAosp.values.wifiSsid, 'Warehouse');

  // list with $filter on the enum
  const ids = r.filtered.map((p) => p.values.id);
  assert.ok(ids.includes(c.id), 'the filtered list has the dedicated profile');
  assert.ok(!ids.includes(r.createdAosp.values.id), 'and not the AOSP one');
  for (const p of r.filtered) assert.equal(p.values.enrollmentMode, Mode.CorporateOwnedDedicatedDevice);

  // get with $select: only those properties came back
  const selected = Object.entries(r.selected.types).filter(([, t]) => t !== 'undefined').map(([n]) => n).sort();
  const selectedNull = client === 'kiota' ? ['displayName', 'enrollmentMode', 'id'] : ['displayName', 'enrollmentMode', 'id', 'tokenValue'];
  assert.deepEqual(selected, selectedNull, 'only the selected properties (Kiota drops the null tokenValue)');
  assert.equal(r.selected.values.enrollmentMode, Mode.CorporateOwnedDedicatedDevice);

  // PATCH: 200 with the entity or 204; a GET shows the Boolean and the collection written
  if (r.updated) assert.match(String(r.updated.values.displayName), /\(renamed\)$/);
  const u = r.afterUpdate.values;
  assert.match(String(u.displayName), /\(renamed\)$/);
  assert.equal(u.isTeamsDeviceProfile, true);
  assert.deepEqual(u.roleScopeTagIds, ['0', '3']);
  assert.equal(u.enrollmentMode, Mode.CorporateOwnedDedicatedDevice, 'the PATCH kept the mode');

  // createToken: 204; the token, its dates and its CloudDPC QR code
  assert.equal(r.createTokenReturned, 'undefined');
  const t = r.afterCreateToken.values;
  assert.match(String(t.tokenValue), /^[A-Z]{20}$/);
  assert.equal(Date.parse(String(t.tokenExpirationDateTime)) - Date.parse(String(t.tokenCreationDateTime)), 3_600_000, 'expiry = creation + 3600 s');
  assert.ok(Date.parse(String(t.tokenCreationDateTime)) > Date.UTC(2000, 0, 1), 'tokenCreationDateTime is now, no longer the zero date');
  assert.equal(t.enrollmentTokenUsageCount, 0);
  const qr = JSON.parse(String(t.qrCodeContent)) as Record<string, Record<string, string>>;
  assert.equal(qr['android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE']?.['com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN'], t.tokenValue);
  assert.ok(r.afterCreateToken.qrPngBytes > 100, 'a PNG QR image');
  deviceOwnerTypes(r.afterCreateToken, client);
  // the AOSP profile: base64 of a JSON payload with its Wi-Fi
  const aosp = r.afterAospToken.values;
  const payload = JSON.parse(Buffer.from(String(aosp.qrCodeContent), 'base64').toString('utf8')) as Record<string, unknown>;
  assert.equal(payload['android.app.extra.PROVISIONING_WIFI_SSID'], 'Warehouse');
  assert.ok(JSON.stringify(payload).includes(String(aosp.tokenValue)), 'the AOSP payload carries the token');
  assert.equal(Date.parse(String(aosp.tokenExpirationDateTime)) - Date.parse(String(aosp.tokenCreationDateTime)), 86_400_000);

  // revokeToken, delete
  assert.equal(r.revokeTokenReturned, 'undefined');
  assert.equal(r.afterRevoke.values.tokenValue, none);
  assert.equal(r.afterRevoke.values.qrCodeContent, none);
  assert.equal(r.afterRevoke.qrPngBytes, 0);
  assert.equal(r.deleteReturned, 'undefined');
  assertNotFound(r.afterDelete, errorKind);
}

/** The binding's operations, as either client saw them; `upn` made the first call of the tenant. */
function assertBinding(r: BindingResult, upn: string, client: 'v3' | 'kiota') {
  const none = client === 'kiota' ? undefined : null;
  const i = r.initial.values;
  assert.equal(i.bindStatus, BindStatus.BoundAndValidated);
  assert.equal(i.ownerUserPrincipalName, upn);
  assert.equal(i.managedGooglePlayEnterpriseType, EnterpriseType.ManagedGoogleDomain);
  assert.equal(i.lastAppSyncStatus, SyncStatus.Success);
  assert.equal(i.enrollmentTarget, Target.None);
  assert.equal(i.deviceOwnerManagementEnabled, true);
  assert.equal(i.androidDeviceOwnerFullyManagedEnrollmentEnabled, false);
  assert.deepEqual(i.targetGroupIds, []);
  assert.deepEqual(i.managedGooglePlayInitialScopeTagIds, []);
  assert.deepEqual(i.companyCodes, []);
  const date = client === 'kiota' ? 'Date' : 'string';
  assert.deepEqual(typesOf(r.initial, ['lastAppSyncDateTime', 'lastModifiedDateTime', 'deviceOwnerManagementEnabled', 'targetGroupIds', 'companyCodes', 'bindStatus']), {
    lastAppSyncDateTime: date, lastModifiedDateTime: date, deviceOwnerManagementEnabled: 'boolean', targetGroupIds: 'array', companyCodes: 'array', bindStatus: 'string',
  });
  assert.ok(Date.parse(String(i.lastAppSyncDateTime)) > Date.UTC(2000, 0, 1));

  // PATCH (200 with the entity or 204): the SDK serialized the enum and the collection
  if (r.patched) assert.equal(r.patched.values.enrollmentTarget, Target.Targeted);
  assert.equal(r.afterPatch.values.enrollmentTarget, Target.Targeted);
  assert.deepEqual(r.afterPatch.values.targetGroupIds, ['2c8a1d7e-0a43-4d89-9d3e-7b1f0c9e4a11']);

  // unbind → notBound, no owner; a GMS-mode token is refused meanwhile
  assert.equal(r.unbindReturned, 'undefined');
  assert.equal(r.afterUnbind.values.bindStatus, BindStatus.NotBound);
  assert.equal(r.afterUnbind.values.ownerUserPrincipalName, none);
  assert.equal(r.tokenWhileUnbound.status, 400);
  assert.equal(r.tokenWhileUnbound.code, 'BadRequest');
  assert.match(r.tokenWhileUnbound.message, /not bound/);
  assert.equal(r.tokenWhileUnbound.requestId, r.tokenWhileUnbound.headerRequestId);

  // completeSignup with the token of the signup page binds again, owned by the caller
  assert.equal(r.completeSignupReturned, 'undefined');
  assert.equal(r.afterCompleteSignup.values.bindStatus, BindStatus.BoundAndValidated);
  assert.equal(r.afterCompleteSignup.values.ownerUserPrincipalName, upn);
  assert.match(String(r.tokenAfterBinding.values.tokenValue), /^[A-Z]{20}$/, 'GMS-mode tokens work again');
  // …and only once
  assert.equal(r.completeSignupAgain.kind, client === 'kiota' ? 'ODataError' : 'GraphError');
  assert.equal(r.completeSignupAgain.status, 400);
  assert.equal(r.completeSignupAgain.code, 'ModelValidationFailure');
  assert.match(r.completeSignupAgain.message, /enterpriseToken/);
}

function deviceOwnerOf(out: ScenarioOutput): DeviceOwnerResult {
  if (!out.ok) throw new Error(out.error);
  assert.ok(out.deviceOwner, 'the scenario ran the device-owner operations');
  return out.deviceOwner;
}

function bindingOf(out: ScenarioOutput): BindingResult {
  if (!out.ok) throw new Error(out.error);
  assert.ok(out.binding, 'the scenario ran the binding operations');
  return out.binding;
}

describe('Microsoft client libraries against Enrollgraph', () => {
  const dir = tempDir('enrollgraph-clients-');
  const domain = `contoso-${randomUUID().slice(0, 8)}.test`;
  const tenantId = randomUUID();
  const app = { clientId: randomUUID(), secret: `s3cret-${randomUUID()}` };
  const publicApp = randomUUID();
  const user = { username: `admin@${domain}`, password: 'P@ssw0rd-1' };
  const openDomain = `open-${randomUUID().slice(0, 8)}.test`;
  // A tenant and an admin each for the binding scenarios of the two clients.
  const bindingTenants = (['v3', 'kiota'] as const).map((client) => {
    // (Not v<digit>…: the server takes a path that starts so for a Graph version, and the authority is at /{domain}.)
    const d = `binding-${client}-${randomUUID().slice(0, 8)}.test`;
    return { client, id: randomUUID(), domain: d, user: { username: `admin@${d}`, password: 'P@ssw0rd-2' } };
  });
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
        ...bindingTenants.flatMap((t) => [`  - id: ${t.id}`, `    domains: [${t.domain}]`]),
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
        ...bindingTenants.flatMap((t) => [`  - upn: ${t.user.username}`, `    password: ${t.user.password}`, `    tenant: ${t.domain}`]),
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
      ['v3-device-owner', { kind: 'v3-device-owner', ...https, user }, certFile],
      ['kiota-device-owner', { kind: 'kiota-device-owner', server: strict.url, tenant: tenantId, clientId: publicApp, user }, certFile],
    ];
    // The binding scenarios complete a signup: its enterprise token comes from the signup page,
    // over https from here, by the admin who then runs the scenario (the tenant's first caller).
    const trusted = readFileSync(certFile);
    const settingsUrl = `${strict.url}/beta/deviceManagement/androidManagedStoreAccountEnterpriseSettings`;
    for (const t of bindingTenants) {
      const token = await strict.token({ tenantId: t.id, upn: t.user.username });
      const requested = await overTls(trusted, 'POST', `${settingsUrl}/requestSignupUrl`, { token, body: { hostName: 'intune.contoso.example' } });
      assert.equal(requested.status, 200, requested.text);
      const page = (JSON.parse(requested.text) as { value: string }).value;
      assert.equal(new URL(page).origin, strict.url, 'the signup page is on the server');
      assert.equal((await overTls(trusted, 'GET', page)).status, 200);
      const submitted = await overTls(trusted, 'POST', page);
      assert.equal(submitted.status, 303, submitted.text);
      const enterpriseToken = new URL(submitted.location ?? '').searchParams.get('enterpriseToken');
      assert.ok(enterpriseToken, `an enterprise token in ${submitted.location}`);
      const input: ScenarioInput = t.client === 'v3'
        ? { kind: 'v3-binding', ...https, tenant: t.domain, user: t.user, enterpriseToken }
        : { kind: 'kiota-binding', server: strict.url, tenant: t.id, clientId: publicApp, user: t.user, enterpriseToken };
      scenarios.push([`${t.client}-binding`, input, certFile]);
    }
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

  test('Graph client v3 + MSAL (delegated): device-owner profiles', async () => {
    assertDeviceOwner(deviceOwnerOf(await results.get('v3-device-owner')!), tenantId, 'v3');
  });

  test('beta SDK (Kiota) models + Azure Identity (delegated): device-owner profiles', async () => {
    assertDeviceOwner(deviceOwnerOf(await results.get('kiota-device-owner')!), tenantId, 'kiota');
  });

  test('Graph client v3 + MSAL (delegated): the Managed Google Play binding, unbind and completeSignup', async () => {
    assertBinding(bindingOf(await results.get('v3-binding')!), bindingTenants[0]!.user.username, 'v3');
  });

  test('beta SDK (Kiota) models + Azure Identity (delegated): the Managed Google Play binding, unbind and completeSignup', async () => {
    assertBinding(bindingOf(await results.get('kiota-binding')!), bindingTenants[1]!.user.username, 'kiota');
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
