import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { call, cli, createProfile, newTenant, PROFILES, ROOT, startServer, type TestServer } from '../helpers.js';

describe('the enrollgraph command', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.dispose());

  it('`token` prints a JWT the running server accepts, with the requested scopes', async () => {
    const tenant = newTenant();
    const rw = await cli(['token', '--tenant', tenant, '--data', server.dataDir]);
    assert.equal(rw.code, 0, rw.stderr);
    const jwt = rw.stdout.trim();
    assert.match(jwt, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
    assert.equal(claims.iss, `https://sts.windows.net/${tenant}/`);
    assert.equal(claims.tid, tenant);
    assert.equal(claims.aud, 'https://graph.microsoft.com');
    assert.equal(claims.idtyp, 'user');
    assert.equal(claims.scp, 'DeviceManagementConfiguration.ReadWrite.All');
    const created = await createProfile(server.url, jwt);
    assert.equal(created.accountId, tenant);

    const ro = await cli(['token', '--tenant', tenant, '--scopes', 'DeviceManagementConfiguration.Read.All', '--upn', 'reader@contoso.com', '--data', server.dataDir]);
    const roJwt = ro.stdout.trim();
    assert.equal((await call(server.url, 'GET', PROFILES, { token: roJwt })).status, 200);
    assert.equal((await call(server.url, 'POST', PROFILES, { token: roJwt, body: { displayName: 'x' } })).status, 403);
  });

  it('`token --expires-in -60` and `--audience` mint tokens the server refuses', async () => {
    const tenant = newTenant();
    const expired = (await cli(['token', '--tenant', tenant, '--expires-in', '-60', '--data', server.dataDir])).stdout.trim();
    const res = await call(server.url, 'GET', PROFILES, { token: expired });
    assert.equal(res.status, 401);
    assert.equal(res.json.error.message, 'Lifetime validation failed, the token is expired.');
    const aud = (await cli(['token', '--tenant', tenant, '--audience', 'https://graph.windows.net', '--data', server.dataDir])).stdout.trim();
    const res2 = await call(server.url, 'GET', PROFILES, { token: aud });
    assert.equal(res2.status, 401);
    assert.equal(res2.json.error.message, 'Access token validation failure. Invalid audience.');
  });

  it('`token --roles` mints an app-only token', async () => {
    const r = await cli(['token', '--tenant', newTenant(), '--roles', 'DeviceManagementConfiguration.ReadWrite.All', '--data', server.dataDir]);
    const claims = JSON.parse(Buffer.from(r.stdout.trim().split('.')[1]!, 'base64url').toString());
    assert.deepEqual(claims.roles, ['DeviceManagementConfiguration.ReadWrite.All']);
    assert.equal(claims.idtyp, 'app');
    assert.equal(claims.scp, undefined);
  });

  it('reads flags from ENROLLGRAPH_* variables', async () => {
    const tenant = newTenant();
    const r = await cli(['token', '--tenant', tenant], { ENROLLGRAPH_DATA: server.dataDir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await call(server.url, 'GET', PROFILES, { token: r.stdout.trim() })).status, 200);
  });

  it('refuses bad usage with exit code 2 and a usage line', async () => {
    for (const args of [['token'], ['token', '--tenant', 'not-a-guid'], ['tenant', newTenant()], ['serve', '--port', 'abc'], ['serve', '--bogus'], ['nope']]) {
      const r = await cli([...args, '--data', server.dataDir]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /enrollgraph serve/);
  });

  it('`npx enrollgraph` runs the package bin with no build step of its own', () => {
    const tenant = newTenant();
    const r = spawnSync('npx', ['--no-install', 'enrollgraph', 'token', '--tenant', tenant, '--data', server.dataDir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('`serve --memory` serves from an in-memory store; --memory with --data is refused', async () => {
    const both = await cli(['serve', '--memory', '--data', server.dataDir]);
    assert.equal(both.code, 2);
    const mem = await startServer({ args: ['--memory'], storage: 'none' });
    try {
      // The in-memory server has its own keys: a token from another store is refused.
      assert.equal((await call(mem.url, 'GET', PROFILES, { token: await server.token() })).status, 401);
      assert.equal((await call(mem.url, 'GET', '/readyz')).json.store, 'sqlite');
    } finally {
      await mem.dispose();
    }
  });
});
