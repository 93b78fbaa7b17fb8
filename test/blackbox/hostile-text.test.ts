/**
 * Text neither store can hold, and enrollment that is all or nothing (issue 15, findings 4 and 5):
 * a NUL anywhere a client puts text is a 400 on both stores alike, never a 500; a refused enrollment,
 * whatever its reason, counts toward the address's failure limit; the count and the device record
 * go together.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createProfile, graphError, PROFILES, startTenantServer, type TestServer } from '../helpers.js';

const ENROLL = '/enrollment/android/enroll';

let server: TestServer;
let token: string;
let tenant: string;
before(async () => {
  ({ server, token, tenant } = await startTenantServer({ args: ['--enroll-failure-limit', '5'] }));
});
after(() => server?.dispose());

describe('a NUL character', () => {
  it('in an id path segment, a body property or a parameter is a 400 and changes nothing', async () => {
    const p = await createProfile(server.url, token, { displayName: 'nul' });
    const before = await server.storedAll(tenant);
    for (const [method, path, body] of [
      ['GET', `${PROFILES}/a%00b`, undefined],
      ['PATCH', `${PROFILES}/a%00b`, { displayName: 'x' }],
      ['DELETE', `${PROFILES}/a%00b`, undefined],
      ['POST', `${PROFILES}/a%00b/createToken`, { tokenValidityInSeconds: 60 }],
      ['GET', `${PROFILES}('a%00b')`, undefined],
      ['PATCH', `${PROFILES}/${p.id}`, { displayName: 'a\u0000b' }],
      ['POST', PROFILES, { displayName: 'ok', description: 'a\u0000b' }],
      ['GET', `${PROFILES}?$filter=displayName eq 'a%00b'`, undefined],
    ] as const) {
      const res = await call(server.url, method, path, body === undefined ? { token } : { token, body });
      assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
      assert.ok(res.json?.error?.code, `${method} ${path}: Graph envelope`);
    }
    assert.deepEqual(await server.storedAll(tenant), before);
  });

  it('in an enrollment token or serial number is a 400, and the profile counts nothing', async () => {
    const p = await createProfile(server.url, token, { displayName: 'nul enroll' });
    assert.equal((await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } })).status, 204);
    const value = (await server.stored(tenant, p.id))!.tokenValue!;
    graphError(await call(server.url, 'POST', ENROLL, { body: { enrollmentToken: `${value}\u0000` } }), 400, 'BadRequest');
    graphError(await call(server.url, 'POST', ENROLL, { body: { enrollmentToken: value, serialNumber: 'SN\u0000' } }), 400, 'BadRequest');
    assert.equal((await server.stored(tenant, p.id))!.enrolledDeviceCount, 0);
    const devices = await server.admin('GET', `/_admin/devices?tenant=${tenant}`);
    assert.equal(devices.status, 200, devices.text);
    assert.equal(devices.json.value.length, 0);
  });
});

describe('enrollment', () => {
  it('counts every refused attempt toward the failure limit, malformed ones included', async () => {
    // A fresh address bucket: the server sees the same loopback address for every call here, so
    // start from a reset (the previous tests' refusals counted too).
    await server.admin('POST', '/_admin/reset');
    for (let i = 0; i < 5; i++) {
      const res = await call(server.url, 'POST', ENROLL, { body: i % 2 ? { enrollmentToken: '' } : { enrollmentToken: 'NOPE\u0000' } });
      assert.equal(res.status, 400, res.text);
    }
    graphError(await call(server.url, 'POST', ENROLL, { body: { enrollmentToken: 'ANYTHING' } }), 429, 'TooManyRequests');
  });

  it('a counted device always has its record: the counts equal the records', async () => {
    await server.admin('POST', '/_admin/reset');
    const p = await createProfile(server.url, token, { displayName: 'counted' });
    assert.equal((await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } })).status, 204);
    const value = (await server.stored(tenant, p.id))!.tokenValue!;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(server.url, 'POST', ENROLL, { body: { enrollmentToken: value, serialNumber: `SN-${i}` } })));
    assert.ok(results.every((r) => r.status === 200), results.map((r) => r.status).join());
    const devices = (await server.admin('GET', `/_admin/devices?tenant=${tenant}`)).json.value as { profileId: string }[];
    assert.equal(devices.filter((d) => d.profileId === p.id).length, (await server.stored(tenant, p.id))!.enrolledDeviceCount);
    assert.equal(devices.length, 20);
  });
});
