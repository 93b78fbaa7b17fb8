/**
 * Black-box tests of the local Entra-style authority (discovery, keys, token endpoint: open and
 * strict modes, OAuth errors), the `identities` commands, and `serve --tls` (certificate creation,
 * reuse, user certificates, HSTS). Real server processes; HTTPS trust only through the generated
 * certificate (the `ca` of node:https), never by turning verification off.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { tenantIdForDomain } from '../../src/authority/identities.js';
import { createSelfSignedCertificate } from '../../src/tls.js';
import { CONSOLE_CLIENT_ID } from '../../src/authority/authorize.js';
import { call, cli, PROFILES, RO, RW, startServer, tempDir, type Call, type TestServer } from '../helpers.js';
import { rawExchange, type RawResponse } from '../raw-http.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GRAPH = 'https://graph.microsoft.com';

/** POSTs a form to `/{tenant}/oauth2/v2.0/token`. */
async function token(base: string, tenant: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Call> {
  const res = await fetch(`${base}/${tenant}/oauth2/v2.0/token?client-request-id=${headers['x-correlation'] ?? randomUUID()}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

/** Asserts an OAuth error in Entra's format; returns the body. */
function oauthError(res: Call, status: number, error: string, aadsts: number) {
  assert.equal(res.status, status, res.text);
  const b = res.json;
  assert.equal(b.error, error, res.text);
  assert.deepEqual(b.error_codes, [aadsts]);
  assert.ok(b.error_description.startsWith(`AADSTS${aadsts}: `), b.error_description);
  assert.match(b.timestamp, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
  assert.equal(b.trace_id, res.headers.get('request-id'));
  assert.match(b.correlation_id, GUID);
  assert.ok(b.error_description.includes(`Trace ID: ${b.trace_id}`));
  assert.ok(res.headers.get('content-type')?.startsWith('application/json'));
  return b;
}

function claimsOf(res: Call): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(res.status, 200, res.text);
  return decodeJwt(res.json.access_token) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('local authority, open mode (no identity file)', () => {
  let server: TestServer;
  const domain = `contoso-${randomUUID().slice(0, 8)}.test`;
  const tid = tenantIdForDomain(domain);
  const clientId = randomUUID();
  before(async () => {
    server = await startServer();
  });
  after(() => server?.dispose());

  test('says loudly at start that the authority is open', async () => {
    for (let i = 0; i < 50 && !server.output().includes('WARNING'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(server.output(), /WARNING: the token endpoint is open/);
    assert.match(server.output(), /OPEN \(no --identities file\)/);
  });

  test('serves the OpenID configuration and the signing keys without a token', async () => {
    const conf = await call(server.url, 'GET', `/${domain}/v2.0/.well-known/openid-configuration`);
    assert.equal(conf.status, 200);
    assert.equal(conf.json.issuer, `${server.url}/${tid}/v2.0`, 'a domain maps to a stable GUID');
    assert.equal(conf.json.token_endpoint, `${server.url}/${domain}/oauth2/v2.0/token`);
    assert.equal(conf.json.jwks_uri, `${server.url}/${domain}/discovery/v2.0/keys`);
    assert.deepEqual(conf.json.id_token_signing_alg_values_supported, ['RS256']);
    const guid = randomUUID();
    assert.equal((await call(server.url, 'GET', `/${guid}/v2.0/.well-known/openid-configuration`)).json.issuer, `${server.url}/${guid}/v2.0`);
    assert.equal(tenantIdForDomain(domain.toUpperCase()), tid, 'domains are case-insensitive');

    const keys = await call(server.url, 'GET', `/${domain}/discovery/v2.0/keys`);
    assert.equal(keys.status, 200);
    assert.ok(keys.json.keys.length >= 1);
    assert.equal(keys.json.keys[0].kty, 'RSA');
    assert.equal(keys.json.keys[0].d, undefined, 'no private key material');
    // The same keys sign the Graph tokens: a token from the authority verifies against them.
    const res = await token(server.url, domain, { grant_type: 'client_credentials', client_id: clientId, client_secret: 'x', scope: `${GRAPH}/.default` });
    const { payload } = await jwtVerify(res.json.access_token, createLocalJWKSet(keys.json as JSONWebKeySet), { algorithms: ['RS256'] });
    assert.equal(payload.tid, tid);
  });

  test('client_credentials: an app-only Graph token with the .default permissions', async () => {
    const res = await token(server.url, domain, { grant_type: 'client_credentials', client_id: clientId, client_secret: 'anything', scope: `${GRAPH}/.default` });
    const c = claimsOf(res);
    assert.deepEqual(Object.keys(res.json).sort(), ['access_token', 'expires_in', 'ext_expires_in', 'token_type']);
    assert.equal(res.json.token_type, 'Bearer');
    assert.equal(res.json.expires_in, 3599);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    assert.deepEqual(c.roles, [RW]);
    assert.equal(c.idtyp, 'app');
    assert.equal(c.appid, clientId);
    assert.equal(c.tid, tid);
    assert.equal(c.iss, `https://sts.windows.net/${tid}/`);
    assert.equal(c.aud, GRAPH);
    assert.equal(c.scp, undefined);
    assert.equal(c.exp - c.iat, 3599);
    // A stable service principal per tenant and app.
    const again = claimsOf(await token(server.url, tid, { grant_type: 'client_credentials', client_id: clientId, client_secret: 'other', scope: `${GRAPH}/.default` }));
    assert.equal(again.oid, c.oid);
    // Authentic, but this server does not run with --allow-app-only: Graph's 403.
    const graph = await call(server.url, 'GET', PROFILES, { token: res.json.access_token });
    assert.equal(graph.status, 403);
    assert.equal(graph.json.error.code, 'Forbidden');
  });

  test('password: a delegated token, id_token and client_info; Graph accepts it', async () => {
    const upn = `kiosk.admin@${domain}`;
    const res = await token(server.url, domain, {
      grant_type: 'password', client_id: clientId, username: upn, password: 'whatever', scope: `${GRAPH}/.default openid profile offline_access`, client_info: '1',
    });
    const c = claimsOf(res);
    assert.equal(c.scp, RW);
    assert.equal(c.upn, upn);
    assert.equal(c.idtyp, 'user');
    assert.match(c.oid, GUID);
    const info = JSON.parse(Buffer.from(res.json.client_info, 'base64url').toString());
    assert.deepEqual(info, { uid: c.oid, utid: tid });
    const id = decodeJwt(res.json.id_token);
    assert.equal(id.aud, clientId);
    assert.equal(id.iss, `${server.url}/${tid}/v2.0`);
    assert.equal(id.oid, c.oid);
    assert.equal(id.preferred_username, upn);
    assert.ok(res.json.scope.split(' ').includes(`${GRAPH}/${RW}`));
    // Same user, same object id.
    const again = claimsOf(await token(server.url, domain, { grant_type: 'password', client_id: randomUUID(), username: upn, password: 'x', scope: 'openid' }));
    assert.equal(again.oid, c.oid);
    assert.equal(again.scp, RW, 'no resource scope means Graph .default');

    const created = await call(server.url, 'POST', PROFILES, { token: res.json.access_token, body: { displayName: 'from the authority' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.accountId, tid);
    // A named scope gives exactly that scope.
    const ro = await token(server.url, domain, { grant_type: 'password', client_id: clientId, username: upn, password: 'x', scope: RO });
    assert.equal(claimsOf(ro).scp, RO);
    assert.equal((await call(server.url, 'GET', PROFILES, { token: ro.json.access_token })).status, 200);
    assert.equal((await call(server.url, 'POST', PROFILES, { token: ro.json.access_token, body: { displayName: 'x' } })).status, 403);
  });

  test('common/organizations take the tenant from the user', async () => {
    const c = claimsOf(await token(server.url, 'organizations', { grant_type: 'password', client_id: clientId, username: `a@${domain}`, password: 'x', scope: `${GRAPH}/.default` }));
    assert.equal(c.tid, tid);
    oauthError(await token(server.url, 'common', { grant_type: 'client_credentials', client_id: clientId, client_secret: 'x', scope: `${GRAPH}/.default` }), 400, 'invalid_request', 50059);
  });

  test('on-behalf-of: a token for the app\'s API is exchanged for a Graph token of the same user', async () => {
    const upn = `obo@${domain}`;
    const api = await token(server.url, domain, { grant_type: 'password', client_id: clientId, username: upn, password: 'x', scope: `api://${clientId}/access_as_user` });
    const apiClaims = claimsOf(api);
    assert.equal(apiClaims.aud, `api://${clientId}`);
    assert.equal(apiClaims.scp, 'access_as_user');
    assert.equal((await call(server.url, 'GET', PROFILES, { token: api.json.access_token })).status, 401, 'not a Graph token');
    const obo = await token(server.url, domain, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_id: clientId, client_secret: 's', assertion: api.json.access_token,
      requested_token_use: 'on_behalf_of', scope: `${GRAPH}/.default`,
    });
    const c = claimsOf(obo);
    assert.equal(c.oid, apiClaims.oid);
    assert.equal(c.upn, upn);
    assert.equal(c.scp, RW);
    assert.equal(c.aud, GRAPH);
    assert.equal((await call(server.url, 'GET', PROFILES, { token: obo.json.access_token })).status, 200);

    const base = { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_id: clientId, client_secret: 's', requested_token_use: 'on_behalf_of', scope: `${GRAPH}/.default` };
    oauthError(await token(server.url, domain, { ...base, assertion: 'not-a-jwt' }), 400, 'invalid_request', 50027);
    const expired = await server.token({ tenantId: tid, expiresIn: -3600 });
    oauthError(await token(server.url, domain, { ...base, assertion: expired }), 400, 'invalid_grant', 500133);
    const appOnly = await server.token({ tenantId: tid, roles: [RW] });
    oauthError(await token(server.url, domain, { ...base, assertion: appOnly }), 400, 'invalid_grant', 50013);
    const otherTenant = await server.token({ tenantId: randomUUID() });
    oauthError(await token(server.url, domain, { ...base, assertion: otherTenant }), 400, 'invalid_grant', 50013);
    oauthError(await token(server.url, domain, { ...base, assertion: api.json.access_token, requested_token_use: 'bogus' }), 400, 'invalid_request', 900144);
  });

  test('OAuth errors: format, statuses and AADSTS codes', async () => {
    const correlation = randomUUID();
    const missing = oauthError(await token(server.url, domain, { client_id: clientId }, { 'x-correlation': correlation }), 400, 'invalid_request', 900144);
    assert.equal(missing.correlation_id, correlation, 'correlation_id echoes client-request-id');
    assert.match(missing.error_description, /'grant_type'/);
    oauthError(await token(server.url, domain, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: clientId }), 400, 'unsupported_grant_type', 70003);
    oauthError(await token(server.url, domain, { grant_type: 'client_credentials', client_secret: 'x', scope: `${GRAPH}/.default` }), 400, 'invalid_request', 900144);
    oauthError(await token(server.url, domain, { grant_type: 'client_credentials', client_id: clientId, client_secret: 'x' }), 400, 'invalid_request', 900144);
    oauthError(await token(server.url, domain, { grant_type: 'client_credentials', client_id: clientId, client_secret: 'x', scope: `${GRAPH}/${RW}` }), 400, 'invalid_scope', 1002012);
    oauthError(
      await token(server.url, domain, { grant_type: 'password', client_id: clientId, username: `u@${domain}`, password: 'x', scope: `${GRAPH}/${RO} api://${clientId}/x` }),
      400, 'invalid_scope', 28000,
    );
    oauthError(await token(server.url, domain, { grant_type: 'client_credentials', client_id: clientId, client_secret: 'x', scope: 'https://vault.azure.net/.default' }), 400, 'invalid_resource', 500011);
    oauthError(await token(server.url, 'not_a_tenant!', { grant_type: 'client_credentials', client_id: clientId, client_secret: 'x', scope: `${GRAPH}/.default` }), 400, 'invalid_request', 900023);
    oauthError(await token(server.url, domain, { grant_type: 'password', client_id: clientId, username: `u@${domain}`, scope: RW }), 400, 'invalid_request', 900144);
    // A JSON body is not a form: no parameters.
    const json = await fetch(`${server.url}/${domain}/oauth2/v2.0/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials' }) });
    assert.equal(json.status, 400);
    assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
    const get = await call(server.url, 'GET', `/${domain}/oauth2/v2.0/token`);
    oauthError(get, 400, 'invalid_request', 900561);
  });

  test('Graph paths stay Graph paths', async () => {
    const res = await call(server.url, 'GET', '/beta/discovery/v2.0/keys', { token: await server.token() });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'BadRequest');
    assert.equal((await call(server.url, 'GET', '/v1.0/v2.0/.well-known/openid-configuration')).json.error.code !== undefined, true);
    assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
  });

  test('a token from the authority is accepted by a second server process on the same data directory', async () => {
    const upn = `second@${domain}`;
    const res = await token(server.url, domain, { grant_type: 'password', client_id: clientId, username: upn, password: 'x', scope: `${GRAPH}/${RW}` });
    const created = await call(server.url, 'POST', PROFILES, { token: res.json.access_token, body: { displayName: 'seen by both' } });
    assert.equal(created.status, 201);
    const second = await startServer({ dataDir: server.dataDir, keepData: true });
    try {
      const got = await call(second.url, 'GET', `${PROFILES}/${created.json.id}`, { token: res.json.access_token });
      assert.equal(got.status, 200, got.text);
      assert.equal(got.json.displayName, 'seen by both');
      // And the other way round: the second server's authority signs with the same keys.
      const res2 = await token(second.url, domain, { grant_type: 'password', client_id: clientId, username: upn, password: 'x', scope: `${GRAPH}/${RW}` });
      assert.equal((await call(server.url, 'GET', PROFILES, { token: res2.json.access_token })).status, 200);
    } finally {
      await second.dispose();
    }
  });
});

describe('authorize redirect_uri with --public-url', () => {
  const publicUrl = 'http://enrollgraph.test:9443';
  let server: TestServer;
  before(async () => {
    server = await startServer({ args: ['--public-url', publicUrl] });
  });
  after(() => server?.dispose());

  /** The authorize endpoint (its GET page, or its POST form) with the Host header `host`. */
  async function authorize(method: 'GET' | 'POST', redirectUri: string, host: string): Promise<RawResponse> {
    const params = new URLSearchParams({
      client_id: CONSOLE_CLIENT_ID, response_type: 'code', redirect_uri: redirectUri, scope: 'openid',
      code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', ...(method === 'POST' ? { tenant: 'contoso.com', username: 'alice' } : {}),
    });
    const path = '/contoso.com/oauth2/v2.0/authorize';
    const form = params.toString();
    const request = method === 'GET'
      ? `GET ${path}?${form} HTTP/1.1\r\nHost: ${host}\r\n\r\n`
      : `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`;
    const res = await rawExchange(server.url, request);
    res.connection.close();
    return res;
  }

  test('a redirect_uri on the Host the request names is refused: only the public URL\'s host counts', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const res = await authorize(method, 'http://evil.example/cb', 'evil.example');
      assert.equal(res.status, 400, `${method}: ${res.status} ${res.body.slice(0, 300)}`);
      assert.match(res.body, /redirect_uri must be/);
      assert.equal(res.headers.location, undefined);
    }
  });

  test('a redirect_uri on the public URL\'s host is accepted, whatever the Host header says', async () => {
    const page = await authorize('GET', `${publicUrl}/console/`, '127.0.0.1');
    assert.equal(page.status, 200, page.body.slice(0, 300));
    const redirected = await authorize('POST', `${publicUrl}/console/`, 'evil.example');
    assert.equal(redirected.status, 302, redirected.body.slice(0, 300));
    assert.ok(redirected.headers.location?.startsWith(`${publicUrl}/console/?code=`), redirected.headers.location);
    // Loopback hosts stay allowed (native and local apps).
    assert.equal((await authorize('GET', 'http://localhost:3000/cb', 'evil.example')).status, 200);
  });
});

describe('local authority, strict mode (--identities, built with `enrollgraph identities`)', () => {
  const dir = tempDir('enrollgraph-identities-');
  const file = join(dir, 'identities.json');
  const tenantA = randomUUID();
  const domainA = `fabrikam-${randomUUID().slice(0, 8)}.test`;
  const tenantB = randomUUID();
  const appId = randomUUID();
  const secret = `secret-${randomUUID()}`;
  const publicApp = randomUUID();
  const localApp = randomUUID();
  const alice = { upn: `alice@${domainA}`, password: 'Alice-pw-1' };
  const bob = { upn: `bob@${domainA}`, password: 'Bob-pw-1' };
  let server: TestServer;
  let generatedSecret = '';

  before(async () => {
    const run = async (...args: string[]) => {
      const r = await cli(['identities', ...args, '--identities', file]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    await run('add-tenant', '--id', tenantA, '--domains', domainA);
    await run('add-tenant', '--id', tenantB, '--unlicensed');
    await run('add-app', '--client-id', appId, '--secret', secret, '--roles', RW, '--scopes', RO, '--name', 'Pipeline');
    await run('add-app', '--client-id', publicApp, '--public', '--scopes', RW);
    const out = await run('add-app', '--client-id', localApp, '--tenant', tenantA, '--roles', RO);
    generatedSecret = /client secret: (\S+)/.exec(out)?.[1] ?? '';
    await run('add-user', '--upn', alice.upn, '--password', alice.password, '--tenant', domainA);
    await run('add-user', '--upn', bob.upn, '--password', bob.password, '--tenant', domainA, '--scopes', RW);
    await run('add-user', '--upn', `carol@${domainA}`, '--password', 'x', '--tenant', tenantB);
    server = await startServer({ args: ['--identities', file] });
  });
  after(async () => {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the commands wrote the file; `show` lists it without secrets', async () => {
    const data = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(data.tenants.length, 2);
    assert.deepEqual(data.tenants[1], { id: tenantB, licensed: false });
    assert.equal(data.apps.length, 3);
    assert.match(generatedSecret, /^[\w-]{40}$/, 'add-app without --secret generates one');
    assert.deepEqual(data.apps[2].secrets, [generatedSecret]);
    const shown = await cli(['identities', 'show', '--identities', file]);
    assert.equal(shown.code, 0);
    assert.ok(shown.stdout.includes(`app ${appId} "Pipeline" 1 secret(s)`), shown.stdout);
    assert.ok(!shown.stdout.includes(secret));
    assert.ok(!server.output().includes('WARNING'), 'no open-mode warning');
  });

  test('registered apps, users and domains get tokens with what the file grants', async () => {
    const cc = claimsOf(await token(server.url, domainA, { grant_type: 'client_credentials', client_id: appId, client_secret: secret, scope: `${GRAPH}/.default` }));
    assert.deepEqual(cc.roles, [RW]);
    assert.equal(cc.tid, tenantA, 'the domain is the tenant');
    // client_secret_basic
    const basic = await token(server.url, tenantA, { grant_type: 'client_credentials', scope: `${GRAPH}/.default` }, {
      Authorization: `Basic ${Buffer.from(`${appId}:${encodeURIComponent(secret)}`).toString('base64')}`,
    });
    assert.deepEqual(claimsOf(basic).roles, [RW]);
    // Delegated .default: what was consented (the app's Read.All)
    const pw = await token(server.url, domainA, { grant_type: 'password', client_id: appId, client_secret: secret, username: alice.upn, password: alice.password, scope: `${GRAPH}/.default openid` });
    assert.equal(claimsOf(pw).scp, RO);
    assert.equal((await call(server.url, 'GET', PROFILES, { token: pw.json.access_token })).status, 200);
    assert.equal((await call(server.url, 'POST', PROFILES, { token: pw.json.access_token, body: { displayName: 'x' } })).status, 403);
    // The user's own consent adds to the app's.
    const bobRw = await token(server.url, domainA, { grant_type: 'password', client_id: appId, client_secret: secret, username: bob.upn, password: bob.password, scope: `${GRAPH}/${RW}` });
    assert.equal(claimsOf(bobRw).scp, RW);
    // A public client signs users in without a secret.
    const pub = await token(server.url, tenantA, { grant_type: 'password', client_id: publicApp, username: alice.upn, password: alice.password, scope: `${GRAPH}/${RW}` });
    assert.equal(claimsOf(pub).scp, RW);
    assert.equal((await call(server.url, 'POST', PROFILES, { token: pub.json.access_token, body: { displayName: 'strict' } })).status, 201);
    // An app limited to one tenant, with its generated secret.
    assert.deepEqual(claimsOf(await token(server.url, tenantA, { grant_type: 'client_credentials', client_id: localApp, client_secret: generatedSecret, scope: `${GRAPH}/.default` })).roles, [RO]);
  });

  test('wrong client secret: 401 invalid_client', async () => {
    oauthError(await token(server.url, tenantA, { grant_type: 'client_credentials', client_id: appId, client_secret: 'wrong', scope: `${GRAPH}/.default` }), 401, 'invalid_client', 7000215);
    oauthError(
      await token(server.url, tenantA, { grant_type: 'client_credentials', scope: `${GRAPH}/.default` }, { Authorization: `Basic ${Buffer.from(`${appId}:wrong`).toString('base64')}` }),
      401, 'invalid_client', 7000215,
    );
    oauthError(await token(server.url, tenantA, { grant_type: 'client_credentials', client_id: appId, scope: `${GRAPH}/.default` }), 401, 'invalid_client', 7000218);
    oauthError(
      await token(server.url, tenantA, { grant_type: 'password', client_id: appId, username: alice.upn, password: alice.password, scope: `${GRAPH}/.default` }),
      401, 'invalid_client', 7000218,
    );
  });

  test('unknown app: 400 unauthorized_client; an app of another tenant likewise', async () => {
    oauthError(await token(server.url, tenantA, { grant_type: 'client_credentials', client_id: randomUUID(), client_secret: 'x', scope: `${GRAPH}/.default` }), 400, 'unauthorized_client', 700016);
    oauthError(await token(server.url, tenantB, { grant_type: 'client_credentials', client_id: localApp, client_secret: generatedSecret, scope: `${GRAPH}/.default` }), 400, 'unauthorized_client', 700016);
  });

  test('unknown user and wrong password: 400 invalid_grant', async () => {
    oauthError(
      await token(server.url, tenantA, { grant_type: 'password', client_id: publicApp, username: `nobody@${domainA}`, password: 'x', scope: `${GRAPH}/.default` }),
      400, 'invalid_grant', 50034,
    );
    oauthError(
      await token(server.url, tenantA, { grant_type: 'password', client_id: publicApp, username: alice.upn, password: 'wrong', scope: `${GRAPH}/.default` }),
      400, 'invalid_grant', 50126,
    );
    // A user of another tenant does not exist in this one.
    oauthError(
      await token(server.url, tenantB, { grant_type: 'password', client_id: publicApp, username: alice.upn, password: alice.password, scope: `${GRAPH}/.default` }),
      400, 'invalid_grant', 50034,
    );
  });

  test('a scope the app was not granted: 400 invalid_scope', async () => {
    const b = oauthError(
      await token(server.url, tenantA, { grant_type: 'password', client_id: appId, client_secret: secret, username: alice.upn, password: alice.password, scope: `${GRAPH}/${RW}` }),
      400, 'invalid_scope', 65001,
    );
    assert.ok(b.error_description.includes(`${GRAPH}/${RW}`));
  });

  test('an unregistered tenant: 400 tenant not found (AADSTS90002)', async () => {
    for (const t of [randomUUID(), 'unknown-tenant.test']) {
      const b = oauthError(await token(server.url, t, { grant_type: 'client_credentials', client_id: appId, client_secret: secret, scope: `${GRAPH}/.default` }), 400, 'invalid_request', 90002);
      assert.ok(b.error_description.includes(`Tenant '${t}' not found`));
      oauthError(await call(server.url, 'GET', `/${t}/v2.0/.well-known/openid-configuration`), 400, 'invalid_tenant', 90002);
      oauthError(await call(server.url, 'GET', `/${t}/discovery/v2.0/keys`), 400, 'invalid_tenant', 90002);
    }
    assert.equal((await call(server.url, 'GET', `/${domainA}/v2.0/.well-known/openid-configuration`)).json.issuer, `${server.url}/${tenantA}/v2.0`);
  });

  test('on-behalf-of needs an assertion for the calling app', async () => {
    const graphToken = await token(server.url, tenantA, { grant_type: 'password', client_id: publicApp, username: alice.upn, password: alice.password, scope: `${GRAPH}/${RW}` });
    oauthError(
      await token(server.url, tenantA, {
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', client_id: appId, client_secret: secret, assertion: graphToken.json.access_token,
        requested_token_use: 'on_behalf_of', scope: `${GRAPH}/.default`,
      }),
      400, 'invalid_grant', 500131,
    );
  });

  test('a tenant marked licensed: false is unlicensed in the store', async () => {
    const carol = await token(server.url, tenantB, { grant_type: 'password', client_id: publicApp, username: `carol@${domainA}`, password: 'x', scope: `${GRAPH}/${RW}` });
    const res = await call(server.url, 'GET', PROFILES, { token: claimsOf(carol) && carol.json.access_token });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.message, 'Request not applicable to target tenant.');
  });

  test('a broken identity file stops the server at start with a clear message', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `users:\n  - upn: x@y.test\n    password: p\n    tenant: nowhere.test\n`);
    const r = await cli(['serve', '--memory', '--port', '0', '--identities', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /users\[0\]\.tenant: 'nowhere\.test' is not a tenant id or domain of this file/);
    const yaml = join(dir, 'made.yaml');
    assert.equal((await cli(['identities', 'add-tenant', '--id', tenantA, '--domains', domainA, '--identities', yaml])).code, 0);
    assert.match(readFileSync(yaml, 'utf8'), /^tenants:\n {2}- id: /);
  });
});

interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  fingerprint: string;
}

/** A GET over https that trusts exactly `ca` (plus the system roots). */
function httpsGet(url: string, ca: string | undefined): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'GET', ...(ca !== undefined ? { ca } : {}) }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

describe('serve --tls', () => {
  test('creates a certificate for localhost and 127.0.0.1 once in the data directory, prints it, and adds HSTS', async () => {
    // SQLite pinned even on PostgreSQL test runs: the generated certificate lives in the data directory.
    const dataDir = tempDir();
    const server = await startServer({ storage: 'none', dataDir, args: ['--data', dataDir, '--tls'], keepData: true });
    const certFile = join(server.dataDir, 'tls', 'cert.pem');
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      for (let i = 0; i < 50 && !server.output().includes('TLS certificate'); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(server.output().includes(`TLS certificate: ${certFile} (clients trust it with NODE_EXTRA_CA_CERTS=${certFile})`), server.output());
      const pem = readFileSync(certFile, 'utf8');
      const x509 = new X509Certificate(pem);
      assert.match(x509.subjectAltName ?? '', /DNS:localhost/);
      assert.match(x509.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      const res = await httpsGet(`${server.url}/healthz`, pem);
      assert.equal(res.status, 200);
      assert.equal(res.headers['strict-transport-security'], 'max-age=31536000');
      assert.equal(res.fingerprint, fingerprintOf(pem));
      const byName = await httpsGet(`${server.url.replace('127.0.0.1', 'localhost')}/healthz`, pem);
      assert.equal(byName.status, 200, 'valid for localhost too');
      // Without trusting it, verification fails: nothing here turns verification off.
      await assert.rejects(httpsGet(`${server.url}/healthz`, undefined), /self[- ]signed certificate/);
      // Errors over https carry HSTS as well.
      const err = await httpsGet(`${server.url}${PROFILES}`, pem);
      assert.equal(err.status, 401);
      assert.equal(err.headers['strict-transport-security'], 'max-age=31536000');
      await server.stop();

      const again = await startServer({ storage: 'none', dataDir, args: ['--data', dataDir, '--tls'], keepData: true });
      try {
        assert.equal(readFileSync(certFile, 'utf8'), pem, 'the certificate is made once');
        assert.equal((await httpsGet(`${again.url}/healthz`, pem)).fingerprint, fingerprintOf(pem));
      } finally {
        await again.dispose();
      }
    } finally {
      await server.dispose();
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  });

  test('--memory --tls uses a temporary certificate, removed at stop', async () => {
    const server = await startServer({ storage: 'none', args: ['--memory', '--tls'] });
    try {
      for (let i = 0; i < 50 && !server.output().includes('TLS certificate'); i++) await new Promise((r) => setTimeout(r, 20));
      const certFile = /TLS certificate: (\S+)/.exec(server.output())?.[1];
      assert.ok(certFile && existsSync(certFile), server.output());
      assert.equal((await httpsGet(`${server.url}/healthz`, readFileSync(certFile, 'utf8'))).status, 200);
      assert.equal(await server.stop(), 0);
      assert.equal(existsSync(certFile), false);
    } finally {
      await server.dispose();
    }
  });

  test('--cert/--key serve the user\'s own certificate; a bad pair is refused', async () => {
    const dir = tempDir('enrollgraph-cert-');
    try {
      const own = createSelfSignedCertificate();
      const other = createSelfSignedCertificate();
      writeFileSync(join(dir, 'cert.pem'), own.cert);
      writeFileSync(join(dir, 'key.pem'), own.key);
      writeFileSync(join(dir, 'other-key.pem'), other.key);
      const server = await startServer({ storage: 'none', args: ['--memory', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')] });
      try {
        assert.match(server.url, /^https:/);
        const res = await httpsGet(`${server.url}/healthz`, own.cert);
        assert.equal(res.fingerprint, fingerprintOf(own.cert));
      } finally {
        await server.dispose();
      }
      const mismatch = await cli(['serve', '--memory', '--port', '0', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'other-key.pem')]);
      assert.equal(mismatch.code, 1);
      assert.match(mismatch.stderr, /does not belong to the certificate/);
      const half = await cli(['serve', '--memory', '--port', '0', '--cert', join(dir, 'cert.pem')]);
      assert.equal(half.code, 2);
      assert.match(half.stderr, /--cert and --key go together/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
