import type { EntityDef } from './edm.js';

/** Intune's documented maximum token lifetime: 65 years (fits Int32). */
export const MAX_TOKEN_VALIDITY_SECONDS = 2_051_244_000;

/**
 * `microsoft.graph.androidForWorkEnrollmentProfile` — the one definition of the entity.
 * Descriptions follow the beta CSDL; bounds and writers are Enrollgraph's product decisions (SPEC §1).
 */
export const androidForWorkEnrollmentProfile: EntityDef = {
  typeName: 'androidForWorkEnrollmentProfile',
  setName: 'androidForWorkEnrollmentProfiles',
  table: 'android_for_work_enrollment_profiles',
  description: 'Enrollment Profile used to enroll COSU devices using Google\'s Cloud Management.',
  properties: [
    {
      name: 'id', type: 'Edm.String', nullable: false, writer: 'server', filterable: true, sortable: true,
      column: { name: 'id', sql: 'text', notNull: true }, description: 'Unique identifier of the profile.',
    },
    {
      name: 'accountId', type: 'Edm.String', nullable: true, writer: 'server',
      column: { name: 'tenant_id', sql: 'text', notNull: true }, description: 'Tenant GUID the enrollment profile belongs to.',
    },
    {
      name: 'displayName', type: 'Edm.String', nullable: true, writer: 'client', required: true,
      minLength: 1, maxLength: 256, filterable: true, sortable: true,
      column: { name: 'display_name', sql: 'text', notNull: true }, description: 'Display name for the enrollment profile.',
    },
    {
      name: 'description', type: 'Edm.String', nullable: true, writer: 'client', maxLength: 1024,
      filterable: true, sortable: true,
      column: { name: 'description', sql: 'text', notNull: false }, description: 'Description for the enrollment profile.',
    },
    {
      name: 'createdDateTime', type: 'Edm.DateTimeOffset', nullable: false, writer: 'server', filterable: true, sortable: true,
      column: { name: 'created_us', sql: 'bigint', notNull: true }, description: 'Date time the enrollment profile was created.',
    },
    {
      name: 'lastModifiedDateTime', type: 'Edm.DateTimeOffset', nullable: false, writer: 'server', filterable: true, sortable: true,
      column: { name: 'modified_us', sql: 'bigint', notNull: true }, description: 'Date time the enrollment profile was last modified.',
    },
    {
      name: 'tokenValue', type: 'Edm.String', nullable: true, writer: 'server', filterable: true, sortable: true,
      column: { name: 'token_value', sql: 'text', notNull: false }, description: 'Value of the most recently created token for this enrollment profile.',
    },
    {
      name: 'tokenExpirationDateTime', type: 'Edm.DateTimeOffset', nullable: false, writer: 'server', filterable: true, sortable: true,
      column: { name: 'token_expires_us', sql: 'bigint', notNull: true }, description: 'Date time the most recently created token will expire.',
    },
    {
      name: 'enrolledDeviceCount', type: 'Edm.Int32', nullable: false, writer: 'server', filterable: true, sortable: true,
      column: { name: 'enrolled_device_count', sql: 'int', notNull: true }, description: 'Total number of Android devices that have enrolled using this enrollment profile.',
    },
    {
      name: 'qrCodeContent', type: 'Edm.String', nullable: true, writer: 'server',
      description: 'String used to generate a QR code for the token.',
    },
    {
      name: 'qrCodeImage', type: 'graph.mimeContent', nullable: true, writer: 'server',
      description: 'String used to generate a QR code for the token.',
    },
  ],
  actions: [
    {
      name: 'createToken',
      parameters: [{ name: 'tokenValidityInSeconds', type: 'Edm.Int32', nullable: false, min: 1, max: MAX_TOKEN_VALIDITY_SECONDS }],
    },
    { name: 'revokeToken', parameters: [] },
  ],
};

export const mimeContent = {
  name: 'mimeContent',
  properties: [
    { name: 'type', type: 'Edm.String', description: 'Indicates the content mime type.' },
    { name: 'value', type: 'Edm.Binary', description: 'The byte array that contains the actual content.' },
  ],
} as const;
