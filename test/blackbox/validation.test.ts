/**
 * Black-box tests of request validation: entity bodies (create, update), action parameters, request
 * framing (JSON, Content-Type, size) and the shape of 204 responses. Every refused write is checked
 * against the store to prove nothing changed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { call, createProfile, graphError, PROFILES, startTenantServer, type Call, type TestServer, type ProfileRecord } from '../helpers.js';

const MAX_VALIDITY = 2_051_244_000;
const TYPE = 'microsoft.graph.androidForWorkEnrollmentProfile';

let server: TestServer;
let tenant: string;
let token: string;

before(async () => {
  ({ server, tenant, token } = await startTenantServer());
});

after(async () => {
  await server?.dispose();
});

/** A stored row without the QR PNG cache, which the server may fill in the background at any time. */
function row(r: ProfileRecord | undefined): Omit<ProfileRecord, 'qrCodeImage'> | undefined {
  if (r === undefined) return undefined;
  const { qrCodeImage: _qrCodeImage, ...rest } = r;
  return rest;
}

async function snapshot() {
  return (await server.storedAll(tenant)).map((r) => row(r));
}

/** A POST whose body is bytes, so that fetch adds no Content-Type of its own. */
function postBytes(path: string, body: string, headers: Record<string, string> = {}): Promise<Call> {
  return call(server.url, 'POST', path, { token, rawBody: new TextEncoder().encode(body), headers });
}

/** Sends each body as a create and asserts a 400 ModelValidationFailure whose message matches, and no new row. */
async function assertCreateRefused(cases: [unknown, RegExp][]) {
  const before = await snapshot();
  for (const [body, mentions] of cases) {
    const res = await call(server.url, 'POST', PROFILES, { token, body });
    const e = graphError(res, 400, 'ModelValidationFailure');
    assert.match(e.message, mentions, `create ${JSON.stringify(body)}`);
  }
  assert.deepEqual(await snapshot(), before, 'a refused create changed the store');
}

async function assertPatchRefused(id: string, cases: [unknown, RegExp][]) {
  const before = row(await server.stored(tenant, id));
  assert.ok(before);
  for (const [body, mentions] of cases) {
    const res = await call(server.url, 'PATCH', `${PROFILES}/${id}`, { token, body });
    const e = graphError(res, 400, 'ModelValidationFailure');
    assert.match(e.message, mentions, `PATCH ${JSON.stringify(body)}`);
  }
  const afterRow = row(await server.stored(tenant, id));
  assert.deepEqual(afterRow, before, 'a refused PATCH changed the store');
}

describe('create body', () => {
  test('an unknown property is 400 ModelValidationFailure naming it', async () => {
    await assertCreateRefused([
      [{ displayName: 'x', foo: 1 }, /'foo'/],
      [{ displayName: 'x', tokenValidityInSeconds: 60 }, /'tokenValidityInSeconds'/],
      [{ displayName: 'x', DISPLAYNAME: 'y' }, /displayName/],
    ]);
  });

  test('text that no store can hold (NUL, unpaired surrogates) is 400 naming the property', async () => {
    await assertCreateRefused([
      [{ displayName: 'a\u0000b' }, /displayName.*NUL/],
      [{ displayName: 'ok', description: 'x\u0000' }, /description.*NUL/],
      [{ displayName: 'a\ud800b' }, /displayName.*surrogate/],
    ]);
  });

  test('a wrong JSON type is 400 naming the property', async () => {
    await assertCreateRefused([
      [{ displayName: 5 }, /displayName/],
      [{ displayName: ['x'] }, /displayName/],
      [{ displayName: { value: 'x' } }, /displayName/],
      [{ displayName: 'x', description: true }, /description/],
      [{ displayName: 'x', description: 12 }, /description/],
    ]);
  });

  test('an @odata.type other than androidForWorkEnrollmentProfile is 400 naming @odata.type', async () => {
    await assertCreateRefused([
      [{ '@odata.type': '#microsoft.graph.user', displayName: 'x' }, /@odata\.type/],
      [{ '@odata.type': 'microsoft.graph.androidDeviceOwnerEnrollmentProfile', displayName: 'x' }, /@odata\.type/],
      [{ '@odata.type': 5, displayName: 'x' }, /@odata\.type/],
    ]);
  });

  test('@odata.type with and without "#" is accepted', async () => {
    for (const odataType of [`#${TYPE}`, TYPE]) {
      const created = await createProfile(server.url, token, { '@odata.type': odataType, displayName: `typed ${odataType}` });
      assert.equal(created['@odata.type'], `#${TYPE}`);
      assert.equal((await server.stored(tenant, created.id))?.displayName, `typed ${odataType}`);
    }
  });

  test('displayName missing, null or empty is 400', async () => {
    await assertCreateRefused([
      [{}, /displayName/],
      [{ description: 'no name' }, /displayName/],
      [{ displayName: null }, /displayName/],
      [{ displayName: '' }, /displayName/],
    ]);
  });

  test('displayName of 257 characters is 400, 256 is accepted', async () => {
    await assertCreateRefused([[{ displayName: 'n'.repeat(257) }, /displayName/]]);
    const created = await createProfile(server.url, token, { displayName: 'n'.repeat(256) });
    assert.equal(created.displayName, 'n'.repeat(256));
    assert.equal((await server.stored(tenant, created.id))?.displayName, 'n'.repeat(256));
  });

  test('description of 1025 characters is 400, 1024 is accepted', async () => {
    await assertCreateRefused([[{ displayName: 'x', description: 'd'.repeat(1025) }, /description/]]);
    const created = await createProfile(server.url, token, { displayName: 'long description', description: 'd'.repeat(1024) });
    assert.equal((await server.stored(tenant, created.id))?.description, 'd'.repeat(1024));
  });

  test('description null is accepted and stored as null', async () => {
    const created = await createProfile(server.url, token, { displayName: 'null description', description: null });
    assert.equal(created.description, null);
    assert.equal((await server.stored(tenant, created.id))?.description, null);
  });

  test('property names match case-insensitively', async () => {
    const created = await createProfile(server.url, token, { DisplayName: 'Upper', DESCRIPTION: 'shouting' });
    assert.equal(created.displayName, 'Upper');
    assert.equal(created.description, 'shouting');
    const stored = await server.stored(tenant, created.id);
    assert.equal(stored?.displayName, 'Upper');
    assert.equal(stored?.description, 'shouting');
  });

  test('server-written properties sent by the client are ignored', async () => {
    const clientId = '11111111-2222-3333-4444-555555555555';
    const created = await createProfile(server.url, token, {
      id: clientId,
      accountId: '99999999-9999-9999-9999-999999999999',
      displayName: 'with server fields',
      tokenValue: 'AAAAAAAAAAAAAAAAAAAA',
      tokenExpirationDateTime: '2030-01-01T00:00:00Z',
      enrolledDeviceCount: 42,
      qrCodeContent: 'x',
      qrCodeImage: { type: 'image/png', value: 'AAAA' },
      createdDateTime: '2017-01-01T00:02:43.5775965-08:00',
      lastModifiedDateTime: '2017-01-01T00:02:43.5775965-08:00',
    });
    assert.notEqual(created.id, clientId);
    assert.equal(created.accountId, tenant);
    assert.equal(created.tokenValue, null);
    assert.equal(created.tokenExpirationDateTime, '0001-01-01T00:00:00Z');
    assert.equal(created.enrolledDeviceCount, 0);
    assert.equal(created.qrCodeContent, null);
    assert.equal(created.qrCodeImage, null);
    assert.notEqual(created.createdDateTime, '2017-01-01T00:02:43.5775965-08:00');
    assert.ok(Math.abs(Date.parse(created.createdDateTime) - Date.now()) < 60_000, `createdDateTime ${created.createdDateTime}`);
    const stored = await server.stored(tenant, created.id);
    assert.equal(stored?.tokenValue, null);
    assert.equal(stored?.enrolledDeviceCount, 0);
    assert.equal(await server.stored(tenant, clientId), undefined);
  });

  test('a body that is not a JSON object ([] , "x", 5, null, none) is 400', async () => {
    const before = await snapshot();
    for (const rawBody of ['[]', '"x"', '5', 'null', '', '[{"displayName":"x"}]']) {
      const res = await call(server.url, 'POST', PROFILES, { token, rawBody, headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 400, `create with body ${JSON.stringify(rawBody)}: ${res.text}`);
      graphError(res, 400, res.json?.error?.code);
      assert.ok(['ModelValidationFailure', 'BadRequest'].includes(res.json.error.code), res.text);
    }
    const none = await call(server.url, 'POST', PROFILES, { token });
    assert.equal(none.status, 400, none.text);
    assert.deepEqual(await snapshot(), before, 'a refused create changed the store');
  });

  test('a JSON Content-Type with parameters is accepted', async () => {
    for (const contentType of ['application/json; charset=utf-8', 'application/json;odata.metadata=minimal', 'Application/JSON']) {
      const res = await call(server.url, 'POST', PROFILES, {
        token,
        rawBody: JSON.stringify({ displayName: `ct ${contentType}` }),
        headers: { 'Content-Type': contentType },
      });
      assert.equal(res.status, 201, `${contentType}: ${res.text}`);
    }
  });
});

describe('update body', () => {
  let id: string;
  before(async () => {
    id = (await createProfile(server.url, token, { displayName: 'Patch me', description: 'original' })).id;
  });

  test('a refused PATCH (unknown property, wrong type, bad @odata.type, bounds, null name) leaves the profile unchanged', async () => {
    await assertPatchRefused(id, [
      [{ foo: 1 }, /'foo'/],
      [{ displayName: 'ok', foo: 1 }, /'foo'/],
      [{ displayName: 5 }, /displayName/],
      [{ description: true }, /description/],
      [{ '@odata.type': '#microsoft.graph.user', displayName: 'x' }, /@odata\.type/],
      [{ displayName: '' }, /displayName/],
      [{ displayName: null }, /displayName/],
      [{ displayName: 'n'.repeat(257) }, /displayName/],
      [{ description: 'd'.repeat(1025) }, /description/],
    ]);
  });

  test('a PATCH body that is not a JSON object is 400 and changes nothing', async () => {
    const before = row(await server.stored(tenant, id));
    for (const rawBody of ['[]', '"x"', '5']) {
      const res = await call(server.url, 'PATCH', `${PROFILES}/${id}`, { token, rawBody, headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 400, `PATCH with body ${rawBody}: ${res.text}`);
      graphError(res, 400, res.json?.error?.code);
    }
    const malformed = await call(server.url, 'PATCH', `${PROFILES}/${id}`, { token, rawBody: '{"displayName":', headers: { 'Content-Type': 'application/json' } });
    graphError(malformed, 400, 'BadRequest');
    assert.deepEqual(row(await server.stored(tenant, id)), before);
  });

  test('PATCH accepts other-case names, ignores server-written properties and allows a null description', async () => {
    const target = (await createProfile(server.url, token, { displayName: 'Before', description: 'desc' })).id;
    const before = await server.stored(tenant, target);
    const res = await call(server.url, 'PATCH', `${PROFILES}/${target}`, {
      token,
      body: { DisplayName: 'After', description: null, id: 'other-id', tokenValue: 'AAAAAAAAAAAAAAAAAAAA', enrolledDeviceCount: 9 },
      headers: { Prefer: 'return=representation' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.id, target);
    assert.equal(res.json.displayName, 'After');
    assert.equal(res.json.description, null);
    assert.equal(res.json.tokenValue, null);
    assert.equal(res.json.enrolledDeviceCount, 0);
    const stored = await server.stored(tenant, target);
    assert.equal(stored?.displayName, 'After');
    assert.equal(stored?.description, null);
    assert.equal(stored?.tokenValue, null);
    assert.ok(stored!.lastModifiedDateTime > before!.lastModifiedDateTime);
  });
});

describe('createToken parameters', () => {
  const RANGE = /\b1\b[\s\S]*\b2,?051,?244,?000\b/;

  test('missing, null, string, fraction, zero, negative or too large tokenValidityInSeconds is 400 naming the parameter and range', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'bad validity' });
    const before = row(await server.stored(tenant, id));
    const bodies: unknown[] = [
      {},
      { tokenValidityInSeconds: null },
      { tokenValidityInSeconds: '6' },
      { tokenValidityInSeconds: 6.5 },
      { tokenValidityInSeconds: 0 },
      { tokenValidityInSeconds: -1 },
      { tokenValidityInSeconds: MAX_VALIDITY + 1 },
      { tokenValidityInSeconds: true },
      { tokenValidityInSeconds: [60] },
    ];
    for (const body of bodies) {
      const res = await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, body });
      const e = graphError(res, 400, 'ModelValidationFailure');
      assert.match(e.message, /tokenValidityInSeconds/, JSON.stringify(body));
      assert.match(e.message, RANGE, JSON.stringify(body));
    }
    // And with no body at all.
    const none = await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token });
    const e = graphError(none, 400, 'ModelValidationFailure');
    assert.match(e.message, /tokenValidityInSeconds/);
    const stored = row(await server.stored(tenant, id));
    assert.deepEqual(stored, before);
    assert.equal(stored?.tokenValue, null);
  });

  test('a number past the range of a double (1e400) is 400 showing what it read, not null', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'huge validity' });
    const before = row(await server.stored(tenant, id));
    for (const literal of ['1e400', '-1e400']) {
      const res = await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, {
        token, rawBody: `{"tokenValidityInSeconds":${literal}}`, headers: { 'Content-Type': 'application/json' },
      });
      const e = graphError(res, 400, 'ModelValidationFailure');
      assert.match(e.message, RANGE, literal);
      assert.match(e.message, literal.startsWith('-') ? /got '-Infinity'/ : /got 'Infinity'/, e.message);
    }
    assert.deepEqual(row(await server.stored(tenant, id)), before);
  });

  test('a refused createToken leaves an existing token in place', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'has token' });
    assert.equal((await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } })).status, 204);
    const before = row(await server.stored(tenant, id));
    assert.match(before?.tokenValue ?? '', /^[A-Z]{20}$/);
    for (const body of [{ tokenValidityInSeconds: 0 }, { tokenValidityInSeconds: 60, extra: 1 }]) {
      graphError(await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, body }), 400, 'ModelValidationFailure');
    }
    assert.deepEqual(row(await server.stored(tenant, id)), before);
  });

  test(`the maximum validity ${MAX_VALIDITY} s (65 years) is accepted`, async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'max validity' });
    const t0 = Date.now();
    const res = await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, body: { tokenValidityInSeconds: MAX_VALIDITY } });
    assert.equal(res.status, 204, res.text);
    const stored = await server.stored(tenant, id);
    assert.match(stored?.tokenValue ?? '', /^[A-Z]{20}$/);
    const expectedUs = (t0 + MAX_VALIDITY * 1000) * 1000;
    assert.ok(Math.abs(stored!.tokenExpirationDateTime! - expectedUs) < 10_000_000, `expiry ${stored!.tokenExpirationDateTime} vs ${expectedUs}`);
    const got = await call(server.url, 'GET', `${PROFILES}/${id}`, { token });
    assert.equal(new Date(got.json.tokenExpirationDateTime).getUTCFullYear(), new Date(t0 + MAX_VALIDITY * 1000).getUTCFullYear());
  });

  test('the parameter name matches case-insensitively', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'other case' });
    const res = await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, body: { TokenValidityInSeconds: 60 } });
    assert.equal(res.status, 204, res.text);
    assert.match((await server.stored(tenant, id))?.tokenValue ?? '', /^[A-Z]{20}$/);
  });

  test('an unknown extra parameter is 400 and issues no token', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'extra param' });
    const before = row(await server.stored(tenant, id));
    const res = await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 60, foo: 1 } });
    const e = graphError(res, 400, 'ModelValidationFailure');
    assert.match(e.message, /foo/);
    assert.deepEqual(row(await server.stored(tenant, id)), before);
    assert.equal((await server.stored(tenant, id))?.tokenValue, null);
  });

  test('revokeToken with a parameter is 400 and keeps the token', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'revoke params' });
    assert.equal((await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 3600 } })).status, 204);
    const before = row(await server.stored(tenant, id));
    const res = await call(server.url, 'POST', `${PROFILES}/${id}/revokeToken`, { token, body: { x: 1 } });
    const e = graphError(res, 400, 'ModelValidationFailure');
    assert.match(e.message, /'x'/);
    const arr = await call(server.url, 'POST', `${PROFILES}/${id}/revokeToken`, { token, rawBody: '[]', headers: { 'Content-Type': 'application/json' } });
    assert.equal(arr.status, 400, arr.text);
    graphError(arr, 400, arr.json?.error?.code);
    assert.deepEqual(row(await server.stored(tenant, id)), before);
    assert.ok(before?.tokenValue);
  });
});

describe('request framing', () => {
  test('malformed JSON is 400 BadRequest and creates nothing', async () => {
    const before = await snapshot();
    const res = await call(server.url, 'POST', PROFILES, { token, rawBody: '{"displayName":', headers: { 'Content-Type': 'application/json' } });
    const e = graphError(res, 400, 'BadRequest');
    assert.match(e.message, /JSON/);
    assert.deepEqual(await snapshot(), before);
  });

  test('a body without Content-Type is 415 in the Graph envelope and creates nothing', async () => {
    const before = await snapshot();
    const res = await postBytes(PROFILES, JSON.stringify({ displayName: 'no content type' }));
    assert.equal(res.headers.get('content-type')?.startsWith('application/json'), true);
    graphError(res, 415, 'RequestBodyRead');
    assert.deepEqual(await snapshot(), before);
  });

  test('a text/plain body is 415 and creates nothing', async () => {
    const before = await snapshot();
    const res = await postBytes(PROFILES, JSON.stringify({ displayName: 'text' }), { 'Content-Type': 'text/plain' });
    const e = graphError(res, 415, 'RequestBodyRead');
    assert.match(e.message, /text\/plain/);
    assert.deepEqual(await snapshot(), before);
  });

  test('a body over the 1 MiB limit is 413 in the Graph envelope, and the server keeps serving', async () => {
    const before = await snapshot();
    const body = { displayName: 'big', description: 'd'.repeat(1.5 * 1024 * 1024) };
    const res = await call(server.url, 'POST', PROFILES, { token, body });
    graphError(res, 413, 'RequestEntityTooLarge');
    assert.deepEqual(await snapshot(), before);
    const list = await call(server.url, 'GET', PROFILES, { token });
    assert.equal(list.status, 200);
    assert.equal(list.json.value.length, before.length);
  });
});

describe('request bodies', () => {
  test('a JSON body in a charset other than UTF-8 is 415 and creates nothing', async () => {
    const before = await snapshot();
    const res = await postBytes(PROFILES, JSON.stringify({ displayName: 'latin' }), { 'Content-Type': 'application/json; charset=iso-8859-1' });
    const e = graphError(res, 415, 'RequestBodyRead');
    assert.match(e.message, /iso-8859-1/);
    assert.deepEqual(await snapshot(), before);
    const utf8 = await postBytes(PROFILES, JSON.stringify({ displayName: 'utf-8 é' }), { 'Content-Type': 'application/json; charset="UTF-8"' });
    assert.equal(utf8.status, 201, utf8.text);
    assert.equal(utf8.json.displayName, 'utf-8 é');
  });

  test('a JSON body whose bytes are not UTF-8 is 400 and creates nothing', async () => {
    const before = await snapshot();
    const enc = new TextEncoder();
    const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? enc.encode(p) : Uint8Array.from(p))));
    // A Latin-1 é, a lone continuation byte, a truncated sequence, an overlong '/' and an encoded surrogate.
    for (const bad of [[0xe9], [0x80], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
      for (const contentType of ['application/json', 'application/json; charset=utf-8']) {
        const res = await call(server.url, 'POST', PROFILES, { token, rawBody: bytes('{"displayName":"caf', bad, '"}'), headers: { 'Content-Type': contentType } });
        const e = graphError(res, 400, 'BadRequest');
        assert.match(e.message, /UTF-8/, `${JSON.stringify(bad)} as ${contentType}`);
      }
    }
    assert.deepEqual(await snapshot(), before);
    const ok = await call(server.url, 'POST', PROFILES, { token, rawBody: bytes('{"displayName":"caf', [0xc3, 0xa9], '"}'), headers: { 'Content-Type': 'application/json' } });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.displayName, 'café');
  });

  test('an empty or blank JSON body is no body: revokeToken answers 204, create is 400', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'empty bodies' });
    for (const raw of ['', '  \n ']) {
      const res = await postBytes(`${PROFILES}/${id}/revokeToken`, raw, { 'Content-Type': 'application/json' });
      assert.equal(res.status, 204, `${JSON.stringify(raw)}: ${res.text}`);
    }
    const before = await snapshot();
    graphError(await postBytes(PROFILES, '', { 'Content-Type': 'application/json' }), 400, 'ModelValidationFailure');
    assert.deepEqual(await snapshot(), before);
  });

  test('a chunked body (no Content-Length) that grows past the limit is 413, and the server keeps serving', async () => {
    const before = await snapshot();
    const url = new URL(PROFILES, server.url);
    const res = await new Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (body += c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body, headers: r.headers }));
      });
      req.on('error', reject);
      req.write('{"displayName":"chunks","description":"');
      const chunk = 'd'.repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 2 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end('"}');
      };
      pump();
    });
    assert.equal(res.status, 413, res.body);
    assert.equal(JSON.parse(res.body).error.code, 'RequestEntityTooLarge');
    assert.ok(res.headers['request-id']);
    assert.deepEqual(await snapshot(), before);
    assert.equal((await call(server.url, 'GET', PROFILES, { token })).status, 200);
  });
});

describe('204 responses', () => {
  function assertNoContent(res: Call, what: string) {
    assert.equal(res.status, 204, `${what}: ${res.text}`);
    assert.equal(res.headers.get('content-type'), null, `${what} has a Content-Type`);
    assert.equal(res.text, '', `${what} has a body`);
  }

  test('createToken, revokeToken, delete and PATCH with return=minimal answer 204 without Content-Type or body', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'no content' });
    assertNoContent(await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, body: { tokenValidityInSeconds: 60 } }), 'createToken');
    assertNoContent(await call(server.url, 'POST', `${PROFILES}/${id}/revokeToken`, { token }), 'revokeToken (no body)');
    assertNoContent(await call(server.url, 'POST', `${PROFILES}/${id}/revokeToken`, { token, body: {} }), 'revokeToken ({})');
    const minimal = await call(server.url, 'PATCH', `${PROFILES}/${id}`, { token, body: { displayName: 'minimal' }, headers: { Prefer: 'return=minimal' } });
    assertNoContent(minimal, 'PATCH return=minimal');
    assert.equal((await server.stored(tenant, id))?.displayName, 'minimal');
    assertNoContent(await call(server.url, 'DELETE', `${PROFILES}/${id}`, { token }), 'delete');
    assert.equal(await server.stored(tenant, id), undefined);
  });
});
