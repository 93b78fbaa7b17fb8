import { resolve } from 'node:path';
import { buildApp, type App } from './app.js';
import type { Config, StorageConfig } from './config.js';
import { openPostgresStore } from './store/postgres.js';
import { openSqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';
import { prepareTls, type TlsMaterial } from './tls.js';

/** Opens the configured store, migrated and ready. */
export async function openStore(storage: StorageConfig): Promise<Store> {
  switch (storage.kind) {
    case 'sqlite':
      return openSqliteStore(resolve(storage.dataDir));
    case 'memory':
      return openSqliteStore(null);
    case 'postgres':
      return openPostgresStore({
        url: storage.url,
        ...(storage.poolSize !== undefined ? { poolSize: storage.poolSize } : {}),
        ...(storage.timeoutMs !== undefined ? { timeoutMs: storage.timeoutMs } : {}),
      });
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

export interface RunningServer {
  app: App;
  url: string;
  /** With --tls: where the certificate's PEM is (for NODE_EXTRA_CA_CERTS) and whether Enrollgraph made it. */
  tls?: { certFile: string; generated: boolean; notAfter: Date };
  stop(): Promise<void>;
}

/** Opens the store, builds the app and listens. */
export async function startServer(config: Config): Promise<RunningServer> {
  const store = await openStore(config.storage);
  let tls: TlsMaterial | undefined;
  let app: App;
  try {
    // Once the store is open (migrated): with PostgreSQL a generated certificate is kept in it.
    tls = config.tls ? await prepareTls(config.tls, config.storage) : undefined;
    app = await buildApp(config, tls ? { store, tls: { cert: tls.cert, key: tls.key } } : { store });
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
