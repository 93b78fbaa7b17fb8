import {
  accountIdProperty, createdDateTimeProperty, createTokenAction, enrolledDeviceCountProperty, idProperty, lastModifiedDateTimeProperty,
  qrCodeContentProperty, qrCodeImageProperty, revokeTokenAction, tokenExpirationDateTimeProperty, tokenValueProperty,
} from './common.js';
import type { EntityDef, EntityRecord, EnumTypeDef } from './edm.js';

export const androidDeviceOwnerEnrollmentMode = {
  name: 'androidDeviceOwnerEnrollmentMode',
  members: [
    ['corporateOwnedDedicatedDevice', 0], ['corporateOwnedFullyManaged', 1], ['corporateOwnedWorkProfile', 2],
    ['corporateOwnedAOSPUserlessDevice', 3], ['corporateOwnedAOSPUserAssociatedDevice', 4],
  ],
} as const satisfies EnumTypeDef;

export const androidDeviceOwnerEnrollmentTokenType = {
  name: 'androidDeviceOwnerEnrollmentTokenType',
  members: [['default', 0], ['corporateOwnedDedicatedDeviceWithAzureADSharedMode', 1], ['deviceStaging', 2]],
} as const satisfies EnumTypeDef;

export const aospWifiSecurityType = {
  name: 'aospWifiSecurityType',
  members: [['none', 0], ['wpa', 1], ['wep', 2]],
} as const satisfies EnumTypeDef;

/**
 * `microsoft.graph.androidDeviceOwnerEnrollmentProfile` (beta only): types and nullability as
 * Microsoft's CSDL, defaults as the reference pages state (SPEC §6). Behaviour per enrollment mode
 * (token caps, QR payloads, the `AOSP-` key): src/enrollment/androidDeviceOwner.ts.
 */
export const androidDeviceOwnerEnrollmentProfile = {
  typeName: 'androidDeviceOwnerEnrollmentProfile',
  exposed: 'collection',
  setName: 'androidDeviceOwnerEnrollmentProfiles',
  versions: ['beta'],
  table: 'android_device_owner_enrollment_profiles',
  snapshotKey: 'deviceOwnerProfiles',
  properties: [
    idProperty,
    accountIdProperty,
    {
      name: 'displayName', type: 'Edm.String', nullable: true, writer: 'client', required: true,
      minLength: 1, maxLength: 256, filterable: true, sortable: true,
      column: { name: 'display_name', sql: 'text', notNull: true },
    },
    {
      name: 'description', type: 'Edm.String', nullable: true, writer: 'client', maxLength: 1024, filterable: true, sortable: true,
      column: { name: 'description', sql: 'text', notNull: false },
    },
    {
      name: 'enrollmentMode', type: 'graph.androidDeviceOwnerEnrollmentMode', enum: androidDeviceOwnerEnrollmentMode, nullable: false,
      writer: 'client', required: true, filterable: true,
      column: { name: 'enrollment_mode', sql: 'text', notNull: true },
    },
    {
      name: 'enrollmentTokenType', type: 'graph.androidDeviceOwnerEnrollmentTokenType', enum: androidDeviceOwnerEnrollmentTokenType,
      nullable: false, writer: 'client', default: 'default', filterable: true,
      column: { name: 'enrollment_token_type', sql: 'text', notNull: true },
    },
    createdDateTimeProperty,
    lastModifiedDateTimeProperty,
    tokenValueProperty,
    {
      name: 'tokenCreationDateTime', role: 'tokenCreated', type: 'Edm.DateTimeOffset', nullable: false, writer: 'server',
      default: '0001-01-01T00:00:00Z', filterable: true, sortable: true,
      column: { name: 'token_created_us', sql: 'bigint', notNull: true },
    },
    tokenExpirationDateTimeProperty,
    enrolledDeviceCountProperty,
    {
      name: 'enrollmentTokenUsageCount', role: 'tokenUsage', type: 'Edm.Int32', nullable: false, writer: 'server', default: 0,
      filterable: true, sortable: true,
      column: { name: 'token_usage_count', sql: 'int', notNull: true },
    },
    qrCodeContentProperty,
    qrCodeImageProperty,
    {
      name: 'roleScopeTagIds', type: 'Collection(Edm.String)', nullable: true, writer: 'client', default: ['0'], maxItems: 100, maxLength: 256,
      column: { name: 'role_scope_tag_ids', sql: 'text', notNull: true },
    },
    {
      name: 'configureWifi', type: 'Edm.Boolean', nullable: false, writer: 'client', default: true, filterable: true, sortable: true,
      column: { name: 'configure_wifi', sql: 'bool', notNull: true },
    },
    {
      name: 'wifiSsid', type: 'Edm.String', nullable: true, writer: 'client', maxLength: 32, filterable: true, sortable: true,
      column: { name: 'wifi_ssid', sql: 'text', notNull: false },
    },
    {
      name: 'wifiPassword', type: 'Edm.String', nullable: true, writer: 'client', maxLength: 63,
      column: { name: 'wifi_password', sql: 'text', notNull: false },
    },
    {
      name: 'wifiSecurityType', type: 'graph.aospWifiSecurityType', enum: aospWifiSecurityType, nullable: false, writer: 'client',
      default: 'none', filterable: true,
      column: { name: 'wifi_security_type', sql: 'text', notNull: true },
    },
    {
      name: 'wifiHidden', type: 'Edm.Boolean', nullable: false, writer: 'client', default: false, filterable: true, sortable: true,
      column: { name: 'wifi_hidden', sql: 'bool', notNull: true },
    },
    {
      name: 'isTeamsDeviceProfile', type: 'Edm.Boolean', nullable: false, writer: 'client', default: false, filterable: true, sortable: true,
      column: { name: 'is_teams_device_profile', sql: 'bool', notNull: true },
    },
    {
      name: 'deviceNameTemplate', type: 'Edm.String', nullable: true, writer: 'client', maxLength: 63, filterable: true, sortable: true,
      column: { name: 'device_name_template', sql: 'text', notNull: false },
    },
  ],
  actions: [createTokenAction, revokeTokenAction],
} as const satisfies EntityDef;

export type AndroidDeviceOwnerEnrollmentProfile = EntityRecord<typeof androidDeviceOwnerEnrollmentProfile>;
