import type { ColumnDef, EntityDef } from '../model/edm.js';

/** SQL dialects the stores speak. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * PostgreSQL text columns use the "C" collation: byte order, as SQLite compares text, so $orderby and
 * range filters give the same answers on both stores (query.ts also says COLLATE "C"), and the
 * indexes on these columns serve those queries.
 */
const TYPES: Record<Dialect, Record<ColumnDef['sql'], string>> = {
  sqlite: { text: 'TEXT', int: 'INTEGER', bigint: 'INTEGER' },
  postgres: { text: 'TEXT COLLATE "C"', int: 'INTEGER', bigint: 'BIGINT' },
};

/** The stored columns of an entity, in definition order. */
export function entityColumns(def: EntityDef): ColumnDef[] {
  return def.properties.flatMap((p) => (p.column ? [p.column] : []));
}

/** Looks up the column of a property by its Graph name; throws for a derived property. */
export function columnOf(def: EntityDef, property: string): ColumnDef {
  const col = def.properties.find((p) => p.name === property)?.column;
  if (!col) throw new Error(`${def.typeName}.${property} has no column`);
  return col;
}

/**
 * `CREATE TABLE` for an entity, derived from its model definition. Entities are partitioned by
 * tenant, so the primary key is (tenant_id, id); `extra` adds store-internal columns (caches).
 */
export function createEntityTableSql(def: EntityDef, dialect: Dialect, extra: readonly string[] = []): string {
  const cols = entityColumns(def).map((c) => `  ${c.name} ${TYPES[dialect][c.sql]}${c.notNull ? ' NOT NULL' : ''}`);
  const tenant = columnOf(def, 'accountId').name;
  const id = columnOf(def, 'id').name;
  return `CREATE TABLE ${def.table} (\n${[...cols, ...extra.map((e) => `  ${e}`), `  PRIMARY KEY (${tenant}, ${id})`].join(',\n')}\n)`;
}
