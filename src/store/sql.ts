/**
 * The SQL of one entity's table in one dialect, compiled from its definition: the column list, row ↔
 * record mapping through the codecs, and the fixed statements (get, insert, update, delete, enroll).
 * Both stores run these; list and count queries come from query.ts.
 */
import { codecOf, type Dialect, type SqlValue } from '../model/codecs.js';
import { TENANT_COLUMN, withRole, type AnyRecord, type ColumnDef, type EntityDef, type PropertyDef } from '../model/edm.js';

export type Row = Record<string, SqlValue>;

export class EntityTable {
  readonly name: string;
  /** Stored properties other than the tenant (which has the table's partition column). */
  private readonly props: readonly PropertyDef[];
  private readonly tenantProp: PropertyDef | undefined;
  readonly columns: readonly ColumnDef[];
  /** `tenant_id, id, …` */
  readonly columnList: string;
  private readonly byName: ReadonlyMap<string, PropertyDef>;
  private readonly updates = new Map<string, string>();
  readonly sql: { get: string; getMany: string; insert: string; delete: string; deleteToken: string };
  /** Counted up at enrollment (enrollCount, tokenUsage). */
  private readonly counters: readonly PropertyDef[];

  constructor(readonly def: EntityDef, readonly dialect: Dialect) {
    this.name = def.table;
    this.props = def.properties.filter((p) => p.column !== undefined && p.column.name !== TENANT_COLUMN.name);
    this.tenantProp = def.properties.find((p) => p.column?.name === TENANT_COLUMN.name);
    this.columns = [TENANT_COLUMN, ...this.props.map((p) => p.column!)];
    this.columnList = this.columns.map((c) => c.name).join(', ');
    this.byName = new Map(this.props.map((p) => [p.name, p]));
    this.counters = def.properties.filter((p) => p.role === 'enrollCount' || p.role === 'tokenUsage');
    const t = this.name;
    this.sql = {
      get: `SELECT ${this.columnList} FROM ${t} WHERE tenant_id = ${this.ph(1)} AND id = ${this.ph(2)}`,
      /** PostgreSQL only: the records whose keys are in two arrays (tenants, ids). */
      getMany: `SELECT ${this.columnList} FROM ${t} WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      insert: `INSERT INTO ${t} (${this.columnList}) VALUES (${this.columns.map((_, i) => this.ph(i + 1)).join(', ')}) RETURNING ${this.columnList}`,
      delete: `DELETE FROM ${t} WHERE tenant_id = ${this.ph(1)} AND id = ${this.ph(2)}`,
      deleteToken: `DELETE FROM enrollment_tokens WHERE entity = ${this.ph(1)} AND tenant_id = ${this.ph(2)} AND profile_id = ${this.ph(3)}`,
    };
  }

  /** Snapshot order: by tenant, then creation where the entity has a creation time, then id. */
  get exportOrder(): string {
    const created = withRole(this.def, 'created')?.column?.name;
    return `ORDER BY tenant_id, ${created ? `${created}, ` : ''}id`;
  }

  /** The n-th placeholder (1-based). */
  ph(n: number): string {
    return this.dialect === 'postgres' ? `$${n}` : '?';
  }

  record(row: Row): AnyRecord {
    const r: Record<string, unknown> = { tenantId: row.tenant_id };
    if (this.tenantProp) r[this.tenantProp.name] = row.tenant_id;
    for (const p of this.props) {
      const raw = row[p.column!.name] ?? null;
      r[p.name] = raw === null ? null : codecOf(p).fromSql(raw, this.dialect);
    }
    return r as AnyRecord;
  }

  /** The insert's parameters, in column order. */
  insertParams(record: AnyRecord): SqlValue[] {
    return [record.tenantId, ...this.props.map((p) => this.value(p, record[p.name]))];
  }

  private value(p: PropertyDef, v: unknown): SqlValue {
    return v === null || v === undefined ? null : codecOf(p).toSql(v, this.dialect);
  }

  /** The column a stored property is in, and its value in that column. */
  column(name: string, value: unknown): { column: ColumnDef; value: SqlValue } {
    const p = this.prop(name);
    return { column: p.column!, value: this.value(p, value) };
  }

  private prop(name: string): PropertyDef {
    const p = this.byName.get(name);
    if (!p) throw new Error(`${this.def.typeName}.${name} is not stored`);
    return p;
  }

  /**
   * `UPDATE … SET … WHERE tenant_id AND id [AND onlyIf…] RETURNING …` for these property names (the
   * statement text is cached by its shape).
   */
  update(tenantId: string, id: string, set: Record<string, unknown>, onlyIf: Record<string, unknown> = {}): { sql: string; params: SqlValue[] } {
    const setNames = Object.keys(set);
    const ifNames = Object.keys(onlyIf);
    const shape = `${setNames.join(',')}|${ifNames.join(',')}|${ifNames.map((n) => (onlyIf[n] === null ? 0 : 1)).join('')}`;
    let sql = this.updates.get(shape);
    if (sql === undefined) {
      let n = 0;
      const assignments = setNames.map((name) => `${this.prop(name).column!.name} = ${this.ph(++n)}`);
      const where = [`tenant_id = ${this.ph(++n)}`, `id = ${this.ph(++n)}`];
      for (const name of ifNames) {
        const col = this.prop(name).column!.name;
        where.push(onlyIf[name] === null ? `${col} IS NULL` : `${col} = ${this.ph(++n)}`);
      }
      sql = `UPDATE ${this.name} SET ${assignments.join(', ')} WHERE ${where.join(' AND ')} RETURNING ${this.columnList}`;
      if (this.updates.size < 256) this.updates.set(shape, sql);
    }
    const params: SqlValue[] = setNames.map((name) => this.value(this.prop(name), set[name]));
    params.push(tenantId, id);
    for (const name of ifNames) if (onlyIf[name] !== null) params.push(this.value(this.prop(name), onlyIf[name]));
    return { sql, params };
  }

  /**
   * The enrollment UPDATE: one more on each counter while the record still holds the token and it
   * has not expired. Parameters: tenant, id, token, now.
   */
  enrollSql(): string {
    const token = withRole(this.def, 'token')!.column!.name;
    const expires = withRole(this.def, 'tokenExpires')!.column!.name;
    const set = this.counters.map((p) => `${p.column!.name} = ${p.column!.name} + 1`).join(', ');
    return `UPDATE ${this.name} SET ${set} WHERE tenant_id = ${this.ph(1)} AND id = ${this.ph(2)} AND ${token} = ${this.ph(3)} AND ${expires} > ${this.ph(4)} RETURNING ${this.columnList}`;
  }
}

/** The tables of the registry's entities, by type name. */
export function entityTables(defs: readonly EntityDef[], dialect: Dialect): Map<string, EntityTable> {
  return new Map(defs.map((d) => [d.typeName, new EntityTable(d, dialect)]));
}

export const REGISTRY_SQL = {
  find: (ph: (n: number) => string) => `SELECT entity, tenant_id, profile_id FROM enrollment_tokens WHERE token_value = ${ph(1)}`,
  /** Makes a token the record's one: the profile's row is replaced, and the token value is unique across every entity. */
  upsert: (ph: (n: number) => string) =>
    `INSERT INTO enrollment_tokens (entity, tenant_id, profile_id, token_value) VALUES (${ph(1)}, ${ph(2)}, ${ph(3)}, ${ph(4)})
     ON CONFLICT (entity, tenant_id, profile_id) DO UPDATE SET token_value = excluded.token_value`,
} as const;

export const DEVICE_COLUMNS = 'device_id, tenant_id, profile_type, profile_id, serial_number, model, enrolled_us';

/**
 * The SELECT of a table's records for an export, in snapshot order: the cache of a derived value
 * reads as NULL (it is left out, and derived again), so it is not even read.
 */
export function exportSelect(t: EntityTable): string {
  const caches = new Set(t.def.properties.flatMap((p) => (p.derived && p.column ? [p.column.name] : [])));
  const columns = t.columns.map((c) => (caches.has(c.name) ? `NULL AS ${c.name}` : c.name)).join(', ');
  return `SELECT ${columns} FROM ${t.name} ${t.exportOrder}`;
}
