import type { ProfileRecord } from './store.js';

/** A profile row as both SQL stores read it (PostgreSQL's BIGINTs are parsed to numbers on read). */
export interface ProfileRow {
  tenant_id: string;
  id: string;
  display_name: string;
  description: string | null;
  created_us: number;
  modified_us: number;
  token_value: string | null;
  token_expires_us: number;
  enrolled_device_count: number;
  qr_png: string | null;
}

/** The profile table's columns in `ProfileRecord` order. */
export const PROFILE_COLUMNS =
  'tenant_id, id, display_name, description, created_us, modified_us, token_value, token_expires_us, enrolled_device_count, qr_png';

export function toRecord(r: ProfileRow): ProfileRecord {
  return {
    tenantId: r.tenant_id,
    id: r.id,
    displayName: r.display_name,
    description: r.description,
    createdUs: r.created_us,
    modifiedUs: r.modified_us,
    tokenValue: r.token_value,
    tokenExpiresUs: r.token_expires_us,
    enrolledDeviceCount: r.enrolled_device_count,
    qrPng: r.qr_png,
  };
}
