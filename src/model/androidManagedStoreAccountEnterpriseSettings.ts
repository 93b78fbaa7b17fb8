import { mimeContent } from './common.js';
import type { ActionDef, ComplexTypeDef, EntityDef, EntityRecord, EnumTypeDef } from './edm.js';

export const androidManagedStoreAccountBindStatus = {
  name: 'androidManagedStoreAccountBindStatus',
  members: [['notBound', 0], ['bound', 1], ['boundAndValidated', 2], ['unbinding', 3]],
} as const satisfies EnumTypeDef;

export const androidManagedStoreAccountAppSyncStatus = {
  name: 'androidManagedStoreAccountAppSyncStatus',
  members: [['success', 0], ['credentialsNotValid', 1], ['androidForWorkApiError', 2], ['managementServiceError', 3], ['unknownError', 4], ['none', 5]],
} as const satisfies EnumTypeDef;

export const androidManagedStoreAccountEnrollmentTarget = {
  name: 'androidManagedStoreAccountEnrollmentTarget',
  members: [['none', 0], ['all', 1], ['targeted', 2], ['targetedAsEnrollmentRestrictions', 3]],
} as const satisfies EnumTypeDef;

export const managedGooglePlayEnterpriseType = {
  name: 'managedGooglePlayEnterpriseType',
  members: [['enterpriseTypeUnspecified', 0], ['managedGoogleDomain', 1], ['managedGooglePlayAccountsEnterprise', 2], ['unknownFutureValue', 3]],
} as const satisfies EnumTypeDef;

export const androidEnrollmentCompanyCode = {
  name: 'androidEnrollmentCompanyCode',
  properties: [
    { name: 'enrollmentToken', type: 'Edm.String' },
    { name: 'qrCodeContent', type: 'Edm.String' },
    { name: 'qrCodeImage', type: 'graph.mimeContent', complex: mimeContent },
  ],
} as const satisfies ComplexTypeDef;

const action = (name: string, parameters: ActionDef['parameters'] = [], returns?: string): ActionDef =>
  ({ name, writes: true, parameters, ...(returns ? { returns } : {}) });

/**
 * `microsoft.graph.androidManagedStoreAccountEnterpriseSettings` (beta only): the tenant's Managed
 * Google Play binding, one per tenant (a single-valued navigation property of deviceManagement).
 * Types and nullability as Microsoft's CSDL; the binding flow is src/enrollment/managedPlay.ts.
 */
export const androidManagedStoreAccountEnterpriseSettings = {
  typeName: 'androidManagedStoreAccountEnterpriseSettings',
  exposed: 'singleton',
  setName: 'androidManagedStoreAccountEnterpriseSettings',
  versions: ['beta'],
  table: 'android_managed_store_account_enterprise_settings',
  snapshotKey: 'managedStoreSettings',
  properties: [
    { name: 'id', type: 'Edm.String', nullable: false, writer: 'server', column: { name: 'id', sql: 'text', notNull: true } },
    {
      name: 'bindStatus', type: 'graph.androidManagedStoreAccountBindStatus', enum: androidManagedStoreAccountBindStatus, nullable: false,
      writer: 'server', default: 'boundAndValidated', column: { name: 'bind_status', sql: 'text', notNull: true },
    },
    { name: 'ownerUserPrincipalName', type: 'Edm.String', nullable: true, writer: 'server', column: { name: 'owner_upn', sql: 'text', notNull: false } },
    { name: 'ownerOrganizationName', type: 'Edm.String', nullable: true, writer: 'server', column: { name: 'owner_organization', sql: 'text', notNull: false } },
    {
      name: 'managedGooglePlayEnterpriseType', type: 'graph.managedGooglePlayEnterpriseType', enum: managedGooglePlayEnterpriseType,
      nullable: false, writer: 'server', default: 'managedGoogleDomain', column: { name: 'enterprise_type', sql: 'text', notNull: true },
    },
    { name: 'lastAppSyncDateTime', type: 'Edm.DateTimeOffset', nullable: true, writer: 'server', column: { name: 'last_app_sync_us', sql: 'bigint', notNull: false } },
    {
      name: 'lastAppSyncStatus', type: 'graph.androidManagedStoreAccountAppSyncStatus', enum: androidManagedStoreAccountAppSyncStatus,
      nullable: false, writer: 'server', default: 'none', column: { name: 'last_app_sync_status', sql: 'text', notNull: true },
    },
    {
      name: 'lastModifiedDateTime', role: 'modified', type: 'Edm.DateTimeOffset', nullable: true, writer: 'server',
      column: { name: 'modified_us', sql: 'bigint', notNull: false },
    },
    {
      name: 'enrollmentTarget', type: 'graph.androidManagedStoreAccountEnrollmentTarget', enum: androidManagedStoreAccountEnrollmentTarget,
      nullable: false, writer: 'client', default: 'none', column: { name: 'enrollment_target', sql: 'text', notNull: true },
    },
    {
      name: 'targetGroupIds', type: 'Collection(Edm.String)', nullable: true, writer: 'client', default: [], maxItems: 100, maxLength: 256,
      column: { name: 'target_group_ids', sql: 'text', notNull: true },
    },
    {
      name: 'deviceOwnerManagementEnabled', type: 'Edm.Boolean', nullable: false, writer: 'client', default: true,
      column: { name: 'device_owner_management_enabled', sql: 'bool', notNull: true },
    },
    {
      name: 'androidDeviceOwnerFullyManagedEnrollmentEnabled', type: 'Edm.Boolean', nullable: false, writer: 'server', default: false,
      column: { name: 'fully_managed_enrollment_enabled', sql: 'bool', notNull: true },
    },
    {
      name: 'managedGooglePlayInitialScopeTagIds', type: 'Collection(Edm.String)', nullable: true, writer: 'client', default: [], maxItems: 100,
      maxLength: 256, column: { name: 'initial_scope_tag_ids', sql: 'text', notNull: true },
    },
    /** Derived (always empty here: Intune lists company codes of the legacy work-profile flow). */
    {
      name: 'companyCodes', type: 'Collection(graph.androidEnrollmentCompanyCode)', complex: androidEnrollmentCompanyCode, nullable: true,
      writer: 'server', derived: true,
    },
  ],
  actions: [
    action('requestSignupUrl', [{ name: 'hostName', type: 'Edm.String', nullable: true, maxLength: 253 }], 'Edm.String'),
    action('completeSignup', [{ name: 'enterpriseToken', type: 'Edm.String', nullable: true, maxLength: 256 }]),
    action('unbind'),
    action('syncApps'),
    action('setAndroidDeviceOwnerFullyManagedEnrollmentState', [{ name: 'enabled', type: 'Edm.Boolean', nullable: false }]),
    action('createGooglePlayWebToken', [{ name: 'parentUri', type: 'Edm.String', nullable: true, maxLength: 2048 }], 'Edm.String'),
  ],
} as const satisfies EntityDef;

export type AndroidManagedStoreAccountEnterpriseSettings = EntityRecord<typeof androidManagedStoreAccountEnterpriseSettings>;
