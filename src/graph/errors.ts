import { randomUUID } from 'node:crypto';
import { Problem } from '../problem.js';

/**
 * Every Graph error the server answers is made here, so status, code and message stay uniform and no
 * handler writes an error body by hand. The envelope itself is written by `errorBody`.
 */
export class GraphError extends Error {
  /**
   * Set on errors Intune itself produces (not Graph's gateway): the Intune front-end path of the
   * request, which the nested message names (see `errorBody` and docs/errors.md).
   */
  intunePath?: string;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    // An answer to a client, not a fault of the server: no stack trace to capture (it costs ~4 µs).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'GraphError';
  }
}

/** The real service's WWW-Authenticate challenge on a 401. */
export const WWW_AUTHENTICATE =
  'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"';

export const errors = {
  badRequest: (message: string) => new GraphError(400, 'BadRequest', message),
  segmentNotFound: (segment: string) => new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`),
  modelValidation: (message: string) => new GraphError(400, 'ModelValidationFailure', message),
  unlicensedTenant: () => new GraphError(400, 'BadRequest', 'Request not applicable to target tenant.'),
  unreadableBody: (detail: string) => new GraphError(400, 'BadRequest', `Unable to read JSON request payload. ${detail}`),
  unauthenticated: (message: string) =>
    new GraphError(401, 'InvalidAuthenticationToken', message, { 'WWW-Authenticate': WWW_AUTHENTICATE }),
  forbidden: (message: string) => new GraphError(403, 'Forbidden', message),
  notFound: (message: string) => new GraphError(404, 'ResourceNotFound', message),
  noRoute: (method: string, path: string) =>
    new GraphError(404, 'ResourceNotFound', `No HTTP resource was found that matches the request URI '${path}' for method '${method}'.`),
  methodNotAllowed: (method: string) =>
    new GraphError(405, 'MethodNotAllowed', `The HTTP method '${method}' is not allowed for this resource.`),
  /** Intune's answer to a method its route does not serve (a 400, not a 405: see docs/errors.md). */
  noMethodMatch: (template: string, method: string, intunePath: string) =>
    new GraphError(400, 'No method match route template',
      `No OData route exists that match template ${template} with http verb ${method} for request /${INTUNE_SERVICE}/${intunePath}.`),
  notAcceptable: (message: string) => new GraphError(406, 'NotAcceptable', message),
  requestTimeout: (message: string) => new GraphError(408, 'RequestTimeout', message),
  expectationFailed: (expect: string) => new GraphError(417, 'ExpectationFailed', `The expectation '${expect}' is not supported.`),
  payloadTooLarge: (limit: number) =>
    new GraphError(413, 'RequestEntityTooLarge', `The request body exceeds the limit of ${limit} bytes.`),
  headersTooLarge: (limit: number) =>
    new GraphError(431, 'RequestHeaderFieldsTooLarge', `The request headers exceed the limit of ${limit} bytes.`),
  unsupportedMediaType: (contentType: string) =>
    new GraphError(
      415,
      'RequestBodyRead',
      contentType
        ? `The content type '${contentType}' is not supported. Send the request body as 'application/json'.`
        : 'A request body was sent without a Content-Type. Send it as \'application/json\'.',
    ),
  tooManyRequests: (retryAfterSeconds: number) =>
    new GraphError(429, 'TooManyRequests', 'Too many requests.', { 'Retry-After': String(retryAfterSeconds) }),
  internal: () => new GraphError(500, 'InternalServerError', 'An internal server error occurred.'),
  serviceUnavailable: (retryAfterSeconds: number) =>
    new GraphError(503, 'serviceNotAvailable', 'The service is temporarily unavailable. Try again later.', {
      'Retry-After': String(retryAfterSeconds),
    }),
} as const;

/** The Intune service behind this family's routes, as its errors name it (docs/errors.md). */
const INTUNE_SERVICE = 'AndroidSync/StatelessAndroidSyncFEService';
const INTUNE_FRONT_END = 'https://fef.msua06.manage.microsoft.com';
const INTUNE_API_VERSION = '5020-09-16';

/**
 * Intune's nested message: a JSON text (with Intune's CRLF indentation) whose Message carries an
 * operation id, the activity id (the request's request-id) and the Intune front-end URL, as in the
 * live answers the reference quotes (microsoft-graph-docs#11294, msgraph-beta-sdk-dotnet#659).
 */
function intuneMessage(text: string, intunePath: string, requestId: string): string {
  const url = `${INTUNE_FRONT_END}/${INTUNE_SERVICE}/${intunePath.replace(/[()']/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}?api-version=${INTUNE_API_VERSION}`;
  const message = `${text} - Operation ID (for customer support): ${randomUUID()} - Activity ID: ${requestId} - Url: ${url}`;
  const fields: [string, string][] = [
    ['_version', '3'], ['Message', JSON.stringify(message)], ['CustomApiErrorPhrase', '""'], ['RetryAfter', 'null'],
    ['ErrorSourceService', '""'], ['HttpHeaders', JSON.stringify('{}')],
  ];
  return `{\r\n${fields.map(([k, v]) => `  "${k}": ${v}`).join(',\r\n')}\r\n}`;
}

/** The Graph error envelope. `date` is written without a zone designator, as the live service does. */
export function errorBody(err: GraphError, requestId: string, clientRequestId: string, now: Date): string {
  return JSON.stringify({
    error: {
      code: err.code,
      message: err.intunePath === undefined ? err.message : intuneMessage(err.message, err.intunePath, requestId),
      innerError: {
        date: now.toISOString().slice(0, 19),
        'request-id': requestId,
        'client-request-id': clientRequestId,
      },
    },
  });
}

/**
 * The one place the layers' Problems become Graph errors (the layers below the protocol never
 * import this module). Anything else is a fault of the server: undefined, and the caller answers 500.
 */
export function fromProblem(err: unknown): GraphError | undefined {
  if (err instanceof GraphError) return err;
  if (!(err instanceof Problem)) return undefined;
  const code = err.detail.code;
  switch (err.kind) {
    case 'invalid':
      return new GraphError(400, code ?? 'ModelValidationFailure', err.message);
    case 'conflict':
    case 'unstorable':
      return new GraphError(400, code ?? 'BadRequest', err.message);
    case 'unlicensed':
      return errors.unlicensedTenant();
    case 'notFound':
      return new GraphError(404, code ?? 'ResourceNotFound', err.message);
    case 'unauthenticated':
      return errors.unauthenticated(err.message);
    case 'forbidden':
      return new GraphError(403, code ?? 'Forbidden', err.message);
    case 'rateLimited':
      return errors.tooManyRequests(err.detail.retryAfterSeconds ?? 1);
  }
}
