import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { mulberry32At } from '../../src/faults/rules.js';
import { call, createProfile, graphError, newTenant, PROFILES, startTenantServer, type TestServer } from '../helpers.js';

const REL = '/deviceManagement/androidForWorkEnrollmentProfiles';

describe('fault injection', () => {
  let server: TestServer;
  let tenant: string;
  let token: string;
  before(async () => {
    ({ server, tenant, token } = await startTenantServer());
  });
  after(() => server.dispose());
  beforeEach(async () => {
    assert.equal((await server.admin('DELETE', '/_admin/faults')).status, 200);
  });

  const addRule = async (rule: Record<string, unknown>) => {
    const res = await server.admin('POST', '/_admin/faults', rule);
    assert.equal(res.status, 201, res.text);
    return res.json as { id: string; hits: number };
  };
  const list = (tk = token) => call(server.url, 'GET', PROFILES, { token: tk });

  it('answers 429 with Retry-After: 1 (for SDK retry tests), only for the matching operation', async () => {
    await addRule({ operation: 'list', status: 429, retryAfter: 1 });
    const res = await list();
    graphError(res, 429, 'TooManyRequests');
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal((await createProfile(server.url, token)).displayName, 'Kiosk');
  });

  it('answers 500, 503 and 504 in the Graph envelope, by method and path pattern', async () => {
    const p = await createProfile(server.url, token);
    await addRule({ method: 'GET', path: `/beta${REL}/*`, status: 500 });
    await addRule({ method: 'PATCH', path: '*androidforworkenrollmentprofiles*', status: 503 });
    await addRule({ method: 'DELETE', status: 504 });
    graphError(await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token }), 500, 'InternalServerError');
    assert.equal((await list()).status, 200); // the pattern needs a segment after the collection
    const patched = await call(server.url, 'PATCH', `${PROFILES}/${p.id}`, { token, body: { displayName: 'x' } });
    graphError(patched, 503, 'serviceNotAvailable');
    assert.equal(patched.headers.get('retry-after'), '1');
    graphError(await call(server.url, 'DELETE', `${PROFILES}/${p.id}`, { token }), 504, 'GatewayTimeout');
    assert.equal((await server.stored(tenant, p.id))!.displayName, 'Kiosk'); // nothing ran
  });

  it('adds latency and lets the call through', async () => {
    await addRule({ operation: 'list', latencyMs: 300 });
    const t = performance.now();
    assert.equal((await list()).status, 200);
    assert.ok(performance.now() - t >= 290);
  });

  it('drops the connection', async () => {
    await addRule({ operation: 'create', drop: true });
    await assert.rejects(call(server.url, 'POST', PROFILES, { token, body: { displayName: 'dropped' } }));
    assert.equal((await server.storedAll(tenant)).filter((p) => p.displayName === 'dropped').length, 0);
    const journal = await server.admin('GET', '/_admin/requests?limit=5');
    assert.ok(journal.json.value.some((e: { status: number; operation: string }) => e.status === 0 && e.operation === 'create'));
  });

  it('fires on the n-th matching call only', async () => {
    await addRule({ operation: 'list', nth: 3, status: 500 });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await list()).status);
    assert.deepEqual(statuses, [200, 200, 500, 200, 200]);
    assert.equal((await server.admin('GET', '/_admin/faults')).json.value[0].hits, 5);
  });

  it('fires with a probability under a seed, the same way every time', async () => {
    const run = async (seed: number) => {
      await server.admin('DELETE', '/_admin/faults');
      await addRule({ operation: 'list', probability: 0.5, seed, status: 503 });
      const out: number[] = [];
      for (let i = 0; i < 24; i++) out.push((await list()).status);
      return out;
    };
    const first = await run(42);
    const again = await run(42);
    const other = await run(7);
    assert.deepEqual(again, first);
    assert.notDeepEqual(other, first);
    assert.deepEqual(first, Array.from({ length: 24 }, (_, i) => (mulberry32At(42, i + 1) < 0.5 ? 503 : 200)));
    assert.ok(first.includes(503) && first.includes(200));
  });

  it('matches the tenant', async () => {
    const other = newTenant();
    const otherToken = await server.token({ tenantId: other });
    await addRule({ tenant: other, status: 500 });
    assert.equal((await list()).status, 200);
    graphError(await list(otherToken), 500, 'InternalServerError');
  });

  it('applies to $batch items one by one, and to the batch as a whole', async () => {
    await addRule({ operation: 'create', status: 500 });
    const item = (id: string, method: string, body?: unknown) => ({ id, method, url: REL, ...(body ? { headers: { 'Content-Type': 'application/json' }, body } : {}) });
    const res = await call(server.url, 'POST', '/beta/$batch', { token, body: { requests: [item('1', 'POST', { displayName: 'b' }), item('2', 'GET')] } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.responses.map((r: { status: number }) => r.status), [500, 200]);
    await addRule({ operation: 'batch', status: 503 });
    graphError(await call(server.url, 'POST', '/beta/$batch', { token, body: { requests: [item('1', 'GET')] } }), 503, 'serviceNotAvailable');
  });

  it('applies to device enrollment', async () => {
    await addRule({ operation: 'enroll', status: 429, retryAfter: 3 });
    const res = await call(server.url, 'POST', '/enrollment/android/enroll', { body: { enrollmentToken: 'ANY' } });
    graphError(res, 429, 'TooManyRequests');
    assert.equal(res.headers.get('retry-after'), '3');
  });

  it('lists, deletes one rule by id, and refuses malformed rules', async () => {
    const a = await addRule({ operation: 'list', status: 500 });
    const b = await addRule({ operation: 'get', status: 500, code: 'Custom', message: 'custom failure' });
    assert.deepEqual((await server.admin('GET', '/_admin/faults')).json.value.map((r: { id: string }) => r.id), [a.id, b.id]);
    assert.equal((await server.admin('DELETE', `/_admin/faults/${a.id}`)).status, 204);
    graphError(await server.admin('DELETE', `/_admin/faults/${a.id}`), 404, 'ResourceNotFound');
    assert.equal((await list()).status, 200);
    const p = await createProfile(server.url, token);
    const custom = graphError(await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token }), 500, 'Custom');
    assert.equal(custom.message, 'custom failure');
    for (const bad of [{}, { status: 200 }, { status: 500, drop: true }, { operation: 'nope', status: 500 }, { status: 500, nth: 0 }, { status: 500, probability: 2 }, { status: 500, bogus: 1 }]) {
      graphError(await server.admin('POST', '/_admin/faults', bad), 400, 'BadRequest');
    }
    assert.equal((await server.admin('DELETE', '/_admin/faults')).json.deleted, 1);
  });
});
