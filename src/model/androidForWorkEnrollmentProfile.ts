import {
  accountIdProperty, createdDateTimeProperty, createTokenAction, enrolledDeviceCountProperty, idProperty, lastModifiedDateTimeProperty,
  qrCodeContentProperty, qrCodeImageProperty, revokeTokenAction, tokenExpirationDateTimeProperty, tokenValueProperty,
} from './common.js';
import type { EntityDef, EntityRecord } from './edm.js';

/**
 * `microsoft.graph.androidForWorkEnrollmentProfile`: types and nullability as Microsoft's CSDL;
 * bounds, writers and storage are Enrollgraph's (SPEC §1). JSON lists the properties in this order.
 */
export const androidForWorkEnrollmentProfile = {
  typeName: 'androidForWorkEnrollmentProfile',
  exposed: 'collection',
  setName: 'androidForWorkEnrollmentProfiles',
  versions: ['v1.0', 'beta'],
  table: 'android_for_work_enrollment_profiles',
  snapshotKey: 'profiles',
  properties: [
    idProperty,
    accountIdProperty,
    {
      name: 'displayName', type: 'Edm.String', nullable: true, writer: 'client', required: true,
      minLength: 1, maxLength: 256, filterable: true, sortable: true,
      column: { name: 'display_name', sql: 'text', notNull: true },
    },
    {
      name: 'description', type: 'Edm.String', nullable: true, writer: 'client', maxLength: 1024,
      filterable: true, sortable: true,
      column: { name: 'description', sql: 'text', notNull: false },
    },
    createdDateTimeProperty,
    lastModifiedDateTimeProperty,
    tokenValueProperty,
    tokenExpirationDateTimeProperty,
    enrolledDeviceCountProperty,
    qrCodeContentProperty,
    qrCodeImageProperty,
  ],
  actions: [createTokenAction, revokeTokenAction],
} as const satisfies EntityDef;

export type AndroidForWorkEnrollmentProfile = EntityRecord<typeof androidForWorkEnrollmentProfile>;
