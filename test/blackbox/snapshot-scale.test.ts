import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call, newTenant, PROFILES, startServer, type TestServer } from '../helpers.js';
import { decodeQrPng } from '../qr-decode.js';

const T0 = Date.UTC(2030, 0, 1);
const EXPIRES = '2031-01-01T00:00:00Z';

function tokenValue(): string {
  let t = '';
  for (const b of randomBytes(20)) t += String.fromCharCode(65 + (b % 26));
  return t;
}

/** `count` profiles of one tenant, created a millisecond apart (so the default order is this order), every other one with a token. */
function profiles(tenantId: string, count: number, withTokens: 'all' | 'half') {
  return Array.from({ length: count }, (_, i) => ({
    tenantId, id: randomUUID(), displayName: `Kiosk ${i}`, description: i % 3 === 0 ? null : `Floor ${i}`,
    createdDateTime: new Date(T0 + i).toISOString(), lastModifiedDateTime: new Date(T0 + i).toISOString(),
    ...(withTokens === 'all' || i % 2 === 0 ? { tokenValue: tokenValue(), tokenExpirationDateTime: EXPIRES } : {}),
    enrolledDeviceCount: i % 4,
  }));
}

describe('snapshots and first reads at scale', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.dispose());

  it('exports 20,000 profiles streamed, complete and equal to what was imported, and imports the export back', async () => {
    const tenants = [newTenant(), newTenant(), newTenant(), newTenant()];
    const imported = tenants.flatMap((t) => profiles(t, 5_000, 'half'));
    const devices = [{ deviceId: 'd-1', tenantId: tenants[0]!, profileId: imported[0]!.id, serialNumber: 'S1', model: 'M', enrolledDateTime: '2030-01-02T00:00:00Z' }];
    const put = await server.admin('PUT', '/_admin/snapshot', { profiles: imported, devices, tenants: [{ tenantId: tenants[3]!, licensed: false }] });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.json.imported, { tenants: 1, profiles: 20_000, deviceOwnerProfiles: 0, managedStoreSettings: 0, devices: 1, faults: 0 });

    const res = await fetch(`${server.url}/_admin/snapshot`, { headers: { Authorization: `Bearer ${server.adminKey}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    // Written as it is read: no length known up front.
    assert.equal(res.headers.get('content-length'), null);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const snap = (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual(Object.keys(snap), ['format', 'version', 'takenAt', 'clock', 'tenants', 'profiles', 'deviceOwnerProfiles', 'managedStoreSettings', 'devices', 'faults']);
    assert.equal(snap.profiles.length, 20_000);
    const byId = new Map(snap.profiles.map((p: { id: string }) => [p.id, p]));
    for (const p of imported) {
      const got = byId.get(p.id) as Record<string, unknown>;
      assert.ok(got, `profile ${p.id} is in the export`);
      assert.equal(got.tenantId, p.tenantId);
      assert.equal(got.displayName, p.displayName);
      assert.equal(got.description, p.description);
      assert.equal(got.enrolledDeviceCount, p.enrolledDeviceCount);
      assert.equal(Date.parse(got.createdDateTime as string), Date.parse(p.createdDateTime));
      assert.equal(got.tokenValue, p.tokenValue ?? null);
      if (p.tokenValue) assert.equal(Date.parse(got.tokenExpirationDateTime as string), Date.parse(EXPIRES));
    }
    assert.equal(snap.devices.length, 1);
    assert.deepEqual(snap.tenants, [{ tenantId: tenants[3], licensed: false }]);

    // The export imports back to the same state.
    const again = await server.admin('PUT', '/_admin/snapshot', snap);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual({ ...(await server.admin('GET', '/_admin/snapshot')).json, takenAt: snap.takenAt }, snap);
  });

  it('keeps answering /healthz and other Graph GETs while a large first read renders its QR codes', async () => {
    const big = newTenant();
    const other = newTenant();
    const listed = profiles(big, 1_000, 'all');
    // `fresh` has a token whose QR code nobody has rendered; `plain` has none.
    const [fresh, plain] = profiles(other, 2, 'half');
    const put = await server.admin('PUT', '/_admin/snapshot', { profiles: [...listed, fresh, plain] });
    assert.equal(put.status, 200, put.text);
    const bigToken = await server.token({ tenantId: big });
    const otherToken = await server.token({ tenantId: other });
    const freshId = fresh!.id;
    const plainId = plain!.id;

    let listDone = false;
    const list = call(server.url, 'GET', `${PROFILES}?$top=1000`, { token: bigToken }).finally(() => {
      listDone = true;
    });
    // Others call while it runs: /healthz, a profile without a token, and (once the read has begun
    // rendering) a profile whose QR code is not rendered yet.
    const statuses: number[] = [];
    let answeredDuring = 0;
    const others = (async () => {
      while (!listDone) {
        for (const res of await Promise.all([
          call(server.url, 'GET', '/healthz'),
          call(server.url, 'GET', `${PROFILES}/${plainId}`, { token: otherToken }),
        ])) {
          statuses.push(res.status);
          if (!listDone) answeredDuring++;
        }
      }
    })();
    while (!listDone && !(await server.stored(big, listed[0]!.id))?.qrCodeImage) await new Promise((r) => setTimeout(r, 10));
    const single = await call(server.url, 'GET', `${PROFILES}/${freshId}`, { token: otherToken });
    const renderedMeanwhile = (await server.storedAll(big)).filter((p) => p.qrCodeImage).length;

    const page = await list;
    await others;
    assert.equal(page.status, 200, page.text);
    assert.equal(page.json.value.length, 1_000);
    for (const p of page.json.value) assert.equal(p.qrCodeImage?.type, 'image/png', `profile ${p.id} has its QR image`);
    for (const i of [0, 499, 999]) {
      const p = page.json.value[i];
      assert.equal(decodeQrPng(p.qrCodeImage.value)?.text, p.qrCodeContent);
    }
    assert.ok(statuses.length > 0 && statuses.every((s) => s === 200), `every call answered 200: ${statuses.filter((s) => s !== 200)}`);
    assert.ok(answeredDuring > 0, 'calls were answered while the read ran');
    // The single GET did not wait for the whole list's renders: it was answered with its image
    // while most of the list was still to be rendered.
    assert.equal(single.status, 200, single.text);
    assert.equal(decodeQrPng(single.json.qrCodeImage.value)?.text, single.json.qrCodeContent);
    assert.ok(renderedMeanwhile < 500, `${renderedMeanwhile} of the list's 1,000 QR codes were rendered before the single GET was answered`);
  });
});
