/**
 * OAuth errors of the local authority, in Entra ID's format:
 * `{"error","error_description":"AADSTSnnn: …\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …",
 *   "error_codes":[nnn],"timestamp","trace_id","correlation_id","error_uri"}`.
 * Every error the authority answers is made here.
 */

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'invalid_resource'
  | 'invalid_tenant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'server_error';

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: OAuthErrorCode,
    /** The AADSTS number. */
    readonly aadsts: number,
    description: string,
  ) {
    super(`AADSTS${aadsts}: ${description}`);
    this.name = 'OAuthError';
  }
}

const bad = (error: OAuthErrorCode, aadsts: number, description: string) => new OAuthError(400, error, aadsts, description);

export const oauthErrors = {
  missingParameter: (name: string) => bad('invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  postOnly: (method: string) => bad('invalid_request', 900561, `The endpoint only accepts POST, OPTIONS requests. Received a ${method} request.`),
  unsupportedGrant: (grant: string) => bad('unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`),
  invalidTenantName: (tenant: string) =>
    bad('invalid_request', 900023, `Specified tenant identifier '${tenant}' is neither a valid DNS name, nor a valid external domain.`),
  tenantNotFound: (tenant: string, error: 'invalid_request' | 'invalid_tenant' = 'invalid_request') =>
    bad(
      error,
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. ` +
        'Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.',
    ),
  noTenantInfo: () =>
    bad('invalid_request', 50059, 'No tenant-identifying information found in either the request or implied by any provided credentials.'),
  appNotFound: (clientId: string, tenant: string) =>
    bad(
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not ` +
        'been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your ' +
        'authentication request to the wrong tenant.',
    ),
  invalidSecret: (clientId: string) =>
    new OAuthError(
      401,
      'invalid_client',
      7000215,
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, ' +
        `for a secret added to app '${clientId}'.`,
    ),
  secretRequired: () =>
    new OAuthError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
  publicClientWithSecret: () =>
    new OAuthError(401, 'invalid_client', 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented."),
  assertionUnsupported: () =>
    new OAuthError(401, 'invalid_client', 700027, 'Client assertions are not supported by this authority; authenticate with a client secret.'),
  userNotFound: (tenant: string) =>
    bad(
      'invalid_grant',
      50034,
      `The user account {EUII Hidden} does not exist in the ${tenant} directory. To sign into this application, the account must be added to the directory.`,
    ),
  wrongPassword: () => bad('invalid_grant', 50126, 'Error validating credentials due to invalid username or password.'),
  clientCredentialsScope: (scope: string) =>
    bad(
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
  invalidScope: (scope: string) => bad('invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`),
  multipleResources: (scope: string) =>
    bad('invalid_scope', 28000, `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scope} is not valid.`),
  notConsented: (clientId: string, scopes: readonly string[]) =>
    bad(
      'invalid_scope',
      65001,
      `The user or administrator has not consented to use the application with ID '${clientId}' for the scope(s) '${scopes.join(' ')}'. ` +
        'Send an interactive authorization request for this user and resource, or grant the scope to the app in the identity file.',
    ),
  resourceNotFound: (resource: string, tenant: string) =>
    bad(
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been ` +
        'installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.',
    ),
  malformedAssertion: () => bad('invalid_request', 50027, 'JWT token is invalid or malformed.'),
  assertionSignature: () => bad('invalid_grant', 50013, 'Assertion failed signature validation. [Reason - The key was not found.]'),
  assertionExpired: () =>
    bad(
      'invalid_grant',
      500133,
      'Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token.',
    ),
  assertionAudience: () => bad('invalid_grant', 500131, 'Assertion audience does not match the Client app presenting the assertion.'),
  assertionTenant: () => bad('invalid_grant', 50013, 'Assertion failed signature validation. [Reason - The assertion was issued for another tenant.]'),
  assertionNotUser: () => bad('invalid_grant', 50013, 'Assertion failed validation. [Reason - An on-behalf-of assertion must be a user token.]'),
  badTokenUse: (value: string) =>
    bad('invalid_request', 900144, `The request body must contain the following parameter: 'requested_token_use' with the value 'on_behalf_of', not '${value}'.`),
  invalidClientId: (clientId: string) => bad('unauthorized_client', 700038, `${clientId} is not a valid application identifier.`),
  refusedRequest: (status: number, description: string) => new OAuthError(status, 'invalid_request', 9002313, `Invalid request. ${description}`),
  unreadableBody: () => bad('invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'."),
  internal: () => new OAuthError(500, 'server_error', 50000, 'There was an error issuing a token or an authorization code. Please try again later.'),
} as const;

/** Entra's timestamp format: `2026-11-29 08:00:00Z`. */
function timestamp(now: Date): string {
  return `${now.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** The JSON body of an OAuth error. `traceId` is the request id; `correlationId` the client's request id. */
export function oauthErrorBody(err: OAuthError, traceId: string, correlationId: string, now: Date): Record<string, unknown> {
  const ts = timestamp(now);
  return {
    error: err.error,
    error_description: `${err.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${ts}`,
    error_codes: [err.aadsts],
    timestamp: ts,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${err.aadsts}`,
  };
}
