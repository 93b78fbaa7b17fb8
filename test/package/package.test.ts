/**
 * The package as users get it, through the Dockerfile's own commands run outside a container: the
 * build stage's `npm pack` on a copy of the tree (what `COPY . .` copies), then the run stage's
 * `npm install --omit=dev` of that tarball into an empty folder (offline from the npm cache), its
 * ENTRYPOINT/CMD with its ENV, and its HEALTHCHECK. Then: what the tarball holds, the installed bin,
 * and `import { startServer } from 'enrollgraph'` with its types from the installed package.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newTenant, PROFILES, ROOT, tempDir } from '../helpers.js';
import { freePort } from '../free-port.js';

interface Stage {
  env: Record<string, string>;
  workdir: string;
  runs: string[];
  copies: { from?: string; src: string; dest: string }[];
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
  user?: string;
  volumes: string[];
  base: string;
}

/** The Dockerfile's stages, with what this test needs of each instruction (JSON-form ENTRYPOINT/CMD/HEALTHCHECK). */
function readDockerfile(path: string): Stage[] {
  const text = readFileSync(path, 'utf8').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [, instruction, rest] = /^(\w+)\s+(.*)$/.exec(line)!;
    const stage = stages.at(-1);
    switch (instruction!.toUpperCase()) {
      case 'FROM':
        stages.push({ env: {}, workdir: '/', runs: [], copies: [], entrypoint: [], cmd: [], healthcheck: [], volumes: [], base: rest!.split(/\s+/)[0]! });
        break;
      case 'ENV':
        for (const m of rest!.matchAll(/(\w+)=(\S+)/g)) stage!.env[m[1]!] = m[2]!;
        break;
      case 'WORKDIR':
        stage!.workdir = rest!;
        break;
      case 'RUN':
        stage!.runs.push(rest!);
        break;
      case 'COPY': {
        const from = /--from=(\S+)/.exec(rest!)?.[1];
        const [src, dest] = rest!.replace(/--from=\S+\s*/, '').split(/\s+/);
        stage!.copies.push({ ...(from ? { from } : {}), src: src!, dest: dest! });
        break;
      }
      case 'ENTRYPOINT':
        stage!.entrypoint = JSON.parse(rest!);
        break;
      case 'CMD':
        stage!.cmd = JSON.parse(rest!);
        break;
      case 'HEALTHCHECK':
        stage!.healthcheck = JSON.parse(/CMD\s+(\[.*\])$/.exec(rest!)![1]!);
        break;
      case 'USER':
        stage!.user = rest!;
        break;
      case 'VOLUME':
        stage!.volumes.push(rest!);
        break;
    }
  }
  return stages;
}

/** `COPY . .`: the tree without what .dockerignore names (top-level names and `*` globs, as used there). */
function copyContext(from: string, to: string): void {
  const patterns = readFileSync(join(from, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const ignored = patterns.map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`));
  cpSync(from, to, { recursive: true, filter: (src) => !ignored.some((re) => re.test(relative(from, src).split(sep).join('/'))) });
}

function sh(command: string, cwd: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const r = spawnSync('sh', ['-c', command], { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `${command}\n${r.stdout}\n${r.stderr}`);
  return r;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

describe('the package, built and installed by the Dockerfile’s commands', () => {
  const [build, run] = readDockerfile(join(ROOT, 'Dockerfile'));
  const work = tempDir('enrollgraph-package-');
  const context = join(work, 'context');
  const tmp = join(work, 'tmp'); // the image's /tmp
  const app = join(work, 'app'); // the run stage's WORKDIR
  const data = join(work, 'data'); // the /data volume
  let installOutput = '';
  let listing: string[] = [];
  /** A path of the image, as this test lays it out. */
  const local = (p: string) => p.replace(/^\/tmp(?=\/|$)/, tmp).replace(new RegExp(`^${run!.workdir}(?=/|$)`), app).replace(/^\/data(?=\/|$)/, data);

  before(() => {
    // The build stage: COPY . . and the RUN that packs (node_modules comes from this checkout, which
    // `npm ci` installed from the same lockfile).
    mkdirSync(tmp);
    copyContext(ROOT, context);
    symlinkSync(join(ROOT, 'node_modules'), join(context, 'node_modules'));
    const pack = build!.runs.find((r) => r.includes('npm pack'));
    assert.ok(pack, 'the build stage packs the package');
    sh(pack!.replaceAll('/tmp', tmp), context);
    listing = spawnSync('tar', ['-tzf', join(tmp, 'enrollgraph.tgz')], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));

    // The run stage: COPY --from=build, then its install RUN, offline from the npm cache.
    assert.deepEqual(run!.copies, [{ from: 'build', src: '/tmp/enrollgraph.tgz', dest: '/tmp/enrollgraph.tgz' }]);
    mkdirSync(app);
    const install = run!.runs.find((r) => r.startsWith('npm install'));
    assert.ok(install, 'the run stage installs with npm');
    assert.match(install!, /--omit=dev/);
    const r = sh(`${install!.replaceAll('/tmp/', `${tmp}/`)} --prefer-offline`, app, run!.env);
    installOutput = r.stdout + r.stderr;
    mkdirSync(data);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('the Dockerfile: Node 20 slim, production install, non-root user, /data volume, 0.0.0.0:8080, a health check on /readyz', () => {
    assert.match(build!.base, /^node:20-slim\b/);
    assert.match(run!.base, /^node:20-slim$/);
    assert.equal(run!.user, 'node');
    assert.deepEqual(run!.volumes, ['/data']);
    assert.equal(run!.env.ENROLLGRAPH_HOST, '0.0.0.0');
    assert.equal(run!.env.ENROLLGRAPH_PORT, '8080');
    assert.equal(run!.env.ENROLLGRAPH_DATA, '/data');
    assert.match(run!.healthcheck.join(' '), /\/readyz/);
  });

  it('the tarball ships the compiled code with its types, LICENSE and CHANGELOG, and no sources or tests', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin/enrollgraph.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/console/index.html']) {
      assert.ok(listing.includes(f), `${f} is in the package`);
    }
    assert.ok(listing.some((f) => f.startsWith('docs/') && f.endsWith('.md')));
    for (const f of listing) assert.doesNotMatch(f, /^(src|test|bench|scripts|console)\//, `${f} should not be in the package`);
    assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License/);
  });

  it('installs without EBADENGINE warnings or development dependencies, the way the Dockerfile does', () => {
    assert.doesNotMatch(installOutput, /EBADENGINE/, installOutput);
    const installed = join(app, 'node_modules');
    assert.ok(existsSync(join(installed, 'enrollgraph', 'dist', 'cli.js')));
    const names = new Set(filesUnder(installed).filter((f) => f.endsWith(`${sep}package.json`)).map((f) => {
      try {
        return (JSON.parse(readFileSync(join(installed, f), 'utf8')) as { name?: string }).name;
      } catch {
        return undefined;
      }
    }));
    for (const dev of ['typescript', 'tsx', 'esbuild', 'autocannon', '@azure/identity', 'playwright-core']) assert.ok(!names.has(dev), `${dev} is not installed`);
    // Source maps carry their sources: they point at no file the package leaves out.
    const maps = filesUnder(join(installed, 'enrollgraph', 'dist')).filter((f) => f.endsWith('.map'));
    assert.ok(maps.length > 10);
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(installed, 'enrollgraph', 'dist', m), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      assert.equal(map.sourcesContent?.length, map.sources.length, `${m} ships its sources`);
      assert.ok(map.sourcesContent!.every((s) => typeof s === 'string' && s.length > 0), m);
    }
  });

  it("starts with the Dockerfile's ENTRYPOINT, CMD and ENV, and passes its HEALTHCHECK", async () => {
    const port = await freePort(); // the image's 8080 may be taken on this machine
    const env = { ...process.env, ...run!.env, ENROLLGRAPH_DATA: local(run!.env.ENROLLGRAPH_DATA!), ENROLLGRAPH_PORT: String(port) };
    const [exe, ...args] = [...run!.entrypoint, ...run!.cmd].map(local);
    assert.equal(exe, 'node');
    const proc = spawn(process.execPath, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d));
    proc.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise((r) => proc.on('exit', r));
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        proc.stderr.on('data', () => {
          const m = /serving Microsoft Graph on (http\S+)\/v1\.0/.exec(out);
          if (m) resolve(m[1]!);
        });
        proc.on('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
      });
      assert.equal(banner, `http://0.0.0.0:${port}`, 'listens on every interface');
      const [hcExe, ...hcArgs] = run!.healthcheck;
      assert.equal(hcExe, 'node');
      const health = spawnSync(process.execPath, hcArgs, { env, encoding: 'utf8' });
      assert.equal(health.status, 0, `HEALTHCHECK: ${health.stderr}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { store: string }).store, 'sqlite');
      assert.ok(existsSync(join(data, 'enrollgraph.db')), 'the state is in the /data volume');
      const key = /admin key: (\S+)/.exec(out)?.[1];
      assert.ok(key, out);
      const token = spawnSync(process.execPath, [...args.slice(0, 1), 'token', '--url', `http://127.0.0.1:${port}`, '--tenant', newTenant(), '--admin-key', key], { encoding: 'utf8' });
      assert.equal(token.status, 0, token.stderr);
      const list = await fetch(`http://127.0.0.1:${port}${PROFILES}`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } });
      assert.equal(list.status, 200);
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
    // The health check fails once the server is gone.
    assert.equal(spawnSync(process.execPath, run!.healthcheck.slice(1), { env, encoding: 'utf8' }).status, 1);
  });

  it('the installed bin answers --version, and `import { startServer } from "enrollgraph"` works, with types', async () => {
    const bin = join(app, 'node_modules', '.bin', 'enrollgraph');
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const tenant = newTenant();
    const program = `
      import { startServer } from 'enrollgraph';
      const server = await startServer();
      const token = await server.mintToken({ tenant: '${tenant}' });
      const res = await fetch(server.url + '${PROFILES}', { method: 'POST', headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' }, body: JSON.stringify({ displayName: 'From the package' }) });
      console.log(res.status, (await res.json()).accountId);
      await server.close();`;
    writeFileSync(join(app, 'check.mjs'), program);
    const r = spawnSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `201 ${tenant}`);

    // A TypeScript consumer compiles against the shipped declarations (and would not with a wrong call).
    writeFileSync(join(app, 'check.ts'), `import { startServer, type EnrollgraphServer } from 'enrollgraph';
const server: EnrollgraphServer = await startServer({ store: 'memory', throttling: false, maxPageSize: 50 });
const url: string = server.url;
await server.clock.set('2030-01-01T00:00:00Z', { frozen: true });
console.log(url, await server.mintToken({ tenant: '${tenant}', scopes: ['DeviceManagementConfiguration.Read.All'] }));
`);
    writeFileSync(join(app, 'bad.ts'), `import { startServer } from 'enrollgraph';\nawait startServer({ port: 'eighty' });\n`);
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node'];
    writeFileSync(join(app, 'package.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')), type: 'module' }));
    const good = spawnSync(process.execPath, [tsc, ...flags, 'check.ts'], { cwd: app, encoding: 'utf8' });
    assert.equal(good.status, 0, good.stdout + good.stderr);
    const bad = spawnSync(process.execPath, [tsc, ...flags, 'bad.ts'], { cwd: app, encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout, /bad\.ts.*'string' is not assignable to type 'number'/);
  });
});
