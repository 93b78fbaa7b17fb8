/**
 * The `enrollgraph` command. Each command declares its flags once (a FlagTable: type, placeholder,
 * default, help); parsing, `--help`, environment variables and messages all come from that table.
 * Heavy modules (the server, the store drivers) are imported by the command that needs them, so
 * `--help` and `token --url` stay quick and `serve` starts loading only what its start needs.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConfigError, DEFAULT_DATA_DIR, ENV_ALIASES, envName, intSetting, serveConfig, SERVE_FLAGS, STORAGE_FLAGS, STORAGE_GROUP, storageFrom,
  type Config, type FlagTable, type Settings, type StorageConfig,
} from './config.js';
import type { ControlPlane } from './control/plane.js';

const READ_WRITE_ALL = 'DeviceManagementConfiguration.ReadWrite.All';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Command {
  summary: string;
  usage: string;
  flags: FlagTable;
  /** Flags of which the command line and the environment each choose one: a choice on the command line drops the environment's. */
  group?: readonly string[];
  positionals?: string;
  run(s: Settings, positionals: string[]): Promise<number>;
}

const TOKEN_FLAGS: FlagTable = {
  tenant: { type: 'string', value: 'GUID', help: 'the tenant (tid) of the token; required' },
  scopes: { type: 'string', value: '"S1 S2"', default: READ_WRITE_ALL, help: 'delegated scopes (scp), space or comma separated' },
  roles: { type: 'string', value: '"R1 R2"', help: 'application permissions (roles): makes an app-only token' },
  upn: { type: 'string', value: 'UPN', default: 'admin@contoso.onmicrosoft.com', help: "the user's name on a delegated token" },
  'expires-in': { type: 'string', value: 'S', default: '3600', help: 'lifetime in seconds; negative mints an already-expired token' },
  audience: { type: 'string', value: 'AUD', default: 'https://graph.microsoft.com', help: 'another audience, for tests of refusal' },
  url: { type: 'string', value: 'URL', help: "mint through the running server at URL (any store, --memory too), on the server's clock" },
  'admin-key': { type: 'string', value: 'KEY', help: 'the admin key of the --url server' },
  ...STORAGE_FLAGS,
};

const TENANT_FLAGS: FlagTable = {
  licensed: { type: 'boolean', help: "the tenant's Graph calls work (the default for any tenant)" },
  unlicensed: { type: 'boolean', help: 'every Graph call of the tenant gets 400 "Request not applicable to target tenant."' },
  ...STORAGE_FLAGS,
};

/** The flags of enroll-cli.ts (ENROLL_OPTIONS) with what help says; test/blackbox/cli.test.ts keeps the two in step. */
export const ENROLL_FLAGS: FlagTable = {
  token: { type: 'string', value: 'T', help: "the enrollment token (the profile's tokenValue); required" },
  url: { type: 'string', value: 'URL', default: 'http://127.0.0.1:8080', help: 'the server' },
  serial: { type: 'string', value: 'S', help: "the device's serial number" },
  model: { type: 'string', value: 'M', help: "the device's model" },
};

/** The flags of authority/cli.ts (IDENTITIES_OPTIONS) with what help says. */
export const IDENTITIES_FLAGS: FlagTable = {
  identities: { type: 'string', value: 'FILE', help: 'the identity file (JSON, or YAML for .yaml/.yml); created when missing; required' },
  id: { type: 'string', value: 'GUID', help: 'add-tenant: the tenant id' },
  domains: { type: 'string', value: '"D1 D2"', help: "add-tenant: the tenant's domain names" },
  licensed: { type: 'boolean', help: 'add-tenant: the tenant is licensed' },
  unlicensed: { type: 'boolean', help: 'add-tenant: the tenant is unlicensed (its Graph calls get 400)' },
  name: { type: 'string', value: 'N', help: 'a display name' },
  'client-id': { type: 'string', value: 'ID', default: 'a new GUID', help: "add-app: the app's client id" },
  secret: { type: 'string', value: 'S', default: 'generated and printed', help: "add-app: the app's client secret" },
  public: { type: 'boolean', help: 'add-app: a public client (password grant without a secret)' },
  tenant: { type: 'string', value: 'T', help: 'add-app: only this tenant; add-user: the user\'s tenant (GUID or domain)' },
  roles: { type: 'string', value: '"R1 R2"', help: 'add-app: application permissions granted (client credentials)' },
  scopes: { type: 'string', value: '"S1 S2"', help: 'add-app: admin-consented delegated scopes; add-user: scopes the user consented to' },
  upn: { type: 'string', value: 'UPN', help: "add-user: the user's name" },
  password: { type: 'string', value: 'P', help: "add-user: the user's password" },
  'object-id': { type: 'string', value: 'GUID', default: 'a new GUID', help: "add-user: the user's object id (oid)" },
};

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'serve Microsoft Graph, the OAuth authority, the control API and the web console',
    usage: 'enrollgraph serve [flags]',
    flags: SERVE_FLAGS,
    group: STORAGE_GROUP,
    run: serve,
  },
  token: {
    summary: 'print an access token that a server on the same store (or the --url server) accepts',
    usage: 'enrollgraph token --tenant GUID [flags] [--url URL --admin-key KEY | --data DIR | --database URL]',
    flags: TOKEN_FLAGS,
    group: ['url', ...STORAGE_GROUP],
    run: token,
  },
  tenant: {
    summary: 'mark a tenant licensed or unlicensed in a store',
    usage: 'enrollgraph tenant GUID (--unlicensed | --licensed) [--data DIR | --database URL]',
    flags: TENANT_FLAGS,
    group: STORAGE_GROUP,
    positionals: 'GUID',
    run: tenant,
  },
  'admin-key': {
    summary: "print the control API's admin key kept in a store",
    usage: 'enrollgraph admin-key [--data DIR | --database URL]',
    flags: STORAGE_FLAGS,
    group: STORAGE_GROUP,
    run: adminKey,
  },
  enroll: {
    summary: 'enroll a simulated device with an enrollment token, as a device that scanned the QR code does',
    usage: 'enrollgraph enroll --token T [--url URL] [--serial S] [--model M]',
    flags: ENROLL_FLAGS,
    run: async (s) => (await import('./enrollment/enroll-cli.js')).runEnroll(s.values),
  },
  identities: {
    summary: "edit the local authority's identity file (tenants, apps, users)",
    usage: `enrollgraph identities add-tenant --identities FILE --id GUID [--domains "D1 D2"] [--unlicensed | --licensed] [--name N]
       enrollgraph identities add-app --identities FILE [--client-id ID] [--secret S | --public] [--tenant T] [--roles "R1 R2"] [--scopes "S1 S2"] [--name N]
       enrollgraph identities add-user --identities FILE --upn UPN --password P --tenant T [--object-id GUID] [--scopes "S1 S2"] [--name N]
       enrollgraph identities show --identities FILE`,
    flags: IDENTITIES_FLAGS,
    positionals: 'add-tenant|add-app|add-user|show',
    run: async (s, positionals) => (await import('./authority/cli.js')).runIdentities(s.values, positionals),
  },
};

/** A mistake in how the command was called: exit code 2. */
class UsageError extends Error {}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** `enrollgraph <command> …`; returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    console.log(generalHelp());
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(version());
    return 0;
  }
  if (name === 'help') return main([rest[0]!, '--help'], env);
  const command = COMMANDS[name];
  if (!command) {
    console.error(`enrollgraph: unknown command '${name}'${didYouMean(name, Object.keys(COMMANDS))}\nRun 'enrollgraph --help' for the commands.`);
    return 2;
  }
  try {
    const args = joinNegativeValues(rest, command.flags);
    if (args.includes('--help') || args.includes('-h')) {
      console.log(commandHelp(name, command));
      return 0;
    }
    const { values, positionals } = parse(name, command, args);
    if (positionals.length > 0 && command.positionals === undefined) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    return await command.run(withEnv(values, command, env), positionals);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`enrollgraph ${name}: ${msg}`);
    if (err instanceof UsageError || err instanceof ConfigError) {
      console.error(`usage: ${command.usage}\nRun 'enrollgraph ${name} --help' for its flags.`);
      return 2;
    }
    return 1;
  }
}

/** parseArgs, with messages that name the flag and suggest the closest one. */
function parse(name: string, command: Command, args: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const options = Object.fromEntries(Object.entries(command.flags).map(([k, f]) => [k, { type: f.type }]));
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name in command.flags) continue;
    throw new UsageError(`unknown flag '${t.rawName}'${didYouMean(t.name, Object.keys(command.flags), '--')}`);
  }
  try {
    const r = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    const m = /^Option '(?:-\w, )?--([\w-]+)/.exec((err as Error).message);
    const flag = m?.[1];
    if (flag && command.flags[flag]?.type === 'string') throw new UsageError(`--${flag} needs a value: --${flag} ${command.flags[flag]!.value ?? 'VALUE'}`);
    if (flag && command.flags[flag]?.type === 'boolean') throw new UsageError(`--${flag} takes no value`);
    throw new UsageError(`${(err as Error).message} (in 'enrollgraph ${name}')`);
  }
}

/**
 * The environment under the command line: a flag not given is read from its ENROLLGRAPH_* variable.
 * Of the command's choice group (where state lives), a choice on the command line drops the
 * environment's, so `--memory` runs in memory even with ENROLLGRAPH_DATA set.
 */
function withEnv(given: Record<string, string | boolean | undefined>, command: Command, env: NodeJS.ProcessEnv): Settings {
  const values: Settings['values'] = {};
  const sources: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) {
    values[k] = v;
    sources[k] = `--${k}`;
  }
  const chosenOnCommandLine = (command.group ?? []).some((k) => given[k] !== undefined);
  for (const [flag, spec] of Object.entries(command.flags)) {
    if (values[flag] !== undefined || (chosenOnCommandLine && command.group?.includes(flag))) continue;
    const variable = [envName(flag), ...(ENV_ALIASES[flag] ?? [])].find((n) => env[n] !== undefined && env[n] !== '');
    if (variable === undefined) continue;
    const text = env[variable]!;
    if (spec.type === 'boolean') {
      if (/^(1|true|yes|on)$/i.test(text)) values[flag] = true;
      else if (!/^(0|false|no|off)$/i.test(text)) throw new UsageError(`${variable} must be true or false (1/0, yes/no, on/off), got '${text}'`);
    } else {
      values[flag] = text;
    }
    if (values[flag] !== undefined) sources[flag] = variable;
  }
  return { values, source: (flag) => sources[flag] ?? `--${flag}` };
}

/** ` (did you mean '--port'?)` for the closest candidate within a few edits, else ''. */
export function didYouMean(input: string, candidates: string[], prefix = ''): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(input.length / 3)) + 1;
  for (const c of candidates) {
    const d = c.startsWith(input) && input.length >= 3 ? 1 : editDistance(input, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best === undefined ? '' : ` (did you mean '${prefix}${best}'?)`;
}

/** Edits (insert, delete, substitute, swap two neighbours) that turn a into b. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** `--expires-in -60` → `--expires-in=-60`: parseArgs would otherwise read `-60` as a flag. */
function joinNegativeValues(args: string[], flags: FlagTable): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (a.startsWith('--') && flags[a.slice(2)]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function generalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 3;
  return `Enrollgraph ${version()} — a Microsoft Graph server for Intune Android Enterprise enrollment profiles.

Usage: enrollgraph <command> [flags]

Commands:
${Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}${c.summary}`).join('\n')}

Run 'enrollgraph <command> --help' for the flags of a command. Every flag can also be set by an
environment variable (--public-url: ENROLLGRAPH_PUBLIC_URL); a flag on the command line wins.
'enrollgraph --version' prints the version.`;
}

/** A command's help: every flag with its variable and default. */
export function commandHelp(name: string, command: Command): string {
  const lines = [`enrollgraph ${name} — ${command.summary}`, '', `Usage: ${command.usage}`, '', 'Flags (each also read from its environment variable; a flag on the command line wins):'];
  for (const [flag, f] of Object.entries(command.flags)) {
    const variables = [envName(flag), ...(ENV_ALIASES[flag] ?? [])].join(' or ');
    lines.push(`  --${flag}${f.value ? ` ${f.value}` : ''}`.padEnd(32) + ` ${variables}${f.default !== undefined ? `, default ${f.default}` : ''}`);
    lines.push(`      ${f.help}`);
  }
  lines.push('  -h, --help'.padEnd(32) + ' show this help');
  return lines.join('\n');
}

function str(s: Settings, key: string): string | undefined {
  const x = s.values[key];
  return typeof x === 'string' ? x : undefined;
}

function list(text: string | undefined): string[] | undefined {
  return text === undefined ? undefined : text.split(/[\s,]+/).filter(Boolean);
}

/** Runs a config step, turning its errors into usage errors. */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

async function serve(s: Settings): Promise<number> {
  const config: Config = usage(() => serveConfig(s));
  const workers = usage(() => intSetting(s, 'workers', 1, 256)) ?? 1;
  if (workers > 1 && config.storage.kind === 'memory') throw new UsageError(`${s.source('workers')} needs a store the workers share: --data or --database, not --memory`);
  // server.js loads nothing but node's own modules: startServer begins making the signing key before the app loads.
  const [{ startServer, installShutdown, openStore, describeStorage }, { isWorkerProcess, runPrimary, runWorker }] = await Promise.all([
    import('./server.js'),
    import('./cluster.js'),
  ]);

  const log = config.logLevel === 'silent' ? () => undefined : (msg: string) => console.error(`enrollgraph: ${msg}`);
  let adminKeyNote = '';
  let tlsCertFile: string | undefined;
  const announce = (url: string) => {
    log(`serving Microsoft Graph on ${url}/v1.0 and ${url}/beta`);
    log(`console on ${url}/console/`);
    log(`store: ${describeStorage(config.storage)}${workers > 1 ? `; ${workers} worker processes` : ''}`);
    if (config.allowAppOnly) log('app-only tokens are accepted (--allow-app-only)');
    if (tlsCertFile !== undefined) log(`TLS certificate: ${tlsCertFile} (clients trust it with NODE_EXTRA_CA_CERTS=${tlsCertFile})`);
    log(`OAuth authority on ${url}/{tenant}/oauth2/v2.0/token, ${describeAuthority(config.identitiesFile)}`);
    if (config.identitiesFile === undefined) log('WARNING: the token endpoint is open to anyone who can reach this server (no --identities FILE)');
    const t = config.control.throttling;
    log(t.enabled
      ? `throttling on: per tenant ${t.tenantWrites} writes and ${t.tenantRequests} requests, per app ${t.appWrites} writes and ${t.appRequests} requests, per ${t.windowSeconds} s window`
      : 'throttling off');
    log(`control API on ${url}/_admin/ (Authorization: Bearer <admin key>)`);
    log(adminKeyNote);
  };
  const keyNote = (control: ControlPlane) => describeAdminKey(control, config.storage, s.source('admin-key'));

  if (workers > 1 && !isWorkerProcess()) {
    // Migrate and create the signing key (and the TLS certificate) once, before the workers open the store.
    const [{ KeyRing }, { ControlPlane }, { SystemClock }] = await Promise.all([import('./identity/keys.js'), import('./control/plane.js'), import('./time.js')]);
    let tls: import('./tls.js').TlsMaterial | undefined;
    const store = await openStore(config.storage);
    try {
      await KeyRing.open(store, new SystemClock());
      // The admin key and the seed, once, before the workers start.
      const control = await ControlPlane.open(store, config.storage, config.control);
      adminKeyNote = keyNote(control);
      await control.close();
      // Each worker then loads the same certificate (data directory or database); the primary prints
      // its own copy of the PEM (a temporary file with PostgreSQL, removed when the primary stops).
      if (config.tls) tls = await (await import('./tls.js')).prepareTls(config.tls, config.storage);
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
    adminKeyNote = keyNote(server.app.control);
    announce(server.url);
    installShutdown(server, config.shutdownTimeoutMs, log);
  }
  return new Promise<number>(() => undefined); // runs until a signal
}

/** How the authority runs, for the start banner. */
function describeAuthority(identitiesFile: string | undefined): string {
  return identitiesFile === undefined
    ? 'OPEN (no --identities file): any client id and secret, any user and password, in any tenant, get tokens; ' +
        '`.default` grants DeviceManagementConfiguration.ReadWrite.All. Use --identities FILE outside a test bench.'
    : `strict: only the tenants, apps and users of ${identitiesFile}`;
}

/** The start-up line about the admin key: the key itself only when this start generated it. */
function describeAdminKey(control: ControlPlane, storage: StorageConfig, source: string): string {
  if (control.config.adminKey !== undefined) return `the admin key is the one given by ${source}`;
  if (!control.adminKeyGenerated) return `the admin key is kept in the store (print it with: enrollgraph admin-key ${storeArgs(storage)})`;
  if (storage.kind === 'memory') return `admin key: ${control.adminKey} (generated for this in-memory store)`;
  return `admin key: ${control.adminKey} (generated and kept in the store; printed only now: 'enrollgraph admin-key ${storeArgs(storage)}' prints it again)`;
}

function storeArgs(storage: StorageConfig): string {
  if (storage.kind === 'sqlite') return `--data ${storage.dataDir}`;
  if (storage.kind === 'postgres') return `--database ${storage.url.replace(/\/\/[^@/]*@/, '//***@')}`;
  return '--memory';
}

/**
 * Opens a store a server has made before, for the commands that work on one offline; a store that
 * does not exist is an error (exit 1), and nothing is created.
 */
async function openExistingStore(storage: StorageConfig) {
  const { openStore, storeExists } = await import('./server.js');
  if (!(await storeExists(storage))) {
    const where = storage.kind === 'sqlite'
      ? `${resolve(storage.dataDir)}${storage.dataDir === DEFAULT_DATA_DIR ? ' (the default --data, in this folder)' : ''}`
      : storeArgs(storage).replace(/^--database /, '');
    throw new Error(`no Enrollgraph store in ${where}: a server makes it at its first start ('enrollgraph serve ${storeArgs(storage)}'); to mint through a running server, give --url URL`);
  }
  return openStore(storage);
}

async function token(s: Settings): Promise<number> {
  const tid = str(s, 'tenant');
  if (tid === undefined) throw new UsageError('--tenant GUID is required');
  if (!GUID.test(tid)) throw new UsageError(`${s.source('tenant')} must be a tenant GUID, got '${tid}'`);
  const expiresIn = usage(() => intSetting(s, 'expires-in', -10 * 365 * 86400, 10 * 365 * 86400));
  const request = {
    tenant: tid.toLowerCase(),
    ...(str(s, 'roles') !== undefined ? { roles: list(str(s, 'roles')) } : { scopes: list(str(s, 'scopes')) ?? [READ_WRITE_ALL] }),
    ...(str(s, 'upn') ? { upn: str(s, 'upn') } : {}),
    ...(expiresIn !== undefined ? { expiresIn } : {}),
    ...(str(s, 'audience') ? { audience: str(s, 'audience') } : {}),
  };
  const url = str(s, 'url');
  if (url !== undefined) {
    for (const k of STORAGE_GROUP) if (s.values[k] !== undefined && s.source(k).startsWith('--')) throw new UsageError(`give --url or --${k}, not both`);
    console.log(await mintRemotely(url.replace(/\/+$/, ''), request, s));
    return 0;
  }
  if (s.values['admin-key'] !== undefined && s.source('admin-key').startsWith('--')) throw new UsageError('--admin-key goes with --url');
  const storage = usage(() => storageFrom(s, { memory: 'a server on --memory keeps its keys to itself: mint through it with --url URL' }));
  const store = await openExistingStore(storage);
  try {
    const [{ KeyRing }, { mintAccessToken }, { ControllableClock }] = await Promise.all([
      import('./identity/keys.js'), import('./identity/mint.js'), import('./clock.js'),
    ]);
    // The servers' clock (set or frozen through /_admin/clock) is kept in the store: mint on it.
    const control = await store.openControlStore();
    const clock = new ControllableClock();
    try {
      clock.apply(await control.getClock());
    } finally {
      await control.close();
    }
    const keys = await KeyRing.open(store, clock);
    const { tenant: tenantId, ...rest } = request;
    console.log(await mintAccessToken(keys, { tenantId, ...rest, nowSeconds: Math.floor(clock.nowUs() / 1e6) }));
    return 0;
  } finally {
    await store.close();
  }
}

/** `POST URL/_admin/tokens`: the server mints the token with its keys, on its clock. */
async function mintRemotely(url: string, request: Record<string, unknown>, s: Settings): Promise<string> {
  const key = str(s, 'admin-key');
  if (key === undefined) throw new UsageError("--url needs the server's admin key: --admin-key KEY or ENROLLGRAPH_ADMIN_KEY (the server prints it at its first start)");
  let res: Response;
  try {
    res = await fetch(`${url}/_admin/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new Error(`cannot reach ${url} (${s.source('url')}): ${cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (res.status === 401) throw new Error(`${url} refused the admin key (${s.source('admin-key')})`);
  let body: { accessToken?: string; error?: { message?: string } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: not an Enrollgraph server, reported below
  }
  if (!res.ok || typeof body.accessToken !== 'string') {
    throw new Error(`${url} answered ${res.status}${body.error?.message ? `: ${body.error.message}` : ' (is it an Enrollgraph server?)'}`);
  }
  return body.accessToken;
}

async function tenant(s: Settings, positionals: string[]): Promise<number> {
  const tid = positionals[0];
  if (tid === undefined || !GUID.test(tid) || positionals.length !== 1) throw new UsageError('give exactly one tenant GUID');
  if ((s.values.licensed === true) === (s.values.unlicensed === true)) throw new UsageError('give --licensed or --unlicensed');
  const store = await openExistingStore(usage(() => storageFrom(s, { memory: 'an in-memory store is the server\'s own: use PUT /_admin/tenants/{tid} on it' })));
  try {
    await store.setTenantLicensed(tid.toLowerCase(), s.values.licensed === true);
    console.log(`tenant ${tid.toLowerCase()} is now ${s.values.licensed === true ? 'licensed' : 'unlicensed'}`);
    return 0;
  } finally {
    await store.close();
  }
}

async function adminKey(s: Settings): Promise<number> {
  const storage = usage(() => storageFrom(s, { memory: 'a server on --memory prints its admin key when it starts' }));
  const store = await openExistingStore(storage);
  try {
    const control = await store.openControlStore();
    try {
      const key = await control.getAdminKey();
      if (key === undefined) throw new Error('the store has no admin key yet: a server makes one at its first start');
      console.log(key);
      return 0;
    } finally {
      await control.close();
    }
  } finally {
    await store.close();
  }
}
