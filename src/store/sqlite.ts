import { closeSync, mkdirSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { androidForWorkEnrollmentProfile as profileDef } from '../model/androidForWorkEnrollmentProfile.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';
import { PROFILE_COLUMNS, toRecord, type ProfileRow } from './rows.js';
import { PerTurn } from './per-turn.js';
import { BUSY_TIMEOUT_MS, SqliteCheckpointer, WAL_SIZE_LIMIT } from './sqlite-checkpointer.js';
import { compileCount, compileSelect, type Condition, type RowQuery } from './query.js';
import type {
  EnrollmentResult, NewProfile, ProfilePatch, ProfileRecord, SetTokenResult, SigningKeyRecord, Store, TenantRecord,
} from './store.js';

export const SQLITE_FILE = 'enrollgraph.db';

export interface SqliteOptions {
  /**
   * Checkpoint the WAL from a worker thread instead of inside commits (for a long-running server);
   * the object form sets the interval and when the WAL starts over (SqliteCheckpointer; for tests).
   */
  backgroundCheckpoints?: boolean | { intervalMs?: number; restartFrames?: number };
  /** Serve profiles and tenants by key from memory (for a server, which calls `beginRequest()` per request). */
  readCache?: boolean;
}

/** Opens (creating if needed) the database file in `dataDir`, or an in-memory database when dataDir is null. */
export function openSqliteStore(dataDir: string | null, opts: SqliteOptions = {}): SqliteStore {
  let checkpointer: SqliteCheckpointer | undefined;
  let db: Database.Database;
  if (dataDir === null) {
    db = new Database(':memory:');
  } else {
    mkdirSync(dataDir, { recursive: true });
    db = new Database(join(dataDir, SQLITE_FILE));
    // WAL: readers never block the writer. synchronous=NORMAL: a committed transaction is in the WAL
    // (the OS page cache) before the call returns, so it survives the process being killed; only a
    // power loss may drop the last transactions.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    if (opts.backgroundCheckpoints) {
      db.pragma('wal_autocheckpoint = 0');
      db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
      const tuning = opts.backgroundCheckpoints === true ? {} : opts.backgroundCheckpoints;
      checkpointer = new SqliteCheckpointer(join(dataDir, SQLITE_FILE), tuning.intervalMs, tuning.restartFrames);
    }
  }
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  migrate(db);
  // A file database may be changed by other processes; whose wal-index (the `-shm` file) tells cheaply whether anyone committed.
  const others = dataDir === null ? 'none' : { walIndexFile: `${join(dataDir, SQLITE_FILE)}-shm` };
  return new SqliteStore(db, checkpointer, opts.readCache ? others : undefined);
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  // IMMEDIATE takes the write lock first, so processes starting together migrate one after the other.
  const run = db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      for (const sql of m.statements('sqlite')) db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }
  });
  run.immediate();
}

const profileKey = (tenantId: string, id: string) => `${tenantId}/${id}`;

/** A write waiting for the group commit (see `SqliteStore.write`). */
interface PendingWrite {
  op: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** The profile it touches (`profileKey`); undefined when it may touch any. */
  key: string | undefined;
  tokenWrite: boolean;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * For each write of a group, the index of the later token write that replaces it, or -1: a token
 * write is replaced when the next write of its profile in the group is a token write too. A write
 * that names no profile ends every such run.
 */
export function replacedTokenWrites(batch: readonly Pick<PendingWrite, 'key' | 'tokenWrite'>[]): Int32Array {
  const replacedBy = new Int32Array(batch.length).fill(-1);
  const nextWrite = new Map<string, number>();
  for (let i = batch.length - 1; i >= 0; i--) {
    const { key, tokenWrite } = batch[i]!;
    if (key === undefined) {
      nextWrite.clear();
      continue;
    }
    const j = nextWrite.get(key);
    if (tokenWrite && j !== undefined && batch[j]!.tokenWrite) replacedBy[i] = j;
    nextWrite.set(key, i);
  }
  return replacedBy;
}

/**
 * Profiles and tenants by key, served from memory while the database is unchanged. Before a read
 * it asks what was committed since the last check: by this connection (`total_changes()`, nearly
 * free: the store's own writes and the control plane's, which share the connection) on every read,
 * and by any other connection (other processes on the file, the CLI) on the first read after a
 * request began. Any change empties the cache, except the store's own writes, which drop just the
 * keys they change (so a burst of createToken calls keeps the tenant cached). So a read never sees a
 * state older than the last commit before its request began, and a GET reads nothing from SQLite.
 *
 * Other connections: `PRAGMA data_version` answers exactly, but it needs a read transaction (file
 * locks: about a fifth of a GET's time). So it runs only when the WAL-index header changed — the
 * first 48 bytes of the `-shm` file, which every commit rewrites with a new change counter (documented
 * in SQLite's "WAL-mode file format", section "The WAL-index header"), read with one pread. An
 * unchanged header means no commit since it was last recorded; a changed or unreadable one means
 * "ask data_version". An in-memory database has no other connections.
 */
const LITTLE_ENDIAN = endianness() === 'LE';

class ReadCache {
  private static readonly MAX_ENTRIES = 10_000;
  private static readonly HEADER_BYTES = 48;
  private dataVersion = -1;
  private changes = -1;
  /** True when a request began since other connections' commits were last checked. */
  private checkOthers = true;
  /** The `-shm` file: open, not opened yet, or unusable (then data_version every time). */
  private walIndexFd: number | undefined | null;
  private readonly header = Buffer.alloc(ReadCache.HEADER_BYTES);
  private readonly seenHeader = Buffer.alloc(ReadCache.HEADER_BYTES);
  private headerSeen = false;
  /** The header's change counter inside our write transaction, and whether it was the recorded header then. */
  private headerBeforeOwn: number | undefined;
  private ownCommitFollowsSeen = false;
  readonly profiles = new Map<string, ProfileRecord | null>();
  readonly tenants = new Map<string, TenantRecord | null>();

  constructor(
    private readonly dataVersionQuery: Database.Statement,
    private readonly totalChangesQuery: Database.Statement,
    private readonly others: 'none' | { walIndexFile: string },
  ) {}

  beginRequest(): void {
    this.checkOthers = true;
  }

  /** Drops what a write of the store itself is changing (called inside the write, so before its commit). */
  forgetProfile(key: string): void {
    this.profiles.delete(key);
  }

  forgetTenant(tenantId: string): void {
    this.tenants.delete(tenantId);
  }

  /**
   * Called inside the group commit's write transaction, before its writes: no other connection can
   * commit until it ends, so the WAL-index header now shows every commit before ours.
   */
  beforeOwnCommit(): void {
    this.headerBeforeOwn = this.readWalIndexHeader() ? this.changeCounter() : undefined;
    this.ownCommitFollowsSeen = this.headerBeforeOwn !== undefined && this.headerSeen && this.header.equals(this.seenHeader);
  }

  /**
   * After the group commit of the store's own writes, each of which forgot the keys it changed: counts
   * their changes as seen, so they do not empty the whole cache (`validate()` ran just before the
   * batch, so no other change hides in the count). And when the WAL-index shows exactly one commit —
   * ours — since the header last checked, records the new header, so the next request need not ask
   * data_version about a commit that was our own.
   */
  afterOwnCommit(): void {
    this.changes = this.totalChangesQuery.get() as number;
    if (this.ownCommitFollowsSeen && this.readWalIndexHeader() && this.changeCounter() === ((this.headerBeforeOwn! + 1) >>> 0)) {
      this.header.copy(this.seenHeader);
    }
    this.ownCommitFollowsSeen = false;
  }

  /** Empties the cache when the database changed since the last check; call before every read of it. */
  validate(): void {
    const t = this.totalChangesQuery.get() as number;
    let d = this.dataVersion;
    if (this.checkOthers) {
      this.checkOthers = false;
      if (this.walIndexChanged()) {
        d = this.dataVersionQuery.get() as number;
        // The header read before data_version: a commit in between shows as a change next time.
        this.header.copy(this.seenHeader);
        this.headerSeen = true;
      }
    }
    if (d !== this.dataVersion || t !== this.changes || this.profiles.size + this.tenants.size > ReadCache.MAX_ENTRIES) {
      this.profiles.clear();
      this.tenants.clear();
      this.dataVersion = d;
      this.changes = t;
    }
  }

  /** False only when the WAL-index header is the one recorded at the last data_version check. */
  private walIndexChanged(): boolean {
    if (this.others === 'none') return false;
    return !this.readWalIndexHeader() || !this.headerSeen || !this.header.equals(this.seenHeader);
  }

  /** Reads the WAL-index header into `header`; false when it cannot be read. */
  private readWalIndexHeader(): boolean {
    if (this.others === 'none') return false;
    if (this.walIndexFd === undefined) {
      try {
        this.walIndexFd = openSync(this.others.walIndexFile, 'r');
      } catch {
        this.walIndexFd = null;
      }
    }
    if (this.walIndexFd === null) return false;
    try {
      return readSync(this.walIndexFd, this.header, 0, ReadCache.HEADER_BYTES, 0) === ReadCache.HEADER_BYTES;
    } catch {
      return false;
    }
  }

  /** `iChange` of the header just read: a u32 at byte 8, in the machine's byte order, +1 per commit. */
  private changeCounter(): number {
    return LITTLE_ENDIAN ? this.header.readUInt32LE(8) : this.header.readUInt32BE(8);
  }

  close(): void {
    if (typeof this.walIndexFd === 'number') closeSync(this.walIndexFd);
    this.walIndexFd = null;
  }
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly q;
  private readonly cache: ReadCache | undefined;
  private readonly tx: Record<'begin' | 'commit' | 'rollback', Database.Statement>;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly pending = new PerTurn<PendingWrite>((batch) => this.flush(batch));

  /** `db` is public so the control plane (sqlite-control.ts) shares this connection and its transactions. */
  constructor(
    readonly db: Database.Database,
    private readonly checkpointer?: SqliteCheckpointer,
    /** Serve profiles and tenants from memory; how to learn of other connections' commits. */
    readCache?: 'none' | { walIndexFile: string },
  ) {
    const t = profileDef.table;
    this.q = {
      version: db.prepare('SELECT MAX(version) AS v FROM schema_migrations'),
      get: db.prepare(`SELECT ${PROFILE_COLUMNS} FROM ${t} WHERE tenant_id = ? AND id = ?`),
      insert: db.prepare(
        `INSERT INTO ${t} (tenant_id, id, display_name, description, created_us, modified_us, token_value, token_expires_us, enrolled_device_count, qr_png)
         VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 0, NULL) RETURNING ${PROFILE_COLUMNS}`,
      ),
      update: db.prepare(
        `UPDATE ${t} SET display_name = COALESCE(@displayName, display_name),
           description = CASE WHEN @setDescription THEN @description ELSE description END,
           modified_us = @nowUs
         WHERE tenant_id = @tenantId AND id = @id RETURNING ${PROFILE_COLUMNS}`,
      ),
      delete: db.prepare(`DELETE FROM ${t} WHERE tenant_id = ? AND id = ?`),
      setToken: db.prepare(
        `UPDATE ${t} SET token_value = ?, token_expires_us = ?, modified_us = ?, qr_png = NULL WHERE tenant_id = ? AND id = ?`,
      ),
      revoke: db.prepare(
        `UPDATE ${t} SET token_value = NULL, token_expires_us = ?, modified_us = ?, qr_png = NULL WHERE tenant_id = ? AND id = ?`,
      ),
      saveQr: db.prepare(`UPDATE ${t} SET qr_png = ? WHERE tenant_id = ? AND id = ? AND token_value = ?`),
      byToken: db.prepare(`SELECT ${PROFILE_COLUMNS} FROM ${t} WHERE token_value = ?`),
      enroll: db.prepare(
        `UPDATE ${t} SET enrolled_device_count = enrolled_device_count + 1 WHERE token_value = ? AND token_expires_us > ?
         RETURNING tenant_id, id, enrolled_device_count`,
      ),
      keys: db.prepare('SELECT kid, private_jwk, public_jwk, created_us FROM signing_keys ORDER BY created_us, kid'),
      insertKey: db.prepare('INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_us) VALUES (?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING'),
      // One statement: SQLite takes the write lock before it reads, so racing processes insert once.
      insertFirstKey: db.prepare(
        'INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_us) SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys)',
      ),
      tenant: db.prepare('SELECT tenant_id, licensed FROM tenants WHERE tenant_id = ?'),
      setTenant: db.prepare(
        'INSERT INTO tenants (tenant_id, licensed) VALUES (?, ?) ON CONFLICT (tenant_id) DO UPDATE SET licensed = excluded.licensed',
      ),
    };
    this.tx = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
    this.cache = readCache === undefined ? undefined : new ReadCache(db.prepare('PRAGMA data_version').pluck(), db.prepare('SELECT total_changes()').pluck(), readCache);
  }

  beginRequest(): void {
    this.cache?.beginRequest();
  }

  async ping(): Promise<void> {
    const row = this.q.version.get() as { v: number | null };
    if (row.v !== LATEST_VERSION) throw new Error(`schema at version ${row.v ?? 0}, expected ${LATEST_VERSION}`);
  }

  async close(): Promise<void> {
    this.cache?.close();
    if (this.db.open) this.db.close();
    await this.checkpointer?.close();
  }

  async listProfiles(query: RowQuery): Promise<ProfileRecord[]> {
    const { sql, params } = compileSelect('sqlite', profileDef.table, PROFILE_COLUMNS, 'tenant_id', query);
    return (this.statement(sql).all(...params) as ProfileRow[]).map(toRecord);
  }

  async countProfiles(tenantId: string, where?: Condition): Promise<number> {
    const { sql, params } = compileCount('sqlite', profileDef.table, 'tenant_id', tenantId, where);
    return (this.statement(sql).get(...params) as { n: number }).n;
  }

  /** Prepared statements of compiled queries, reused by SQL text (the shapes repeat; values are parameters). */
  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      if (this.statements.size >= 500) this.statements.delete(this.statements.keys().next().value!);
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /**
   * Group commit: writes issued in the same turn of the event loop run in one transaction, committed
   * once. A write's promise settles only after that commit, so an acknowledged write is durable as
   * before, and a burst of concurrent writes pays for one WAL commit instead of one each. Each write
   * is one statement, and SQLite undoes a failed statement by itself, so one failing write (a
   * duplicate token) leaves the others of its group in place without a savepoint each.
   *
   * `key` names the one profile a write touches (none: it may touch any); the group drops that
   * profile's cached record just before the write runs. A token write followed in the group by
   * another token write of the same profile, with no other write of that profile in between, is not
   * run: its token would be replaced in the same transaction, unseen by anyone. It gets the later
   * write's outcome, as if it had run just before it (the PostgreSQL store does the same).
   */
  private write<T>(op: () => T, key?: string, tokenWrite = false): Promise<T> {
    return new Promise<T>((resolve, reject) => this.pending.add({ op, resolve: resolve as (v: unknown) => void, reject, key, tokenWrite }));
  }

  private flush(batch: readonly PendingWrite[]): void {
    const { tx, cache } = this;
    this.checkpointer?.restartIfWanted(this.db);
    cache?.validate(); // before the batch: whatever else changed on this connection empties the cache now
    const replacedBy = batch.length > 1 ? replacedTokenWrites(batch) : undefined;
    const results: Outcome[] = new Array(batch.length);
    try {
      tx.begin.run();
      cache?.beforeOwnCommit();
      for (let i = 0; i < batch.length; i++) {
        if (replacedBy !== undefined && replacedBy[i]! >= 0) continue;
        const w = batch[i]!;
        if (w.key !== undefined) cache?.forgetProfile(w.key); // its cached record is about to change
        try {
          results[i] = { ok: true, value: w.op() };
        } catch (error) {
          // Some errors (disk full, I/O) make SQLite roll back the whole transaction: then nothing of it holds.
          if (!this.db.inTransaction) throw error;
          results[i] = { ok: false, error };
        }
      }
      tx.commit.run();
    } catch (error) {
      if (this.db.inTransaction) tx.rollback.run();
      for (const w of batch) w.reject(error);
      return;
    }
    cache?.afterOwnCommit();
    // Backwards, so a write replaced by one that was itself replaced finds the final outcome.
    if (replacedBy !== undefined) for (let i = batch.length - 1; i >= 0; i--) if (replacedBy[i]! >= 0) results[i] = results[replacedBy[i]!]!;
    for (let i = 0; i < batch.length; i++) {
      const r = results[i]!;
      if (r.ok) batch[i]!.resolve(r.value);
      else batch[i]!.reject(r.error);
    }
  }

  async getProfile(tenantId: string, id: string): Promise<ProfileRecord | undefined> {
    const cache = this.cache;
    if (!cache) return this.readProfile(tenantId, id) ?? undefined;
    cache.validate();
    const key = profileKey(tenantId, id);
    let r = cache.profiles.get(key);
    if (r === undefined) {
      r = this.readProfile(tenantId, id);
      // Frozen: shared by every caller while the row is unchanged (ProfileService keys its own caches on that).
      cache.profiles.set(key, (r = r && Object.freeze(r)));
    }
    return r ?? undefined;
  }

  private readProfile(tenantId: string, id: string): ProfileRecord | null {
    const row = this.q.get.get(tenantId, id) as ProfileRow | undefined;
    return row ? toRecord(row) : null;
  }

  async insertProfile(p: NewProfile): Promise<ProfileRecord> {
    const key = profileKey(p.tenantId, p.id);
    return this.write(() => toRecord(this.q.insert.get(p.tenantId, p.id, p.displayName, p.description, p.nowUs, p.nowUs, p.tokenExpiresUs) as ProfileRow), key);
  }

  async updateProfile(tenantId: string, id: string, patch: ProfilePatch, nowUs: number): Promise<ProfileRecord | undefined> {
    const key = profileKey(tenantId, id);
    const row = await this.write(() => this.q.update.get({
      tenantId,
      id,
      nowUs,
      displayName: patch.displayName ?? null,
      setDescription: patch.description !== undefined ? 1 : 0,
      description: patch.description ?? null,
    }) as ProfileRow | undefined, key);
    return row && toRecord(row);
  }

  async deleteProfile(tenantId: string, id: string): Promise<boolean> {
    const key = profileKey(tenantId, id);
    return this.write(() => this.q.delete.run(tenantId, id).changes > 0, key);
  }

  setToken(tenantId: string, id: string, tokenValue: string, expiresUs: number, nowUs: number): Promise<SetTokenResult> {
    const key = profileKey(tenantId, id);
    return this.write((): SetTokenResult => {
      try {
        return this.q.setToken.run(tokenValue, expiresUs, nowUs, tenantId, id).changes > 0 ? 'ok' : 'not-found';
      } catch (err) {
        // SQLite undid the statement; the rest of the group stands.
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'duplicate';
        throw err;
      }
    }, key, true);
  }

  async revokeToken(tenantId: string, id: string, nowUs: number): Promise<boolean> {
    const key = profileKey(tenantId, id);
    return this.write(() => this.q.revoke.run(nowUs, nowUs, tenantId, id).changes > 0, key);
  }

  async saveQrImage(tenantId: string, id: string, tokenValue: string, pngBase64: string): Promise<void> {
    const key = profileKey(tenantId, id);
    await this.write(() => this.q.saveQr.run(pngBase64, tenantId, id, tokenValue), key);
  }

  async findProfileByToken(tokenValue: string): Promise<ProfileRecord | undefined> {
    const row = this.q.byToken.get(tokenValue) as ProfileRow | undefined;
    return row && toRecord(row);
  }

  async enrollDevice(tokenValue: string, nowUs: number): Promise<EnrollmentResult | undefined> {
    const row = await this.write(() => {
      const r = this.q.enroll.get(tokenValue, nowUs) as { tenant_id: string; id: string; enrolled_device_count: number } | undefined;
      if (r) this.cache?.forgetProfile(profileKey(r.tenant_id, r.id)); // found by token: its key was not known before
      return r;
    });
    return row && { tenantId: row.tenant_id, profileId: row.id, enrolledDeviceCount: row.enrolled_device_count };
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return (this.q.keys.all() as { kid: string; private_jwk: string; public_jwk: string; created_us: number }[]).map((r) => ({
      kid: r.kid, privateJwk: r.private_jwk, publicJwk: r.public_jwk, createdUs: r.created_us,
    }));
  }

  async insertSigningKey(k: SigningKeyRecord): Promise<void> {
    this.q.insertKey.run(k.kid, k.privateJwk, k.publicJwk, k.createdUs);
  }

  async insertFirstSigningKey(k: SigningKeyRecord): Promise<boolean> {
    return this.q.insertFirstKey.run(k.kid, k.privateJwk, k.publicJwk, k.createdUs).changes > 0;
  }

  async getTenant(tenantId: string): Promise<TenantRecord | undefined> {
    const cache = this.cache;
    if (!cache) return this.readTenant(tenantId) ?? undefined;
    cache.validate();
    let r = cache.tenants.get(tenantId);
    if (r === undefined) cache.tenants.set(tenantId, (r = this.readTenant(tenantId)));
    return r ?? undefined;
  }

  private readTenant(tenantId: string): TenantRecord | null {
    const row = this.q.tenant.get(tenantId) as { tenant_id: string; licensed: number } | undefined;
    return row ? Object.freeze({ tenantId: row.tenant_id, licensed: row.licensed === 1 }) : null;
  }

  async setTenantLicensed(tenantId: string, licensed: boolean): Promise<void> {
    await this.write(() => (this.cache?.forgetTenant(tenantId), this.q.setTenant.run(tenantId, licensed ? 1 : 0)));
  }
}
