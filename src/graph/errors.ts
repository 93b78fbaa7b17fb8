/**
 * Every Graph error the server answers is made here, so status, code and message stay uniform and no
 * handler writes an error body by hand. The envelope itself is written by `errorBody`.
 */
export class GraphError extends Error {
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

/** The Graph error envelope. `date` is written without a zone designator, as the live service does. */
export function errorBody(err: GraphError, requestId: string, clientRequestId: string, now: Date): string {
  return JSON.stringify({
    error: {
      code: err.code,
      message: err.message,
      innerError: {
        date: now.toISOString().slice(0, 19),
        'request-id': requestId,
        'client-request-id': clientRequestId,
      },
    },
  });
}
