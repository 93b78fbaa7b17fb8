/**
 * Fault rules: what a rule matches (method, path pattern, tenant, operation), what it answers (a
 * status in the Graph error envelope, added latency, or a dropped connection) and when (every time,
 * on the n-th matching call, or with a probability under a fixed seed).
 */
import { errors, GraphError } from '../graph/errors.js';

/** The operations rules (and metrics) name. */
export const OPERATIONS = [
  'list', 'get', 'create', 'update', 'delete', 'createToken', 'revokeToken', 'batch', 'enroll',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface FaultSpec {
  /** HTTP method, any case; absent = any. */
  method?: string;
  /** Glob on the URL path (no query string): `*` matches any run of characters, `/` included; any case. */
  path?: string;
  /** Tenant id (the token's `tid`); absent = any. A rule with a tenant never matches a call without one. */
  tenant?: string;
  operation?: Operation;
  /** Answer with this status (400–599) in the Graph error envelope. */
  status?: number;
  /** `Retry-After` seconds; default 1 for 429 and 503. */
  retryAfter?: number;
  /** Error code and message instead of the status's usual ones. */
  code?: string;
  message?: string;
  /** Wait this long (ms) first; alone, the call then proceeds normally. */
  latencyMs?: number;
  /** Destroy the connection without an answer. */
  drop?: boolean;
  /** Fire only on the n-th matching call (1 = the first). */
  nth?: number;
  /** Fire on each matching call with this probability, drawn from a PRNG seeded by `seed`. */
  probability?: number;
  seed?: number;
}

/** Thrown to make the HTTP layer destroy the connection instead of answering. */
export class ConnectionDrop extends Error {
  constructor() {
    super('connection dropped by a fault rule');
    this.name = 'ConnectionDrop';
  }
}

export class FaultSpecError extends Error {}

const KEYS = new Set(['method', 'path', 'tenant', 'operation', 'status', 'retryAfter', 'code', 'message', 'latencyMs', 'drop', 'nth', 'probability', 'seed']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new FaultSpecError(`'${name}' must be an integer from ${min} to ${max}.`);
  return v;
}

function text(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new FaultSpecError(`'${name}' must be a non-empty string.`);
  return v;
}

/** Checks a rule as a client sent it; returns it normalised, or throws FaultSpecError. */
export function parseFaultSpec(body: unknown): FaultSpec {
  if (!isObject(body)) throw new FaultSpecError('A fault rule is a JSON object.');
  for (const k of Object.keys(body)) if (!KEYS.has(k)) throw new FaultSpecError(`Unknown fault rule property '${k}'.`);
  const spec: FaultSpec = {};
  const method = text(body.method, 'method');
  if (method !== undefined) spec.method = method.toUpperCase();
  const path = text(body.path, 'path');
  if (path !== undefined) spec.path = path;
  const tenant = text(body.tenant, 'tenant');
  if (tenant !== undefined) spec.tenant = tenant.toLowerCase();
  if (body.operation !== undefined) {
    if (!OPERATIONS.includes(body.operation as Operation)) throw new FaultSpecError(`'operation' must be one of ${OPERATIONS.join(', ')}.`);
    spec.operation = body.operation as Operation;
  }
  const status = int(body.status, 'status', 400, 599);
  if (status !== undefined) spec.status = status;
  const retryAfter = int(body.retryAfter, 'retryAfter', 0, 86_400);
  if (retryAfter !== undefined) spec.retryAfter = retryAfter;
  const code = text(body.code, 'code');
  if (code !== undefined) spec.code = code;
  const message = text(body.message, 'message');
  if (message !== undefined) spec.message = message;
  const latencyMs = int(body.latencyMs, 'latencyMs', 0, 600_000);
  if (latencyMs !== undefined) spec.latencyMs = latencyMs;
  if (body.drop !== undefined) {
    if (typeof body.drop !== 'boolean') throw new FaultSpecError("'drop' must be true or false.");
    if (body.drop) spec.drop = true;
  }
  const nth = int(body.nth, 'nth', 1, Number.MAX_SAFE_INTEGER);
  if (nth !== undefined) spec.nth = nth;
  if (body.probability !== undefined) {
    const p = body.probability;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new FaultSpecError("'probability' must be a number from 0 to 1.");
    spec.probability = p;
  }
  const seed = int(body.seed, 'seed', 0, 0xffffffff);
  if (seed !== undefined) spec.seed = seed;

  if (spec.status === undefined && spec.drop === undefined && spec.latencyMs === undefined) {
    throw new FaultSpecError("A fault rule needs 'status', 'latencyMs' or 'drop'.");
  }
  if (spec.status !== undefined && spec.drop) throw new FaultSpecError("Give 'status' or 'drop', not both.");
  if ((spec.retryAfter !== undefined || spec.code !== undefined || spec.message !== undefined) && spec.status === undefined) {
    throw new FaultSpecError("'retryAfter', 'code' and 'message' go with 'status'.");
  }
  if (spec.nth !== undefined && spec.probability !== undefined) throw new FaultSpecError("Give 'nth' or 'probability', not both.");
  if (spec.seed !== undefined && spec.probability === undefined) throw new FaultSpecError("'seed' goes with 'probability'.");
  return spec;
}

/** What a call looks like to the rules. */
export interface CallFacts {
  method: string;
  path: string;
  tenantId: string | undefined;
  operation: Operation | undefined;
}

const globs = new Map<string, RegExp>();

/** `*` → any run of characters; everything else literal; case-insensitive; the whole path. */
export function globToRegExp(glob: string): RegExp {
  let re = globs.get(glob);
  if (!re) {
    re = new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
    if (globs.size > 1000) globs.clear();
    globs.set(glob, re);
  }
  return re;
}

export function matches(spec: FaultSpec, call: CallFacts): boolean {
  if (spec.method !== undefined && spec.method !== call.method.toUpperCase()) return false;
  if (spec.operation !== undefined && spec.operation !== call.operation) return false;
  if (spec.tenant !== undefined && spec.tenant !== call.tenantId?.toLowerCase()) return false;
  if (spec.path !== undefined && !globToRegExp(spec.path).test(call.path)) return false;
  return true;
}

/**
 * The n-th output (n ≥ 1) of mulberry32 seeded with `seed`, in [0, 1). mulberry32's state is a
 * counter advanced by a constant, so any output can be computed directly: with the rule's match
 * count kept in the store, every process draws the same number for the same call.
 */
export function mulberry32At(seed: number, n: number): number {
  let t = (seed + Math.imul(n, 0x6d2b79f5)) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Whether a rule fires on its `hits`-th matching call. */
export function fires(spec: FaultSpec, hits: number): boolean {
  if (spec.nth !== undefined) return hits === spec.nth;
  if (spec.probability !== undefined) return mulberry32At(spec.seed ?? 0, hits) < spec.probability;
  return true;
}

const STATUS: Record<number, [string, string]> = {
  400: ['BadRequest', 'The request is invalid.'],
  401: ['InvalidAuthenticationToken', 'Access token validation failure.'],
  403: ['Forbidden', 'Access is denied.'],
  404: ['ResourceNotFound', 'The resource was not found.'],
  409: ['Conflict', 'The request conflicts with the current state.'],
  429: ['TooManyRequests', 'Too many requests.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
  502: ['BadGateway', 'The gateway received an invalid response.'],
  503: ['serviceNotAvailable', 'The service is temporarily unavailable. Try again later.'],
  504: ['GatewayTimeout', 'The gateway did not receive a response in time.'],
};

/** The error a status rule answers with. */
export function faultError(spec: FaultSpec): GraphError {
  const status = spec.status!;
  const retryAfter = spec.retryAfter ?? (status === 429 || status === 503 ? 1 : undefined);
  if (spec.code === undefined && spec.message === undefined) {
    if (status === 429) return errors.tooManyRequests(retryAfter!);
    if (status === 503) return errors.serviceUnavailable(retryAfter!);
    if (status === 500 && retryAfter === undefined) return errors.internal();
  }
  const [code, message] = STATUS[status] ?? (status < 500 ? ['BadRequest', 'The request failed.'] : ['UnknownError', 'The service failed.']);
  return new GraphError(status, spec.code ?? code, spec.message ?? message, retryAfter !== undefined ? { 'Retry-After': String(retryAfter) } : {});
}
