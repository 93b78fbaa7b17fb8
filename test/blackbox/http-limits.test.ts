/**
 * Black-box tests of what a hostile or broken client may send at the HTTP layer: bodies nested too
 * deep, requests that stall or trickle, bodies far past the limit, repeated Authorization headers,
 * and framing node's parser refuses. Every answer is the Graph envelope with request ids, and the
 * server keeps serving. The server runs with short timeouts so that the waits stay short.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { call, createProfile, graphError, PROFILES, startTenantServer, type TestServer } from '../helpers.js';
import { assertEnvelope, parseResponse, RawConnection, rawExchange } from '../raw-http.js';

let server: TestServer;
let tenant: string;
let token: string;
let host: string;

before(async () => {
  ({ server, tenant, token } = await startTenantServer({ args: ['--headers-timeout', '1000', '--request-timeout', '3000', '--body-timeout', '1000'] }));
  host = new URL(server.url).host;
});

after(async () => {
  await server?.dispose();
});

/** The tenant's stored rows, without the QR PNG cache (the server may fill it in the background). */
const snapshot = async () => (await server.storedAll(tenant)).map(({ qrCodeImage: _qrCodeImage, ...rest }) => rest);

/** The head of a request, with Host and the tenant's token unless `headers` says otherwise. */
function head(method: string, path: string, headers: Record<string, string | string[]> = {}): string {
  const all: Record<string, string | string[]> = { Host: host, Authorization: `Bearer ${token}`, ...headers };
  const lines = [`${method} ${path} HTTP/1.1`];
  for (const [name, value] of Object.entries(all)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The server still answers an ordinary call. */
async function assertServing() {
  const res = await call(server.url, 'GET', PROFILES, { token });
  assert.equal(res.status, 200, res.text);
}

describe('JSON nesting depth', () => {
  const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  test('a body nested thousands of levels deep is 400 naming the limit on create, PATCH and createToken, and changes nothing', async () => {
    const { id } = await createProfile(server.url, token, { displayName: 'deep' });
    const before = await snapshot();
    const cases: [string, string, string][] = [
      ['POST', PROFILES, `{"displayName":"x","description":${nested(5000)}}`],
      ['PATCH', `${PROFILES}/${id}`, `{"description":${nested(5000)}}`],
      ['POST', `${PROFILES}/${id}/createToken`, `{"tokenValidityInSeconds":${nested(5000)}}`],
      ['POST', `${PROFILES}/${id}/createToken`, `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`],
    ];
    for (const [method, path, body] of cases) {
      const res = await call(server.url, method, path, { token, rawBody: body, headers: { 'Content-Type': 'application/json' } });
      const e = graphError(res, 400, 'BadRequest');
      assert.match(e.message, /nesting depth exceeds the limit of 64 levels/, `${method} ${path}`);
    }
    assert.deepEqual(await snapshot(), before);
    // Nesting within the limit reaches validation as before.
    const shallow = await call(server.url, 'POST', `${PROFILES}/${id}/createToken`, { token, rawBody: `{"tokenValidityInSeconds":${nested(10)}}`, headers: { 'Content-Type': 'application/json' } });
    graphError(shallow, 400, 'ModelValidationFailure');
    await assertServing();
  });

  test('the same limit holds for a $batch item body given as JSON text, and for the control API', async () => {
    const batch = await call(server.url, 'POST', '/beta/$batch', {
      token,
      body: { requests: [{ id: '1', method: 'POST', url: '/deviceManagement/androidForWorkEnrollmentProfiles', headers: { 'Content-Type': 'application/json' }, body: `{"displayName":${nested(5000)}}` }] },
    });
    assert.equal(batch.status, 200, batch.text);
    assert.equal(batch.json.responses[0].status, 400);
    assert.match(batch.json.responses[0].body.error.message, /nesting depth/);
    const admin = await call(server.url, 'PUT', '/_admin/snapshot', { token: server.adminKey!, rawBody: `{"format":${nested(5000)}}`, headers: { 'Content-Type': 'application/json' } });
    assert.match(graphError(admin, 400, 'BadRequest').message, /nesting depth/);
  });
});

describe('timeouts', () => {
  /** Opens a connection, lets `send` write to it, and expects `status` in the envelope and the server to close the connection. */
  async function refusedAndClosed(send: (c: RawConnection) => Promise<void>, status: number, code: string) {
    const before = await snapshot();
    const c = await RawConnection.open(server.url);
    try {
      await send(c);
      assertEnvelope(await c.response(), status, code);
      await c.closedByServer();
    } finally {
      c.close();
    }
    assert.deepEqual(await snapshot(), before);
    await assertServing();
  }

  test('headers that stop arriving are 408 in the Graph envelope, and the connection is closed', async () => {
    await refusedAndClosed(async (c) => void (await c.write(`GET ${PROFILES} HTTP/1.1\r\nHost: ${host}\r\n`)), 408, 'RequestTimeout');
  });

  test('a body that stops arriving is 408 in the Graph envelope, and the connection is closed', async () => {
    const request = head('POST', PROFILES, { 'Content-Type': 'application/json', 'Content-Length': '100' }) + '{"displayName":';
    await refusedAndClosed(async (c) => void (await c.write(request)), 408, 'RequestTimeout');
  });

  test('a body trickling in a byte at a time is 408 in the Graph envelope once the request takes too long, and the connection is closed', async () => {
    await refusedAndClosed(async (c) => {
      await c.write(head('POST', PROFILES, { 'Content-Type': 'application/json', 'Content-Length': '10000' }));
      // Each byte comes well within the body timeout; the request as a whole does not.
      for (let sent = 0; !c.closed && (await c.write('{')); sent++) {
        if (sent > 300) assert.fail('still reading the trickle after a minute');
        await new Promise((r) => setTimeout(r, 200));
      }
    }, 408, 'RequestTimeout');
  });

  test('a client that goes on sending past the limit, reading nothing for a while, still gets its 413', async () => {
    // A busy client: it writes 16 MiB of a 64 MiB body at once and reads its socket only later. The
    // server stops reading past twice the 1 MiB limit and closes; a reset at that moment would make
    // the client's kernel drop the 413 before the client read it.
    const { hostname, port } = new URL(server.url);
    const socket = connect({ host: hostname, port: Number(port) });
    socket.on('error', () => undefined); // its writes fail once the server has closed
    const closed = new Promise((done) => socket.once('close', done));
    await new Promise((done) => socket.once('connect', done));
    socket.pause(); // reads nothing (explicitly paused: the 'data' listener does not resume it)
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.write(head('POST', PROFILES, { 'Content-Type': 'application/json', 'Content-Length': String(64 * 1024 * 1024) }));
    for (let i = 0; i < 16; i++) socket.write(Buffer.alloc(1024 * 1024, 0x20));
    await new Promise((done) => setTimeout(done, 700));
    socket.resume();
    await closed;
    const res = parseResponse(Buffer.concat(received));
    assert.ok(res, `a complete answer: ${JSON.stringify(Buffer.concat(received).toString('latin1').slice(0, 200))}`);
    assertEnvelope(res, 413, 'RequestEntityTooLarge');
    await assertServing();
  });

  test('a body far past the limit is 413 in the Graph envelope, and the rest of it is not read', async () => {
    const total = 256 * 1024 * 1024;
    let sent = 0;
    await refusedAndClosed(async (c) => {
      await c.write(head('POST', PROFILES, { 'Content-Type': 'application/json', 'Content-Length': String(total) }));
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      // Stops once the answer begins, as a client reading its socket would: a client that keeps
      // writing into a closing connection may have the answer discarded by the reset.
      while (sent < total && !c.answered && (await c.write(chunk))) sent += chunk.length;
    }, 413, 'RequestEntityTooLarge');
    // The server closed the connection long before the client was done sending.
    assert.ok(sent < total / 2, `${sent} of ${total} bytes were taken`);
  });
});

describe('repeated Authorization headers', () => {
  test('a valid Authorization header followed by another one is 401 InvalidAuthenticationToken, whichever comes first', async () => {
    const before = await snapshot();
    for (const values of [[`Bearer ${token}`, 'Bearer garbage'], ['Bearer garbage', `Bearer ${token}`], [`Bearer ${token}`, `Bearer ${token}`]]) {
      for (const [method, body] of [['GET', ''], ['POST', '{"displayName":"twice"}']] as const) {
        const headers = { Authorization: values, ...(body ? { 'Content-Type': 'application/json', 'Content-Length': String(body.length) } : {}) };
        const res = await rawExchange(server.url, head(method, PROFILES, headers) + body);
        res.connection.close();
        const e = assertEnvelope(res, 401, 'InvalidAuthenticationToken');
        assert.match(e.message, /more than one Authorization header/);
        assert.ok(res.headers['www-authenticate']?.startsWith('Bearer'));
      }
    }
    assert.deepEqual(await snapshot(), before);
  });

  test('the control API refuses a repeated Authorization header too', async () => {
    const res = await rawExchange(server.url, head('GET', '/_admin/clock', { Authorization: [`Bearer ${server.adminKey}`, 'Bearer x'] }));
    res.connection.close();
    assertEnvelope(res, 401, 'InvalidAuthenticationToken');
  });
  test('the token endpoint answers a repeated Authorization header in OAuth\'s format', async () => {
    const form = 'grant_type=client_credentials&client_id=x&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default';
    const res = await rawExchange(server.url, head('POST', '/contoso.com/oauth2/v2.0/token', {
      Authorization: ['Basic eDp5', 'Basic eDp6'], 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(form.length),
    }) + form);
    res.connection.close();
    assert.equal(res.status, 401, res.body);
    assert.equal(res.json.error, 'invalid_request');
    assert.match(res.json.error_description, /more than one Authorization header/);
  });
});

describe('framing errors', () => {
  const bigToken = 'x'.repeat(100 * 1024);
  const cases: [string, string | Buffer, number, string][] = [
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, 'BadRequest'],
    ['an unknown method', `FROB ${PROFILES} HTTP/1.1\r\nHost: h\r\n\r\n`, 400, 'BadRequest'],
    ['a header line without a colon', `GET ${PROFILES} HTTP/1.1\r\nHost: h\r\nno colon here\r\n\r\n`, 400, 'BadRequest'],
    ['headers over 16 KB (a 100 KB token)', `GET ${PROFILES} HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${bigToken}\r\n\r\n`, 431, 'RequestHeaderFieldsTooLarge'],
    ['a malformed chunk size', `POST ${PROFILES} HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n`, 400, 'BadRequest'],
    ['Content-Length and Transfer-Encoding together', `POST ${PROFILES} HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, 400, 'BadRequest'],
    ['an HTTP/1.1 request without Host', `GET ${PROFILES} HTTP/1.1\r\n\r\n`, 400, 'BadRequest'],
    ['an Expect other than 100-continue', `POST ${PROFILES} HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}`, 417, 'ExpectationFailed'],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405, 'MethodNotAllowed'],
  ];
  for (const [what, request, status, code] of cases) {
    test(`${what} is ${status} ${code} in the Graph envelope`, async () => {
      for (const path of [PROFILES, '/healthz']) {
        const res = await rawExchange(server.url, typeof request === 'string' ? request.replace(PROFILES, path) : request);
        res.connection.close();
        assertEnvelope(res, status, code);
        assert.equal(res.headers['odata-version'], '4.0');
      }
      await assertServing();
    });
  }
});
