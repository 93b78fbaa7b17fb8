import { generateKeyPair, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { App } from './app.js';
import type { Config, StorageConfig } from './config.js';
import { sqliteFile } from './store/sqlite-file.js';
import type { Store } from './store/store.js';
import type { TlsMaterial } from './tls.js';

// The app (Fastify and all), the stores (better-sqlite3, pg) and node-forge (TLS) are imported when
// a start needs them: startServer begins making a new store's signing key before any of them loads,
// the CLI's other commands do not load the server, and a server on SQLite without TLS loads neither
// pg nor node-forge.

/** Opens the configured store, migrated and ready. */
export async function openStore(storage: StorageConfig): Promise<Store> {
  switch (storage.kind) {
    case 'sqlite':
    case 'memory': {
      const { openSqliteStore } = await import('./store/sqlite.js');
      return openSqliteStore(storage.kind === 'memory' ? null : resolve(storage.dataDir));
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./store/postgres.js');
      return openPostgresStore({
        url: storage.url,
        ...(storage.poolSize !== undefined ? { poolSize: storage.poolSize } : {}),
        ...(storage.timeoutMs !== undefined ? { timeoutMs: storage.timeoutMs } : {}),
      });
    }
  }
}

/**
 * Whether a server has already made this store (without creating anything): the SQLite file in
 * the data directory, or the migrations table in the PostgreSQL database. Throws when the database
 * cannot be reached.
 */
export async function storeExists(storage: StorageConfig): Promise<boolean> {
  switch (storage.kind) {
    case 'sqlite':
      return existsSync(sqliteFile(storage.dataDir));
    case 'memory':
      return false;
    case 'postgres': {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: storage.url, connectionTimeoutMillis: storage.timeoutMs ?? 5000 });
      client.on('error', () => undefined);
      await client.connect();
      try {
        const { rows } = await client.query<{ found: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS found");
        return rows[0]?.found === true;
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }
}

export function describeStorage(storage: StorageConfig): string {
  switch (storage.kind) {
    case 'sqlite':
      return `SQLite in ${resolve(storage.dataDir)}`;
    case 'memory':
      return 'in-memory SQLite (state is lost at exit)';
    case 'postgres':
      return `PostgreSQL at ${storage.url.replace(/\/\/[^@/]*@/, '//***@')}`;
  }
}

/** A store that has no signing key yet, for certain: in memory, or a data directory without its database. */
function isNewStore(storage: StorageConfig): boolean {
  return storage.kind === 'memory' || (storage.kind === 'sqlite' && !existsSync(sqliteFile(storage.dataDir)));
}

/** An RSA-2048 key pair, made on the thread pool. */
function newRsaKeyPair(): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return new Promise((done, fail) =>
    generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) => (err ? fail(err) : done({ publicKey, privateKey }))));
}

export interface RunningServer {
  app: App;
  url: string;
  /** With --tls: where the certificate's PEM is (for NODE_EXTRA_CA_CERTS) and whether Enrollgraph made it. */
  tls?: { certFile: string; generated: boolean; notAfter: Date };
  stop(): Promise<void>;
}

/** Opens the store, builds the app and listens. */
export async function startServer(config: Config): Promise<RunningServer> {
  // A new store needs a signing key: make its RSA pair (0.1 s or more) while the app's modules load and the app is built.
  const keyPair = isNewStore(config.storage) ? newRsaKeyPair() : undefined;
  keyPair?.catch(() => undefined); // awaited below, unless the start fails first
  // One import after the other (keys.js is app.js's already): jest's ESM loader fails on concurrent imports of one graph.
  const { buildApp } = await import('./app.js');
  const { newSigningKeyRecord } = await import('./identity/keys.js');
  const store = await openStore(config.storage);
  let tls: TlsMaterial | undefined;
  let app: App;
  try {
    // Once the store is open (migrated): with PostgreSQL a generated certificate is kept in it.
    tls = config.tls ? await (await import('./tls.js')).prepareTls(config.tls, config.storage) : undefined;
    // The key is stored only if the store still has none (another process may have just made the store too).
    const firstKey = keyPair && newSigningKeyRecord(Date.now() * 1000, keyPair);
    app = await buildApp(config, { store, ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}), ...(firstKey ? { firstKey } : {}) });
  } catch (err) {
    await store.close();
    tls?.dispose();
    throw err;
  }
  try {
    await app.fastify.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    tls?.dispose();
    throw err;
  }
  const addr = app.fastify.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let stopping: Promise<void> | undefined;
  return {
    app,
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    ...(tls ? { tls: { certFile: tls.certFile, generated: tls.generated, notAfter: tls.notAfter } } : {}),
    stop: () => (stopping ??= app.close().finally(() => tls?.dispose())),
  };
}

/**
 * Stops gracefully on SIGTERM/SIGINT: stop accepting, finish in-flight requests, close the database.
 * A second signal, or the timeout, exits at once.
 */
export function installShutdown(server: RunningServer, timeoutMs: number, log: (msg: string) => void): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(1);
    signalled = true;
    log(`${signal}: finishing in-flight requests`);
    const timer = setTimeout(() => {
      log('shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    server.stop().then(
      () => {
        log('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
