import { defaultControlConfig, type ControlConfig } from './control/config.js';
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
