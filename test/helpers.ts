/**
 * Black-box test harness: starts the real, built server (`bin/enrollgraph.js`) as a child process on
 * a free port with its own data directory, mints tokens against the same store, and speaks HTTP.
 *
 * With ENROLLGRAPH_TEST_STORE=postgres every server gets its own fresh PostgreSQL database instead
 * (dropped by dispose), and `cli()` runs `--data <a test server's dir>` (or ENROLLGRAPH_DATA) against
 * that server's database, so the same tests run on both stores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { KeyRing } from '../src/identity/keys.js';
import { mintAccessToken, type MintOptions } from '../src/identity/mint.js';
import type { StorageConfig } from '../src/config.js';
import { openStore as openConfiguredStore } from '../src/server.js';
import type { Store } from '../src/store/store.js';
import type { EntityDef, EntityRecord } from '../src/model/edm.js';
import { createTestDatabase, TEST_STORE, type TestDatabase } from './pg-helpers.js';
import { androidForWorkEnrollmentProfile, type AndroidForWorkEnrollmentProfile } from '../src/model/androidForWorkEnrollmentProfile.js';
import { SystemClock } from '../src/time.js';

/** An androidForWorkEnrollmentProfile as the store holds it (property names; times in µs; qrCodeImage: the PNG cache). */
export type ProfileRecord = AndroidForWorkEnrollmentProfile;

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'enrollgraph.js');
export const PROFILES = '/beta/deviceManagement/androidForWorkEnrollmentProfiles';
/** The second entity (beta only). */
export const DEVICE_OWNER_PROFILES = '/beta/deviceManagement/androidDeviceOwnerEnrollmentProfiles';
export const RW = 'DeviceManagementConfiguration.ReadWrite.All';
export const RO = 'DeviceManagementConfiguration.Read.All';
/** The Content-Type of every JSON answer (SPEC §3). */
export const JSON_CT = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

export function tempDir(prefix = 'enrollgraph-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function newTenant(): string {
  return randomUUID();
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `enrollgraph` CLI to completion. */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  ({ args, env } = onTestDatabase(args, env));
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** PostgreSQL databases of the test servers, by the data directory they stand in for. */
const databases = new Map<string, TestDatabase>();

/** `--data DIR` / ENROLLGRAPH_DATA=DIR of a test server on PostgreSQL → that server's database. */
function onTestDatabase(args: string[], env: Record<string, string>): { args: string[]; env: Record<string, string> } {
  if (databases.size === 0) return { args, env };
  const out = [...args];
  for (let i = 0; i < out.length - 1; i++) {
    const db = out[i] === '--data' ? databases.get(out[i + 1]!) : undefined;
    if (db) out.splice(i, 2, '--database', db.url);
  }
  const e = { ...env };
  const db = e.ENROLLGRAPH_DATA !== undefined ? databases.get(e.ENROLLGRAPH_DATA) : undefined;
  if (db) {
    delete e.ENROLLGRAPH_DATA;
    e.ENROLLGRAPH_DATABASE_URL = db.url;
  }
  return { args: out, env: e };
}

export interface TestServer {
  url: string;
  dataDir: string;
  /** The store flags this server was started with (`--data DIR` or `--database URL`; none for --memory). */
  storeArgs: string[];
  /** The admin key it was started with (undefined with `adminKey: false`). */
  adminKey: string | undefined;
  /** A control API call (`/_admin/…`) with the admin key. */
  admin(method: string, path: string, body?: unknown): Promise<Call>;
  proc: ChildProcess;
  output(): string;
  /** Mints a token on this server's store (delegated ReadWrite.All by default). */
  token(opts?: Partial<MintOptions>): Promise<string>;
  /** Direct read of the store, to check what a call left behind. */
  stored(tenantId: string, id: string): Promise<ProfileRecord | undefined>;
  storedAll(tenantId: string): Promise<ProfileRecord[]>;
  /** Direct read of any entity's record (a singleton's id is its tenant's; times in µs; derived caches as stored). */
  storedOf<D extends EntityDef>(def: D, tenantId: string, id: string): Promise<EntityRecord<D> | undefined>;
  /** A tenant's records of an entity, oldest first. */
  storedAllOf<D extends EntityDef>(def: D, tenantId: string): Promise<EntityRecord<D>[]>;
  /** Opens another connection to this server's store (the caller closes it). */
  openStore(): Promise<Store>;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill9(): Promise<void>;
  /** Stops (if running) and removes the data directory unless kept. */
  dispose(): Promise<void>;
}

export interface StartOptions {
  args?: string[];
  dataDir?: string;
  keepData?: boolean;
  /** 'none': pass no --data (the args choose the store, e.g. --memory). */
  storage?: 'data' | 'none';
  env?: Record<string, string>;
  /** Serve this PostgreSQL database (not dropped by dispose) instead of the default store. */
  database?: TestDatabase;
  /** Keep Graph throttling on (default: the server runs with `--throttling off`, so suites that send many requests are not throttled). */
  throttling?: boolean;
  /** The admin key to start with (`--admin-key`); default a random one; false = none (the store's, generated at first start). */
  adminKey?: string | false;
}

/** A started server with a fresh tenant and a delegated ReadWrite token for it: how most test files begin. */
export async function startTenantServer(opts: StartOptions = {}): Promise<{ server: TestServer; tenant: string; token: string }> {
  const server = await startServer(opts);
  const tenant = newTenant();
  return { server, tenant, token: await server.token({ tenantId: tenant }) };
}

/** Starts `enrollgraph serve` on a free port and waits until it listens. */
export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  // The store: the given database; on PostgreSQL runs, a new database per data directory (the same
  // one again for a restart on the same directory); else SQLite in the directory.
  let database = opts.database;
  if (!database && opts.storage !== 'none' && TEST_STORE === 'postgres') {
    database = databases.get(dataDir);
    if (!database) {
      database = await createTestDatabase();
      databases.set(dataDir, database);
    }
  }
  const storage: StorageConfig = database ? { kind: 'postgres', url: database.url } : { kind: 'sqlite', dataDir };
  const storeArgs = opts.storage === 'none' ? [] : database ? ['--database', database.url] : ['--data', dataDir];
  const adminKey = opts.adminKey === false ? undefined : opts.adminKey ?? `test-admin-${randomUUID()}`;
  const controlArgs = [...(opts.throttling ? [] : ['--throttling', 'off']), ...(adminKey !== undefined ? ['--admin-key', adminKey] : [])];
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...storeArgs, '--log-level', 'warn', ...controlArgs, ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    // A bound on a hang, not on speed: a loaded machine may take long to load modules and migrate.
    const timer = setTimeout(() => {
      proc.kill('SIGKILL'); // a server left running would keep the test process (and the suite) alive
      reject(new Error(`server did not start:\n${out}`));
    }, 60_000);
    proc.stderr!.on('data', (d: Buffer) => {
      out += d;
      const m = /serving Microsoft Graph on (http\S+)\/v1\.0/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  let store: Store | undefined;
  let keys: KeyRing | undefined;
  const openStore = async () => {
    store ??= await openConfiguredStore(storage);
    keys ??= await KeyRing.open(store, new SystemClock());
    return { store, keys };
  };
  const exited = new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.exitCode);
    else proc.on('exit', (code) => resolve(code));
  });
  let disposed = false;
  const server: TestServer = {
    url,
    dataDir,
    storeArgs,
    adminKey,
    admin: (method, path, body) => call(url, method, path, { ...(adminKey !== undefined ? { token: adminKey } : {}), ...(body !== undefined ? { body } : {}) }),
    proc,
    output: () => out,
    async token(o = {}) {
      const { keys: k } = await openStore();
      return mintAccessToken(k, { tenantId: o.tenantId ?? newTenant(), ...o });
    },
    async storedOf<D extends EntityDef>(def: D, tenantId: string, id: string) {
      return (await (await openStore()).store.get(def, tenantId, id)) as EntityRecord<D> | undefined;
    },
    async storedAllOf<D extends EntityDef>(def: D, tenantId: string) {
      const column = (name: string) => def.properties.find((p) => p.name === name)!.column!;
      const order = ['createdDateTime', 'id'].map((name) => ({ column: column(name), desc: false }));
      return (await (await openStore()).store.list(def, { tenantId, orderBy: order, limit: 1_000_000 })) as EntityRecord<D>[];
    },
    stored: (tenantId, id) => server.storedOf(androidForWorkEnrollmentProfile, tenantId, id),
    storedAll: (tenantId) => server.storedAllOf(androidForWorkEnrollmentProfile, tenantId),
    openStore: () => openConfiguredStore(storage),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await server.kill9();
      await store?.close();
      if (!opts.keepData) {
        rmSync(dataDir, { recursive: true, force: true });
        if (database && database !== opts.database) {
          databases.delete(dataDir);
          await database.drop();
        }
      }
    },
  };
  return server;
}

export interface Call {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * One HTTP call; `body` objects are sent as JSON with a JSON Content-Type. A `rawBody` string gets
 * fetch's text/plain Content-Type unless `headers` set one; bytes get none at all.
 */
export async function call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<Call> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | Uint8Array | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/**
 * The text of an Intune error: its nested message's `Message` up to the operation id (Intune's own
 * errors nest a JSON text in `message`; see docs/errors.md). A plain message is returned as it is.
 */
export function intuneText(message: string): string {
  if (!message.startsWith('{')) return message;
  const nested = JSON.parse(message) as { Message: string };
  return nested.Message.replace(/ - Operation ID \(for customer support\): .*$/s, '');
}

/** Asserts the Graph error envelope and headers; returns the error object. */
export function graphError(res: Call, status: number, code: string): { code: string; message: string } {
  if (res.status !== status || res.json?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${res.text}`);
  }
  const e = res.json.error;
  const inner = e.innerError;
  const requestId = res.headers.get('request-id');
  if (!requestId || inner?.['request-id'] !== requestId) throw new Error(`innerError.request-id ${inner?.['request-id']} != header ${requestId}`);
  if (inner['client-request-id'] !== res.headers.get('client-request-id')) throw new Error('client-request-id mismatch');
  if (typeof inner.date !== 'string' || Number.isNaN(Date.parse(`${inner.date}Z`))) throw new Error(`bad innerError.date ${inner.date}`);
  if (!res.headers.get('content-type')?.startsWith('application/json')) throw new Error('error without JSON content type');
  if (typeof e.message !== 'string' || e.message === '') throw new Error('error without message');
  return e;
}

/** Creates a profile through the API (an androidForWork one unless `collection` names another) and returns its JSON. */
export async function createProfile(base: string, token: string, body: Record<string, unknown> = { displayName: 'Kiosk' }, collection = PROFILES) {
  const res = await call(base, 'POST', collection, { token, body });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  return res.json as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * PATCHes an entity and returns it as a GET then answers. The live service answers 204 and the docs
 * 200 with the entity: either is accepted (a 200's body must be what the GET shows, but for the
 * cached QR image, which a read may render).
 */
export async function patchEntity(base: string, token: string, path: string, body: Record<string, unknown>) {
  const res = await call(base, 'PATCH', path, { token, body });
  if (res.status === 204) {
    if (res.text !== '' || res.headers.get('content-type') !== null) throw new Error(`PATCH 204 with a body or Content-Type: ${res.text}`);
  } else if (res.status !== 200) {
    throw new Error(`PATCH failed: ${res.status} ${res.text}`);
  }
  const got = await call(base, 'GET', path, { token });
  if (got.status !== 200) throw new Error(`GET after PATCH: ${got.status} ${got.text}`);
  if (res.status === 200) {
    const { qrCodeImage: _a, ...answered } = res.json as Record<string, unknown>;
    const { qrCodeImage: _b, ...read } = got.json as Record<string, unknown>;
    if (JSON.stringify(answered) !== JSON.stringify(read)) throw new Error(`PATCH answered ${res.text}, a GET shows ${got.text}`);
  }
  return got.json as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The CloudDPC provisioning JSON of SPEC §2 for a token: the QR content of GMS-mode profiles. */
export function cloudDpcQr(token: string): string {
  return JSON.stringify({
    'android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME': 'com.google.android.apps.work.clouddpc/.receivers.CloudDeviceAdminReceiver',
    'android.app.extra.PROVISIONING_DEVICE_ADMIN_SIGNATURE_CHECKSUM': 'I5YvS0O5hXY46mb01BlRjq4oJJGs2kuUcHvVkAPEXlg',
    'android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION': 'https://play.google.com/managed/downloadManagingApp?identifier=setup',
    'android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE': { 'com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN': token },
  });
}
