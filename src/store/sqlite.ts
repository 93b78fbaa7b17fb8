import { mkdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { AnyRecord, EntityDef } from '../model/edm.js';
import { entityByType, ENTITIES } from '../model/registry.js';
import type { ControlStore } from './control.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';
import { compileCount, compileSelect, type Condition, type RowQuery } from './query.js';
import { PerTurn, type Waiter } from './per-turn.js';
import { DEVICE_COLUMNS, entityTables, REGISTRY_SQL, type EntityTable, type Row } from './sql.js';
import { SqliteControlStore } from './sqlite-control.js';
import { sqliteFile } from './sqlite-file.js';
import type { Change, ConditionalSet, DeviceRecord, SigningKeyRecord, Store, TenantRecord, TokenHolder, UpdateResult } from './store.js';

/** How long a statement waits for another process's write lock before failing. */
const BUSY_TIMEOUT_MS = 5_000;
/**
 * The WAL is checkpointed by SQLite itself (wal_autocheckpoint, every 1000 pages, in the committing
 * connection), and truncated back to this size after a checkpoint, so it stays bounded however long
 * writes go on.
 */
const JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024;

/** Opens (creating if needed) the database file in `dataDir`, or an in-memory database when dataDir is null. */
export function openSqliteStore(dataDir: string | null): SqliteStore {
  let db: Database.Database;
  if (dataDir === null) {
    db = new Database(':memory:');
  } else {
    mkdirSync(dataDir, { recursive: true });
    db = new Database(sqliteFile(dataDir));
    // WAL: readers never block the writer. synchronous=NORMAL: a committed transaction is in the WAL
    // (the OS page cache) before the call returns, so it survives the process being killed; only a
    // power loss may drop the last transactions.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
  }
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  migrate(db);
  return new SqliteStore(db);
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  // IMMEDIATE takes the write lock first, so processes starting together migrate one after the other.
  const run = db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      for (const sql of m.sql.sqlite) db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }
  });
  run.immediate();
}

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true &&
  /UNIQUE|PRIMARY KEY/.test((err as Error).message);

/** A write waiting for the next group commit. */
interface PendingWrite extends Waiter<unknown> {
  run: () => unknown;
}

/**
 * The SQLite store: one connection (better-sqlite3 is synchronous, so every statement runs to the
 * end before the next begins), prepared statements cached by their text.
 *
 * Group commit: the writes asked for in one turn of the event loop run in one IMMEDIATE transaction
 * (which takes the write lock before it reads), each in a savepoint of its own (better-sqlite3 nests
 * a transaction function as a savepoint), and each is answered only after the commit. A commit costs
 * far more than a write (the WAL append, and now and then a checkpoint's fsync), and `npm run bench`
 * shows createToken far below its floor without it (docs/performance.md). A write that fails (a
 * token value another record holds) is undone alone, by its savepoint.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly tables = entityTables(ENTITIES, 'sqlite');
  private readonly statements = new Map<string, Database.Statement>();
  private readonly updateTx;
  private readonly updateEachTx;
  private readonly deleteTx;
  private readonly enrollTx;
  private readonly groupTx;
  private readonly writes = new PerTurn<PendingWrite>((batch) => this.commit(batch));

  constructor(private readonly db: Database.Database) {
    this.groupTx = db.transaction((batch: readonly PendingWrite[], outcomes: { ok: boolean; value: unknown }[]) => {
      for (const w of batch) {
        try {
          outcomes.push({ ok: true, value: w.run() });
        } catch (error) {
          // An error that ends the whole transaction (I/O, disk full) fails every write of the group.
          if (!db.inTransaction) throw error;
          outcomes.push({ ok: false, value: error });
        }
      }
    });
    this.updateTx = db.transaction((t: EntityTable, tenantId: string, id: string, change: Change, onlyIf?: Record<string, unknown>): UpdateResult => {
      const { sql, params } = t.update(tenantId, id, change.set, onlyIf);
      const row = this.statement(sql).get(...params) as Row | undefined;
      if (!row) return { ok: false, reason: 'not-found' };
      if (change.token === null) this.statement(t.sql.deleteToken).run(t.def.typeName, tenantId, id);
      else if (change.token !== undefined) this.statement(REGISTRY_SQL.upsert(t.ph.bind(t))).run(t.def.typeName, tenantId, id, change.token);
      return { ok: true, record: t.record(row) };
    });
    this.updateEachTx = db.transaction((t: EntityTable, updates: readonly ConditionalSet[]) => {
      for (const u of updates) {
        const { sql, params } = t.update(u.tenantId, u.id, u.set, u.onlyIf);
        this.statement(sql).get(...params);
      }
    });
    this.deleteTx = db.transaction((t: EntityTable, tenantId: string, id: string): boolean => {
      this.statement(t.sql.deleteToken).run(t.def.typeName, tenantId, id);
      return this.statement(t.sql.delete).run(tenantId, id).changes > 0;
    });
    this.enrollTx = db.transaction((tokenValue: string, nowUs: number, device: Omit<DeviceRecord, 'tenantId' | 'profileType' | 'profileId'>) => {
      const holder = this.holder(tokenValue);
      if (!holder) return undefined;
      const t = this.table(holder.def);
      const row = this.statement(t.enrollSql()).get(holder.tenantId, holder.id, tokenValue, nowUs) as Row | undefined;
      if (!row) return undefined;
      this.statement(`INSERT INTO enrolled_devices (${DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`)
        .run(device.deviceId, holder.tenantId, holder.def.typeName, holder.id, device.serialNumber, device.model, device.enrolledUs);
      return { holder, record: t.record(row) };
    });
  }

  /** Runs `run` (a transaction function: a savepoint inside the group's transaction) in the next group commit. */
  private write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => this.writes.add({ run, resolve: resolve as (value: unknown) => void, reject }));
  }

  private commit(batch: readonly PendingWrite[]): void {
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.groupTx.immediate(batch, outcomes);
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => (outcomes[i]!.ok ? w.resolve(outcomes[i]!.value) : w.reject(outcomes[i]!.value)));
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (this.statements.size < 1000) this.statements.set(sql, s);
    }
    return s;
  }

  private table(def: EntityDef): EntityTable {
    return this.tables.get(def.typeName)!;
  }

  async openControlStore(): Promise<ControlStore> {
    // The same connection: a snapshot import covers the Graph data and the control state in one transaction.
    return new SqliteControlStore(this.db, this.tables);
  }

  async ping(): Promise<void> {
    const row = this.statement('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    if (row.v !== LATEST_VERSION) throw new Error(`schema at version ${row.v ?? 0}, expected ${LATEST_VERSION}`);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async list(def: EntityDef, query: RowQuery): Promise<AnyRecord[]> {
    const t = this.table(def);
    const { sql, params } = compileSelect('sqlite', t.name, t.columnList, 'tenant_id', query);
    return (this.statement(sql).all(...params) as Row[]).map((r) => t.record(r));
  }

  async count(def: EntityDef, tenantId: string, where?: Condition): Promise<number> {
    const { sql, params } = compileCount('sqlite', def.table, 'tenant_id', tenantId, where);
    return (this.statement(sql).get(...params) as { n: number }).n;
  }

  async get(def: EntityDef, tenantId: string, id: string): Promise<AnyRecord | undefined> {
    const t = this.table(def);
    const row = this.statement(t.sql.get).get(tenantId, id) as Row | undefined;
    return row && t.record(row);
  }

  async insert(def: EntityDef, record: AnyRecord): Promise<AnyRecord> {
    const t = this.table(def);
    return this.write(() => t.record(this.statement(t.sql.insert).get(...t.insertParams(record)) as Row));
  }

  async update(def: EntityDef, tenantId: string, id: string, change: Change, onlyIf?: Record<string, unknown>): Promise<UpdateResult> {
    const t = this.table(def);
    return this.write(() => {
      try {
        return this.updateTx(t, tenantId, id, change, onlyIf);
      } catch (err) {
        // Its savepoint was rolled back: nothing of the change holds.
        if (change.token && isUniqueViolation(err)) return { ok: false, reason: 'duplicate-token' } as const;
        throw err;
      }
    });
  }

  async updateEach(def: EntityDef, updates: readonly ConditionalSet[]): Promise<void> {
    this.updateEachTx.immediate(this.table(def), updates);
  }

  async delete(def: EntityDef, tenantId: string, id: string): Promise<boolean> {
    const t = this.table(def);
    return this.write(() => this.deleteTx(t, tenantId, id));
  }

  private holder(tokenValue: string): TokenHolder | undefined {
    const row = this.statement(REGISTRY_SQL.find(() => '?')).get(tokenValue) as { entity: string; tenant_id: string; profile_id: string } | undefined;
    const def = row && entityByType(row.entity);
    return def && { def, tenantId: row.tenant_id, id: row.profile_id };
  }

  async findToken(tokenValue: string): Promise<TokenHolder | undefined> {
    return this.holder(tokenValue);
  }

  async enroll(tokenValue: string, nowUs: number, device: Omit<DeviceRecord, 'tenantId' | 'profileType' | 'profileId'>) {
    return this.write(() => this.enrollTx(tokenValue, nowUs, device));
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return (this.statement('SELECT kid, private_jwk, public_jwk, created_us FROM signing_keys ORDER BY created_us, kid').all() as {
      kid: string; private_jwk: string; public_jwk: string; created_us: number;
    }[]).map((r) => ({ kid: r.kid, privateJwk: r.private_jwk, publicJwk: r.public_jwk, createdUs: r.created_us }));
  }

  async insertSigningKey(k: SigningKeyRecord): Promise<void> {
    this.statement('INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_us) VALUES (?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING')
      .run(k.kid, k.privateJwk, k.publicJwk, k.createdUs);
  }

  async insertFirstSigningKey(k: SigningKeyRecord): Promise<boolean> {
    // One statement: SQLite takes the write lock before it reads, so racing processes insert once.
    return this.statement(
      'INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_us) SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM signing_keys)',
    ).run(k.kid, k.privateJwk, k.publicJwk, k.createdUs).changes > 0;
  }

  async getTenant(tenantId: string): Promise<TenantRecord | undefined> {
    const row = this.statement('SELECT tenant_id, licensed FROM tenants WHERE tenant_id = ?').get(tenantId) as { tenant_id: string; licensed: number } | undefined;
    return row && { tenantId: row.tenant_id, licensed: row.licensed === 1 };
  }

  async setTenantLicensed(tenantId: string, licensed: boolean): Promise<void> {
    this.statement('INSERT INTO tenants (tenant_id, licensed) VALUES (?, ?) ON CONFLICT (tenant_id) DO UPDATE SET licensed = excluded.licensed')
      .run(tenantId, licensed ? 1 : 0);
  }
}
