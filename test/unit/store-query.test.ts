/**
 * The store's condition compiler: constants, Boolean parameters per dialect, flattened and/or, `in`
 * with nulls, and the deepest filter the parser's limits let through, run on a real SQLite.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { FILTER_LIMITS, parseFilter, type FilterSchema } from '../../src/graph/filter.js';
import { toCondition, type ColumnFilterProperty } from '../../src/graph/query.js';
import type { ColumnDef } from '../../src/model/edm.js';
import { compileCount, type Condition } from '../../src/store/query.js';

const name: ColumnDef = { name: 'name', sql: 'text', notNull: false };
const n: ColumnDef = { name: 'n', sql: 'int', notNull: false };
const flag: ColumnDef = { name: 'flag', sql: 'int', notNull: false };

const PROPS: ColumnFilterProperty[] = [
  { name: 'name', type: { kind: 'string' }, filterable: true, nullable: true, column: name },
  { name: 'n', type: { kind: 'int32' }, filterable: true, nullable: true, column: n },
  { name: 'flag', type: { kind: 'boolean' }, filterable: true, nullable: true, column: flag },
];
const schema: FilterSchema<ColumnFilterProperty> = { typeName: 'row', property: (p) => PROPS.find((x) => x.name === p.toLowerCase()) };

type Row = { name: string | null; n: number | null; flag: boolean | null };
const ROWS: Row[] = [
  { name: 'a', n: 1, flag: true },
  { name: 'b', n: 2, flag: false },
  { name: null, n: null, flag: null },
  { name: 'c', n: -3, flag: true },
];

function database(): Database.Database {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (tenant TEXT NOT NULL, name TEXT, n INTEGER, flag INTEGER)');
  const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?)');
  for (const r of ROWS) insert.run('T', r.name, r.n, r.flag === null ? null : Number(r.flag));
  return db;
}

function count(db: Database.Database, where: Condition): number {
  const { sql, params } = compileCount('sqlite', 't', 'tenant', 'T', where);
  return (db.prepare(sql).get(...params) as { n: number }).n;
}

const filter = (text: string) => toCondition(parseFilter(text, schema));

describe('store condition compiler', () => {
  it('constants compile to TRUE/FALSE; Booleans are 1/0 on SQLite and true/false on PostgreSQL', () => {
    assert.match(compileCount('sqlite', 't', 'tenant', 'T', { kind: 'const', value: true }).sql, /AND TRUE$/);
    assert.match(compileCount('postgres', 't', 'tenant', 'T', { kind: 'const', value: false }).sql, /AND FALSE$/);
    const cond: Condition = { kind: 'compare', op: 'eq', column: flag, value: true };
    assert.deepEqual(compileCount('sqlite', 't', 'tenant', 'T', cond).params, ['T', 1]);
    assert.deepEqual(compileCount('postgres', 't', 'tenant', 'T', cond).params, ['T', true]);
  });

  it('a chain of one operator is one parenthesised list, even when nested in the condition', () => {
    const eq = (v: number): Condition => ({ kind: 'compare', op: 'eq', column: { ...n, notNull: true }, value: v });
    const { sql } = compileCount('sqlite', 't', 'tenant', 'T', {
      kind: 'or',
      operands: [eq(1), { kind: 'or', operands: [eq(2), { kind: 'or', operands: [eq(3)] }] }, { kind: 'and', operands: [eq(4), eq(5)] }],
    });
    assert.match(sql, /AND \(\(n = \?\) OR \(n = \?\) OR \(n = \?\) OR \(\(n = \?\) AND \(n = \?\)\)\)$/);
    assert.match(compileCount('sqlite', 't', 'tenant', 'T', filter('n in (1, 2, 3)')).sql, /IN \(\?, \?, \?\)/);
  });

  it('answers as the two-valued semantics say, nulls included', () => {
    const db = database();
    const cases: [string, number][] = [
      ['flag', 2], ['not flag', 2], ['flag eq false', 1], ['flag ne true', 2], ['flag eq null', 1], ['flag in (false, null)', 2],
      ["name in ('a', 'c')", 2], ["name in ('a', null)", 2], ["not (name in ('a', 'c'))", 2], ['name in (null)', 1], ['name in ()', 0],
      ['n eq 1.0', 1], ['n eq 1.5', 0], ['n ne 1.5', 4], ['n gt 1.5', 1], ['n lt 1.5', 2], ['n lt INF', 3], ['n gt -INF', 3], ['n ne NaN', 4],
      ['n eq NaN', 0], ['not (n eq NaN)', 4], ['n lt 3000000000', 3], ['not (n lt 3000000000)', 1], ['n in (1, 2.5, -3)', 2], ['true', 4], ['false', 0],
    ];
    for (const [text, want] of cases) assert.equal(count(db, filter(text)), want, text);
    db.close();
  });

  it('the deepest and widest filter within the limits runs on SQLite (its expression tree stops at depth 1000)', () => {
    const { maxDepth, maxTerms } = FILTER_LIMITS;
    // Each level `not (… or`, the nested part first in each chain, where SQLite's left-deep trees are deepest.
    const levels = maxDepth / 2;
    const perLevel = Math.floor(maxTerms / levels) - 1;
    let text = 'name eq null';
    for (let i = 0; i < levels; i++) {
      const rest = Array.from({ length: perLevel }, (_, j) => (i % 2 ? `name eq 'x${j}'` : `n gt ${j}.5`)).join(i % 2 ? ' or ' : ' and ');
      text = `not (${text} ${i % 2 ? 'or' : 'and'} ${rest})`;
    }
    const tree = parseFilter(text, schema);
    assert.ok(text.length <= FILTER_LIMITS.maxLength);
    const db = database();
    assert.equal(typeof count(db, toCondition(tree)), 'number');
    // A flat chain of every term, and every term in one `in`.
    const chain = Array.from({ length: maxTerms }, (_, j) => `name eq 'y${j}'`).join(' or ');
    assert.equal(count(db, filter(chain)), 0);
    assert.equal(count(db, filter(`not (n in (${Array.from({ length: maxTerms }, (_, j) => j + 10).join(',')}))`)), 4);
    db.close();
  });
});
