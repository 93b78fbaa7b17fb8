import pg from 'pg';
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import { androidForWorkEnrollmentProfile as profileDef } from '../model/androidForWorkEnrollmentProfile.js';
import { StoreUnavailableError } from './errors.js';
import { PerTurn } from './per-turn.js';
import { TenantCache } from './postgres-tenants.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';
import { compileCount, compileSelect, type Condition, type RowQuery } from './query.js';
import { PROFILE_COLUMNS, toRecord, type ProfileRow } from './rows.js';
import type {
  EnrollmentResult, NewProfile, ProfilePatch, ProfileRecord, SetTokenResult, SigningKeyRecord, Store, TenantRecord,
} from './store.js';

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

/** Advisory lock keys (two int4 keys: a namespace for this application, then the purpose). */
const LOCK_NAMESPACE = 0x45470001; // 'EG' 0001
const LOCK_MIGRATE = 1;
const LOCK_FIRST_KEY = 2;

const t = profileDef.table;
/** The fixed statements, prepared once per connection under their names. */
const SQL = {
  version: 'SELECT MAX(version) AS v FROM schema_migrations',
  get: `SELECT ${PROFILE_COLUMNS} FROM ${t} WHERE tenant_id = $1 AND id = $2`,
  getMany: `SELECT ${PROFILE_COLUMNS} FROM ${t} WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
  insert: `INSERT INTO ${t} (tenant_id, id, display_name, description, created_us, modified_us, token_value, token_expires_us, enrolled_device_count, qr_png)
    VALUES ($1, $2, $3, $4, $5, $5, NULL, $6, 0, NULL) RETURNING ${PROFILE_COLUMNS}`,
  update: `UPDATE ${t} SET display_name = COALESCE($3::text, display_name),
      description = CASE WHEN $4::boolean THEN $5::text ELSE description END,
      modified_us = $6
    WHERE tenant_id = $1 AND id = $2 RETURNING ${PROFILE_COLUMNS}`,
  delete: `DELETE FROM ${t} WHERE tenant_id = $1 AND id = $2`,
  setToken: `UPDATE ${t} SET token_value = $3, token_expires_us = $4, modified_us = $5, qr_png = NULL WHERE tenant_id = $1 AND id = $2`,
  setTokens: `UPDATE ${t} AS p SET token_value = v.token, token_expires_us = v.expires, modified_us = v.now, qr_png = NULL
    FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS v(tenant_id, id, token, expires, now)
    WHERE p.tenant_id = v.tenant_id AND p.id = v.id RETURNING p.tenant_id, p.id`,
  revoke: `UPDATE ${t} SET token_value = NULL, token_expires_us = $3, modified_us = $3, qr_png = NULL WHERE tenant_id = $1 AND id = $2`,
  saveQr: `UPDATE ${t} SET qr_png = $4 WHERE tenant_id = $1 AND id = $2 AND token_value = $3`,
  byToken: `SELECT ${PROFILE_COLUMNS} FROM ${t} WHERE token_value = $1`,
  enroll: `UPDATE ${t} SET enrolled_device_count = enrolled_device_count + 1 WHERE token_value = $1 AND token_expires_us > $2
    RETURNING tenant_id, id, enrolled_device_count`,
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
  const store = new PostgresStore(pool, timeoutMs, new TenantCache({ ...connection, application_name: 'enrollgraph-listen' }));
  try {
    await store.migrate();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return store;
}

/** The socket under a pg client (pg keeps it at `client.connection.stream`), when it is there. */
function socketOf(client: PoolClient): { cork(): void; uncork(): void } | undefined {
  const stream = (client as unknown as { connection?: { stream?: { cork?: unknown; uncork?: unknown } } }).connection?.stream;
  return stream && typeof stream.cork === 'function' && typeof stream.uncork === 'function' ? (stream as { cork(): void; uncork(): void }) : undefined;
}

/** A getProfile call waiting for the next batch. */
interface ProfileRead {
  tenantId: string;
  id: string;
  resolve(r: ProfileRecord | undefined): void;
  reject(e: unknown): void;
}

/** A setToken call waiting for the next batch. */
interface TokenWrite {
  tenantId: string;
  id: string;
  tokenValue: string;
  expiresUs: number;
  nowUs: number;
  resolve(r: SetTokenResult): void;
  reject(e: unknown): void;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private closed = false;
  private readonly reads = new PerTurn<ProfileRead>((batch) => this.readProfiles(batch));
  private readonly tokenWrites = new PerTurn<TokenWrite>((batch) => this.writeTokens(batch));

  constructor(
    private readonly pool: pg.Pool,
    private readonly timeoutMs: number,
    private readonly tenants: TenantCache,
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
            for (const sql of m.statements('postgres')) await c.query(sql);
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
    const stream = socketOf(client);
    const conn: Connection = {
      query: <R extends QueryResultRow>(text: string, values: unknown[] = [], name?: string) => {
        // pg writes a statement's protocol messages (Bind, Describe, Execute, Sync) one socket write
        // each, on a no-delay socket: four packets, and the database wakes up for each. Corked, they
        // leave as one write.
        stream?.cork();
        try {
          return client.query<R>({ text, values, ...(name === undefined ? {} : { name }), query_timeout: Math.max(1, deadline - Date.now()) } as pg.QueryConfig);
        } finally {
          stream?.uncork();
        }
      },
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
  private async run<R extends QueryResultRow>(name: Named | undefined, text: string, values: unknown[]): Promise<QueryResult<R>> {
    return this.withConnection(name ?? 'query', this.timeoutMs + 250, (c) => c.query<R>(text, values, name && `eg_${name}`));
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

  async listProfiles(query: RowQuery): Promise<ProfileRecord[]> {
    const { sql, params } = compileSelect('postgres', t, PROFILE_COLUMNS, 'tenant_id', query);
    return (await this.run<ProfileRow>(undefined, sql, params)).rows.map(toRecord);
  }

  async countProfiles(tenantId: string, where?: Condition): Promise<number> {
    const { sql, params } = compileCount('postgres', t, 'tenant_id', tenantId, where);
    return (await this.run<{ n: number }>(undefined, sql, params)).rows[0]!.n;
  }

  /**
   * Reads of single profiles asked for in the same turn of the event loop go to the database as one
   * statement, sent after that turn (so after every request that joined it had arrived: each still
   * sees every commit made before it). Under concurrent load that is one round trip, and one wake-up
   * of a database backend, for many GETs instead of one each; alone, a read waits one loop turn.
   */
  getProfile(tenantId: string, id: string): Promise<ProfileRecord | undefined> {
    return new Promise((resolve, reject) => this.reads.add({ tenantId, id, resolve, reject }));
  }

  private async readProfiles(batch: readonly ProfileRead[]): Promise<void> {
    const keys = new Map(batch.map((r) => [`${r.tenantId}/${r.id}`, r])); // one lookup per profile asked for
    const distinct = [...keys.values()];
    try {
      const rows = distinct.length === 1
        ? (await this.named<ProfileRow>('get', [distinct[0]!.tenantId, distinct[0]!.id])).rows
        : (await this.named<ProfileRow>('getMany', [distinct.map((e) => e.tenantId), distinct.map((e) => e.id)])).rows;
      const found = new Map(rows.map((r) => [`${r.tenant_id}/${r.id}`, r]));
      for (const r of batch) {
        const row = found.get(`${r.tenantId}/${r.id}`);
        r.resolve(row && toRecord(row));
      }
    } catch (err) {
      for (const r of batch) r.reject(err);
    }
  }

  async insertProfile(p: NewProfile): Promise<ProfileRecord> {
    return toRecord((await this.named<ProfileRow>('insert', [p.tenantId, p.id, p.displayName, p.description, p.nowUs, p.tokenExpiresUs])).rows[0]!);
  }

  async updateProfile(tenantId: string, id: string, patch: ProfilePatch, nowUs: number): Promise<ProfileRecord | undefined> {
    const row = (
      await this.named<ProfileRow>('update', [
        tenantId, id, patch.displayName ?? null, patch.description !== undefined, patch.description ?? null, nowUs,
      ])
    ).rows[0];
    return row && toRecord(row);
  }

  async deleteProfile(tenantId: string, id: string): Promise<boolean> {
    return ((await this.named('delete', [tenantId, id])).rowCount ?? 0) > 0;
  }

  /**
   * createToken's write. Calls of the same turn of the event loop go out as one UPDATE (one round
   * trip, one statement for the database) sent after that turn. Where several of them name the same
   * profile, the last one's token is stored and the earlier ones' tokens are replaced in the same
   * instant — as if each had run just before the next, with nothing read in between — so each call
   * still gets 'ok'. A token value another profile holds fails the whole statement; then each call
   * runs on its own, in order, and only the colliding one gets 'duplicate'.
   */
  setToken(tenantId: string, id: string, tokenValue: string, expiresUs: number, nowUs: number): Promise<SetTokenResult> {
    return new Promise((resolve, reject) => this.tokenWrites.add({ tenantId, id, tokenValue, expiresUs, nowUs, resolve, reject }));
  }

  private async writeTokens(batch: readonly TokenWrite[]): Promise<void> {
    if (batch.length === 1) return this.writeTokensOneByOne(batch);
    const last = new Map<string, TokenWrite>();
    for (const w of batch) last.set(`${w.tenantId}/${w.id}`, w);
    const ws = [...last.values()];
    try {
      const rows = (await this.named<{ tenant_id: string; id: string }>('setTokens', [
        ws.map((w) => w.tenantId), ws.map((w) => w.id), ws.map((w) => w.tokenValue), ws.map((w) => w.expiresUs), ws.map((w) => w.nowUs),
      ])).rows;
      const updated = new Set(rows.map((r) => `${r.tenant_id}/${r.id}`));
      for (const w of batch) w.resolve(updated.has(`${w.tenantId}/${w.id}`) ? 'ok' : 'not-found');
    } catch (err) {
      if (sqlState(err) === '23505') return this.writeTokensOneByOne(batch);
      for (const w of batch) w.reject(err);
    }
  }

  private async writeTokensOneByOne(batch: readonly TokenWrite[]): Promise<void> {
    for (const w of batch) {
      try {
        const n = (await this.named('setToken', [w.tenantId, w.id, w.tokenValue, w.expiresUs, w.nowUs])).rowCount ?? 0;
        w.resolve(n > 0 ? 'ok' : 'not-found');
      } catch (err) {
        if (sqlState(err) === '23505') w.resolve('duplicate');
        else w.reject(err);
      }
    }
  }

  async revokeToken(tenantId: string, id: string, nowUs: number): Promise<boolean> {
    return ((await this.named('revoke', [tenantId, id, nowUs])).rowCount ?? 0) > 0;
  }

  async saveQrImage(tenantId: string, id: string, tokenValue: string, pngBase64: string): Promise<void> {
    await this.named('saveQr', [tenantId, id, tokenValue, pngBase64]);
  }

  async findProfileByToken(tokenValue: string): Promise<ProfileRecord | undefined> {
    const row = (await this.named<ProfileRow>('byToken', [tokenValue])).rows[0];
    return row && toRecord(row);
  }

  async enrollDevice(tokenValue: string, nowUs: number): Promise<EnrollmentResult | undefined> {
    const row = (await this.named<{ tenant_id: string; id: string; enrolled_device_count: number }>('enroll', [tokenValue, nowUs])).rows[0];
    return row && { tenantId: row.tenant_id, profileId: row.id, enrolledDeviceCount: row.enrolled_device_count };
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
