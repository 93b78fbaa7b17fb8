import Database from 'better-sqlite3';
import { withRole, type AnyRecord } from '../model/edm.js';
import {
  collectState, EXPORT_PAGE_ROWS, tenantBucketPrefix, type ClockSettings, type ControlStore, type DeviceRecord, type FaultRuleRecord,
  type StateData, type StateReader, type ThrottleBucket,
} from './control.js';
import { DEVICE_COLUMNS, exportSelect, REGISTRY_SQL, type EntityTable, type Row } from './sql.js';
import type { TenantRecord } from './store.js';

const ADMIN_KEY = 'admin_key';
/** As the store's own connection waits (sqlite.ts). */
const READER_BUSY_TIMEOUT_MS = 5_000;

interface DeviceRow {
  device_id: string;
  tenant_id: string;
  profile_type: string;
  profile_id: string;
  serial_number: string | null;
  model: string | null;
  enrolled_us: number;
}

const toDevice = (r: DeviceRow): DeviceRecord => ({
  deviceId: r.device_id, tenantId: r.tenant_id, profileType: r.profile_type, profileId: r.profile_id, serialNumber: r.serial_number,
  model: r.model, enrolledUs: r.enrolled_us,
});

type FaultRow = { id: string; seq: number; spec: string; hits: number };
const toFault = (r: FaultRow): FaultRuleRecord => ({ id: r.id, position: r.seq, spec: r.spec, hits: r.hits });

const CLOCK_SQL = 'SELECT frozen_us, offset_us FROM clock_settings WHERE id = 1';
const DEVICES_SQL = 'SELECT * FROM enrolled_devices ORDER BY enrolled_us, device_id';
const FAULTS_SQL = 'SELECT id, seq, spec, hits FROM fault_rules ORDER BY seq, id';
const toClock = (row: { frozen_us: number | null; offset_us: number } | undefined): ClockSettings =>
  row ? { frozenUs: row.frozen_us, offsetUs: row.offset_us } : { frozenUs: null, offsetUs: 0 };

/**
 * A StateReader on a connection of its own, in one read transaction: WAL gives it one snapshot of
 * the database for as long as it reads, while the store's connection goes on serving and writing.
 * Pages come from statements stepped a page at a time.
 */
class SqliteStateReader implements StateReader {
  readonly clock: ClockSettings;

  constructor(private readonly db: Database.Database, private readonly tables: ReadonlyMap<string, EntityTable>) {
    // Deferred: the first SELECT fixes the snapshot that every later one reads.
    db.exec('BEGIN');
    this.clock = toClock(db.prepare(CLOCK_SQL).get() as Parameters<typeof toClock>[0]);
  }

  private async *pages<R, T>(sql: string, map: (row: R) => T): AsyncGenerator<T[]> {
    let page: T[] = [];
    for (const row of this.db.prepare(sql).iterate() as IterableIterator<R>) {
      page.push(map(row));
      if (page.length === EXPORT_PAGE_ROWS) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  tenants() {
    return this.pages('SELECT tenant_id, licensed FROM tenants ORDER BY tenant_id', (r: { tenant_id: string; licensed: number }) => ({
      tenantId: r.tenant_id, licensed: r.licensed === 1,
    }));
  }

  records(typeName: string): AsyncIterable<AnyRecord[]> {
    const t = this.tables.get(typeName);
    if (!t) throw new Error(`no table for ${typeName}`);
    return this.pages(exportSelect(t), (r: Row) => t.record(r));
  }

  devices() {
    return this.pages(DEVICES_SQL, toDevice);
  }

  faults() {
    return this.pages(FAULTS_SQL, toFault);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/**
 * The control plane on the SQLite database of the `SqliteStore` (the same connection, so a snapshot
 * import covers the Graph data and the control state in one transaction). Write transactions are
 * IMMEDIATE: they take SQLite's write lock before reading, so counters are exact across every
 * process on the database file.
 */
export class SqliteControlStore implements ControlStore {
  readonly kind = 'sqlite' as const;
  private readonly q;
  private readonly consumeTx;
  private readonly replaceTx;
  private readonly replaceTenantTx;

  constructor(private readonly db: Database.Database, private readonly tables: ReadonlyMap<string, EntityTable>) {
    this.q = {
      counter: db.prepare('SELECT window_start, n FROM throttle_counters WHERE bucket = ?'),
      bump: db.prepare(
        `INSERT INTO throttle_counters (bucket, window_start, n) VALUES (?, ?, 1)
         ON CONFLICT (bucket) DO UPDATE SET
           n = CASE WHEN throttle_counters.window_start = excluded.window_start THEN throttle_counters.n + 1 ELSE 1 END,
           window_start = excluded.window_start`,
      ),
      prune: db.prepare('DELETE FROM throttle_counters WHERE window_start < ?'),
      clearCounters: db.prepare('DELETE FROM throttle_counters'),
      clearTenantCounters: db.prepare('DELETE FROM throttle_counters WHERE substr(bucket, 1, ?) = ?'),
      clock: db.prepare(CLOCK_SQL),
      setClock: db.prepare('UPDATE clock_settings SET frozen_us = ?, offset_us = ? WHERE id = 1'),
      advance: db.prepare(
        `UPDATE clock_settings SET frozen_us = frozen_us + @us, offset_us = CASE WHEN frozen_us IS NULL THEN offset_us + @us ELSE offset_us END
         WHERE id = 1 RETURNING frozen_us, offset_us`,
      ),
      faults: db.prepare(FAULTS_SQL),
      insertFault: db.prepare(
        'INSERT INTO fault_rules (id, seq, spec, hits) SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, 0 FROM fault_rules RETURNING id, seq, spec, hits',
      ),
      insertFaultRecord: db.prepare('INSERT INTO fault_rules (id, seq, spec, hits) VALUES (?, ?, ?, ?)'),
      deleteFault: db.prepare('DELETE FROM fault_rules WHERE id = ?'),
      deleteFaults: db.prepare('DELETE FROM fault_rules'),
      hitFault: db.prepare('UPDATE fault_rules SET hits = hits + 1 WHERE id = ? RETURNING hits'),
      setting: db.prepare('SELECT value FROM control_settings WHERE name = ?'),
      initSetting: db.prepare('INSERT INTO control_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
      setSetting: db.prepare('INSERT INTO control_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      replaceSetting: db.prepare('UPDATE control_settings SET value = ? WHERE name = ? AND value = ?'),
      insertDevice: db.prepare(`INSERT INTO enrolled_devices (${DEVICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      devices: db.prepare(DEVICES_SQL),
      tenantDevices: db.prepare('SELECT * FROM enrolled_devices WHERE tenant_id = ? ORDER BY enrolled_us, device_id'),
      deleteDevices: db.prepare('DELETE FROM enrolled_devices'),
      deleteTenantDevices: db.prepare('DELETE FROM enrolled_devices WHERE tenant_id = ?'),
      anyData: db.prepare(
        `SELECT ${[...tables.values()].map((t) => `EXISTS (SELECT 1 FROM ${t.name})`).join(' OR ')} OR EXISTS (SELECT 1 FROM tenants) AS used`,
      ),
      deleteTokens: db.prepare('DELETE FROM enrollment_tokens'),
      deleteTenantTokens: db.prepare('DELETE FROM enrollment_tokens WHERE tenant_id = ?'),
      insertToken: db.prepare(REGISTRY_SQL.upsert(() => '?')),
      insertTenant: db.prepare('INSERT INTO tenants (tenant_id, licensed) VALUES (?, ?)'),
      deleteTenants: db.prepare('DELETE FROM tenants'),
      deleteTenant: db.prepare('DELETE FROM tenants WHERE tenant_id = ?'),
    };

    this.consumeTx = db.transaction((buckets: readonly ThrottleBucket[], windowStartUs: number): string | undefined => {
      for (const b of buckets) {
        const row = this.q.counter.get(b.key) as { window_start: number; n: number } | undefined;
        const n = row && row.window_start === windowStartUs ? row.n : 0;
        if (n >= b.limit) return b.key;
      }
      for (const b of buckets) this.q.bump.run(b.key, windowStartUs);
      return undefined;
    });

    this.replaceTx = db.transaction((data: StateData, onlyIfEmpty: boolean): boolean => {
      if (onlyIfEmpty && (this.q.anyData.get() as { used: number }).used === 1) return false;
      for (const t of this.tables.values()) db.prepare(`DELETE FROM ${t.name}`).run();
      this.q.deleteTokens.run();
      this.q.deleteTenants.run();
      this.q.deleteDevices.run();
      this.q.deleteFaults.run();
      this.q.clearCounters.run();
      this.q.setClock.run(data.clock.frozenUs, data.clock.offsetUs);
      this.insertRows(data.tenants, data.entities, data.devices);
      for (const f of data.faults) this.q.insertFaultRecord.run(f.id, f.position, f.spec, f.hits);
      return true;
    });

    this.replaceTenantTx = db.transaction((tenantId: string, data: StateData): void => {
      for (const t of this.tables.values()) db.prepare(`DELETE FROM ${t.name} WHERE tenant_id = ?`).run(tenantId);
      this.q.deleteTenantTokens.run(tenantId);
      this.q.deleteTenant.run(tenantId);
      this.q.deleteTenantDevices.run(tenantId);
      const prefix = tenantBucketPrefix(tenantId);
      this.q.clearTenantCounters.run(prefix.length, prefix);
      this.insertRows(
        data.tenants.filter((t) => t.tenantId === tenantId),
        Object.fromEntries(Object.entries(data.entities).map(([type, records]) => [type, records.filter((r) => r.tenantId === tenantId)])),
        data.devices.filter((d) => d.tenantId === tenantId),
      );
    });
  }

  private insertRows(tenants: readonly TenantRecord[], entities: StateData['entities'], devices: readonly DeviceRecord[]): void {
    for (const t of tenants) this.q.insertTenant.run(t.tenantId, t.licensed ? 1 : 0);
    for (const t of this.tables.values()) {
      const insert = this.db.prepare(t.sql.insert);
      const token = withRole(t.def, 'token');
      for (const r of entities[t.def.typeName] ?? []) {
        insert.run(...t.insertParams(r));
        const value = token && r[token.name];
        if (typeof value === 'string') this.q.insertToken.run(t.def.typeName, r.tenantId, r.id, value);
      }
    }
    for (const d of devices) this.insertDeviceRow(d);
  }

  private insertDeviceRow(d: DeviceRecord): void {
    this.q.insertDevice.run(d.deviceId, d.tenantId, d.profileType, d.profileId, d.serialNumber, d.model, d.enrolledUs);
  }

  private readClock(): ClockSettings {
    return toClock(this.q.clock.get() as Parameters<typeof toClock>[0]);
  }

  async consume(buckets: readonly ThrottleBucket[], windowStartUs: number): Promise<string | undefined> {
    return this.consumeTx.immediate(buckets, windowStartUs);
  }

  async peek(key: string, windowStartUs: number): Promise<number> {
    const row = this.q.counter.get(key) as { window_start: number; n: number } | undefined;
    return row && row.window_start === windowStartUs ? row.n : 0;
  }

  async pruneCounters(beforeUs: number): Promise<void> {
    this.q.prune.run(beforeUs);
  }

  async getClock(): Promise<ClockSettings> {
    return this.readClock();
  }

  async setClock(s: ClockSettings): Promise<void> {
    this.q.setClock.run(s.frozenUs, s.offsetUs);
  }

  async advanceClock(us: number): Promise<ClockSettings> {
    const row = this.q.advance.get({ us }) as { frozen_us: number | null; offset_us: number };
    return { frozenUs: row.frozen_us, offsetUs: row.offset_us };
  }

  private readFaults(): FaultRuleRecord[] {
    return (this.q.faults.all() as FaultRow[]).map(toFault);
  }

  async listFaultRules(): Promise<FaultRuleRecord[]> {
    return this.readFaults();
  }

  async insertFaultRule(id: string, spec: string): Promise<FaultRuleRecord> {
    return toFault(this.q.insertFault.get(id, spec) as FaultRow);
  }

  async deleteFaultRule(id: string): Promise<boolean> {
    return this.q.deleteFault.run(id).changes > 0;
  }

  async deleteAllFaultRules(): Promise<number> {
    return this.q.deleteFaults.run().changes;
  }

  async hitFaultRule(id: string): Promise<number | undefined> {
    return (this.q.hitFault.get(id) as { hits: number } | undefined)?.hits;
  }

  async initAdminKey(candidate: string): Promise<string> {
    this.q.initSetting.run(ADMIN_KEY, candidate);
    return (this.q.setting.get(ADMIN_KEY) as { value: string }).value;
  }

  async setAdminKey(key: string): Promise<void> {
    this.q.setSetting.run(ADMIN_KEY, key);
  }

  async getAdminKey(): Promise<string | undefined> {
    return (this.q.setting.get(ADMIN_KEY) as { value: string } | undefined)?.value;
  }

  async getSetting(name: string): Promise<string | undefined> {
    return (this.q.setting.get(name) as { value: string } | undefined)?.value;
  }

  async initSetting(name: string, candidate: string): Promise<string> {
    this.q.initSetting.run(name, candidate);
    return (await this.getSetting(name))!;
  }

  async replaceSetting(name: string, expected: string, next: string): Promise<string | undefined> {
    this.q.replaceSetting.run(next, name, expected);
    return this.getSetting(name);
  }

  async listDevices(tenantId?: string): Promise<DeviceRecord[]> {
    const rows = (tenantId === undefined ? this.q.devices.all() : this.q.tenantDevices.all(tenantId)) as DeviceRow[];
    return rows.map(toDevice);
  }

  async exportState(): Promise<StateData> {
    return collectState(await this.readState(), [...this.tables.keys()]);
  }

  async readState(): Promise<StateReader> {
    // A connection of its own, since an export reads across many turns of the event loop: on the
    // database file (WAL lets it read one snapshot while this one writes), or on a copy of an
    // in-memory database (which no other connection can open).
    const db = this.db.memory ? new Database(this.db.serialize()) : new Database(this.db.name, { readonly: true, fileMustExist: true });
    try {
      db.pragma(`busy_timeout = ${READER_BUSY_TIMEOUT_MS}`);
      return new SqliteStateReader(db, this.tables);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async replaceState(data: StateData, opts: { onlyIfEmpty?: boolean } = {}): Promise<boolean> {
    return this.replaceTx.immediate(data, opts.onlyIfEmpty === true);
  }

  async replaceTenant(tenantId: string, data: StateData): Promise<void> {
    this.replaceTenantTx.immediate(tenantId, data);
  }

  async close(): Promise<void> {
    // The connection belongs to the SqliteStore, which closes it.
  }
}
