import type { Condition, RowQuery } from './query.js';

/**
 * The storage boundary. The store knows rows and columns, never Graph names, OData or HTTP.
 * Every method is asynchronous so that the SQLite and PostgreSQL implementations are interchangeable.
 */

/** One enrollment profile as stored. Times are integer microseconds since the epoch. */
export interface ProfileRecord {
  tenantId: string;
  id: string;
  displayName: string;
  description: string | null;
  createdUs: number;
  modifiedUs: number;
  tokenValue: string | null;
  /** Before the first token: the minimum instant the domain chose at creation. */
  tokenExpiresUs: number;
  enrolledDeviceCount: number;
  /** Cached PNG (base64) of the current token's QR code; null until rendered. A cache, not a model property. */
  qrPng: string | null;
}

export interface NewProfile {
  tenantId: string;
  id: string;
  displayName: string;
  description: string | null;
  nowUs: number;
  /** Stored until the first token is created (the column is not nullable). */
  tokenExpiresUs: number;
}

export interface ProfilePatch {
  displayName?: string;
  description?: string | null;
}

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

/** A device counted by `enrollDevice`: the profile that holds the token, and its new count. */
export interface EnrollmentResult {
  tenantId: string;
  profileId: string;
  enrolledDeviceCount: number;
}

/** What `setToken` did. `duplicate` means another profile already holds that token value. */
export type SetTokenResult = 'ok' | 'not-found' | 'duplicate';

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Throws when the database cannot be reached or is not migrated. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * A request begins: what is read for it from here on must include every commit made before this
   * call, by any process. A store that serves `getProfile`/`getTenant` from memory (SQLite in a
   * server) checks once per request whether the database changed instead of on every read, so every
   * request that reads them calls this first (GraphService does, for each call and each `$batch` item).
   */
  beginRequest?(): void;

  /** One page of a tenant's profiles: filtered, ordered, after a keyset position, limited. */
  listProfiles(query: RowQuery): Promise<ProfileRecord[]>;
  /** How many of a tenant's profiles match a condition. */
  countProfiles(tenantId: string, where?: Condition): Promise<number>;
  getProfile(tenantId: string, id: string): Promise<ProfileRecord | undefined>;
  insertProfile(profile: NewProfile): Promise<ProfileRecord>;
  /** Applies the patch and the modification time in one statement; undefined when absent. */
  updateProfile(tenantId: string, id: string, patch: ProfilePatch, nowUs: number): Promise<ProfileRecord | undefined>;
  deleteProfile(tenantId: string, id: string): Promise<boolean>;
  /** Replaces the token atomically (value, expiry, modification time, and drops the cached QR image). */
  setToken(tenantId: string, id: string, tokenValue: string, expiresUs: number, nowUs: number): Promise<SetTokenResult>;
  /** Clears the token; its expiry becomes the revocation instant. False when the profile is absent. */
  revokeToken(tenantId: string, id: string, nowUs: number): Promise<boolean>;
  /** Caches a rendered QR image, only if the profile still holds that token. */
  saveQrImage(tenantId: string, id: string, tokenValue: string, pngBase64: string): Promise<void>;
  /** The profile holding a token value, in any tenant. */
  findProfileByToken(tokenValue: string): Promise<ProfileRecord | undefined>;
  /**
   * Adds one to `enrolledDeviceCount` of the profile holding this token, in one conditional statement,
   * only while the token is current and `nowUs` is before its expiry; undefined (nothing changed) otherwise.
   */
  enrollDevice(tokenValue: string, nowUs: number): Promise<EnrollmentResult | undefined>;

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
