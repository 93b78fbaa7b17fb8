/**
 * One codec per EDM type: it validates a JSON value (a client's body, a snapshot), formats a stored
 * value as JSON, and maps it to and from a column in each SQL dialect. Everything that reads or
 * writes a property's value goes through `codecOf(property)`.
 */
import { invalid } from '../problem.js';
import { formatUs, MIN_US, parseIsoToUs } from '../time.js';
import type { EnumTypeDef, ParameterDef, PropertyDef } from './edm.js';

export type Dialect = 'sqlite' | 'postgres';
/** What a column holds as the drivers see it. */
export type SqlValue = string | number | boolean | null;

/** How `$filter` sees a property's type. */
export type FilterKind = 'string' | 'int32' | 'boolean' | 'datetime' | 'enum';

export interface Codec {
  /** The domain value of a JSON value; throws a Problem naming `name`. Null is handled by the caller. */
  decode(json: unknown, name: string): unknown;
  encode(value: unknown): unknown;
  toSql(value: unknown, dialect: Dialect): SqlValue;
  fromSql(raw: SqlValue, dialect: Dialect): unknown;
  /** Undefined: the type cannot be filtered on. */
  readonly filter?: FilterKind;
}

/** A value as a message shows it, shortened. */
export function shown(v: unknown): string {
  // A number past a double's range (`1e400`) parses to Infinity, which JSON.stringify would show as null.
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v);
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

function wrongType(v: unknown, type: string, name: string): never {
  throw invalid(`Cannot convert the literal '${shown(v)}' to the expected type '${type}' of property '${name}'.`, name);
}

/** Text both databases store as given: well-formed UTF-16 (no lone surrogate) and no NUL. */
export function checkText(v: string, name: string): string {
  if (/\p{Surrogate}/u.test(v)) throw invalid(`The property '${name}' contains an unpaired UTF-16 surrogate; send well-formed Unicode text.`, name);
  if (v.includes('\u0000')) throw invalid(`The property '${name}' contains a NUL character (U+0000), which is not allowed in text.`, name);
  return v;
}

const same = (v: unknown) => v;

const string: Codec = {
  decode: (v, name) => (typeof v === 'string' ? checkText(v, name) : wrongType(v, 'Edm.String', name)),
  encode: same,
  toSql: (v) => v as string,
  fromSql: same,
  filter: 'string',
};

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const int32: Codec = {
  decode: (v, name) => (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : wrongType(v, 'Edm.Int32', name)),
  encode: same,
  toSql: (v) => v as number,
  fromSql: same,
  filter: 'int32',
};

const boolean: Codec = {
  decode: (v, name) => (typeof v === 'boolean' ? v : wrongType(v, 'Edm.Boolean', name)),
  encode: same,
  // SQLite has no boolean type: 0/1 in an INTEGER column.
  toSql: (v, d) => (d === 'sqlite' ? (v ? 1 : 0) : (v as boolean)),
  fromSql: (raw) => raw === true || raw === 1,
  filter: 'boolean',
};

/** Microseconds since the epoch; a never-set non-nullable value is `0001-01-01T00:00:00Z` (MIN_US). */
const dateTime: Codec = {
  decode: (v, name) => {
    const us = typeof v === 'string' ? parseIsoToUs(v) : undefined;
    if (us === undefined) wrongType(v, 'Edm.DateTimeOffset', name);
    return Math.max(us, MIN_US);
  },
  encode: (v) => formatUs(v as number),
  toSql: (v) => v as number,
  fromSql: same,
  filter: 'datetime',
};

/** Collection(Edm.String): a JSON array text in one column (read and written whole). */
const stringCollection: Codec = {
  decode: (v, name) => {
    if (!Array.isArray(v)) wrongType(v, 'Collection(Edm.String)', name);
    return v.map((item, i) => (typeof item === 'string' ? checkText(item, name) : wrongType(item, 'Edm.String', `${name}[${i}]`)));
  },
  encode: (v) => [...(v as string[])],
  toSql: (v) => JSON.stringify(v),
  fromSql: (raw) => JSON.parse(raw as string) as string[],
};

/** Enums travel as member names (Graph's JSON), and are stored as member names too. */
function enumCodec(e: EnumTypeDef): Codec {
  const members = new Map(e.members.map(([m]) => [m.toLowerCase(), m]));
  return {
    decode: (v, name) => {
      const m = typeof v === 'string' ? members.get(v.toLowerCase()) : undefined;
      if (m === undefined) {
        throw invalid(
          `The value '${shown(v)}' is not a member of the enum type '${e.name}' of property '${name}'. Allowed: ${e.members.map(([x]) => x).join(', ')}.`,
          name,
        );
      }
      return m;
    },
    encode: same,
    toSql: (v) => v as string,
    fromSql: same,
    filter: 'enum',
  };
}

/** graph.mimeContent of a PNG: the column caches the base64 image; JSON is `{type, value}`. */
const pngMimeContent: Codec = {
  decode: (v, name) => wrongType(v, 'graph.mimeContent', name),
  encode: (v) => ({ '@odata.type': 'microsoft.graph.mimeContent', type: 'image/png', value: v }),
  toSql: (v) => v as string,
  fromSql: same,
};

/** A collection of a complex type the domain derives (never stored, never written by a client). */
const derivedCollection: Codec = {
  decode: (v, name) => wrongType(v, 'a collection', name),
  encode: (v) => v,
  toSql: () => null,
  fromSql: () => null,
};

const enumCodecs = new WeakMap<EnumTypeDef, Codec>();

export function codecOf(p: Pick<PropertyDef, 'type' | 'enum' | 'complex'>): Codec {
  switch (p.type) {
    case 'Edm.String':
      return string;
    case 'Edm.Int32':
      return int32;
    case 'Edm.Boolean':
      return boolean;
    case 'Edm.DateTimeOffset':
      return dateTime;
    case 'Collection(Edm.String)':
      return stringCollection;
  }
  if (p.enum) {
    let c = enumCodecs.get(p.enum);
    if (!c) enumCodecs.set(p.enum, (c = enumCodec(p.enum)));
    return c;
  }
  if (p.complex?.name === 'mimeContent') return pngMimeContent;
  if (p.complex && p.type.startsWith('Collection(')) return derivedCollection;
  throw new Error(`no codec for type ${p.type}`);
}

/**
 * A client's value for a property (create, update, snapshot): null where allowed, the codec's check,
 * then the definition's bounds. Returns the domain value.
 */
export function decodeProperty(p: PropertyDef, json: unknown): unknown {
  if (json === null) {
    // A CSDL-nullable property the server keeps non-null (it has a default) refuses null too.
    if (!p.nullable || p.required || p.column?.notNull) throw invalid(`The property '${p.name}' cannot be null.`, p.name);
    return null;
  }
  const v = codecOf(p).decode(json, p.name);
  if (typeof v === 'string') checkLength(p, [...v].length, 'characters long');
  else if (Array.isArray(v)) {
    if (p.maxItems !== undefined && v.length > p.maxItems) throw invalid(`The property '${p.name}' holds at most ${p.maxItems} items; got ${v.length}.`, p.name);
    if (p.maxLength !== undefined) for (const item of v as string[]) checkLength(p, [...item].length, 'characters long per item');
  }
  return v;
}

function checkLength(p: { name: string; minLength?: number; maxLength?: number }, len: number, unit: string): void {
  const min = p.minLength ?? 0;
  if (len < min || (p.maxLength !== undefined && len > p.maxLength)) {
    throw invalid(
      `The property '${p.name}' must be ${min > 0 ? `between ${min} and ${p.maxLength}` : `at most ${p.maxLength}`} ${unit}; got ${len}.`,
      p.name,
    );
  }
}

/** A stored value as Graph's JSON. */
export function encodeProperty(p: PropertyDef, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return codecOf(p).encode(value);
}

function range(p: ParameterDef): string {
  return `an integer from ${p.min} to ${p.max}`;
}

/** An action parameter's value: required unless nullable; integers within their bounds. */
export function decodeParameter(p: ParameterDef, json: unknown): unknown {
  const isInt = p.type === 'Edm.Int32';
  if (json === undefined || json === null) {
    if (p.nullable) return null;
    throw invalid(`The parameter '${p.name}' is required${isInt && p.min !== undefined ? `: give ${range(p)}` : ''}.`, p.name);
  }
  if (isInt) {
    if (typeof json !== 'number' || !Number.isInteger(json) || json < (p.min ?? INT32_MIN) || json > (p.max ?? INT32_MAX)) {
      throw invalid(`The parameter '${p.name}' must be ${range({ ...p, min: p.min ?? INT32_MIN, max: p.max ?? INT32_MAX })}; got '${shown(json)}'.`, p.name);
    }
    return json;
  }
  const v = codecOf(p).decode(json, p.name);
  if (typeof v === 'string' && p.maxLength !== undefined) checkLength(p, [...v].length, 'characters long');
  return v;
}
