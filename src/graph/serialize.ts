import type { Profile } from '../enrollment/profiles.js';
import { androidForWorkEnrollmentProfile as profileDef } from '../model/androidForWorkEnrollmentProfile.js';
import { qualified, type EntityDef, type PropertyDef } from '../model/edm.js';
import { formatUs, MIN_DATE_TIME } from '../time.js';
import type { ApiVersion } from './path.js';

export const JSON_CONTENT_TYPE =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** The raw value of each property of a profile, before EDM formatting. */
const PROFILE_VALUES: Record<string, (p: Profile) => unknown> = {
  id: (p) => p.id,
  accountId: (p) => p.tenantId,
  displayName: (p) => p.displayName,
  description: (p) => p.description,
  createdDateTime: (p) => p.createdUs,
  lastModifiedDateTime: (p) => p.modifiedUs,
  tokenValue: (p) => p.tokenValue,
  tokenExpirationDateTime: (p) => p.tokenExpiresUs,
  enrolledDeviceCount: (p) => p.enrolledDeviceCount,
  qrCodeContent: (p) => p.qrCodeContent,
  qrCodeImage: (p) => (p.qrCodePng === null ? null : { '@odata.type': 'microsoft.graph.mimeContent', type: 'image/png', value: p.qrCodePng }),
};

// Every property of the model has a value source: a new property fails here at start, not in a response.
for (const p of profileDef.properties) {
  if (!PROFILE_VALUES[p.name]) throw new Error(`no JSON value for ${profileDef.typeName}.${p.name}`);
}

/** The stored (unformatted) value of a property: what keyset positions are made of. */
export function rawValue(p: Profile, prop: PropertyDef): string | number | null {
  return (PROFILE_VALUES[prop.name]!(p) ?? null) as string | number | null;
}

function formatValue(prop: PropertyDef, raw: unknown): unknown {
  if (prop.type === 'Edm.DateTimeOffset') {
    if (raw === null || raw === undefined) return prop.nullable ? null : MIN_DATE_TIME;
    return formatUs(raw as number);
  }
  return raw ?? null;
}

/** The JSON object of a profile: `@odata.type`, then the selected properties in model order. */
export function profileJson(p: Profile, select?: readonly PropertyDef[]): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.type': `#${qualified(profileDef)}` };
  for (const prop of select ?? profileDef.properties) out[prop.name] = formatValue(prop, PROFILE_VALUES[prop.name]!(p));
  return out;
}

/**
 * The JSON text of a whole profile (no `$select`), cached per profile and reused while every field
 * is unchanged: reads of the same profile skip formatting and stringifying its ~3.5 KB (the escaped QR
 * payload and the PNG). The fingerprint holds every stored field, so a change of any of them — even
 * two writes in the same microsecond under a frozen clock — misses the cache.
 */
const textCache = new Map<string, { fingerprint: string; text: string }>();
const TEXT_CACHE_SIZE = 2000;

export function profileJsonText(p: Profile): string {
  const key = `${p.tenantId}/${p.id}`;
  const fingerprint = `${p.modifiedUs}|${p.createdUs}|${p.tokenExpiresUs}|${p.enrolledDeviceCount}|${p.tokenValue}|${p.qrCodePng === null ? 0 : 1}|${p.description === null ? '\u0000' : p.description}|${p.displayName}`;
  const hit = textCache.get(key);
  if (hit && hit.fingerprint === fingerprint) return hit.text;
  const text = JSON.stringify(profileJson(p));
  if (hit) textCache.delete(key);
  else if (textCache.size >= TEXT_CACHE_SIZE) textCache.delete(textCache.keys().next().value!);
  textCache.set(key, { fingerprint, text });
  return text;
}

/** `{base}/{version}/$metadata#deviceManagement/{set}[(select)][/$entity]`. */
export function contextUrl(base: string, version: ApiVersion, def: EntityDef, opts: { entity: boolean; select?: readonly PropertyDef[] }): string {
  const sel = opts.select ? `(${opts.select.map((p) => p.name).join(',')})` : '';
  return `${base}/${version}/$metadata#deviceManagement/${def.setName}${sel}${opts.entity ? '/$entity' : ''}`;
}

export function entityUrl(base: string, version: ApiVersion, def: EntityDef, id: string): string {
  return `${base}/${version}/deviceManagement/${def.setName}/${encodeURIComponent(id)}`;
}
