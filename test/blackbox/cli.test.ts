import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IDENTITIES_OPTIONS } from '../../src/authority/cli.js';
import { ENROLL_FLAGS, IDENTITIES_FLAGS } from '../../src/cli.js';
import { envName, SERVE_FLAGS, type FlagTable } from '../../src/config.js';
import { ENROLL_OPTIONS } from '../../src/enrollment/enroll-cli.js';
import { DEFAULT_POOL_SIZE, DEFAULT_TIMEOUT_MS } from '../../src/store/postgres.js';
import { BIN, call, cli, createProfile, newTenant, PROFILES, ROOT, startServer, tempDir, type TestServer } from '../helpers.js';
import { freePort } from '../free-port.js';

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

/** Runs the CLI from another working directory (cli() runs it from the test's). */
function cliIn(cwd: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
}

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
    const claims = claimsOf(jwt);
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
    const claims = claimsOf(r.stdout.trim());
    assert.deepEqual(claims.roles, ['DeviceManagementConfiguration.ReadWrite.All']);
    assert.equal(claims.idtyp, 'app');
    assert.equal(claims.scp, undefined);
  });

  it('`token` mints on the server clock, so a token minted after the clock moved far ahead is valid there', async () => {
    const tenant = newTenant();
    assert.equal((await server.admin('PUT', '/_admin/clock', { now: '2041-06-01T00:00:00Z', frozen: true })).status, 200);
    try {
      const offline = await cli(['token', '--tenant', tenant, '--data', server.dataDir]);
      assert.equal(offline.code, 0, offline.stderr);
      assert.equal(claimsOf(offline.stdout.trim()).iat, Date.parse('2041-06-01T00:00:00Z') / 1000);
      assert.equal((await call(server.url, 'GET', PROFILES, { token: offline.stdout.trim() })).status, 200);
      const remote = await cli(['token', '--tenant', tenant, '--url', server.url, '--admin-key', server.adminKey!]);
      assert.equal(remote.code, 0, remote.stderr);
      assert.equal(claimsOf(remote.stdout.trim()).iat, Date.parse('2041-06-01T00:00:00Z') / 1000);
      assert.equal((await call(server.url, 'GET', PROFILES, { token: remote.stdout.trim() })).status, 200);
    } finally {
      await server.admin('DELETE', '/_admin/clock');
    }
  });

  it('`token --url` mints through a server on --memory, with the admin key from a flag or ENROLLGRAPH_ADMIN_KEY', async () => {
    const mem = await startServer({ args: ['--memory'], storage: 'none' });
    try {
      const tenant = newTenant();
      const r = await cli(['token', '--tenant', tenant, '--url', mem.url, '--scopes', 'DeviceManagementConfiguration.Read.All'], { ENROLLGRAPH_ADMIN_KEY: mem.adminKey! });
      assert.equal(r.code, 0, r.stderr);
      const jwt = r.stdout.trim();
      assert.equal(claimsOf(jwt).scp, 'DeviceManagementConfiguration.Read.All');
      assert.equal((await call(mem.url, 'GET', PROFILES, { token: jwt })).status, 200);
      assert.equal((await call(mem.url, 'POST', PROFILES, { token: jwt, body: { displayName: 'x' } })).status, 403);

      const wrongKey = await cli(['token', '--tenant', tenant, '--url', mem.url, '--admin-key', 'not-the-key']);
      assert.equal(wrongKey.code, 1);
      assert.match(wrongKey.stderr, /refused the admin key \(--admin-key\)/);
      const noKey = await cli(['token', '--tenant', tenant, '--url', mem.url]);
      assert.equal(noKey.code, 2);
      assert.match(noKey.stderr, /--url needs the server's admin key/);
      const both = await cli(['token', '--tenant', tenant, '--url', mem.url, '--admin-key', mem.adminKey!, '--data', server.dataDir]);
      assert.equal(both.code, 2);
      const memoryFlag = await cli(['token', '--tenant', tenant, '--memory']);
      assert.equal(memoryFlag.code, 2);
      assert.match(memoryFlag.stderr, /--url URL/);
      // The control API's mint endpoint checks what it is given, and needs the admin key.
      assert.equal((await call(mem.url, 'POST', '/_admin/tokens', { body: { tenant } })).status, 401);
      const bad = await mem.admin('POST', '/_admin/tokens', { tenant: 'nope' });
      assert.equal(bad.status, 400);
      assert.equal((await mem.admin('POST', '/_admin/tokens', { tenant, expiresIn: 'soon' })).status, 400);
    } finally {
      await mem.dispose();
    }
  });

  it('`token` on a store that does not exist exits 1 saying so, and creates nothing', () => {
    const cwd = tempDir();
    const tenant = newTenant();
    const missing = join(cwd, 'no-such-store');
    const r = cliIn(cwd, ['token', '--tenant', tenant, '--data', missing]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /no Enrollgraph store in .*no-such-store/);
    assert.equal(r.stdout, '');
    // The default store (./data) is the working directory's: run elsewhere, it does not exist either.
    const d = cliIn(cwd, ['token', '--tenant', tenant], { ENROLLGRAPH_DATA: '', ENROLLGRAPH_DATABASE: '', ENROLLGRAPH_DATABASE_URL: '' });
    assert.equal(d.status, 1);
    assert.match(d.stderr, /the default --data, in this folder/);
    assert.deepEqual(readdirSync(cwd), [], 'nothing was created');
    for (const args of [['admin-key'], ['tenant', tenant, '--unlicensed']]) {
      const x = cliIn(cwd, [...args, '--data', missing]);
      assert.equal(x.status, 1, `${args[0]}: ${x.stderr}`);
    }
    assert.deepEqual(readdirSync(cwd), []);
  });

  it('environment variables are defaults under the flags, and messages name where a value came from', async () => {
    const tenant = newTenant();
    const fromEnv = await cli(['token', '--tenant', tenant], { ENROLLGRAPH_DATA: server.dataDir });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal((await call(server.url, 'GET', PROFILES, { token: fromEnv.stdout.trim() })).status, 200);
    // A store chosen on the command line wins over one in the environment.
    const elsewhere = join(tempDir(), 'not-used');
    const flagWins = await cli(['token', '--tenant', tenant, '--data', server.dataDir], { ENROLLGRAPH_DATA: elsewhere, ENROLLGRAPH_MEMORY: '1' });
    assert.equal(flagWins.code, 0, flagWins.stderr);
    const scopesFromEnv = await cli(['token', '--tenant', tenant, '--data', server.dataDir], { ENROLLGRAPH_SCOPES: 'DeviceManagementConfiguration.Read.All' });
    assert.equal(claimsOf(scopesFromEnv.stdout.trim()).scp, 'DeviceManagementConfiguration.Read.All');
    const scopesFlagWins = await cli(['token', '--tenant', tenant, '--scopes', 'A.B', '--data', server.dataDir], { ENROLLGRAPH_SCOPES: 'C.D' });
    assert.equal(claimsOf(scopesFlagWins.stdout.trim()).scp, 'A.B');

    const badVar = await cli(['serve', '--memory'], { ENROLLGRAPH_PORT: 'eighty' });
    assert.equal(badVar.code, 2);
    assert.match(badVar.stderr, /ENROLLGRAPH_PORT must be an integer, got 'eighty'/);
    const badFlag = await cli(['serve', '--memory', '--port', 'eighty'], { ENROLLGRAPH_PORT: '8080' });
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--port must be an integer, got 'eighty'/);
    const badControl = await cli(['serve', '--memory'], { ENROLLGRAPH_THROTTLE_WINDOW: '0' });
    assert.equal(badControl.code, 2);
    assert.match(badControl.stderr, /^enrollgraph serve: ENROLLGRAPH_THROTTLE_WINDOW must be/m);
    const badBool = await cli(['serve'], { ENROLLGRAPH_MEMORY: 'maybe' });
    assert.equal(badBool.code, 2);
    assert.match(badBool.stderr, /ENROLLGRAPH_MEMORY must be true or false/);
    const twoStores = await cli(['serve'], { ENROLLGRAPH_MEMORY: 'true', ENROLLGRAPH_DATA: elsewhere });
    assert.equal(twoStores.code, 2);
    assert.match(twoStores.stderr, /give only one of ENROLLGRAPH_DATA, ENROLLGRAPH_MEMORY/);
    assert.equal(existsSync(elsewhere), false);
  });

  it('`serve --memory` wins over ENROLLGRAPH_DATA, serves from memory, and its banner names Graph, the console and a generated admin key', async () => {
    const elsewhere = join(tempDir(), 'not-used');
    const mem = await startServer({ args: ['--memory'], storage: 'none', adminKey: false, env: { ENROLLGRAPH_DATA: elsewhere } });
    try {
      for (let i = 0; i < 250 && !/admin key: \S+/.test(mem.output()); i++) await new Promise((r) => setTimeout(r, 20));
      const out = mem.output();
      assert.match(out, new RegExp(`serving Microsoft Graph on ${mem.url}/v1\\.0 and ${mem.url}/beta`));
      assert.match(out, new RegExp(`console on ${mem.url}/console/`));
      const key = /admin key: (\S+) \(generated for this in-memory store\)/.exec(out)?.[1];
      assert.ok(key, out);
      assert.equal((await call(mem.url, 'GET', '/_admin/clock', { token: key })).status, 200);
      assert.equal((await call(mem.url, 'GET', '/readyz')).json.store, 'sqlite');
      assert.equal(existsSync(elsewhere), false);
      // The in-memory server has its own keys: a token from another store is refused.
      assert.equal((await call(mem.url, 'GET', PROFILES, { token: await server.token() })).status, 401);
      const root = await fetch(`${mem.url}/`, { redirect: 'manual' });
      assert.equal(root.status, 302);
      assert.equal(root.headers.get('location'), '/console/');
      assert.equal((await call(mem.url, 'GET', '/console/')).status, 200);
    } finally {
      await mem.dispose();
    }
    const both = await cli(['serve', '--memory', '--data', server.dataDir]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give only one of .*--memory/);
  });

  it('`--log-level silent` prints nothing at all; `--log-level loud` is a usage error', async () => {
    const port = await freePort();
    const proc = spawn(process.execPath, [BIN, 'serve', '--memory', '--port', String(port), '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d));
    proc.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise((r) => proc.on('exit', r));
    try {
      let ready = false;
      for (let i = 0; i < 500 && !ready; i++) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(ready, out);
      assert.equal((await call(`http://127.0.0.1:${port}`, 'GET', PROFILES)).status, 401);
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
    assert.equal(out, '');

    const loud = await cli(['serve', '--memory', '--log-level', 'loud']);
    assert.equal(loud.code, 2);
    assert.match(loud.stderr, /^enrollgraph serve: --log-level must be one of fatal, error, warn, info, debug, trace, silent, got 'loud'$/m);
    assert.doesNotMatch(loud.stderr, /at \S+ \(/, 'no stack trace');
  });

  it('unknown commands and flags exit 2 naming them, with the closest match', async () => {
    const cmd = await cli(['srve']);
    assert.equal(cmd.code, 2);
    assert.match(cmd.stderr, /unknown command 'srve' \(did you mean 'serve'\?\)/);
    const flag = await cli(['serve', '--prot', '8080']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown flag '--prot' \(did you mean '--port'\?\)/);
    const prefix = await cli(['serve', '--memory', '--tenant-write', '5']);
    assert.match(prefix.stderr, /unknown flag '--tenant-write' \(did you mean '--tenant-write-limit'\?\)/);
    const otherCommand = await cli(['token', '--tenant', newTenant(), '--port', '1']);
    assert.equal(otherCommand.code, 2);
    assert.match(otherCommand.stderr, /unknown flag '--port'/);
    const nothingClose = await cli(['serve', '--zzzzzzzz']);
    assert.equal(nothingClose.code, 2);
    assert.match(nothingClose.stderr, /unknown flag '--zzzzzzzz'\n/);
    for (const args of [['token'], ['token', '--tenant', 'not-a-guid'], ['tenant', newTenant()], ['serve', '--port'], ['serve', '--memory=yes'], ['serve', 'extra']]) {
      const r = await cli([...args, '--data', server.dataDir]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`Run 'enrollgraph ${args[0]} --help'`));
    }
  });

  it('`--help` and `-h` on every command list every flag with its variable and default; `--version` prints the version', async () => {
    const general = await cli(['--help']);
    assert.equal(general.code, 0);
    for (const name of ['serve', 'token', 'tenant', 'admin-key', 'enroll', 'identities']) assert.match(general.stdout, new RegExp(`^  ${name} `, 'm'));
    const tables: Record<string, FlagTable> = { serve: SERVE_FLAGS, enroll: ENROLL_FLAGS, identities: IDENTITIES_FLAGS };
    for (const name of ['serve', 'token', 'tenant', 'admin-key', 'enroll', 'identities']) {
      for (const h of ['--help', '-h']) {
        const r = await cli([name, h]);
        assert.equal(r.code, 0, `${name} ${h}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^Usage: enrollgraph ${name}`, 'm'));
      }
      const help = (await cli(['help', name])).stdout;
      for (const [flag, spec] of Object.entries(tables[name] ?? {})) {
        const line = new RegExp(`^  --${flag}\\b.* ${envName(flag)}${spec.default !== undefined ? `.*, default ${spec.default.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` : ''}`, 'm');
        assert.match(help, line, `${name} --help shows --${flag}`);
      }
    }
    const tokenHelp = (await cli(['token', '--help'])).stdout;
    for (const flag of ['tenant', 'scopes', 'roles', 'upn', 'expires-in', 'audience', 'url', 'admin-key', 'data', 'database']) assert.match(tokenHelp, new RegExp(`^  --${flag}\\b.* ${envName(flag)}`, 'm'));
    // The help tables cover exactly what the commands parse, and their defaults are the code's.
    const shape = (o: Record<string, { type: string }>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.type]));
    assert.deepEqual(shape(ENROLL_FLAGS), shape(ENROLL_OPTIONS));
    assert.deepEqual(shape(IDENTITIES_FLAGS), shape(IDENTITIES_OPTIONS));
    assert.equal(SERVE_FLAGS['db-pool']!.default, String(DEFAULT_POOL_SIZE));
    assert.equal(SERVE_FLAGS['db-timeout']!.default, String(DEFAULT_TIMEOUT_MS));

    const v = await cli(['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('`npx enrollgraph` runs the package bin with no build step of its own', () => {
    const tenant = newTenant();
    const r = spawnSync('npx', ['--no-install', 'enrollgraph', 'token', '--tenant', tenant, ...server.storeArgs], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  });
});
