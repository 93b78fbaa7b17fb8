/**
 * The Managed Google Play binding, `…/deviceManagement/androidManagedStoreAccountEnterpriseSettings`
 * (beta only; SPEC §6): one record per tenant, its PATCH and its actions, the stand-in signup page,
 * and what the binding means for device-owner tokens. Every case asserts what the store holds too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { androidDeviceOwnerEnrollmentProfile as deviceOwnerDef } from '../../src/model/androidDeviceOwnerEnrollmentProfile.js';
import { androidManagedStoreAccountEnterpriseSettings as settingsDef } from '../../src/model/androidManagedStoreAccountEnterpriseSettings.js';
import { call, graphError, newTenant, RO, RW, startServer, type Call, type TestServer } from '../helpers.js';

const SETTINGS = '/beta/deviceManagement/androidManagedStoreAccountEnterpriseSettings';
const DEVICE_OWNER = '/beta/deviceManagement/androidDeviceOwnerEnrollmentProfiles';
const JSON_CT = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const ISO7 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;
const SIGNUP_PAGE = '/managed-google-play/signup/';
const GMS_MODES = ['corporateOwnedDedicatedDevice', 'corporateOwnedFullyManaged', 'corporateOwnedWorkProfile'];
const AOSP_MODES = ['corporateOwnedAOSPUserlessDevice', 'corporateOwnedAOSPUserAssociatedDevice'];

/** The entity's properties in Microsoft's CSDL (reference/csdl/android-enterprise-beta.xml), `id` from graph.entity. */
const CSDL_PROPERTIES = [
  'id', 'androidDeviceOwnerFullyManagedEnrollmentEnabled', 'bindStatus', 'companyCodes', 'deviceOwnerManagementEnabled', 'enrollmentTarget',
  'lastAppSyncDateTime', 'lastAppSyncStatus', 'lastModifiedDateTime', 'managedGooglePlayEnterpriseType', 'managedGooglePlayInitialScopeTagIds',
  'ownerOrganizationName', 'ownerUserPrincipalName', 'targetGroupIds',
];
const ENROLLMENT_TARGETS = ['none', 'all', 'targeted', 'targetedAsEnrollmentRestrictions'];

/** A millisecond instant as Graph writes it (seven fractional digits). */
const iso7 = (ms: number) => `${new Date(ms).toISOString().slice(0, 23)}0000Z`;

/** 204: no body, no content type. */
function noContent(res: Call): void {
  assert.equal(res.status, 204, res.text);
  assert.equal(res.text, '');
  assert.equal(res.headers.get('content-type'), null);
}

describe('Managed Google Play binding (androidManagedStoreAccountEnterpriseSettings)', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });
  after(() => server.dispose());

  /** A new tenant and a delegated ReadWrite token of `upn` for it. */
  async function tenantWith(upn = 'it-admin@fabrikam.example') {
    const tenant = newTenant();
    return { tenant, token: await server.token({ tenantId: tenant, upn }) };
  }

  async function read(token: string, query = ''): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const res = await call(server.url, 'GET', `${SETTINGS}${query}`, { token });
    assert.equal(res.status, 200, res.text);
    return res.json;
  }

  const stored = (tenant: string) => server.storedOf(settingsDef, tenant, tenant);
  const act = (token: string, action: string, body?: unknown) =>
    call(server.url, 'POST', `${SETTINGS}/${action}`, { token, ...(body !== undefined ? { body } : {}) });

  /** PATCH the binding: answered 200 with the updated entity or 204 (either is Graph's), and the change is kept. */
  async function patch(token: string, body: Record<string, unknown>): Promise<void> {
    const res = await call(server.url, 'PATCH', SETTINGS, { token, body });
    assert.ok(res.status === 200 || res.status === 204, `PATCH answered ${res.status} ${res.text}`);
    if (res.status === 200) {
      assert.equal(res.headers.get('content-type'), JSON_CT);
      assert.equal(res.json['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidManagedStoreAccountEnterpriseSettings`);
      assert.deepEqual(res.json, await read(token), 'the PATCH answer is the entity as a GET reads it afterwards');
    } else {
      noContent(res);
    }
  }

  /** The stand-in signup: requestSignupUrl, then submit the page; returns the enterprise token of the redirect. */
  async function signup(token: string, hostName = 'intune.contoso.example'): Promise<string> {
    const res = await act(token, 'requestSignupUrl', { hostName });
    assert.equal(res.status, 200, res.text);
    const submitted = await fetch(res.json.value, { method: 'POST', redirect: 'manual' });
    assert.equal(submitted.status, 303);
    const location = new URL(submitted.headers.get('location') ?? '');
    assert.equal(location.origin, `https://${hostName}`);
    const t = location.searchParams.get('enterpriseToken');
    assert.ok(t, 'the redirect carries an enterprise token');
    return t;
  }

  async function createDeviceOwner(token: string, enrollmentMode: string): Promise<string> {
    const res = await call(server.url, 'POST', DEVICE_OWNER, { token, body: { displayName: `${enrollmentMode} devices`, enrollmentMode } });
    assert.equal(res.status, 201, res.text);
    return res.json.id;
  }

  it('a fresh tenant reads bound and validated, owned by its first caller, with every CSDL property', async () => {
    const { tenant, token } = await tenantWith('first-admin@fabrikam.example');
    const res = await call(server.url, 'GET', SETTINGS, { token });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), JSON_CT);
    assert.equal(res.headers.get('odata-version'), '4.0');
    assert.match(res.headers.get('request-id') ?? '', /^[0-9a-f-]{36}$/);
    const s = res.json;
    // A single-valued navigation property: no /$entity in the context.
    assert.equal(s['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidManagedStoreAccountEnterpriseSettings`);
    assert.deepEqual(Object.keys(s).filter((k) => !k.startsWith('@')).sort(), [...CSDL_PROPERTIES].sort(), 'exactly the CSDL properties');
    assert.equal(typeof s.id, 'string');
    assert.notEqual(s.id, '');
    assert.equal(s.bindStatus, 'boundAndValidated');
    assert.equal(s.ownerUserPrincipalName, 'first-admin@fabrikam.example');
    assert.equal(s.ownerOrganizationName, 'fabrikam.example');
    assert.equal(s.managedGooglePlayEnterpriseType, 'managedGoogleDomain');
    assert.equal(s.lastAppSyncStatus, 'success');
    assert.match(s.lastAppSyncDateTime, ISO7);
    assert.match(s.lastModifiedDateTime, ISO7);
    assert.equal(s.enrollmentTarget, 'none');
    assert.deepEqual(s.targetGroupIds, []);
    assert.deepEqual(s.managedGooglePlayInitialScopeTagIds, []);
    assert.deepEqual(s.companyCodes, []);
    assert.equal(s.deviceOwnerManagementEnabled, true);
    assert.equal(s.androidDeviceOwnerFullyManagedEnrollmentEnabled, false);

    const r = await stored(tenant);
    assert.ok(r, 'the first read stored the record');
    assert.equal(r.id, s.id);
    assert.equal(r.tenantId, tenant);
    assert.equal(r.bindStatus, 'boundAndValidated');
    assert.equal(r.ownerUserPrincipalName, 'first-admin@fabrikam.example');

    // The owner is the first caller's: a later caller of the tenant reads the same record.
    const other = await server.token({ tenantId: tenant, upn: 'someone-else@fabrikam.example' });
    const again = await read(other);
    assert.equal(again.ownerUserPrincipalName, 'first-admin@fabrikam.example');
    assert.equal(again.id, s.id);
  });

  it('GET with $select answers only the selected properties', async () => {
    const { token } = await tenantWith();
    const s = await read(token, '?$select=bindStatus,ownerUserPrincipalName');
    assert.equal(s['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidManagedStoreAccountEnterpriseSettings(bindStatus,ownerUserPrincipalName)`);
    assert.deepEqual(Object.keys(s).filter((k) => !k.startsWith('@')).sort(), ['bindStatus', 'ownerUserPrincipalName']);
    assert.equal(s.bindStatus, 'boundAndValidated');
  });

  it('PATCH writes the client-writable properties', async () => {
    const { tenant, token } = await tenantWith();
    const before = await read(token);
    const change = {
      enrollmentTarget: 'targeted',
      targetGroupIds: ['2c8a1d7e-0a43-4d89-9d3e-7b1f0c9e4a11', '6f0e5b2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b'],
      deviceOwnerManagementEnabled: false,
      managedGooglePlayInitialScopeTagIds: ['0', '7'],
    };
    await patch(token, change);
    const after = await read(token);
    for (const [k, v] of Object.entries(change)) assert.deepEqual(after[k], v, k);
    assert.equal(after.bindStatus, 'boundAndValidated');
    assert.ok(after.lastModifiedDateTime >= before.lastModifiedDateTime, 'lastModifiedDateTime does not go back');
    const r = await stored(tenant);
    assert.equal(r?.enrollmentTarget, 'targeted');
    assert.deepEqual(r?.targetGroupIds, change.targetGroupIds);
    assert.equal(r?.deviceOwnerManagementEnabled, false);
    assert.deepEqual(r?.managedGooglePlayInitialScopeTagIds, ['0', '7']);

    // Another PATCH changes only what it names.
    await patch(token, { enrollmentTarget: 'all' });
    const last = await read(token);
    assert.equal(last.enrollmentTarget, 'all');
    assert.deepEqual(last.targetGroupIds, change.targetGroupIds);
    assert.equal(last.deviceOwnerManagementEnabled, false);
  });

  it('PATCH ignores the server-written properties a client sends', async () => {
    const { tenant, token } = await tenantWith('owner@fabrikam.example');
    const before = await read(token);
    await patch(token, {
      bindStatus: 'notBound',
      ownerUserPrincipalName: 'mallory@evil.example',
      lastAppSyncStatus: 'unknownError',
      androidDeviceOwnerFullyManagedEnrollmentEnabled: true,
      enrollmentTarget: 'all',
    });
    const after = await read(token);
    assert.equal(after.enrollmentTarget, 'all', 'the writable property was written');
    for (const k of ['bindStatus', 'ownerUserPrincipalName', 'ownerOrganizationName', 'lastAppSyncStatus', 'lastAppSyncDateTime', 'androidDeviceOwnerFullyManagedEnrollmentEnabled']) {
      assert.deepEqual(after[k], before[k], k);
    }
    const r = await stored(tenant);
    assert.equal(r?.bindStatus, 'boundAndValidated');
    assert.equal(r?.ownerUserPrincipalName, 'owner@fabrikam.example');
    assert.equal(r?.androidDeviceOwnerFullyManagedEnrollmentEnabled, false);
  });

  it('PATCH with an unknown enum member or a wrong JSON type is a 400 naming it, and changes nothing', async () => {
    const { tenant, token } = await tenantWith();
    await read(token);
    const before = await stored(tenant);
    const res = await call(server.url, 'PATCH', SETTINGS, { token, body: { enrollmentTarget: 'everyone', targetGroupIds: ['g'] } });
    const err = graphError(res, 400, 'ModelValidationFailure');
    assert.match(err.message, /'everyone'/);
    assert.match(err.message, /enrollmentTarget/);
    for (const member of ENROLLMENT_TARGETS) assert.ok(err.message.includes(member), `the message names the member '${member}': ${err.message}`);

    const typed = graphError(await call(server.url, 'PATCH', SETTINGS, { token, body: { deviceOwnerManagementEnabled: 'yes' } }), 400, 'ModelValidationFailure');
    assert.match(typed.message, /deviceOwnerManagementEnabled/);
    assert.match(typed.message, /Edm\.Boolean/);
    const collection = graphError(await call(server.url, 'PATCH', SETTINGS, { token, body: { targetGroupIds: 'g' } }), 400, 'ModelValidationFailure');
    assert.match(collection.message, /targetGroupIds/);

    assert.deepEqual(await stored(tenant), before, 'nothing stored');
    assert.deepEqual((await read(token)).targetGroupIds, []);
  });

  it('unbind: notBound with no owner; GMS-mode createToken is then a 400 that changes nothing, AOSP modes still get tokens', async () => {
    const { tenant, token } = await tenantWith();
    const gms = await Promise.all(GMS_MODES.map((m) => createDeviceOwner(token, m)));
    const aosp = await Promise.all(AOSP_MODES.map((m) => createDeviceOwner(token, m)));

    noContent(await act(token, 'unbind'));
    const s = await read(token);
    assert.equal(s.bindStatus, 'notBound');
    assert.equal(s.ownerUserPrincipalName, null);
    assert.equal(s.ownerOrganizationName, null);
    const r = await stored(tenant);
    assert.equal(r?.bindStatus, 'notBound');
    assert.equal(r?.ownerUserPrincipalName, null);

    for (const [i, id] of gms.entries()) {
      const before = await server.storedOf(deviceOwnerDef, tenant, id);
      const res = await call(server.url, 'POST', `${DEVICE_OWNER}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } });
      const err = graphError(res, 400, 'BadRequest');
      assert.match(err.message, /Managed Google Play/, GMS_MODES[i]);
      assert.match(err.message, /not bound/, GMS_MODES[i]);
      assert.deepEqual(await server.storedOf(deviceOwnerDef, tenant, id), before, `${GMS_MODES[i]}: nothing changed`);
      const got = await call(server.url, 'GET', `${DEVICE_OWNER}/${id}`, { token });
      assert.equal(got.json.tokenValue, null, GMS_MODES[i]);
      assert.equal(got.json.qrCodeContent, null, GMS_MODES[i]);
      assert.equal(got.json.tokenCreationDateTime, '0001-01-01T00:00:00Z', GMS_MODES[i]);
    }
    for (const [i, id] of aosp.entries()) {
      noContent(await call(server.url, 'POST', `${DEVICE_OWNER}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } }));
      const got = await call(server.url, 'GET', `${DEVICE_OWNER}/${id}`, { token });
      assert.match(got.json.tokenValue ?? '', /^[A-Z]{20}$/, AOSP_MODES[i]);
      assert.equal((await server.storedOf(deviceOwnerDef, tenant, id))?.tokenValue, got.json.tokenValue, AOSP_MODES[i]);
    }

    const web = graphError(await act(token, 'createGooglePlayWebToken', { parentUri: 'https://contoso.example/page' }), 400, 'BadRequest');
    assert.match(web.message, /not bound/);
    // Unbinding again is harmless.
    noContent(await act(token, 'unbind'));
    assert.equal((await stored(tenant))?.bindStatus, 'notBound');
  });

  it('a tenant that was never read is bound: GMS-mode createToken works at once', async () => {
    const { tenant, token } = await tenantWith();
    const id = await createDeviceOwner(token, 'corporateOwnedDedicatedDevice');
    noContent(await call(server.url, 'POST', `${DEVICE_OWNER}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } }));
    assert.ok((await server.storedOf(deviceOwnerDef, tenant, id))?.tokenValue);
  });

  it('the refusal of a GMS-mode createToken on an unbound tenant is in Intune\'s nested error form (SPEC §6)', async () => {
    const { token } = await tenantWith();
    const id = await createDeviceOwner(token, 'corporateOwnedFullyManaged');
    noContent(await act(token, 'unbind'));
    const err = graphError(await call(server.url, 'POST', `${DEVICE_OWNER}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } }), 400, 'BadRequest');
    const nested = JSON.parse(err.message) as { _version?: number; Message?: string };
    assert.equal(nested._version, 3);
    assert.match(nested.Message ?? '', /Operation ID \(for customer support\)/);
  });

  it('binds through the signup page end to end', async () => {
    const { tenant, token } = await tenantWith('first-admin@fabrikam.example');
    noContent(await act(token, 'unbind'));

    const res = await act(token, 'requestSignupUrl', { hostName: 'intune.contoso.example' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), JSON_CT);
    assert.equal(res.json['@odata.context'], `${server.url}/beta/$metadata#Edm.String`);
    const url = new URL(res.json.value);
    assert.equal(url.origin, server.url, 'the signup page is served by the server');
    assert.ok(url.pathname.startsWith(SIGNUP_PAGE) && url.pathname.length > SIGNUP_PAGE.length, url.pathname);

    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('cache-control'), 'no-store');
    const html = await page.text();
    assert.match(html, /^<!doctype html>/i);
    assert.match(html, /<form method="post">/);
    assert.ok(html.includes('intune.contoso.example'), 'the page names where it returns to');

    // Submitted as a browser submits the form: urlencoded, with an empty body.
    const submitted = await fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    assert.equal(submitted.status, 303);
    assert.equal(submitted.headers.get('cache-control'), 'no-store');
    const location = submitted.headers.get('location') ?? '';
    const m = /^https:\/\/intune\.contoso\.example\/\?enterpriseToken=([^&]+)$/.exec(location);
    assert.ok(m, `redirect to the host name with the token: ${location}`);
    const enterpriseToken = decodeURIComponent(m[1]!);

    // The link is single-use: the page is gone, and submitting it again makes no second token.
    const gone = await fetch(url);
    assert.equal(gone.status, 404);
    assert.equal(gone.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal((await fetch(url, { method: 'POST', redirect: 'manual' })).status, 404);
    assert.equal((await stored(tenant))?.bindStatus, 'notBound', 'the page alone binds nothing');

    // completeSignup binds; the owner is whoever completes it.
    const completer = await server.token({ tenantId: tenant, upn: 'second-admin@northwind.example' });
    noContent(await act(completer, 'completeSignup', { enterpriseToken }));
    const s = await read(token);
    assert.equal(s.bindStatus, 'boundAndValidated');
    assert.equal(s.ownerUserPrincipalName, 'second-admin@northwind.example');
    assert.equal(s.ownerOrganizationName, 'northwind.example');
    assert.equal(s.managedGooglePlayEnterpriseType, 'managedGoogleDomain');
    const r = await stored(tenant);
    assert.equal(r?.bindStatus, 'boundAndValidated');
    assert.equal(r?.ownerUserPrincipalName, 'second-admin@northwind.example');

    // Bound again: a GMS-mode profile gets its token.
    const id = await createDeviceOwner(token, 'corporateOwnedWorkProfile');
    noContent(await call(server.url, 'POST', `${DEVICE_OWNER}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } }));
    assert.match((await server.storedOf(deviceOwnerDef, tenant, id))?.tokenValue ?? '', /^[A-Z]{8}$/);

    // The enterprise token is single-use.
    noContent(await act(token, 'unbind'));
    const twice = graphError(await act(token, 'completeSignup', { enterpriseToken }), 400, 'ModelValidationFailure');
    assert.match(twice.message, /enterpriseToken/);
    assert.equal((await stored(tenant))?.bindStatus, 'notBound', 'a refused completeSignup binds nothing');
  });

  it('completeSignup refuses unknown tokens, and a token of another tenant, which still works for its own', async () => {
    const a = await tenantWith('admin@tenant-a.example');
    const b = await tenantWith('admin@tenant-b.example');
    noContent(await act(a.token, 'unbind'));
    const tokenOfB = await signup(b.token);

    for (const body of [{ enterpriseToken: 'not-an-enterprise-token' }, { enterpriseToken: '' }, {}, { enterpriseToken: tokenOfB }]) {
      const err = graphError(await act(a.token, 'completeSignup', body), 400, 'ModelValidationFailure');
      assert.match(err.message, /enterpriseToken/, JSON.stringify(body));
    }
    graphError(await act(a.token, 'completeSignup', { enterpriseToken: 42 }), 400, 'ModelValidationFailure');
    const ra = await stored(a.tenant);
    assert.equal(ra?.bindStatus, 'notBound');
    assert.equal(ra?.ownerUserPrincipalName, null);

    noContent(await act(b.token, 'unbind'));
    noContent(await act(b.token, 'completeSignup', { enterpriseToken: tokenOfB }));
    const rb = await stored(b.tenant);
    assert.equal(rb?.bindStatus, 'boundAndValidated');
    assert.equal(rb?.ownerUserPrincipalName, 'admin@tenant-b.example');
    assert.equal((await stored(a.tenant))?.bindStatus, 'notBound', "B's signup did not bind A");
  });

  it('single use holds under concurrency: one submit of a signup page, one completeSignup of a token, one first record', async () => {
    const { tenant, token } = await tenantWith();
    const res = await act(token, 'requestSignupUrl', { hostName: 'intune.contoso.example' });
    const submits = await Promise.all(Array.from({ length: 8 }, () => fetch(res.json.value, { method: 'POST', redirect: 'manual' })));
    assert.deepEqual(submits.map((s) => s.status).sort(), [303, ...Array(7).fill(404)]);
    const enterpriseToken = new URL(submits.find((s) => s.status === 303)!.headers.get('location')!).searchParams.get('enterpriseToken');

    noContent(await act(token, 'unbind'));
    const completes = await Promise.all(Array.from({ length: 8 }, () => act(token, 'completeSignup', { enterpriseToken })));
    assert.deepEqual(completes.map((c) => c.status).sort(), [204, ...Array(7).fill(400)]);
    assert.equal((await stored(tenant))?.bindStatus, 'boundAndValidated');

    // The first reads of a new tenant, at once: one record, one owner, the same for every reader.
    const fresh = newTenant();
    const readers = await Promise.all(['a', 'b', 'c', 'd'].map((u) => server.token({ tenantId: fresh, upn: `${u}@race.example` })));
    const seen = await Promise.all(readers.map((t) => read(t)));
    assert.equal(new Set(seen.map((s) => s.id)).size, 1);
    assert.equal(new Set(seen.map((s) => s.ownerUserPrincipalName)).size, 1, JSON.stringify(seen.map((s) => s.ownerUserPrincipalName)));
    assert.match(seen[0]!.ownerUserPrincipalName, /^[abcd]@race\.example$/);
    assert.equal((await stored(fresh))?.ownerUserPrincipalName, seen[0]!.ownerUserPrincipalName);
  });

  it('requestSignupUrl needs a host name; an unknown signup page is a 404', async () => {
    const { token } = await tenantWith();
    for (const body of [{ hostName: 'not a host/x' }, { hostName: 'https://intune.example' }, { hostName: '' }, {}, { hostName: 7 }]) {
      const res = await act(token, 'requestSignupUrl', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.match(res.json?.error?.message ?? '', /hostName/, JSON.stringify(body));
    }
    graphError(await act(token, 'requestSignupUrl', { hostName: 'not a host/x' }), 400, 'ModelValidationFailure');
    const unknown = await fetch(`${server.url}${SIGNUP_PAGE}not-a-signup-link`);
    assert.equal(unknown.status, 404);
    assert.equal((await fetch(`${server.url}${SIGNUP_PAGE}not-a-signup-link`, { method: 'POST', redirect: 'manual' })).status, 404);
  });

  it('syncApps stamps the server clock: success while bound, credentialsNotValid while not', async () => {
    const { tenant, token } = await tenantWith();
    await read(token);
    // Frozen at a whole second near the machine's time, so the tokens minted now stay valid.
    const t0 = Math.floor(Date.now() / 1000) * 1000 + 250;
    const frozen = await server.admin('PUT', '/_admin/clock', { now: new Date(t0).toISOString(), frozen: true });
    assert.equal(frozen.status, 200, frozen.text);
    try {
      noContent(await act(token, 'syncApps'));
      let s = await read(token);
      assert.equal(s.lastAppSyncDateTime, iso7(t0));
      assert.equal(s.lastAppSyncStatus, 'success');
      assert.equal(s.lastModifiedDateTime, iso7(t0));
      let r = await stored(tenant);
      assert.equal(r?.lastAppSyncDateTime, t0 * 1000);
      assert.equal(r?.lastAppSyncStatus, 'success');

      noContent(await act(token, 'unbind'));
      await server.admin('POST', '/_admin/clock/advance', { seconds: 90 });
      noContent(await act(token, 'microsoft.graph.syncApps'));
      s = await read(token);
      assert.equal(s.lastAppSyncDateTime, iso7(t0 + 90_000));
      assert.equal(s.lastAppSyncStatus, 'credentialsNotValid');
      r = await stored(tenant);
      assert.equal(r?.lastAppSyncDateTime, (t0 + 90_000) * 1000);
      assert.equal(r?.lastAppSyncStatus, 'credentialsNotValid');
    } finally {
      await server.admin('DELETE', '/_admin/clock');
    }
  });

  it('setAndroidDeviceOwnerFullyManagedEnrollmentState sets the flag; `enabled` is required and Boolean', async () => {
    const { tenant, token } = await tenantWith();
    noContent(await act(token, 'setAndroidDeviceOwnerFullyManagedEnrollmentState', { enabled: true }));
    assert.equal((await read(token)).androidDeviceOwnerFullyManagedEnrollmentEnabled, true);
    assert.equal((await stored(tenant))?.androidDeviceOwnerFullyManagedEnrollmentEnabled, true);

    const before = await stored(tenant);
    for (const body of [{}, { enabled: null }, { enabled: 'false' }, { enabled: false, extra: 1 }]) {
      const err = graphError(await act(token, 'setAndroidDeviceOwnerFullyManagedEnrollmentState', body), 400, 'ModelValidationFailure');
      assert.match(err.message, /enabled|extra/, JSON.stringify(body));
    }
    assert.match(graphError(await act(token, 'setAndroidDeviceOwnerFullyManagedEnrollmentState', {}), 400, 'ModelValidationFailure').message, /'enabled'/);
    assert.deepEqual(await stored(tenant), before, 'nothing changed');

    noContent(await act(token, 'setAndroidDeviceOwnerFullyManagedEnrollmentState', { enabled: false }));
    assert.equal((await read(token)).androidDeviceOwnerFullyManagedEnrollmentEnabled, false);
  });

  it('createGooglePlayWebToken answers a token for an https parent page only', async () => {
    const { token } = await tenantWith();
    const res = await act(token, 'createGooglePlayWebToken', { parentUri: 'https://contoso.example/page' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), JSON_CT);
    assert.equal(res.json['@odata.context'], `${server.url}/beta/$metadata#Edm.String`);
    assert.equal(typeof res.json.value, 'string');
    assert.notEqual(res.json.value, '');
    for (const parentUri of ['http://contoso.example/page', 'not a url', '', null]) {
      const err = graphError(await act(token, 'createGooglePlayWebToken', { parentUri }), 400, 'ModelValidationFailure');
      assert.match(err.message, /parentUri/, String(parentUri));
    }
    graphError(await act(token, 'createGooglePlayWebToken', {}), 400, 'ModelValidationFailure');
  });

  it('is read and updated, never created or deleted; no key syntax; beta only', async () => {
    const { tenant, token } = await tenantWith();
    await read(token);
    const before = await stored(tenant);
    for (const method of ['DELETE', 'POST', 'PUT']) {
      const res = await call(server.url, method, SETTINGS, { token, ...(method === 'DELETE' ? {} : { body: {} }) });
      assert.ok(res.status >= 400 && res.status < 500, `${method}: ${res.status}`);
      graphError(res, res.status, res.json?.error?.code);
    }
    assert.deepEqual(await stored(tenant), before, 'still there, unchanged');

    const keyed = graphError(await call(server.url, 'GET', `${SETTINGS}('x')`, { token }), 400, 'BadRequest');
    assert.equal(keyed.message, "Resource not found for the segment 'androidManagedStoreAccountEnterpriseSettings('x')'.");
    graphError(await call(server.url, 'GET', `${SETTINGS}/${tenant}`, { token }), 400, 'BadRequest');
    const unknownAction = graphError(await act(token, 'frobnicate'), 400, 'BadRequest');
    assert.equal(unknownAction.message, "Resource not found for the segment 'frobnicate'.");

    const v1 = SETTINGS.replace('/beta/', '/v1.0/');
    for (const [method, path] of [['GET', v1], ['PATCH', v1], ['POST', `${v1}/unbind`]] as const) {
      const err = graphError(await call(server.url, method, path, { token, ...(method === 'GET' ? {} : { body: {} }) }), 400, 'BadRequest');
      assert.equal(err.message, "Resource not found for the segment 'androidManagedStoreAccountEnterpriseSettings'.", `${method} ${path}`);
    }
    assert.equal((await stored(tenant))?.bindStatus, 'boundAndValidated', 'the v1.0 unbind did nothing');
  });

  it('Read.All reads but does not write; personal accounts and app-only tokens are refused', async () => {
    const { tenant, token } = await tenantWith();
    await read(token);
    const before = await stored(tenant);
    const ro = await server.token({ tenantId: tenant, scopes: [RO] });
    assert.equal((await read(ro)).bindStatus, 'boundAndValidated');
    const writes: [string, string, unknown][] = [
      ['PATCH', SETTINGS, { enrollmentTarget: 'all' }],
      ['POST', `${SETTINGS}/unbind`, undefined],
      ['POST', `${SETTINGS}/syncApps`, undefined],
      ['POST', `${SETTINGS}/requestSignupUrl`, { hostName: 'intune.example' }],
      ['POST', `${SETTINGS}/completeSignup`, { enterpriseToken: 'x' }],
      ['POST', `${SETTINGS}/setAndroidDeviceOwnerFullyManagedEnrollmentState`, { enabled: true }],
      ['POST', `${SETTINGS}/createGooglePlayWebToken`, { parentUri: 'https://contoso.example/' }],
    ];
    for (const [method, path, body] of writes) {
      const err = graphError(await call(server.url, method, path, { token: ro, ...(body !== undefined ? { body } : {}) }), 403, 'Forbidden');
      assert.ok(err.message.includes(RW), `${method} ${path}: ${err.message}`);
    }
    assert.deepEqual(await stored(tenant), before, 'nothing changed');

    const personal = await server.token({ tenantId: '9188040d-6c67-4c5b-b112-36a304b66dad' });
    graphError(await call(server.url, 'GET', SETTINGS, { token: personal }), 403, 'Forbidden');
    const app = await server.token({ tenantId: tenant, roles: [RW] });
    graphError(await call(server.url, 'GET', SETTINGS, { token: app }), 403, 'Forbidden');
    graphError(await call(server.url, 'GET', SETTINGS), 401, 'InvalidAuthenticationToken');
  });

  it('each tenant has a binding of its own', async () => {
    const a = await tenantWith('admin@tenant-a.example');
    const b = await tenantWith('admin@tenant-b.example');
    const sa = await read(a.token);
    const sb = await read(b.token);
    assert.notEqual(sa.id, sb.id);
    assert.equal(sb.ownerUserPrincipalName, 'admin@tenant-b.example');

    noContent(await act(a.token, 'unbind'));
    await patch(a.token, { enrollmentTarget: 'targeted', targetGroupIds: ['g-a'] });
    const after = await read(b.token);
    assert.equal(after.bindStatus, 'boundAndValidated');
    assert.equal(after.ownerUserPrincipalName, 'admin@tenant-b.example');
    assert.equal(after.enrollmentTarget, 'none');
    assert.deepEqual(after.targetGroupIds, []);
    assert.equal((await stored(b.tenant))?.bindStatus, 'boundAndValidated');
    assert.equal((await stored(a.tenant))?.bindStatus, 'notBound');

    // A's unbinding does not reach B's device-owner tokens.
    const id = await createDeviceOwner(b.token, 'corporateOwnedFullyManaged');
    noContent(await call(server.url, 'POST', `${DEVICE_OWNER}/${id}/createToken`, { token: b.token, body: { tokenValidityInSeconds: 3600 } }));
  });
});

describe('Managed Google Play binding in snapshots', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.dispose());

  it('export lists it under managedStoreSettings; export → reset → import restores notBound', async () => {
    const tenant = newTenant();
    const token = await server.token({ tenantId: tenant, upn: 'admin@snapshots.example' });
    assert.equal((await call(server.url, 'GET', SETTINGS, { token })).status, 200);
    await call(server.url, 'PATCH', SETTINGS, { token, body: { targetGroupIds: ['g-1'] } });
    noContent(await call(server.url, 'POST', `${SETTINGS}/unbind`, { token }));

    const snap = (await server.admin('GET', '/_admin/snapshot')).json;
    const listed = (snap.managedStoreSettings as Record<string, unknown>[]).filter((s) => s.tenantId === tenant);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.bindStatus, 'notBound');
    assert.equal(listed[0]!.ownerUserPrincipalName, null);
    assert.deepEqual(listed[0]!.targetGroupIds, ['g-1']);
    assert.equal('companyCodes' in listed[0]!, false, 'derived properties are not exported');

    assert.equal((await server.admin('POST', '/_admin/reset')).status, 200);
    assert.equal(await server.storedOf(settingsDef, tenant, tenant), undefined, 'reset removed the record');
    // Read now, a reset tenant starts over: bound, owned by this caller.
    assert.equal((await call(server.url, 'GET', SETTINGS, { token })).json.bindStatus, 'boundAndValidated');

    const put = await server.admin('PUT', '/_admin/snapshot', snap);
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.imported.managedStoreSettings, snap.managedStoreSettings.length);
    const s = (await call(server.url, 'GET', SETTINGS, { token })).json;
    assert.equal(s.bindStatus, 'notBound');
    assert.equal(s.ownerUserPrincipalName, null);
    assert.deepEqual(s.targetGroupIds, ['g-1']);
    const r = await server.storedOf(settingsDef, tenant, tenant);
    assert.equal(r?.bindStatus, 'notBound');
    assert.deepEqual(r?.targetGroupIds, ['g-1']);
  });
});
