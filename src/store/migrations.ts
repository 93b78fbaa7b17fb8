import type { Dialect } from '../model/codecs.js';

/**
 * Versioned schema migrations, applied in order at start and recorded in `schema_migrations`. Each
 * is literal SQL, frozen when released: a later change to the model never rewrites an old migration
 * (add a new one; test/unit/schema.test.ts fails while the model and the migrated schema differ).
 * PostgreSQL text columns of entity tables use the "C" collation: byte order, as SQLite compares
 * text, so `$orderby` and range filters answer the same on both stores.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: Readonly<Record<Dialect, readonly string[]>>;
}

/** The same statements on both dialects. */
const both = (statements: readonly string[]): Record<Dialect, readonly string[]> => ({ sqlite: statements, postgres: statements });

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'profiles, signing keys, tenants',
    sql: {
      sqlite: [
        `CREATE TABLE android_for_work_enrollment_profiles (
  id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  description TEXT,
  created_us INTEGER NOT NULL,
  modified_us INTEGER NOT NULL,
  token_value TEXT,
  token_expires_us INTEGER NOT NULL,
  enrolled_device_count INTEGER NOT NULL,
  qr_png TEXT,
  PRIMARY KEY (tenant_id, id)
)`,
        'CREATE UNIQUE INDEX android_for_work_enrollment_profiles_token ON android_for_work_enrollment_profiles (token_value)',
        'CREATE INDEX android_for_work_enrollment_profiles_order ON android_for_work_enrollment_profiles (tenant_id, created_us, id)',
        'CREATE TABLE signing_keys (\n  kid TEXT PRIMARY KEY,\n  private_jwk TEXT NOT NULL,\n  public_jwk TEXT NOT NULL,\n  created_us INTEGER NOT NULL\n)',
        'CREATE TABLE tenants (\n  tenant_id TEXT PRIMARY KEY,\n  licensed INTEGER NOT NULL\n)',
      ],
      postgres: [
        `CREATE TABLE android_for_work_enrollment_profiles (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL,
  display_name TEXT COLLATE "C" NOT NULL,
  description TEXT COLLATE "C",
  created_us BIGINT NOT NULL,
  modified_us BIGINT NOT NULL,
  token_value TEXT COLLATE "C",
  token_expires_us BIGINT NOT NULL,
  enrolled_device_count INTEGER NOT NULL,
  qr_png TEXT,
  PRIMARY KEY (tenant_id, id)
)`,
        'CREATE UNIQUE INDEX android_for_work_enrollment_profiles_token ON android_for_work_enrollment_profiles (token_value)',
        'CREATE INDEX android_for_work_enrollment_profiles_order ON android_for_work_enrollment_profiles (tenant_id, created_us, id)',
        'CREATE TABLE signing_keys (\n  kid TEXT PRIMARY KEY,\n  private_jwk TEXT NOT NULL,\n  public_jwk TEXT NOT NULL,\n  created_us BIGINT NOT NULL\n)',
        'CREATE TABLE tenants (\n  tenant_id TEXT PRIMARY KEY,\n  licensed BOOLEAN NOT NULL\n)',
      ],
    },
  },
  {
    version: 2,
    name: 'index for displayName filters and order',
    sql: both(['CREATE INDEX android_for_work_enrollment_profiles_name ON android_for_work_enrollment_profiles (tenant_id, display_name, id)']),
  },
  {
    version: 3,
    name: 'control plane: throttling counters, clock, fault rules, settings, enrolled devices',
    // BIGINT has INTEGER affinity in SQLite.
    sql: both([
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
    ]),
  },
  {
    version: 4,
    name: 'PostgreSQL: notify tenant changes (instances cache licence state)',
    // Only the PostgreSQL store caches tenants (postgres-tenants.ts).
    sql: {
      sqlite: [],
      postgres: [
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
  },
  {
    version: 5,
    name: 'displayName index carries createdDateTime (filtered pages sort without reading rows)',
    sql: both([
      'DROP INDEX android_for_work_enrollment_profiles_name',
      'CREATE INDEX android_for_work_enrollment_profiles_name ON android_for_work_enrollment_profiles (tenant_id, display_name, id, created_us)',
    ]),
  },
  {
    version: 6,
    name: 'token registry across every kind of profile; devices name the type of their profile',
    // A token value is unique across every entity that carries tokens (its primary key), and the
    // enrollment endpoint finds its holder in one lookup. A profile holds at most one token.
    sql: both([
      `CREATE TABLE enrollment_tokens (
  token_value TEXT PRIMARY KEY,
  entity TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  UNIQUE (entity, tenant_id, profile_id)
)`,
      `INSERT INTO enrollment_tokens (token_value, entity, tenant_id, profile_id)
  SELECT token_value, 'androidForWorkEnrollmentProfile', tenant_id, id FROM android_for_work_enrollment_profiles WHERE token_value IS NOT NULL`,
      "ALTER TABLE enrolled_devices ADD COLUMN profile_type TEXT NOT NULL DEFAULT 'androidForWorkEnrollmentProfile'",
    ]),
  },
  {
    version: 7,
    name: 'androidDeviceOwnerEnrollmentProfiles',
    sql: {
      sqlite: [
        `CREATE TABLE android_device_owner_enrollment_profiles (
  id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  description TEXT,
  enrollment_mode TEXT NOT NULL,
  enrollment_token_type TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  modified_us INTEGER NOT NULL,
  token_value TEXT,
  token_created_us INTEGER NOT NULL,
  token_expires_us INTEGER NOT NULL,
  enrolled_device_count INTEGER NOT NULL,
  token_usage_count INTEGER NOT NULL,
  qr_png TEXT,
  role_scope_tag_ids TEXT NOT NULL,
  configure_wifi INTEGER NOT NULL,
  wifi_ssid TEXT,
  wifi_password TEXT,
  wifi_security_type TEXT NOT NULL,
  wifi_hidden INTEGER NOT NULL,
  is_teams_device_profile INTEGER NOT NULL,
  device_name_template TEXT,
  PRIMARY KEY (tenant_id, id)
)`,
        'CREATE INDEX android_device_owner_enrollment_profiles_order ON android_device_owner_enrollment_profiles (tenant_id, created_us, id)',
        'CREATE INDEX android_device_owner_enrollment_profiles_expiry ON android_device_owner_enrollment_profiles (tenant_id, token_expires_us, id)',
      ],
      postgres: [
        `CREATE TABLE android_device_owner_enrollment_profiles (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL,
  display_name TEXT COLLATE "C" NOT NULL,
  description TEXT COLLATE "C",
  enrollment_mode TEXT COLLATE "C" NOT NULL,
  enrollment_token_type TEXT COLLATE "C" NOT NULL,
  created_us BIGINT NOT NULL,
  modified_us BIGINT NOT NULL,
  token_value TEXT COLLATE "C",
  token_created_us BIGINT NOT NULL,
  token_expires_us BIGINT NOT NULL,
  enrolled_device_count INTEGER NOT NULL,
  token_usage_count INTEGER NOT NULL,
  qr_png TEXT,
  role_scope_tag_ids TEXT NOT NULL,
  configure_wifi BOOLEAN NOT NULL,
  wifi_ssid TEXT COLLATE "C",
  wifi_password TEXT COLLATE "C",
  wifi_security_type TEXT COLLATE "C" NOT NULL,
  wifi_hidden BOOLEAN NOT NULL,
  is_teams_device_profile BOOLEAN NOT NULL,
  device_name_template TEXT COLLATE "C",
  PRIMARY KEY (tenant_id, id)
)`,
        'CREATE INDEX android_device_owner_enrollment_profiles_order ON android_device_owner_enrollment_profiles (tenant_id, created_us, id)',
        'CREATE INDEX android_device_owner_enrollment_profiles_expiry ON android_device_owner_enrollment_profiles (tenant_id, token_expires_us, id)',
      ],
    },
  },
  {
    version: 8,
    name: 'androidManagedStoreAccountEnterpriseSettings (one per tenant)',
    sql: {
      sqlite: [
        `CREATE TABLE android_managed_store_account_enterprise_settings (
  id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  bind_status TEXT NOT NULL,
  owner_upn TEXT,
  owner_organization TEXT,
  enterprise_type TEXT NOT NULL,
  last_app_sync_us INTEGER,
  last_app_sync_status TEXT NOT NULL,
  modified_us INTEGER,
  enrollment_target TEXT NOT NULL,
  target_group_ids TEXT NOT NULL,
  device_owner_management_enabled INTEGER NOT NULL,
  fully_managed_enrollment_enabled INTEGER NOT NULL,
  initial_scope_tag_ids TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
)`,
      ],
      postgres: [
        `CREATE TABLE android_managed_store_account_enterprise_settings (
  id TEXT COLLATE "C" NOT NULL,
  tenant_id TEXT COLLATE "C" NOT NULL,
  bind_status TEXT COLLATE "C" NOT NULL,
  owner_upn TEXT COLLATE "C",
  owner_organization TEXT COLLATE "C",
  enterprise_type TEXT COLLATE "C" NOT NULL,
  last_app_sync_us BIGINT,
  last_app_sync_status TEXT COLLATE "C" NOT NULL,
  modified_us BIGINT,
  enrollment_target TEXT COLLATE "C" NOT NULL,
  target_group_ids TEXT NOT NULL,
  device_owner_management_enabled BOOLEAN NOT NULL,
  fully_managed_enrollment_enabled BOOLEAN NOT NULL,
  initial_scope_tag_ids TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
)`,
      ],
    },
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
