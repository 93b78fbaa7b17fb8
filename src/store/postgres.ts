import pg from 'pg';
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import type { SqlValue } from '../model/codecs.js';
import { withRole, type AnyRecord, type ColumnDef, type EntityDef } from '../model/edm.js';
import { entityByType, ENTITIES } from '../model/registry.js';
import { Problem } from '../problem.js';
import type { ControlStore } from './control.js';
import { StoreUnavailableError } from './errors.js';
import { PerTurn, type Waiter } from './per-turn.js';
import { TenantCache } from './postgres-tenants.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';
import { compileCount, compileSelect, type Condition, type RowQuery } from './query.js';
import { DEVICE_COLUMNS, entityTables, REGISTRY_SQL, type EntityTable, type Row } from './sql.js';
import type { Change, ConditionalSet, DeviceRecord, SigningKeyRecord, Store, TenantRecord, TokenHolder, UpdateResult } from './store.js';

/**
 * The PostgreSQL store: the same tables, migrations and behaviour as the SQLite store, shared by any
 * number of server processes. Every state change is one statement (row locks make concurrent calls on
 * one profile serialise, each seeing the previous one's result), so there are no read-modify-write
 * races between instances. The fixed statements are named prepared statements; compiled list queries
 * are parameterised but unnamed (their shapes are open-ended, and a named statement lives as long as
 * its connection).
 *
 * Failure: one store call waits at most about `timeoutMs` in all (for a pooled connection, then for
 * its statements: on the server by `statement_timeout`, on the client by a read timeout for a silent
 * network). When the database cannot answer, methods throw `StoreUnavailableError`, and a connection
 * that failed is discarded, so the pool reconnects when the database is back.
 *
 * Speed: tenant licence state, read by every Graph request, is cached and kept current by
 * LISTEN/NOTIFY (postgres-tenants.ts); commits do not wait for the WAL flush (see ASYNC_COMMIT).
 */

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_TIMEOUT_MS = 5_000;

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database?…` */
  url: string;
  /** Most connections this process opens. */
  poolSize?: number;
  /** Bound on each wait for the database, in ms. */
  timeoutMs?: number;
}


const INT8_OID = 20;
/**
 * BIGINT columns hold microsecond timestamps (and COUNT(*) results). pg returns them as strings by
 * default; every value this server writes came from a JS number (timestamps up to year 2255 are below
 * 2^53, and `0001-01-01` in µs is exactly representable), so Number() gives it back exactly.
 */
const parseInt8 = (s: string) => Number(s);
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Prepared update texts per store (each connection prepares those it runs). */
const MAX_COMPOSED_STATEMENTS = 200;

/** Advisory lock keys (two int4 keys: a namespace for this application, then the purpose). */
const LOCK_NAMESPACE = 0x45470001; // 'EG' 0001
const LOCK_MIGRATE = 1;
const LOCK_FIRST_KEY = 2;

const pgPh = (n: number) => `$${n}`;
/** The fixed statements not tied to an entity table. */
const SQL = {
  version: 'SELECT MAX(version) AS v FROM schema_migrations',
  findToken: REGISTRY_SQL.find(pgPh),
  keys: 'SELECT kid, private_jwk, public_jwk, created_us FROM signing_keys ORDER BY created_us, kid',
  insertKey: 'INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_us) VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO NOTHING',
  insertFirstKey: `INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_us)
    SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)`,
  tenant: 'SELECT tenant_id, licensed FROM tenants WHERE tenant_id = $1',
  setTenant: 'INSERT INTO tenants (tenant_id, licensed) VALUES ($1, $2) ON CONFLICT (tenant_id) DO UPDATE SET licensed = excluded.licensed',
} as const;
type Named = keyof typeof SQL;

/** SQLSTATEs (or their two-character classes) that mean "the database cannot answer now", not "this request is wrong". */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58']);
const UNAVAILABLE_CODES = new Set(['40001', '40P01', '55P03', '25P03', '3D000']);
/** SQLSTATEs after which the connection itself is gone. */
const BROKEN_CODES = new Set(['25P03', '57P01', '57P02', '57P03', '57P04', '57P05']);

function sqlState(err: unknown): string | undefined {
  return err instanceof pg.DatabaseError && typeof err.code === 'string' ? err.code : undefined;
}

/** True when a failed connection must not go back to the pool. */
function connectionBroken(err: unknown): boolean {
  const code = sqlState(err);
  if (code === undefined) return true; // a socket error, a read timeout, "Connection terminated…"
  return code.startsWith('08') || BROKEN_CODES.has(code);
}

/** The error to throw for a failed statement: StoreUnavailableError when retrying later may succeed. */
function classify(err: unknown, what: string): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const code = sqlState(err);
  if (code !== undefined) {
    if (UNAVAILABLE_CLASSES.has(code.slice(0, 2)) || UNAVAILABLE_CODES.has(code)) {
      return new StoreUnavailableError(`PostgreSQL ${what}: ${(err as Error).message} (${code})`, { cause: err });
    }
    return err;
  }
  if (err instanceof TypeError || err instanceof RangeError) return err; // a bug, not an outage
  return new StoreUnavailableError(`PostgreSQL ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** A checked-out connection whose statements carry the client-side read timeout. */
interface Connection {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[], name?: string): Promise<QueryResult<R>>;
  /** True once the connection has failed (then no ROLLBACK is attempted: it would only wait). */
  broken(): boolean;
}

/** BEGIN, `fn`, COMMIT; ROLLBACK when `fn` fails on a connection that still works. */
async function transaction<T>(c: Connection, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const result = await fn();
    await c.query('COMMIT');
    return result;
  } catch (err) {
    if (!c.broken() && !connectionBroken(err)) await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Durability as the SQLite store's (WAL, synchronous=NORMAL): a write acknowledged to a client is in
 * the database server's WAL buffers, so it survives the Enrollgraph process being killed, while a
 * crash of the PostgreSQL server or the machine may lose the last fraction of a second of writes
 * (never consistency). Waiting for the WAL flush of every commit would cap writes to one profile at
 * the disk's flush rate. A URL with its own `options` (e.g. `?options=-c%20synchronous_commit%3Don`)
 * replaces this default.
 */
const ASYNC_COMMIT = '-c synchronous_commit=off';

function urlSetsOptions(url: string): boolean {
  try {
    return new URL(url).searchParams.has('options');
  } catch {
    return false;
  }
}

/** Opens a pool on the database and brings its schema to the latest version. */
export async function openPostgresStore(opts: PostgresOptions): Promise<PostgresStore> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const connection: pg.ClientConfig = {
    connectionString: opts.url,
    connectionTimeoutMillis: timeoutMs,
    // Server-side bounds, so a stuck statement or transaction releases its locks.
    statement_timeout: timeoutMs,
    idle_in_transaction_session_timeout: Math.max(timeoutMs * 2, 1_000),
    keepAlive: true,
    application_name: 'enrollgraph',
    ...(urlSetsOptions(opts.url) ? {} : { options: ASYNC_COMMIT }),
    types: TYPES,
  };
  const pool = new pg.Pool({ ...connection, max: opts.poolSize ?? DEFAULT_POOL_SIZE, idleTimeoutMillis: 30_000 });
  // An idle connection that fails (the server restarted, the network dropped) is removed by the pool;
  // without a listener the 'error' event would end the process.
  pool.on('error', () => undefined);
  const store = new PostgresStore(pool, timeoutMs, new TenantCache({ ...connection, application_name: 'enrollgraph-listen' }), opts.url);
  try {
    await store.migrate();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return store;
}

/** PostgreSQL's names of the column types, for the arrays of a many-row write. */
const PG_TYPES: Record<ColumnDef['sql'], string> = { text: 'text', int: 'integer', bigint: 'bigint', bool: 'boolean' };

interface TokenWrite extends Waiter<UpdateResult> {
  def: EntityDef;
  tenantId: string;
  id: string;
  change: Change;
}

interface Read extends Waiter<AnyRecord | undefined> {
  def: EntityDef;
  tenantId: string;
  id: string;
}

/** The key of a record in a batch's maps. */
const keyOf = (tenantId: unknown, id: unknown) => `${tenantId}/${id}`;

/** Text PostgreSQL cannot store: a value with a NUL can match nothing stored, and the protocol refuses it first. */
function checkParams(values: readonly unknown[]): void {
  for (const v of values) {
    if (typeof v === 'string' && v.includes('\u0000')) throw new Problem('unstorable', 'A text value contains a NUL character (U+0000), which is not allowed.');
  }
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private closed = false;
  private readonly tables = entityTables(ENTITIES, 'postgres');
  /** Texts of composed updates and their statement names (composedName). */
  private readonly composed = new Map<string, string>();
  private readonly tokenWrites = new PerTurn<TokenWrite>((writes) => this.writeTokens(writes));
  private readonly reads = new PerTurn<Read>((reads) => this.readMany(reads));

  constructor(
    private readonly pool: pg.Pool,
    private readonly timeoutMs: number,
    private readonly tenants: TenantCache,
    private readonly url: string,
  ) {}

  /**
   * Applies the migrations this version knows and the database lacks, one transaction each, under an
   * advisory lock: instances starting together migrate one after the other, and the later ones find
   * nothing left to do.
   */
  async migrate(): Promise<void> {
    const budget = Math.max(this.timeoutMs, 60_000); // DDL and waiting for another instance may take longer
    await this.withConnection('migrate', budget, async (c) => {
      await c.query(`SET statement_timeout = ${budget}`);
      await c.query('SELECT pg_advisory_lock($1, $2)', [LOCK_NAMESPACE, LOCK_MIGRATE]);
      try {
        await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
        const current = (await c.query<{ v: number | null }>(SQL.version)).rows[0]?.v ?? 0;
        for (const m of MIGRATIONS) {
          if (m.version <= current) continue;
          await transaction(c, async () => {
            for (const sql of m.sql.postgres) await c.query(sql);
            await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          });
        }
      } finally {
        await c.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, LOCK_MIGRATE]);
        await c.query(`SET statement_timeout = ${this.timeoutMs}`);
      }
    });
  }

  /**
   * Runs `fn` on a pooled connection within `budgetMs`: waiting for the connection and every statement
   * share that budget (the statements' client-side read timeout also covers a silent network, where
   * statement_timeout cannot help). The connection goes back to the pool unless it failed; then it is
   * closed, and the pool opens a new one when needed.
   */
  private async withConnection<T>(what: string, budgetMs: number, fn: (c: Connection) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('the PostgreSQL store is closed');
    const deadline = Date.now() + budgetMs;
    let client: PoolClient;
    try {
      client = await this.acquire(deadline);
    } catch (err) {
      // Whatever stops a connection from opening (refused, timed out, a pool that stays full,
      // authentication, a missing database) is an outage from the request's point of view.
      throw new StoreUnavailableError(`PostgreSQL unreachable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    let broken: Error | undefined;
    // A checked-out client emits 'error' when its socket fails; without a listener that would crash.
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    const conn: Connection = {
      query: <R extends QueryResultRow>(text: string, values: unknown[] = [], name?: string) =>
        client.query<R>({ text, values, ...(name === undefined ? {} : { name }), query_timeout: Math.max(1, deadline - Date.now()) } as pg.QueryConfig),
      broken: () => broken !== undefined,
    };
    try {
      return await fn(conn);
    } catch (err) {
      if (connectionBroken(err)) broken ??= err instanceof Error ? err : new Error(String(err));
      throw classify(err, what);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** A pooled connection by `deadline`; one that arrives later goes back to the pool. */
  private async acquire(deadline: number): Promise<PoolClient> {
    const pending = this.pool.connect();
    if (this.pool.idleCount > 0) return pending; // an idle connection is handed over at once
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out waiting for a connection')), Math.max(0, deadline - Date.now()));
    });
    try {
      return await Promise.race([pending, late]);
    } catch (err) {
      pending.then((c) => c.release(), () => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One statement on a pooled connection; the fixed ones by name, so each connection prepares them once. */
  private async run<R extends QueryResultRow>(name: string | undefined, text: string, values: unknown[]): Promise<QueryResult<R>> {
    checkParams(values);
    return this.withConnection(name ?? 'query', this.timeoutMs + 250, (c) => c.query<R>(text, values, name && `eg_${name}`));
  }

  /**
   * An update composed from the properties it sets, prepared like the fixed statements: a write's
   * text is sent and planned once per connection rather than on every call (createToken's CTE is
   * most of its cost otherwise). The names are bounded, since a PATCH may set any subset of an
   * entity's properties; past the bound a text is sent unprepared.
   */
  private composedName(text: string): string | undefined {
    let name = this.composed.get(text);
    if (name === undefined && this.composed.size < MAX_COMPOSED_STATEMENTS) this.composed.set(text, (name = `composed_${this.composed.size}`));
    return name;
  }

  private named<R extends QueryResultRow>(name: Named, values: unknown[]): Promise<QueryResult<R>> {
    return this.run<R>(name, SQL[name], values);
  }

  async ping(): Promise<void> {
    const v = (await this.named<{ v: number | null }>('version', [])).rows[0]?.v ?? 0;
    // A newer schema (another instance already upgraded) still serves this version: migrations add.
    if (v < LATEST_VERSION) throw new Error(`schema at version ${v}, expected ${LATEST_VERSION}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tenants.close();
    await this.pool.end();
  }

  async openControlStore(): Promise<ControlStore> {
    // A small pool of its own, so control traffic (throttling counters) never waits behind Graph calls.
    const { openPostgresControlStore } = await import('./postgres-control.js');
    return openPostgresControlStore({ url: this.url, timeoutMs: this.timeoutMs }, this.tables);
  }

  private table(def: EntityDef): EntityTable {
    return this.tables.get(def.typeName)!;
  }

  async list(def: EntityDef, query: RowQuery): Promise<AnyRecord[]> {
    const t = this.table(def);
    const { sql, params } = compileSelect('postgres', t.name, t.columnList, 'tenant_id', query);
    return (await this.run<Row>(undefined, sql, params)).rows.map((r) => t.record(r));
  }

  async count(def: EntityDef, tenantId: string, where?: Condition): Promise<number> {
    const { sql, params } = compileCount('postgres', def.table, 'tenant_id', tenantId, where);
    return (await this.run<{ n: number }>(undefined, sql, params)).rows[0]!.n;
  }

  /** Reads of one turn share a statement (PerTurn), as concurrent reads they see one snapshot. */
  async get(def: EntityDef, tenantId: string, id: string): Promise<AnyRecord | undefined> {
    checkParams([tenantId, id]); // here, not on the shared statement's arrays: a key it cannot store fails its own read only
    return new Promise((resolve, reject) => this.reads.add({ def, tenantId, id, resolve, reject }, def.typeName));
  }

  private async readMany(reads: readonly Read[]): Promise<void> {
    const def = reads[0]!.def;
    const t = this.table(def);
    try {
      const rows = reads.length === 1
        ? (await this.run<Row>(`get_${def.typeName}`, t.sql.get, [reads[0]!.tenantId, reads[0]!.id])).rows
        : (await this.run<Row>(`getMany_${def.typeName}`, t.sql.getMany, [reads.map((r) => r.tenantId), reads.map((r) => r.id)])).rows;
      const found = new Map(rows.map((row) => [keyOf(row.tenant_id, row.id), row]));
      for (const r of reads) {
        const row = found.get(keyOf(r.tenantId, r.id));
        r.resolve(row && t.record(row));
      }
    } catch (err) {
      for (const r of reads) r.reject(err);
    }
  }

  async insert(def: EntityDef, record: AnyRecord): Promise<AnyRecord> {
    const t = this.table(def);
    return t.record((await this.run<Row>(`insert_${def.typeName}`, t.sql.insert, t.insertParams(record))).rows[0]!);
  }

  /**
   * One statement, so it is atomic without a transaction: the UPDATE, and with a token the registry
   * row in a data-modifying CTE (made the record's token, or deleted), only when the record exists.
   */
  async update(def: EntityDef, tenantId: string, id: string, change: Change, onlyIf?: Record<string, unknown>): Promise<UpdateResult> {
    if (change.token !== undefined && onlyIf === undefined) return this.tokenWrite(def, tenantId, id, change);
    return this.updateNow(def, tenantId, id, change, onlyIf);
  }

  /**
   * Token writes (createToken, revokeToken) made in one turn of the event loop go to PostgreSQL as
   * one statement, one row per write: each write costs PostgreSQL a statement and a commit, which
   * bound createToken at about the rate of a bare UPDATE (docs/performance.md). They hold as if run
   * one after the other in the order they were made: of several writes to one record only the last
   * is stored, and each earlier one answers with the record as it left it (the writes set the same
   * properties, so that is the stored row with its own values). A token value another record holds
   * fails the whole statement; then the writes run one at a time, so each learns its own outcome.
   */
  private async tokenWrite(def: EntityDef, tenantId: string, id: string, change: Change): Promise<UpdateResult> {
    checkParams([tenantId, id, change.token]); // as in `get`: before the write joins the others
    const shape = `${def.typeName}|${Object.keys(change.set).join(',')}|${change.token === null ? 'revoke' : 'token'}`;
    return new Promise((resolve, reject) => this.tokenWrites.add({ def, tenantId, id, change, resolve, reject }, shape));
  }

  private async writeTokens(writes: readonly TokenWrite[]): Promise<void> {
    const def = writes[0]!.def;
    const alone = async (w: TokenWrite) => {
      try {
        w.resolve(await this.updateNow(def, w.tenantId, w.id, w.change));
      } catch (err) {
        w.reject(err);
      }
    };
    if (writes.length === 1) return alone(writes[0]!);
    const t = this.table(def);
    const last = new Map(writes.map((w) => [keyOf(w.tenantId, w.id), w]));
    const rows = [...last.values()];
    const names = Object.keys(writes[0]!.change.set);
    const columns = names.map((n) => t.column(n, null).column);
    // One array per column: unnest turns them into the rows to write.
    const arrays: SqlValue[][] = [rows.map((w) => w.tenantId), rows.map((w) => w.id), ...names.map((n) => rows.map((w) => t.column(n, w.change.set[n]).value))];
    const token = withRole(def, 'token')!.column!.name;
    const types = ['text', 'text', ...columns.map((c) => PG_TYPES[c.sql])];
    const registry = writes[0]!.change.token === null
      ? `DELETE FROM enrollment_tokens WHERE entity = $${arrays.length + 1} AND (tenant_id, profile_id) IN (SELECT tenant_id, id FROM p)`
      : `INSERT INTO enrollment_tokens (entity, tenant_id, profile_id, token_value) SELECT $${arrays.length + 1}, tenant_id, id, ${token} FROM p
         ON CONFLICT (entity, tenant_id, profile_id) DO UPDATE SET token_value = excluded.token_value`;
    const text = `WITH v AS (SELECT * FROM unnest(${types.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ')}) AS v(tenant_id, id, ${columns.map((c) => c.name).join(', ')})),
      p AS (UPDATE ${t.name} AS t SET ${columns.map((c) => `${c.name} = v.${c.name}`).join(', ')} FROM v WHERE t.tenant_id = v.tenant_id AND t.id = v.id
            RETURNING ${t.columns.map((c) => `t.${c.name}`).join(', ')}),
      r AS (${registry})
      SELECT * FROM p`;
    let stored: QueryResult<Row>;
    try {
      stored = await this.run<Row>(this.composedName(text), text, [...arrays, def.typeName]);
    } catch (err) {
      if (sqlState(err) !== '23505') {
        for (const w of writes) w.reject(err);
        return;
      }
      for (const w of writes) await alone(w);
      return;
    }
    const records = new Map(stored.rows.map((r) => [keyOf(r.tenant_id, r.id), t.record(r)]));
    for (const w of writes) {
      const record = records.get(keyOf(w.tenantId, w.id));
      w.resolve(record ? { ok: true, record: { ...record, ...w.change.set } } : { ok: false, reason: 'not-found' });
    }
  }

  private async updateNow(def: EntityDef, tenantId: string, id: string, change: Change, onlyIf?: Record<string, unknown>): Promise<UpdateResult> {
    const t = this.table(def);
    const { sql, params } = t.update(tenantId, id, change.set, onlyIf);
    let text = sql;
    if (change.token !== undefined) {
      const n = params.length;
      params.push(def.typeName);
      const registry = change.token === null
        ? `DELETE FROM enrollment_tokens WHERE entity = $${n + 1} AND (tenant_id, profile_id) IN (SELECT tenant_id, id FROM p)`
        : `INSERT INTO enrollment_tokens (entity, tenant_id, profile_id, token_value) SELECT $${n + 1}, tenant_id, id, $${n + 2} FROM p
           ON CONFLICT (entity, tenant_id, profile_id) DO UPDATE SET token_value = excluded.token_value`;
      if (change.token !== null) params.push(change.token);
      text = `WITH p AS (${sql}), r AS (${registry}) SELECT * FROM p`;
    }
    try {
      const row = (await this.run<Row>(this.composedName(text), text, params)).rows[0];
      return row ? { ok: true, record: t.record(row) } : { ok: false, reason: 'not-found' };
    } catch (err) {
      if (change.token && sqlState(err) === '23505') return { ok: false, reason: 'duplicate-token' };
      throw err;
    }
  }

  async updateEach(def: EntityDef, updates: readonly ConditionalSet[]): Promise<void> {
    // One at a time: independent statements, and the pool stays free for requests.
    for (const u of updates) await this.update(def, u.tenantId, u.id, { set: u.set }, u.onlyIf);
  }

  async delete(def: EntityDef, tenantId: string, id: string): Promise<boolean> {
    const t = this.table(def);
    const sql = `WITH r AS (DELETE FROM enrollment_tokens WHERE entity = $3 AND tenant_id = $1 AND profile_id = $2) ${t.sql.delete}`;
    return ((await this.run(`delete_${def.typeName}`, sql, [tenantId, id, def.typeName])).rowCount ?? 0) > 0;
  }

  async findToken(tokenValue: string): Promise<TokenHolder | undefined> {
    const row = (await this.named<{ entity: string; tenant_id: string; profile_id: string }>('findToken', [tokenValue])).rows[0];
    const def = row && entityByType(row.entity);
    return def && { def, tenantId: row.tenant_id, id: row.profile_id };
  }

  /** The holder's counters and the device row in one statement: both or neither. */
  async enroll(tokenValue: string, nowUs: number, device: Omit<DeviceRecord, 'tenantId' | 'profileType' | 'profileId'>) {
    const holder = await this.findToken(tokenValue);
    if (!holder) return undefined;
    const t = this.table(holder.def);
    const sql = `WITH p AS (${t.enrollSql()}),
      d AS (INSERT INTO enrolled_devices (${DEVICE_COLUMNS}) SELECT $5, tenant_id, $6, id, $7, $8, $9 FROM p)
      SELECT * FROM p`;
    const row = (await this.run<Row>(`enroll_${holder.def.typeName}`, sql, [
      holder.tenantId, holder.id, tokenValue, nowUs, device.deviceId, holder.def.typeName, device.serialNumber, device.model, device.enrolledUs,
    ])).rows[0];
    return row && { holder, record: t.record(row) };
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = (await this.named<{ kid: string; private_jwk: string; public_jwk: string; created_us: number }>('keys', [])).rows;
    return rows.map((r) => ({ kid: r.kid, privateJwk: r.private_jwk, publicJwk: r.public_jwk, createdUs: r.created_us }));
  }

  async insertSigningKey(k: SigningKeyRecord): Promise<void> {
    await this.named('insertKey', [k.kid, k.privateJwk, k.publicJwk, k.createdUs]);
  }

  async insertFirstSigningKey(k: SigningKeyRecord): Promise<boolean> {
    // Under READ COMMITTED two transactions could both see no key; the advisory lock orders them, and
    // the second one's INSERT (a new snapshot) sees the first one's key.
    return this.withConnection('insertFirstSigningKey', this.timeoutMs + 250, (c) =>
      transaction(c, async () => {
        await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, LOCK_FIRST_KEY]);
        const res = await c.query(SQL.insertFirstKey, [k.kid, k.privateJwk, k.publicJwk, k.createdUs], 'eg_insertFirstKey');
        return (res.rowCount ?? 0) > 0;
      }),
    );
  }

  /** Read on every Graph request: cached, and kept current across instances (postgres-tenants.ts). */
  async getTenant(tenantId: string): Promise<TenantRecord | undefined> {
    return this.tenants.get(tenantId, async () => {
      const row = (await this.named<{ tenant_id: string; licensed: boolean }>('tenant', [tenantId])).rows[0];
      return row && { tenantId: row.tenant_id, licensed: row.licensed };
    });
  }

  async setTenantLicensed(tenantId: string, licensed: boolean): Promise<void> {
    try {
      await this.named('setTenant', [tenantId, licensed]);
    } finally {
      this.tenants.invalidate(tenantId);
    }
  }
}
