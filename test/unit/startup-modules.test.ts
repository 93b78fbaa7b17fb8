/**
 * Start-up loads only what the start needs: which packages a process has loaded by the time a
 * `--memory` server answers /readyz, and after the features that need the others are used. (The
 * time it takes is measured by bench/startup.ts, not asserted here.) Each case runs in a fresh
 * process of the built package. The packages loaded only on use are outside the bundles (see
 * scripts/build-server.mjs) and CommonJS, so they show in require.cache; which of the bundles'
 * chunks a process imported is seen through a module resolve hook, and what each chunk holds
 * through its source map.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ROOT, tempDir } from '../helpers.js';

/** Records every module URL the process resolves once `watchImports()` ran (node:module's register). */
const HOOKS = `
  let port;
  export function initialize(data) { port = data.port; }
  export async function resolve(specifier, context, next) {
    const r = await next(specifier, context);
    port.postMessage(r.url);
    return r;
  }`;

/**
 * Runs an ES module body in a fresh process; it gets `loaded()` (package names in require.cache),
 * `watchImports()` and `imported()` (the dist/ files imported since), and prints JSON.
 */
function run(body: string): Record<string, unknown> {
  const dir = tempDir();
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  const program = `
    import { createRequire, register } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    const require = createRequire(import.meta.url);
    const loaded = () => [...new Set(Object.keys(require.cache).map((k) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(k)?.[1]).filter(Boolean))];
    const dist = ${JSON.stringify(join(ROOT, 'dist'))};
    const urls = [];
    let channel;
    const watchImports = () => {
      channel = new MessageChannel();
      channel.port1.on('message', (u) => urls.push(u));
      channel.port1.unref();
      register('./hooks.mjs', import.meta.url, { data: { port: channel.port2 }, transferList: [channel.port2] });
    };
    const imported = async () => {
      // The hooks run on a thread of their own: a last import, once its URL comes back, has flushed the others.
      const last = 'data:text/javascript,export default ' + urls.length;
      channel.port1.ref(); // until it comes back
      await new Promise((done) => { channel.port1.on('message', (u) => u === last && done()); import(last); });
      channel.port1.unref();
      return [...new Set(urls.filter((u) => u.startsWith('file:') && u.includes('/dist/')).map((u) => u.slice(u.lastIndexOf('/') + 1)))];
    };
    ${body}`;
  // A file, not --eval: worker threads inherit the process's execArgv, and --input-type would fail them.
  const file = join(dir, 'check.mjs');
  writeFileSync(file, program);
  const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** The dist/ files whose code (by their source maps) includes a source matching `pattern`. */
function chunksWith(pattern: RegExp): string[] {
  const dist = join(ROOT, 'dist');
  return readdirSync(dist).filter((f) => f.endsWith('.js')).filter((f) => {
    const map = JSON.parse(readFileSync(join(dist, `${f}.map`), 'utf8')) as { sources: string[] };
    return map.sources.some((s) => pattern.test(s));
  });
}

const LAZY = ['pg', 'node-forge', 'yaml', 'qrcode', 'prom-client', 'ajv', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler'];

describe('start-up', () => {
  it('a --memory server is ready without pg, node-forge, yaml, qrcode, prom-client or a schema compiler; each loads when used', () => {
    const r = run(`
      const { startServer } = await import(dist + '/index.js');
      const server = await startServer();
      const ready = (await fetch(server.url + '/readyz')).status;
      const atStart = loaded();
      const token = await server.mintToken({ tenant: '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10' });
      const headers = { authorization: 'Bearer ' + token, 'content-type': 'application/json' };
      const base = server.url + '/beta/deviceManagement/androidForWorkEnrollmentProfiles';
      const { id } = await (await fetch(base, { method: 'POST', headers, body: '{"displayName":"x"}' })).json();
      await fetch(base + '/' + id + '/createToken', { method: 'POST', headers, body: '{"tokenValidityInSeconds":60}' });
      const png = (await (await fetch(base + '/' + id, { headers })).json()).qrCodeImage?.value;
      const metrics = await (await fetch(server.url + '/metrics')).text();
      const afterUse = loaded();
      await server.close();
      console.log(JSON.stringify({ ready, atStart, afterUse, png: typeof png, metrics }));`);
    assert.equal(r.ready, 200);
    assert.ok((r.atStart as string[]).includes('better-sqlite3'), 'the check sees packages at all');
    for (const m of LAZY) assert.ok(!(r.atStart as string[]).includes(m), `${m} is not loaded at start`);
    assert.equal(r.png, 'string', 'the QR code renders (qrcode in the worker thread)');
    // Counted before prom-client loaded (at this first read of /metrics), and so replayed into it.
    assert.match(r.metrics as string, /^enrollgraph_http_requests_total\{operation="createToken",status="204"\} 1$/m);
    assert.match(r.metrics as string, /^enrollgraph_enrollment_tokens_created_total 1$/m);
    assert.ok((r.afterUse as string[]).includes('prom-client'));
  });

  it('pg loads for a PostgreSQL store, node-forge for --tls, yaml for a YAML file', () => {
    const r = run(`
      const { startServer } = await import(dist + '/index.js');
      const server = await startServer({ tls: true });
      const withTls = loaded();
      await server.close();
      const { writeFileSync, mkdtempSync } = await import('node:fs');
      const dir = mkdtempSync((await import('node:os')).tmpdir() + '/eg-');
      writeFileSync(dir + '/seed.yaml', 'tenants: []\\n');
      await (await startServer({ seed: dir + '/seed.yaml' })).close();
      const withYaml = loaded();
      await startServer({ store: 'postgres://nobody@127.0.0.1:1/none', dbTimeout: 500 }).then((s) => s.close(), () => undefined);
      console.log(JSON.stringify({ withTls, withYaml, withPg: loaded() }));`);
    assert.ok((r.withTls as string[]).includes('node-forge'));
    assert.ok(!(r.withTls as string[]).includes('yaml'));
    assert.ok((r.withYaml as string[]).includes('yaml'));
    assert.ok((r.withPg as string[]).includes('pg'));
  });

  it('the CLI loads no server code for --help or token --url', () => {
    const r = run(`
      watchImports();
      const { main } = await import(dist + '/cli.js');
      const log = console.log;
      console.log = () => undefined;
      await main(['serve', '--help']);
      await main(['token', '--tenant', '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', '--url', 'http://127.0.0.1:1', '--admin-key', 'some-admin-key']).catch(() => 1);
      console.log = log;
      const cli = await imported();
      const cliLoaded = loaded();
      const { startServer } = await import(dist + '/index.js');
      await (await startServer()).close();
      console.log(JSON.stringify({ loaded: cliLoaded, cli, server: await imported() }));`);
    const server = [...chunksWith(/node_modules\/(fastify|pino|jose)\//), ...chunksWith(/src\/(app|store\/sqlite)\.ts$/)];
    assert.ok(server.length > 0);
    assert.ok(server.some((f) => (r.server as string[]).includes(f)), 'the check sees a server start import them');
    assert.ok((r.cli as string[]).includes('cli.js'));
    for (const f of server) assert.ok(!(r.cli as string[]).includes(f), `${f} (server code) is not imported by --help or token --url`);
    for (const m of ['better-sqlite3', ...LAZY]) assert.ok(!(r.loaded as string[]).includes(m), `${m} is not loaded`);
  });
});
