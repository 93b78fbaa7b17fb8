/**
 * The documentation does what it says: the README's quick start, pasted into a shell, gets a profile
 * with a QR code PNG that decodes; docs/testing.md's node:test example passes; the README stays
 * short and keeps the set-up commands; every link leads to a file; docs/configuration.md names every
 * flag and variable that `--help` lists.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { BIN, ROOT, tempDir } from '../helpers.js';
import { freePort } from '../free-port.js';
import { decodeQrPng } from '../qr-decode.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));

/** A markdown section: from its heading to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `no section '${heading}'`);
  const level = /^#+/.exec(heading)![0].length;
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

const blocks = (text: string, lang: string) => [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

/** A folder where `npx enrollgraph` and `import 'enrollgraph'` find this checkout, as if installed. */
function projectDir(): string {
  const dir = tempDir('enrollgraph-docs-');
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'enrollgraph'));
  symlinkSync(join('..', 'enrollgraph', 'bin', 'enrollgraph.js'), join(dir, 'node_modules', '.bin', 'enrollgraph'));
  return dir;
}

describe('the README', () => {
  it('is at most 300 lines and keeps the two set-up commands', () => {
    assert.ok(readme.split('\n').length <= 300, `${readme.split('\n').length} lines`);
    assert.match(readme, /^npm ci && npm start\b/m);
    assert.match(readme, /^npm ci && npm test\b/m);
  });

  it('links only to files that exist, as do the docs', () => {
    const check = (file: string) => {
      const text = readFileSync(file, 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        assert.ok(existsSync(join(dirname(file), target!)), `${file} links to ${target}, which does not exist`);
      }
    };
    check(join(ROOT, 'README.md'));
    for (const f of docs) check(join(ROOT, 'docs', f));
    for (const f of ['configuration', 'control-api', 'authority-tls', 'clients', 'testing', 'design', 'performance', 'troubleshooting']) {
      assert.ok(readme.includes(`](docs/${f}.md)`), `the README links to docs/${f}.md`);
    }
  });

  it("quick start: pasted into a shell against a fresh server, it ends with a profile whose QR code PNG decodes to its qrCodeContent", async (t) => {
    const jq = spawnSync('jq', ['--version']);
    assert.equal(jq.status, 0, 'the quick start needs jq (apt-get install -y jq; .ci/run installs it)');
    const port = await freePort(); // the README's 8080 may be taken on this machine
    const script = blocks(section(readme, '## Quick start'), 'sh').join('\n').replaceAll('8080', String(port));
    assert.match(script, /--memory/);
    assert.match(script, /--throttling off/);
    assert.match(script, /jq -r \.id/);
    const cwd = projectDir();
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('ENROLLGRAPH_')) delete env[k];
    const shell = spawn('bash', ['-eo', 'pipefail', '-c', script], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    shell.stdout.on('data', (d: Buffer) => (out += d));
    shell.stderr.on('data', (d: Buffer) => (out += d));
    // The shell exits after the last command; the server it started in the background is in its
    // process group, and stops with it below. A guard, not a measurement: a script stuck waiting
    // for a server that never comes up fails the test instead of hanging it.
    const guard = setTimeout(() => process.kill(-shell.pid!, 'SIGKILL'), 180_000);
    const code = await new Promise<number | null>((resolve) => shell.on('exit', resolve));
    clearTimeout(guard);
    t.after(() => {
      try {
        process.kill(-shell.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    });
    assert.equal(code, 0, out);
    const profile = JSON.parse(readFileSync(join(cwd, 'profile.json'), 'utf8')) as Record<string, string>;
    assert.equal(profile.displayName, 'Lobby kiosks');
    assert.match(profile.tokenValue!, /^[A-Z]{20}$/);
    const qr = decodeQrPng(readFileSync(join(cwd, 'qr.png')));
    assert.ok(qr, 'qr.png holds a QR code');
    assert.equal(qr.text, profile.qrCodeContent);
    assert.ok(qr.text.includes(profile.tokenValue!), 'the QR code carries the enrollment token');
    assert.match(out, new RegExp(`"tokenValue": "${profile.tokenValue}"`), 'the last command shows the token');
  });
});

describe('docs/testing.md', () => {
  it('its node:test example passes', () => {
    const text = readFileSync(join(ROOT, 'docs', 'testing.md'), 'utf8');
    const example = /<!-- runs in the suite: node:test -->\n```js\n([\s\S]*?)```/.exec(text)?.[1];
    assert.ok(example, 'the example is marked');
    assert.match(example, /from 'enrollgraph'/);
    const dir = projectDir();
    writeFileSync(join(dir, 'enrollment.test.mjs'), example);
    // Without NODE_TEST_CONTEXT, which would make it report to this test runner instead of printing.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', 'enrollment.test.mjs'], { cwd: dir, encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^# pass 1$/m);
    assert.match(r.stdout, /^# fail 0$/m);
  });
});

describe('docs/configuration.md', () => {
  it('names every flag and environment variable that --help lists, for every command', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    for (const command of ['serve', 'token', 'tenant', 'admin-key', 'enroll', 'identities']) {
      const help = spawnSync(process.execPath, [BIN, command, '--help'], { encoding: 'utf8' }).stdout;
      const flags = [...help.matchAll(/^ {2}--([\w-]+)[^\n]*? (ENROLLGRAPH_\w+)/gm)];
      assert.ok(flags.length > 0, command);
      for (const [, flag, variable] of flags) {
        assert.ok(doc.includes(`--${flag}`), `docs/configuration.md names ${command} --${flag}`);
        assert.ok(doc.includes(variable!), `docs/configuration.md names ${variable}`);
      }
    }
  });
});
