import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createProfile, graphError, newTenant, PROFILES, startServer, startTenantServer, type TestServer } from '../helpers.js';

type P = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('OData query options', () => {
  let server: TestServer;
  let token: string;
  const made: P[] = [];
  const q = (query: string) => call(server.url, 'GET', `${PROFILES}?${query}`, { token });
  const names = (res: { json: { value: P[] } }) => res.json.value.map((p) => p.displayName);

  before(async () => {
    server = await startServer({ args: ['--page-size', '4'] });
    token = await server.token({ tenantId: newTenant() });
    const specs: [string, string | null][] = [
      ['Alpha', 'first'], ['beta', null], ["O'Brien", 'has quote'], ['gamma', 'x*y'], ['alphabet', 'second'], ['Delta', '100%'],
    ];
    for (const [displayName, description] of specs) made.push(await createProfile(server.url, token, { displayName, description }));
    await call(server.url, 'POST', `${PROFILES}/${made[1]!.id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } });
  });
  after(() => server.dispose());

  it('comparison operators on strings, integers, dates and ids', async () => {
    assert.deepEqual(names(await q("$filter=displayName eq 'beta'")), ['beta']);
    assert.deepEqual(names(await q("$filter=displayName ne 'beta'&$top=10")), ['Alpha', "O'Brien", 'gamma', 'alphabet', 'Delta']);
    assert.deepEqual(names(await q("$filter=displayName gt 'beta'&$orderby=displayName")), ['gamma']);
    assert.deepEqual(names(await q("$filter=displayName ge 'beta'&$orderby=displayName")), ['beta', 'gamma']);
    assert.deepEqual(names(await q("$filter=displayName lt 'Delta'&$orderby=displayName")), ['Alpha']);
    assert.deepEqual(names(await q("$filter=displayName le 'Delta'&$orderby=displayName")), ['Alpha', 'Delta']);
    assert.equal((await q('$filter=enrolledDeviceCount eq 0&$count=true')).json['@odata.count'], 6);
    assert.equal((await q('$filter=enrolledDeviceCount gt 0&$count=true')).json['@odata.count'], 0);
    assert.deepEqual(names(await q(`$filter=id eq '${made[2]!.id}'`)), ["O'Brien"]);
    // An unquoted GUID is an Edm.Guid literal, and id is an Edm.String: a type error, as on the live service.
    assert.match(graphError(await q(`$filter=id eq ${made[2]!.id}`), 400, 'BadRequest').message, /Edm\.Guid.*Edm\.String/);
    assert.equal((await q('$filter=enrolledDeviceCount eq 0.0&$count=true')).json['@odata.count'], 6, 'numeric literals by value');
    assert.equal((await q('$filter=enrolledDeviceCount lt 3000000000&$count=true')).json['@odata.count'], 6);
    const third = made[3]!.createdDateTime;
    assert.deepEqual(names(await q(`$filter=createdDateTime ge ${third}&$orderby=createdDateTime`)), ['gamma', 'alphabet', 'Delta']);
    assert.deepEqual(names(await q(`$filter=createdDateTime lt ${third}&$orderby=createdDateTime desc`)), ["O'Brien", 'beta', 'Alpha']);
    assert.deepEqual(names(await q('$filter=tokenExpirationDateTime gt 2000-01-01T00:00:00Z')), ['beta']);
    assert.deepEqual(names(await q('$filter=tokenExpirationDateTime eq 0001-01-01T00:00:00Z&$top=10')).length, 5);
  });

  it('null, in, string functions, escaping, and/or/not with parentheses', async () => {
    assert.deepEqual(names(await q('$filter=description eq null')), ['beta']);
    assert.deepEqual(names(await q('$filter=tokenValue ne null')), ['beta']);
    assert.deepEqual(names(await q("$filter=displayName in ('gamma', 'Delta', 'nope')")), ['gamma', 'Delta']);
    assert.deepEqual(names(await q("$filter=startswith(displayName,'alpha')")), ['alphabet']);
    assert.deepEqual(names(await q("$filter=endswith(displayName,'a')")), ['Alpha', 'beta', 'gamma', 'Delta']);
    assert.deepEqual(names(await q("$filter=contains(displayName,'ph')")), ['Alpha', 'alphabet']);
    assert.deepEqual(names(await q("$filter=displayName eq 'O''Brien'")), ["O'Brien"]);
    assert.deepEqual(names(await q("$filter=contains(description,'*')")), ['gamma'], 'glob characters are literal');
    assert.deepEqual(names(await q("$filter=contains(description,'%')")), ['Delta'], 'like characters are literal');
    assert.deepEqual(names(await q("$filter=not (description eq 'first')&$top=10")), ['beta', "O'Brien", 'gamma', 'alphabet', 'Delta']);
    assert.deepEqual(
      names(await q("$filter=(startswith(displayName,'a') or displayName eq 'beta') and not contains(displayName,'bet')")),
      [],
    );
    assert.deepEqual(names(await q("$filter=(displayName eq 'gamma' or displayName eq 'beta') and description ne null")), ['gamma']);
    assert.deepEqual(names(await q("$filter=displayName eq 'gamma' or displayName eq 'beta' and description ne null")), ['gamma'],
      'and binds tighter than or');
    assert.deepEqual(names(await q("$FILTER=DisplayName EQ 'beta'")), ['beta'], 'names and keywords are case-insensitive');
  });

  it('$select shapes entities and the context URL, on the collection and one entity', async () => {
    const res = await q('$select=displayName,id');
    assert.equal(res.json['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidForWorkEnrollmentProfiles(id,displayName)`);
    assert.deepEqual(Object.keys(res.json.value[0]), ['@odata.type', 'id', 'displayName']);
    const one = await call(server.url, 'GET', `${PROFILES}/${made[0]!.id}?$select=DISPLAYNAME`, { token });
    assert.equal(one.json['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidForWorkEnrollmentProfiles(displayName)/$entity`);
    assert.deepEqual(Object.keys(one.json), ['@odata.context', '@odata.type', 'displayName']);
  });

  it('$orderby with several keys, $top, $skip, $count and /$count', async () => {
    assert.deepEqual(names(await q('$orderby=description desc,displayName&$top=6')), ['gamma', 'alphabet', "O'Brien", 'Alpha', 'Delta', 'beta']);
    assert.deepEqual(names(await q('$orderby=displayName&$top=2&$skip=1')), ['Delta', "O'Brien"]);
    const counted = await q("$count=true&$top=1&$filter=startswith(displayName,'a')");
    assert.deepEqual(Object.keys(counted.json), ['@odata.context', '@odata.count', 'value']);
    assert.equal(counted.json['@odata.count'], 1);
    const c = await call(server.url, 'GET', `${PROFILES}/$count?$filter=description ne null`, { token });
    assert.equal(c.status, 200);
    assert.match(c.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(c.text, '5');
  });

  it('on beta the $ prefix may be left out; on v1.0 bare names are not options', async () => {
    assert.deepEqual(names(await q("filter=displayName eq 'beta'&select=displayName")), ['beta']);
    const v1 = await call(server.url, 'GET', `/v1.0/deviceManagement/androidForWorkEnrollmentProfiles?filter=displayName eq 'beta'&top=100`, { token });
    assert.equal(v1.json.value.length, 4, 'no filter, page size 4');
    assert.ok(v1.json['@odata.nextLink']);
  });

  it('refuses $search, $expand, unknown options, bad syntax and unfilterable properties with 400s that say why', async () => {
    const cases: [string, RegExp][] = [
      ['$search="x"', /\$search/],
      ['$expand=foo', /\$expand/],
      ['$bogus=1', /\$bogus/],
      ["$filter=displayName eq 'x' and", /unexpected end of expression at position 23/],
      ["$filter=displayName eq 'x", /unterminated string literal/],
      ["$filter=displayName eq 'a%00b'", /NUL/],
      ["$filter=(displayName eq 'x'", /expected '\)'/],
      ['$filter=displayName foo 1', /comparison operator/],
      ["$filter=qrCodeContent eq 'x'", /qrCodeContent/],
      ["$filter=nope eq 'x'", /nope/],
      ["$filter=enrolledDeviceCount eq 'x'", /Edm\.Int32/],
      ['$filter=enrolledDeviceCount', /Edm\.Boolean.*Edm\.Int32/],
      ['$filter=createdDateTime gt 2020-01-01T24:00:00Z', /hour 24/],
      ["$filter=createdDateTime gt '2020'", /DateTimeOffset/],
      ['$filter=createdDateTime gt 2020-13-45T00:00:00Z', /DateTimeOffset/],
      ['$orderby=qrCodeImage', /qrCodeImage/],
      ['$orderby=displayName sideways', /displayName sideways/],
      ['$select=nope', /nope/],
      ['$top=-1', /\$top/],
      ['$top=abc', /\$top/],
      ['$skip=x', /\$skip/],
      ['$count=maybe', /\$count/],
      ['$top=1&$top=2', /more than once/],
      ['$skiptoken=garbage', /skiptoken/],
    ];
    for (const [query, message] of cases) {
      const e = graphError(await q(query), 400, 'BadRequest');
      assert.match(e.message, message, query);
    }
    const e = graphError(await call(server.url, 'GET', `${PROFILES}/${made[0]!.id}?$filter=displayName eq 'x'`, { token }), 400, 'BadRequest');
    assert.match(e.message, /\$filter/);
  });

  it('a skiptoken is bound to its query: tampered or foreign tokens are 400', async () => {
    const first = await q('$orderby=displayName');
    const next: string = first.json['@odata.nextLink'];
    assert.ok(next);
    const token0 = new URL(next).searchParams.get('$skiptoken')!;
    const [payload, mac] = token0.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), k: ['A', '0'] })).toString('base64url');
    graphError(await q(`$orderby=displayName&$skiptoken=${forged}.${mac}`), 400, 'BadRequest');
    graphError(await q(`$orderby=displayName desc&$skiptoken=${token0}`), 400, 'BadRequest');
    const other = await server.token({ tenantId: newTenant() });
    graphError(await call(server.url, 'GET', `${PROFILES}?$orderby=displayName&$skiptoken=${token0}`, { token: other }), 400, 'BadRequest');
    assert.equal((await call(next, 'GET', '', { token })).status, 200);
  });
});

describe('server-driven paging under concurrent writes', () => {
  let server: TestServer;
  let token: string;
  let tenant: string;
  before(async () => {
    ({ server, tenant, token } = await startTenantServer({ args: ['--page-size', '5', '--max-page-size', '7'] }));
  });
  after(() => server.dispose());

  for (const order of ['displayName asc', 'displayName desc', 'createdDateTime desc']) {
    it(`never repeats a row nor skips one that existed throughout (${order})`, async () => {
      const t = newTenant();
      const tk = await server.token({ tenantId: t });
      const initial: P[] = [];
      for (let i = 0; i < 30; i++) initial.push(await createProfile(server.url, tk, { displayName: `n${String(i * 3).padStart(3, '0')}` }));
      const doomed = new Set(initial.filter((_, i) => i % 4 === 1).map((p) => p.id));
      const survivors = new Set(initial.map((p) => p.id).filter((id) => !doomed.has(id)));
      let url: string | undefined = `${server.url}${PROFILES}?$orderby=${encodeURIComponent(order)}&$top=6&$select=id,displayName`;
      const seen: string[] = [];
      let page = 0;
      const inserted: string[] = [];
      while (url) {
        const res = await call(url, 'GET', '', { token: tk });
        assert.equal(res.status, 200, res.text);
        assert.ok(res.json.value.length <= 6);
        seen.push(...res.json.value.map((p: P) => p.id));
        url = res.json['@odata.nextLink'];
        // Between pages: insert rows everywhere in the order and delete some old ones.
        page++;
        inserted.push((await createProfile(server.url, tk, { displayName: `n${String(page * 11 % 90).padStart(3, '0')}x` })).id);
        const victim = [...doomed][page - 1];
        if (victim) await call(server.url, 'DELETE', `${PROFILES}/${victim}`, { token: tk });
        assert.ok(page < 40);
      }
      assert.equal(new Set(seen).size, seen.length, 'no row twice');
      for (const id of survivors) assert.ok(seen.includes(id), `survivor ${id} seen`);
      // What was seen is in the requested order.
      const all = (await call(server.url, 'GET', `${PROFILES}?$top=7&$orderby=${encodeURIComponent(order)}`, { token: tk })).json;
      assert.ok(all['@odata.nextLink'], '$top above the maximum is capped at 7');
      assert.equal(all.value.length, 7);
    });
  }

  it('pages 100 profiles with the default page size and $top up to the maximum', async () => {
    for (let i = 0; i < 12; i++) await createProfile(server.url, token, { displayName: `p${i}` });
    let url: string | undefined = `${server.url}${PROFILES}`;
    const sizes: number[] = [];
    while (url) {
      const res = await call(url, 'GET', '', { token });
      sizes.push(res.json.value.length);
      url = res.json['@odata.nextLink'];
    }
    assert.deepEqual(sizes, [5, 5, 2]);
    const stored = await server.storedAll(tenant);
    assert.equal(stored.length, 12);
  });
});
