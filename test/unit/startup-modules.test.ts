/**
 * Start-up loads only what the start needs: which packages a process has loaded by the time a
 * `--memory` server answers /readyz, and after the features that need the others are used. (The
 * time it takes is measured by bench/startup.ts, not asserted here.) Each case runs in a fresh
 * process of the built package, which lists the CommonJS packages it has loaded (every one of
 * these is CommonJS, so it shows in require.cache).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, tempDir } from '../helpers.js';

/** Runs an ES module body in a fresh process; it gets `loaded()` (package names) and prints JSON. */
function run(body: string): Record<string, unknown> {
  const program = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const loaded = () => [...new Set(Object.keys(require.cache).map((k) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(k)?.[1]).filter(Boolean))];
    const dist = ${JSON.stringify(join(ROOT, 'dist'))};
    ${body}`;
  // A file, not --eval: worker threads inherit the process's execArgv, and --input-type would fail them.
  const file = join(tempDir(), 'check.mjs');
  writeFileSync(file, program);
  const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
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
    assert.ok((r.atStart as string[]).includes('fastify'), 'the check sees packages at all');
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
      const { readSeedFile } = await import(dist + '/control/plane.js');
      const { writeFileSync, mkdtempSync } = await import('node:fs');
      const dir = mkdtempSync((await import('node:os')).tmpdir() + '/eg-');
      writeFileSync(dir + '/seed.yaml', 'tenants: []\\n');
      readSeedFile(dir + '/seed.yaml');
      const withYaml = loaded();
      const { storeExists } = await import(dist + '/server.js');
      await storeExists({ kind: 'postgres', url: 'postgres://nobody@127.0.0.1:1/none', timeoutMs: 500 }).catch(() => undefined);
      console.log(JSON.stringify({ withTls, withYaml, withPg: loaded() }));`);
    assert.ok((r.withTls as string[]).includes('node-forge'));
    assert.ok(!(r.withTls as string[]).includes('yaml'));
    assert.ok((r.withYaml as string[]).includes('yaml'));
    assert.ok((r.withPg as string[]).includes('pg'));
  });

  it('the CLI loads no server code for --help or token --url', () => {
    const r = run(`
      const { main } = await import(dist + '/cli.js');
      const log = console.log;
      console.log = () => undefined;
      await main(['serve', '--help']);
      await main(['token', '--tenant', '6f1c3a52-8d5e-4b0e-9a55-1f0c2b7d4e10', '--url', 'http://127.0.0.1:1', '--admin-key', 'some-admin-key']).catch(() => 1);
      console.log = log;
      console.log(JSON.stringify({ loaded: loaded() }));`);
    for (const m of ['fastify', 'better-sqlite3', 'pino', ...LAZY]) assert.ok(!(r.loaded as string[]).includes(m), `${m} is not loaded`);
  });
});
