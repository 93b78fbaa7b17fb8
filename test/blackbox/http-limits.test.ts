/**
 * Black-box tests of what a hostile or broken client may send at the HTTP layer: bodies nested too
 * deep. Every answer is the Graph envelope with request ids, and the server keeps serving.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, createProfile, graphError, PROFILES, startTenantServer, type TestServer } from '../helpers.js';

let server: TestServer;
let tenant: string;
let token: string;

before(async () => {
  ({ server, tenant, token } = await startTenantServer());
});

after(async () => {
  await server?.dispose();
});

/** The tenant's stored rows, without the QR PNG cache (the server may fill it in the background). */
const snapshot = async () => (await server.storedAll(tenant)).map(({ qrPng: _qrPng, ...rest }) => rest);

/** The server still answers an ordinary call. */
async function assertServing() {
  const res = await call(server.url, 'GET', PROFILES, { token });
  assert.equal(res.status, 200, res.text);
}

describe('JSON nesting depth', () => {
  const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  test('a body nested thousands of levels deep is 400 naming the limit on create, PATCH and createToken, and changes nothing', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'deep' });
    const before = await snapshot();
    const cases: [string, string, string][] = [
      ['POST', PROFILES, `{"displayName":"x","description":${nested(5000)}}`],
      ['PATCH', `${PROFILES}/${id}`, `{"description":${nested(5000)}}`],
      ['POST', `${PROFILES}/${id}/createToken`, `{"tokenValidityInSeconds":${nested(5000)}}`],
      ['POST', `${PROFILES}/${id}/createToken`, `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`],
    ];
    for (const [method, path, body] of cases) {
      const res = await call(server.url, method, path, { token, rawBody: body, headers: { 'Content-Type': 'application/json' } });
      const e = graphError(res, 400, 'BadRequest');
      assert.match(e.message, /nesting depth exceeds the limit of 64 levels/, `${method} ${path}`);
    }
    assert.deepEqual(await snapshot(), before);
    // Nesting within the limit reaches validation as before.
    const shallow = await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, rawBody: `{"tokenValidityInSeconds":${nested(10)}}`, headers: { 'Content-Type': 'application/json' } });
    graphError(shallow, 400, 'ModelValidationFailure');
    await assertServing();
  });

  test('the same limit holds for a $batch item body given as JSON text, and for the control API', async () => {
    const batch = await call(server.url, 'POST', '/beta/$batch', {
      token,
      body: { requests: [{ id: '1', method: 'POST', url: '/deviceManagement/androidForWorkEnrollmentProfiles', headers: { 'Content-Type': 'application/json' }, body: `{"displayName":${nested(5000)}}` }] },
    });
    assert.equal(batch.status, 200, batch.text);
    assert.equal(batch.json.responses[0].status, 400);
    assert.match(batch.json.responses[0].body.error.message, /nesting depth/);
    const admin = await call(server.url, 'PUT', '/_admin/snapshot', { token: server.adminKey!, rawBody: `{"format":${nested(5000)}}`, headers: { 'Content-Type': 'application/json' } });
    assert.match(graphError(admin, 400, 'BadRequest').message, /nesting depth/);
  });
});
