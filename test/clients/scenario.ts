/**
 * One acceptance scenario with Microsoft's real client libraries, run as its own process so that
 * `NODE_EXTRA_CA_CERTS` (read only at process start) can point at the server's generated
 * certificate: `node --import tsx test/clients/scenario.ts '<json ScenarioInput>'`.
 *
 * It drives the seven operations (or the OAuth probes) through the README's snippets, or the Android
 * Enterprise family (device-owner profiles, the Managed Google Play binding; Kiota through
 * android-enterprise.ts), and prints one JSON line, a ScenarioOutput, that sdk.test.ts asserts on.
 * It asserts nothing itself.
 */
import * as msal from '@azure/msal-node';
import { ClientSecretCredential, UsernamePasswordCredential } from '@azure/identity';
import { GraphError, type Client } from '@microsoft/microsoft-graph-client';
import { decodeJwt } from 'jose';
import { AndroidDeviceOwnerEnrollmentModeObject, AndroidManagedStoreAccountEnrollmentTargetObject } from '@microsoft/msgraph-beta-sdk/models/index.js';
import { androidEnterprise } from './android-enterprise.js';
import { azureIdentity, bearerToken, enrollmentProfiles } from './snippets/beta-sdk.js';
import { graphClientWithAzureIdentity } from './snippets/graph-client-azure-identity.js';
import { graphClientWithMsal } from './snippets/graph-client-msal.js';

export interface ScenarioInput {
  kind:
    | 'v3-msal' | 'v3-msal-user' | 'v3-identity' | 'kiota-token' | 'kiota-identity-user' | 'oauth-probes' | 'kiota-retry'
    // The Android Enterprise family: v3 + MSAL (delegated) and Kiota + Azure Identity (delegated), both over https.
    | 'v3-device-owner' | 'kiota-device-owner' | 'v3-binding' | 'kiota-binding';
  server: string;
  tenant: string;
  clientId?: string;
  clientSecret?: string;
  user?: { username: string; password: string };
  token?: string;
  /** oauth-probes: a tenant the authority does not know, and a scope the app was not granted. */
  unknownTenant?: string;
  ungrantedScope?: string;
  /** *-binding: an enterprise token of the tenant, from its signup page (single use). */
  enterpriseToken?: string;
}

/** A profile as the test compares it, whichever client read it. */
export interface SeenProfile {
  id: string;
  accountId: string | null;
  displayName: string | null;
  description: string | null;
  tokenValue: string | null;
  qrCodeContent: string | null;
  /** Size of the decoded PNG, 0 when there is none. */
  qrPngBytes: number;
  tokenExpirationDateTime: string | null;
}

/** An error as the test compares it: what the client library surfaced. */
export interface SeenError {
  kind: string;
  status: number | null;
  code: string | null;
  message: string;
  /** The request id the library parsed from the error body. */
  requestId: string | null;
  /** The `request-id` response header the library exposes. */
  headerRequestId: string | null;
}

export interface OperationsResult {
  created: SeenProfile;
  listedIds: string[];
  got: SeenProfile;
  updated: SeenProfile | null;
  createTokenReturned: string;
  afterCreateToken: SeenProfile;
  afterRevoke: SeenProfile;
  deleteReturned: string;
  afterDelete: SeenError;
  unknownId: SeenError;
}

/** kiota-retry: one list call through the SDK's default middleware while the server answers its first try with 429. */
export interface RetryResult {
  listedIds: string[];
  elapsedMs: number;
}

/**
 * An entity as a client handed it back: each property's value as JSON (a Date as its ISO text) and
 * what the client made of it (`Date`, `array`, `null`, `undefined` or the typeof), so the test sees
 * what the SDK's models deserialized.
 */
export interface SeenEntity {
  values: Record<string, unknown>;
  types: Record<string, string>;
  /** Size of the decoded qrCodeImage PNG, 0 when there is none (device-owner profiles). */
  qrPngBytes: number;
}

/** v3-device-owner / kiota-device-owner: the operations on androidDeviceOwnerEnrollmentProfiles. */
export interface DeviceOwnerResult {
  created: SeenEntity;
  createdAosp: SeenEntity;
  /** `$filter=enrollmentMode eq 'corporateOwnedDedicatedDevice'`. */
  filtered: SeenEntity[];
  /** `$select=id,displayName,enrollmentMode,tokenValue`. */
  selected: SeenEntity;
  updated: SeenEntity | null;
  afterUpdate: SeenEntity;
  createTokenReturned: string;
  afterCreateToken: SeenEntity;
  afterAospToken: SeenEntity;
  revokeTokenReturned: string;
  afterRevoke: SeenEntity;
  deleteReturned: string;
  afterDelete: SeenError;
}

/** v3-binding / kiota-binding: the Managed Google Play binding of the scenario's tenant. */
export interface BindingResult {
  initial: SeenEntity;
  patched: SeenEntity | null;
  afterPatch: SeenEntity;
  unbindReturned: string;
  afterUnbind: SeenEntity;
  /** createToken on a new corporateOwnedDedicatedDevice profile while the tenant is not bound. */
  tokenWhileUnbound: SeenError;
  completeSignupReturned: string;
  afterCompleteSignup: SeenEntity;
  /** The same profile's createToken once bound again. */
  tokenAfterBinding: SeenEntity;
  completeSignupAgain: SeenError;
}

export type ScenarioOutput =
  | { ok: true; operations?: OperationsResult; probes?: Record<string, unknown>; retry?: RetryResult; deviceOwner?: DeviceOwnerResult; binding?: BindingResult }
  | { ok: false; error: string };

interface Operations {
  list(): Promise<SeenProfile[]>;
  create(displayName: string, description: string): Promise<SeenProfile>;
  get(id: string): Promise<SeenProfile>;
  update(id: string, displayName: string): Promise<SeenProfile | null>;
  createToken(id: string, seconds: number): Promise<unknown>;
  revokeToken(id: string): Promise<unknown>;
  delete(id: string): Promise<unknown>;
  seeError(err: unknown): SeenError;
}

// ---- the v3 client (raw JSON) --------------------------------------------------------------------

type Json = Record<string, unknown>;

function fromJson(p: Json): SeenProfile {
  const image = p.qrCodeImage as { type?: string; value?: string } | null | undefined;
  return {
    id: String(p.id),
    accountId: (p.accountId as string | null) ?? null,
    displayName: (p.displayName as string | null) ?? null,
    description: (p.description as string | null) ?? null,
    tokenValue: (p.tokenValue as string | null) ?? null,
    qrCodeContent: (p.qrCodeContent as string | null) ?? null,
    qrPngBytes: image?.type === 'image/png' && typeof image.value === 'string' ? Buffer.from(image.value, 'base64').length : 0,
    tokenExpirationDateTime: (p.tokenExpirationDateTime as string | null) ?? null,
  };
}

function v3Operations(client: Client): Operations {
  const path = '/deviceManagement/androidForWorkEnrollmentProfiles';
  return {
    list: async () => ((await client.api(path).get()) as { value: Json[] }).value.map(fromJson),
    create: async (displayName, description) => fromJson((await client.api(path).post({ displayName, description })) as Json),
    get: async (id) => fromJson((await client.api(`${path}/${id}`).get()) as Json),
    update: async (id, displayName) => {
      const r = (await client.api(`${path}/${id}`).patch({ displayName })) as Json | undefined;
      return r ? fromJson(r) : null;
    },
    createToken: (id, seconds) => client.api(`${path}/${id}/createToken`).post({ tokenValidityInSeconds: seconds }),
    revokeToken: (id) => client.api(`${path}/${id}/revokeToken`).post(undefined),
    delete: (id) => client.api(`${path}/${id}`).delete(),
    seeError: seeV3Error,
  };
}

function seeV3Error(err: unknown): SeenError {
  if (!(err instanceof GraphError)) return { kind: String((err as Error)?.name ?? typeof err), status: null, code: null, message: String(err), requestId: null, headerRequestId: null };
  return {
    kind: 'GraphError',
    status: err.statusCode,
    code: err.code,
    message: err.message,
    requestId: err.requestId,
    headerRequestId: err.headers?.get('request-id') ?? null,
  };
}

// ---- the beta SDK (Kiota models) -----------------------------------------------------------------

interface KiotaProfile {
  id?: string | null;
  accountId?: string | null;
  displayName?: string | null;
  description?: string | null;
  tokenValue?: string | null;
  qrCodeContent?: string | null;
  qrCodeImage?: { type?: string | null; value?: ArrayBuffer | null } | null;
  tokenExpirationDateTime?: Date | null;
}

function fromKiota(p: KiotaProfile | undefined): SeenProfile {
  if (!p?.id) throw new Error('the SDK returned no profile');
  const value = p.qrCodeImage?.value;
  return {
    id: p.id,
    accountId: p.accountId ?? null,
    displayName: p.displayName ?? null,
    description: p.description ?? null,
    tokenValue: p.tokenValue ?? null,
    qrCodeContent: p.qrCodeContent ?? null,
    // Kiota turns a JSON null object into {}: no type means no image.
    qrPngBytes: p.qrCodeImage?.type === 'image/png' && value ? value.byteLength : 0,
    tokenExpirationDateTime: p.tokenExpirationDateTime ? p.tokenExpirationDateTime.toISOString() : null,
  };
}

interface ODataErrorLike {
  responseStatusCode?: number;
  responseHeaders?: Record<string, string[]>;
  message?: string;
  errorEscaped?: { code?: string; message?: string; innerError?: { requestId?: string } };
}

function kiotaOperations(server: string, auth: Parameters<typeof enrollmentProfiles>[1]): Operations {
  const profiles = enrollmentProfiles(server, auth);
  return {
    list: async () => ((await profiles.get())?.value ?? []).map((p) => fromKiota(p)),
    create: async (displayName, description) => fromKiota(await profiles.post({ displayName, description })),
    get: async (id) => fromKiota(await profiles.byAndroidForWorkEnrollmentProfileId(id).get()),
    update: async (id, displayName) => {
      const r = await profiles.byAndroidForWorkEnrollmentProfileId(id).patch({ displayName });
      return r ? fromKiota(r) : null;
    },
    createToken: (id, seconds) => profiles.byAndroidForWorkEnrollmentProfileId(id).createToken.post({ tokenValidityInSeconds: seconds }),
    revokeToken: (id) => profiles.byAndroidForWorkEnrollmentProfileId(id).revokeToken.post(),
    delete: (id) => profiles.byAndroidForWorkEnrollmentProfileId(id).delete(),
    seeError: seeKiotaError,
  };
}

function seeKiotaError(err: unknown): SeenError {
  const e = err as ODataErrorLike;
  if (typeof e !== 'object' || e === null || !('responseStatusCode' in e)) {
    return { kind: String((err as Error)?.name ?? typeof err), status: null, code: null, message: String(err), requestId: null, headerRequestId: null };
  }
  const body = e.errorEscaped;
  return {
    kind: 'ODataError',
    status: e.responseStatusCode ?? null,
    code: body?.code ?? null,
    message: body?.message ?? e.message ?? '',
    requestId: body?.innerError?.requestId ?? null,
    headerRequestId: e.responseHeaders?.['request-id']?.[0] ?? null,
  };
}

// ---- the seven operations ------------------------------------------------------------------------

async function expectError(ops: Pick<Operations, 'seeError'>, call: () => Promise<unknown>): Promise<SeenError> {
  try {
    await call();
  } catch (err) {
    return ops.seeError(err);
  }
  throw new Error('the call succeeded; an error was expected');
}

async function runOperations(ops: Operations, label: string): Promise<OperationsResult> {
  const created = await ops.create(`${label} kiosks`, `created by ${label}`);
  const listedIds = (await ops.list()).map((p) => p.id);
  const got = await ops.get(created.id);
  const updated = await ops.update(created.id, `${label} kiosks (renamed)`);
  const createTokenReturned = typeof (await ops.createToken(created.id, 3600));
  const afterCreateToken = await ops.get(created.id);
  await ops.revokeToken(created.id);
  const afterRevoke = await ops.get(created.id);
  const deleteReturned = typeof (await ops.delete(created.id));
  const afterDelete = await expectError(ops, () => ops.get(created.id));
  const unknownId = await expectError(ops, () => ops.get('00000000-0000-4000-8000-000000000000'));
  return { created, listedIds, got, updated, createTokenReturned, afterCreateToken, afterRevoke, deleteReturned, afterDelete, unknownId };
}

// ---- the Android Enterprise family (device-owner profiles, the Managed Google Play binding) ---------

const DEVICE_OWNER_PROPERTIES = [
  'id', 'accountId', 'displayName', 'description', 'enrollmentMode', 'enrollmentTokenType', 'createdDateTime', 'lastModifiedDateTime',
  'tokenValue', 'tokenCreationDateTime', 'tokenExpirationDateTime', 'enrolledDeviceCount', 'enrollmentTokenUsageCount', 'qrCodeContent',
  'roleScopeTagIds', 'configureWifi', 'wifiSsid', 'wifiPassword', 'wifiSecurityType', 'wifiHidden', 'isTeamsDeviceProfile', 'deviceNameTemplate',
];
const BINDING_PROPERTIES = [
  'id', 'bindStatus', 'ownerUserPrincipalName', 'ownerOrganizationName', 'managedGooglePlayEnterpriseType', 'lastAppSyncDateTime',
  'lastAppSyncStatus', 'lastModifiedDateTime', 'enrollmentTarget', 'targetGroupIds', 'deviceOwnerManagementEnabled',
  'androidDeviceOwnerFullyManagedEnrollmentEnabled', 'managedGooglePlayInitialScopeTagIds', 'companyCodes',
];

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Date) return 'Date';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function seeEntity(e: object | undefined, names: readonly string[]): SeenEntity {
  if (!e) throw new Error('the client returned no entity');
  const o = e as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  const types: Record<string, string> = {};
  for (const n of names) {
    const v = o[n];
    types[n] = kindOf(v);
    values[n] = v instanceof Date ? (Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString()) : v;
  }
  // v3: base64 text; Kiota: an ArrayBuffer (and {} for a JSON null).
  const image = o.qrCodeImage as { type?: string | null; value?: string | ArrayBuffer | null } | null | undefined;
  const bytes = typeof image?.value === 'string' ? Buffer.from(image.value, 'base64').length : image?.value ? image.value.byteLength : 0;
  return { values, types, qrPngBytes: image?.type === 'image/png' ? bytes : 0 };
}

const seeProfile = (e: object | undefined) => seeEntity(e, DEVICE_OWNER_PROPERTIES);
const seeBinding = (e: object | undefined) => seeEntity(e, BINDING_PROPERTIES);

/** What both clients do on the family; each implementation speaks its own client's idiom. */
interface AndroidEnterpriseOperations {
  createProfile(displayName: string, mode: 'dedicated' | 'aospUserless'): Promise<SeenEntity>;
  listDedicated(): Promise<SeenEntity[]>;
  getProfile(id: string, select?: string[]): Promise<SeenEntity>;
  updateProfile(id: string, displayName: string): Promise<SeenEntity | null>;
  createToken(id: string, seconds: number): Promise<unknown>;
  revokeToken(id: string): Promise<unknown>;
  deleteProfile(id: string): Promise<unknown>;
  getBinding(): Promise<SeenEntity>;
  /** enrollmentTarget targeted, with the given groups. */
  patchBinding(groupIds: string[]): Promise<SeenEntity | null>;
  unbind(): Promise<unknown>;
  completeSignup(enterpriseToken: string): Promise<unknown>;
  seeError(err: unknown): SeenError;
}

const DEVICE_OWNER = '/deviceManagement/androidDeviceOwnerEnrollmentProfiles';
const BINDING = '/deviceManagement/androidManagedStoreAccountEnterpriseSettings';
const DEDICATED_FILTER = "enrollmentMode eq 'corporateOwnedDedicatedDevice'";

function v3AndroidEnterprise(client: Client): AndroidEnterpriseOperations {
  return {
    createProfile: async (displayName, mode) => seeProfile(await client.api(DEVICE_OWNER).post({
      displayName,
      description: `created by the Graph client v3 (${mode})`,
      enrollmentMode: mode === 'dedicated' ? 'corporateOwnedDedicatedDevice' : 'corporateOwnedAOSPUserlessDevice',
      ...(mode === 'aospUserless' ? { wifiSsid: 'Warehouse', wifiSecurityType: 'wpa', wifiPassword: 'correct-horse' } : {}),
      roleScopeTagIds: ['0'],
    })),
    listDedicated: async () => ((await client.api(DEVICE_OWNER).filter(DEDICATED_FILTER).top(999).get()) as { value: Json[] }).value.map(seeProfile),
    getProfile: async (id, select) => {
      const req = client.api(`${DEVICE_OWNER}/${id}`);
      return seeProfile(await (select ? req.select(select) : req).get());
    },
    updateProfile: async (id, displayName) => {
      const r = (await client.api(`${DEVICE_OWNER}/${id}`).patch({ displayName, isTeamsDeviceProfile: true, roleScopeTagIds: ['0', '3'] })) as Json | undefined;
      return r ? seeProfile(r) : null;
    },
    createToken: (id, seconds) => client.api(`${DEVICE_OWNER}/${id}/createToken`).post({ tokenValidityInSeconds: seconds }),
    revokeToken: (id) => client.api(`${DEVICE_OWNER}/${id}/revokeToken`).post(undefined),
    deleteProfile: (id) => client.api(`${DEVICE_OWNER}/${id}`).delete(),
    getBinding: async () => seeBinding(await client.api(BINDING).get()),
    patchBinding: async (groupIds) => {
      const r = (await client.api(BINDING).patch({ enrollmentTarget: 'targeted', targetGroupIds: groupIds })) as Json | undefined;
      return r ? seeBinding(r) : null;
    },
    unbind: () => client.api(`${BINDING}/unbind`).post(undefined),
    completeSignup: (enterpriseToken) => client.api(`${BINDING}/completeSignup`).post({ enterpriseToken }),
    seeError: seeV3Error,
  };
}

function kiotaAndroidEnterprise(server: string, auth: Parameters<typeof androidEnterprise>[1]): AndroidEnterpriseOperations {
  const dm = androidEnterprise(server, auth);
  const profiles = dm.androidDeviceOwnerEnrollmentProfiles;
  const binding = dm.androidManagedStoreAccountEnterpriseSettings;
  const mode = AndroidDeviceOwnerEnrollmentModeObject;
  return {
    createProfile: async (displayName, m) => seeProfile(await profiles.post({
      displayName,
      description: `created by the beta SDK (${m})`,
      enrollmentMode: m === 'dedicated' ? mode.CorporateOwnedDedicatedDevice : mode.CorporateOwnedAOSPUserlessDevice,
      ...(m === 'aospUserless' ? { wifiSsid: 'Warehouse', wifiSecurityType: 'wpa' as const, wifiPassword: 'correct-horse' } : {}),
      roleScopeTagIds: ['0'],
    })),
    listDedicated: async () => ((await profiles.get({ queryParameters: { filter: DEDICATED_FILTER, top: 999 } }))?.value ?? []).map(seeProfile),
    getProfile: async (id, select) => seeProfile(await profiles.byAndroidDeviceOwnerEnrollmentProfileId(id).get(select ? { queryParameters: { select } } : undefined)),
    updateProfile: async (id, displayName) => {
      const r = await profiles.byAndroidDeviceOwnerEnrollmentProfileId(id).patch({ displayName, isTeamsDeviceProfile: true, roleScopeTagIds: ['0', '3'] });
      return r ? seeProfile(r) : null;
    },
    createToken: (id, seconds) => profiles.byAndroidDeviceOwnerEnrollmentProfileId(id).createToken.post({ tokenValidityInSeconds: seconds }),
    revokeToken: (id) => profiles.byAndroidDeviceOwnerEnrollmentProfileId(id).revokeToken.post(),
    deleteProfile: (id) => profiles.byAndroidDeviceOwnerEnrollmentProfileId(id).delete(),
    getBinding: async () => seeBinding(await binding.get()),
    patchBinding: async (groupIds) => {
      const r = await binding.patch({ enrollmentTarget: AndroidManagedStoreAccountEnrollmentTargetObject.Targeted, targetGroupIds: groupIds });
      return r ? seeBinding(r) : null;
    },
    unbind: () => binding.unbind.post(),
    completeSignup: (enterpriseToken) => binding.completeSignup.post({ enterpriseToken }),
    seeError: seeKiotaError,
  };
}

async function runDeviceOwner(ops: AndroidEnterpriseOperations, label: string): Promise<DeviceOwnerResult> {
  const created = await ops.createProfile(`${label} kiosks`, 'dedicated');
  const createdAosp = await ops.createProfile(`${label} scanners`, 'aospUserless');
  const id = String(created.values.id);
  const aospId = String(createdAosp.values.id);
  const filtered = await ops.listDedicated();
  const selected = await ops.getProfile(id, ['id', 'displayName', 'enrollmentMode', 'tokenValue']);
  const updated = await ops.updateProfile(id, `${label} kiosks (renamed)`);
  const afterUpdate = await ops.getProfile(id);
  const createTokenReturned = typeof (await ops.createToken(id, 3600));
  const afterCreateToken = await ops.getProfile(id);
  await ops.createToken(aospId, 86_400);
  const afterAospToken = await ops.getProfile(aospId);
  const revokeTokenReturned = typeof (await ops.revokeToken(id));
  const afterRevoke = await ops.getProfile(id);
  const deleteReturned = typeof (await ops.deleteProfile(id));
  await ops.deleteProfile(aospId);
  const afterDelete = await expectError(ops, () => ops.getProfile(id));
  return {
    created, createdAosp, filtered, selected, updated, afterUpdate, createTokenReturned, afterCreateToken, afterAospToken,
    revokeTokenReturned, afterRevoke, deleteReturned, afterDelete,
  };
}

async function runBinding(ops: AndroidEnterpriseOperations, enterpriseToken: string, label: string): Promise<BindingResult> {
  const initial = await ops.getBinding();
  const patched = await ops.patchBinding(['2c8a1d7e-0a43-4d89-9d3e-7b1f0c9e4a11']);
  const afterPatch = await ops.getBinding();
  const unbindReturned = typeof (await ops.unbind());
  const afterUnbind = await ops.getBinding();
  const profile = await ops.createProfile(`${label} lobby`, 'dedicated');
  const id = String(profile.values.id);
  const tokenWhileUnbound = await expectError(ops, () => ops.createToken(id, 3600));
  const completeSignupReturned = typeof (await ops.completeSignup(enterpriseToken));
  const afterCompleteSignup = await ops.getBinding();
  await ops.createToken(id, 3600);
  const tokenAfterBinding = await ops.getProfile(id);
  await ops.deleteProfile(id);
  const completeSignupAgain = await expectError(ops, () => ops.completeSignup(enterpriseToken));
  return {
    initial, patched, afterPatch, unbindReturned, afterUnbind, tokenWhileUnbound, completeSignupReturned, afterCompleteSignup, tokenAfterBinding,
    completeSignupAgain,
  };
}

function userCredential(input: ScenarioInput): UsernamePasswordCredential {
  return new UsernamePasswordCredential(input.tenant, input.clientId!, input.user!.username, input.user!.password, {
    authorityHost: input.server,
    disableInstanceDiscovery: true,
  });
}

// ---- OAuth probes (MSAL and Azure Identity against the authority) --------------------------------

const GRAPH_DEFAULT = ['https://graph.microsoft.com/.default'];

function msalError(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; errorCode?: string; errorMessage?: string; status?: number; message?: string };
  return { name: e.name, errorCode: e.errorCode, status: e.status ?? null, message: e.errorMessage ?? e.message };
}

async function settle(fn: () => Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    const r = await fn();
    return { ok: true, value: r };
  } catch (err) {
    return { ok: false, error: msalError(err) };
  }
}

async function probes(input: ScenarioInput): Promise<Record<string, unknown>> {
  const { server, tenant } = input;
  const clientId = input.clientId!;
  const clientSecret = input.clientSecret!;
  const user = input.user!;
  const knownAuthorities = [new URL(server).host];
  const cca = (secret: string, t = tenant) =>
    new msal.ConfidentialClientApplication({ auth: { clientId, clientSecret: secret, authority: `${server}/${t}`, knownAuthorities } });
  const good = cca(clientSecret);
  const claims = (token: string | undefined) => (token ? decodeJwt(token) : undefined);

  const first = await good.acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT });
  const second = await good.acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT });
  const userToken = await good.acquireTokenByUsernamePassword({ scopes: GRAPH_DEFAULT, ...user });
  // On-behalf-of: the user signs in to the app's own API, the app exchanges that token for Graph.
  const apiToken = await good.acquireTokenByUsernamePassword({ scopes: [`api://${clientId}/access_as_user`], ...user });
  const obo = await good.acquireTokenOnBehalfOf({ oboAssertion: apiToken!.accessToken, scopes: GRAPH_DEFAULT });
  const identityCredential = new ClientSecretCredential(tenant, clientId, clientSecret, { authorityHost: server, disableInstanceDiscovery: true });
  const identityToken = await identityCredential.getToken(GRAPH_DEFAULT);

  return {
    clientCredentials: { claims: claims(first?.accessToken), fromCache: second?.fromCache ?? null, tenantId: first?.tenantId ?? null },
    password: {
      claims: claims(userToken?.accessToken),
      account: userToken?.account ? { homeAccountId: userToken.account.homeAccountId, username: userToken.account.username, tenantId: userToken.account.tenantId } : null,
      idTokenClaims: userToken?.idTokenClaims ?? null,
      scopes: userToken?.scopes ?? [],
    },
    onBehalfOf: { apiClaims: claims(apiToken?.accessToken), claims: claims(obo?.accessToken) },
    azureIdentity: { claims: claims(identityToken.token), expiresOnTimestamp: identityToken.expiresOnTimestamp },
    wrongSecret: await settle(() => cca('not-the-secret').acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT })),
    wrongPassword: await settle(() => good.acquireTokenByUsernamePassword({ scopes: GRAPH_DEFAULT, username: user.username, password: `${user.password}-wrong` })),
    unknownUser: await settle(() => good.acquireTokenByUsernamePassword({ scopes: GRAPH_DEFAULT, username: `nobody-${Date.now()}@${user.username.split('@')[1]}`, password: 'x' })),
    ungrantedScope: await settle(() => good.acquireTokenByUsernamePassword({ scopes: [input.ungrantedScope!], ...user })),
    unknownTenant: await settle(() => cca(clientSecret, input.unknownTenant!).acquireTokenByClientCredential({ scopes: GRAPH_DEFAULT })),
    identityWrongSecret: await settle(() =>
      new ClientSecretCredential(tenant, clientId, 'not-the-secret', { authorityHost: server, disableInstanceDiscovery: true }).getToken(GRAPH_DEFAULT),
    ),
  };
}

// ---- main ----------------------------------------------------------------------------------------

async function run(input: ScenarioInput): Promise<ScenarioOutput> {
  const { server, tenant } = input;
  switch (input.kind) {
    case 'v3-msal':
      return { ok: true, operations: await runOperations(v3Operations(graphClientWithMsal(server, tenant, input.clientId!, input.clientSecret!)), 'v3+MSAL app') };
    case 'v3-msal-user':
      return {
        ok: true,
        operations: await runOperations(v3Operations(graphClientWithMsal(server, tenant, input.clientId!, input.clientSecret!, input.user)), 'v3+MSAL user'),
      };
    case 'v3-identity':
      return {
        ok: true,
        operations: await runOperations(v3Operations(graphClientWithAzureIdentity(server, tenant, input.clientId!, input.clientSecret!)), 'v3+Identity'),
      };
    case 'kiota-token': {
      const token = input.token!;
      return { ok: true, operations: await runOperations(kiotaOperations(server, bearerToken(server, async () => token)), 'Kiota+token') };
    }
    case 'kiota-identity-user': {
      const credential = new UsernamePasswordCredential(tenant, input.clientId!, input.user!.username, input.user!.password, {
        authorityHost: server,
        disableInstanceDiscovery: true,
      });
      return { ok: true, operations: await runOperations(kiotaOperations(server, azureIdentity(server, credential)), 'Kiota+Identity') };
    }
    case 'oauth-probes':
      return { ok: true, probes: await probes(input) };
    case 'v3-device-owner':
      return {
        ok: true,
        deviceOwner: await runDeviceOwner(v3AndroidEnterprise(graphClientWithMsal(server, tenant, input.clientId!, input.clientSecret!, input.user)), 'v3+MSAL'),
      };
    case 'kiota-device-owner':
      return { ok: true, deviceOwner: await runDeviceOwner(kiotaAndroidEnterprise(server, azureIdentity(server, userCredential(input))), 'Kiota+Identity') };
    case 'v3-binding':
      return {
        ok: true,
        binding: await runBinding(v3AndroidEnterprise(graphClientWithMsal(server, tenant, input.clientId!, input.clientSecret!, input.user)), input.enterpriseToken!, 'v3+MSAL'),
      };
    case 'kiota-binding':
      return { ok: true, binding: await runBinding(kiotaAndroidEnterprise(server, azureIdentity(server, userCredential(input))), input.enterpriseToken!, 'Kiota+Identity') };
    case 'kiota-retry': {
      const token = input.token!;
      const started = Date.now();
      const page = await enrollmentProfiles(server, bearerToken(server, async () => token)).get();
      return { ok: true, retry: { listedIds: (page?.value ?? []).map((p) => p.id ?? ''), elapsedMs: Date.now() - started } };
    }
  }
}

const arg = process.argv[2];
if (arg === undefined) {
  console.error('usage: node --import tsx test/clients/scenario.ts <json>');
  process.exit(2);
}
run(JSON.parse(arg) as ScenarioInput).then(
  (out) => console.log(JSON.stringify(out)),
  (err: unknown) => console.log(JSON.stringify({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err) })),
);
