import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify,
  type CryptoKey, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey,
} from './jose.js';
import { Problem } from '../problem.js';

/** A 401: the caller is not who the token claims (the protocol answers InvalidAuthenticationToken). */
const unauthenticated = (message: string) => new Problem('unauthenticated', message);
import type { Clock } from '../time.js';
import { GRAPH_AUDIENCES, isGuid, v1Issuer, type Principal } from './claims.js';
import type { KeyRing } from './keys.js';
import { StoreUnavailableError } from '../store/errors.js';

/** Another issuer whose tokens the server accepts (for example a real Entra tenant, or a test IdP). */
export interface TrustedIssuer {
  issuer: string;
  /** JWKS location: an http(s) URL or a file path. */
  jwks: string;
  /** Accepted audiences; defaults to Graph's two. */
  audiences?: string[];
}

/** Small tolerance for clock skew between the token's issuer and this server, in seconds. */
export const CLOCK_TOLERANCE_SECONDS = 30;

const MESSAGES = {
  empty: 'Access token is empty.',
  malformed: 'CompactToken parsing failed with error code: 80049217',
  invalid: 'Access token validation failure.',
  audience: 'Access token validation failure. Invalid audience.',
  expired: 'Lifetime validation failed, the token is expired.',
  notYetValid: 'Lifetime validation failed, the token is not yet valid.',
} as const;

interface CacheEntry {
  token: string;
  principal: Principal;
  exp: number;
  nbf: number;
}

/**
 * Verifies bearer tokens: RS256 only, `exp` required, audience (a string, or an array of strings
 * naming an accepted one) and issuer checked. Successful
 * verifications are cached by token (bounded, oldest evicted first) and re-checked against the
 * clock on every hit, so a repeated token costs a map lookup, never a signature check.
 */
export class TokenVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly trusted = new Map<string, { getKey: JWTVerifyGetKey; audiences: string[] }>();

  constructor(
    private readonly keys: KeyRing,
    private readonly clock: Clock,
    trustedIssuers: readonly TrustedIssuer[] = [],
    private readonly cacheSize = 10_000,
  ) {
    for (const t of trustedIssuers) {
      const getKey = /^https?:\/\//i.test(t.jwks)
        ? createRemoteJWKSet(new URL(t.jwks))
        : createLocalJWKSet(JSON.parse(readFileSync(t.jwks, 'utf8')) as JSONWebKeySet);
      this.trusted.set(t.issuer, { getKey, audiences: t.audiences ?? [...GRAPH_AUDIENCES] });
    }
  }

  /**
   * The principal of an `Authorization` header value, or an 'unauthenticated' Problem (thrown, or the rejection).
   * A token verified before is answered from the cache, synchronously: no promise on the hot path.
   */
  verify(authorization: string | undefined): Principal | Promise<Principal> {
    const token = bearer(authorization);
    const nowSec = this.clock.nowUs() / 1e6;
    // Keyed by the signature's tail (hashing a short key is cheaper than the whole 1–2 KB token),
    // confirmed by comparing the whole token.
    const key = cacheKey(token);
    const hit = this.cache.get(key);
    if (hit && hit.token === token) {
      if (nowSec > hit.exp + CLOCK_TOLERANCE_SECONDS) {
        this.cache.delete(key);
        throw unauthenticated(MESSAGES.expired);
      }
      if (nowSec < hit.nbf - CLOCK_TOLERANCE_SECONDS) throw unauthenticated(MESSAGES.notYetValid);
      return hit.principal;
    }
    return this.verifyAndCache(token, key, nowSec);
  }

  private async verifyAndCache(token: string, key: string, nowSec: number): Promise<Principal> {
    const payload = await this.check(token, nowSec);
    const principal = toPrincipal(payload);
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, { token, principal, exp: payload.exp!, nbf: payload.nbf ?? 0 });
    return principal;
  }

  private async check(token: string, nowSec: number): Promise<JWTPayload> {
    let claims: JWTPayload;
    try {
      decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      throw unauthenticated(MESSAGES.malformed);
    }
    // RFC 7519 lets `aud` be one string or an array of strings (Entra issues a string): an array is
    // accepted when one of its members is an accepted audience, as jwtVerify checks, and only when
    // every member is a string (see docs/security.md).
    if (Array.isArray(claims.aud) && !claims.aud.every((a) => typeof a === 'string')) throw unauthenticated(MESSAGES.audience);
    const iss = claims.iss;
    const trusted = typeof iss === 'string' ? this.trusted.get(iss) : undefined;
    const builtIn = isGuid(claims.tid) && iss === v1Issuer(claims.tid);
    if (!trusted && !builtIn) throw unauthenticated(MESSAGES.invalid);
    const getKey: JWTVerifyGetKey = trusted?.getKey ?? (async (header) => {
      const key: CryptoKey | undefined = await this.keys.publicKey(header.kid);
      if (!key) throw new joseErrors.JWKSNoMatchingKey();
      return key;
    });
    try {
      const { payload } = await jwtVerify(token, getKey, {
        algorithms: ['RS256'],
        audience: trusted?.audiences ?? [...GRAPH_AUDIENCES],
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(nowSec * 1000),
      });
      return payload;
    } catch (err) {
      // The store could not be asked for a new key: a 503 for the caller to retry, not a verdict on the token.
      if (err instanceof StoreUnavailableError) throw err;
      throw mapJoseError(err);
    }
  }
}

function cacheKey(token: string): string {
  return token.length > 48 ? token.slice(-48) : token;
}

function bearer(authorization: string | undefined): string {
  if (!authorization) throw unauthenticated(MESSAGES.empty);
  // Fast path: "Bearer <token>" as every client sends it.
  if (authorization.startsWith('Bearer ') && authorization.length > 7 && authorization.charCodeAt(7) !== 32 && !authorization.endsWith(' ')) {
    return authorization.slice(7);
  }
  const m = /^Bearer(?:\s+(.*))?$/i.exec(authorization.trim());
  if (!m) throw unauthenticated(MESSAGES.malformed);
  const token = (m[1] ?? '').trim();
  if (!token) throw unauthenticated(MESSAGES.empty);
  return token;
}

function mapJoseError(err: unknown): Problem {
  if (err instanceof joseErrors.JWTExpired) return unauthenticated(MESSAGES.expired);
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' || err.claim === 'iat') return unauthenticated(MESSAGES.notYetValid);
    if (err.claim === 'aud') return unauthenticated(MESSAGES.audience);
  }
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return unauthenticated(MESSAGES.malformed);
  return unauthenticated(MESSAGES.invalid);
}

function toPrincipal(p: JWTPayload): Principal {
  const tid = p.tid;
  if (!isGuid(tid)) throw unauthenticated(MESSAGES.invalid);
  const roles = Array.isArray(p.roles) ? p.roles.filter((r): r is string => typeof r === 'string') : [];
  const scp = typeof p.scp === 'string' ? p.scp.split(' ').filter(Boolean) : [];
  const isApp = p.idtyp === 'app' || (p.scp === undefined && Array.isArray(p.roles));
  const oid = typeof p.oid === 'string' ? p.oid : typeof p.sub === 'string' ? p.sub : '';
  const appId = typeof p.appid === 'string' ? p.appid : typeof p.azp === 'string' ? p.azp : '';
  const principal: Principal = { tenantId: tid.toLowerCase(), objectId: oid, appId, kind: isApp ? 'app' : 'user', permissions: isApp ? roles : scp };
  if (typeof p.upn === 'string') principal.upn = p.upn;
  return principal;
}
