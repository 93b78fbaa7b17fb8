/**
 * Queries over a tenant's rows, in column terms, compiled to parameterised SQL for either dialect.
 * Values only ever travel as parameters; identifiers come from the model's column definitions.
 */
import type { ColumnDef } from '../model/edm.js';
import type { Dialect } from '../model/codecs.js';

/** Booleans go to SQLite as 1/0 (its Boolean columns are integers) and to PostgreSQL as true/false. */
export type Value = string | number | boolean | null;
export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type Condition =
  | { kind: 'const'; value: boolean }
  | { kind: 'and' | 'or'; operands: Condition[] }
  | { kind: 'not'; operand: Condition }
  | { kind: 'compare'; op: CompareOp; column: ColumnDef; value: Value }
  | { kind: 'in'; column: ColumnDef; values: Value[] }
  | { kind: 'match'; mode: 'startswith' | 'endswith' | 'contains'; column: ColumnDef; value: string };

export interface OrderKey {
  column: ColumnDef;
  desc: boolean;
}

export interface RowQuery {
  tenantId: string;
  where?: Condition;
  /** Must end with a unique key (the id) so the order is total. */
  orderBy: OrderKey[];
  /** Keyset position: the order-key values of the last row already seen. */
  after?: Value[];
  limit: number;
  offset?: number;
}

export interface Compiled {
  sql: string;
  params: Value[];
}

/**
 * Null semantics follow OData, two-valued: `x eq null` is true for nulls, `x ne 'a'` is true for
 * nulls, and a comparison of null with gt/ge/lt/le or a string function is false (never unknown), so
 * `not` negates exactly. Nulls sort first ascending and last descending.
 */
class Builder {
  readonly params: Value[] = [];
  constructor(private readonly dialect: Dialect) {}

  p(v: Value): string {
    this.params.push(typeof v === 'boolean' && this.dialect === 'sqlite' ? Number(v) : v);
    return this.dialect === 'postgres' ? `$${this.params.length}` : '?';
  }

  private col(c: ColumnDef): string {
    return c.sql === 'text' && this.dialect === 'postgres' ? `${c.name} COLLATE "C"` : c.name;
  }

  private two(c: ColumnDef, sql: string): string {
    // A comparison on a nullable column can be NULL; make it false so NOT stays exact.
    return c.notNull ? sql : `COALESCE(${sql}, FALSE)`;
  }

  /**
   * Each level of nesting here is a level of SQLite's expression tree, which stops at 1000: chains of
   * one operator are one parenthesised list, and `in` is one SQL IN, however many operands.
   */
  condition(c: Condition): string {
    switch (c.kind) {
      case 'const':
        return c.value ? 'TRUE' : 'FALSE';
      case 'and':
      case 'or': {
        const parts = flatten(c.kind, c.operands).map((o) => this.condition(o));
        return parts.length ? `(${parts.join(` ${c.kind.toUpperCase()} `)})` : c.kind === 'and' ? 'TRUE' : 'FALSE';
      }
      case 'not':
        return `(NOT ${this.condition(c.operand)})`;
      case 'in':
        return this.in(c.column, c.values);
      case 'compare':
        return this.compare(c.column, c.op, c.value);
      case 'match':
        return this.match(c.column, c.mode, c.value);
    }
  }

  compare(c: ColumnDef, op: CompareOp, v: Value): string {
    const col = this.col(c);
    if (v === null) {
      if (op === 'eq') return `(${c.name} IS NULL)`;
      if (op === 'ne') return `(${c.name} IS NOT NULL)`;
      return 'FALSE';
    }
    if (op === 'ne') return c.notNull ? `(${col} <> ${this.p(v)})` : `(${c.name} IS NULL OR ${col} <> ${this.p(v)})`;
    const sqlOp = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
    return this.two(c, `(${col} ${sqlOp} ${this.p(v)})`);
  }

  private in(c: ColumnDef, values: Value[]): string {
    const listed = values.filter((v) => v !== null);
    const orNull = listed.length < values.length;
    if (listed.length === 0) return orNull ? `(${c.name} IS NULL)` : 'FALSE';
    if (listed.length === 1 && !orNull) return this.compare(c, 'eq', listed[0]!);
    const inList = `(${this.col(c)} IN (${listed.map((v) => this.p(v)).join(', ')}))`;
    // A listed null matches nulls; otherwise a null column is not in the list (false, not unknown).
    return orNull ? `(${c.name} IS NULL OR ${inList})` : this.two(c, inList);
  }

  private match(c: ColumnDef, mode: 'startswith' | 'endswith' | 'contains', v: string): string {
    if (this.dialect === 'sqlite') {
      // GLOB is case-sensitive, and a prefix pattern uses the column's index.
      const escaped = v.replace(/[*?[]/g, (ch) => `[${ch}]`);
      const pattern = mode === 'startswith' ? `${escaped}*` : mode === 'endswith' ? `*${escaped}` : `*${escaped}*`;
      return this.two(c, `(${c.name} GLOB ${this.p(pattern)})`);
    }
    const escaped = v.replace(/[\\%_]/g, (ch) => `\\${ch}`);
    const pattern = mode === 'startswith' ? `${escaped}%` : mode === 'endswith' ? `%${escaped}` : `%${escaped}%`;
    return this.two(c, `(${this.col(c)} LIKE ${this.p(pattern)})`);
  }

  /**
   * Rows strictly after the keyset position in the given order. When every key is non-null and runs
   * in one direction this is a row-value comparison, which both databases answer with one index range
   * scan; otherwise the expansion below, led by a bound on the first key so the scan still starts at
   * the position rather than at the beginning of the tenant.
   */
  after(keys: OrderKey[], values: Value[]): string {
    if (keys.every((k) => k.column.notNull && k.desc === keys[0]!.desc) && values.every((v) => v !== null)) {
      const cols = keys.map((k) => this.col(k.column)).join(', ');
      return `((${cols}) ${keys[0]!.desc ? '<' : '>'} (${values.map((v) => this.p(v)).join(', ')}))`;
    }
    const first = keys[0]!;
    const bound = first.column.notNull && values[0] !== null ? `${this.col(first.column)} ${first.desc ? '<=' : '>='} ${this.p(values[0]!)} AND ` : '';
    const ors: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const parts: string[] = [];
      for (let j = 0; j < i; j++) parts.push(this.same(keys[j]!.column, values[j]!));
      parts.push(this.beyond(keys[i]!, values[i]!));
      ors.push(`(${parts.join(' AND ')})`);
    }
    return `(${bound}(${ors.join(' OR ')}))`;
  }

  private same(c: ColumnDef, v: Value): string {
    return v === null ? `(${c.name} IS NULL)` : `(${this.col(c)} = ${this.p(v)})`;
  }

  private beyond(k: OrderKey, v: Value): string {
    const c = k.column;
    if (!k.desc) return v === null ? `(${c.name} IS NOT NULL)` : `(${this.col(c)} > ${this.p(v)})`;
    if (v === null) return 'FALSE';
    return c.notNull ? `(${this.col(c)} < ${this.p(v)})` : `(${this.col(c)} < ${this.p(v)} OR ${c.name} IS NULL)`;
  }

  orderBy(keys: OrderKey[]): string {
    return keys.map((k) => `${this.col(k.column)} ${k.desc ? 'DESC NULLS LAST' : 'ASC NULLS FIRST'}`).join(', ');
  }
}

/** The operands of an and/or, with nested ones of the same kind lifted into it. */
function flatten(kind: 'and' | 'or', operands: Condition[]): Condition[] {
  return operands.flatMap((o) => (o.kind === kind ? flatten(kind, o.operands) : [o]));
}

/**
 * `SELECT columns FROM table WHERE tenant = ? [AND filter] [AND keyset] ORDER BY … LIMIT … [OFFSET …]`.
 * With a filter, the page is chosen by key (tenant and `keyColumn`) first — `WHERE (tenant, id) IN (SELECT tenant, id … ORDER BY …
 * LIMIT …)` — and only its rows are read: a filter answered from an index (a displayName prefix)
 * then sorts index entries alone, instead of reading every matching row to sort it.
 */
export function compileSelect(dialect: Dialect, table: string, columns: string, tenantColumn: string, q: RowQuery, keyColumn = 'id'): Compiled {
  const b = new Builder(dialect);
  const where = [`${tenantColumn} = ${b.p(q.tenantId)}`];
  if (q.where) where.push(b.condition(q.where));
  if (q.after) where.push(b.after(q.orderBy, q.after));
  const order = `ORDER BY ${b.orderBy(q.orderBy)}`;
  let page = `WHERE ${where.join(' AND ')} ${order} LIMIT ${b.p(q.limit)}`;
  if (q.offset) page += ` OFFSET ${b.p(q.offset)}`;
  const sql = q.where
    ? `SELECT ${columns} FROM ${table} WHERE (${tenantColumn}, ${keyColumn}) IN (SELECT ${tenantColumn}, ${keyColumn} FROM ${table} ${page}) ${order}`
    : `SELECT ${columns} FROM ${table} ${page}`;
  return { sql, params: b.params };
}

/** `SELECT COUNT(*) …` of the rows a filter matches. */
export function compileCount(dialect: Dialect, table: string, tenantColumn: string, tenantId: string, where?: Condition): Compiled {
  const b = new Builder(dialect);
  const parts = [`${tenantColumn} = ${b.p(tenantId)}`];
  if (where) parts.push(b.condition(where));
  return { sql: `SELECT COUNT(*) AS n FROM ${table} WHERE ${parts.join(' AND ')}`, params: b.params };
}
