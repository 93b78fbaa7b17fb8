/**
 * Black-box tests of `/beta/deviceManagement/androidDeviceOwnerEnrollmentProfiles` (SPEC §6, issue
 * 13 points 1 and 6): the operations, bad input (every refused write checked against the store),
 * OData query options, `$batch`, the v1.0 refusal, permissions and tenancy. Tokens by enrollment
 * mode and device enrollment: device-owner-tokens.test.ts; snapshots and seeds: device-owner-admin.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, graphError, JSON_CT, patchEntity, RO, startServer, type Call, type TestServer } from '../helpers.js';
import {
  advance, AOSP_USERLESS_CAP, CSDL_PROPERTIES, DO, deviceOwner, freeze, iso7, MAX_VALIDITY, MODES, T0, tenantClient as newClient,
  type Client, type Json, type Mode,
} from '../device-owner.js';

const TYPE = '#microsoft.graph.androidDeviceOwnerEnrollmentProfile';
const ENROLLMENT_MODES = /Allowed: corporateOwnedDedicatedDevice, corporateOwnedFullyManaged, corporateOwnedWorkProfile, corporateOwnedAOSPUserlessDevice, corporateOwnedAOSPUserAssociatedDevice\./;

/** What a profile created with only displayName and enrollmentMode holds (SPEC §6 defaults). */
const DEFAULTS = {
  description: null, enrollmentTokenType: 'default', tokenValue: null, tokenCreationDateTime: '0001-01-01T00:00:00Z',
  tokenExpirationDateTime: '0001-01-01T00:00:00Z', enrolledDeviceCount: 0, enrollmentTokenUsageCount: 0, qrCodeContent: null, qrCodeImage: null,
  roleScopeTagIds: ['0'], configureWifi: true, wifiSsid: null, wifiPassword: null, wifiSecurityType: 'none', wifiHidden: false,
  isTeamsDeviceProfile: false, deviceNameTemplate: null,
};

/** Client-written values other than the defaults. */
const EVERY_CLIENT_PROPERTY = {
  description: 'every property', enrollmentTokenType: 'deviceStaging', roleScopeTagIds: ['1', '7'], configureWifi: false, wifiSsid: 'Lobby',
  wifiPassword: 'correct horse', wifiSecurityType: 'wep', wifiHidden: true, isTeamsDeviceProfile: true, deviceNameTemplate: `{{SERIAL}}-${'x'.repeat(52)}`,
};

let server: TestServer;
before(async () => {
  server = await startServer();
  await freeze(server, T0);
});
after(() => server?.dispose());

const tenantClient = () => newClient(server);

const pick = (o: Json, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));

describe('device-owner profiles: the operations', () => {
  it('creates a profile from displayName and enrollmentMode: 201, Location, every CSDL property with the defaults, enums as strings', async () => {
    const c = await tenantClient();
    const res = await call(server.url, 'POST', DO, { token: c.token, body: { displayName: 'Lobby kiosks', enrollmentMode: 'corporateOwnedDedicatedDevice' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.get('content-type'), JSON_CT);
    assert.equal(res.headers.get('odata-version'), '4.0');
    assert.match(res.headers.get('request-id') ?? '', /^[0-9a-f-]{36}$/);
    const p = res.json;
    assert.equal(res.headers.get('location'), `${server.url}${DO}/${p.id}`);
    assert.equal(p['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidDeviceOwnerEnrollmentProfiles/$entity`);
    assert.equal(p['@odata.type'], TYPE);
    assert.deepEqual(Object.keys(p).sort(), ['@odata.context', '@odata.type', ...CSDL_PROPERTIES].sort());
    assert.match(p.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(pick(p, Object.keys(DEFAULTS)), DEFAULTS);
    assert.deepEqual(pick(p, ['accountId', 'displayName', 'enrollmentMode', 'createdDateTime', 'lastModifiedDateTime']), {
      accountId: c.tenant, displayName: 'Lobby kiosks', enrollmentMode: 'corporateOwnedDedicatedDevice',
      createdDateTime: iso7(T0), lastModifiedDateTime: iso7(T0),
    });
    const stored = await c.stored(p.id);
    assert.deepEqual(pick(stored!, ['enrollmentMode', 'enrollmentTokenType', 'roleScopeTagIds', 'configureWifi', 'wifiSecurityType', 'tokenValue']), {
      enrollmentMode: 'corporateOwnedDedicatedDevice', enrollmentTokenType: 'default', roleScopeTagIds: ['0'], configureWifi: true,
      wifiSecurityType: 'none', tokenValue: null,
    });
    assert.equal(stored!.createdDateTime, T0 * 1e6);
  });

  it('creates one of every enrollment mode, which reads back as its member name', async () => {
    const c = await tenantClient();
    for (const mode of MODES) {
      const p = await c.make(mode);
      assert.equal(p.enrollmentMode, mode);
      assert.equal((await c.get(p.id)).enrollmentMode, mode);
      assert.equal((await c.stored(p.id))!.enrollmentMode, mode);
    }
  });

  it('takes every client-written property, and ignores server-written ones a client sends', async () => {
    const c = await tenantClient();
    const p = await c.make('corporateOwnedAOSPUserlessDevice', {
      ...EVERY_CLIENT_PROPERTY, '@odata.type': TYPE,
      accountId: '00000000-0000-0000-0000-000000000000', enrollmentTokenUsageCount: 5, enrolledDeviceCount: 9, tokenValue: 'MINEMINE', qrCodeContent: 'x',
    });
    assert.deepEqual(pick(p, Object.keys(EVERY_CLIENT_PROPERTY)), EVERY_CLIENT_PROPERTY);
    assert.deepEqual(pick(p, ['accountId', 'enrollmentTokenUsageCount', 'enrolledDeviceCount', 'tokenValue', 'qrCodeContent']), {
      accountId: c.tenant, enrollmentTokenUsageCount: 0, enrolledDeviceCount: 0, tokenValue: null, qrCodeContent: null,
    });
    const stored = (await c.stored(p.id))!;
    assert.deepEqual(pick(stored, Object.keys(EVERY_CLIENT_PROPERTY)), EVERY_CLIENT_PROPERTY);
    assert.equal(stored.deviceNameTemplate!.length, 63, 'deviceNameTemplate of 63 characters is taken');
  });

  it('gets a profile by id and by key syntax; an unknown id is 404', async () => {
    const c = await tenantClient();
    const p = await c.make('corporateOwnedWorkProfile');
    for (const key of [p.id, `('${p.id}')`]) {
      const res = await call(server.url, 'GET', key.startsWith('(') ? `${DO}${key}` : `${DO}/${key}`, { token: c.token });
      assert.equal(res.status, 200, key);
      assert.equal(res.headers.get('content-type'), JSON_CT);
      assert.deepEqual(res.json, p, key);
    }
    const missing = graphError(await call(server.url, 'GET', `${DO}/no-such-profile`, { token: c.token }), 404, 'ResourceNotFound');
    assert.match(missing.message, /no-such-profile/);
  });

  it("lists the tenant's profiles, oldest first", async () => {
    const c = await tenantClient();
    const made: Json[] = [];
    for (const mode of MODES) {
      made.push(await c.make(mode));
      await advance(server, 1); // (profiles made at one instant are listed in the order of their ids)
    }
    await freeze(server, T0);
    const res = await call(server.url, 'GET', DO, { token: c.token });
    assert.equal(res.status, 200);
    assert.equal(res.json['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidDeviceOwnerEnrollmentProfiles`);
    assert.deepEqual(res.json.value.map((p: Json) => p.id), made.map((p) => p.id));
    assert.deepEqual(res.json.value.map((p: Json) => p['@odata.type']), Array(MODES.length).fill(TYPE));
    assert.deepEqual(res.json.value[0], (({ '@odata.context': _, ...rest }) => rest)(made[0]!));
  });

  it('updates with PATCH: the sent properties change, the others and createdDateTime stay, lastModifiedDateTime moves', async () => {
    const c = await tenantClient();
    const p = await c.make('corporateOwnedAOSPUserAssociatedDevice', { description: 'before', deviceNameTemplate: 'old' });
    await advance(server, 30);
    const change = { displayName: 'after', wifiSsid: 'Guest', wifiSecurityType: 'wpa', configureWifi: false, roleScopeTagIds: ['3'], deviceNameTemplate: null };
    const got = await patchEntity(server.url, c.token, `${DO}/${p.id}`, change);
    assert.deepEqual(pick(got, Object.keys(change)), change);
    assert.equal(got.description, 'before');
    assert.equal(got.enrollmentMode, 'corporateOwnedAOSPUserAssociatedDevice');
    assert.equal(got.createdDateTime, p.createdDateTime);
    assert.equal(got.lastModifiedDateTime, iso7(T0 + 30));
    const stored = (await c.stored(p.id))!;
    assert.deepEqual(pick(stored, Object.keys(change)), change);
    assert.equal(stored.lastModifiedDateTime, (T0 + 30) * 1e6);
    await freeze(server, T0);
  });

  it('deletes a profile (204, no body), after which it is gone', async () => {
    const c = await tenantClient();
    const p = await c.make('corporateOwnedFullyManaged');
    const res = await call(server.url, 'DELETE', `${DO}/${p.id}`, { token: c.token });
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('content-type'), null);
    graphError(await call(server.url, 'GET', `${DO}/${p.id}`, { token: c.token }), 404, 'ResourceNotFound');
    assert.equal(await c.stored(p.id), undefined);
    graphError(await call(server.url, 'DELETE', `${DO}/${p.id}`, { token: c.token }), 404, 'ResourceNotFound');
  });

  it('createToken and revokeToken answer plain and namespace-qualified', async () => {
    const c = await tenantClient();
    const p = await c.make('corporateOwnedDedicatedDevice');
    await c.createToken(p.id, 60);
    const first = (await c.stored(p.id))!.tokenValue;
    assert.match(first ?? '', /^[A-Z]{20}$/);
    await c.createToken(p.id, 120, 'microsoft.graph.createToken');
    const second = (await c.stored(p.id))!.tokenValue;
    assert.match(second ?? '', /^[A-Z]{20}$/);
    assert.notEqual(second, first);
    await c.revokeToken(p.id);
    assert.equal((await c.stored(p.id))!.tokenValue, null);
    await c.createToken(p.id, 60);
    await c.revokeToken(p.id, 'microsoft.graph.revokeToken');
    assert.equal((await c.stored(p.id))!.tokenValue, null);
    assert.equal((await c.get(p.id)).tokenValue, null);
  });

  it("is beta only: v1.0 answers 400 \"Resource not found for the segment 'androidDeviceOwnerEnrollmentProfiles'.\" and stores nothing", async () => {
    const c = await tenantClient();
    const p = await c.make('corporateOwnedDedicatedDevice');
    const V1 = '/v1.0/deviceManagement/androidDeviceOwnerEnrollmentProfiles';
    const calls: [string, string, unknown][] = [
      ['GET', V1, undefined],
      ['POST', V1, { displayName: 'v1', enrollmentMode: 'corporateOwnedDedicatedDevice' }],
      ['GET', `${V1}/${p.id}`, undefined],
      ['PATCH', `${V1}/${p.id}`, { displayName: 'v1' }],
      ['DELETE', `${V1}/${p.id}`, undefined],
      ['POST', `${V1}/${p.id}/createToken`, { tokenValidityInSeconds: 60 }],
    ];
    const before = await c.storedAll();
    for (const [method, path, body] of calls) {
      const e = graphError(await call(server.url, method, path, { token: c.token, ...(body !== undefined ? { body } : {}) }), 400, 'BadRequest');
      assert.equal(e.message, "Resource not found for the segment 'androidDeviceOwnerEnrollmentProfiles'.", `${method} ${path}`);
    }
    assert.deepEqual(await c.storedAll(), before);
  });
});

describe('device-owner profiles: bad input is a 400 ModelValidationFailure naming the property, and changes nothing', () => {
  /** Sends each case and asserts the 400 and its message; the tenant's stored rows are the same afterwards. */
  async function assertRefused(c: Client, send: (body: Json) => Promise<Call>, cases: [Json, RegExp[]][]) {
    const before = await c.storedAll();
    for (const [body, mentions] of cases) {
      const e = graphError(await send(body), 400, 'ModelValidationFailure');
      for (const m of mentions) assert.match(e.message, m, JSON.stringify(body));
    }
    assert.deepEqual(await c.storedAll(), before, 'a refused call changed the store');
  }

  const base = { displayName: 'bad', enrollmentMode: 'corporateOwnedFullyManaged' };
  /** Bad values of client-written properties, refused on create and on PATCH alike. */
  const badValues: [Json, RegExp[]][] = [
    [{ enrollmentMode: 'nope' }, [/'enrollmentMode'/, /'nope'/, ENROLLMENT_MODES]],
    [{ enrollmentMode: 1 }, [/'enrollmentMode'/, ENROLLMENT_MODES]],
    [{ enrollmentTokenType: 'staging' }, [/'enrollmentTokenType'/, /Allowed: default, corporateOwnedDedicatedDeviceWithAzureADSharedMode, deviceStaging\./]],
    [{ wifiSecurityType: 'wpa2' }, [/'wifiSecurityType'/, /Allowed: none, wpa, wep\./]],
    [{ configureWifi: 'yes' }, [/'configureWifi'/, /Edm\.Boolean/]],
    [{ wifiHidden: 1 }, [/'wifiHidden'/, /Edm\.Boolean/]],
    [{ isTeamsDeviceProfile: 'false' }, [/'isTeamsDeviceProfile'/, /Edm\.Boolean/]],
    [{ roleScopeTagIds: '0' }, [/'roleScopeTagIds'/, /Collection\(Edm\.String\)/]],
    [{ roleScopeTagIds: [1] }, [/'roleScopeTagIds\[0\]'/, /Edm\.String/]],
    [{ roleScopeTagIds: { 0: '0' } }, [/'roleScopeTagIds'/]],
    [{ displayName: 7 }, [/'displayName'/, /Edm\.String/]],
    [{ wifiSsid: ['x'] }, [/'wifiSsid'/]],
    [{ deviceNameTemplate: 'x'.repeat(64) }, [/'deviceNameTemplate'/, /63/]],
    [{ configureWifi: null }, [/'configureWifi' cannot be null/]],
    [{ roleScopeTagIds: null }, [/'roleScopeTagIds' cannot be null/]],
    [{ enrollmentMode: null }, [/'enrollmentMode' cannot be null/]],
    [{ enrollmentTokenType: null }, [/'enrollmentTokenType' cannot be null/]],
    [{ wifiSecurityType: null }, [/'wifiSecurityType' cannot be null/]],
    [{ wifiHidden: null }, [/'wifiHidden' cannot be null/]],
    [{ isTeamsDeviceProfile: null }, [/'isTeamsDeviceProfile' cannot be null/]],
    [{ bogus: 1 }, [/'bogus'/, /androidDeviceOwnerEnrollmentProfile/]],
    [{ tokenValidityInSeconds: 60 }, [/'tokenValidityInSeconds'/]],
    [{ '@odata.type': '#microsoft.graph.androidForWorkEnrollmentProfile' }, [/@odata\.type/]],
  ];

  it('on create: unknown enum members (naming the allowed ones), wrong JSON types, a 64-character deviceNameTemplate, nulls, unknown properties, a missing enrollmentMode', async () => {
    const c = await tenantClient();
    await c.make('corporateOwnedFullyManaged'); // something stored to compare
    const create = (body: Json) => call(server.url, 'POST', DO, { token: c.token, body });
    await assertRefused(c, create, [
      ...badValues.map(([b, m]): [Json, RegExp[]] => [{ ...base, ...b }, m]),
      [{ displayName: 'no mode' }, [/'enrollmentMode' is required/]],
      [{ enrollmentMode: 'corporateOwnedFullyManaged' }, [/'displayName'/]],
      [{ ...base, displayName: '' }, [/'displayName'/]],
    ]);
  });

  it('on PATCH: the same, and the profile stays as it was', async () => {
    const c = await tenantClient();
    const p = await c.make('corporateOwnedFullyManaged', { wifiSsid: 'Office' });
    const patch = (body: Json) => call(server.url, 'PATCH', `${DO}/${p.id}`, { token: c.token, body });
    await assertRefused(c, patch, badValues);
    assert.deepEqual(await c.get(p.id), p);
  });

  it("createToken over the mode's cap: AOSP userless 7,776,001 s is refused (by id and by AOSP- key), 7,776,000 s is taken", async () => {
    const c = await tenantClient();
    const p = await c.make('corporateOwnedAOSPUserlessDevice');
    const ct = (key: string, body: Json) => call(server.url, 'POST', `${DO}/${key}/createToken`, { token: c.token, body });
    for (const key of [p.id, `AOSP-${p.id}`]) {
      await assertRefused(c, (body) => ct(key, body), [
        [{ tokenValidityInSeconds: AOSP_USERLESS_CAP + 1 }, [/'tokenValidityInSeconds'/, /from 1 to 7776000/]],
        [{ tokenValidityInSeconds: MAX_VALIDITY }, [/'tokenValidityInSeconds'/, /from 1 to 7776000/]],
      ]);
    }
    assert.equal((await ct(p.id, { tokenValidityInSeconds: AOSP_USERLESS_CAP })).status, 204);
    const got = await c.get(p.id);
    assert.equal(got.tokenExpirationDateTime, iso7(T0 + AOSP_USERLESS_CAP));
  });

  it('createToken up to 2,051,244,000 s in every other mode; beyond it, and malformed parameters, refused', async () => {
    const c = await tenantClient();
    for (const mode of MODES.filter((m): m is Mode => m !== 'corporateOwnedAOSPUserlessDevice')) {
      const p = await c.make(mode);
      const ct = (body: Json) => call(server.url, 'POST', `${DO}/${p.id}/createToken`, { token: c.token, body });
      await assertRefused(c, ct, [
        [{ tokenValidityInSeconds: MAX_VALIDITY + 1 }, [/'tokenValidityInSeconds'/, /2051244000/]],
        [{ tokenValidityInSeconds: 0 }, [/'tokenValidityInSeconds'/]],
        [{ tokenValidityInSeconds: '60' }, [/'tokenValidityInSeconds'/]],
        [{ tokenValidityInSeconds: 1.5 }, [/'tokenValidityInSeconds'/]],
        [{ tokenValidityInSeconds: null }, [/'tokenValidityInSeconds'/]],
        [{}, [/'tokenValidityInSeconds'/]],
        [{ tokenValidityInSeconds: 60, extra: 1 }, [/'extra'/]],
      ]);
      assert.equal((await ct({ tokenValidityInSeconds: MAX_VALIDITY })).status, 204, mode);
      assert.equal((await c.get(p.id)).tokenExpirationDateTime, iso7(T0 + MAX_VALIDITY), mode);
    }
  });
});

describe('device-owner profiles: OData query options', () => {
  let q: (query: string) => Promise<Call>;
  let c: Client;
  const byName = new Map<string, Json>();
  /** The display names of an answer, in its order. */
  const names = (res: Call) => {
    assert.equal(res.status, 200, res.text);
    return res.json.value.map((p: Json) => p.displayName);
  };

  before(async () => {
    c = await tenantClient();
    q = (query) => call(server.url, 'GET', `${DO}?${query}`, { token: c.token });
    const specs: [string, Mode, Json][] = [
      ['a-dedicated', 'corporateOwnedDedicatedDevice', {}],
      ['b-managed', 'corporateOwnedFullyManaged', { configureWifi: false }],
      ['c-work', 'corporateOwnedWorkProfile', {}],
      ['d-userless', 'corporateOwnedAOSPUserlessDevice', { isTeamsDeviceProfile: true, wifiSsid: 'Room' }],
      ['e-associated', 'corporateOwnedAOSPUserAssociatedDevice', { configureWifi: false, isTeamsDeviceProfile: true }],
      ['f-userless', 'corporateOwnedAOSPUserlessDevice', {}],
      ['g-dedicated', 'corporateOwnedDedicatedDevice', {}],
    ];
    for (const [name, mode, extra] of specs) {
      byName.set(name, await c.make(mode, { displayName: name, ...extra }));
      await advance(server, 1); // creation order is the default order
    }
    await freeze(server, T0);
    await c.createToken(byName.get('a-dedicated')!.id, 3600); // expires 2030-01-01T01:00Z
    await c.createToken(byName.get('g-dedicated')!.id, 2 * 365 * 86400); // expires in 2032
    // Another tenant's profile of the same mode is never listed.
    await (await tenantClient()).make('corporateOwnedAOSPUserlessDevice', { displayName: 'd-userless' });
  });

  it('$filter on an enum: eq, in, and the qualified literal', async () => {
    assert.deepEqual(names(await q("$filter=enrollmentMode eq 'corporateOwnedAOSPUserlessDevice'")), ['d-userless', 'f-userless']);
    assert.deepEqual(names(await q("$filter=enrollmentMode in ('corporateOwnedFullyManaged', 'corporateOwnedWorkProfile')")), ['b-managed', 'c-work']);
    assert.deepEqual(names(await q("$filter=enrollmentMode eq microsoft.graph.androidDeviceOwnerEnrollmentMode'corporateOwnedAOSPUserlessDevice'")),
      ['d-userless', 'f-userless']);
    assert.deepEqual(names(await q("$filter=enrollmentMode ne 'corporateOwnedDedicatedDevice' and enrollmentTokenType eq 'default'")),
      ['b-managed', 'c-work', 'd-userless', 'e-associated', 'f-userless']);
    assert.deepEqual(names(await q("$filter=wifiSecurityType eq 'wpa'")), []);
  });

  it('$filter on Booleans (a comparison, a bare property and not) and dates', async () => {
    assert.deepEqual(names(await q('$filter=configureWifi eq false')), ['b-managed', 'e-associated']);
    assert.deepEqual(names(await q('$filter=isTeamsDeviceProfile')), ['d-userless', 'e-associated']);
    assert.deepEqual(names(await q('$filter=not isTeamsDeviceProfile and configureWifi')), ['a-dedicated', 'c-work', 'f-userless', 'g-dedicated']);
    assert.deepEqual(names(await q('$filter=tokenExpirationDateTime lt 2030-01-01T00:00:00Z')),
      ['b-managed', 'c-work', 'd-userless', 'e-associated', 'f-userless']);
    assert.deepEqual(names(await q('$filter=tokenExpirationDateTime gt 2030-01-01T00:00:00Z&$orderby=tokenExpirationDateTime desc')),
      ['g-dedicated', 'a-dedicated']);
    assert.deepEqual(names(await q('$filter=tokenCreationDateTime eq 2030-01-01T00:00:00Z')), ['a-dedicated', 'g-dedicated']);
  });

  it("$filter with an enum member that does not exist is a 400 naming the allowed members", async () => {
    const e = graphError(await q("$filter=enrollmentMode eq 'nope'"), 400, 'BadRequest');
    assert.match(e.message, /'nope'/);
    for (const m of MODES) assert.match(e.message, new RegExp(m));
    const qualified = graphError(await q("$filter=wifiSecurityType eq microsoft.graph.aospWifiSecurityType'wpa3'"), 400, 'BadRequest');
    assert.match(qualified.message, /none, wpa, wep/);
  });

  it('$select shapes the entities and the context URL', async () => {
    const res = await q("$select=displayName,enrollmentMode&$filter=displayName eq 'c-work'");
    assert.equal(res.json['@odata.context'], `${server.url}/beta/$metadata#deviceManagement/androidDeviceOwnerEnrollmentProfiles(displayName,enrollmentMode)`);
    assert.deepEqual(res.json.value, [{ '@odata.type': TYPE, displayName: 'c-work', enrollmentMode: 'corporateOwnedWorkProfile' }]);
    const one = await c.get(byName.get('d-userless')!.id, '?$select=roleScopeTagIds,wifiSsid,isTeamsDeviceProfile');
    assert.deepEqual(one, {
      '@odata.context': `${server.url}/beta/$metadata#deviceManagement/androidDeviceOwnerEnrollmentProfiles(roleScopeTagIds,wifiSsid,isTeamsDeviceProfile)/$entity`,
      '@odata.type': TYPE, roleScopeTagIds: ['0'], wifiSsid: 'Room', isTeamsDeviceProfile: true,
    });
  });

  it('$orderby, $top and $count=true', async () => {
    assert.deepEqual(names(await q('$orderby=displayName desc&$top=3')), ['g-dedicated', 'f-userless', 'e-associated']);
    assert.deepEqual(names(await q('$orderby=isTeamsDeviceProfile desc,displayName&$top=3')), ['d-userless', 'e-associated', 'a-dedicated']);
    const counted = await q("$count=true&$top=1&$filter=enrollmentMode eq 'corporateOwnedAOSPUserlessDevice'");
    assert.equal(counted.json['@odata.count'], 2);
    assert.deepEqual(names(counted), ['d-userless']);
    assert.ok(counted.json['@odata.nextLink']);
    const c2 = await call(server.url, 'GET', `${DO}/$count?$filter=configureWifi`, { token: c.token });
    assert.equal(c2.status, 200);
    assert.equal(c2.text, '5');
  });

  it('pages through @odata.nextLink without showing a row twice, keeping the filter and the order', async () => {
    const pageThrough = async (query: string) => {
      let url: string | undefined = `${server.url}${DO}?${query}`;
      const seen: string[] = [];
      let count: number | undefined;
      for (let pages = 0; url; pages++) {
        assert.ok(pages < 10, 'too many pages');
        const res = await call(url, 'GET', '', { token: c.token });
        seen.push(...names(res));
        count ??= res.json['@odata.count'];
        url = res.json['@odata.nextLink'];
      }
      assert.equal(new Set(seen).size, seen.length, 'a row seen twice');
      return { seen, count };
    };
    const all = await pageThrough('$top=2&$count=true');
    assert.deepEqual(all.seen, [...byName.keys()]);
    assert.equal(all.count, 7);
    assert.deepEqual((await pageThrough("$top=2&$orderby=displayName desc&$filter=enrollmentMode ne 'corporateOwnedFullyManaged'")).seen,
      ['g-dedicated', 'f-userless', 'e-associated', 'd-userless', 'c-work', 'a-dedicated']);
    assert.deepEqual((await pageThrough('$top=1&$filter=not configureWifi&$orderby=isTeamsDeviceProfile')).seen, ['b-managed', 'e-associated']);
  });
});

describe('device-owner profiles: $batch', () => {
  it('runs device-owner items: create, createToken (plain and qualified, one over its cap), get', async () => {
    const c = await tenantClient();
    const REL = '/deviceManagement/androidDeviceOwnerEnrollmentProfiles';
    const fm = await c.make('corporateOwnedFullyManaged');
    const aosp = await c.make('corporateOwnedAOSPUserlessDevice');
    const aospBefore = await c.stored(aosp.id);
    const json = { 'Content-Type': 'application/json' };
    const res = await call(server.url, 'POST', '/beta/$batch', { token: c.token, body: { requests: [
      { id: '1', method: 'POST', url: REL, headers: json, body: { displayName: 'from batch', enrollmentMode: 'corporateOwnedWorkProfile' } },
      { id: '2', method: 'POST', url: `${REL}/${fm.id}/createToken`, headers: json, body: { tokenValidityInSeconds: 600 } },
      { id: '3', method: 'POST', url: `${REL}/AOSP-${aosp.id}/microsoft.graph.createToken`, headers: json, body: { tokenValidityInSeconds: AOSP_USERLESS_CAP + 1 } },
      { id: '4', method: 'GET', url: `${REL}/${fm.id}?$select=tokenValue,tokenExpirationDateTime`, dependsOn: ['2'] },
      { id: '5', method: 'GET', url: `${REL}?$filter=enrollmentMode eq 'corporateOwnedWorkProfile'&$select=displayName`, dependsOn: ['1'] },
      { id: '6', method: 'POST', url: REL, headers: json, body: { displayName: 'bad', enrollmentMode: 'kiosk' } },
    ] } });
    assert.equal(res.status, 200, res.text);
    const byId = new Map<string, Json>(res.json.responses.map((r: Json) => [r.id, r]));
    assert.deepEqual([...byId.keys()].sort(), ['1', '2', '3', '4', '5', '6']);
    const created = byId.get('1')!;
    assert.equal(created.status, 201);
    assert.equal(created.body.enrollmentMode, 'corporateOwnedWorkProfile');
    assert.equal(created.body.roleScopeTagIds[0], '0');
    assert.match(created.headers.Location, new RegExp(`androidDeviceOwnerEnrollmentProfiles/${created.body.id}$`));
    assert.equal(byId.get('2')!.status, 204);
    assert.equal(byId.get('3')!.status, 400);
    assert.equal(byId.get('3')!.body.error.code, 'ModelValidationFailure');
    assert.match(byId.get('3')!.body.error.message, /'tokenValidityInSeconds'.*7776000/);
    const got = byId.get('4')!;
    assert.equal(got.status, 200);
    assert.match(got.body.tokenValue, /^[A-Z]{8}$/);
    assert.equal(got.body.tokenExpirationDateTime, iso7(T0 + 600));
    assert.deepEqual(byId.get('5')!.body.value.map((p: Json) => p.displayName), ['from batch']);
    assert.equal(byId.get('6')!.status, 400);
    assert.match(byId.get('6')!.body.error.message, ENROLLMENT_MODES);
    // The store: the created profile, the FM token, and the AOSP profile untouched.
    const stored = new Map((await c.storedAll()).map((r) => [r.id, r]));
    assert.deepEqual([...stored.keys()].sort(), [fm.id, aosp.id, created.body.id].sort());
    assert.equal(stored.get(created.body.id)!.enrollmentMode, 'corporateOwnedWorkProfile');
    assert.equal(stored.get(fm.id)!.tokenValue, got.body.tokenValue);
    assert.deepEqual(stored.get(aosp.id), aospBefore, 'the refused createToken changed nothing');
  });
});

describe('device-owner profiles: permissions and tenancy', () => {
  it('a Read.All token lists and gets, but may not create, change, delete or issue tokens (403 naming the permission)', async () => {
    const rw = await tenantClient();
    const p = await rw.make('corporateOwnedAOSPUserlessDevice');
    const ro = deviceOwner(server, rw.tenant, await server.token({ tenantId: rw.tenant, nowSeconds: T0, scopes: [RO] }));
    assert.deepEqual((await ro.get(p.id)).id, p.id);
    const list = await call(server.url, 'GET', DO, { token: ro.token });
    assert.deepEqual(list.json.value.map((x: Json) => x.id), [p.id]);
    const before = await rw.storedAll();
    const writes: [string, string, unknown][] = [
      ['POST', DO, { displayName: 'ro', enrollmentMode: 'corporateOwnedFullyManaged' }],
      ['PATCH', `${DO}/${p.id}`, { displayName: 'ro' }],
      ['DELETE', `${DO}/${p.id}`, undefined],
      ['POST', `${DO}/${p.id}/createToken`, { tokenValidityInSeconds: 60 }],
      ['POST', `${DO}/AOSP-${p.id}/microsoft.graph.createToken`, { tokenValidityInSeconds: 60 }],
      ['POST', `${DO}/${p.id}/revokeToken`, undefined],
    ];
    for (const [method, path, body] of writes) {
      const e = graphError(await call(server.url, method, path, { token: ro.token, ...(body !== undefined ? { body } : {}) }), 403, 'Forbidden');
      assert.match(e.message, /DeviceManagementConfiguration\.ReadWrite\.All/, `${method} ${path}`);
    }
    assert.deepEqual(await rw.storedAll(), before);
  });

  it("another tenant's profile is a 404 for every operation, and stays as it was", async () => {
    const owner = await tenantClient();
    const p = await owner.make('corporateOwnedAOSPUserAssociatedDevice');
    await owner.createToken(p.id, 600);
    const before = await owner.stored(p.id);
    const other = await tenantClient();
    const calls: [string, string, unknown][] = [
      ['GET', `${DO}/${p.id}`, undefined],
      ['GET', `${DO}/AOSP-${p.id}`, undefined],
      ['PATCH', `${DO}/${p.id}`, { displayName: 'mine now' }],
      ['DELETE', `${DO}/${p.id}`, undefined],
      ['POST', `${DO}/${p.id}/createToken`, { tokenValidityInSeconds: 60 }],
      ['POST', `${DO}/AOSP-${p.id}/revokeToken`, undefined],
    ];
    for (const [method, path, body] of calls) {
      graphError(await call(server.url, method, path, { token: other.token, ...(body !== undefined ? { body } : {}) }), 404, 'ResourceNotFound');
    }
    assert.deepEqual((await call(server.url, 'GET', DO, { token: other.token })).json.value, []);
    assert.deepEqual(await owner.stored(p.id), before);
  });

  it('personal accounts are refused (403), an unlicensed tenant answers 400', async () => {
    const personal = await server.token({ tenantId: '9188040d-6c67-4c5b-b112-36a304b66dad', nowSeconds: T0 });
    graphError(await call(server.url, 'GET', DO, { token: personal }), 403, 'Forbidden');
    const c = await tenantClient();
    await c.make('corporateOwnedDedicatedDevice');
    assert.equal((await server.admin('PUT', `/_admin/tenants/${c.tenant}`, { licensed: false })).status, 200);
    const e = graphError(await call(server.url, 'GET', DO, { token: c.token }), 400, 'BadRequest');
    assert.equal(e.message, 'Request not applicable to target tenant.');
    const body = { displayName: 'x', enrollmentMode: 'corporateOwnedDedicatedDevice' };
    graphError(await call(server.url, 'POST', DO, { token: c.token, body }), 400, 'BadRequest');
    assert.equal((await c.storedAll()).length, 1);
  });
});
