import { encodeProperty } from '../model/codecs.js';
import { qualified, type AnyRecord, type EntityDef, type PropertyDef } from '../model/edm.js';
import type { ApiVersion } from './path.js';

export const JSON_CONTENT_TYPE =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** The JSON object of a record: `@odata.type`, then the selected properties in model order. */
export function entityJson(def: EntityDef, r: AnyRecord, select?: readonly PropertyDef[]): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.type': `#${qualified(def.typeName)}` };
  for (const p of select ?? def.properties) out[p.name] = encodeProperty(p, r[p.name]);
  return out;
}

/** `{base}/{version}/$metadata#deviceManagement/{set}[(select)][/$entity]`. */
export function contextUrl(base: string, version: ApiVersion, def: EntityDef, opts: { entity: boolean; select?: readonly PropertyDef[] }): string {
  const sel = opts.select ? `(${opts.select.map((p) => p.name).join(',')})` : '';
  const entity = opts.entity && def.exposed === 'collection' ? '/$entity' : '';
  return `${base}/${version}/$metadata#deviceManagement/${def.setName}${sel}${entity}`;
}

export function entityUrl(base: string, version: ApiVersion, def: EntityDef, id: string): string {
  return `${base}/${version}/deviceManagement/${def.setName}/${encodeURIComponent(id)}`;
}
