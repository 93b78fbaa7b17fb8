/**
 * Property-based: random $filter / $orderby / $top queries against the server must return exactly
 * what the same query evaluated in plain TypeScript over the same rows returns, page after page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseIsoToUs } from '../../src/time.js';
import { call, createProfile, newTenant, PROFILES, startServer, type TestServer } from '../helpers.js';

type Row = Record<string, string | number | null>;
type Prop = 'id' | 'displayName' | 'description' | 'createdDateTime' | 'lastModifiedDateTime' | 'tokenExpirationDateTime' | 'enrolledDeviceCount' | 'tokenValue';
const STRING_PROPS: Prop[] = ['id', 'displayName', 'description', 'tokenValue'];
const DATE_PROPS: Prop[] = ['createdDateTime', 'lastModifiedDateTime', 'tokenExpirationDateTime'];
const ALL_PROPS: Prop[] = [...STRING_PROPS, ...DATE_PROPS, 'enrolledDeviceCount'];

type Lit = { type: 'string'; v: string } | { type: 'date'; v: string } | { type: 'int'; v: number } | { type: 'null' };
type F =
  | { k: 'cmp'; op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'; p: Prop; lit: Lit; flip: boolean }
  | { k: 'in'; p: Prop; lits: Lit[] }
  | { k: 'fn'; fn: 'startswith' | 'endswith' | 'contains'; p: Prop; v: string }
  | { k: 'const'; v: boolean }
  | { k: 'not'; a: F }
  | { k: 'and' | 'or'; a: F; b: F };

const ALPHABET = ['a', 'b', 'A', "'", '*', '%', '_', '[', '?', ' ', 'é'];
const word = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 4 }).map((a) => a.join(''));

function kind(p: Prop): 'string' | 'date' | 'int' {
  return STRING_PROPS.includes(p) ? 'string' : DATE_PROPS.includes(p) ? 'date' : 'int';
}

function literalText(l: Lit): string {
  switch (l.type) {
    case 'string':
      return `'${l.v.replace(/'/g, "''")}'`;
    case 'date':
      return l.v;
    case 'int':
      return Number.isNaN(l.v) ? 'NaN' : l.v === Infinity ? 'INF' : l.v === -Infinity ? '-INF' : String(l.v);
    case 'null':
      return 'null';
  }
}

function render(f: F): string {
  switch (f.k) {
    case 'cmp': {
      const flipOp = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' }[f.op];
      return f.flip ? `${literalText(f.lit)} ${flipOp} ${f.p}` : `${f.p} ${f.op} ${literalText(f.lit)}`;
    }
    case 'in':
      return `${f.p} in (${f.lits.map(literalText).join(', ')})`;
    case 'fn':
      return `${f.fn}(${f.p}, '${f.v.replace(/'/g, "''")}')`;
    case 'const':
      return String(f.v);
    case 'not':
      return `not (${render(f.a)})`;
    case 'and':
    case 'or':
      return `(${render(f.a)}) ${f.k} (${render(f.b)})`;
  }
}

function value(row: Row, p: Prop): string | number | null {
  const v = row[p] ?? null;
  if (kind(p) === 'date') return parseIsoToUs(v as string)!;
  return v;
}

function litValue(l: Lit): string | number | null {
  if (l.type === 'null') return null;
  if (l.type === 'date') return parseIsoToUs(l.v)!;
  return l.v;
}

function evaluate(f: F, row: Row): boolean {
  switch (f.k) {
    case 'cmp': {
      const v = value(row, f.p);
      const x = litValue(f.lit);
      if (x === null) return f.op === 'eq' ? v === null : v !== null;
      if (f.op === 'eq') return v !== null && v === x;
      if (f.op === 'ne') return v === null || v !== x;
      if (v === null) return false;
      return f.op === 'gt' ? v > x : f.op === 'ge' ? v >= x : f.op === 'lt' ? v < x : v <= x;
    }
    case 'in': {
      const v = value(row, f.p);
      return f.lits.some((l) => (litValue(l) === null ? v === null : v !== null && v === litValue(l)));
    }
    case 'fn': {
      const v = value(row, f.p);
      if (typeof v !== 'string') return false;
      return f.fn === 'startswith' ? v.startsWith(f.v) : f.fn === 'endswith' ? v.endsWith(f.v) : v.includes(f.v);
    }
    case 'const':
      return f.v;
    case 'not':
      return !evaluate(f.a, row);
    case 'and':
      return evaluate(f.a, row) && evaluate(f.b, row);
    case 'or':
      return evaluate(f.a, row) || evaluate(f.b, row);
  }
}

function compare(a: Row, b: Row, keys: { p: Prop; desc: boolean }[]): number {
  // Without $orderby the server orders by creation time, then id.
  const order = keys.length ? keys : [{ p: 'createdDateTime' as Prop, desc: false }];
  for (const { p, desc } of [...order, { p: 'id' as Prop, desc: false }]) {
    const x = value(a, p);
    const y = value(b, p);
    if (x === y) continue;
    // Nulls first ascending, last descending.
    if (x === null) return desc ? 1 : -1;
    if (y === null) return desc ? -1 : 1;
    const c = x < y ? -1 : 1;
    return desc ? -c : c;
  }
  return 0;
}

describe('$filter/$orderby/$top agree with a plain TypeScript evaluation', () => {
  let server: TestServer;
  let token: string;
  let rows: Row[];

  before(async () => {
    server = await startServer({ args: ['--max-page-size', '50'] });
    token = await server.token({ tenantId: newTenant() });
    const names = ['a', 'ab', "a'b", 'b*', 'A', 'b%_', 'é', '[a]', 'a?', 'ba', 'b a'];
    for (let i = 0; i < 40; i++) {
      const p = await createProfile(server.url, token, {
        displayName: names[i % names.length]!,
        description: i % 3 === 0 ? null : names[(i * 7) % names.length]!,
      });
      if (i % 4 === 0) {
        await call(server.url, 'POST', `${PROFILES}/${p.id}/createToken`, { token, body: { tokenValidityInSeconds: 60 + (i % 3) } });
      }
      if (i % 8 === 0) await call(server.url, 'POST', `${PROFILES}/${p.id}/revokeToken`, { token });
    }
    const all = await call(server.url, 'GET', `${PROFILES}?$top=50`, { token });
    rows = all.json.value;
    assert.equal(rows.length, 40);
  });
  after(() => server.dispose());

  const sample = <T>(pick: (r: Row) => T) => fc.integer({ min: 0, max: 39 }).map((i) => pick(rows[i]!));

  const lit = (p: Prop): fc.Arbitrary<Lit> => {
    switch (kind(p)) {
      case 'string':
        return fc.oneof(
          word.map((v): Lit => ({ type: 'string', v })),
          sample((r) => r[p]).map((v): Lit => (v === null ? { type: 'null' } : { type: 'string', v: v as string })),
        );
      case 'date':
        return fc.oneof(
          sample((r) => r[p] as string).map((v): Lit => ({ type: 'date', v })),
          fc.constantFrom<Lit>({ type: 'date', v: '0001-01-01T00:00:00Z' }, { type: 'date', v: '2030-01-01T00:00:00+01:00' }, { type: 'null' }),
        );
      case 'int':
        // Integers, and literals compared by value: decimals, out-of-range integers, INF, NaN.
        return fc.oneof(fc.integer({ min: -2, max: 2 }), fc.constantFrom(-1.5, -0.5, 0.5, 1.5, 3e9, -3e9, Infinity, -Infinity, NaN)).map((v): Lit => ({ type: 'int', v }));
    }
  };

  const leaf: fc.Arbitrary<F> = fc.constantFrom(...ALL_PROPS).chain((p) =>
    fc.oneof(
      fc.record({ k: fc.constant('cmp' as const), op: fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le' as const), p: fc.constant(p), lit: lit(p), flip: fc.boolean() })
        .filter((f) => f.lit.type !== 'null' || f.op === 'eq' || f.op === 'ne'),
      fc.record({ k: fc.constant('in' as const), p: fc.constant(p), lits: fc.array(lit(p), { minLength: 1, maxLength: 3 }) }),
      ...(kind(p) === 'string'
        ? [fc.record({ k: fc.constant('fn' as const), fn: fc.constantFrom('startswith', 'endswith', 'contains' as const), p: fc.constant(p), v: fc.oneof(word, sample((r) => String(r[p] ?? 'x').slice(0, 2)).filter((s) => s.length > 0)) })]
        : []),
    ),
  );

  const filter: fc.Arbitrary<F> = fc.letrec<{ f: F }>((tie) => ({
    f: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({ k: fc.constant('not' as const), a: tie('f') }),
      fc.record({ k: fc.constantFrom('and', 'or' as const), a: tie('f'), b: tie('f') }),
      fc.record({ k: fc.constant('const' as const), v: fc.boolean() }),
    ),
  })).f;

  const orderBy = fc.uniqueArray(fc.record({ p: fc.constantFrom(...ALL_PROPS.filter((p) => p !== 'id')), desc: fc.boolean() }), {
    maxLength: 2,
    selector: (k) => k.p,
  });

  it('matches for 120 random queries, following every nextLink', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(filter, { nil: undefined }), orderBy, fc.integer({ min: 1, max: 60 }), async (f, keys, top) => {
        const params = new URLSearchParams();
        if (f) params.set('$filter', render(f));
        if (keys.length) params.set('$orderby', keys.map((k) => `${k.p} ${k.desc ? 'desc' : 'asc'}`).join(','));
        params.set('$top', String(top));
        params.set('$count', 'true');
        let url: string | undefined = `${server.url}${PROFILES}?${params.toString().replace(/\+/g, '%20')}`;
        const got: string[] = [];
        let count: number | undefined;
        let pages = 0;
        while (url) {
          const res = await call(url, 'GET', '', { token });
          assert.equal(res.status, 200, `${decodeURIComponent(url)} → ${res.text}`);
          count ??= res.json['@odata.count'];
          assert.ok(res.json.value.length <= Math.min(top, 50));
          got.push(...res.json.value.map((r: Row) => r.id));
          url = res.json['@odata.nextLink'];
          assert.ok(++pages <= 41, 'paging terminates');
        }
        const want = rows.filter((r) => !f || evaluate(f, r)).sort((a, b) => compare(a, b, keys)).map((r) => r.id);
        assert.deepEqual(got, want, `filter: ${f ? render(f) : '-'} orderby: ${JSON.stringify(keys)} top ${top}`);
        assert.equal(count, want.length);
      }),
      { numRuns: 120, seed: 20261129, verbose: 1 },
    );
  });
});
