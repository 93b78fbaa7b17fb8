import { qualified, type ActionDef, type EntityDef, type PropertyDef } from '../model/edm.js';
import { errors } from './errors.js';

/** The client-written values of a create or update body, keyed by canonical property name. */
export type EntityInput = Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function literal(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

function checkODataType(def: EntityDef, value: unknown): void {
  const want = qualified(def).toLowerCase();
  const got = typeof value === 'string' ? value.replace(/^#/, '').toLowerCase() : undefined;
  if (got !== want) {
    throw errors.modelValidation(
      `The value of property '@odata.type' must be '#${qualified(def)}'; got '${literal(value)}'.`,
    );
  }
}

function checkValue(def: EntityDef, p: PropertyDef, value: unknown): void {
  if (value === null) {
    if (p.required) throw errors.modelValidation(`The property '${p.name}' cannot be null.`);
    return;
  }
  switch (p.type) {
    case 'Edm.String': {
      if (typeof value !== 'string') {
        throw errors.modelValidation(
          `Cannot convert the literal '${literal(value)}' to the expected type 'Edm.String' of property '${p.name}'.`,
        );
      }
      if (/\p{Surrogate}/u.test(value)) {
        throw errors.modelValidation(`The property '${p.name}' contains an unpaired UTF-16 surrogate; send well-formed Unicode text.`);
      }
      if (value.includes('\u0000')) {
        throw errors.modelValidation(`The property '${p.name}' contains a NUL character (U+0000), which is not allowed in text.`);
      }
      const len = [...value].length;
      const min = p.minLength ?? 0;
      if (len < min || (p.maxLength !== undefined && len > p.maxLength)) {
        throw errors.modelValidation(
          `The property '${p.name}' must be ${min > 0 ? `between ${min} and ${p.maxLength}` : `at most ${p.maxLength}`} characters long; got ${len}.`,
        );
      }
      return;
    }
    default:
      // Only string properties are client-written today; a new client-written type needs a rule here.
      throw new Error(`no validation rule for ${def.typeName}.${p.name} (${p.type})`);
  }
}

/**
 * Validates a create (`mode: 'create'`) or update body against the entity definition and returns the
 * client-written values. Property names match case-insensitively; server-written properties are
 * ignored; unknown properties, wrong types, bad `@odata.type` and bounds are 400 ModelValidationFailure.
 */
export function validateEntityBody(def: EntityDef, body: unknown, mode: 'create' | 'update'): EntityInput {
  if (body === undefined) throw errors.modelValidation('A request body is required.');
  if (!isObject(body)) throw errors.modelValidation(`The request body must be a JSON object representing a ${qualified(def)}.`);
  const byName = new Map(def.properties.map((p) => [p.name.toLowerCase(), p]));
  const out: EntityInput = {};
  const seen = new Set<string>();
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === '@odata.type') {
      checkODataType(def, value);
      continue;
    }
    if (key.includes('@')) continue; // instance annotations (e.g. "qrCodeImage@odata.type") carry no data
    const p = byName.get(lower);
    if (!p) {
      throw errors.modelValidation(
        `The property '${key}' does not exist on type '${qualified(def)}'. Make sure to only use property names that are defined by the type.`,
      );
    }
    if (seen.has(p.name)) throw errors.modelValidation(`The property '${p.name}' is given more than once.`);
    seen.add(p.name);
    if (p.writer === 'server') continue; // server-written: ignored, as the reference pages' samples send them
    checkValue(def, p, value);
    out[p.name] = value;
  }
  if (mode === 'create') {
    for (const p of def.properties) {
      if (p.required && !(p.name in out)) throw errors.modelValidation(`The property '${p.name}' is required.`);
    }
  }
  return out;
}

function integerRange(p: { min: number; max: number }): string {
  return `an integer from ${p.min} to ${p.max}`;
}

/**
 * Validates an action's parameters (names case-insensitive). An empty or absent body is an empty
 * parameter set. Returns the values by canonical parameter name.
 */
export function validateActionBody(action: ActionDef, body: unknown): Record<string, number> {
  if (body !== undefined && !isObject(body)) {
    throw errors.modelValidation(`The request body of action '${action.name}' must be a JSON object.`);
  }
  const given = new Map<string, { key: string; value: unknown }>();
  for (const [key, value] of Object.entries(body ?? {})) {
    const p = action.parameters.find((x) => x.name.toLowerCase() === key.toLowerCase());
    if (!p) {
      const allowed = action.parameters.length ? `Its parameters are: ${action.parameters.map((x) => x.name).join(', ')}.` : 'It takes no parameters.';
      throw errors.modelValidation(`'${key}' is not a parameter of action '${action.name}'. ${allowed}`);
    }
    if (given.has(p.name)) throw errors.modelValidation(`The parameter '${p.name}' is given more than once.`);
    given.set(p.name, { key, value });
  }
  const out: Record<string, number> = {};
  for (const p of action.parameters) {
    const v = given.get(p.name)?.value;
    if (v === undefined || v === null) {
      throw errors.modelValidation(`The parameter '${p.name}' is required: give ${integerRange(p)}.`);
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < p.min || v > p.max) {
      throw errors.modelValidation(`The parameter '${p.name}' must be ${integerRange(p)}; got '${literal(v)}'.`);
    }
    out[p.name] = v;
  }
  return out;
}
