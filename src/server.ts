import { resolve } from 'node:path';
import { buildApp, type App } from './app.js';
import type { Config, StorageConfig } from './config.js';
import { openSqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';

/** Opens the configured store, migrated and ready. */
export async function openStore(storage: StorageConfig): Promise<Store> {
  switch (storage.kind) {
    case 'sqlite':
      return openSqliteStore(resolve(storage.dataDir));
    case 'memory':
      return openSqliteStore(null);
    case 'postgres':
      throw new Error('The PostgreSQL store is not available yet; use --data DIR or --memory.');
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
  stop(): Promise<void>;
}

/** Opens the store, builds the app and listens. */
export async function startServer(config: Config): Promise<RunningServer> {
  const store = await openStore(config.storage);
  let app: App;
  try {
    app = await buildApp(config, { store });
  } catch (err) {
    await store.close();
    throw err;
  }
  await app.fastify.listen({ host: config.host, port: config.port });
  const addr = app.fastify.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let stopping: Promise<void> | undefined;
  return {
    app,
    url: `http://${host}:${port}`,
    stop: () => (stopping ??= app.close()),
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
