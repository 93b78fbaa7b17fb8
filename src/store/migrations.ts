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
  {
    version: 3,
    name: 'control plane: throttling counters, clock, fault rules, settings, enrolled devices',
    // The same SQL on both dialects: BIGINT has INTEGER affinity in SQLite.
    statements: () => [
      'CREATE TABLE throttle_counters (bucket TEXT PRIMARY KEY, window_start BIGINT NOT NULL, n BIGINT NOT NULL)',
      'CREATE TABLE clock_settings (id INTEGER PRIMARY KEY, frozen_us BIGINT, offset_us BIGINT NOT NULL)',
      'INSERT INTO clock_settings (id, frozen_us, offset_us) VALUES (1, NULL, 0)',
      'CREATE TABLE fault_rules (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, spec TEXT NOT NULL, hits BIGINT NOT NULL)',
      'CREATE TABLE control_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)',
      `CREATE TABLE enrolled_devices (
  device_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  serial_number TEXT,
  model TEXT,
  enrolled_us BIGINT NOT NULL
)`,
      'CREATE INDEX enrolled_devices_profile ON enrolled_devices (tenant_id, profile_id)',
    ],
  },
  {
    version: 4,
    name: 'PostgreSQL: notify tenant changes (instances cache licence state)',
    // Only the PostgreSQL store caches tenants (postgres-tenants.ts); the SQLite store reads the table.
    statements: (dialect) =>
      dialect !== 'postgres'
        ? []
        : [
            `CREATE FUNCTION enrollgraph_tenant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('enrollgraph_tenants', '*');
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('enrollgraph_tenants', OLD.tenant_id);
  ELSE
    PERFORM pg_notify('enrollgraph_tenants', NEW.tenant_id);
    IF TG_OP = 'UPDATE' AND OLD.tenant_id <> NEW.tenant_id THEN
      PERFORM pg_notify('enrollgraph_tenants', OLD.tenant_id);
    END IF;
  END IF;
  RETURN NULL;
END
$$`,
            'CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants FOR EACH ROW EXECUTE FUNCTION enrollgraph_tenant_changed()',
            'CREATE TRIGGER tenants_truncated AFTER TRUNCATE ON tenants FOR EACH STATEMENT EXECUTE FUNCTION enrollgraph_tenant_changed()',
          ],
  },
  {
    version: 5,
    name: 'displayName index carries createdDateTime (filtered pages sort without reading rows)',
    // A filtered page in the default order sorts the matching index entries by (created, id); with
    // created_us in the index that sort reads no table rows, and only the page's rows are fetched
    // (see compileSelect). The order of the first columns is unchanged, so $orderby=displayName too.
    statements: () => [
      `DROP INDEX ${profile.table}_name`,
      `CREATE INDEX ${profile.table}_name ON ${profile.table} (tenant_id, display_name, id, created_us)`,
    ],
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
