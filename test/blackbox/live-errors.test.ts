/**
 * Errors as the live service gives them (docs/errors.md): Intune's own errors carry its nested JSON
 * message (activity id = request-id, the Intune front-end Url), the gateway's stay plain text; PATCH
 * answers 204.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { call, createProfile, graphError, PROFILES, RO, startTenantServer, type TestServer } from '../helpers.js';

let server: TestServer;
let token: string;
before(async () => {
  ({ server, token } = await startTenantServer());
});
after(() => server?.dispose());

/** Intune's nested message, parsed; asserts its fixed shape. */
function nested(message: string, requestId: string) {
  assert.match(message, /^\{\r\n {2}"_version": 3,\r\n {2}"Message": /, 'Intune writes its message as CRLF-indented JSON');
  const m = JSON.parse(message) as Record<string, unknown>;
  assert.deepEqual(Object.keys(m), ['_version', 'Message', 'CustomApiErrorPhrase', 'RetryAfter', 'ErrorSourceService', 'HttpHeaders']);
  assert.equal(m.CustomApiErrorPhrase, '');
  assert.equal(m.RetryAfter, null);
  assert.equal(m.HttpHeaders, '{}');
  const parts = /^(.*) - Operation ID \(for customer support\): ([0-9a-f-]{36}) - Activity ID: ([0-9a-f-]{36}) - Url: (\S+)$/s.exec(m.Message as string);
  assert.ok(parts, `Message has Intune's parts: ${m.Message}`);
  assert.equal(parts[3], requestId, 'the activity id is the request id');
  return { text: parts[1]!, url: parts[4]! };
}

describe('errors Intune produces: nested message', () => {
  it('404 for an unknown id names the Intune front-end path with the key encoded', async () => {
    const id = randomUUID();
    const res = await call(server.url, 'GET', `${PROFILES}/${id}`, { token });
    const e = graphError(res, 404, 'ResourceNotFound');
    const { text, url } = nested(e.message, res.headers.get('request-id')!);
    assert.match(text, new RegExp(id));
    assert.equal(url, `https://fef.msua06.manage.microsoft.com/AndroidSync/StatelessAndroidSyncFEService/deviceManagement/androidForWorkEnrollmentProfiles%28%27${id}%27%29?api-version=5020-09-16`);
  });

  it('404 on an action names the action as Intune does', async () => {
    const id = randomUUID();
    const res = await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 60 } });
    const { url } = nested(graphError(res, 404, 'ResourceNotFound').message, res.headers.get('request-id')!);
    assert.match(url, /androidForWorkEnrollmentProfiles%28%27[0-9a-f-]+%27%29\/microsoft\.management\.services\.api\.createToken\?api-version=/);
  });

  it('403 for a missing permission is nested and names the permission; in $batch items too', async () => {
    const ro = await server.token({ tenantId: (await createProfile(server.url, token)).accountId, scopes: [RO] });
    const res = await call(server.url, 'POST', PROFILES, { token: ro, body: { displayName: 'no' } });
    const { text } = nested(graphError(res, 403, 'Forbidden').message, res.headers.get('request-id')!);
    assert.match(text, /DeviceManagementConfiguration\.ReadWrite\.All/);
    const batch = await call(server.url, 'POST', '/beta/$batch', {
      token: ro, body: { requests: [{ id: '1', method: 'POST', url: '/deviceManagement/androidForWorkEnrollmentProfiles', headers: { 'Content-Type': 'application/json' }, body: { displayName: 'no' } }] },
    });
    const item = batch.json.responses[0];
    assert.equal(item.status, 403);
    nested(item.body.error.message, batch.headers.get('request-id')!);
  });
});

describe("errors Graph's gateway produces: plain text", () => {
  it('401, unknown segment, query syntax and validation stay plain', async () => {
    const plain = (res: Awaited<ReturnType<typeof call>>, status: number, code: string) => assert.doesNotMatch(graphError(res, status, code).message, /^\{/);
    plain(await call(server.url, 'GET', PROFILES), 401, 'InvalidAuthenticationToken');
    plain(await call(server.url, 'GET', '/beta/deviceManagement/widgets', { token }), 400, 'BadRequest');
    plain(await call(server.url, 'GET', `${PROFILES}?$filter=displayName eq`, { token }), 400, 'BadRequest');
    plain(await call(server.url, 'POST', PROFILES, { token, body: { nope: 1 } }), 400, 'ModelValidationFailure');
  });
});
