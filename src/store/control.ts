import type { AnyRecord } from '../model/edm.js';
import type { DeviceRecord, TenantRecord } from './store.js';

export type { DeviceRecord } from './store.js';

/**
 * The control plane's storage boundary: throttling counters, the clock's settings, fault rules, the
 * admin key, enrolled devices, and whole-state operations (snapshot, reset, seed). Kept apart from
 * `Store` (the Graph data) so that each backend can implement it on its own terms; the SQLite one
 * lives in `sqlite-control.ts`, the PostgreSQL one in `postgres-control.ts`. Times are integer microseconds since the epoch.
 */

/** The clock as stored: frozen at an instant, or running with an offset from the machine's clock. */
export interface ClockSettings {
  /** When set, "now" is this instant and does not move. */
  frozenUs: number | null;
  /** Added to the machine's clock when not frozen. */
  offsetUs: number;
}

export const SYSTEM_CLOCK: ClockSettings = { frozenUs: null, offsetUs: 0 };

/** A throttling counter and the most it may reach in one window. */
export interface ThrottleBucket {
  key: string;
  limit: number;
}

/** A fault rule as stored: its definition (JSON text, owned by src/faults/) and how often it matched. */
export interface FaultRuleRecord {
  id: string;
  /** Rules are evaluated in this order (creation order). */
  position: number;
  spec: string;
  hits: number;
}

/** Everything a snapshot holds, in store terms. */
export interface StateData {
  clock: ClockSettings;
  tenants: TenantRecord[];
  /** Each entity's records by its type name (caches of derived values left out). */
  entities: Record<string, AnyRecord[]>;
  devices: DeviceRecord[];
  faults: FaultRuleRecord[];
}

export const EMPTY_STATE: StateData = { clock: SYSTEM_CLOCK, tenants: [], entities: {}, devices: [], faults: [] };

/** Rows a StateReader reads per page: bounds the memory of an export, whatever the size of the state. */
export const EXPORT_PAGE_ROWS = 500;

/**
 * One consistent read of all state (ControlStore.readState), section by section in pages of at
 * most EXPORT_PAGE_ROWS rows, each in snapshot order, so that a large state can be written out
 * without holding it in memory. Sections are read one after another (one open at a time), each
 * once. The read holds its own connection and transaction until `close`.
 */
export interface StateReader {
  readonly clock: ClockSettings;
  tenants(): AsyncIterable<TenantRecord[]>;
  /** One entity's records by type name (caches of derived values left out). */
  records(typeName: string): AsyncIterable<AnyRecord[]>;
  devices(): AsyncIterable<DeviceRecord[]>;
  /** In position order. */
  faults(): AsyncIterable<FaultRuleRecord[]>;
  /** Ends the read; idempotent. */
  close(): Promise<void>;
}

/** Everything a reader reads, in memory (for small states and callers that need it all), then closes it. */
export async function collectState(reader: StateReader, typeNames: readonly string[]): Promise<StateData> {
  try {
    const all = async <T>(pages: AsyncIterable<T[]>): Promise<T[]> => {
      const out: T[] = [];
      for await (const page of pages) out.push(...page);
      return out;
    };
    const entities: StateData['entities'] = {};
    const tenants = await all(reader.tenants());
    for (const type of typeNames) entities[type] = await all(reader.records(type));
    return { clock: reader.clock, tenants, entities, devices: await all(reader.devices()), faults: await all(reader.faults()) };
  } finally {
    await reader.close();
  }
}

export interface ControlStore {
  readonly kind: 'sqlite' | 'postgres';

  /**
   * Fixed-window counters shared by every process on the store: when no bucket has reached its limit
   * in the window starting at `windowStartUs`, adds one to every bucket and returns undefined;
   * otherwise changes nothing and returns the key of the first bucket at its limit. Atomic.
   */
  consume(buckets: readonly ThrottleBucket[], windowStartUs: number): Promise<string | undefined>;
  /** A bucket's count in the window (0 when it has none there). A bucket counts in one window at a time: another window starts it afresh. */
  peek(key: string, windowStartUs: number): Promise<number>;
  /** Forgets counters whose window started before `beforeUs`. */
  pruneCounters(beforeUs: number): Promise<void>;

  getClock(): Promise<ClockSettings>;
  setClock(settings: ClockSettings): Promise<void>;
  /** Moves "now" forward (or back, when negative) atomically; returns the new settings. */
  advanceClock(us: number): Promise<ClockSettings>;

  listFaultRules(): Promise<FaultRuleRecord[]>;
  /** Stores a rule after the existing ones; returns it with its position. */
  insertFaultRule(id: string, spec: string): Promise<FaultRuleRecord>;
  deleteFaultRule(id: string): Promise<boolean>;
  /** Deletes every rule; returns how many there were. */
  deleteAllFaultRules(): Promise<number>;
  /** Adds one to a rule's matches atomically and returns the new count; undefined when the rule is gone. */
  hitFaultRule(id: string): Promise<number | undefined>;

  /** Stores `candidate` as the admin key unless one is stored; returns the stored key. */
  initAdminKey(candidate: string): Promise<string>;
  setAdminKey(key: string): Promise<void>;
  getAdminKey(): Promise<string | undefined>;

  /**
   * Named text settings beside the admin key (e.g. the generated TLS certificate of a shared store),
   * for processes that race to create or replace one: `initSetting` stores `candidate` unless a value
   * is stored, `replaceSetting` stores `next` only while the stored value is still `expected`; both
   * then read back and return what is stored, whichever process wrote it.
   */
  getSetting(name: string): Promise<string | undefined>;
  initSetting(name: string, candidate: string): Promise<string>;
  replaceSetting(name: string, expected: string, next: string): Promise<string | undefined>;

  listDevices(tenantId?: string): Promise<DeviceRecord[]>;

  /** All state, read in one transaction. */
  exportState(): Promise<StateData>;
  /** Opens one consistent read of all state, to be read in pages (a snapshot export); the caller closes it. */
  readState(): Promise<StateReader>;
  /**
   * Replaces all state (entities, tenants, devices, faults, clock; throttling counters are cleared)
   * with `data`, in one transaction. With `onlyIfEmpty`, does nothing and returns false when the store
   * holds any entity record or tenant.
   */
  replaceState(data: StateData, opts?: { onlyIfEmpty?: boolean }): Promise<boolean>;
  /** Replaces one tenant's records, tenant row, devices and throttling counters with `data`'s rows of that tenant. */
  replaceTenant(tenantId: string, data: StateData): Promise<void>;

  close(): Promise<void>;
}

/** The throttling bucket keys of one tenant start with this (so a tenant reset can clear them). */
export function tenantBucketPrefix(tenantId: string): string {
  return `g:${tenantId}:`;
}
