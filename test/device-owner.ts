/**
 * What the black-box tests of androidDeviceOwnerEnrollmentProfiles share: the modes, a small client
 * of one tenant's profiles, the frozen server clock, stored rows to compare before and after a
 * refused call, and the AOSP QR payload decoded.
 */
import assert from 'node:assert/strict';
import { androidDeviceOwnerEnrollmentProfile, type AndroidDeviceOwnerEnrollmentProfile } from '../src/model/androidDeviceOwnerEnrollmentProfile.js';
import { call, createProfile, DEVICE_OWNER_PROFILES as DO, newTenant, startServer, type TestServer } from './helpers.js';

export { DO };
export const DEF = androidDeviceOwnerEnrollmentProfile;

export const MODES = [
  'corporateOwnedDedicatedDevice', 'corporateOwnedFullyManaged', 'corporateOwnedWorkProfile',
  'corporateOwnedAOSPUserlessDevice', 'corporateOwnedAOSPUserAssociatedDevice',
] as const;
export type Mode = (typeof MODES)[number];
export const AOSP_MODES: readonly Mode[] = ['corporateOwnedAOSPUserlessDevice', 'corporateOwnedAOSPUserAssociatedDevice'];
export const GMS_MODES: readonly Mode[] = MODES.filter((m) => !AOSP_MODES.includes(m));
/** Token lengths: 8 letters for fully managed and corporate-owned work profile, 20 for the others. */
export const TOKEN_PATTERN = (mode: Mode) => (mode === 'corporateOwnedFullyManaged' || mode === 'corporateOwnedWorkProfile' ? /^[A-Z]{8}$/ : /^[A-Z]{20}$/);
export const AOSP_USERLESS_CAP = 7_776_000;
export const MAX_VALIDITY = 2_051_244_000;

/** The properties of Microsoft's CSDL for the type (reference/csdl/android-enterprise-beta.xml), and the key. */
export const CSDL_PROPERTIES = [
  'id', 'accountId', 'configureWifi', 'createdDateTime', 'description', 'deviceNameTemplate', 'displayName', 'enrolledDeviceCount',
  'enrollmentMode', 'enrollmentTokenType', 'enrollmentTokenUsageCount', 'isTeamsDeviceProfile', 'lastModifiedDateTime', 'qrCodeContent',
  'qrCodeImage', 'roleScopeTagIds', 'tokenCreationDateTime', 'tokenExpirationDateTime', 'tokenValue', 'wifiHidden', 'wifiPassword',
  'wifiSecurityType', 'wifiSsid',
];

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Where the tests freeze the server clock: 2030-01-01T00:00:00Z. */
export const T0 = Date.UTC(2030, 0, 1) / 1000;
export const ENROLL = '/enrollment/android/enroll';

/** The server clock, frozen at `sec` (seconds since the epoch). */
export async function freeze(server: TestServer, sec: number): Promise<void> {
  assert.equal((await server.admin('PUT', '/_admin/clock', { now: new Date(sec * 1000).toISOString(), frozen: true })).status, 200);
}

export async function advance(server: TestServer, seconds: number): Promise<void> {
  assert.equal((await server.admin('POST', '/_admin/clock/advance', { seconds })).status, 200);
}

/** An instant as the server writes it: seven fractional digits. */
export const iso7 = (sec: number) => new Date(sec * 1000).toISOString().replace(/\.(\d{3})Z$/, (_, ms: string) => `.${ms}0000Z`);

/** A stored row without the QR PNG cache, which the server may fill in the background at any time. */
export type Row = Omit<AndroidDeviceOwnerEnrollmentProfile, 'qrCodeImage'>;
function row(r: AndroidDeviceOwnerEnrollmentProfile | undefined): Row | undefined {
  if (r === undefined) return undefined;
  const { qrCodeImage: _cache, ...rest } = r;
  return rest;
}

/** A client of one tenant's device-owner profiles, asserting the success of each call. */
export function deviceOwner(server: TestServer, tenant: string, token: string) {
  const client = {
    tenant,
    token,
    /** Creates a profile of `mode` (display name `p-<mode>` unless `extra` sets one). */
    make: (mode: Mode, extra: Record<string, unknown> = {}) =>
      createProfile(server.url, token, { displayName: `p-${mode}`, enrollmentMode: mode, ...extra }, DO) as Promise<Json>,
    async get(key: string, query = ''): Promise<Json> {
      const res = await call(server.url, 'GET', `${DO}/${key}${query}`, { token });
      assert.equal(res.status, 200, res.text);
      return res.json;
    },
    /** createToken (or `action`, e.g. `microsoft.graph.createToken`) through `key` (the id, or `AOSP-{id}`). */
    async createToken(key: string, seconds: number, action = 'createToken'): Promise<void> {
      const res = await call(server.url, 'POST', `${DO}/${key}/${action}`, { token, body: { tokenValidityInSeconds: seconds } });
      assert.equal(res.status, 204, res.text);
      assert.equal(res.text, '');
      assert.equal(res.headers.get('content-type'), null);
    },
    async revokeToken(key: string, action = 'revokeToken'): Promise<void> {
      const res = await call(server.url, 'POST', `${DO}/${key}/${action}`, { token });
      assert.equal(res.status, 204, res.text);
      assert.equal(res.headers.get('content-type'), null);
    },
    /** A profile of `mode` with a token valid for `seconds`; returns the profile as a GET shows it. */
    async withToken(mode: Mode, seconds = 3600, extra: Record<string, unknown> = {}): Promise<Json> {
      const p = await client.make(mode, extra);
      await client.createToken(p.id, seconds);
      return client.get(p.id);
    },
    stored: async (id: string) => row(await server.storedOf(DEF, tenant, id)),
    storedAll: async () => (await server.storedAllOf(DEF, tenant)).map((r) => row(r)!),
  };
  return client;
}

/** A fresh tenant's client, with a delegated token (ReadWrite unless `scopes` say otherwise) valid on a clock frozen at T0. */
export async function tenantClient(server: TestServer, scopes?: string[]) {
  const tenant = newTenant();
  return deviceOwner(server, tenant, await server.token({ tenantId: tenant, nowSeconds: T0, ...(scopes ? { scopes } : {}) }));
}
export type Client = ReturnType<typeof deviceOwner>;

/** A started server with its clock frozen at T0, and a fresh tenant's client on it. */
export async function frozenServer(): Promise<{ server: TestServer; c: Client }> {
  const server = await startServer();
  await freeze(server, T0);
  return { server, c: await tenantClient(server) };
}

export const WIFI_KEYS = ['SSID', 'PASSWORD', 'HIDDEN', 'SECURITY_TYPE'].map((k) => `android.app.extra.PROVISIONING_WIFI_${k}`);
const BUNDLE = 'android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE';

/**
 * An AOSP profile's qrCodeContent: base64 of a JSON object. Returns the token of its admin extras
 * bundle (the bundle's only value) and its Wi-Fi extras.
 */
export function decodeAospQr(content: string): { token: unknown; wifi: Record<string, unknown> } {
  const text = Buffer.from(content, 'base64').toString('utf8');
  assert.equal(Buffer.from(text, 'utf8').toString('base64'), content, 'qrCodeContent is canonical base64');
  const payload = JSON.parse(text) as Json;
  const bundle = payload[BUNDLE];
  assert.equal(typeof bundle, 'object', `no ${BUNDLE} in ${text}`);
  const values = Object.values(bundle);
  assert.equal(values.length, 1, `the admin extras bundle holds the token only: ${text}`);
  const wifi = Object.fromEntries(Object.entries(payload).filter(([k]) => k.startsWith('android.app.extra.PROVISIONING_WIFI_')));
  return { token: values[0], wifi };
}
