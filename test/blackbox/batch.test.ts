import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createProfile, graphError, PROFILES, RO, startTenantServer, type TestServer } from '../helpers.js';

const BATCH = '/beta/$batch';
const REL = '/deviceManagement/androidForWorkEnrollmentProfiles';

describe('JSON batching', () => {
  let server: TestServer;
  let tenant: string;
  let token: string;
  before(async () => {
    ({ server, tenant, token } = await startTenantServer());
  });
  after(() => server.dispose());

  const batch = (requests: unknown[], tk = token) => call(server.url, 'POST', BATCH, { token: tk, body: { requests } });

  it('runs items through the full pipeline, with dependsOn, mixed statuses and 424 for failed dependencies', async () => {
    const existing = await createProfile(server.url, token, { displayName: 'existing' });
    const res = await batch([
      { id: '1', method: 'POST', url: REL, headers: { 'Content-Type': 'application/json' }, body: { displayName: 'from batch' } },
      { id: '2', method: 'GET', url: `${REL}?$filter=displayName eq 'from batch'&$select=displayName`, dependsOn: ['1'] },
      { id: '3', method: 'POST', url: `${REL}/${existing.id}/createToken`, headers: { 'content-type': 'application/json' }, body: { tokenValidityInSeconds: 60 } },
      { id: '4', method: 'GET', url: `${REL}/no-such-id` },
      { id: '5', method: 'DELETE', url: `${REL}/${existing.id}`, dependsOn: ['4'] },
      { id: '6', method: 'PATCH', url: `${REL}/${existing.id}`, headers: { 'Content-Type': 'application/json' }, body: { bogus: 1 } },
      { id: '7', method: 'GET', url: `${REL}/${existing.id}`, dependsOn: ['3', '1'] },
    ]);
    assert.equal(res.status, 200);
    const byId = new Map<string, any>(res.json.responses.map((r: { id: string }) => [r.id, r])); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.deepEqual([...byId.keys()], ['1', '2', '3', '4', '5', '6', '7']);
    assert.equal(byId.get('1').status, 201);
    assert.equal(byId.get('1').body.displayName, 'from batch');
    assert.match(byId.get('1').headers.Location, /androidForWorkEnrollmentProfiles\//);
    assert.equal(byId.get('2').status, 200);
    assert.deepEqual(byId.get('2').body.value.map((p: { displayName: string }) => p.displayName), ['from batch']);
    assert.equal(byId.get('3').status, 204);
    assert.equal(byId.get('3').body, undefined);
    assert.equal(byId.get('4').status, 404);
    assert.equal(byId.get('4').body.error.code, 'ResourceNotFound');
    assert.equal(byId.get('5').status, 424);
    assert.equal(byId.get('5').body.error.code, 'FailedDependency');
    assert.equal(byId.get('6').status, 400);
    assert.equal(byId.get('6').body.error.code, 'ModelValidationFailure');
    assert.equal(byId.get('7').status, 200);
    assert.match(byId.get('7').body.tokenValue, /^[A-Z]{20}$/);
    // The 424'd delete did not run.
    assert.ok(await server.stored(tenant, existing.id));
  });

  it('checks permissions per item with the batch token', async () => {
    const ro = await server.token({ tenantId: tenant, scopes: [RO] });
    const res = await batch([
      { id: 'a', method: 'GET', url: REL },
      { id: 'b', method: 'POST', url: REL, headers: { 'Content-Type': 'application/json' }, body: { displayName: 'nope' } },
    ], ro);
    assert.equal(res.status, 200);
    assert.equal(res.json.responses[0].status, 200);
    assert.equal(res.json.responses[1].status, 403);
    assert.match(res.json.responses[1].body.error.message, /DeviceManagementConfiguration\.ReadWrite\.All/);
    assert.ok(!(await server.storedAll(tenant)).some((p) => p.displayName === 'nope'));
  });

  it('needs a valid token for the batch itself', async () => {
    const res = await call(server.url, 'POST', BATCH, { body: { requests: [{ id: '1', method: 'GET', url: REL }] } });
    graphError(res, 401, 'InvalidAuthenticationToken');
  });

  it('refuses a malformed batch as a whole, and runs none of it', async () => {
    const item = (id: string) => ({ id, method: 'POST', url: REL, headers: { 'Content-Type': 'application/json' }, body: { displayName: `bad-batch-${id}` } });
    const cases: [unknown, RegExp][] = [
      [{}, /requests/],
      [{ requests: [] }, /no requests/],
      [{ requests: Array.from({ length: 21 }, (_, i) => item(String(i))) }, /limit of 20/],
      [{ requests: [item('1'), item('1')] }, /more than once/],
      [{ requests: [item('x'), { ...item('X') }] }, /more than once/],
      [{ requests: [item('1'), { id: '2', url: REL }] }, /method/],
      [{ requests: [item('1'), { id: '2', method: 'GET' }] }, /url/],
      [{ requests: [item('1'), { id: '2', method: 'GET', url: 'https://graph.microsoft.com/beta/me' }] }, /relative/],
      [{ requests: [item('1'), { id: '2', method: 'POST', url: REL, body: { displayName: 'x' } }] }, /Content-Type/],
      [{ requests: [item('1'), { id: '2', method: 'GET', url: REL, dependsOn: ['9'] }] }, /unknown request/],
      [{ requests: [{ ...item('1'), dependsOn: ['2'] }, { ...item('2'), dependsOn: ['1'] }] }, /cycle/],
    ];
    for (const [body, message] of cases) {
      const e = graphError(await call(server.url, 'POST', BATCH, { token, body }), 400, 'BadRequest');
      assert.match(e.message, message);
    }
    assert.ok(!(await server.storedAll(tenant)).some((p) => p.displayName.startsWith('bad-batch-')));
    const twenty = await call(server.url, 'POST', BATCH, { token, body: { requests: Array.from({ length: 20 }, (_, i) => ({ id: String(i), method: 'GET', url: REL })) } });
    assert.equal(twenty.status, 200);
    assert.equal(twenty.json.responses.length, 20);
  });

  it('answers item errors for bad item URLs without failing the batch', async () => {
    const res = await batch([
      { id: '1', method: 'GET', url: '/deviceManagement/widgets' },
      { id: '2', method: 'GET', url: '/$batch' },
      { id: '3', method: 'PUT', url: `${REL}/x` },
    ]);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.responses.map((r: { status: number }) => r.status), [400, 400, 400]);
    assert.equal(res.json.responses[2].body.error.code, 'No method match route template');
    assert.equal(res.json.responses[0].body.error.message, "Resource not found for the segment 'widgets'.");
  });

  it('never runs a $batch item as a batch, whatever its spelling: 400 for that item, and nothing of it runs', async () => {
    const inner = { requests: [{ id: 'n', method: 'POST', url: REL, headers: { 'Content-Type': 'application/json' }, body: { displayName: 'nested-batch-ran' } }] };
    const spellings = ['/$batch', '$batch', '/%24batch', '/%24BATCH', '/$Batch', '/$batch/', '/%24batch?x=1', '/v1.0/$batch', '/beta/%24batch'];
    for (const version of ['beta', 'v1.0']) {
      const res = await call(server.url, 'POST', `/${version}/$batch`, {
        token,
        body: {
          requests: spellings.map((url, i) => ({ id: String(i), method: 'POST', url, headers: { 'Content-Type': 'application/json' }, body: inner })),
        },
      });
      assert.equal(res.status, 200, res.text);
      for (const [i, item] of res.json.responses.entries()) {
        assert.equal(item.status, 400, `${version} ${spellings[i]}: ${JSON.stringify(item)}`);
        assert.equal(item.body.error.code, 'BadRequest');
      }
    }
    // An absolute URL is refused with the whole batch, as any absolute item URL is.
    const absolute = await call(server.url, 'POST', BATCH, {
      token, body: { requests: [{ id: '1', method: 'POST', url: 'https://graph.microsoft.com/v1.0/%24batch', headers: { 'Content-Type': 'application/json' }, body: inner }] },
    });
    graphError(absolute, 400, 'BadRequest');
    assert.ok(!(await server.storedAll(tenant)).some((p) => p.displayName === 'nested-batch-ran'));
  });

  it('answers at most 20 items of one page each', async () => {
    const { server: small, token: own } = await startTenantServer({ args: ['--page-size', '2', '--max-page-size', '3'] });
    try {
      for (let i = 0; i < 5; i++) await createProfile(small.url, own, { displayName: `paged ${i}` });
      const res = await call(small.url, 'POST', BATCH, {
        token: own, body: { requests: Array.from({ length: 20 }, (_, i) => ({ id: String(i), method: 'GET', url: `${REL}?$top=1000` })) },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.responses.length, 20);
      for (const item of res.json.responses) {
        assert.equal(item.status, 200);
        assert.equal(item.body.value.length, 3);
        assert.ok(item.body['@odata.nextLink']);
      }
    } finally {
      await small.dispose();
    }
  });
});
