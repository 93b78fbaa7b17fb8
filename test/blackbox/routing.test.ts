/**
 * Black-box tests of the Graph URL surface: both versions, key syntax, qualified and case-insensitive
 * names, unknown segments, ids, methods and routes, `$metadata`, the service document, context URLs,
 * Location, health endpoints and list completeness.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { call, createProfile, graphError, JSON_CT, newTenant, startTenantServer, type TestServer, type ProfileRecord } from '../helpers.js';

const SET = 'androidForWorkEnrollmentProfiles';

let server: TestServer;
let tenant: string;
let token: string;

before(async () => {
  ({ server, tenant, token } = await startTenantServer());
});

after(async () => {
  await server?.dispose();
});

const collection = (version: string) => `/${version}/deviceManagement/${SET}`;

function row(r: ProfileRecord | undefined): Omit<ProfileRecord, 'qrCodeImage'> | undefined {
  if (r === undefined) return undefined;
  const { qrCodeImage: _qrCodeImage, ...rest } = r;
  return rest;
}

describe('versions', () => {
  for (const version of ['v1.0', 'beta']) {
    test(`every operation works on /${version} with that version in @odata.context and Location`, async () => {
      const base = collection(version);
      const ctxSet = `${server.url}/${version}/$metadata#deviceManagement/${SET}`;

      const created = await call(server.url, 'POST', base, { token, body: { displayName: `on ${version}` } });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.headers.get('content-type'), JSON_CT);
      assert.equal(created.headers.get('odata-version'), '4.0');
      const id: string = created.json.id;
      assert.equal(created.json['@odata.context'], `${ctxSet}/$entity`);
      assert.equal(created.headers.get('location'), `${server.url}${base}/${id}`);

      const list = await call(server.url, 'GET', base, { token });
      assert.equal(list.status, 200);
      assert.equal(list.json['@odata.context'], ctxSet);
      assert.ok(list.json.value.some((p: { id: string }) => p.id === id));

      const got = await call(server.url, 'GET', `${base}/${id}`, { token });
      assert.equal(got.status, 200);
      assert.equal(got.json['@odata.context'], `${ctxSet}/$entity`);
      assert.equal(got.json.displayName, `on ${version}`);

      const patched = await call(server.url, 'PATCH', `${base}/${id}`, { token, body: { displayName: `patched on ${version}` }, headers: { Prefer: 'return=representation' } });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.json['@odata.context'], `${ctxSet}/$entity`);
      assert.equal(patched.json.displayName, `patched on ${version}`);

      const ct = await call(server.url, 'POST', `${base}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } });
      assert.equal(ct.status, 204, ct.text);
      const withToken = await call(server.url, 'GET', `${base}/${id}`, { token });
      assert.match(withToken.json.tokenValue, /^[A-Z]{20}$/);

      const rt = await call(server.url, 'POST', `${base}/${id}/revokeToken`, { token });
      assert.equal(rt.status, 204, rt.text);
      assert.equal((await server.stored(tenant, id))?.tokenValue, null);

      const del = await call(server.url, 'DELETE', `${base}/${id}`, { token });
      assert.equal(del.status, 204, del.text);
      graphError(await call(server.url, 'GET', `${base}/${id}`, { token }), 404, 'ResourceNotFound');
      assert.equal(await server.stored(tenant, id), undefined);
    });
  }

  test('a profile created on one version is the same resource on the other', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'shared' });
    const v1 = await call(server.url, 'GET', `${collection('v1.0')}/${id}`, { token });
    const beta = await call(server.url, 'GET', `${collection('beta')}/${id}`, { token });
    assert.equal(v1.status, 200);
    const { ['@odata.context']: _c1, ...a } = v1.json;
    const { ['@odata.context']: _c2, ...b } = beta.json;
    assert.deepEqual(a, b);
  });
});

describe('URL forms', () => {
  test("key-as-parentheses ('{id}') works for get, PATCH, DELETE and both actions", async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'keyed' });
    const keyed = `${collection('beta')}('${id}')`;
    const got = await call(server.url, 'GET', keyed, { token });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.id, id);

    const patched = await call(server.url, 'PATCH', keyed, { token, body: { displayName: 'keyed patched' } });
    assert.equal(patched.status, 204, patched.text);
    assert.equal((await server.stored(tenant, id))?.displayName, 'keyed patched');

    assert.equal((await call(server.url, 'POST', `${keyed}/createToken`, { token, body: { tokenValidityInSeconds: 60 } })).status, 204);
    assert.match((await server.stored(tenant, id))?.tokenValue ?? '', /^[A-Z]{20}$/);
    assert.equal((await call(server.url, 'POST', `${keyed}/revokeToken`, { token })).status, 204);
    assert.equal((await server.stored(tenant, id))?.tokenValue, null);

    assert.equal((await call(server.url, 'DELETE', keyed, { token })).status, 204);
    assert.equal(await server.stored(tenant, id), undefined);
  });

  test('actions answer namespace-qualified (microsoft.graph.createToken / revokeToken)', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'qualified' });
    const ct = await call(server.url, 'POST', `${collection('v1.0')}/${id}/microsoft.graph.createToken`, { token, body: { tokenValidityInSeconds: 60 } });
    assert.equal(ct.status, 204, ct.text);
    assert.match((await server.stored(tenant, id))?.tokenValue ?? '', /^[A-Z]{20}$/);
    const rt = await call(server.url, 'POST', `${collection('v1.0')}/${id}/microsoft.graph.revokeToken`, { token });
    assert.equal(rt.status, 204, rt.text);
    assert.equal((await server.stored(tenant, id))?.tokenValue, null);
  });

  test('path segments are case-insensitive', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'any case' });
    const ct = await call(server.url, 'POST', `/beta/DEVICEMANAGEMENT/AndroidForWorkEnrollmentProfiles/${id}/CreateToken`, {
      token,
      body: { tokenValidityInSeconds: 60 },
    });
    assert.equal(ct.status, 204, ct.text);
    assert.match((await server.stored(tenant, id))?.tokenValue ?? '', /^[A-Z]{20}$/);
    const got = await call(server.url, 'GET', `/BETA/devicemanagement/ANDROIDFORWORKENROLLMENTPROFILES/${id}`, { token });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.id, id);
    const rt = await call(server.url, 'POST', `/V1.0/deviceManagement/${SET}/${id}/Microsoft.Graph.RevokeToken`, { token });
    assert.equal(rt.status, 204, rt.text);
    assert.equal((await server.stored(tenant, id))?.tokenValue, null);
  });

  test('ids are case-sensitive: the upper-cased id is 404 and changes nothing', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'exact id' });
    const upper = String(id).toUpperCase();
    assert.notEqual(upper, id);
    const before = row(await server.stored(tenant, id));
    graphError(await call(server.url, 'GET', `${collection('beta')}/${upper}`, { token }), 404, 'ResourceNotFound');
    graphError(await call(server.url, 'PATCH', `${collection('beta')}/${upper}`, { token, body: { displayName: 'no' } }), 404, 'ResourceNotFound');
    graphError(await call(server.url, 'DELETE', `${collection('beta')}/${upper}`, { token }), 404, 'ResourceNotFound');
    assert.deepEqual(row(await server.stored(tenant, id)), before);
  });
});

describe('unknown things', () => {
  test('an unknown segment is 400 BadRequest "Resource not found for the segment \'X\'." with X as sent', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'segments' });
    const cases: [string, string, string][] = [
      ['GET', '/beta/deviceManagement/fooBars', 'fooBars'],
      ['GET', '/v1.0/deviceManagement/FooBars', 'FooBars'],
      ['GET', '/beta/fooBar', 'fooBar'],
      ['GET', `${collection('beta')}/${id}/bogus`, 'bogus'],
      ['POST', `${collection('beta')}/${id}/Bogus`, 'Bogus'],
      ['POST', `${collection('beta')}/${id}/microsoft.graph.bogus`, 'microsoft.graph.bogus'],
      ['GET', `${collection('beta')}/${id}/bogus/more`, 'bogus'],
      ['GET', '/beta/deviceManagement/foo%20bar', 'foo bar'],
    ];
    for (const [method, path, segment] of cases) {
      const res = await call(server.url, method, path, { token });
      const e = graphError(res, 400, 'BadRequest');
      assert.equal(e.message, `Resource not found for the segment '${segment}'.`, `${method} ${path}`);
    }
  });

  test('a segment after an action is reported as the unknown segment, not the action', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'after action' });
    const before = row(await server.stored(tenant, id));
    for (const [method, path] of [
      ['GET', `${collection('beta')}/${id}/createToken/more`],
      ['POST', `${collection('beta')}/${id}/revokeToken/more`],
    ] as const) {
      const res = await call(server.url, method, path, { token });
      const e = graphError(res, 400, 'BadRequest');
      assert.equal(e.message, "Resource not found for the segment 'more'.", `${method} ${path}`);
    }
    assert.deepEqual(row(await server.stored(tenant, id)), before);
  });

  test('a malformed percent-encoding in the path is 400 BadRequest in the Graph envelope', async () => {
    for (const path of [`${collection('beta')}/%zz`, `${collection('v1.0')}/%E0%A4%A`, '/beta/deviceManagement/%zz']) {
      const res = await call(server.url, 'GET', path, { token, headers: { 'client-request-id': 'bad-url' } });
      graphError(res, 400, 'BadRequest');
      assert.equal(res.headers.get('client-request-id'), 'bad-url', path);
      assert.equal(res.headers.get('content-type'), JSON_CT, path);
    }
  });

  test('an unknown id is 404 ResourceNotFound for get, PATCH, DELETE, createToken and revokeToken', async () => {
    const id = randomUUID();
    const ops: [string, string, unknown][] = [
      ['GET', '', undefined],
      ['PATCH', '', { displayName: 'x' }],
      ['DELETE', '', undefined],
      ['POST', '/createToken', { tokenValidityInSeconds: 60 }],
      ['POST', '/revokeToken', {}],
    ];
    for (const [method, suffix, body] of ops) {
      const path = `${collection('beta')}/${id}${suffix}`;
      const res = await call(server.url, method, path, body === undefined ? { token } : { token, body });
      graphError(res, 404, 'ResourceNotFound');
    }
    assert.deepEqual(await server.storedAll(tenant).then((all) => all.filter((p) => p.id === id)), []);
  });

  test('a wrong method on a known path is Intune\'s 400 "No method match route template" and changes nothing', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'methods' });
    const before = (await server.storedAll(tenant)).map(row);
    const key = `androidForWorkEnrollmentProfiles('${id}')`;
    const cases: [string, string, unknown, string, string][] = [
      ['PUT', `${collection('beta')}/${id}`, { displayName: 'put' }, '~/singleton/navigation/key', key],
      ['POST', `${collection('beta')}/${id}`, { displayName: 'post' }, '~/singleton/navigation/key', key],
      ['DELETE', collection('beta'), undefined, '~/singleton/navigation', SET],
      ['PATCH', collection('beta'), { displayName: 'patch all' }, '~/singleton/navigation', SET],
      ['GET', `${collection('beta')}/${id}/createToken`, undefined, '~/singleton/navigation/key/action', `${key}/microsoft.management.services.api.createToken`],
      ['GET', `${collection('beta')}/${id}/revokeToken`, undefined, '~/singleton/navigation/key/action', `${key}/microsoft.management.services.api.revokeToken`],
      ['DELETE', `${collection('beta')}/${id}/createToken`, undefined, '~/singleton/navigation/key/action', `${key}/microsoft.management.services.api.createToken`],
    ];
    for (const [method, path, body, template, intunePath] of cases) {
      const res = await call(server.url, method, path, body === undefined ? { token } : { token, body });
      const e = graphError(res, 400, 'No method match route template');
      assert.equal(e.message, `No OData route exists that match template ${template} with http verb ${method} for request /AndroidSync/StatelessAndroidSyncFEService/deviceManagement/${intunePath}.`);
    }
    // The gateway's own documents still answer 405.
    graphError(await call(server.url, 'DELETE', '/beta/$metadata'), 405, 'MethodNotAllowed');
    assert.deepEqual((await server.storedAll(tenant)).map(row), before);
  });

  test('an unknown top-level route is 404 in the Graph envelope', async () => {
    for (const path of ['/nothing', '/nothing/at/all', '/deviceManagement']) {
      const res = await call(server.url, 'GET', path, { token });
      graphError(res, 404, res.json?.error?.code);
      assert.equal(res.headers.get('content-type'), JSON_CT);
    }
    graphError(await call(server.url, 'POST', '/nothing', { token, body: {} }), 404, 'ResourceNotFound');
  });

  test('an unknown version is 400 in the Graph envelope', async () => {
    for (const path of ['/v2.0/deviceManagement', '/v2.0/deviceManagement/androidForWorkEnrollmentProfiles']) {
      const res = await call(server.url, 'GET', path, { token });
      graphError(res, 400, res.json?.error?.code);
    }
  });
});

describe('documents', () => {
  test('GET /beta/$metadata needs no token and describes the entity and both actions', async () => {
    for (const version of ['beta', 'v1.0']) {
      const res = await call(server.url, 'GET', `/${version}/$metadata`);
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type') ?? '', /xml/);
      const xml = res.text;
      assert.ok(xml.startsWith('<?xml'), 'an XML document');
      assert.ok(xml.includes('EntityType Name="androidForWorkEnrollmentProfile"'));
      const createToken = /<Action Name="createToken"[^>]*>([\s\S]*?)<\/Action>/.exec(xml);
      assert.ok(createToken, 'the createToken action');
      assert.match(createToken[1]!, /<Parameter Name="tokenValidityInSeconds" Type="Edm\.Int32" Nullable="false"\s*\/>/);
      const revokeToken = /<Action Name="revokeToken"[^>]*>([\s\S]*?)<\/Action>/.exec(xml);
      assert.ok(revokeToken, 'the revokeToken action');
      assert.doesNotMatch(revokeToken[1]!, /tokenValidityInSeconds/);
    }
  });

  test('GET /v1.0/ is the service document, without a token', async () => {
    for (const version of ['v1.0', 'beta']) {
      const res = await call(server.url, 'GET', `/${version}/`);
      assert.equal(res.status, 200, res.text);
      assert.ok(res.json['@odata.context'].endsWith(`/${version}/$metadata`), res.json['@odata.context']);
      assert.equal(res.json['@odata.context'], `${server.url}/${version}/$metadata`);
      assert.ok(Array.isArray(res.json.value));
      assert.ok(res.json.value.some((e: { name: string }) => e.name === 'deviceManagement'));
    }
  });

  test('@odata.context of a get on v1.0 names the request host and version', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'context' });
    const port = new URL(server.url).port;
    const res = await call(server.url, 'GET', `${collection('v1.0')}/${id}`, { token });
    assert.equal(res.json['@odata.context'], `http://127.0.0.1:${port}/v1.0/$metadata#deviceManagement/${SET}/$entity`);
    const list = await call(server.url, 'GET', collection('v1.0'), { token });
    assert.equal(list.json['@odata.context'], `http://127.0.0.1:${port}/v1.0/$metadata#deviceManagement/${SET}`);
  });

  test('create answers 201 with a Location that GET resolves to the entity', async () => {
    const created = await call(server.url, 'POST', collection('beta'), { token, body: { displayName: 'located' } });
    assert.equal(created.status, 201, created.text);
    const location = created.headers.get('location');
    assert.equal(location, `${server.url}${collection('beta')}/${created.json.id}`);
    const res = await fetch(location!, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const entity = (await res.json()) as Record<string, unknown>;
    const { ['@odata.context']: _c1, ...a } = entity;
    const { ['@odata.context']: _c2, ...b } = created.json;
    assert.deepEqual(a, b);
  });

  test('/healthz and /readyz answer 200 JSON without a token', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await call(server.url, 'GET', path);
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(typeof res.json, 'object');
    }
  });
});

describe('list', () => {
  test('list returns every profile of the tenant in creation order, the same on every call', async () => {
    const own = newTenant();
    const ownToken = await server.token({ tenantId: own });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push((await createProfile(server.url, ownToken, { displayName: `profile ${i}` })).id);
    }
    const first = await call(server.url, 'GET', collection('beta'), { token: ownToken });
    assert.equal(first.status, 200);
    assert.equal(first.json['@odata.nextLink'], undefined, 'all 30 on one page');
    assert.deepEqual(first.json.value.map((p: { id: string }) => p.id), ids);
    assert.deepEqual(first.json.value.map((p: { displayName: string }) => p.displayName), ids.map((_, i) => `profile ${i}`));
    const second = await call(server.url, 'GET', collection('v1.0'), { token: ownToken });
    assert.deepEqual(second.json.value.map((p: { id: string }) => p.id), ids);
  });
});
