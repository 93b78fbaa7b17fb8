/**
 * The OASIS OData ABNF test cases adapted to androidForWorkEnrollmentProfile (kept next to the
 * repository, in `shared/conformance/odata-abnf/`; its README says how to read a case), each sent to
 * a real server: a 200 must be a JSON `value` array (a text/plain integer for `/$count`), a 400 the
 * Graph error envelope; a 5xx or any other answer fails the case.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, createProfile, newTenant, PROFILES, ROOT, startServer, type Call, type TestServer } from '../helpers.js';

const RELATIVE = join('shared', 'conformance', 'odata-abnf', 'cases.json');

/** Next to the repository; from a git worktree elsewhere, next to its main checkout. */
function casesFile(): string | undefined {
  const near = join(ROOT, '..', RELATIVE);
  if (existsSync(near)) return near;
  try {
    const common = execFileSync('git', ['rev-parse', '--git-common-dir'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const main = join(dirname(resolve(ROOT, common)), '..', RELATIVE);
    return existsSync(main) ? main : undefined;
  } catch {
    return undefined;
  }
}

const CASES = casesFile();

interface Case {
  name: string;
  cat: string;
  expect?: 200 | 400;
  path?: string;
  query?: string;
  params?: [string, string | null][];
}

const suite = CASES ? (JSON.parse(readFileSync(CASES, 'utf8')) as { cases: Case[] }).cases.filter((c) => c.cat !== 'skip') : [];

/** Each name and value percent-encoded, as the README says; a null value is a bare name. */
function queryString(params: [string, string | null][]): string {
  return params.map(([n, v]) => (v === null ? encodeURIComponent(n) : `${encodeURIComponent(n)}=${encodeURIComponent(v)}`)).join('&');
}

/** Why an answer does not meet the case, or undefined when it does. */
function mismatch(c: Case, res: Call): string | undefined {
  if (res.status !== c.expect) return `expected ${c.expect}, got ${res.status} ${res.text.slice(0, 300)}`;
  const type = res.headers.get('content-type') ?? '';
  if (c.expect === 200) {
    if (c.path === '/$count') return type.startsWith('text/plain') && /^\d+$/.test(res.text) ? undefined : `not a text/plain count: ${type} ${res.text}`;
    return type.startsWith('application/json') && Array.isArray(res.json?.value) ? undefined : `no JSON value array: ${type} ${res.text.slice(0, 300)}`;
  }
  const e = res.json?.error;
  const inner = e?.innerError;
  const ok =
    type.startsWith('application/json') &&
    Object.keys(res.json ?? {}).join() === 'error' &&
    typeof e.code === 'string' && e.code !== '' &&
    typeof e.message === 'string' && e.message !== '' &&
    typeof inner?.date === 'string' &&
    inner['request-id'] === res.headers.get('request-id') && typeof inner['request-id'] === 'string' &&
    typeof inner['client-request-id'] === 'string';
  return ok ? undefined : `not the Graph error envelope: ${type} ${res.text.slice(0, 300)}`;
}

describe('OData ABNF conformance cases', { skip: suite.length === 0 ? `no ${RELATIVE} next to the repository (or its main checkout)` : false }, () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startServer();
    token = await server.token({ tenantId: newTenant() });
    // A few rows, so comparisons have something to match or not.
    for (const displayName of ['Milk', "O'Neil", 'Hugo', 'Alfreds Futterkiste']) await createProfile(server.url, token, { displayName, description: displayName.toLowerCase() });
  });
  after(() => server.dispose());

  it('every non-skipped case gets the answer a conforming server gives', async () => {
    const failures: string[] = [];
    let next = 0;
    // A few requests in flight: quick, without crowding a shared machine.
    const worker = async () => {
      for (let i = next++; i < suite.length; i = next++) {
        const c = suite[i]!;
        const qs = queryString(c.params ?? []);
        const res = await call(server.url, 'GET', `${PROFILES}${c.path ?? ''}${qs ? `?${qs}` : ''}`, { token });
        const why = mismatch(c, res);
        if (why) failures.push(`#${i} ${c.name}: ${c.query} → ${why}`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    const passed = suite.length - failures.length;
    console.log(`ABNF: ${passed} of ${suite.length} non-skipped cases pass`);
    assert.equal(failures.length, 0, `${failures.length} of ${suite.length} cases fail:\n${failures.join('\n')}`);
  });
});
