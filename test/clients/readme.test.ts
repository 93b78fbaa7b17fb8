/**
 * docs/clients.md's JavaScript snippets are the files the client acceptance suite runs: each
 * `<!-- snippet: PATH -->` block must equal that file, and every snippet file must be shown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

test('docs/clients.md snippets equal test/clients/snippets/*', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'clients.md'), 'utf8');
  const blocks = [...doc.matchAll(/<!-- snippet: (\S+) -->\n```ts\n([\s\S]*?)```\n/g)];
  const shown = new Set<string>();
  for (const [, path, body] of blocks) {
    assert.equal(body, readFileSync(join(ROOT, path!), 'utf8'), `docs/clients.md's copy of ${path} is out of date`);
    shown.add(path!);
  }
  const files = readdirSync(join(ROOT, 'test', 'clients', 'snippets')).map((f) => `test/clients/snippets/${f}`);
  assert.ok(files.length >= 3);
  for (const f of files) assert.ok(shown.has(f), `${f} is not shown in docs/clients.md`);
});

test("docs/authority-tls.md's identity file example is a valid identity file", async () => {
  const { parse } = await import('yaml');
  const { validateIdentityFile } = await import('../../src/authority/identities.js');
  const section = readFileSync(join(ROOT, 'docs', 'authority-tls.md'), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, 'the example is there');
  const file = validateIdentityFile(parse(yaml), 'docs/authority-tls.md');
  assert.equal(file.tenants.length, 1);
  assert.equal(file.apps.length, 1);
  assert.equal(file.users.length, 1);
});
