import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { IDENTITIES_OPTIONS, IDENTITIES_USAGE, runIdentities } from './authority/cli.js';
import { describeAuthority } from './authority/plugin.js';
import { DEFAULT_DATA_DIR, defaultConfig, type Config, type StorageConfig } from './config.js';
import { isGuid, READ_WRITE_ALL } from './identity/claims.js';
import { KeyRing } from './identity/keys.js';
import { mintAccessToken, type MintOptions } from './identity/mint.js';
import type { TrustedIssuer } from './identity/verify.js';
import { isWorkerProcess, runPrimary, runWorker } from './cluster.js';
import { describeStorage, installShutdown, openStore, startServer } from './server.js';
import { SystemClock } from './time.js';
import { prepareTls, type TlsMaterial } from './tls.js';
import { CONTROL_OPTIONS, CONTROL_USAGE, controlConfigFrom } from './control/config.js';
import { ControlPlane } from './control/plane.js';
import { ENROLL_OPTIONS, ENROLL_USAGE, runEnroll } from './enrollment/enroll-cli.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const STORAGE_OPTIONS: Options = {
  data: { type: 'string' },
  memory: { type: 'boolean' },
  database: { type: 'string' },
  'db-pool': { type: 'string' },
  'db-timeout': { type: 'string' },
};

const COMMANDS: Record<string, { options: Options; usage: string; run: (v: Values, positionals: string[]) => Promise<number> }> = {
  serve: {
    usage: `enrollgraph serve [--host H] [--port P] [--data DIR | --memory | --database URL] [--public-url URL]
                  [--allow-app-only] [--trusted-issuers FILE] [--page-size N] [--max-page-size N]
                  [--body-limit BYTES] [--headers-timeout MS] [--request-timeout MS] [--body-timeout MS]
                  [--qr-threads N] [--log-level L]
                  [--db-pool N] [--db-timeout MS] [--workers N]
                  [--tls] [--cert FILE --key FILE] [--identities FILE]
                  ${CONTROL_USAGE}`,
    options: {
      ...STORAGE_OPTIONS,
      host: { type: 'string' },
      port: { type: 'string' },
      'public-url': { type: 'string' },
      'allow-app-only': { type: 'boolean' },
      'trusted-issuers': { type: 'string' },
      'body-limit': { type: 'string' },
      'headers-timeout': { type: 'string' },
      'request-timeout': { type: 'string' },
      'body-timeout': { type: 'string' },
      'page-size': { type: 'string' },
      'max-page-size': { type: 'string' },
      'qr-threads': { type: 'string' },
      'log-level': { type: 'string' },
      workers: { type: 'string' },
      tls: { type: 'boolean' },
      cert: { type: 'string' },
      key: { type: 'string' },
      identities: { type: 'string' },
      ...CONTROL_OPTIONS,
    },
    run: serve,
  },
  token: {
    usage: `enrollgraph token --tenant GUID [--scopes "S1 S2"] [--roles "R1 R2"] [--upn UPN] [--expires-in SECONDS]
                  [--audience AUD] [--data DIR | --database URL]`,
    options: {
      ...STORAGE_OPTIONS,
      tenant: { type: 'string' },
      scopes: { type: 'string' },
      roles: { type: 'string' },
      upn: { type: 'string' },
      'expires-in': { type: 'string' },
      audience: { type: 'string' },
    },
    run: token,
  },
  tenant: {
    usage: 'enrollgraph tenant GUID (--unlicensed | --licensed) [--data DIR | --database URL]',
    options: { ...STORAGE_OPTIONS, licensed: { type: 'boolean' }, unlicensed: { type: 'boolean' } },
    run: tenant,
  },
  enroll: {
    usage: ENROLL_USAGE,
    options: ENROLL_OPTIONS,
    run: runEnroll,
  },
  identities: {
    usage: IDENTITIES_USAGE,
    options: IDENTITIES_OPTIONS,
    run: runIdentities,
  },
};

type Values = Record<string, string | boolean | undefined>;

class UsageError extends Error {}

/** `enrollgraph <command> …`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command || name === 'help' || name === '--help') {
    console.log(`Enrollgraph — a Microsoft Graph server for Intune Android Enterprise enrollment profiles.\n\nUsage:\n${Object.values(COMMANDS)
      .map((c) => `  ${c.usage}`)
      .join('\n')}\n\nEvery flag can also be set as an environment variable: --public-url → ENROLLGRAPH_PUBLIC_URL.`);
    return name && name !== 'help' && name !== '--help' ? 2 : 0;
  }
  try {
    const { values, positionals } = parseArgs({ args: joinNegativeValues(rest, command.options), options: command.options, allowPositionals: true, strict: true });
    return await command.run(withEnv(values as Values, command.options), positionals);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`enrollgraph ${name}: ${msg}`);
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`usage: ${command.usage}`);
      return 2;
    }
    return 1;
  }
}

/** `--expires-in -60` → `--expires-in=-60`: parseArgs would otherwise read `-60` as a flag. */
function joinNegativeValues(args: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (a.startsWith('--') && options[a.slice(2)]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Fills flags not given on the command line from ENROLLGRAPH_* variables. */
function withEnv(values: Values, options: Options): Values {
  const out = { ...values };
  for (const [flag, def] of Object.entries(options)) {
    if (out[flag] !== undefined) continue;
    const env = process.env[`ENROLLGRAPH_${flag.toUpperCase().replace(/-/g, '_')}`];
    if (env === undefined || env === '') continue;
    out[flag] = def.type === 'boolean' ? /^(1|true|yes|on)$/i.test(env) : env;
  }
  if (out.database === undefined && process.env.ENROLLGRAPH_DATABASE_URL) out.database = process.env.ENROLLGRAPH_DATABASE_URL;
  return out;
}

function str(v: Values, key: string): string | undefined {
  const x = v[key];
  return typeof x === 'string' ? x : undefined;
}

function int(v: Values, key: string, min: number, max: number): number | undefined {
  const s = str(v, key);
  if (s === undefined) return undefined;
  if (!/^-?\d+$/.test(s.trim())) throw new UsageError(`--${key} must be an integer, got '${s}'`);
  const n = Number(s);
  if (n < min || n > max) throw new UsageError(`--${key} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function storageFrom(v: Values, allowMemory: boolean): StorageConfig {
  const chosen = [v.data !== undefined, v.memory === true, v.database !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new UsageError('give only one of --data, --memory and --database');
  if (v.memory === true) {
    if (!allowMemory) throw new UsageError('--memory has no state to share with a server; use --data or --database');
    return { kind: 'memory' };
  }
  const db = str(v, 'database');
  if (db !== undefined) {
    if (!/^postgres(ql)?:\/\//i.test(db)) throw new UsageError('--database takes a postgres:// URL');
    const poolSize = int(v, 'db-pool', 1, 1000);
    const timeoutMs = int(v, 'db-timeout', 100, 10 * 60_000);
    return { kind: 'postgres', url: db, ...(poolSize !== undefined ? { poolSize } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  }
  if (v['db-pool'] !== undefined || v['db-timeout'] !== undefined) throw new UsageError('--db-pool and --db-timeout apply to --database only');
  return { kind: 'sqlite', dataDir: str(v, 'data') ?? DEFAULT_DATA_DIR };
}

function list(s: string | undefined): string[] | undefined {
  return s === undefined ? undefined : s.split(/[\s,]+/).filter(Boolean);
}

async function serve(v: Values): Promise<number> {
  const config: Config = defaultConfig();
  config.storage = storageFrom(v, true);
  config.host = str(v, 'host') ?? config.host;
  config.port = int(v, 'port', 0, 65535) ?? config.port;
  config.publicUrl = str(v, 'public-url')?.replace(/\/+$/, '');
  config.allowAppOnly = v['allow-app-only'] === true;
  config.bodyLimit = int(v, 'body-limit', 1024, 100 * 1024 * 1024) ?? config.bodyLimit;
  config.requestTimeoutMs = int(v, 'request-timeout', 100, 3_600_000) ?? config.requestTimeoutMs;
  config.headersTimeoutMs = int(v, 'headers-timeout', 100, config.requestTimeoutMs) ?? Math.min(config.headersTimeoutMs, config.requestTimeoutMs);
  config.bodyTimeoutMs = int(v, 'body-timeout', 100, 3_600_000) ?? config.bodyTimeoutMs;
  config.qrThreads = int(v, 'qr-threads', 0, 64) ?? config.qrThreads;
  config.maxPageSize = int(v, 'max-page-size', 1, 100_000) ?? config.maxPageSize;
  config.pageSize = int(v, 'page-size', 1, config.maxPageSize) ?? Math.min(config.pageSize, config.maxPageSize);
  config.logLevel = str(v, 'log-level') ?? config.logLevel;
  const issuers = str(v, 'trusted-issuers');
  if (issuers !== undefined) config.trustedIssuers = JSON.parse(readFileSync(issuers, 'utf8')) as TrustedIssuer[];

  const certFile = str(v, 'cert');
  const keyFile = str(v, 'key');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--cert and --key go together');
  if (v.tls === true || certFile !== undefined) config.tls = certFile !== undefined ? { certFile, keyFile: keyFile! } : {};
  const identities = str(v, 'identities');
  if (identities !== undefined) config.identitiesFile = identities;
  try {
    config.control = controlConfigFrom(v);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  let adminKeyNote = '';
  let tlsCertFile: string | undefined;

  const workers = int(v, 'workers', 1, 256) ?? 1;
  if (workers > 1 && config.storage.kind === 'memory') throw new UsageError('--workers needs a store the workers share: --data or --database, not --memory');

  const log = (msg: string) => console.error(`enrollgraph: ${msg}`);
  const announce = (url: string) => {
    log(`serving Microsoft Graph on ${url}/v1.0 and ${url}/beta`);
    log(`store: ${describeStorage(config.storage)}${workers > 1 ? `; ${workers} worker processes` : ''}`);
    if (config.allowAppOnly) log('app-only tokens are accepted (--allow-app-only)');
    if (tlsCertFile !== undefined) log(`TLS certificate: ${tlsCertFile} (clients trust it with NODE_EXTRA_CA_CERTS=${tlsCertFile})`);
    log(`OAuth authority on ${url}/{tenant}/oauth2/v2.0/token, ${describeAuthority(config.identitiesFile)}`);
    if (config.identitiesFile === undefined) log('WARNING: the token endpoint is open to anyone who can reach this server (no --identities FILE)');
    const t = config.control.throttling;
    log(t.enabled
      ? `throttling on: per tenant ${t.tenantWrites} writes and ${t.tenantRequests} requests, per app ${t.appWrites} writes and ${t.appRequests} requests, per ${t.windowSeconds} s window`
      : 'throttling off (--throttling off)');
    log(`control API on ${url}/_admin/ (Authorization: Bearer <admin key>); ${adminKeyNote}`);
  };
  if (workers > 1 && !isWorkerProcess()) {
    // Migrate and create the signing key (and the TLS certificate) once, before the workers open the store.
    let tls: TlsMaterial | undefined;
    const store = await openStore(config.storage);
    try {
      await KeyRing.open(store, new SystemClock());
      // The admin key and the seed, once, before the workers start.
      const control = await ControlPlane.open(store, config.storage, config.control);
      adminKeyNote = describeAdminKey(control);
      await control.close();
      // Each worker then loads the same certificate (data directory or database); the primary prints
      // its own copy of the PEM (a temporary file with PostgreSQL, removed when the primary stops).
      if (config.tls) tls = await prepareTls(config.tls, config.storage);
    } finally {
      await store.close();
    }
    tlsCertFile = tls?.certFile;
    try {
      return await runPrimary({ workers, shutdownTimeoutMs: config.shutdownTimeoutMs, log, onListening: announce });
    } finally {
      tls?.dispose();
    }
  }

  const server = await startServer(config);
  if (isWorkerProcess()) {
    runWorker(server.url, server.stop, config.shutdownTimeoutMs, log);
  } else {
    tlsCertFile = server.tls?.certFile;
    adminKeyNote = describeAdminKey(server.app.control);
    announce(server.url);
    installShutdown(server, config.shutdownTimeoutMs, log);
  }
  return new Promise<number>(() => undefined); // runs until a signal
}

/** How the start-up lines show the admin key: printed when the store generated it, not echoed when given. */
function describeAdminKey(control: ControlPlane): string {
  return control.adminKeyGenerated ? `admin key: ${control.adminKey}` : 'admin key set by --admin-key';
}

async function token(v: Values): Promise<number> {
  const tid = str(v, 'tenant');
  if (!isGuid(tid)) throw new UsageError('--tenant GUID is required');
  const store = await openStore(storageFrom(v, false));
  try {
    const keys = await KeyRing.open(store, new SystemClock());
    const opts: MintOptions = { tenantId: tid.toLowerCase() };
    const roles = list(str(v, 'roles'));
    if (roles) opts.roles = roles;
    opts.scopes = list(str(v, 'scopes')) ?? [READ_WRITE_ALL];
    const upn = str(v, 'upn');
    if (upn) opts.upn = upn;
    const expiresIn = int(v, 'expires-in', -10 * 365 * 86400, 10 * 365 * 86400);
    if (expiresIn !== undefined) opts.expiresIn = expiresIn;
    const audience = str(v, 'audience');
    if (audience) opts.audience = audience;
    console.log(await mintAccessToken(keys, opts));
    return 0;
  } finally {
    await store.close();
  }
}

async function tenant(v: Values, positionals: string[]): Promise<number> {
  const tid = positionals[0];
  if (!isGuid(tid) || positionals.length !== 1) throw new UsageError('give exactly one tenant GUID');
  if ((v.licensed === true) === (v.unlicensed === true)) throw new UsageError('give --licensed or --unlicensed');
  const store = await openStore(storageFrom(v, false));
  try {
    await store.setTenantLicensed(tid.toLowerCase(), v.licensed === true);
    console.log(`tenant ${tid.toLowerCase()} is now ${v.licensed === true ? 'licensed' : 'unlicensed'}`);
    return 0;
  } finally {
    await store.close();
  }
}
