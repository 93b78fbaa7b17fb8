/**
 * The vocabulary entity definitions are written in. An entity is described once, declaratively;
 * validation, JSON output, `$metadata`, query-option checks and storage columns are derived from it.
 */

export type EdmType = 'Edm.String' | 'Edm.Int32' | 'Edm.DateTimeOffset' | 'graph.mimeContent';

/** Who writes a property: the client (create/update bodies) or the server (ignored when a client sends it). */
export type Writer = 'client' | 'server';

export interface PropertyDef {
  /** Graph name, in its canonical casing. */
  readonly name: string;
  readonly type: EdmType;
  readonly nullable: boolean;
  readonly writer: Writer;
  /** Required on create (client-written properties only). */
  readonly required?: boolean;
  readonly maxLength?: number;
  readonly minLength?: number;
  /** May appear in `$filter` / `$orderby`. */
  readonly filterable?: boolean;
  readonly sortable?: boolean;
  /**
   * Storage column, when the value is stored as such. Properties without a column are derived from
   * other columns by the domain (for instance the QR payload is derived from the token).
   */
  readonly column?: ColumnDef;
  /** Shown in `$metadata` as a Core.Description annotation. */
  readonly description: string;
}

export interface ColumnDef {
  readonly name: string;
  /** Portable SQL type family; each store maps it to its own dialect. */
  readonly sql: 'text' | 'int' | 'bigint';
  readonly notNull: boolean;
}

export interface ComplexTypeDef {
  readonly name: string;
  readonly properties: readonly { name: string; type: string; description: string }[];
}

export interface ActionParameterDef {
  readonly name: string;
  readonly type: 'Edm.Int32';
  readonly nullable: boolean;
  readonly min: number;
  readonly max: number;
}

export interface ActionDef {
  readonly name: string;
  readonly parameters: readonly ActionParameterDef[];
}

export interface EntityDef {
  /** Unqualified type name, e.g. `androidForWorkEnrollmentProfile`. */
  readonly typeName: string;
  /** Navigation property of the `deviceManagement` singleton that holds the collection. */
  readonly setName: string;
  /** The storage table. */
  readonly table: string;
  readonly description: string;
  readonly properties: readonly PropertyDef[];
  readonly actions: readonly ActionDef[];
}

export const NAMESPACE = 'microsoft.graph';

export function qualified(def: EntityDef): string {
  return `${NAMESPACE}.${def.typeName}`;
}

/** Case-insensitive property lookup, as Graph treats property names. */
export function propertyIndex(def: EntityDef): Map<string, PropertyDef> {
  const map = new Map<string, PropertyDef>();
  for (const p of def.properties) map.set(p.name.toLowerCase(), p);
  return map;
}
