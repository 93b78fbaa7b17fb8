/**
 * Black-box tests of device-owner profiles in the control API's state (issue 13 point 5): snapshots
 * list them under `deviceOwnerProfiles` and import them back, reset empties them, a seed file (JSON
 * or YAML) makes them, and a snapshot giving one token value to profiles of both kinds is refused.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, createProfile, graphError, newTenant, startServer, tempDir, type TestServer } from '../helpers.js';
import {
  advance, CSDL_PROPERTIES, decodeAospQr, deviceOwner, DO, ENROLL, freeze, frozenServer, iso7, T0, tenantClient, type Client, type Json,
} from '../device-owner.js';

const withoutTakenAt = (s: Json) => {
  const { takenAt: _ignored, ...rest } = s;
  return rest;
};
const snapshot = async (server: TestServer) => {
  const res = await server.admin('GET', '/_admin/snapshot');
  assert.equal(res.status, 200, res.text);
  return res.json as Json;
};
const list = async (server: TestServer, token: string) => {
  const res = await call(server.url, 'GET', DO, { token });
  assert.equal(res.status, 200, res.text);
  return res.json.value as Json[];
};

describe('device-owner profiles in snapshots and resets', () => {
  let server: TestServer;
  let c: Client;
  before(async () => ({ server, c } = await frozenServer()));
  after(() => server?.dispose());

  it('GET /_admin/snapshot lists them under deviceOwnerProfiles with their tokens; reset empties them; PUT restores them', async () => {
    const dedicated = await c.withToken('corporateOwnedDedicatedDevice', 600);
    await advance(server, 1);
    const aosp = await c.withToken('corporateOwnedAOSPUserlessDevice', 7_776_000, {
      wifiSsid: 'Office', wifiPassword: 'pw', wifiSecurityType: 'wpa', roleScopeTagIds: ['0', '5'], deviceNameTemplate: '{{SERIAL}}',
    });
    await advance(server, 1);
    const plain = await c.make('corporateOwnedWorkProfile', { configureWifi: false, isTeamsDeviceProfile: true });
    assert.equal((await call(server.url, 'POST', ENROLL, { body: { enrollmentToken: aosp.tokenValue, serialNumber: 'S1' } })).status, 200);

    const snap = await snapshot(server);
    const mine = snap.deviceOwnerProfiles.filter((p: Json) => p.tenantId === c.tenant);
    assert.deepEqual(mine.map((p: Json) => p.id), [dedicated.id, aosp.id, plain.id]);
    // Every stored property but the tenant (its own key) and the derived QR values.
    const stored = CSDL_PROPERTIES.filter((k) => !['accountId', 'qrCodeContent', 'qrCodeImage'].includes(k));
    for (const p of mine) assert.deepEqual(Object.keys(p).sort(), ['tenantId', ...stored].sort());
    const a = mine[1];
    assert.deepEqual(
      { tokenValue: a.tokenValue, tokenCreationDateTime: a.tokenCreationDateTime, tokenExpirationDateTime: a.tokenExpirationDateTime,
        enrolledDeviceCount: a.enrolledDeviceCount, enrollmentTokenUsageCount: a.enrollmentTokenUsageCount, enrollmentMode: a.enrollmentMode,
        roleScopeTagIds: a.roleScopeTagIds, wifiSecurityType: a.wifiSecurityType, wifiPassword: a.wifiPassword },
      { tokenValue: aosp.tokenValue, tokenCreationDateTime: iso7(T0 + 1), tokenExpirationDateTime: iso7(T0 + 1 + 7_776_000),
        enrolledDeviceCount: 1, enrollmentTokenUsageCount: 1, enrollmentMode: 'corporateOwnedAOSPUserlessDevice',
        roleScopeTagIds: ['0', '5'], wifiSecurityType: 'wpa', wifiPassword: 'pw' },
    );
    assert.equal(mine[2].tokenValue, null);
    assert.equal(mine[2].tokenCreationDateTime, '0001-01-01T00:00:00Z');
    assert.deepEqual(snap.devices.filter((d: Json) => d.tenantId === c.tenant).map((d: Json) => [d.profileType, d.profileId, d.serialNumber]),
      [['androidDeviceOwnerEnrollmentProfile', aosp.id, 'S1']]);
    const graphBefore = await list(server, c.token);

    // Reset: gone from Graph and from the store.
    assert.equal((await server.admin('POST', '/_admin/reset')).status, 200);
    assert.deepEqual((await snapshot(server)).deviceOwnerProfiles, []);
    assert.deepEqual(await c.storedAll(), []);
    await freeze(server, T0 + 2);
    assert.deepEqual(await list(server, c.token), []);
    graphError(await call(server.url, 'POST', ENROLL, { body: { enrollmentToken: aosp.tokenValue } }), 403, 'InvalidEnrollmentToken');

    // Import: the same snapshot again, and the same Graph answers (QR content and images included).
    const put = await server.admin('PUT', '/_admin/snapshot', snap);
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(withoutTakenAt(await snapshot(server)), withoutTakenAt(snap));
    assert.deepEqual(await list(server, c.token), graphBefore);
    assert.equal((await c.stored(aosp.id))!.tokenValue, aosp.tokenValue);
    // The restored token still enrolls, counting on from the restored counts.
    const again = await call(server.url, 'POST', ENROLL, { body: { enrollmentToken: aosp.tokenValue } });
    assert.equal(again.json.enrolledDeviceCount, 2);
    assert.equal((await c.get(aosp.id)).enrollmentTokenUsageCount, 2);
  });

  it("reset of one tenant removes its device-owner profiles and keeps the others'", async () => {
    const keep = await tenantClient(server);
    const drop = await tenantClient(server);
    for (const t of [keep, drop]) await t.make('corporateOwnedFullyManaged');
    assert.equal((await server.admin('POST', '/_admin/reset', { tenant: drop.tenant })).status, 200);
    assert.equal((await drop.storedAll()).length, 0);
    assert.equal((await keep.storedAll()).length, 1);
  });

  it('refuses a snapshot that gives one token value to an androidForWork and a device-owner profile, and changes nothing', async () => {
    const p = await c.withToken('corporateOwnedFullyManaged', 600);
    const before = await snapshot(server);
    const storedBefore = await c.storedAll();
    const t = newTenant();
    const docs: Json[] = [
      { ...before, profiles: [...before.profiles, { tenantId: t, displayName: 'afw', tokenValue: 'SAMETOKENSAMETOKENXX', tokenExpirationDateTime: '2031-01-01T00:00:00Z' }],
        deviceOwnerProfiles: [...before.deviceOwnerProfiles, { tenantId: t, displayName: 'ado', enrollmentMode: 'corporateOwnedDedicatedDevice', tokenValue: 'SAMETOKENSAMETOKENXX', tokenExpirationDateTime: '2031-01-01T00:00:00Z' }] },
      // The live device-owner token given to an androidForWork profile too.
      { ...before, profiles: [...before.profiles, { tenantId: t, displayName: 'afw', tokenValue: p.tokenValue, tokenExpirationDateTime: '2031-01-01T00:00:00Z' }] },
    ];
    for (const doc of docs) {
      const e = graphError(await server.admin('PUT', '/_admin/snapshot', doc), 400, 'BadRequest');
      assert.match(e.message, /tokenValue/);
    }
    // Malformed device-owner records are refused too.
    const bad: [Json, RegExp][] = [
      [{ tenantId: t, displayName: 'no mode' }, /enrollmentMode/],
      [{ tenantId: t, displayName: 'x', enrollmentMode: 'kiosk' }, /enrollmentMode/],
      [{ tenantId: t, displayName: 'x', enrollmentMode: 'corporateOwnedFullyManaged', configureWifi: 'yes' }, /configureWifi/],
      [{ tenantId: t, displayName: 'x', enrollmentMode: 'corporateOwnedFullyManaged', enrollmentTokenUsageCount: -1 }, /enrollmentTokenUsageCount/],
      [{ tenantId: t, displayName: 'x', enrollmentMode: 'corporateOwnedFullyManaged', tokenValue: 'NOEXPIRY' }, /tokenExpirationDateTime/],
      [{ tenantId: t, displayName: 'x', enrollmentMode: 'corporateOwnedFullyManaged', qrCodeContent: 'x' }, /qrCodeContent/],
    ];
    for (const [record, message] of bad) {
      const e = graphError(await server.admin('PUT', '/_admin/snapshot', { ...before, deviceOwnerProfiles: [record] }), 400, 'BadRequest');
      assert.match(e.message, message, JSON.stringify(record));
    }
    assert.deepEqual(withoutTakenAt(await snapshot(server)), withoutTakenAt(before));
    assert.deepEqual(await c.storedAll(), storedBefore);
    assert.equal((await call(server.url, 'POST', ENROLL, { body: { enrollmentToken: p.tokenValue } })).json.profileId, p.id);
  });
});

describe('device-owner profiles from a seed file', () => {
  const tenant = newTenant();
  const seeds: [string, string][] = [
    ['seed.yaml', [
      'clock: { frozen: true, now: "2030-01-01T00:00:00Z" }',
      'deviceOwnerProfiles:',
      `  - tenantId: ${tenant}`,
      '    displayName: Seeded AOSP',
      '    enrollmentMode: corporateOwnedAOSPUserlessDevice',
      '    wifiSsid: Lab',
      '    tokenValue: SEEDEDAOSPTOKENVALUE',
      '    tokenCreationDateTime: "2030-01-01T00:00:00Z"',
      '    tokenExpirationDateTime: "2030-02-01T00:00:00Z"',
      `  - tenantId: ${tenant}`,
      '    displayName: Seeded kiosk',
      '    enrollmentMode: corporateOwnedDedicatedDevice',
      '',
    ].join('\n')],
    ['seed.json', JSON.stringify({
      clock: { frozen: true, now: '2030-01-01T00:00:00Z' },
      deviceOwnerProfiles: [
        { tenantId: tenant, displayName: 'Seeded AOSP', enrollmentMode: 'corporateOwnedAOSPUserlessDevice', wifiSsid: 'Lab', tokenValue: 'SEEDEDAOSPTOKENVALUE',
          tokenCreationDateTime: '2030-01-01T00:00:00Z', tokenExpirationDateTime: '2030-02-01T00:00:00Z' },
        { tenantId: tenant, displayName: 'Seeded kiosk', enrollmentMode: 'corporateOwnedDedicatedDevice' },
      ],
    })],
  ];
  let servers: TestServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.dispose()));
    servers = [];
  });

  for (const [name, text] of seeds) {
    it(`${name}: gives the profiles with the model's defaults, their token enrolls, and a reset brings them back`, async () => {
      const file = join(tempDir(), name);
      writeFileSync(file, text);
      const server = await startServer({ args: ['--seed', file] });
      servers.push(server);
      const c = deviceOwner(server, tenant, await server.token({ tenantId: tenant, nowSeconds: T0 }));
      const listed = await list(server, c.token);
      assert.deepEqual(listed.map((p) => p.displayName).sort(), ['Seeded AOSP', 'Seeded kiosk']);
      const seeded = listed.find((p) => p.displayName === 'Seeded AOSP')!;
      assert.deepEqual(
        { accountId: seeded.accountId, createdDateTime: seeded.createdDateTime, tokenValue: seeded.tokenValue, tokenCreationDateTime: seeded.tokenCreationDateTime,
          tokenExpirationDateTime: seeded.tokenExpirationDateTime, enrollmentTokenType: seeded.enrollmentTokenType, configureWifi: seeded.configureWifi,
          roleScopeTagIds: seeded.roleScopeTagIds, wifiSecurityType: seeded.wifiSecurityType, enrolledDeviceCount: seeded.enrolledDeviceCount },
        { accountId: tenant, createdDateTime: iso7(T0), tokenValue: 'SEEDEDAOSPTOKENVALUE', tokenCreationDateTime: iso7(T0),
          tokenExpirationDateTime: iso7(T0 + 31 * 86400), enrollmentTokenType: 'default', configureWifi: true,
          roleScopeTagIds: ['0'], wifiSecurityType: 'none', enrolledDeviceCount: 0 },
      );
      const kiosk = listed.find((p) => p.displayName === 'Seeded kiosk')!;
      assert.deepEqual({ tokenValue: kiosk.tokenValue, tokenExpirationDateTime: kiosk.tokenExpirationDateTime, tokenCreationDateTime: kiosk.tokenCreationDateTime },
        { tokenValue: null, tokenExpirationDateTime: '0001-01-01T00:00:00Z', tokenCreationDateTime: '0001-01-01T00:00:00Z' });
      assert.equal(decodeAospQr(seeded.qrCodeContent).token, 'SEEDEDAOSPTOKENVALUE');
      const enrolled = await call(server.url, 'POST', ENROLL, { body: { enrollmentToken: 'SEEDEDAOSPTOKENVALUE' } });
      assert.equal(enrolled.json.profileId, seeded.id);
      assert.equal((await c.get(`AOSP-${seeded.id}`)).enrollmentTokenUsageCount, 1);
      await createProfile(server.url, c.token, { displayName: 'extra', enrollmentMode: 'corporateOwnedFullyManaged' }, DO);
      assert.deepEqual((await server.admin('POST', '/_admin/reset')).json, { reset: 'all', seeded: true });
      const again = await list(server, c.token);
      assert.deepEqual(again.map((p) => [p.id, p.enrolledDeviceCount, p.enrollmentTokenUsageCount]).sort(),
        listed.map((p) => [p.id, 0, 0]).sort(), 'the same ids, the counts and the extra profile gone');
    });
  }

  it('the same seed gives the same ids on another server', async () => {
    const ids = async (text: string, name: string) => {
      const file = join(tempDir(), name);
      writeFileSync(file, text);
      const server = await startServer({ args: ['--seed', file] });
      servers.push(server);
      return (await list(server, await server.token({ tenantId: tenant, nowSeconds: T0 }))).map((p) => p.id).sort();
    };
    assert.deepEqual(await ids(seeds[0]![1], 'a.yaml'), await ids(seeds[1]![1], 'b.json'));
  });

  it('a server refuses to start with a device-owner seed record that lacks its enrollmentMode', async () => {
    const file = join(tempDir(), 'seed.json');
    writeFileSync(file, JSON.stringify({ deviceOwnerProfiles: [{ tenantId: tenant, displayName: 'no mode' }] }));
    await assert.rejects(startServer({ args: ['--seed', file] }), /enrollmentMode/);
  });
});
