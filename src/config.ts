import { readFileSync } from 'node:fs';
import { CONTROL_OPTIONS, controlConfigFrom, defaultControlConfig, type ControlConfig } from './control/config.js';
import type { TrustedIssuer } from './identity/verify.js';

/** Where state lives: a SQLite file in a directory, an in-memory SQLite database, or a database URL. */
export type StorageConfig =
  | { kind: 'sqlite'; dataDir: string }
  | { kind: 'memory' }
  /** PostgreSQL: `poolSize` connections at most per process; `timeoutMs` bounds each wait for the database. */
  | { kind: 'postgres'; url: string; poolSize?: number; timeoutMs?: number };

/** `--tls`: serve https; with `certFile`/`keyFile` the user's own pair, else a generated one. */
export interface TlsConfig {
  certFile?: string;
  keyFile?: string;
}

export interface Config {
  host: string;
  port: number;
  storage: StorageConfig;
  /** Base URL used in `@odata.context`, `Location` and `@odata.nextLink`; default: from the request's Host. */
  publicUrl: string | undefined;
  /** Accept app-only tokens whose `roles` hold the permission (the seed says app-only is not supported). */
  allowAppOnly: boolean;
  trustedIssuers: TrustedIssuer[];
  /** Server-driven paging: the page size without `$top`, and the most `$top` can ask for. */
  pageSize: number;
  maxPageSize: number;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** How long the request line and headers, the whole request, and each wait for more of a body may take, in ms (408 past them). */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  bodyTimeoutMs: number;
  /** QR rendering worker threads (0 = on the main thread). */
  qrThreads: number;
  /** pino level; 'silent' turns logging off. */
  logLevel: string;
  /** How long SIGTERM waits for in-flight requests before closing, in ms. */
  shutdownTimeoutMs: number;
  /** Throttling, enrollment limits, admin key, seed file, request journal (src/control/config.ts). */
  control: ControlConfig;
  /** Serve https (`--tls`, `--cert`, `--key`); undefined = plain http. */
  tls?: TlsConfig;
  /** The local authority's identity file (`--identities`); undefined = open emulator mode. */
  identitiesFile?: string;
}

export const DEFAULT_DATA_DIR = './data';

export function defaultConfig(): Config {
  return {
    host: '127.0.0.1',
    port: 8080,
    storage: { kind: 'sqlite', dataDir: DEFAULT_DATA_DIR },
    publicUrl: undefined,
    allowAppOnly: false,
    trustedIssuers: [],
    pageSize: 100,
    maxPageSize: 1000,
    bodyLimit: 1024 * 1024,
    headersTimeoutMs: 30_000,
    requestTimeoutMs: 120_000,
    bodyTimeoutMs: 30_000,
    qrThreads: 1,
    logLevel: 'info',
    shutdownTimeoutMs: 10_000,
    control: defaultControlConfig(),
  };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One flag of a command: its type and what `--help` and docs/configuration.md say about it. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  /** The value's placeholder in help, e.g. DIR. */
  value?: string;
  /** The default, as help shows it (none: no default). */
  default?: string;
  help: string;
}

export type FlagTable = Record<string, FlagSpec>;

/** The environment variable of a flag: --public-url → ENROLLGRAPH_PUBLIC_URL. */
export function envName(flag: string): string {
  return `ENROLLGRAPH_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Other variables a flag also reads, after its own. */
export const ENV_ALIASES: Record<string, string[]> = { database: ['ENROLLGRAPH_DATABASE_URL'] };

/** The flags that choose the store: one of them at most. */
export const STORAGE_GROUP = ['data', 'memory', 'database'] as const;

const defaults = defaultConfig();
const control = defaults.control;

export const STORAGE_FLAGS: FlagTable = {
  data: { type: 'string', value: 'DIR', default: DEFAULT_DATA_DIR, help: 'SQLite database DIR/enrollgraph.db (WAL mode)' },
  memory: { type: 'boolean', help: 'in-memory SQLite: nothing is written to disk, state is lost at exit' },
  database: {
    type: 'string', value: 'URL',
    help: 'PostgreSQL, postgres://user:password@host:port/database: all state in that database, shared by any number of instances',
  },
  // The PostgreSQL store's defaults (src/store/postgres.ts), written out here so that help does not load pg.
  'db-pool': { type: 'string', value: 'N', default: '10', help: 'most PostgreSQL connections per process' },
  'db-timeout': { type: 'string', value: 'MS', default: '5000', help: 'bound on each wait for PostgreSQL: a connection, then a statement' },
};

/** The flags of `serve`, which are also the options of the programmatic `startServer()`. */
export const SERVE_FLAGS: FlagTable = {
  host: { type: 'string', value: 'H', default: defaults.host, help: 'listen address (0.0.0.0: every interface)' },
  port: { type: 'string', value: 'P', default: String(defaults.port), help: 'listen port (0: any free port)' },
  ...STORAGE_FLAGS,
  'public-url': { type: 'string', value: 'URL', help: "base of @odata.context, Location and @odata.nextLink URLs (default: from the request's Host)" },
  'allow-app-only': { type: 'boolean', help: "accept app-only tokens whose roles hold the permission (default: app-only tokens get 403)" },
  'trusted-issuers': { type: 'string', value: 'FILE', help: 'JSON list of other token issuers to accept: [{"issuer", "jwks": URL or file, "audiences": [...]}]' },
  'page-size': { type: 'string', value: 'N', default: String(defaults.pageSize), help: 'page size of a list without $top' },
  'max-page-size': { type: 'string', value: 'N', default: String(defaults.maxPageSize), help: 'the most $top gives in one page' },
  'body-limit': { type: 'string', value: 'BYTES', default: String(defaults.bodyLimit), help: 'larger request bodies get 413' },
  'headers-timeout': { type: 'string', value: 'MS', default: String(defaults.headersTimeoutMs), help: 'the request line and headers must arrive within this (408 past it)' },
  'request-timeout': { type: 'string', value: 'MS', default: String(defaults.requestTimeoutMs), help: 'a whole request must arrive within this (408 past it)' },
  'body-timeout': { type: 'string', value: 'MS', default: String(defaults.bodyTimeoutMs), help: 'the longest wait for more of a request body (408 past it)' },
  'qr-threads': { type: 'string', value: 'N', default: String(defaults.qrThreads), help: 'QR rendering worker threads (0: on the main thread)' },
  'log-level': { type: 'string', value: 'L', default: defaults.logLevel, help: `${LOG_LEVELS.join(', ')}; silent prints nothing at all` },
  workers: { type: 'string', value: 'N', default: '1', help: 'serve from N processes on one port (node:cluster), on --data or --database' },
  tls: { type: 'boolean', help: 'serve https with a generated self-signed certificate for localhost, 127.0.0.1 and ::1, kept in the store' },
  cert: { type: 'string', value: 'FILE', help: 'serve https with this PEM certificate (with --key; implies --tls)' },
  key: { type: 'string', value: 'FILE', help: "the PEM private key of --cert" },
  identities: { type: 'string', value: 'FILE', help: "the local authority's tenants, apps and users (JSON or YAML): strict mode (default: open mode, any client and user)" },
  throttling: { type: 'string', value: 'on|off', default: control.throttling.enabled ? 'on' : 'off', help: "Graph throttling with Intune's limits; off for CI and benchmarks" },
  'throttle-window': { type: 'string', value: 'S', default: String(control.throttling.windowSeconds), help: 'length of a throttling window, seconds' },
  'tenant-write-limit': { type: 'string', value: 'N', default: String(control.throttling.tenantWrites), help: 'writes per tenant per window (0: no limit)' },
  'tenant-request-limit': { type: 'string', value: 'N', default: String(control.throttling.tenantRequests), help: 'requests per tenant per window (0: no limit)' },
  'app-write-limit': { type: 'string', value: 'N', default: String(control.throttling.appWrites), help: "writes per app (the token's appid) within a tenant per window (0: no limit)" },
  'app-request-limit': { type: 'string', value: 'N', default: String(control.throttling.appRequests), help: 'requests per app within a tenant per window (0: no limit)' },
  'enroll-window': { type: 'string', value: 'S', default: String(control.enrollment.windowSeconds), help: 'length of an enrollment rate-limit window, seconds' },
  'enroll-token-limit': { type: 'string', value: 'N', default: String(control.enrollment.perToken), help: 'enrollments per enrollment token per window (0: no limit)' },
  'enroll-failure-limit': { type: 'string', value: 'N', default: String(control.enrollment.failuresPerAddress), help: 'refused enrollment attempts per client address per window (0: no limit)' },
  'admin-key': { type: 'string', value: 'KEY', help: "the control API's key, at least 8 characters (default: generated at the store's first start and kept in it)" },
  seed: { type: 'string', value: 'FILE', help: 'snapshot-format JSON or YAML applied to an empty store at start and by every reset' },
  'journal-size': { type: 'string', value: 'N', default: String(control.journalSize), help: 'requests GET /_admin/requests remembers (per process)' },
};

/** A configuration value that cannot be used; the message names where it came from. */
export class ConfigError extends Error {}

/**
 * Settings as given: each flag's value and where it came from ('--port', 'ENROLLGRAPH_PORT', or an
 * option name of the programmatic API), so that a message names the place to fix.
 */
export interface Settings {
  values: Record<string, string | boolean | undefined>;
  source(flag: string): string;
}

function str(s: Settings, key: string): string | undefined {
  const x = s.values[key];
  return typeof x === 'string' ? x : undefined;
}

export function intSetting(s: Settings, key: string, min: number, max: number): number | undefined {
  const v = str(s, key);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new ConfigError(`${s.source(key)} must be an integer, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigError(`${s.source(key)} must be from ${min} to ${max}, got ${n}`);
  return n;
}

/** Which store the settings choose (`--data ./data` when none); `memory`: 'allowed', or why not. */
export function storageFrom(s: Settings, opts: { memory: 'allowed' | string }): StorageConfig {
  const chosen = STORAGE_GROUP.filter((k) => s.values[k] !== undefined && s.values[k] !== false);
  if (chosen.length > 1) throw new ConfigError(`give only one of ${chosen.map((k) => s.source(k)).join(', ')}`);
  if (s.values.memory === true) {
    if (opts.memory !== 'allowed') throw new ConfigError(`${s.source('memory')}: ${opts.memory}`);
    return { kind: 'memory' };
  }
  const db = str(s, 'database');
  if (db !== undefined) {
    if (!/^postgres(ql)?:\/\//i.test(db)) throw new ConfigError(`${s.source('database')} takes a postgres:// URL`);
    const poolSize = intSetting(s, 'db-pool', 1, 1000);
    const timeoutMs = intSetting(s, 'db-timeout', 100, 10 * 60_000);
    return { kind: 'postgres', url: db, ...(poolSize !== undefined ? { poolSize } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  }
  for (const k of ['db-pool', 'db-timeout']) if (s.values[k] !== undefined) throw new ConfigError(`${s.source(k)} applies to a PostgreSQL store (--database) only`);
  return { kind: 'sqlite', dataDir: str(s, 'data') ?? DEFAULT_DATA_DIR };
}

/** The server configuration the `serve` settings describe (all but --workers, which is the CLI's). */
export function serveConfig(s: Settings): Config {
  const config = defaultConfig();
  config.storage = storageFrom(s, { memory: 'allowed' });
  config.host = str(s, 'host') ?? config.host;
  config.port = intSetting(s, 'port', 0, 65535) ?? config.port;
  config.publicUrl = str(s, 'public-url')?.replace(/\/+$/, '');
  config.allowAppOnly = s.values['allow-app-only'] === true;
  config.bodyLimit = intSetting(s, 'body-limit', 1024, 100 * 1024 * 1024) ?? config.bodyLimit;
  config.requestTimeoutMs = intSetting(s, 'request-timeout', 100, 3_600_000) ?? config.requestTimeoutMs;
  config.headersTimeoutMs = intSetting(s, 'headers-timeout', 100, config.requestTimeoutMs) ?? Math.min(config.headersTimeoutMs, config.requestTimeoutMs);
  config.bodyTimeoutMs = intSetting(s, 'body-timeout', 100, 3_600_000) ?? config.bodyTimeoutMs;
  config.qrThreads = intSetting(s, 'qr-threads', 0, 64) ?? config.qrThreads;
  config.maxPageSize = intSetting(s, 'max-page-size', 1, 100_000) ?? config.maxPageSize;
  config.pageSize = intSetting(s, 'page-size', 1, config.maxPageSize) ?? Math.min(config.pageSize, config.maxPageSize);
  const level = str(s, 'log-level');
  if (level !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new ConfigError(`${s.source('log-level')} must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
    config.logLevel = level;
  }
  const issuers = str(s, 'trusted-issuers');
  if (issuers !== undefined) config.trustedIssuers = readJson(issuers, s.source('trusted-issuers')) as TrustedIssuer[];

  const certFile = str(s, 'cert');
  const keyFile = str(s, 'key');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError(`${s.source('cert')} and ${s.source('key')} go together`);
  if (s.values.tls === true || certFile !== undefined) config.tls = certFile !== undefined ? { certFile, keyFile: keyFile! } : {};
  const identities = str(s, 'identities');
  if (identities !== undefined) config.identitiesFile = identities;
  try {
    config.control = controlConfigFrom(s.values);
  } catch (err) {
    // controlConfigFrom names the flag (`--seed …`); name where the value really came from.
    const message = (err as Error).message.replace(/^--([a-z-]+)/, (whole, flag: string) => (flag in CONTROL_OPTIONS ? s.source(flag) : whole));
    throw new ConfigError(message);
  }
  return config;
}

function readJson(file: string, source: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${source} ${file}: ${(err as Error).message}`);
  }
}
