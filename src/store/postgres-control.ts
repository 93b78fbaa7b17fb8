import pg from 'pg';
import type { PoolClient } from 'pg';
import { withRole, type AnyRecord } from '../model/edm.js';
import {
  collectState, EXPORT_PAGE_ROWS, tenantBucketPrefix, type ClockSettings, type ControlStore, type DeviceRecord, type FaultRuleRecord,
  type StateData, type StateReader, type ThrottleBucket,
} from './control.js';
import { StoreUnavailableError } from './errors.js';
import { entityTables, exportSelect, type EntityTable, type Row } from './sql.js';
import { ENTITIES } from '../model/registry.js';

/**
 * The control plane on PostgreSQL: the same tables as the SQLite control store (migration 3, run by
 * the PostgresStore), on a small pool of its own. Counters are exact across instances: `consume` locks
 * the buckets' rows (in key order, so concurrent calls cannot deadlock) before it checks and counts.
 * Whole-state replacements run in one transaction under an advisory lock, so instances that start
 * together with a seed apply it once.
 */

const ADMIN_KEY = 'admin_key';
const CLOCK_SQL = 'SELECT frozen_us, offset_us FROM clock_settings WHERE id = 1';
const FAULTS_SQL = 'SELECT id, seq, spec, hits FROM fault_rules ORDER BY seq, id';
const LOCK_NAMESPACE = 0x45470001; // shared with postgres.ts
const LOCK_REPLACE_STATE = 3;
const INT8_OID = 20;

const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary' ? (s: string) => Number(s) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

const ARRAY_TYPES = { text: 'text[]', int: 'int[]', bigint: 'bigint[]', bool: 'boolean[]' } as const;
/** The client gives a statement this much longer than the server's timeout, so the server's error is the one seen. */
const CLIENT_TIMEOUT_SLACK_MS = 250;
/** See PostgresControlStore.replaceTimeoutMs. */
const REPLACE_TIMEOUT_MS = 120_000;
/** Rows per INSERT of a whole-state replacement: bounds each statement's parameters and time. */
const INSERT_CHUNK_ROWS = 5_000;

/**
 * How long an export's transaction may wait on its client (reading the answer) before PostgreSQL
 * ends it: longer than the pool's idle-in-transaction bound, which is made for requests, but bounded,
 * since an open snapshot holds back vacuum.
 */
const EXPORT_IDLE_MS = 5 * 60_000;

export async function openPostgresControlStore(
  opts: { url: string; timeoutMs?: number },
  tables: ReadonlyMap<string, EntityTable> = entityTables(ENTITIES, 'postgres'),
): Promise<PostgresControlStore> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: 4,
    connectionTimeoutMillis: timeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: timeoutMs,
    // Client-side too: a silent network (no reset, no answer) must not hold a request past the timeout.
    query_timeout: timeoutMs + CLIENT_TIMEOUT_SLACK_MS,
    idle_in_transaction_session_timeout: Math.max(timeoutMs * 2, 1_000),
    keepAlive: true,
    application_name: 'enrollgraph-control',
    types: TYPES,
  });
  pool.on('error', () => undefined);
  return new PostgresControlStore(pool, tables, timeoutMs);
}

function unavailable(err: unknown): unknown {
  if (err instanceof pg.DatabaseError) {
    const cls = (err.code ?? '').slice(0, 2);
    if (!['08', '53', '57', '58'].includes(cls)) return err;
  } else if (err instanceof TypeError || err instanceof RangeError) {
    return err;
  }
  return new StoreUnavailableError(`PostgreSQL (control): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

type Q = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

export class PostgresControlStore implements ControlStore {
  readonly kind = 'postgres' as const;
  private closed = false;

  constructor(private readonly pool: pg.Pool, private readonly tables: ReadonlyMap<string, EntityTable>, private readonly timeoutMs = 5_000) {}

  /**
   * The statement timeout of whole-state replacements (snapshot import, reset): their statements
   * delete and insert whole tables, so the bound made for requests is too short for a large state.
   */
  private get replaceTimeoutMs(): number {
    return Math.max(this.timeoutMs, REPLACE_TIMEOUT_MS);
  }

  private async q(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
    try {
      return await this.pool.query(text, values);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** `fn` in a transaction; `timeoutMs` replaces the pool's statement timeout within it. */
  private async tx<R>(fn: (q: Q) => Promise<R>, begin = 'BEGIN', timeoutMs?: number): Promise<R> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    // A checked-out client emits 'error' when its socket fails: without a listener the process would
    // crash. A failed connection is discarded (no ROLLBACK on it: that would only wait).
    let broken = false;
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query(begin);
      if (timeoutMs !== undefined) await client.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
      // pg reads a query's own query_timeout (client.js), which its types do not declare.
      const config = (text: string, values: unknown[]): pg.QueryConfig =>
        (timeoutMs === undefined ? { text, values } : { text, values, query_timeout: timeoutMs + CLIENT_TIMEOUT_SLACK_MS }) as pg.QueryConfig;
      const result = await fn((text, values = []) => client.query(config(text, values)));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (!(err instanceof pg.DatabaseError) || (err.code ?? '').startsWith('08')) broken = true;
      if (!broken) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      }
      throw unavailable(err);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async consume(buckets: readonly ThrottleBucket[], windowStartUs: number): Promise<string | undefined> {
    const keys = [...new Set(buckets.map((b) => b.key))].sort();
    return this.tx(async (q) => {
      await q('INSERT INTO throttle_counters (bucket, window_start, n) SELECT k, $2, 0 FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT (bucket) DO NOTHING', [keys, windowStartUs]);
      const rows = (await q('SELECT bucket, window_start, n FROM throttle_counters WHERE bucket = ANY($1::text[]) ORDER BY bucket FOR UPDATE', [keys])).rows as {
        bucket: string; window_start: number; n: number;
      }[];
      const counts = new Map(rows.map((r) => [r.bucket, r.window_start === windowStartUs ? r.n : 0]));
      for (const b of buckets) if ((counts.get(b.key) ?? 0) >= b.limit) return b.key;
      await q(
        `UPDATE throttle_counters SET n = CASE WHEN window_start = $2 THEN n + 1 ELSE 1 END, window_start = $2 WHERE bucket = ANY($1::text[])`,
        [keys, windowStartUs],
      );
      return undefined;
    });
  }

  async peek(key: string, windowStartUs: number): Promise<number> {
    const row = (await this.q('SELECT window_start, n FROM throttle_counters WHERE bucket = $1', [key])).rows[0] as { window_start: number; n: number } | undefined;
    return row && row.window_start === windowStartUs ? row.n : 0;
  }

  async pruneCounters(beforeUs: number): Promise<void> {
    await this.q('DELETE FROM throttle_counters WHERE window_start < $1', [beforeUs]);
  }

  async getClock(): Promise<ClockSettings> {
    return toClock((await this.q(CLOCK_SQL)).rows[0]);
  }

  async setClock(s: ClockSettings): Promise<void> {
    await this.q('UPDATE clock_settings SET frozen_us = $1, offset_us = $2 WHERE id = 1', [s.frozenUs, s.offsetUs]);
  }

  async advanceClock(us: number): Promise<ClockSettings> {
    const row = (
      await this.q(
        `UPDATE clock_settings SET frozen_us = frozen_us + $1::bigint,
           offset_us = CASE WHEN frozen_us IS NULL THEN offset_us + $1::bigint ELSE offset_us END
         WHERE id = 1 RETURNING frozen_us, offset_us`,
        [us],
      )
    ).rows[0] as { frozen_us: number | null; offset_us: number };
    return { frozenUs: row.frozen_us, offsetUs: row.offset_us };
  }

  async listFaultRules(): Promise<FaultRuleRecord[]> {
    return (await this.q(FAULTS_SQL)).rows.map(toFault);
  }

  async insertFaultRule(id: string, spec: string): Promise<FaultRuleRecord> {
    const r = await this.q('INSERT INTO fault_rules (id, seq, spec, hits) SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, 0 FROM fault_rules RETURNING id, seq, spec, hits', [id, spec]);
    return toFault(r.rows[0]);
  }

  async deleteFaultRule(id: string): Promise<boolean> {
    return ((await this.q('DELETE FROM fault_rules WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async deleteAllFaultRules(): Promise<number> {
    return (await this.q('DELETE FROM fault_rules')).rowCount ?? 0;
  }

  async hitFaultRule(id: string): Promise<number | undefined> {
    return (await this.q('UPDATE fault_rules SET hits = hits + 1 WHERE id = $1 RETURNING hits', [id])).rows[0]?.hits as number | undefined;
  }

  async initAdminKey(candidate: string): Promise<string> {
    return this.initSetting(ADMIN_KEY, candidate);
  }

  async setAdminKey(key: string): Promise<void> {
    await this.q('INSERT INTO control_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [ADMIN_KEY, key]);
  }

  async getAdminKey(): Promise<string | undefined> {
    return this.getSetting(ADMIN_KEY);
  }

  async getSetting(name: string): Promise<string | undefined> {
    return (await this.q('SELECT value FROM control_settings WHERE name = $1', [name])).rows[0]?.value as string | undefined;
  }

  // Write, then read back in a statement of its own: a write that lost to a concurrent one waits for
  // that one to commit, and only a later statement's snapshot sees the winner's value.
  async initSetting(name: string, candidate: string): Promise<string> {
    await this.q('INSERT INTO control_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, candidate]);
    return (await this.getSetting(name))!;
  }

  async replaceSetting(name: string, expected: string, next: string): Promise<string | undefined> {
    await this.q('UPDATE control_settings SET value = $3 WHERE name = $1 AND value = $2', [name, expected, next]);
    return this.getSetting(name);
  }

  async listDevices(tenantId?: string): Promise<DeviceRecord[]> {
    const r = tenantId === undefined
      ? await this.q('SELECT * FROM enrolled_devices ORDER BY enrolled_us, device_id')
      : await this.q('SELECT * FROM enrolled_devices WHERE tenant_id = $1 ORDER BY enrolled_us, device_id', [tenantId]);
    return r.rows.map(toDevice);
  }

  async exportState(): Promise<StateData> {
    return collectState(await this.readState(), [...this.tables.keys()]);
  }

  /**
   * One REPEATABLE READ READ ONLY transaction, each section through a cursor. The transaction is
   * `tx`'s, held open until the reader closes.
   */
  readState(): Promise<StateReader> {
    return new Promise<StateReader>((resolve, reject) => {
      let done = false;
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const close = async () => {
        done = true;
        release();
      };
      this.tx(async (q) => {
        // An export waits on its client (reading the answer) between pages.
        await q(`SET LOCAL idle_in_transaction_session_timeout = ${EXPORT_IDLE_MS}`);
        const clock = toClock((await q(CLOCK_SQL)).rows[0]);
        async function* pages<T>(sql: string, map: (row: Record<string, unknown>) => T): AsyncGenerator<T[]> {
          if (done) throw new Error('the state reader is closed');
          try {
            await q(`DECLARE export_rows NO SCROLL CURSOR FOR ${sql}`);
            try {
              for (;;) {
                const { rows } = await q(`FETCH ${EXPORT_PAGE_ROWS} FROM export_rows`);
                if (rows.length > 0) yield rows.map(map);
                if (rows.length < EXPORT_PAGE_ROWS) break;
              }
            } finally {
              if (!done) await q('CLOSE export_rows').catch(() => undefined);
            }
          } catch (err) {
            throw unavailable(err);
          }
        }
        const tables = this.tables;
        resolve({
          clock,
          tenants: () => pages('SELECT tenant_id, licensed FROM tenants ORDER BY tenant_id COLLATE "C"', (r) => ({
            tenantId: r.tenant_id as string, licensed: r.licensed as boolean,
          })),
          records(typeName: string): AsyncIterable<AnyRecord[]> {
            const t = tables.get(typeName);
            if (!t) throw new Error(`no table for ${typeName}`);
            return pages(exportSelect(t), (r) => t.record(r as Row));
          },
          devices: () => pages('SELECT * FROM enrolled_devices ORDER BY enrolled_us, device_id COLLATE "C"', toDevice),
          faults: () => pages(FAULTS_SQL, toFault),
          close,
        });
        await released;
      }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY').catch(reject); // after `resolve`, a failure to end the read only discards its connection
    });
  }

  async replaceState(data: StateData, opts: { onlyIfEmpty?: boolean } = {}): Promise<boolean> {
    return this.tx(async (q) => {
      await q('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, LOCK_REPLACE_STATE]);
      if (opts.onlyIfEmpty) {
        const any = [...this.tables.values()].map((t) => `EXISTS (SELECT 1 FROM ${t.name})`).join(' OR ');
        const used = (await q(`SELECT ${any} OR EXISTS (SELECT 1 FROM tenants) AS used`)).rows[0].used as boolean;
        if (used) return false;
      }
      for (const t of this.tables.values()) await q(`DELETE FROM ${t.name}`);
      await q('DELETE FROM enrollment_tokens');
      await q('DELETE FROM tenants');
      await q('DELETE FROM enrolled_devices');
      await q('DELETE FROM fault_rules');
      await q('DELETE FROM throttle_counters');
      await q('UPDATE clock_settings SET frozen_us = $1, offset_us = $2 WHERE id = 1', [data.clock.frozenUs, data.clock.offsetUs]);
      await this.insertRows(q, data);
      if (data.faults.length > 0) {
        await q('INSERT INTO fault_rules (id, seq, spec, hits) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])', [
          data.faults.map((f) => f.id), data.faults.map((f) => f.position), data.faults.map((f) => f.spec), data.faults.map((f) => f.hits),
        ]);
      }
      return true;
    }, 'BEGIN', this.replaceTimeoutMs);
  }

  async replaceTenant(tenantId: string, data: StateData): Promise<void> {
    const prefix = tenantBucketPrefix(tenantId);
    await this.tx(async (q) => {
      await q('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, LOCK_REPLACE_STATE]);
      for (const t of this.tables.values()) await q(`DELETE FROM ${t.name} WHERE tenant_id = $1`, [tenantId]);
      await q('DELETE FROM enrollment_tokens WHERE tenant_id = $1', [tenantId]);
      await q('DELETE FROM tenants WHERE tenant_id = $1', [tenantId]);
      await q('DELETE FROM enrolled_devices WHERE tenant_id = $1', [tenantId]);
      await q('DELETE FROM throttle_counters WHERE substr(bucket, 1, $1::int) = $2', [prefix.length, prefix]);
      await this.insertRows(q, {
        ...data,
        tenants: data.tenants.filter((t) => t.tenantId === tenantId),
        entities: Object.fromEntries(Object.entries(data.entities).map(([type, records]) => [type, records.filter((r) => r.tenantId === tenantId)])),
        devices: data.devices.filter((d) => d.tenantId === tenantId),
      });
    }, 'BEGIN', this.replaceTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** Rows of every kind, each kind in statements of up to INSERT_CHUNK_ROWS rows (unnest of one array per column). */
  private async insertRows(q: Q, data: Pick<StateData, 'tenants' | 'entities' | 'devices'>): Promise<void> {
    const inChunks = async <T>(rows: readonly T[], insert: (chunk: readonly T[]) => Promise<unknown>) => {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK_ROWS) await insert(rows.slice(i, i + INSERT_CHUNK_ROWS));
    };
    await inChunks(data.tenants, (tenants) =>
      q('INSERT INTO tenants (tenant_id, licensed) SELECT * FROM unnest($1::text[], $2::boolean[])', [
        tenants.map((t) => t.tenantId), tenants.map((t) => t.licensed),
      ]));
    for (const t of this.tables.values()) {
      const insert = `INSERT INTO ${t.name} (${t.columnList}) SELECT * FROM unnest(${t.columns.map((c, i) => `$${i + 1}::${ARRAY_TYPES[c.sql]}`).join(', ')})`;
      const token = withRole(t.def, 'token');
      await inChunks(data.entities[t.def.typeName] ?? [], async (records) => {
        const rows = records.map((r) => t.insertParams(r));
        await q(insert, t.columns.map((_, i) => rows.map((row) => row[i])));
        const held = token ? records.filter((r) => typeof r[token.name] === 'string') : [];
        if (held.length > 0) {
          await q('INSERT INTO enrollment_tokens (entity, tenant_id, profile_id, token_value) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])', [
            t.def.typeName, held.map((r) => r.tenantId), held.map((r) => r.id), held.map((r) => r[token!.name]),
          ]);
        }
      });
    }
    await inChunks(data.devices, (d) =>
      q(
        `INSERT INTO enrolled_devices (device_id, tenant_id, profile_type, profile_id, serial_number, model, enrolled_us)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])`,
        [d.map((x) => x.deviceId), d.map((x) => x.tenantId), d.map((x) => x.profileType), d.map((x) => x.profileId), d.map((x) => x.serialNumber),
          d.map((x) => x.model), d.map((x) => x.enrolledUs)],
      ));
  }
}

function toClock(r: Record<string, unknown> | undefined): ClockSettings {
  return r ? { frozenUs: r.frozen_us as number | null, offsetUs: r.offset_us as number } : { frozenUs: null, offsetUs: 0 };
}

function toFault(r: Record<string, unknown>): FaultRuleRecord {
  return { id: r.id as string, position: r.seq as number, spec: r.spec as string, hits: r.hits as number };
}

function toDevice(r: Record<string, unknown>): DeviceRecord {
  return {
    deviceId: r.device_id as string, tenantId: r.tenant_id as string, profileType: r.profile_type as string, profileId: r.profile_id as string,
    serialNumber: r.serial_number as string | null, model: r.model as string | null, enrolledUs: r.enrolled_us as number,
  };
}
