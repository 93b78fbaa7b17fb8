#!/usr/bin/env node
// Runs every test file under test/ (any depth) with node's test runner, TypeScript loaded by tsx.
//
// `npm test` runs two passes: every test on SQLite (except test/blackbox/postgres-*, which need
// PostgreSQL by nature), then the black-box suite again with ENROLLGRAPH_TEST_STORE=postgres: each
// server on a fresh PostgreSQL database (ENROLLGRAPH_TEST_PG_URL, default 127.0.0.1:5432 as user
// postgres). ENROLLGRAPH_TEST_STORES=sqlite (or =postgres) runs one pass only.
//
// `npm test -- test/blackbox` (or file paths) narrows the run to those files, once, on the store the
// environment chooses (ENROLLGRAPH_TEST_STORE=postgres for PostgreSQL).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';

function collect(path) {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path).sort().flatMap((name) => collect(join(path, name)));
}

const roots = process.argv.slice(2);
const passes = [];
if (roots.length) {
  passes.push({ name: process.env.ENROLLGRAPH_TEST_STORE ?? 'sqlite', files: roots.flatMap(collect), env: {} });
} else {
  const stores = (process.env.ENROLLGRAPH_TEST_STORES ?? 'sqlite,postgres').split(',').map((s) => s.trim());
  const pgOnly = (f) => f.includes(`${sep}blackbox${sep}postgres-`);
  if (stores.includes('sqlite')) passes.push({ name: 'SQLite', files: collect('test').filter((f) => !pgOnly(f)), env: { ENROLLGRAPH_TEST_STORE: 'sqlite' } });
  if (stores.includes('postgres')) passes.push({ name: 'PostgreSQL', files: collect(join('test', 'blackbox')), env: { ENROLLGRAPH_TEST_STORE: 'postgres' } });
}
if (passes.length === 0 || passes.some((p) => p.files.length === 0)) {
  console.error('no test files found');
  process.exit(1);
}

const tapDir = mkdtempSync(join(tmpdir(), 'enrollgraph-tests-'));
const totals = { pass: 0, fail: 0, skipped: 0 };
let status = 0;
try {
  for (const [i, pass] of passes.entries()) {
    if (passes.length > 1) console.log(`\n=== ${pass.name}: ${pass.files.length} test files ===\n`);
    const tap = join(tapDir, `pass-${i}.tap`);
    const result = spawnSync(
      process.execPath,
      [
        '--import', 'tsx', '--test', '--test-concurrency=2',
        '--test-reporter=spec', '--test-reporter-destination=stdout',
        '--test-reporter=tap', `--test-reporter-destination=${tap}`,
        ...pass.files,
      ],
      { stdio: 'inherit', env: { ...process.env, ...pass.env } },
    );
    if (result.status !== 0) status = result.status ?? 1;
    let text = '';
    try {
      text = readFileSync(tap, 'utf8');
    } catch {
      status ||= 1;
    }
    const count = (key) => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    totals.pass += count('pass');
    totals.fail += count('fail') + count('cancelled');
    totals.skipped += count('skipped');
  }
} finally {
  rmSync(tapDir, { recursive: true, force: true });
}
if (passes.length > 1) {
  console.log(`\n${passes.map((p) => p.name).join(' + ')}:`);
  console.log(`total: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
}
process.exit(status);
