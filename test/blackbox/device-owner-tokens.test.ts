/**
 * Black-box tests of device-owner enrollment tokens by enrollment mode (SPEC §6, issue 13 point 2),
 * on a frozen server clock: creation and expiry times, token lengths, the QR content (CloudDPC JSON
 * for GMS modes, base64 JSON with the Wi-Fi extras for AOSP modes) and its image, revokeToken, the
 * `AOSP-{id}` key, and devices enrolling with these tokens beside androidForWork ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, cloudDpcQr, createProfile, graphError, patchEntity, PROFILES, type TestServer } from '../helpers.js';
import { decodeQrPng } from '../qr-decode.js';
import {
  advance, AOSP_MODES, decodeAospQr, DEF, DO, ENROLL, freeze, frozenServer, GMS_MODES, iso7, MODES, T0, TOKEN_PATTERN, WIFI_KEYS,
  type Client, type Json, type Mode,
} from '../device-owner.js';

let server: TestServer;
let c: Client;
before(async () => ({ server, c } = await frozenServer()));
after(() => server?.dispose());

/** The QR image of a profile as a GET shows it: a PNG that decodes to exactly its qrCodeContent. */
function assertQrImage(p: Json): void {
  assert.equal(p.qrCodeImage?.type, 'image/png');
  assert.equal(decodeQrPng(p.qrCodeImage.value)?.text, p.qrCodeContent);
}

const enroll = (enrollmentToken: string, serialNumber?: string) =>
  call(server.url, 'POST', ENROLL, { body: { enrollmentToken, ...(serialNumber ? { serialNumber } : {}) } });

const counts = (p: Json) => ({ enrolledDeviceCount: p.enrolledDeviceCount, enrollmentTokenUsageCount: p.enrollmentTokenUsageCount });

describe('device-owner tokens by enrollment mode', () => {
  for (const mode of MODES) {
    it(`${mode}: createToken stamps tokenCreationDateTime, expiry = creation + n, a ${TOKEN_PATTERN(mode).source} token`, async () => {
      await freeze(server, T0);
      const p = await c.make(mode);
      await advance(server, 42.5);
      await c.createToken(p.id, 86_400);
      const got = await c.get(p.id);
      assert.match(got.tokenValue, TOKEN_PATTERN(mode));
      assert.equal(got.tokenCreationDateTime, iso7(T0 + 42.5));
      assert.equal(got.tokenExpirationDateTime, iso7(T0 + 42.5 + 86_400));
      assert.equal(got.lastModifiedDateTime, iso7(T0 + 42.5));
      assert.equal(got.createdDateTime, iso7(T0));
      assert.equal(got.enrollmentTokenUsageCount, 0);
      const stored = (await c.stored(p.id))!;
      assert.equal(stored.tokenValue, got.tokenValue);
      assert.equal(stored.tokenCreationDateTime, (T0 + 42.5) * 1e6);
      assert.equal(stored.tokenExpirationDateTime, (T0 + 42.5 + 86_400) * 1e6);
      // A second token: new value, new times.
      await advance(server, 10);
      await c.createToken(p.id, 60, 'microsoft.graph.createToken');
      const again = await c.get(p.id);
      assert.match(again.tokenValue, TOKEN_PATTERN(mode));
      assert.notEqual(again.tokenValue, got.tokenValue);
      assert.equal(again.tokenCreationDateTime, iso7(T0 + 52.5));
      assert.equal(again.tokenExpirationDateTime, iso7(T0 + 52.5 + 60));
      await freeze(server, T0);
    });
  }

  for (const mode of GMS_MODES) {
    it(`${mode}: qrCodeContent is the CloudDPC JSON with the token, without Wi-Fi keys; the image decodes to it`, async () => {
      const p = await c.withToken(mode, 3600, { wifiSsid: 'Office', wifiPassword: 'secret', wifiSecurityType: 'wpa' });
      assert.equal(p.qrCodeContent, cloudDpcQr(p.tokenValue));
      assertQrImage(p);
    });
  }

  const wifiCases: [string, Json, Record<string, unknown>][] = [
    ['WPA, hidden, with a password', { wifiSsid: 'Office', wifiPassword: 'hunter2', wifiSecurityType: 'wpa', wifiHidden: true },
      { SSID: 'Office', PASSWORD: 'hunter2', HIDDEN: true, SECURITY_TYPE: 'WPA' }],
    ['WEP', { wifiSsid: 'Legacy', wifiPassword: 'abcde', wifiSecurityType: 'wep' }, { SSID: 'Legacy', PASSWORD: 'abcde', HIDDEN: false, SECURITY_TYPE: 'WEP' }],
    ['an open network (no password)', { wifiSsid: 'Guest' }, { SSID: 'Guest', HIDDEN: false, SECURITY_TYPE: 'NONE' }],
    ['configureWifi false: no Wi-Fi keys', { configureWifi: false, wifiSsid: 'Office', wifiPassword: 'hunter2', wifiSecurityType: 'wpa' }, {}],
    ['configureWifi but no SSID: no Wi-Fi keys', { configureWifi: true }, {}],
  ];
  for (const mode of AOSP_MODES) {
    for (const [label, wifi, keys] of wifiCases) {
      it(`${mode}, ${label}: qrCodeContent is base64 of JSON with the token and exactly these Wi-Fi extras; the image decodes to it`, async () => {
        const p = await c.withToken(mode, 3600, wifi);
        const decoded = decodeAospQr(p.qrCodeContent);
        assert.equal(decoded.token, p.tokenValue);
        assert.deepEqual(decoded.wifi, Object.fromEntries(Object.entries(keys).map(([k, v]) => [`android.app.extra.PROVISIONING_WIFI_${k}`, v])));
        assert.ok(Object.keys(decoded.wifi).every((k) => WIFI_KEYS.includes(k)));
        assertQrImage(p);
      });
    }
  }

  // The QR content depends on more than the token (an AOSP profile's Wi-Fi settings, any profile's
  // enrollment mode): after such a PATCH both qrCodeContent and qrCodeImage show the new content.
  const SSID = 'android.app.extra.PROVISIONING_WIFI_SSID';
  const qrChanges: [string, Mode, Json, Json, (content: string) => void][] = [
    ['the Wi-Fi settings of an AOSP profile', 'corporateOwnedAOSPUserlessDevice', { wifiSsid: 'Old' }, { wifiSsid: 'New' },
      (content) => assert.equal(decodeAospQr(content).wifi[SSID], 'New')],
    ['the enrollment mode (fully managed to AOSP)', 'corporateOwnedFullyManaged', { wifiSsid: 'Lab' }, { enrollmentMode: 'corporateOwnedAOSPUserAssociatedDevice' },
      (content) => assert.equal(decodeAospQr(content).wifi[SSID], 'Lab')],
  ];
  for (const [label, mode, initial, change, check] of qrChanges) {
    it(`a PATCH of ${label} changes the QR content of the current token, and its image with it`, async () => {
      const p = await c.withToken(mode, 3600, initial);
      assertQrImage(p);
      const got = await patchEntity(server.url, c.token, `${DO}/${p.id}`, change);
      assert.equal(got.tokenValue, p.tokenValue);
      check(got.qrCodeContent);
      check(decodeQrPng(got.qrCodeImage.value)!.text);
    });
  }

  // Images are cached in the background, a moment after they are rendered. One rendered from the
  // profile as it was before another process changed it (same token; on this frozen clock, the same
  // lastModifiedDateTime too) must not be cached over that change: every process would show it.
  it('an image rendered before another process changes the QR content is not cached over the change', async () => {
    const p = await c.make('corporateOwnedAOSPUserlessDevice', { wifiSsid: 'Before' });
    await c.createToken(p.id, 3600);
    assert.equal(decodeAospQr((await c.get(p.id)).qrCodeContent).wifi[SSID], 'Before'); // rendered; to be cached shortly
    const other = await server.openStore(); // what another process's PATCH writes
    try {
      assert.ok((await other.update(DEF, c.tenant, p.id, { set: { wifiSsid: 'After', qrCodeImage: null } })).ok);
      await new Promise((done) => setTimeout(done, 300)); // past the server's delay before it caches images
      const stored = await other.get(DEF, c.tenant, p.id);
      const image = stored?.qrCodeImage as string | null;
      assert.ok(image === null || decodeAospQr(decodeQrPng(image)!.text).wifi[SSID] === 'After', 'no image of the content before the change is stored');
    } finally {
      await other.close();
    }
    const got = await c.get(p.id);
    assert.equal(decodeAospQr(got.qrCodeContent).wifi[SSID], 'After');
    assert.equal(decodeAospQr(decodeQrPng(got.qrCodeImage.value)!.text).wifi[SSID], 'After');
  });

  it('$select=qrCodeImage answers the image alone, on one profile and on the list', async () => {
    const made: Json[] = [];
    for (const mode of ['corporateOwnedFullyManaged', 'corporateOwnedAOSPUserAssociatedDevice'] as const) {
      const p = await c.withToken(mode, 3600, { wifiSsid: 'Office' });
      made.push(p);
      const one = await c.get(p.id, '?$select=qrCodeImage');
      assert.equal(one['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidDeviceOwnerEnrollmentProfiles(qrCodeImage)/$entity`);
      assert.deepEqual(Object.keys(one), ['@odata.context', '@odata.type', 'qrCodeImage']);
      assert.equal(decodeQrPng(one.qrCodeImage.value)?.text, p.qrCodeContent, mode);
    }
    const ids = made.map((p) => `'${p.id}'`).join(',');
    const list = await call(server.url, 'GET', `${DO}?$select=id,qrCodeImage&$filter=id in (${ids})`, { token: c.token });
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.value.map((row: Json) => row.id).sort(), made.map((p) => p.id).sort());
    for (const row of list.json.value) {
      assert.deepEqual(Object.keys(row), ['@odata.type', 'id', 'qrCodeImage']);
      assert.equal(decodeQrPng(row.qrCodeImage.value)?.text, made.find((p) => p.id === row.id)!.qrCodeContent);
    }
  });

  it('revokeToken nulls the token and QR, sets the expiry to the revocation instant, keeps the creation time', async () => {
    for (const mode of ['corporateOwnedDedicatedDevice', 'corporateOwnedAOSPUserlessDevice'] as const) {
      await freeze(server, T0);
      const p = await c.withToken(mode, 3600);
      await advance(server, 5);
      await c.revokeToken(p.id);
      const got = await c.get(p.id);
      assert.deepEqual(
        { tokenValue: got.tokenValue, qrCodeContent: got.qrCodeContent, qrCodeImage: got.qrCodeImage, tokenExpirationDateTime: got.tokenExpirationDateTime },
        { tokenValue: null, qrCodeContent: null, qrCodeImage: null, tokenExpirationDateTime: iso7(T0 + 5) },
      );
      assert.equal(got.lastModifiedDateTime, iso7(T0 + 5));
      assert.equal(got.tokenCreationDateTime, iso7(T0));
      const stored = (await c.stored(p.id))!;
      assert.equal(stored.tokenValue, null);
      assert.equal(stored.tokenExpirationDateTime, (T0 + 5) * 1e6);
      // Revoking with no live token is still a 204.
      await c.revokeToken(p.id, 'microsoft.graph.revokeToken');
    }
    await freeze(server, T0);
  });

  it('the AOSP-{id} key names an AOSP profile for GET, createToken and revokeToken (plain and qualified); answers carry the bare id', async () => {
    for (const mode of AOSP_MODES) {
      const p = await c.make(mode);
      const key = `AOSP-${p.id}`;
      assert.deepEqual(await c.get(key), p);
      await c.createToken(key, 600);
      const withToken = await c.get(key);
      assert.equal(withToken.id, p.id);
      assert.match(withToken.tokenValue, /^[A-Z]{20}$/);
      assert.equal((await c.stored(p.id))!.tokenValue, withToken.tokenValue);
      await c.createToken(key, 900, 'microsoft.graph.createToken');
      assert.equal((await c.get(p.id)).tokenExpirationDateTime, iso7(T0 + 900));
      await c.revokeToken(key);
      assert.equal((await c.stored(p.id))!.tokenValue, null);
      await c.createToken(p.id, 60); // the bare id works too
      await c.revokeToken(key, 'microsoft.graph.revokeToken');
      assert.equal((await c.get(key)).tokenValue, null);
    }
    graphError(await call(server.url, 'GET', `${DO}/AOSP-no-such-profile`, { token: c.token }), 404, 'ResourceNotFound');
  });
});

describe('devices enrolling with device-owner tokens', () => {
  it('a device enrolls with a device-owner token: enrolledDeviceCount and enrollmentTokenUsageCount both count it', async () => {
    for (const mode of ['corporateOwnedFullyManaged', 'corporateOwnedAOSPUserlessDevice'] as const) {
      const p = await c.withToken(mode);
      const res = await enroll(p.tokenValue, `SN-${mode}`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        { profileId: res.json.profileId, tenantId: res.json.tenantId, enrolledDeviceCount: res.json.enrolledDeviceCount, serialNumber: res.json.serialNumber },
        { profileId: p.id, tenantId: c.tenant, enrolledDeviceCount: 1, serialNumber: `SN-${mode}` },
      );
      assert.deepEqual(counts(await c.get(p.id)), { enrolledDeviceCount: 1, enrollmentTokenUsageCount: 1 });
      assert.equal((await enroll(p.tokenValue)).json.enrolledDeviceCount, 2);
      assert.deepEqual(counts(await c.get(p.id)), { enrolledDeviceCount: 2, enrollmentTokenUsageCount: 2 });
      assert.deepEqual(counts((await c.stored(p.id))!), { enrolledDeviceCount: 2, enrollmentTokenUsageCount: 2 });
    }
  });

  it('a new token resets enrollmentTokenUsageCount but not enrolledDeviceCount; the replaced token is refused', async () => {
    const p = await c.withToken('corporateOwnedWorkProfile');
    for (let i = 0; i < 3; i++) assert.equal((await enroll(p.tokenValue)).status, 200);
    await c.createToken(p.id, 3600);
    const renewed = await c.get(p.id);
    assert.deepEqual(counts(renewed), { enrolledDeviceCount: 3, enrollmentTokenUsageCount: 0 });
    assert.deepEqual(counts((await c.stored(p.id))!), { enrolledDeviceCount: 3, enrollmentTokenUsageCount: 0 });
    graphError(await enroll(p.tokenValue), 403, 'InvalidEnrollmentToken');
    assert.deepEqual(counts(await c.get(p.id)), { enrolledDeviceCount: 3, enrollmentTokenUsageCount: 0 });
    assert.equal((await enroll(renewed.tokenValue)).json.enrolledDeviceCount, 4);
    assert.deepEqual(counts(await c.get(p.id)), { enrolledDeviceCount: 4, enrollmentTokenUsageCount: 1 });
  });

  it('a revoked, expired or deleted profile\'s token is refused, and nothing is counted', async () => {
    const revoked = await c.withToken('corporateOwnedAOSPUserAssociatedDevice');
    await c.revokeToken(`AOSP-${revoked.id}`);
    graphError(await enroll(revoked.tokenValue), 403, 'InvalidEnrollmentToken');
    assert.deepEqual(counts((await c.stored(revoked.id))!), { enrolledDeviceCount: 0, enrollmentTokenUsageCount: 0 });

    await freeze(server, T0);
    const expiring = await c.withToken('corporateOwnedDedicatedDevice', 6);
    await advance(server, 5);
    assert.equal((await enroll(expiring.tokenValue)).status, 200);
    await advance(server, 2);
    const e = graphError(await enroll(expiring.tokenValue), 403, 'EnrollmentTokenExpired');
    assert.match(e.message, /2030-01-01T00:00:06/);
    assert.deepEqual(counts((await c.stored(expiring.id))!), { enrolledDeviceCount: 1, enrollmentTokenUsageCount: 1 });
    await freeze(server, T0);

    const deleted = await c.withToken('corporateOwnedFullyManaged');
    assert.equal((await call(server.url, 'DELETE', `${DO}/${deleted.id}`, { token: c.token })).status, 204);
    graphError(await enroll(deleted.tokenValue), 403, 'InvalidEnrollmentToken');
  });

  it("enrollments of both kinds in one tenant don't mix", async () => {
    const afw = await createProfile(server.url, c.token, { displayName: 'work profile' });
    assert.equal((await call(server.url, 'POST', `${PROFILES}/${afw.id}/createToken`, { token: c.token, body: { tokenValidityInSeconds: 3600 } })).status, 204);
    const afwToken = (await server.stored(c.tenant, afw.id))!.tokenValue!;
    const ado = await c.withToken('corporateOwnedDedicatedDevice');
    assert.notEqual(afwToken, ado.tokenValue);
    const a = await enroll(afwToken, 'AFW-1');
    const d1 = await enroll(ado.tokenValue, 'ADO-1');
    const d2 = await enroll(ado.tokenValue, 'ADO-2');
    assert.deepEqual([a, d1, d2].map((r) => [r.status, r.json.profileId, r.json.enrolledDeviceCount]), [[200, afw.id, 1], [200, ado.id, 1], [200, ado.id, 2]]);
    assert.equal((await server.stored(c.tenant, afw.id))!.enrolledDeviceCount, 1);
    assert.equal((await call(server.url, 'GET', `${PROFILES}/${afw.id}`, { token: c.token })).json.enrolledDeviceCount, 1);
    assert.deepEqual(counts(await c.get(ado.id)), { enrolledDeviceCount: 2, enrollmentTokenUsageCount: 2 });
    // The device records name the kind of profile each device enrolled with.
    const devices = (await server.admin('GET', '/_admin/snapshot')).json.devices.filter((d: Json) => d.tenantId === c.tenant);
    const kinds = (id: string) => devices.filter((d: Json) => d.profileId === id).map((d: Json) => [d.profileType, d.serialNumber]).sort();
    assert.deepEqual(kinds(afw.id), [['androidForWorkEnrollmentProfile', 'AFW-1']]);
    assert.deepEqual(kinds(ado.id), [['androidDeviceOwnerEnrollmentProfile', 'ADO-1'], ['androidDeviceOwnerEnrollmentProfile', 'ADO-2']]);
  });

  it('token values are unique across profiles of both kinds', async () => {
    const seen = new Set<string>();
    for (const mode of MODES) {
      for (let i = 0; i < 4; i++) seen.add((await c.withToken(mode, 60)).tokenValue);
    }
    for (let i = 0; i < 4; i++) {
      const p = await createProfile(server.url, c.token);
      await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token: c.token, body: { tokenValidityInSeconds: 60 } });
      seen.add((await server.stored(c.tenant, p.id))!.tokenValue!);
    }
    assert.equal(seen.size, MODES.length * 4 + 4);
  });
});
