/**
 * The package's programmatic API: `startServer()` runs an Enrollgraph server in the calling process,
 * for a test suite's set-up (docs/testing.md).
 *
 *   import { startServer } from 'enrollgraph';
 *   const server = await startServer();              // in memory, on a free port
 *   const token = await server.mintToken({ tenant }); // delegated DeviceManagementConfiguration.ReadWrite.All
 *   await fetch(`${server.url}/beta/deviceManagement/androidForWorkEnrollmentProfiles`, { headers: { authorization: `Bearer ${token}` } });
 *   await server.close();
 *
 * Options are the `enrollgraph serve` flags in camelCase (`--max-page-size` → `maxPageSize`), checked
 * the same way; only `--workers` has no counterpart.
 */
import { ConfigError, serveConfig, SERVE_FLAGS, type Settings } from './config.js';
import type { TrustedIssuer } from './identity/verify.js';
import type { RunningServer } from './server.js';
import { parseIsoToUs } from './time.js';

export interface ServerOptions {
  /** 'memory' (the default), a data directory (SQLite), or a postgres:// URL. */
  store?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port (see `url`). */
  port?: number;
  publicUrl?: string;
  allowAppOnly?: boolean;
  /** A JSON file, or the list itself: `[{ issuer, jwks, audiences }]`. */
  trustedIssuers?: string | TrustedIssuer[];
  pageSize?: number;
  maxPageSize?: number;
  bodyLimit?: number;
  qrThreads?: number;
  /** Default 'silent' (the CLI's default is 'info'). */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  dbPool?: number;
  dbTimeout?: number;
  tls?: boolean;
  cert?: string;
  key?: string;
  identities?: string;
  /** Default true, as `serve` (Intune's limits); false for load tests. */
  throttling?: boolean;
  throttleWindow?: number;
  tenantWriteLimit?: number;
  tenantRequestLimit?: number;
  appWriteLimit?: number;
  appRequestLimit?: number;
  enrollWindow?: number;
  enrollTokenLimit?: number;
  enrollFailureLimit?: number;
  adminKey?: string;
  seed?: string;
  journalSize?: number;
}

export interface MintTokenOptions {
  /** The tenant GUID (the token's `tid`). */
  tenant: string;
  /** Delegated scopes; default `DeviceManagementConfiguration.ReadWrite.All`. */
  scopes?: string[];
  /** Application permissions: makes an app-only token instead (the server then needs `allowAppOnly`). */
  roles?: string[];
  /** Default admin@contoso.onmicrosoft.com. */
  upn?: string;
  /** Lifetime in seconds, default 3600; negative mints a token that has already expired. */
  expiresIn?: number;
  /** Another audience than Graph's, for tests of refusal. */
  audience?: string;
}

export interface ServerClock {
  /** Sets the server's "now" (ISO 8601 with offset); it keeps running unless `frozen` (default: as it was). */
  set(iso: string, opts?: { frozen?: boolean }): Promise<void>;
  /** Moves "now" by a number of seconds (fractions and negatives allowed). */
  advance(seconds: number): Promise<void>;
  /** Back to the machine's clock. */
  reset(): Promise<void>;
  /** The server's "now", ISO 8601 (Graph's 7 fractional digits). */
  now(): string;
}

export interface EnrollgraphServer {
  /** The root URL, e.g. http://127.0.0.1:41234 (Graph is at `${url}/beta`). */
  url: string;
  /** The control API's key (`Authorization: Bearer …` on `${url}/_admin/…`). */
  adminKey: string;
  /** With `tls`: the certificate's PEM file, for NODE_EXTRA_CA_CERTS or an https agent's `ca`. */
  certificateFile?: string;
  /** An access token this server accepts, minted on the server's clock. */
  mintToken(opts: MintTokenOptions): Promise<string>;
  /** Everything back to the seed (or empty); with a tenant, only that tenant's data. */
  reset(tenant?: string): Promise<void>;
  clock: ServerClock;
  /** Stops listening (after in-flight requests) and closes the store. */
  close(): Promise<void>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `maxPageSize` → `max-page-size`. */
const flagOf = (option: string) => option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The options as `serve` settings, each value's source named as the option (`options.port`). */
function settingsOf(options: ServerOptions): Settings {
  const values: Settings['values'] = { port: '0', 'log-level': 'silent' };
  const store = options.store ?? 'memory';
  if (store === 'memory') values.memory = true;
  else if (/^postgres(ql)?:\/\//i.test(store)) values.database = store;
  else values.data = store;
  const storeSource = store === 'memory' ? 'memory' : /^postgres/i.test(store) ? 'database' : 'data';
  for (const [option, value] of Object.entries(options)) {
    if (option === 'store' || option === 'trustedIssuers' || value === undefined) continue;
    const flag = flagOf(option);
    const spec = SERVE_FLAGS[flag];
    if (!spec || flag === 'workers' || flag in { data: 1, memory: 1, database: 1 }) throw new ConfigError(`startServer: unknown option '${option}'`);
    if (flag === 'throttling' && typeof value === 'boolean') values[flag] = value ? 'on' : 'off';
    else if (spec.type === 'boolean') {
      if (typeof value !== 'boolean') throw new ConfigError(`startServer: options.${option} must be true or false`);
      values[flag] = value;
    } else values[flag] = String(value);
  }
  if (typeof options.trustedIssuers === 'string') values['trusted-issuers'] = options.trustedIssuers;
  const optionOf = (flag: string) => (flag === storeSource ? 'store' : flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));
  return { values, source: (flag) => `startServer: options.${optionOf(flag)}` };
}

/**
 * Starts a server in this process and resolves once it is ready (store open and migrated,
 * listening). Defaults: an in-memory store, 127.0.0.1 on a free port, no logging.
 */
export async function startServer(options: ServerOptions = {}): Promise<EnrollgraphServer> {
  const config = serveConfig(settingsOf(options));
  if (Array.isArray(options.trustedIssuers)) config.trustedIssuers = options.trustedIssuers;
  const server: RunningServer = await (await import('./server.js')).startServer(config);
  const { control, mintToken } = server.app;
  const clock: ServerClock = {
    async set(iso, opts = {}) {
      const nowUs = parseIsoToUs(iso);
      if (nowUs === undefined) throw new TypeError(`clock.set: '${iso}' is not an ISO 8601 date-time with offset, e.g. 2030-01-01T00:00:00Z`);
      await control.setClock({ nowUs, ...(opts.frozen !== undefined ? { frozen: opts.frozen } : {}) });
    },
    advance: (seconds) => control.advanceClock(seconds),
    reset: () => control.resetClock(),
    now: () => control.clock.describe().now,
  };
  return {
    url: server.url,
    adminKey: control.adminKey,
    ...(server.tls ? { certificateFile: server.tls.certFile } : {}),
    mintToken(opts) {
      if (!GUID.test(opts?.tenant ?? '')) return Promise.reject(new TypeError(`mintToken: 'tenant' must be a tenant GUID, got '${opts?.tenant}'`));
      const { tenant, ...rest } = opts;
      return mintToken({ tenantId: tenant.toLowerCase(), ...rest });
    },
    reset: (tenant) => control.reset(tenant?.toLowerCase()),
    clock,
    close: () => server.stop(),
  };
}

export { ConfigError } from './config.js';
