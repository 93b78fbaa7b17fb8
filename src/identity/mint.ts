import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from './jose.js';
import { GRAPH_RESOURCE, READ_WRITE_ALL, v1Issuer } from './claims.js';
import type { KeyRing } from './keys.js';

export interface MintOptions {
  tenantId: string;
  /** Delegated scopes; ignored when `roles` is given. Default: ReadWrite.All. */
  scopes?: readonly string[];
  /** Application permissions: makes an app-only token. */
  roles?: readonly string[];
  upn?: string;
  objectId?: string;
  appId?: string;
  /** Lifetime in seconds; negative mints a token that has already expired. Default 3600. */
  expiresIn?: number;
  audience?: string;
  /** Issued-at, in seconds since the epoch. Default: now. */
  nowSeconds?: number;
}

/** The default client application of minted tokens (a fixed, recognisable id). */
export const DEFAULT_APP_ID = '0c5a5d9e-4e8a-4f53-9a3d-7f2a0e6b1c11';

/**
 * Mints a Graph-shaped v1 access token (`iss https://sts.windows.net/{tid}/`), signed RS256 with the
 * store's key, so every server on that store accepts it.
 */
export async function mintAccessToken(keys: KeyRing, opts: MintOptions): Promise<string> {
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  const expiresIn = opts.expiresIn ?? 3600;
  const appOnly = opts.roles !== undefined;
  const oid = opts.objectId ?? randomUUID();
  const appId = opts.appId ?? DEFAULT_APP_ID;
  const claims: Record<string, unknown> = {
    aud: opts.audience ?? GRAPH_RESOURCE,
    iss: v1Issuer(opts.tenantId),
    idp: v1Issuer(opts.tenantId),
    tid: opts.tenantId,
    oid,
    sub: appOnly ? oid : randomUUID(),
    appid: appId,
    appidacr: '1',
    app_displayname: 'Enrollgraph client',
    idtyp: appOnly ? 'app' : 'user',
    ver: '1.0',
    uti: randomBytes(16).toString('base64url'),
  };
  if (appOnly) {
    claims.roles = [...(opts.roles ?? [])];
  } else {
    claims.scp = (opts.scopes ?? [READ_WRITE_ALL]).join(' ');
    const upn = opts.upn ?? 'admin@contoso.onmicrosoft.com';
    claims.upn = upn;
    claims.unique_name = upn;
    claims.name = upn.split('@')[0];
  }
  // When the token is minted already expired, keep nbf/iat before exp so only the lifetime is wrong.
  const iat = Math.min(now, now + expiresIn - 60);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: keys.signingKey.kid })
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(now + expiresIn)
    .sign(keys.signingKey.privateKey);
}
