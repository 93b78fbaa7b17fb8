/**
 * Request bodies checked against the model: property and parameter names (case-insensitive), then
 * each value through its codec (src/model/codecs.ts). Returns domain values by canonical name; a
 * refusal is a Problem (400 ModelValidationFailure) naming the property or parameter.
 */
import { decodeParameter, decodeProperty, shown } from '../model/codecs.js';
import { qualified, type ActionDef, type EntityDef } from '../model/edm.js';
import { invalid } from '../problem.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkODataType(def: EntityDef, value: unknown): void {
  const want = qualified(def.typeName);
  const got = typeof value === 'string' ? value.replace(/^#/, '').toLowerCase() : undefined;
  if (got !== want.toLowerCase()) throw invalid(`The value of property '@odata.type' must be '#${want}'; got '${shown(value)}'.`, '@odata.type');
}

/**
 * A create (`mode: 'create'`) or update body: server-written properties are ignored (the reference
 * pages' own samples send them); unknown properties, wrong types, bad `@odata.type`, bounds and (on
 * create) missing required properties are refused.
 */
export function validateEntityBody(def: EntityDef, body: unknown, mode: 'create' | 'update'): Record<string, unknown> {
  if (body === undefined) throw invalid('A request body is required.');
  if (!isObject(body)) throw invalid(`The request body must be a JSON object representing a ${qualified(def.typeName)}.`);
  const byName = new Map(def.properties.map((p) => [p.name.toLowerCase(), p]));
  const out: Record<string, unknown> = {};
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
      throw invalid(
        `The property '${key}' does not exist on type '${qualified(def.typeName)}'. Make sure to only use property names that are defined by the type.`,
        key,
      );
    }
    if (seen.has(p.name)) throw invalid(`The property '${p.name}' is given more than once.`, p.name);
    seen.add(p.name);
    if (p.writer === 'server') continue;
    out[p.name] = decodeProperty(p, value);
  }
  if (mode === 'create') {
    for (const p of def.properties) if (p.required && !(p.name in out)) throw invalid(`The property '${p.name}' is required.`, p.name);
  }
  return out;
}

/** An action's parameters (names case-insensitive); an empty or absent body is an empty set. */
export function validateActionBody(action: ActionDef, body: unknown): Record<string, unknown> {
  if (body !== undefined && !isObject(body)) throw invalid(`The request body of action '${action.name}' must be a JSON object.`);
  const given = new Map<string, unknown>();
  for (const [key, value] of Object.entries(body ?? {})) {
    const p = action.parameters.find((x) => x.name.toLowerCase() === key.toLowerCase());
    if (!p) {
      const allowed = action.parameters.length ? `Its parameters are: ${action.parameters.map((x) => x.name).join(', ')}.` : 'It takes no parameters.';
      throw invalid(`'${key}' is not a parameter of action '${action.name}'. ${allowed}`, key);
    }
    if (given.has(p.name)) throw invalid(`The parameter '${p.name}' is given more than once.`, p.name);
    given.set(p.name, value);
  }
  const out: Record<string, unknown> = {};
  for (const p of action.parameters) out[p.name] = decodeParameter(p, given.get(p.name));
  return out;
}
