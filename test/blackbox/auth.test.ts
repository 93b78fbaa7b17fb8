/**
 * Black-box tests of authentication, permissions, tenancy and request correlation: a real server
 * (`bin/enrollgraph.js`) is started per file and spoken to over HTTP; refused writes are checked
 * against the store to prove nothing changed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, SignJWT, UnsecuredJWT, type JWK, type JWTPayload } from 'jose';
import {
  call, cli, createProfile, graphError, newTenant, PROFILES, RO, RW, startServer, type Call, type TestServer, type ProfileRecord, intuneText } from '../helpers.js';

const PERSONAL_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let server: TestServer;
/** Tenant A and its one profile, created with a valid ReadWrite token. */
let tenantA: string;
let tokenA: string;
let profileA: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

before(async () => {
  server = await startServer();
  tenantA = newTenant();
  tokenA = await server.token({ tenantId: tenantA });
  profileA = await createProfile(server.url, tokenA, { displayName: 'Tenant A kiosk', description: 'A' });
});

after(async () => {
  await server?.dispose();
});

/**
 * A stored row without the QR PNG cache column: that cache may be filled in the background after a
 * createToken or a read, which is not a change a refused call made.
 */
function row(r: ProfileRecord | undefined): Omit<ProfileRecord, 'qrCodeImage'> | undefined {
  if (r === undefined) return undefined;
  const { qrCodeImage: _qrCodeImage, ...rest } = r;
  return rest;
}

async function snapshot(s: TestServer, tenant: string) {
  return (await s.storedAll(tenant)).map((r) => row(r));
}

/** Every write this API offers, against one profile of a tenant, each answered with `expect`. */
async function assertAllWritesRefused(s: TestServer, token: string, id: string, expect: (res: Call, what: string) => void) {
  const writes: [string, string, string, unknown][] = [
    ['create', 'POST', PROFILES, { displayName: 'should not exist' }],
    ['update', 'PATCH', `${PROFILES}/${id}`, { displayName: 'changed' }],
    ['delete', 'DELETE', `${PROFILES}/${id}`, undefined],
    ['createToken', 'POST', `${PROFILES}/${id}/createToken`, { tokenValidityInSeconds: 3600 }],
    ['revokeToken', 'POST', `${PROFILES}/${id}/revokeToken`, {}],
  ];
  for (const [what, method, path, body] of writes) {
    const res = await call(s.url, method, path, body === undefined ? { token } : { token, body });
    expect(res, what);
  }
}

/** Re-signs `claims` with the server's own signing key (from the store), so only the claims are wrong. */
async function signWithServerKey(s: TestServer, claims: JWTPayload): Promise<string> {
  const store = await s.openStore();
  try {
    const [key] = await store.listSigningKeys();
    assert.ok(key, 'the server has a signing key');
    const priv = await importJWK(JSON.parse(key.privateJwk) as JWK, 'RS256');
    return await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(priv);
  } finally {
    await store.close();
  }
}

async function serverPublicJwk(s: TestServer): Promise<JWK> {
  const store = await s.openStore();
  try {
    const [key] = await store.listSigningKeys();
    assert.ok(key, 'the server has a signing key');
    return JSON.parse(key.publicJwk) as JWK;
  } finally {
    await store.close();
  }
}

describe('authentication (401)', () => {
  /** A 401 on a read and on every write, with the store of tenant A unchanged. */
  async function assertUnauthenticated(headers: Record<string, string>, message: string | RegExp) {
    const before = await snapshot(server, tenantA);
    const check = (res: Call, what: string) => {
      const e = graphError(res, 401, 'InvalidAuthenticationToken');
      if (typeof message === 'string') assert.equal(e.message, message, what);
      else assert.match(e.message, message, what);
      const challenge = res.headers.get('www-authenticate');
      assert.ok(challenge?.startsWith('Bearer realm=""'), `${what}: WWW-Authenticate is ${challenge}`);
    };
    check(await call(server.url, 'GET', PROFILES, { headers }), 'list');
    check(await call(server.url, 'GET', `${PROFILES}/${profileA.id}`, { headers }), 'get');
    const writes: [string, string, string, unknown][] = [
      ['create', 'POST', PROFILES, { displayName: 'should not exist' }],
      ['update', 'PATCH', `${PROFILES}/${profileA.id}`, { displayName: 'changed' }],
      ['delete', 'DELETE', `${PROFILES}/${profileA.id}`, undefined],
      ['createToken', 'POST', `${PROFILES}/${profileA.id}/createToken`, { tokenValidityInSeconds: 3600 }],
      ['revokeToken', 'POST', `${PROFILES}/${profileA.id}/revokeToken`, {}],
    ];
    for (const [what, method, path, body] of writes) {
      check(await call(server.url, method, path, body === undefined ? { headers } : { headers, body }), what);
    }
    assert.deepEqual(await snapshot(server, tenantA), before, 'a refused call changed the store');
  }

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  test('a request without Authorization is 401 "Access token is empty." with a Bearer challenge', async () => {
    await assertUnauthenticated({}, 'Access token is empty.');
  });

  test('"Authorization: Bearer " with an empty token is 401 "Access token is empty."', async () => {
    await assertUnauthenticated({ Authorization: 'Bearer ' }, 'Access token is empty.');
  });

  test('a token that is not a JWT ("abc.def", "not-a-jwt") is 401 CompactToken parsing failed', async () => {
    await assertUnauthenticated(bearer('abc.def'), /CompactToken parsing failed/);
    await assertUnauthenticated(bearer('not-a-jwt'), /CompactToken parsing failed/);
  });

  test('an expired token is 401 "Lifetime validation failed, the token is expired."', async () => {
    const token = await server.token({ tenantId: tenantA, expiresIn: -3600 });
    await assertUnauthenticated(bearer(token), 'Lifetime validation failed, the token is expired.');
  });

  test('a token for another audience is 401 "Access token validation failure. Invalid audience."', async () => {
    const token = await server.token({ tenantId: tenantA, audience: 'https://graph.windows.net' });
    await assertUnauthenticated(bearer(token), 'Access token validation failure. Invalid audience.');
  });

  test('a token not yet valid (nbf an hour ahead) is 401 "Lifetime validation failed, the token is not yet valid."', async () => {
    const token = await server.token({ tenantId: tenantA, nowSeconds: Math.floor(Date.now() / 1000) + 3600 });
    await assertUnauthenticated(bearer(token), 'Lifetime validation failed, the token is not yet valid.');
  });

  test('small clock skew is tolerated and both Graph audiences are accepted', async () => {
    const skewed = await server.token({ tenantId: tenantA, nowSeconds: Math.floor(Date.now() / 1000) + 10 });
    assert.equal((await call(server.url, 'GET', PROFILES, { token: skewed })).status, 200);
    const byAppId = await server.token({ tenantId: tenantA, audience: '00000003-0000-0000-c000-000000000000' });
    assert.equal((await call(server.url, 'GET', PROFILES, { token: byAppId })).status, 200);
  });

  test('an aud array (RFC 7519) is accepted when one member is a Graph audience and every member is a string', async () => {
    const claims = decodeJwt(await server.token({ tenantId: tenantA }));
    const graph = claims.aud as string;
    for (const aud of [[graph], ['api://other-resource', graph]]) {
      const token = await signWithServerKey(server, { ...claims, aud });
      const res = await call(server.url, 'GET', PROFILES, { token });
      assert.equal(res.status, 200, `${JSON.stringify(aud)}: ${res.text}`);
    }
    for (const aud of [[], ['api://other-resource'], [graph, 42], [graph, null], [[graph]]]) {
      const token = await signWithServerKey(server, { ...claims, aud: aud as unknown as string[] });
      await assertUnauthenticated(bearer(token), 'Access token validation failure. Invalid audience.');
    }
  });

  test('a token signed by another key under the same kid is 401 "Access token validation failure."', async () => {
    const real = await server.token({ tenantId: tenantA });
    const header = decodeProtectedHeader(real);
    const claims = decodeJwt(real);
    const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: header.kid! }).sign(privateKey);
    await assertUnauthenticated(bearer(forged), 'Access token validation failure.');
  });

  test('an unsigned token (alg "none") with valid claims is 401', async () => {
    const claims = decodeJwt(await server.token({ tenantId: tenantA }));
    const unsigned = new UnsecuredJWT(claims).encode();
    await assertUnauthenticated(bearer(unsigned), 'Access token validation failure.');
  });

  test('an HS256 token keyed with the server public key (algorithm confusion) is 401', async () => {
    const real = await server.token({ tenantId: tenantA });
    const header = decodeProtectedHeader(real);
    const claims = decodeJwt(real);
    const jwk = await serverPublicJwk(server);
    const pem = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    for (const secret of [pem, JSON.stringify(jwk)]) {
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: header.kid! })
        .sign(new TextEncoder().encode(secret));
      await assertUnauthenticated(bearer(forged), 'Access token validation failure.');
    }
  });

  test('a correctly signed token whose iss does not match its tenant is 401', async () => {
    const claims = decodeJwt(await server.token({ tenantId: tenantA }));
    const otherTenant = newTenant();
    for (const iss of [`https://sts.windows.net/${otherTenant}/`, `https://login.microsoftonline.com/${tenantA}/v2.0`, 'https://evil.example/']) {
      const token = await signWithServerKey(server, { ...claims, iss });
      await assertUnauthenticated(bearer(token), 'Access token validation failure.');
    }
    // Control: the same re-signing with the right issuer is accepted, so the refusals above are about iss.
    const ok = await signWithServerKey(server, { ...claims, iss: `https://sts.windows.net/${tenantA}/` });
    assert.equal((await call(server.url, 'GET', PROFILES, { token: ok })).status, 200);
  });
});

describe('permissions (403)', () => {
  test('a Read.All token reads, but every write is 403 Forbidden naming ReadWrite.All and changes nothing', async () => {
    const ro = await server.token({ tenantId: tenantA, scopes: [RO] });
    const list = await call(server.url, 'GET', PROFILES, { token: ro });
    assert.equal(list.status, 200);
    assert.ok(list.json.value.some((p: { id: string }) => p.id === profileA.id));
    const get = await call(server.url, 'GET', `${PROFILES}/${profileA.id}`, { token: ro });
    assert.equal(get.status, 200);
    assert.equal(get.json.id, profileA.id);

    const before = await snapshot(server, tenantA);
    await assertAllWritesRefused(server, ro, profileA.id, (res, what) => {
      const e = graphError(res, 403, 'Forbidden');
      assert.match(e.message, /DeviceManagementConfiguration\.ReadWrite\.All/, what);
    });
    assert.deepEqual(await snapshot(server, tenantA), before);
  });

  test('a token with only an unrelated scope (User.Read) is 403 on reads, naming Read.All', async () => {
    const token = await server.token({ tenantId: tenantA, scopes: ['User.Read'] });
    for (const path of [PROFILES, `${PROFILES}/${profileA.id}`]) {
      const e = graphError(await call(server.url, 'GET', path, { token }), 403, 'Forbidden');
      assert.match(e.message, /DeviceManagementConfiguration\.Read\.All/);
    }
    const before = await snapshot(server, tenantA);
    await assertAllWritesRefused(server, token, profileA.id, (res, what) => {
      const e = graphError(res, 403, 'Forbidden');
      assert.match(e.message, /DeviceManagementConfiguration\.ReadWrite\.All/, what);
    });
    assert.deepEqual(await snapshot(server, tenantA), before);
  });

  test('a personal Microsoft account (consumer tenant) is 403 even with ReadWrite.All', async () => {
    const token = await server.token({ tenantId: PERSONAL_TENANT, scopes: [RW] });
    graphError(await call(server.url, 'GET', PROFILES, { token }), 403, 'Forbidden');
    graphError(await call(server.url, 'POST', PROFILES, { token, body: { displayName: 'msa' } }), 403, 'Forbidden');
    assert.deepEqual(await server.storedAll(PERSONAL_TENANT), []);
  });

  test('an app-only token is 403 on a server without --allow-app-only', async () => {
    const token = await server.token({ tenantId: tenantA, roles: [RW] });
    graphError(await call(server.url, 'GET', PROFILES, { token }), 403, 'Forbidden');
    graphError(await call(server.url, 'GET', `${PROFILES}/${profileA.id}`, { token }), 403, 'Forbidden');
    const before = await snapshot(server, tenantA);
    await assertAllWritesRefused(server, token, profileA.id, (res) => graphError(res, 403, 'Forbidden'));
    assert.deepEqual(await snapshot(server, tenantA), before);
  });

  describe('with --allow-app-only', () => {
    let appServer: TestServer;
    before(async () => {
      appServer = await startServer({ args: ['--allow-app-only'] });
    });
    after(async () => {
      await appServer?.dispose();
    });

    test('an app token with ReadWrite.All role creates and reads', async () => {
      const tid = newTenant();
      const token = await appServer.token({ tenantId: tid, roles: [RW] });
      const created = await createProfile(appServer.url, token, { displayName: 'app-made' });
      assert.equal(created.accountId, tid);
      const got = await call(appServer.url, 'GET', `${PROFILES}/${created.id}`, { token });
      assert.equal(got.status, 200);
      assert.equal(got.json.displayName, 'app-made');
      const ct = await call(appServer.url, 'POST', `${PROFILES}/${created.id}/createToken`, { token, body: { tokenValidityInSeconds: 600 } });
      assert.equal(ct.status, 204);
      assert.match((await appServer.stored(tid, created.id))!.tokenValue ?? '', /^[A-Z]{20}$/);
    });

    test('an app token with Read.All role reads but every write is 403 and changes nothing', async () => {
      const tid = newTenant();
      const rw = await appServer.token({ tenantId: tid, roles: [RW] });
      const created = await createProfile(appServer.url, rw, { displayName: 'app-ro' });
      const ro = await appServer.token({ tenantId: tid, roles: [RO] });
      assert.equal((await call(appServer.url, 'GET', PROFILES, { token: ro })).status, 200);
      assert.equal((await call(appServer.url, 'GET', `${PROFILES}/${created.id}`, { token: ro })).status, 200);
      const before = await snapshot(appServer, tid);
      await assertAllWritesRefused(appServer, ro, created.id, (res, what) => {
        const e = graphError(res, 403, 'Forbidden');
        assert.match(e.message, /DeviceManagementConfiguration\.ReadWrite\.All/, what);
      });
      assert.deepEqual(await snapshot(appServer, tid), before);
    });

    test('an app token without roles is 403 on reads and writes', async () => {
      const tid = newTenant();
      const rw = await appServer.token({ tenantId: tid, roles: [RW] });
      const created = await createProfile(appServer.url, rw, { displayName: 'app-none' });
      const none = await appServer.token({ tenantId: tid, roles: [] });
      graphError(await call(appServer.url, 'GET', PROFILES, { token: none }), 403, 'Forbidden');
      graphError(await call(appServer.url, 'GET', `${PROFILES}/${created.id}`, { token: none }), 403, 'Forbidden');
      const before = await snapshot(appServer, tid);
      await assertAllWritesRefused(appServer, none, created.id, (res) => graphError(res, 403, 'Forbidden'));
      assert.deepEqual(await snapshot(appServer, tid), before);
    });
  });
});

describe('tenancy', () => {
  test("another tenant cannot see or touch a tenant's profile: 404 ResourceNotFound, like an unknown id", async () => {
    const tenantB = newTenant();
    const tokenB = await server.token({ tenantId: tenantB });
    const before = row(await server.stored(tenantA, profileA.id));
    assert.ok(before);

    const ops: [string, string, string, unknown][] = [
      ['get', 'GET', '', undefined],
      ['update', 'PATCH', '', { displayName: 'hijacked' }],
      ['delete', 'DELETE', '', undefined],
      ['createToken', 'POST', '/createToken', { tokenValidityInSeconds: 3600 }],
      ['revokeToken', 'POST', '/revokeToken', {}],
    ];
    const unknownId = randomUUID();
    for (const [what, method, suffix, body] of ops) {
      const opts = (token: string) => (body === undefined ? { token } : { token, body });
      const foreign = graphError(await call(server.url, method, `${PROFILES}/${profileA.id}${suffix}`, opts(tokenB)), 404, 'ResourceNotFound');
      const unknown = graphError(await call(server.url, method, `${PROFILES}/${unknownId}${suffix}`, opts(tokenB)), 404, 'ResourceNotFound');
      // Same answer as for an id that exists nowhere (only the id in the text differs).
      assert.equal(intuneText(foreign.message).replaceAll(profileA.id, '{id}'), intuneText(unknown.message).replaceAll(unknownId, '{id}'), what);
    }
    const list = await call(server.url, 'GET', PROFILES, { token: tokenB });
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.value, []);
    assert.deepEqual(row(await server.stored(tenantA, profileA.id)), before);
    assert.deepEqual(await server.storedAll(tenantB), []);
  });

  test('an unlicensed tenant gets 400 "Request not applicable to target tenant." on every call until licensed again', async () => {
    const tenantU = newTenant();
    const tokenU = await server.token({ tenantId: tenantU });
    const profileU = await createProfile(server.url, tokenU, { displayName: 'unlicensed soon' });

    const off = await cli(['tenant', tenantU, '--unlicensed', '--data', server.dataDir]);
    assert.equal(off.code, 0, off.stderr);

    const before = await snapshot(server, tenantU);
    const calls: [string, string, unknown][] = [
      ['GET', PROFILES, undefined],
      ['GET', `${PROFILES}/${profileU.id}`, undefined],
      ['POST', PROFILES, { displayName: 'not allowed' }],
      ['PATCH', `${PROFILES}/${profileU.id}`, { displayName: 'not allowed' }],
      ['POST', `${PROFILES}/${profileU.id}/createToken`, { tokenValidityInSeconds: 3600 }],
      ['POST', `${PROFILES}/${profileU.id}/revokeToken`, {}],
      ['DELETE', `${PROFILES}/${profileU.id}`, undefined],
    ];
    for (const [method, path, body] of calls) {
      const res = await call(server.url, method, path, body === undefined ? { token: tokenU } : { token: tokenU, body });
      const e = graphError(res, 400, 'BadRequest');
      assert.equal(e.message, 'Request not applicable to target tenant.', `${method} ${path}`);
    }
    assert.deepEqual(await snapshot(server, tenantU), before);

    // Other tenants are unaffected.
    const other = await call(server.url, 'GET', `${PROFILES}/${profileA.id}`, { token: tokenA });
    assert.equal(other.status, 200);

    const on = await cli(['tenant', tenantU, '--licensed', '--data', server.dataDir]);
    assert.equal(on.code, 0, on.stderr);
    const list = await call(server.url, 'GET', PROFILES, { token: tokenU });
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.value.map((p: { id: string }) => p.id), [profileU.id]);
    assert.equal((await call(server.url, 'POST', PROFILES, { token: tokenU, body: { displayName: 'back' } })).status, 201);
  });

  test('the tenant CLI refuses incomplete commands with exit code 2', async () => {
    const tid = newTenant();
    const noFlag = await cli(['tenant', tid, '--data', server.dataDir]);
    assert.equal(noFlag.code, 2, noFlag.stderr);
    assert.match(noFlag.stderr, /usage/i);
    const both = await cli(['tenant', tid, '--licensed', '--unlicensed', '--data', server.dataDir]);
    assert.equal(both.code, 2, both.stderr);
    const noTenant = await cli(['tenant', '--unlicensed', '--data', server.dataDir]);
    assert.equal(noTenant.code, 2, noTenant.stderr);
    const badGuid = await cli(['tenant', 'not-a-guid', '--unlicensed', '--data', server.dataDir]);
    assert.equal(badGuid.code, 2, badGuid.stderr);
    // Nothing was recorded for that tenant: it still works.
    const token = await server.token({ tenantId: tid });
    assert.equal((await call(server.url, 'GET', PROFILES, { token })).status, 200);
  });
});

describe('token CLI', () => {
  test('`enrollgraph token` prints a token this server accepts; --audience and --expires-in mint refusable ones', async () => {
    const tid = newTenant();
    const minted = await cli(['token', '--tenant', tid, '--data', server.dataDir]);
    assert.equal(minted.code, 0, minted.stderr);
    const created = await call(server.url, 'POST', PROFILES, { token: minted.stdout.trim(), body: { displayName: 'cli token' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.accountId, tid);

    const ro = await cli(['token', '--tenant', tid, '--scopes', RO, '--data', server.dataDir]);
    assert.equal(ro.code, 0, ro.stderr);
    graphError(await call(server.url, 'POST', PROFILES, { token: ro.stdout.trim(), body: { displayName: 'no' } }), 403, 'Forbidden');

    const aud = await cli(['token', '--tenant', tid, '--audience', 'https://graph.windows.net', '--data', server.dataDir]);
    assert.equal(aud.code, 0, aud.stderr);
    const e1 = graphError(await call(server.url, 'GET', PROFILES, { token: aud.stdout.trim() }), 401, 'InvalidAuthenticationToken');
    assert.equal(e1.message, 'Access token validation failure. Invalid audience.');

    const expired = await cli(['token', '--tenant', tid, '--expires-in', '-3600', '--data', server.dataDir]);
    assert.equal(expired.code, 0, expired.stderr);
    const e2 = graphError(await call(server.url, 'GET', PROFILES, { token: expired.stdout.trim() }), 401, 'InvalidAuthenticationToken');
    assert.equal(e2.message, 'Lifetime validation failed, the token is expired.');

    assert.equal((await server.storedAll(tid)).length, 1);
  });

  test('`enrollgraph token` without --tenant exits 2', async () => {
    const res = await cli(['token', '--data', server.dataDir]);
    assert.equal(res.code, 2, res.stderr);
    assert.equal(res.stdout, '');
  });
});

describe('request correlation', () => {
  test('client-request-id is echoed in the header and in innerError', async () => {
    const ok = await call(server.url, 'GET', PROFILES, { token: tokenA, headers: { 'client-request-id': 'abc-123' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('client-request-id'), 'abc-123');

    const failed = await call(server.url, 'GET', `${PROFILES}/${randomUUID()}`, { token: tokenA, headers: { 'client-request-id': 'abc-123' } });
    graphError(failed, 404, 'ResourceNotFound');
    assert.equal(failed.headers.get('client-request-id'), 'abc-123');
    assert.equal(failed.json.error.innerError['client-request-id'], 'abc-123');

    const unauth = await call(server.url, 'GET', PROFILES, { headers: { 'client-request-id': 'abc-123' } });
    graphError(unauth, 401, 'InvalidAuthenticationToken');
    assert.equal(unauth.json.error.innerError['client-request-id'], 'abc-123');
  });

  test('without client-request-id it equals request-id, a fresh GUID on every call', async () => {
    const a = await call(server.url, 'GET', PROFILES, { token: tokenA });
    const b = await call(server.url, 'GET', `${PROFILES}/${randomUUID()}`, { token: tokenA });
    const idA = a.headers.get('request-id');
    const idB = b.headers.get('request-id');
    assert.match(idA ?? '', GUID);
    assert.match(idB ?? '', GUID);
    assert.notEqual(idA, idB);
    assert.equal(a.headers.get('client-request-id'), idA);
    assert.equal(b.headers.get('client-request-id'), idB);
    const e = graphError(b, 404, 'ResourceNotFound');
    assert.ok(e);
    assert.equal(b.json.error.innerError['request-id'], idB);
    assert.equal(b.json.error.innerError['client-request-id'], idB);
  });
});
