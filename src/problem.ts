/**
 * The error values of the layers below the protocol (model, domain, identity, store). Each says what
 * went wrong in the domain's terms; `src/graph/errors.ts` maps a Problem to a Graph error (status,
 * code, envelope) in one place, so no layer below the protocol knows HTTP or Graph's codes.
 */
export type ProblemKind =
  /** A value a client sent breaks the model's rules (type, bounds, unknown name). */
  | 'invalid'
  /** The addressed entity does not exist (or belongs to another tenant). */
  | 'notFound'
  /** The operation is not possible in the entity's current state (a domain rule). */
  | 'conflict'
  /** The caller is not who it claims to be (token missing, malformed, expired, …). */
  | 'unauthenticated'
  /** The caller is known but lacks a permission. */
  | 'forbidden'
  /** The caller's tenant has no Intune licence. */
  | 'unlicensed'
  /** A text value PostgreSQL or SQLite cannot store (a NUL character). */
  | 'unstorable'
  /** Too many attempts: wait `retryAfterSeconds`. */
  | 'rateLimited';

export class Problem extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    /** What the problem is about (a property, a parameter, an id), for the protocol's wording. */
    readonly subject?: string,
    /** A more specific error code than the kind's (e.g. `InvalidEnrollmentToken`), and a retry delay. */
    readonly detail: { code?: string; retryAfterSeconds?: number } = {},
  ) {
    // A refusal, not a fault of the server: no stack trace to capture.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'Problem';
  }
}

export const invalid = (message: string, subject?: string) => new Problem('invalid', message, subject);
export const notFound = (message: string, subject?: string) => new Problem('notFound', message, subject);
export const conflict = (message: string, subject?: string) => new Problem('conflict', message, subject);

/** An entity that does not exist, or belongs to another tenant (never reveal which). */
export const entityNotFound = (typeName: string, id: string) => notFound(`The ${typeName} with id '${id}' was not found.`, id);
