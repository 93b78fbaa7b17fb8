/**
 * Black-box tests of CORS on Graph paths (a web page of another origin calling Graph with its bearer
 * token, as single-page apps call graph.microsoft.com): the preflight, the headers of answers and of
 * errors, and none of it on the local authority or without an Origin.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, createProfile, graphError, PROFILES, startTenantServer, type TestServer } from '../helpers.js';

const ORIGIN = 'https://portal.example';
const EXPOSED = ['ETag', 'Location', 'Preference-Applied', 'Content-Range', 'request-id', 'client-request-id'];

let server: TestServer;
let tenant: string;
let token: string;

before(async () => {
  ({ server, tenant, token } = await startTenantServer());
});

after(async () => {
  await server?.dispose();
});

function preflight(path: string, method: string, headers?: string): Promise<Response> {
  return fetch(server.url + path, {
    method: 'OPTIONS',
    headers: { Origin: ORIGIN, 'Access-Control-Request-Method': method, ...(headers !== undefined ? { 'Access-Control-Request-Headers': headers } : {}) },
  });
}

function exposed(res: { headers: Headers }): string[] {
  return (res.headers.get('access-control-expose-headers') ?? '').split(',').map((h) => h.trim()).filter(Boolean);
}

describe('preflight', () => {
  test('an OPTIONS preflight of a Graph call is 200 without a token, allowing the method and the headers asked for', async () => {
    const asked = 'authorization, content-type, sdkversion, client-request-id, consistencylevel, prefer';
    for (const [path, method] of [[PROFILES, 'POST'], [`${PROFILES}/some-id`, 'PATCH'], [`${PROFILES}/some-id`, 'DELETE'], ['/v1.0/deviceManagement', 'GET']] as const) {
      const res = await preflight(path, method, asked);
      const text = await res.text();
      assert.equal(res.status, 200, `${method} ${path}: ${text}`);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.ok(res.headers.get('access-control-allow-methods')?.split(/,\s*/).includes(method), res.headers.get('access-control-allow-methods') ?? '');
      assert.equal(res.headers.get('access-control-allow-headers'), asked);
      assert.ok(Number(res.headers.get('access-control-max-age')) > 0);
      assert.ok(res.headers.get('request-id'));
      assert.equal(text, '');
    }
  });

  test('a preflight asking for no headers allows none; one asking for a malformed list allows none', async () => {
    const none = await preflight(PROFILES, 'GET');
    assert.equal(none.status, 200);
    assert.equal(none.headers.get('access-control-allow-headers'), null);
    const bad = await preflight(PROFILES, 'GET', 'authorization;x');
    assert.equal(bad.status, 200);
    assert.equal(bad.headers.get('access-control-allow-headers'), null);
  });

  test('a preflight changes nothing in the store', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'preflighted' });
    const before = await server.stored(tenant, id);
    assert.equal((await preflight(`${PROFILES}/${id}`, 'DELETE', 'authorization')).status, 200);
    assert.deepEqual(await server.stored(tenant, id), before);
  });

  test('OPTIONS that is not a preflight (no Origin, or no Access-Control-Request-Method) is still refused as before', async () => {
    const plain = await call(server.url, 'OPTIONS', PROFILES, { token });
    assert.ok(plain.status >= 400, `${plain.status}`);
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
    const noMethod = await call(server.url, 'OPTIONS', PROFILES, { token, headers: { Origin: ORIGIN } });
    assert.ok(noMethod.status >= 400, `${noMethod.status}`);
    assert.equal(noMethod.headers.get('access-control-allow-methods'), null);
  });
});

describe('answers to a page of another origin', () => {
  test('a create, a read, a PATCH and an action carry Access-Control-Allow-Origin and expose Graph\'s headers', async () => {
    const headers = { Origin: ORIGIN };
    const created = await call(server.url, 'POST', PROFILES, { token, headers, body: { displayName: 'from a browser' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(exposed(created), EXPOSED);
    assert.ok(created.headers.get('location'));
    const id = created.json.id as string;
    for (const res of [
      await call(server.url, 'GET', `${PROFILES}/${id}`, { token, headers }),
      await call(server.url, 'PATCH', `${PROFILES}/${id}`, { token, headers, body: { description: 'd' } }),
      await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, headers, body: { tokenValidityInSeconds: 600 } }),
    ]) {
      assert.ok(res.status < 300, `${res.status} ${res.text}`);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.deepEqual(exposed(res), EXPOSED);
    }
    assert.equal((await server.stored(tenant, id))?.description, 'd');
  });

  test('errors carry them too, so the page can read Graph\'s error', async () => {
    const headers = { Origin: ORIGIN };
    const noToken = await call(server.url, 'GET', PROFILES, { headers });
    graphError(noToken, 401, 'InvalidAuthenticationToken');
    assert.equal(noToken.headers.get('access-control-allow-origin'), '*');
    const missing = await call(server.url, 'GET', `${PROFILES}/00000000-0000-0000-0000-000000000000`, { token, headers });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('access-control-allow-origin'), '*');
    const badUrl = await call(server.url, 'GET', `${PROFILES}/%E0%A4%A`, { token, headers });
    assert.equal(badUrl.status, 400);
    assert.equal(badUrl.headers.get('access-control-allow-origin'), '*');
  });

  test('without an Origin an answer carries no CORS headers', async () => {
    const res = await call(server.url, 'GET', PROFILES, { token });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('access-control-expose-headers'), null);
  });

  test('the local authority answers no page of another origin: its token endpoint, discovery and keys carry no CORS headers', async () => {
    const headers = { Origin: ORIGIN };
    const token = await fetch(`${server.url}/${tenant}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'c', client_secret: 's', scope: 'https://graph.microsoft.com/.default' }),
    });
    assert.equal(token.headers.get('access-control-allow-origin'), null);
    const discovery = await fetch(`${server.url}/${tenant}/v2.0/.well-known/openid-configuration`, { headers });
    assert.equal(discovery.status, 200);
    assert.equal(discovery.headers.get('access-control-allow-origin'), null);
    const pre = await fetch(`${server.url}/${tenant}/oauth2/v2.0/token`, { method: 'OPTIONS', headers: { ...headers, 'Access-Control-Request-Method': 'POST' } });
    assert.notEqual(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
  });
});
