/** Facts about Graph access tokens shared by minting, verification and the permission policy. */

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const GRAPH_AUDIENCES = [GRAPH_RESOURCE, GRAPH_APP_ID] as const;

/** The tenant that personal Microsoft accounts sign in to. */
export const PERSONAL_ACCOUNT_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

export const READ_ALL = 'DeviceManagementConfiguration.Read.All';
export const READ_WRITE_ALL = 'DeviceManagementConfiguration.ReadWrite.All';

/** v1 issuer for a tenant, as on tokens Graph accepts. */
export function v1Issuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

/** Who is calling, as established from a verified token. */
export interface Principal {
  tenantId: string;
  /** Object id of the user or service principal. */
  objectId: string;
  /** The client application. */
  appId: string;
  kind: 'user' | 'app';
  /** Delegated scopes (users) or application roles (apps). */
  permissions: readonly string[];
  upn?: string;
}
