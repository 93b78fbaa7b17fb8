/**
 * The vocabulary entity definitions are written in. Each entity (or singleton) is one declarative
 * definition; validation, JSON, `$metadata`, `$filter`/`$orderby`, storage and snapshots are derived
 * from it through one codec per EDM type (codecs.ts).
 */

export type ApiVersion = 'v1.0' | 'beta';

export interface EnumTypeDef {
  /** Unqualified name, e.g. `aospWifiSecurityType`. */
  readonly name: string;
  /** Members and their CSDL values, in CSDL order. */
  readonly members: readonly (readonly [string, number])[];
}

export interface ComplexTypeDef {
  readonly name: string;
  /** As in CSDL: name, type, nullability (and the complex type a property has, to describe it too). */
  readonly properties: readonly { readonly name: string; readonly type: string; readonly nullable?: boolean; readonly complex?: ComplexTypeDef }[];
}

/**
 * A storage column. `sql` is a portable type family each dialect maps to its own
 * (migrations are literal SQL; a test checks the migrated columns against these).
 */
export interface ColumnDef {
  readonly name: string;
  readonly sql: 'text' | 'int' | 'bigint' | 'bool';
  readonly notNull: boolean;
}

/** The partition column every entity table has; a property stored in it is the tenant. */
export const TENANT_COLUMN: ColumnDef = { name: 'tenant_id', sql: 'text', notNull: true };

export interface PropertyDef {
  /** Graph name, in its canonical casing. */
  readonly name: string;
  /** CSDL type: `Edm.String`, `Edm.Int32`, `Edm.Boolean`, `Edm.DateTimeOffset`, `Collection(Edm.String)`, `graph.<enum>`, `graph.<complex>`. */
  readonly type: string;
  readonly enum?: EnumTypeDef;
  readonly complex?: ComplexTypeDef;
  /** As in Microsoft's CSDL. A client still may not send null for a `required` property. */
  readonly nullable: boolean;
  /** Who writes it: the client (create/update bodies) or the server (ignored when a client sends it). */
  readonly writer: 'client' | 'server';
  /** Required on create (client-written properties). */
  readonly required?: boolean;
  /** The value on create when the client leaves it out (server-written ones: their initial value), in JSON form. */
  readonly default?: unknown;
  /** Validation rules (characters for strings, items for collections). */
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly maxItems?: number;
  readonly filterable?: boolean;
  readonly sortable?: boolean;
  /** Where it is stored. Without one it is derived by the domain (the QR content from the token). */
  readonly column?: ColumnDef;
  /** Derived by the domain even though it has a column: the column caches the last derived value. */
  readonly derived?: boolean;
  /** What the generic pipeline and the domain use it for (they find properties by role, not by name). */
  readonly role?: PropertyRole;
}

export type PropertyRole =
  | 'created' | 'modified'
  /** The enrollment-token capability (enrollment/tokens.ts). */
  | 'token' | 'tokenExpires' | 'tokenCreated' | 'qrContent' | 'qrImage'
  /** Counted up when a device enrolls: every device ever, or those of the current token (reset by a new token). */
  | 'enrollCount' | 'tokenUsage';

export interface ParameterDef {
  readonly name: string;
  readonly type: string;
  readonly enum?: EnumTypeDef;
  readonly nullable: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly maxLength?: number;
}

export interface ActionDef {
  readonly name: string;
  readonly parameters: readonly ParameterDef[];
  /** CSDL return type; none: the action answers 204. */
  readonly returns?: string;
  /** Needs write permission (all but pure reads). */
  readonly writes: boolean;
}

export interface EntityDef {
  /** Unqualified type name, e.g. `androidForWorkEnrollmentProfile`. */
  readonly typeName: string;
  /**
   * How `deviceManagement` exposes it: a contained collection (`…/{name}/{id}`) or a single-valued
   * navigation property, one per tenant (`…/{name}`).
   */
  readonly exposed: 'collection' | 'singleton';
  /** The navigation property of `deviceManagement`. */
  readonly setName: string;
  /** The API versions that serve it. */
  readonly versions: readonly ApiVersion[];
  /** Storage table, partitioned by `tenant_id`, keyed by (tenant_id, id). */
  readonly table: string;
  /** The key under which snapshots and seed files list its records. */
  readonly snapshotKey: string;
  readonly properties: readonly PropertyDef[];
  readonly actions: readonly ActionDef[];
}

export const NAMESPACE = 'microsoft.graph';

export function qualified(name: string): string {
  return `${NAMESPACE}.${name}`;
}

/** Case-insensitive property lookup, as Graph treats property names. */
export function propertyIndex(def: EntityDef): Map<string, PropertyDef> {
  const map = new Map<string, PropertyDef>();
  for (const p of def.properties) map.set(p.name.toLowerCase(), p);
  return map;
}

/** The properties that have a column of their own (the tenant column is the table's). */
export function storedProperties(def: EntityDef): PropertyDef[] {
  return def.properties.filter((p) => p.column !== undefined);
}

/** The property stored in the tenant column, if the entity shows its tenant (accountId). */
export function tenantProperty(def: EntityDef): PropertyDef | undefined {
  return def.properties.find((p) => p.column?.name === TENANT_COLUMN.name);
}

/** The property with a role, if the entity has one. */
export function withRole(def: EntityDef, role: PropertyRole): PropertyDef | undefined {
  return def.properties.find((p) => p.role === role);
}

/** True when the entity carries enrollment tokens (createToken/revokeToken, device enrollment). */
export function hasTokens(def: EntityDef): boolean {
  return withRole(def, 'token') !== undefined;
}

// ---- types of records, derived from a definition ----

type EnumMember<E> = E extends { readonly members: readonly (readonly [infer M, number])[] } ? M : string;

/** The domain value of a property: what records hold (times in µs, enums as member names). */
type ValueOf<P> = P extends { readonly type: 'Edm.String' } ? string
  : P extends { readonly type: 'Edm.Int32' } ? number
  : P extends { readonly type: 'Edm.Boolean' } ? boolean
  : P extends { readonly type: 'Edm.DateTimeOffset' } ? number
  : P extends { readonly type: 'Collection(Edm.String)' } ? string[]
  : P extends { readonly enum: infer E } ? EnumMember<E>
  : P extends { readonly complex: object } ? string
  : unknown;

type Nullable<P> = P extends { readonly column: { readonly notNull: true } } ? never : null;

type Stored<D extends EntityDef> = Extract<D['properties'][number], { readonly column: ColumnDef }>;

/**
 * A stored record of an entity, keyed by its Graph property names: the columns it has (a derived
 * property with a cache column holds the cached value), and the tenant.
 */
export type EntityRecord<D extends EntityDef> = { tenantId: string } & {
  -readonly [P in Stored<D> as P['name']]: ValueOf<P> | Nullable<P>;
};

/** Any entity's record, as the generic pipeline handles it. */
export type AnyRecord = { tenantId: string; id: string } & Record<string, unknown>;
