import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, cloudDpcQr, createProfile, JSON_CT, newTenant, PROFILES, startTenantServer, type TestServer } from '../helpers.js';
import { decodeQrPng } from '../qr-decode.js';

const ISO7 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;

function decodeQr(base64: string): string | undefined {
  return decodeQrPng(base64)?.text;
}

describe('enrollment profiles: the seven operations', () => {
  let server: TestServer;
  let tenant: string;
  let token: string;

  before(async () => {
    ({ server, tenant, token } = await startTenantServer());
  });
  after(() => server.dispose());

  it('creates a profile with server-written defaults and Graph headers', async () => {
    const res = await call(server.url, 'POST', PROFILES, { token, body: { displayName: 'Lobby kiosks', description: 'Front desk' } });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('content-type'), JSON_CT);
    assert.equal(res.headers.get('odata-version'), '4.0');
    assert.match(res.headers.get('request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(res.headers.get('x-ms-ags-diagnostic'));
    assert.ok(res.headers.get('date'));
    const p = res.json;
    assert.equal(p['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidForWorkEnrollmentProfiles/$entity`);
    assert.equal(res.headers.get('location'), `${server.url}${PROFILES}/${p.id}`);
    assert.match(p.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(p.accountId, tenant);
    assert.equal(p.displayName, 'Lobby kiosks');
    assert.equal(p.description, 'Front desk');
    assert.match(p.createdDateTime, ISO7);
    assert.equal(p.lastModifiedDateTime, p.createdDateTime);
    assert.equal(p.tokenValue, null);
    assert.equal(p.tokenExpirationDateTime, '0001-01-01T00:00:00Z');
    assert.equal(p.enrolledDeviceCount, 0);
    assert.equal(p.qrCodeContent, null);
    assert.equal(p.qrCodeImage, null);
    const stored = await server.stored(tenant, p.id);
    assert.equal(stored?.displayName, 'Lobby kiosks');
  });

  it('gets a profile by id and by key syntax, on beta and v1.0', async () => {
    const p = await createProfile(server.url, token);
    for (const path of [`${PROFILES}/${p.id}`, `${PROFILES}('${p.id}')`, `/v1.0/deviceManagement/androidForWorkEnrollmentProfiles/${p.id}`]) {
      const res = await call(server.url, 'GET', path, { token });
      assert.equal(res.status, 200, path);
      assert.equal(res.json.id, p.id);
      assert.equal(res.json.displayName, p.displayName);
    }
    const v1 = await call(server.url, 'GET', `/v1.0/deviceManagement/androidForWorkEnrollmentProfiles/${p.id}`, { token });
    assert.equal(v1.json['@odata.context'], `${server.url}/v1.0/$metadata#deviceManagement/androidForWorkEnrollmentProfiles/$entity`);
  });

  it('lists every profile of the tenant in a stable order', async () => {
    const t = newTenant();
    const tk = await server.token({ tenantId: t });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await createProfile(server.url, tk, { displayName: `p${i}` })).id);
    const a = await call(server.url, 'GET', PROFILES, { token: tk });
    assert.equal(a.status, 200);
    assert.equal(a.json['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidForWorkEnrollmentProfiles`);
    assert.deepEqual(a.json.value.map((p: { id: string }) => p.id), ids);
    const b = await call(server.url, 'GET', PROFILES, { token: tk });
    assert.deepEqual(b.json.value, a.json.value);
  });

  it('updates with PATCH: 204 without a body as Intune answers, 200 + entity with Prefer: return=representation', async () => {
    const p = await createProfile(server.url, token, { displayName: 'before', description: 'd' });
    const plain = await call(server.url, 'PATCH', `${PROFILES}/${p.id}`, { token, body: { displayName: 'after' } });
    assert.equal(plain.status, 204);
    assert.equal(plain.text, '');
    assert.equal(plain.headers.get('content-type'), null);
    assert.equal((await server.stored(tenant, p.id))?.displayName, 'after');
    const res = await call(server.url, 'PATCH', `${PROFILES}/${p.id}`, { token, body: { displayName: 'after' }, headers: { Prefer: 'return=representation' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('preference-applied'), 'return=representation');
    assert.equal(res.json['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidForWorkEnrollmentProfiles/$entity`);
    assert.equal(res.json.displayName, 'after');
    assert.equal(res.json.description, 'd');
    assert.ok(res.json.lastModifiedDateTime > p.lastModifiedDateTime);
    assert.equal(res.json.createdDateTime, p.createdDateTime);

    const min = await call(server.url, 'PATCH', `${PROFILES}/${p.id}`, {
      token, body: { description: null }, headers: { Prefer: 'return=minimal' },
    });
    assert.equal(min.status, 204);
    assert.equal(min.text, '');
    assert.equal(min.headers.get('content-type'), null);
    const stored = await server.stored(tenant, p.id);
    assert.equal(stored?.description, null);
    assert.equal(stored?.displayName, 'after');
  });

  it('deletes a profile (204), after which it is gone', async () => {
    const p = await createProfile(server.url, token);
    const res = await call(server.url, 'DELETE', `${PROFILES}/${p.id}`, { token });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('content-type'), null);
    assert.equal((await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token })).status, 404);
    assert.equal(await server.stored(tenant, p.id), undefined);
    assert.equal((await call(server.url, 'DELETE', `${PROFILES}/${p.id}`, { token })).status, 404);
  });

  it('createToken issues a 20-letter token, its expiry, QR content and a QR image that decodes to it', async () => {
    const p = await createProfile(server.url, token);
    const beforeMs = Date.now();
    const res = await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 6 } });
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('content-type'), null);

    const got = (await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token })).json;
    assert.match(got.tokenValue, /^[A-Z]{20}$/);
    const expiry = Date.parse(got.tokenExpirationDateTime);
    assert.match(got.tokenExpirationDateTime, ISO7);
    assert.ok(expiry >= beforeMs + 6000 - 5 && expiry <= Date.now() + 6000, 'expiry is now + 6 s');
    assert.equal(Date.parse(got.lastModifiedDateTime), expiry - 6000);
    assert.equal(got.qrCodeContent, cloudDpcQr(got.tokenValue));
    assert.equal(got.qrCodeImage.type, 'image/png');
    assert.equal(decodeQr(got.qrCodeImage.value), got.qrCodeContent);

    const stored = await server.stored(tenant, p.id);
    assert.equal(stored?.tokenValue, got.tokenValue);
  });

  it('a second createToken replaces the token, and the list shows consistent QR data', async () => {
    const p = await createProfile(server.url, token);
    await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 60 } });
    const first = (await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token })).json.tokenValue;
    await call(server.url, 'POST', `${PROFILES}/${p.id}/microsoft.graph.createToken`, { token, body: { tokenValidityInSeconds: 120 } });
    const list = (await call(server.url, 'GET', PROFILES, { token })).json.value as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const second = list.find((x) => x.id === p.id)!;
    assert.notEqual(second.tokenValue, first);
    assert.equal(second.qrCodeContent, cloudDpcQr(second.tokenValue));
    assert.equal(decodeQr(second.qrCodeImage.value), second.qrCodeContent);
  });

  it('revokeToken clears the token, sets expiry to the revocation instant and keeps the device count', async () => {
    const p = await createProfile(server.url, token);
    await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } });
    const t0 = Date.now();
    const res = await call(server.url, 'POST', `${PROFILES}/${p.id}/revokeToken`, { token });
    assert.equal(res.status, 204);
    const got = (await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token })).json;
    assert.equal(got.tokenValue, null);
    assert.equal(got.qrCodeContent, null);
    assert.equal(got.qrCodeImage, null);
    const revokedAt = Date.parse(got.tokenExpirationDateTime);
    assert.ok(Math.abs(revokedAt - t0) < 2000, 'expiry is the revocation instant');
    assert.equal(got.tokenExpirationDateTime, got.lastModifiedDateTime);
    assert.equal(got.enrolledDeviceCount, 0);
    // Revoking again (no live token) is still a 204; an empty JSON object body is accepted too.
    const again = await call(server.url, 'POST', `${PROFILES}/${p.id}/revokeToken`, { token, body: {} });
    assert.equal(again.status, 204);
    const stored = await server.stored(tenant, p.id);
    assert.equal(stored?.tokenValue, null);
  });

  it('tokens are unique across profiles and tenants', async () => {
    const other = await server.token({ tenantId: newTenant() });
    const seen = new Set<string>();
    for (const tk of [token, other]) {
      for (let i = 0; i < 10; i++) {
        const p = await createProfile(server.url, tk);
        await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token: tk, body: { tokenValidityInSeconds: 60 } });
        const v = (await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token: tk })).json.tokenValue;
        assert.ok(!seen.has(v));
        seen.add(v);
      }
    }
    assert.equal(seen.size, 20);
  });

  it('50 concurrent createToken calls leave one consistent token', async () => {
    const p = await createProfile(server.url, token);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 1000 + i } }),
      ),
    );
    assert.deepEqual(results.map((r) => r.status), Array(50).fill(204));
    const got = (await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token })).json;
    const stored = await server.stored(tenant, p.id);
    assert.equal(got.tokenValue, stored?.tokenValue);
    assert.equal(got.qrCodeContent, cloudDpcQr(got.tokenValue));
    assert.equal(decodeQr(got.qrCodeImage.value), got.qrCodeContent);
    // Expiry and modification time come from the same call: expiry - modified is one of the requested validities.
    const validity = (Date.parse(got.tokenExpirationDateTime) - Date.parse(got.lastModifiedDateTime)) / 1000;
    assert.ok(Number.isInteger(validity) && validity >= 1000 && validity < 1050, `validity ${validity}`);
  });

  it('concurrent token calls on many profiles each hold as if run alone', async () => {
    const kept = await Promise.all(Array.from({ length: 12 }, () => createProfile(server.url, token)));
    const revoked = await Promise.all(Array.from({ length: 6 }, () => createProfile(server.url, token)));
    const gone = await createProfile(server.url, token);
    assert.equal((await call(server.url, 'DELETE', `${PROFILES}/${gone.id}`, { token })).status, 204);
    for (const p of revoked) await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 600 } });
    const create = (id: string) => call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 600 } });
    const results = await Promise.all([
      ...kept.flatMap((p) => [create(p.id), create(p.id)]),
      ...revoked.map((p) => call(server.url, 'POST', `${PROFILES}/${p.id}/revokeToken`, { token })),
      create(gone.id),
    ]);
    assert.deepEqual(results.map((r) => r.status), [...Array(kept.length * 2 + revoked.length).fill(204), 404]);
    const values = new Set<string>();
    for (const p of kept) {
      const got = (await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token })).json;
      assert.equal(typeof got.tokenValue, 'string');
      values.add(got.tokenValue);
      // The token a read shows is the one enrollment accepts, for this profile.
      const enrolled = await call(server.url, 'POST', '/enrollment/android/enroll', { body: { enrollmentToken: got.tokenValue } });
      assert.equal(enrolled.status, 200, enrolled.text);
      assert.equal(enrolled.json.profileId, p.id);
    }
    assert.equal(values.size, kept.length);
    for (const p of revoked) {
      const got = (await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token })).json;
      assert.equal(got.tokenValue, null);
      assert.equal((await server.stored(tenant, p.id))!.tokenValue, null);
    }
    assert.equal(await server.stored(tenant, gone.id), undefined);
  });
});
