/**
 * The snapshot format (`GET`/`PUT /_admin/snapshot`, `--seed FILE`): versioned JSON of all state —
 * tenants, profiles (tokens and counts included), enrolled devices, fault rules and the clock.
 * Signing keys and the admin key are not part of it (see README "Control API").
 *
 * Each entity of the registry is listed under its `snapshotKey` (`profiles` for
 * androidForWorkEnrollmentProfile), a record as `tenantId` and its stored properties in Graph's JSON
 * form (caches of derived values left out).
 *
 * A seed file is the same format, where everything may be left out: missing lists are empty, and a
 * record needs only `tenantId` and its required properties (ids left out are derived from the
 * tenant, the position and those values, so a seed gives the same ids every time it is applied).
 */
import { createHash } from 'node:crypto';
import { parseFaultSpec, FaultSpecError, type FaultSpec } from '../faults/rules.js';
import { isGuid } from '../identity/claims.js';
import { decodeProperty, encodeProperty } from '../model/codecs.js';
import { TENANT_COLUMN, withRole, type AnyRecord, type EntityDef, type PropertyDef } from '../model/edm.js';
import { ENTITIES } from '../model/registry.js';
import { Problem } from '../problem.js';
import type { ClockSettings, DeviceRecord, FaultRuleRecord, StateData, StateReader } from '../store/control.js';
import type { TenantRecord } from '../store/store.js';
import { formatUs, MIN_US, parseIsoToUs } from '../time.js';

export const SNAPSHOT_FORMAT = 'enrollgraph-snapshot';
export const SNAPSHOT_VERSION = 1;

export type SnapshotClock = { frozen: true; now: string } | { frozen: false; offsetSeconds: number };

/** A record as a snapshot lists it: `tenantId` and the stored properties as Graph's JSON. */
export type SnapshotRecord = { tenantId: string } & Record<string, unknown>;

export interface SnapshotDevice {
  deviceId: string;
  tenantId: string;
  profileType: string;
  profileId: string;
  serialNumber: string | null;
  model: string | null;
  enrolledDateTime: string;
}

export type SnapshotFault = { id: string } & FaultSpec & { hits: number };

export type Snapshot = {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  clock: SnapshotClock;
  tenants: TenantRecord[];
  devices: SnapshotDevice[];
  faults: SnapshotFault[];
} & { [snapshotKey: string]: unknown };

/** The properties a snapshot carries of an entity: stored ones, but the tenant (its own key) and caches. */
function snapshotProperties(def: EntityDef): PropertyDef[] {
  return def.properties.filter((p) => p.column !== undefined && !p.derived && p.column.name !== TENANT_COLUMN.name);
}

export class SnapshotError extends Error {}

const snapshotClock = (c: ClockSettings): SnapshotClock =>
  c.frozenUs !== null ? { frozen: true, now: formatUs(c.frozenUs) } : { frozen: false, offsetSeconds: c.offsetUs / 1e6 };

const snapshotTenant = (t: TenantRecord): TenantRecord => ({ tenantId: t.tenantId, licensed: t.licensed });

function snapshotRecord(props: readonly PropertyDef[], r: AnyRecord): SnapshotRecord {
  const out: SnapshotRecord = { tenantId: r.tenantId };
  for (const p of props) out[p.name] = encodeProperty(p, r[p.name]);
  return out;
}

const snapshotDevice = (d: DeviceRecord): SnapshotDevice => ({
  deviceId: d.deviceId, tenantId: d.tenantId, profileType: d.profileType, profileId: d.profileId, serialNumber: d.serialNumber, model: d.model,
  enrolledDateTime: formatUs(d.enrolledUs),
});

const snapshotFault = (f: FaultRuleRecord): SnapshotFault => ({ id: f.id, ...(JSON.parse(f.spec) as FaultSpec), hits: f.hits });

/** State → the snapshot document. */
export function toSnapshot(state: StateData): Snapshot {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    clock: snapshotClock(state.clock),
    tenants: state.tenants.map(snapshotTenant),
    ...Object.fromEntries(ENTITIES.map((def) => {
      const props = snapshotProperties(def);
      return [def.snapshotKey, (state.entities[def.typeName] ?? []).map((r) => snapshotRecord(props, r))];
    })),
    devices: state.devices.map(snapshotDevice),
    faults: [...state.faults].sort((a, b) => a.position - b.position).map(snapshotFault),
  };
}

/** The text a streamed snapshot collects before it hands a chunk on. */
const CHUNK_CHARS = 64 * 1024;

/**
 * The snapshot document of a reader's state as JSON text, in chunks, a page of records at a time (so
 * a large state is never held in memory): the text of `JSON.stringify` of toSnapshot's document
 * with `takenAt` after `version`. The reader is closed when the text ends, fails, or is abandoned
 * (`return()` on the iterator, even before the first chunk).
 */
export function snapshotText(reader: StateReader, takenAt: string): AsyncIterableIterator<string> {
  const text = snapshotChunks(reader, takenAt);
  return {
    next: () => text.next(),
    async return(value?: unknown) {
      try {
        return await text.return(value as undefined);
      } finally {
        await reader.close();
      }
    },
    async throw(err?: unknown) {
      try {
        return await text.throw(err);
      } finally {
        await reader.close();
      }
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

async function* snapshotChunks(reader: StateReader, takenAt: string): AsyncGenerator<string, undefined> {
  try {
    const head = { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, takenAt, clock: snapshotClock(reader.clock) };
    let text = JSON.stringify(head).slice(0, -1);
    // Each list: its key, then its items as they are read.
    async function* list<T>(key: string, pages: AsyncIterable<T[]>, encode: (item: T) => unknown): AsyncGenerator<string, undefined> {
      text += `,${JSON.stringify(key)}:[`;
      let first = true;
      for await (const page of pages) {
        for (const item of page) {
          text += first ? JSON.stringify(encode(item)) : `,${JSON.stringify(encode(item))}`;
          first = false;
        }
        if (text.length >= CHUNK_CHARS) {
          yield text;
          text = '';
        }
      }
      text += ']';
      return undefined;
    }
    yield* list('tenants', reader.tenants(), snapshotTenant);
    for (const def of ENTITIES) {
      const props = snapshotProperties(def);
      yield* list(def.snapshotKey, reader.records(def.typeName), (r: AnyRecord) => snapshotRecord(props, r));
    }
    yield* list('devices', reader.devices(), snapshotDevice);
    yield* list('faults', reader.faults(), snapshotFault);
    yield `${text}}`;
    return undefined;
  } finally {
    await reader.close();
  }
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(where: string, what: string): never {
  throw new SnapshotError(`${where}: ${what}`);
}

function only(o: Obj, where: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(where, `unknown property '${k}'`);
}

function list(doc: Obj, name: string): unknown[] {
  const v = doc[name];
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(name, 'must be an array');
  return v;
}

function str(o: Obj, k: string, where: string, opts: { max?: number; optional?: boolean; nullable?: boolean } = {}): string | null | undefined {
  const v = o[k];
  if (v === undefined && opts.optional) return undefined;
  if (v === null && opts.nullable) return null;
  if (typeof v !== 'string' || v === '' || v.length > (opts.max ?? 256)) fail(where, `'${k}' must be a string of 1 to ${opts.max ?? 256} characters`);
  return v;
}

function time(o: Obj, k: string, where: string, fallback: number | undefined): number {
  const v = o[k];
  if (v === undefined && fallback !== undefined) return fallback;
  const us = typeof v === 'string' ? parseIsoToUs(v) : undefined;
  if (us === undefined) fail(where, `'${k}' must be an ISO 8601 date-time with offset`);
  return Math.max(us, MIN_US);
}

function tenantId(o: Obj, k: string, where: string): string {
  const v = o[k];
  if (!isGuid(v)) fail(where, `'${k}' must be a tenant GUID`);
  return v.toLowerCase();
}

function derivedId(...parts: (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A snapshot or seed document → state. `nowUs` fills the times a seed leaves out. Throws
 * SnapshotError naming the first problem.
 */
export function fromSnapshot(doc: unknown, nowUs: number): StateData {
  if (!isObject(doc)) throw new SnapshotError('A snapshot is a JSON object.');
  only(doc, 'snapshot', ['format', 'version', 'takenAt', 'clock', 'tenants', ...ENTITIES.map((e) => e.snapshotKey), 'devices', 'faults']);
  if (doc.format !== undefined && doc.format !== SNAPSHOT_FORMAT) fail('format', `must be '${SNAPSHOT_FORMAT}'`);
  if (doc.version !== undefined && doc.version !== SNAPSHOT_VERSION) fail('version', `this server reads version ${SNAPSHOT_VERSION}, not ${JSON.stringify(doc.version)}`);

  let clock: StateData['clock'] = { frozenUs: null, offsetUs: 0 };
  if (doc.clock !== undefined) {
    const c = doc.clock;
    if (!isObject(c)) fail('clock', 'must be an object');
    only(c, 'clock', ['frozen', 'now', 'offsetSeconds']);
    if (c.frozen !== undefined && typeof c.frozen !== 'boolean') fail('clock', "'frozen' must be true or false");
    if (c.frozen === true) {
      clock = { frozenUs: time(c, 'now', 'clock', undefined), offsetUs: 0 };
    } else if (c.now !== undefined) {
      clock = { frozenUs: null, offsetUs: time(c, 'now', 'clock', undefined) - nowUs };
    } else if (c.offsetSeconds !== undefined) {
      if (typeof c.offsetSeconds !== 'number' || !Number.isFinite(c.offsetSeconds)) fail('clock', "'offsetSeconds' must be a number");
      clock = { frozenUs: null, offsetUs: Math.round(c.offsetSeconds * 1e6) };
    }
  }

  const tenants: TenantRecord[] = [];
  const tenantSeen = new Set<string>();
  list(doc, 'tenants').forEach((t, i) => {
    const where = `tenants[${i}]`;
    if (!isObject(t)) fail(where, 'must be an object');
    only(t, where, ['tenantId', 'licensed']);
    const tid = tenantId(t, 'tenantId', where);
    if (t.licensed !== undefined && typeof t.licensed !== 'boolean') fail(where, "'licensed' must be true or false");
    if (tenantSeen.has(tid)) fail(where, `tenant ${tid} is listed twice`);
    tenantSeen.add(tid);
    tenants.push({ tenantId: tid, licensed: t.licensed !== false });
  });

  const entities: StateData['entities'] = {};
  const tokens = new Set<string>();
  for (const def of ENTITIES) entities[def.typeName] = records(doc, def, nowUs, tokens);

  const devices: DeviceRecord[] = [];
  const deviceSeen = new Set<string>();
  list(doc, 'devices').forEach((d, i) => {
    const where = `devices[${i}]`;
    if (!isObject(d)) fail(where, 'must be an object');
    only(d, where, ['deviceId', 'tenantId', 'profileType', 'profileId', 'serialNumber', 'model', 'enrolledDateTime']);
    const tid = tenantId(d, 'tenantId', where);
    const profileType = (str(d, 'profileType', where, { optional: true }) as string | undefined) ?? 'androidForWorkEnrollmentProfile';
    if (!ENTITIES.some((e) => e.typeName === profileType && withRole(e, 'token'))) fail(where, `'profileType' names no kind of profile: '${profileType}'`);
    const profileId = str(d, 'profileId', where, { max: 128 })!;
    const deviceId = (str(d, 'deviceId', where, { max: 128, optional: true }) as string | undefined) ?? derivedId('device', tid, profileId, i);
    if (deviceSeen.has(deviceId)) fail(where, `device ${deviceId} is listed twice`);
    deviceSeen.add(deviceId);
    devices.push({
      deviceId, tenantId: tid, profileType, profileId,
      serialNumber: (str(d, 'serialNumber', where, { optional: true, nullable: true }) ?? null) as string | null,
      model: (str(d, 'model', where, { optional: true, nullable: true }) ?? null) as string | null,
      enrolledUs: time(d, 'enrolledDateTime', where, nowUs),
    });
  });

  const faults: FaultRuleRecord[] = [];
  const faultSeen = new Set<string>();
  list(doc, 'faults').forEach((f, i) => {
    const where = `faults[${i}]`;
    if (!isObject(f)) fail(where, 'must be an object');
    const { id, hits, ...rest } = f;
    const ruleId = id === undefined ? derivedId('fault', i, JSON.stringify(rest)) : id;
    if (typeof ruleId !== 'string' || ruleId === '' || ruleId.length > 128) fail(where, "'id' must be a string of 1 to 128 characters");
    if (hits !== undefined && (typeof hits !== 'number' || !Number.isInteger(hits) || hits < 0)) fail(where, "'hits' must be an integer ≥ 0");
    if (faultSeen.has(ruleId)) fail(where, `fault rule ${ruleId} is listed twice`);
    faultSeen.add(ruleId);
    let spec: FaultSpec;
    try {
      spec = parseFaultSpec(rest);
    } catch (err) {
      if (err instanceof FaultSpecError) fail(where, err.message);
      throw err;
    }
    faults.push({ id: ruleId, position: i + 1, spec: JSON.stringify(spec), hits: (hits as number | undefined) ?? 0 });
  });

  return { clock, tenants, entities, devices, faults };
}

/**
 * An entity's records: each value through its property's codec, as a client's would be, but
 * server-written ones are taken too; what a seed leaves out is derived (ids), stamped (`nowUs`) or
 * the model's default. Token values are unique across every entity (`tokens`).
 */
function records(doc: Obj, def: EntityDef, nowUs: number, tokens: Set<string>): AnyRecord[] {
  const props = snapshotProperties(def);
  const required = props.filter((p) => p.required);
  const token = withRole(def, 'token');
  const seen = new Set<string>();
  // Seeds of earlier versions derived androidForWork ids under the label 'profile': keep them stable.
  const label = def.snapshotKey === 'profiles' ? 'profile' : def.typeName;
  return list(doc, def.snapshotKey).map((item, i) => {
    const where = `${def.snapshotKey}[${i}]`;
    if (!isObject(item)) fail(where, 'must be an object');
    only(item, where, ['tenantId', ...props.map((p) => p.name)]);
    const tid = tenantId(item, 'tenantId', where);
    const r: AnyRecord = { tenantId: tid, id: '' };
    const tenantProp = def.properties.find((p) => p.column?.name === TENANT_COLUMN.name);
    if (tenantProp) r[tenantProp.name] = tid;
    const value = (p: PropertyDef): unknown => {
      try {
        return decodeProperty(p, item[p.name]);
      } catch (err) {
        if (err instanceof Problem) fail(where, err.message);
        throw err;
      }
    };
    for (const p of props) {
      if (item[p.name] !== undefined) r[p.name] = value(p);
      else if (p.required) fail(where, `'${p.name}' is required`);
    }
    if (def.exposed === 'singleton') r.id = tid; // one record per tenant, keyed by the tenant
    else if (item.id === undefined) r.id = derivedId(label, tid, i, ...required.map((p) => String(r[p.name])));
    else if (typeof r.id !== 'string' || r.id === '' || r.id.length > 128) fail(where, "'id' must be a string of 1 to 128 characters");
    const created = withRole(def, 'created');
    for (const p of props) {
      if (item[p.name] !== undefined || p.name === 'id') continue;
      if (p.role === 'created') r[p.name] = nowUs;
      else if (p.role === 'modified') r[p.name] = created ? r[created.name] : nowUs;
      else if (p.role === 'tokenExpires' && token && r[token.name] !== null && r[token.name] !== undefined) fail(where, `'${p.name}' is required with a '${token.name}'`);
      else r[p.name] = p.default !== undefined ? decodeProperty({ ...p, required: false }, p.default) : null;
    }
    for (const p of props) {
      if ((p.role === 'enrollCount' || p.role === 'tokenUsage') && (r[p.name] as number) < 0) fail(where, `'${p.name}' must be an Int32 ≥ 0`);
    }
    const key = `${tid}/${r.id}`;
    if (seen.has(key)) fail(where, `${def.typeName} ${r.id} of tenant ${tid} is listed twice`);
    seen.add(key);
    const t = token && r[token.name];
    if (typeof t === 'string') {
      if (tokens.has(t)) fail(where, `two records hold the same ${token!.name}`);
      tokens.add(t);
    }
    return r;
  });
}
