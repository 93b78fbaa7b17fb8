import type { AnyRecord, EntityDef } from '../model/edm.js';
import type { ControlStore } from './control.js';
import type { Condition, RowQuery } from './query.js';

/**
 * The storage boundary. The store knows entity definitions (the model) and rows, never HTTP, Graph's
 * wire format or OData. Records are keyed by the model's property names; times are integer
 * microseconds since the epoch. Every method is asynchronous so that the SQLite and PostgreSQL
 * implementations are interchangeable.
 */

export interface SigningKeyRecord {
  kid: string;
  /** JWK JSON of the private key. */
  privateJwk: string;
  /** JWK JSON of the public key. */
  publicJwk: string;
  createdUs: number;
}

export interface TenantRecord {
  tenantId: string;
  licensed: boolean;
}

/** A device enrolled with a token, as stored beside the count it added to. */
export interface DeviceRecord {
  deviceId: string;
  tenantId: string;
  /** The entity type of the profile (`androidForWorkEnrollmentProfile`, …). */
  profileType: string;
  profileId: string;
  serialNumber: string | null;
  model: string | null;
  enrolledUs: number;
}

/**
 * A change to one record. `set` holds property values (domain form); `token` moves the record's entry
 * in the token registry with it: a string makes it the record's token (unique across every entity),
 * null removes the record's token. Applied atomically.
 */
export interface Change {
  set: Record<string, unknown>;
  token?: string | null;
}

/** A compare-and-set of some properties of one record, without token changes (`Store.updateEach`). */
export interface ConditionalSet {
  tenantId: string;
  id: string;
  set: Record<string, unknown>;
  onlyIf: Record<string, unknown>;
}

/** The outcome of `update`: the changed record, absent, or (with a token) a value another record holds. */
export type UpdateResult = { ok: true; record: AnyRecord } | { ok: false; reason: 'not-found' | 'duplicate-token' };

/** Where a token value is held. */
export interface TokenHolder {
  def: EntityDef;
  tenantId: string;
  id: string;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Throws when the database cannot be reached or is not migrated. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** The control plane's state on the same database (see control.ts). */
  openControlStore(): Promise<ControlStore>;

  /** One page of a tenant's records: filtered, ordered, after a keyset position, limited. */
  list(def: EntityDef, query: RowQuery): Promise<AnyRecord[]>;
  /** How many of a tenant's records match a condition. */
  count(def: EntityDef, tenantId: string, where?: Condition): Promise<number>;
  get(def: EntityDef, tenantId: string, id: string): Promise<AnyRecord | undefined>;
  /** Inserts a whole record (every stored property). */
  insert(def: EntityDef, record: AnyRecord): Promise<AnyRecord>;
  /** Applies a change to one record in one transaction; `onlyIf` values must still hold (compare-and-set). */
  update(def: EntityDef, tenantId: string, id: string, change: Change, onlyIf?: Record<string, unknown>): Promise<UpdateResult>;
  /**
   * Independent compare-and-sets of one entity's records (e.g. caching rendered QR images): each
   * applies only where its `onlyIf` still holds, whatever becomes of the others. Together where the
   * store gains by it (SQLite: one transaction, so one commit, and pages they share written once).
   */
  updateEach(def: EntityDef, updates: readonly ConditionalSet[]): Promise<void>;
  /** Deletes a record and its token. */
  delete(def: EntityDef, tenantId: string, id: string): Promise<boolean>;

  /** The record holding a token value, of whichever entity: one lookup in the token registry. */
  findToken(tokenValue: string): Promise<TokenHolder | undefined>;
  /**
   * Enrolls a device with a token in one transaction: adds one to each of the holder's enrollment
   * counters while the token is still its current one and `nowUs` is before its expiry, and stores
   * the device. Undefined (nothing changed) otherwise.
   */
  enroll(tokenValue: string, nowUs: number, device: Omit<DeviceRecord, 'tenantId' | 'profileType' | 'profileId'>): Promise<{ holder: TokenHolder; record: AnyRecord } | undefined>;

  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /** Inserts a key unless one with that kid exists (so racing first starts converge). */
  insertSigningKey(key: SigningKeyRecord): Promise<void>;
  /**
   * Inserts the key only if the store holds no signing key at all, atomically even across processes;
   * true if it was inserted. Processes starting together on an empty store so agree on one key.
   */
  insertFirstSigningKey(key: SigningKeyRecord): Promise<boolean>;

  getTenant(tenantId: string): Promise<TenantRecord | undefined>;
  setTenantLicensed(tenantId: string, licensed: boolean): Promise<void>;
}
