/**
 * The snapshot format (`GET`/`PUT /_admin/snapshot`, `--seed FILE`): versioned JSON of all state —
 * tenants, profiles (tokens and counts included), enrolled devices, fault rules and the clock.
 * Signing keys and the admin key are not part of it (see README "Control API").
 *
 * A seed file is the same format, where everything may be left out: missing lists are empty, and a
 * profile needs only `tenantId` and `displayName` (ids left out are derived from the tenant, the
 * position and the name, so a seed gives the same ids every time it is applied).
 */
import { createHash } from 'node:crypto';
import { parseFaultSpec, FaultSpecError, type FaultSpec } from '../faults/rules.js';
import { isGuid } from '../identity/claims.js';
import type { DeviceRecord, FaultRuleRecord, StateData, StateProfile } from '../store/control.js';
import type { TenantRecord } from '../store/store.js';
import { formatUs, MIN_US, parseIsoToUs } from '../time.js';

export const SNAPSHOT_FORMAT = 'enrollgraph-snapshot';
export const SNAPSHOT_VERSION = 1;

export type SnapshotClock = { frozen: true; now: string } | { frozen: false; offsetSeconds: number };

export interface SnapshotProfile {
  tenantId: string;
  id: string;
  displayName: string;
  description: string | null;
  createdDateTime: string;
  lastModifiedDateTime: string;
  tokenValue: string | null;
  tokenExpirationDateTime: string;
  enrolledDeviceCount: number;
}

export interface SnapshotDevice {
  deviceId: string;
  tenantId: string;
  profileId: string;
  serialNumber: string | null;
  model: string | null;
  enrolledDateTime: string;
}

export type SnapshotFault = { id: string } & FaultSpec & { hits: number };

export interface Snapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  clock: SnapshotClock;
  tenants: TenantRecord[];
  profiles: SnapshotProfile[];
  devices: SnapshotDevice[];
  faults: SnapshotFault[];
}

export class SnapshotError extends Error {}

/** State → the snapshot document. */
export function toSnapshot(state: StateData): Snapshot {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    clock: state.clock.frozenUs !== null ? { frozen: true, now: formatUs(state.clock.frozenUs) } : { frozen: false, offsetSeconds: state.clock.offsetUs / 1e6 },
    tenants: state.tenants.map((t) => ({ tenantId: t.tenantId, licensed: t.licensed })),
    profiles: state.profiles.map((p) => ({
      tenantId: p.tenantId,
      id: p.id,
      displayName: p.displayName,
      description: p.description,
      createdDateTime: formatUs(p.createdUs),
      lastModifiedDateTime: formatUs(p.modifiedUs),
      tokenValue: p.tokenValue,
      tokenExpirationDateTime: formatUs(p.tokenExpiresUs),
      enrolledDeviceCount: p.enrolledDeviceCount,
    })),
    devices: state.devices.map((d) => ({
      deviceId: d.deviceId, tenantId: d.tenantId, profileId: d.profileId, serialNumber: d.serialNumber, model: d.model,
      enrolledDateTime: formatUs(d.enrolledUs),
    })),
    faults: [...state.faults].sort((a, b) => a.position - b.position).map((f) => ({ id: f.id, ...(JSON.parse(f.spec) as FaultSpec), hits: f.hits })),
  };
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
  only(doc, 'snapshot', ['format', 'version', 'takenAt', 'clock', 'tenants', 'profiles', 'devices', 'faults']);
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

  const profiles: StateProfile[] = [];
  const profileSeen = new Set<string>();
  const tokens = new Set<string>();
  list(doc, 'profiles').forEach((p, i) => {
    const where = `profiles[${i}]`;
    if (!isObject(p)) fail(where, 'must be an object');
    only(p, where, ['tenantId', 'id', 'displayName', 'description', 'createdDateTime', 'lastModifiedDateTime', 'tokenValue', 'tokenExpirationDateTime', 'enrolledDeviceCount']);
    const tid = tenantId(p, 'tenantId', where);
    const displayName = str(p, 'displayName', where)!;
    const id = (str(p, 'id', where, { max: 128, optional: true }) as string | undefined) ?? derivedId('profile', tid, i, displayName);
    const description = (str(p, 'description', where, { max: 1024, optional: true, nullable: true }) ?? null) as string | null;
    const createdUs = time(p, 'createdDateTime', where, nowUs);
    const modifiedUs = time(p, 'lastModifiedDateTime', where, createdUs);
    const tokenValue = (str(p, 'tokenValue', where, { optional: true, nullable: true }) ?? null) as string | null;
    const tokenExpiresUs = time(p, 'tokenExpirationDateTime', where, tokenValue === null ? MIN_US : undefined);
    const count = p.enrolledDeviceCount ?? 0;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 2_147_483_647) fail(where, "'enrolledDeviceCount' must be an Int32 ≥ 0");
    const key = `${tid}/${id}`;
    if (profileSeen.has(key)) fail(where, `profile ${id} of tenant ${tid} is listed twice`);
    profileSeen.add(key);
    if (tokenValue !== null) {
      if (tokens.has(tokenValue)) fail(where, 'two profiles hold the same tokenValue');
      tokens.add(tokenValue);
    }
    profiles.push({ tenantId: tid, id, displayName, description, createdUs, modifiedUs, tokenValue, tokenExpiresUs, enrolledDeviceCount: count });
  });

  const devices: DeviceRecord[] = [];
  const deviceSeen = new Set<string>();
  list(doc, 'devices').forEach((d, i) => {
    const where = `devices[${i}]`;
    if (!isObject(d)) fail(where, 'must be an object');
    only(d, where, ['deviceId', 'tenantId', 'profileId', 'serialNumber', 'model', 'enrolledDateTime']);
    const tid = tenantId(d, 'tenantId', where);
    const profileId = str(d, 'profileId', where, { max: 128 })!;
    const deviceId = (str(d, 'deviceId', where, { max: 128, optional: true }) as string | undefined) ?? derivedId('device', tid, profileId, i);
    if (deviceSeen.has(deviceId)) fail(where, `device ${deviceId} is listed twice`);
    deviceSeen.add(deviceId);
    devices.push({
      deviceId, tenantId: tid, profileId,
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

  return { clock, tenants, profiles, devices, faults };
}
