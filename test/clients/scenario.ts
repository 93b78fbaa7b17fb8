/**
 * One acceptance scenario with Microsoft's real client libraries, run as its own process so that
 * `NODE_EXTRA_CA_CERTS` (read only at process start) can point at the server's generated
 * certificate: `node --import tsx test/clients/scenario.ts '<json ScenarioInput>'`.
 *
 * It drives the seven operations (or the OAuth probes) through the README's snippets and prints one
 * JSON line, a ScenarioOutput, that sdk.test.ts asserts on. It asserts nothing itself.
 */
import * as msal from '@azure/msal-node';
import { ClientSecretCredential, UsernamePasswordCredential } from '@azure/identity';
import { GraphError, type Client } from '@microsoft/microsoft-graph-client';
import { decodeJwt } from 'jose';
import { azureIdentity, bearerToken, enrollmentProfiles } from './snippets/beta-sdk.js';
import { graphClientWithAzureIdentity } from './snippets/graph-client-azure-identity.js';
import { graphClientWithMsal } from './snippets/graph-client-msal.js';

export interface ScenarioInput {
  kind: 'v3-msal' | 'v3-msal-user' | 'v3-identity' | 'kiota-token' | 'kiota-identity-user' | 'oauth-probes' | 'kiota-retry';
  server: string;
  tenant: string;
  clientId?: string;
  clientSecret?: string;
  user?: { username: string; password: string };
  token?: string;
  /** oauth-probes: a tenant the authority does not know, and a scope the app was not granted. */
  unknownTenant?: string;
  ungrantedScope?: string;
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

export type ScenarioOutput =
  | { ok: true; operations?: OperationsResult; probes?: Record<string, unknown>; retry?: RetryResult }
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
    seeError: (err) => {
      if (!(err instanceof GraphError)) return { kind: String((err as Error)?.name ?? typeof err), status: null, code: null, message: String(err), requestId: null, headerRequestId: null };
      return {
        kind: 'GraphError',
        status: err.statusCode,
        code: err.code,
        message: err.message,
        requestId: err.requestId,
        headerRequestId: err.headers?.get('request-id') ?? null,
      };
    },
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
    seeError: (err) => {
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
    },
  };
}

// ---- the seven operations ------------------------------------------------------------------------

async function expectError(ops: Operations, call: () => Promise<unknown>): Promise<SeenError> {
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
