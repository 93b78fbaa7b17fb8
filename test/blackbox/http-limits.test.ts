/**
 * Black-box tests of what a hostile or broken client may send at the HTTP layer: bodies nested too
 * deep, and framing node's parser refuses. Every answer is the Graph envelope with request ids, and
 * the server keeps serving.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, createProfile, graphError, PROFILES, startTenantServer, type TestServer } from '../helpers.js';
import { assertEnvelope, rawExchange } from '../raw-http.js';

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

describe('framing errors', () => {
  const bigToken = 'x'.repeat(100 * 1024);
  const cases: [string, string | Buffer, number, string][] = [
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, 'BadRequest'],
    ['an unknown method', `FROB ${PROFILES} HTTP/1.1\r\nHost: h\r\n\r\n`, 400, 'BadRequest'],
    ['a header line without a colon', `GET ${PROFILES} HTTP/1.1\r\nHost: h\r\nno colon here\r\n\r\n`, 400, 'BadRequest'],
    ['headers over 16 KB (a 100 KB token)', `GET ${PROFILES} HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${bigToken}\r\n\r\n`, 431, 'RequestHeaderFieldsTooLarge'],
    ['a malformed chunk size', `POST ${PROFILES} HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n`, 400, 'BadRequest'],
    ['Content-Length and Transfer-Encoding together', `POST ${PROFILES} HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, 400, 'BadRequest'],
    ['an HTTP/1.1 request without Host', `GET ${PROFILES} HTTP/1.1\r\n\r\n`, 400, 'BadRequest'],
  ];
  for (const [what, request, status, code] of cases) {
    test(`${what} is ${status} ${code} in the Graph envelope`, async () => {
      for (const path of [PROFILES, '/healthz']) {
        const res = await rawExchange(server.url, typeof request === 'string' ? request.replace(PROFILES, path) : request);
        res.connection.close();
        assertEnvelope(res, status, code);
        assert.equal(res.headers['odata-version'], '4.0');
      }
      await assertServing();
    });
  }
});
