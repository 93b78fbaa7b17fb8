/**
 * PostgreSQL for tests: each caller gets a fresh database with a random name on the machine's server
 * (ENROLLGRAPH_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres) and drops it when
 * done. Databases left behind by a test process that died are dropped by the next one (their names
 * carry the creating process id), and those still open when a process ends are dropped on its way out.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.ENROLLGRAPH_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Which store the black-box suite runs on: ENROLLGRAPH_TEST_STORE=postgres, else SQLite. */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.ENROLLGRAPH_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

const PREFIX = 'enrollgraph_test_';

export interface TestDatabase {
  name: string;
  /** Connection URL of the database (through `host:port` when given, e.g. a proxy). */
  url: string;
  urlVia(host: string, port: number): string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 10_000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let swept = false;
let exitHook = false;
const open = new Set<TestDatabase>();

async function sweepStale(c: pg.Client): Promise<void> {
  if (swept) return;
  swept = true;
  const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'enrollgraph\\_test\\_%'");
  for (const { datname } of rows) {
    const pid = Number(/^enrollgraph_test_(\d+)_/.exec(datname)?.[1]);
    if (Number.isInteger(pid) && !alive(pid)) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
  }
}

/** Creates an empty database; `drop()` removes it (also closing connections still open to it). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `${PREFIX}${process.pid}_${randomBytes(5).toString('hex')}`;
  await admin(async (c) => {
    await sweepStale(c);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  const urlVia = (host: string, port: number) => {
    const u = new URL(PG_ADMIN_URL);
    u.hostname = host;
    u.port = String(port);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const base = new URL(PG_ADMIN_URL);
  base.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  const db: TestDatabase = {
    name,
    url: base.toString(),
    urlVia,
    drop: () =>
      (dropped ??= (async () => {
        open.delete(db);
        await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      })()),
  };
  if (!exitHook) {
    exitHook = true;
    process.once('beforeExit', () => void dropAll());
  }
  open.add(db);
  return db;
}

async function dropAll(): Promise<void> {
  await Promise.all([...open].map((db) => db.drop().catch(() => undefined)));
}
