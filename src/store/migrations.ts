import { androidForWorkEnrollmentProfile as profile } from '../model/androidForWorkEnrollmentProfile.js';
import { createEntityTableSql, type Dialect } from './schema.js';

/**
 * Versioned schema migrations, applied in order at start and recorded in `schema_migrations`.
 * A migration, once released, never changes: add a new one instead.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  statements(dialect: Dialect): string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'profiles, signing keys, tenants',
    statements: (dialect) => [
      createEntityTableSql(profile, dialect, ['qr_png TEXT']),
      `CREATE UNIQUE INDEX ${profile.table}_token ON ${profile.table} (token_value)`,
      `CREATE INDEX ${profile.table}_order ON ${profile.table} (tenant_id, created_us, id)`,
      `CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  private_jwk TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  created_us ${dialect === 'postgres' ? 'BIGINT' : 'INTEGER'} NOT NULL
)`,
      `CREATE TABLE tenants (
  tenant_id TEXT PRIMARY KEY,
  licensed ${dialect === 'postgres' ? 'BOOLEAN' : 'INTEGER'} NOT NULL
)`,
    ],
  },
  {
    version: 2,
    name: 'index for displayName filters and order',
    statements: () => [`CREATE INDEX ${profile.table}_name ON ${profile.table} (tenant_id, display_name, id)`],
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
