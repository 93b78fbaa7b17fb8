import { join, resolve } from 'node:path';

/** The database file's name in a data directory. Its own module: a start asks whether the file exists before it loads better-sqlite3. */
const SQLITE_FILE = 'enrollgraph.db';

/** The SQLite database file of a data directory. */
export function sqliteFile(dataDir: string): string {
  return join(resolve(dataDir), SQLITE_FILE);
}
