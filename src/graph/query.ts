/**
 * OData system query options of a request: which are given (with or without `$` on beta), their
 * parsing and checks against the entity definition, and the opaque keyset `$skiptoken`.
 */
import { createHmac, createHash, timingSafeEqual } from 'node:crypto';
import { codecOf } from '../model/codecs.js';
import { qualified, type ColumnDef, type EntityDef, type PropertyDef } from '../model/edm.js';
import type { Condition, OrderKey, Value } from '../store/query.js';
import { errors } from './errors.js';
import { parseFilter, type FilterNode, type FilterProperty, type FilterSchema, type FilterType } from './filter.js';
import type { ApiVersion } from './path.js';

const KNOWN = ['select', 'filter', 'orderby', 'top', 'skip', 'count', 'search', 'expand', 'skiptoken', 'format', 'apply', 'compute', 'levels', 'index', 'schemaversion', 'deltatoken'];
const SERVED = new Set(['select', 'filter', 'orderby', 'top', 'skip', 'count', 'skiptoken']);

export interface QueryOptions {
  /** Option name as sent (for messages), by canonical lower-case name without `$`. */
  given: Map<string, { name: string; value: string }>;
}

/** No query string at all (most calls): one shared, never-changed value. */
const NO_OPTIONS: QueryOptions = Object.freeze({ given: new Map() });

/** Collects the system query options; unknown or unserved `$` options and repeats are 400. */
export function readQueryOptions(query: URLSearchParams, version: ApiVersion): QueryOptions {
  if (query.size === 0) return NO_OPTIONS;
  const given = new Map<string, { name: string; value: string }>();
  for (const [name, value] of query) {
    const lower = name.toLowerCase();
    const dollar = lower.startsWith('$');
    const bare = dollar ? lower.slice(1) : lower;
    // On beta the `$` prefix is optional, as on the live service.
    if (!dollar && !(version === 'beta' && KNOWN.includes(bare))) continue;
    if (!SERVED.has(bare)) {
      throw errors.badRequest(
        KNOWN.includes(bare)
          ? `Query option '${name}' is not supported on this resource.`
          : `Query option '${name}' is not supported. Supported: $select, $filter, $orderby, $top, $skip, $count, $skiptoken.`,
      );
    }
    if (given.has(bare)) throw errors.badRequest(`Query option '${name}' was specified more than once.`);
    given.set(bare, { name, value });
  }
  return { given };
}

/** Refuses the options a request of `method` on this target does not take. */
export function onlyAllow(opts: QueryOptions, allowed: readonly string[], method: string): void {
  for (const [bare, { name }] of opts.given) {
    if (!allowed.includes(bare)) {
      throw errors.badRequest(`Query option '${name}' is not allowed on ${method === 'GET' ? 'this resource' : `a ${method} request`}.`);
    }
  }
}

function props(def: EntityDef): Map<string, PropertyDef> {
  return new Map(def.properties.map((p) => [p.name.toLowerCase(), p]));
}

/** `$select=a,b` → the properties in model order; undefined for all (`*` or absent). */
export function parseSelect(opts: QueryOptions, def: EntityDef): PropertyDef[] | undefined {
  const sel = opts.given.get('select');
  if (!sel) return undefined;
  const byName = props(def);
  const chosen = new Set<PropertyDef>();
  for (const raw of sel.value.split(',')) {
    const name = raw.trim();
    if (name === '*') return undefined;
    if (name === '') throw errors.badRequest(`Invalid ${sel.name}: empty property name in '${sel.value}'.`);
    const p = byName.get(name.toLowerCase());
    if (!p) throw errors.badRequest(`Could not find a property named '${name}' on type '${def.typeName}'.`);
    chosen.add(p);
  }
  return def.properties.filter((p) => chosen.has(p));
}

/** A property of an entity as `$filter` sees it, with the column the store compares (every filterable one has one). */
export interface ColumnFilterProperty extends FilterProperty {
  column: ColumnDef | undefined;
}

/** How `$filter` types a property: its codec says (src/model/codecs.ts). */
function filterType(p: PropertyDef): FilterType {
  const kind = p.derived ? undefined : codecOf(p).filter;
  if (kind === undefined) return { kind: 'other', typeName: p.type };
  if (kind === 'enum') return { kind: 'enum', typeName: qualified(p.enum!.name), members: p.enum!.members.map(([m]) => m) };
  return { kind };
}

const filterSchemas = new WeakMap<EntityDef, FilterSchema<ColumnFilterProperty>>();

/** The entity as `$filter` sees it: the one place the parser meets the model. Built once per entity. */
export function filterSchema(def: EntityDef): FilterSchema<ColumnFilterProperty> {
  let schema = filterSchemas.get(def);
  if (!schema) {
    const byName = new Map<string, ColumnFilterProperty>();
    for (const p of def.properties) {
      const type = filterType(p);
      // A property without a column (derived by the domain) is not filterable, whatever the model says.
      byName.set(p.name.toLowerCase(), { name: p.name, type, filterable: !!p.filterable && !!p.column, nullable: p.nullable, column: p.column });
    }
    schema = { typeName: def.typeName, property: (name) => byName.get(name.toLowerCase()) };
    filterSchemas.set(def, schema);
  }
  return schema;
}

export function parseFilterOption(opts: QueryOptions, def: EntityDef): FilterNode<ColumnFilterProperty> | undefined {
  const f = opts.given.get('filter');
  return f ? parseFilter(f.value, filterSchema(def)) : undefined;
}

/** The filter tree in column terms, for the store. */
export function toCondition(node: FilterNode<ColumnFilterProperty>): Condition {
  const col = (p: ColumnFilterProperty) => p.column!;
  switch (node.kind) {
    case 'const':
      return node;
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map(toCondition) };
    case 'not':
      return { kind: 'not', operand: toCondition(node.operand) };
    case 'compare':
      return { kind: 'compare', op: node.op, column: col(node.property), value: node.value };
    case 'in':
      return { kind: 'in', column: col(node.property), values: node.values };
    case 'function':
      return { kind: 'match', mode: node.name, column: col(node.property), value: node.value };
  }
}

export interface Ordering {
  /** The requested keys (Graph properties), then `id` so the order is total. */
  properties: { property: PropertyDef; desc: boolean }[];
  keys: OrderKey[];
  /** Canonical text, part of what a skiptoken is bound to. */
  canonical: string;
}

/** `$orderby=a desc,b` (default: the creation time, then id), with `id` appended as tiebreaker. */
export function parseOrderBy(opts: QueryOptions, def: EntityDef): Ordering {
  const o = opts.given.get('orderby');
  const byName = props(def);
  const out: { property: PropertyDef; desc: boolean }[] = [];
  const created = def.properties.find((p) => p.role === 'created');
  const items = o ? o.value.split(',') : created ? [created.name] : [];
  for (const raw of items) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?\s*$/i.exec(raw);
    if (!m) throw errors.badRequest(`Invalid ${o?.name ?? '$orderby'}: '${raw.trim()}' is not 'property [asc|desc]'.`);
    const p = byName.get(m[1]!.toLowerCase());
    if (!p) throw errors.badRequest(`Could not find a property named '${m[1]}' on type '${def.typeName}'.`);
    if (!p.sortable || !p.column) throw errors.badRequest(`The property '${p.name}' cannot be used in $orderby.`);
    if (out.some((x) => x.property === p)) throw errors.badRequest(`The property '${p.name}' appears more than once in $orderby.`);
    out.push({ property: p, desc: (m[2] ?? 'asc').toLowerCase() === 'desc' });
    if (p.name === 'id') break; // id is unique: later keys never decide anything
  }
  if (!out.some((x) => x.property.name === 'id')) out.push({ property: byName.get('id')!, desc: false });
  return {
    properties: out,
    keys: out.map((x) => ({ column: x.property.column!, desc: x.desc })),
    canonical: out.map((x) => `${x.property.name} ${x.desc ? 'desc' : 'asc'}`).join(','),
  };
}

export function parseNonNegativeInt(opts: QueryOptions, name: 'top' | 'skip'): number | undefined {
  const o = opts.given.get(name);
  if (!o) return undefined;
  if (!/^\d{1,9}$/.test(o.value.trim())) throw errors.badRequest(`Invalid value '${o.value}' for ${o.name}: give a non-negative integer.`);
  return Number(o.value.trim());
}

export function parseCount(opts: QueryOptions): boolean {
  const o = opts.given.get('count');
  if (!o) return false;
  const v = o.value.trim().toLowerCase();
  if (v !== 'true' && v !== 'false') throw errors.badRequest(`Invalid value '${o.value}' for ${o.name}: give true or false.`);
  return v === 'true';
}

/**
 * Opaque keyset skiptokens: the order-key values of the last row of a page, bound to the tenant,
 * the filter and the order, and signed, so a tampered token or one from another query is a 400.
 */
export class SkipTokens {
  /** `secret`: read at the first use (the server's keys may still be loading when it is built). */
  constructor(private readonly secret: () => Buffer) {}

  static binding(tenantId: string, filter: string | undefined, ordering: Ordering): string {
    return createHash('sha256').update(JSON.stringify([tenantId, filter ?? '', ordering.canonical])).digest('base64url').slice(0, 22);
  }

  encode(binding: string, values: Value[]): string {
    const payload = Buffer.from(JSON.stringify({ b: binding, k: values })).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  decode(token: string, binding: string, keyCount: number): Value[] {
    const invalid = errors.badRequest('The $skiptoken is invalid for this request. Follow @odata.nextLink as returned, without changing the query.');
    const [payload, mac, extra] = token.split('.');
    if (!payload || !mac || extra !== undefined) throw invalid;
    const want = Buffer.from(this.mac(payload));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) throw invalid;
    let parsed: { b?: unknown; k?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { b?: unknown; k?: unknown };
    } catch {
      throw invalid;
    }
    if (parsed.b !== binding || !Array.isArray(parsed.k) || parsed.k.length !== keyCount) throw invalid;
    if (!parsed.k.every((v) => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) throw invalid;
    return parsed.k as Value[];
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.secret()).update(payload).digest('base64url').slice(0, 32);
  }
}
