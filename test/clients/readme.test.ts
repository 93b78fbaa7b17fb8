/**
 * The README's "Use it from your code" snippets are the files the client acceptance suite runs:
 * each `<!-- snippet: PATH -->` block must equal that file, and every snippet file must be shown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

test('README snippets equal test/clients/snippets/*', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/<!-- snippet: (\S+) -->\n```ts\n([\s\S]*?)```\n/g)];
  const shown = new Set<string>();
  for (const [, path, body] of blocks) {
    assert.equal(body, readFileSync(join(ROOT, path!), 'utf8'), `README's copy of ${path} is out of date`);
    shown.add(path!);
  }
  const files = readdirSync(join(ROOT, 'test', 'clients', 'snippets')).map((f) => `test/clients/snippets/${f}`);
  assert.ok(files.length >= 3);
  for (const f of files) assert.ok(shown.has(f), `${f} is not shown in the README`);
});

test("the README's identity file example is a valid identity file", async () => {
  const { parse } = await import('yaml');
  const { validateIdentityFile } = await import('../../src/authority/identities.js');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### TLS and the local authority'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, 'the example is there');
  const file = validateIdentityFile(parse(yaml), 'README.md');
  assert.equal(file.tenants.length, 1);
  assert.equal(file.apps.length, 1);
  assert.equal(file.users.length, 1);
});
