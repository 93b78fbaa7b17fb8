/**
 * Store failures the protocol layer must tell apart from bugs. A store throws
 * `StoreUnavailableError` when the database cannot answer right now (unreachable, connection lost,
 * timed out, shutting down, overloaded): the request may succeed if retried later, so the server
 * answers 503 with Retry-After instead of 500.
 */
export class StoreUnavailableError extends Error {
  /** How long a client should wait before retrying, in seconds. */
  readonly retryAfterSeconds: number;

  constructor(message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreUnavailableError';
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
  }
}

export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}
