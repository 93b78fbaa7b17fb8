/**
 * Property and type definitions several entities share, written once: the key, the timestamps, the
 * enrollment-token capability (its properties and actions), and CSDL's complex types.
 */
import type { ActionDef, ComplexTypeDef } from './edm.js';

export const mimeContent = {
  name: 'mimeContent',
  properties: [
    { name: 'type', type: 'Edm.String' },
    { name: 'value', type: 'Edm.Binary' },
  ],
} as const satisfies ComplexTypeDef;

export const idProperty = {
  name: 'id', type: 'Edm.String', nullable: false, writer: 'server', filterable: true, sortable: true,
  column: { name: 'id', sql: 'text', notNull: true },
} as const;

/** accountId: the tenant, stored in the table's partition column. */
export const accountIdProperty = {
  name: 'accountId', type: 'Edm.String', nullable: true, writer: 'server',
  column: { name: 'tenant_id', sql: 'text', notNull: true },
} as const;

export const createdDateTimeProperty = {
  name: 'createdDateTime', role: 'created', type: 'Edm.DateTimeOffset', nullable: false, writer: 'server', filterable: true, sortable: true,
  column: { name: 'created_us', sql: 'bigint', notNull: true },
} as const;

export const lastModifiedDateTimeProperty = {
  name: 'lastModifiedDateTime', role: 'modified', type: 'Edm.DateTimeOffset', nullable: false, writer: 'server', filterable: true, sortable: true,
  column: { name: 'modified_us', sql: 'bigint', notNull: true },
} as const;

/** The current token of a profile and its expiry (`0001-01-01T00:00:00Z` before the first). */
export const tokenValueProperty = {
  name: 'tokenValue', role: 'token', type: 'Edm.String', nullable: true, writer: 'server', filterable: true, sortable: true,
  column: { name: 'token_value', sql: 'text', notNull: false },
} as const;

export const tokenExpirationDateTimeProperty = {
  name: 'tokenExpirationDateTime', role: 'tokenExpires', type: 'Edm.DateTimeOffset', nullable: false, writer: 'server', filterable: true, sortable: true,
  default: '0001-01-01T00:00:00Z', column: { name: 'token_expires_us', sql: 'bigint', notNull: true },
} as const;

export const enrolledDeviceCountProperty = {
  name: 'enrolledDeviceCount', role: 'enrollCount', type: 'Edm.Int32', nullable: false, writer: 'server', filterable: true, sortable: true,
  default: 0, column: { name: 'enrolled_device_count', sql: 'int', notNull: true },
} as const;

/** Derived from the token by the domain (enrollment/tokens.ts). */
export const qrCodeContentProperty = { name: 'qrCodeContent', role: 'qrContent', type: 'Edm.String', nullable: true, writer: 'server' } as const;

/** Derived from qrCodeContent; the column caches the rendered PNG (base64) while the token stays. */
export const qrCodeImageProperty = {
  name: 'qrCodeImage', role: 'qrImage', type: 'graph.mimeContent', complex: mimeContent, nullable: true, writer: 'server', derived: true,
  column: { name: 'qr_png', sql: 'text', notNull: false },
} as const;

/** Intune's documented maximum token lifetime: 65 years (fits Int32). */
export const MAX_TOKEN_VALIDITY_SECONDS = 2_051_244_000;

export const createTokenAction = {
  name: 'createToken', writes: true,
  parameters: [{ name: 'tokenValidityInSeconds', type: 'Edm.Int32', nullable: false, min: 1, max: MAX_TOKEN_VALIDITY_SECONDS }],
} as const satisfies ActionDef;

export const revokeTokenAction = { name: 'revokeToken', writes: true, parameters: [] } as const satisfies ActionDef;
