/**
 * `$filter` semantics a client can see: numeric literals meet Int32 properties by value, Boolean
 * literals and expressions are filters, type errors name both types, and the limits on a filter's
 * length, nesting and terms are 400s that name the limit, with at-limit filters served on each store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FILTER_LIMITS } from '../../src/graph/filter.js';
import { call, createProfile, graphError, newTenant, PROFILES, startServer, type Call, type TestServer } from '../helpers.js';

type P = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Percent-encoded, spaces as `+`, so long filters stay well inside the request-line limit. */
const enc = (filter: string) => encodeURIComponent(filter).replace(/%20/g, '+');

describe('$filter values and limits', () => {
  let server: TestServer;
  let token: string;
  const get = (filter: string, path = ''): Promise<Call> => call(server.url, 'GET', `${PROFILES}${path}?$filter=${enc(filter)}${path ? '' : '&$orderby=displayName'}`, { token });
  const names = async (filter: string): Promise<string[]> => {
    const res = await get(filter);
    assert.equal(res.status, 200, `${filter.slice(0, 200)} → ${res.text.slice(0, 300)}`);
    return res.json.value.map((p: P) => p.displayName);
  };
  const ALL = ['none', 'one', 'two', 'zero'];

  before(async () => {
    server = await startServer();
    token = await server.token({ tenantId: newTenant() });
    // enrolledDeviceCount 0, 1, 2, 0; `none` has no description.
    for (const [displayName, devices] of [['zero', 0], ['one', 1], ['two', 2], ['none', 0]] as const) {
      const p = await createProfile(server.url, token, { displayName, description: displayName === 'none' ? null : displayName });
      if (devices === 0) continue;
      assert.equal((await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } })).status, 204);
      const enrollmentToken = (await call(server.url, 'GET', `${PROFILES}/${p.id}`, { token })).json.tokenValue;
      for (let i = 0; i < devices; i++) {
        const res = await call(server.url, 'POST', '/enrollment/android/enroll', { body: { enrollmentToken, serialNumber: `${displayName}-${i}` } });
        assert.equal(res.status, 200, res.text);
      }
    }
  });
  after(() => server.dispose());

  it('numeric literals are compared with an Int32 property by value', async () => {
    const cases: [string, string[]][] = [
      ['enrolledDeviceCount eq 1.0', ['one']],
      ['enrolledDeviceCount eq 10E-1', ['one']],
      ['enrolledDeviceCount eq +1', ['one']],
      ['enrolledDeviceCount eq 1.5', []],
      ['enrolledDeviceCount ne 1.5', ALL],
      ['enrolledDeviceCount gt 1.5', ['two']],
      ['enrolledDeviceCount ge 0.5', ['one', 'two']],
      ['enrolledDeviceCount lt 1.5', ['none', 'one', 'zero']],
      ['enrolledDeviceCount le -0.5', []],
      ['1.5 lt enrolledDeviceCount', ['two']],
      ['enrolledDeviceCount gt 1e-101', ['one', 'two']],
      ['enrolledDeviceCount lt INF', ALL],
      ['enrolledDeviceCount gt -INF', ALL],
      ['enrolledDeviceCount eq INF', []],
      ['enrolledDeviceCount eq NaN', []],
      ['enrolledDeviceCount ne NaN', ALL],
      ['not (enrolledDeviceCount lt NaN)', ALL],
      ['enrolledDeviceCount eq 3000000000', []],
      ['enrolledDeviceCount ne 3000000000', ALL],
      ['enrolledDeviceCount lt 3000000000', ALL],
      ['enrolledDeviceCount gt -3000000000', ALL],
      ['enrolledDeviceCount in (1.0, 1.5, 2)', ['one', 'two']],
      ['enrolledDeviceCount in (0.5, NaN)', []],
      ['enrolledDeviceCount gt 0.5 and enrolledDeviceCount lt 2.5', ['one', 'two']],
    ];
    for (const [filter, want] of cases) assert.deepEqual(await names(filter), want, filter);
    const counted = await get('enrolledDeviceCount gt 0.5', '/$count');
    assert.equal(counted.text, '2');
  });

  it('Boolean literals and expressions are filters', async () => {
    const cases: [string, string[]][] = [
      ['true', ALL],
      ['false', []],
      ['TRUE', ALL],
      ['(true)', ALL],
      ['not false', ALL],
      ['true eq false', []],
      ["true and displayName eq 'one'", ['one']],
      ["displayName eq 'one' or false", ['one']],
      ["(displayName eq 'one') eq false", ['none', 'two', 'zero']],
      ["(description eq null) ne true", ['one', 'two', 'zero']],
      ['displayName in ()', []],
      ['not (displayName in ())', ALL],
      ["description in ('one', null)", ['none', 'one']],
      ["not (description in ('one', 'two'))", ['none', 'zero']],
    ];
    for (const [filter, want] of cases) assert.deepEqual(await names(filter), want, filter);
    assert.equal((await get('true', '/$count')).text, '4');
  });

  it('type errors and invalid literals are 400s that say which', async () => {
    const cases: [string, RegExp][] = [
      ['0', /Edm\.Boolean.*Edm\.Int32/],
      ['enrolledDeviceCount', /Edm\.Boolean.*'enrolledDeviceCount' of type Edm\.Int32/],
      ['id eq 0f8fad5b-d9cb-469f-a165-70867728950e', /Edm\.Guid.*'id' of type Edm\.String/],
      ["enrolledDeviceCount eq 'one'", /Edm\.String.*Edm\.Int32/],
      ['displayName eq 1.5', /Edm\.Decimal.*Edm\.String/],
      ['createdDateTime gt 2020-01-01T24:00:00Z', /hour 24/],
      ['createdDateTime gt NaN', /Edm\.Double.*Edm\.DateTimeOffset/],
      ['enrolledDeviceCount eq 42.', /malformed literal '42\.' at position 24/],
      [' true', /whitespace before the expression/],
    ];
    for (const [filter, message] of cases) assert.match(graphError(await get(filter), 400, 'BadRequest').message, message, filter);
  });

  it('over-limit filters are 400s naming the limit; at-limit filters are served', async () => {
    const { maxLength, maxDepth, maxTerms } = FILTER_LIMITS;
    const long = (n: number) => `displayName eq '${'a'.repeat(n - 17)}'`;
    assert.deepEqual(await names(long(maxLength)), []);
    assert.match(graphError(await get(long(maxLength + 1)), 400, 'BadRequest').message, new RegExp(`over the limit of ${maxLength} characters`));

    const nested = (n: number) => `${'('.repeat(n)}displayName eq 'one'${')'.repeat(n)}`;
    assert.deepEqual(await names(nested(maxDepth)), ['one']);
    for (const n of [maxDepth + 1, 3000]) {
      assert.match(graphError(await get(nested(n)), 400, 'BadRequest').message, new RegExp(`deeper than the limit of ${maxDepth} levels`), `${n} parentheses`);
    }
    assert.deepEqual(await names(`${'not '.repeat(maxDepth)}displayName eq 'one'`), ['one']);
    assert.match(graphError(await get(`${'not '.repeat(maxDepth)}(displayName eq 'one')`), 400, 'BadRequest').message, /limit of 100 levels/);

    const ors = (n: number) => Array.from({ length: n }, (_, i) => `description eq 'x${i}'`).join(' or ');
    assert.deepEqual(await names(ors(maxTerms)), []);
    assert.match(graphError(await get(ors(maxTerms + 1)), 400, 'BadRequest').message, new RegExp(`limit of ${maxTerms} comparisons`));
    const list = (n: number) => `description in (${Array.from({ length: n }, (_, i) => `'${i}'`).join(',')})`;
    assert.deepEqual(await names(`not (${list(maxTerms)})`), ALL);
    for (const n of [maxTerms + 1, 500]) assert.match(graphError(await get(list(n)), 400, 'BadRequest').message, /limit of 200 comparisons/, `${n} values`);
    assert.match(graphError(await get(`not (${list(maxTerms + 1)})`, '/$count'), 400, 'BadRequest').message, /limit of 200 comparisons/);
  });

  it('the deepest and widest filter within the limits is served on this store', async () => {
    // Nested `not (… and/or …)` to the depth limit, the nested part first in each chain (where
    // SQLite's trees are deepest), on a nullable column, with every term the limit allows.
    const { maxDepth, maxTerms } = FILTER_LIMITS;
    const levels = maxDepth / 2;
    const perLevel = Math.floor(maxTerms / levels) - 1;
    let filter = 'description eq null';
    for (let i = 0; i < levels; i++) {
      const op = i % 2 ? 'or' : 'and';
      const rest = Array.from({ length: perLevel }, (_, j) => (i % 2 ? `description eq 'x${j}'` : `enrolledDeviceCount lt ${j + 3}.5`)).join(` ${op} `);
      filter = `not (${filter} ${op} ${rest})`;
    }
    assert.ok(filter.length <= FILTER_LIMITS.maxLength);
    const res = await get(filter);
    assert.equal(res.status, 200, res.text.slice(0, 300));
    const chain = Array.from({ length: maxTerms }, (_, j) => `not (description eq 'y${j}')`).join(' and ');
    assert.deepEqual(await names(chain), ALL);
  });
});
