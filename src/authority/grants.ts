/**
 * The token endpoint's grants — `client_credentials`, `password` and on-behalf-of
 * (`urn:ietf:params:oauth:grant-type:jwt-bearer`) — without HTTP: parameters in, a token response
 * out, or an OAuthError. Access tokens are the Graph-shaped v1 JWTs of `enrollgraph token`, signed by
 * the store's keys, so every server on the store accepts them.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT, type CryptoKey, type JWTPayload } from '../identity/jose.js';
import { GRAPH_APP_ID, GRAPH_RESOURCE, isGuid, v1Issuer } from '../identity/claims.js';
import type { KeyRing } from '../identity/keys.js';
import { mintAccessToken, type MintOptions } from '../identity/mint.js';
import type { Clock } from '../time.js';
import { oauthErrors } from './errors.js';
import { OPEN_DEFAULT_SCOPES, type AppIdentity, type IdentityDirectory, type UserIdentity } from './identities.js';

export const GRANT_CLIENT_CREDENTIALS = 'client_credentials';
export const GRANT_PASSWORD = 'password';
export const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const GRANT_AUTHORIZATION_CODE = 'authorization_code';

/** Redeems one-time authorization codes (authorize.ts): checks client, redirect_uri and PKCE, or throws an OAuthError. */
export interface CodeRedeemer {
  redeem(params: Record<string, string>, urlTenant: string | undefined): { tenantId: string; app: AppIdentity; user: UserIdentity; scope: string };
}

/** Lifetime of issued access and id tokens, in seconds. */
export const TOKEN_LIFETIME_SECONDS = 3599;

const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
const GRAPH_PREFIXES = new Set([GRAPH_RESOURCE, GRAPH_APP_ID]);

export interface TokenRequest {
  /** The `{tenant}` of the URL, as given. */
  tenant: string;
  /** The form-encoded body. */
  params: Record<string, string>;
  /** Client credentials from an `Authorization: Basic` header (client_secret_basic). */
  basic?: { clientId: string; secret: string };
  /** Base URL of this authority, for the id_token's issuer. */
  baseUrl: string;
}

export type TokenResponse = Record<string, string | number>;

/** What a scope parameter asks for: one resource, its scope names, and the OpenID scopes. */
interface ScopeRequest {
  oidc: string[];
  /** 'graph', or the identifier of another API (`api://…` or an app id) as written. */
  resource: 'graph' | string;
  /** Scope names without the resource prefix, `.default` excluded. */
  names: string[];
  isDefault: boolean;
  /** True when the request named no resource scope at all (only OpenID scopes). */
  implicit: boolean;
}

export class TokenService {
  constructor(
    private readonly keys: KeyRing,
    private readonly identities: IdentityDirectory,
    private readonly clock: Clock,
    private readonly codes?: CodeRedeemer,
  ) {}

  async token(req: TokenRequest): Promise<TokenResponse> {
    const grant = req.params.grant_type;
    if (!grant) throw oauthErrors.missingParameter('grant_type');
    switch (grant) {
      case GRANT_CLIENT_CREDENTIALS:
        return this.clientCredentials(req);
      case GRANT_PASSWORD:
        return this.password(req);
      case GRANT_JWT_BEARER:
        return this.onBehalfOf(req);
      case GRANT_AUTHORIZATION_CODE:
        if (this.codes) return this.authorizationCode(req, this.codes);
        throw oauthErrors.unsupportedGrant(grant);
      default:
        throw oauthErrors.unsupportedGrant(grant);
    }
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.nowUs() / 1e6);
  }

  /** The tenant of the URL; undefined for `common`/`organizations`. */
  private tenantOf(req: TokenRequest): string | undefined {
    return this.identities.resolveTenant(req.tenant, 'invalid_request');
  }

  private client(req: TokenRequest, tenantId: string, publicAllowed: boolean): { app: AppIdentity } {
    const clientId = req.params.client_id ?? req.basic?.clientId;
    if (!clientId) throw oauthErrors.missingParameter('client_id');
    if (req.basic && req.params.client_id && req.basic.clientId !== req.params.client_id) throw oauthErrors.invalidClientId(req.params.client_id);
    if (req.params.client_assertion !== undefined) throw oauthErrors.assertionUnsupported();
    const app = this.identities.app(tenantId, clientId);
    const secret = req.params.client_secret ?? req.basic?.secret;
    app.authenticate(secret === '' ? undefined : secret, publicAllowed);
    return { app };
  }

  private scopes(req: TokenRequest, tenantId: string): ScopeRequest {
    const raw = req.params.scope;
    if (raw === undefined || raw.trim() === '') throw oauthErrors.missingParameter('scope');
    const out: ScopeRequest = { oidc: [], resource: 'graph', names: [], isDefault: false, implicit: true };
    let resource: string | undefined;
    for (const token of raw.trim().split(/\s+/)) {
      if (OIDC_SCOPES.has(token.toLowerCase())) {
        out.oidc.push(token.toLowerCase());
        continue;
      }
      const slash = token.lastIndexOf('/');
      let prefix = 'graph';
      let name = token;
      if (slash > 0) {
        const p = token.slice(0, slash).replace(/\/+$/, '');
        name = token.slice(slash + 1);
        if (GRAPH_PREFIXES.has(p.toLowerCase())) prefix = 'graph';
        else if (/^api:\/\/[^/]+$/i.test(p) || isGuid(p)) {
          const appId = p.replace(/^api:\/\//i, '');
          if (!this.identities.hasApp(tenantId, appId)) throw oauthErrors.resourceNotFound(p, tenantId);
          prefix = p;
        } else throw oauthErrors.resourceNotFound(p, tenantId);
      }
      if (name === '') throw oauthErrors.invalidScope(token);
      if (resource !== undefined && resource.toLowerCase() !== prefix.toLowerCase()) throw oauthErrors.multipleResources(token);
      resource = prefix;
      out.implicit = false;
      if (name.toLowerCase() === '.default') out.isDefault = true;
      else if (!out.names.some((n) => n.toLowerCase() === name.toLowerCase())) out.names.push(name);
    }
    if (out.isDefault && out.names.length > 0) throw oauthErrors.invalidScope(`${out.names[0]} (with .default)`);
    if (out.implicit) out.isDefault = true;
    out.resource = resource ?? 'graph';
    return out;
  }

  private async clientCredentials(req: TokenRequest): Promise<TokenResponse> {
    const tenantId = this.tenantOf(req);
    if (tenantId === undefined) throw oauthErrors.noTenantInfo();
    const { app } = this.client(req, tenantId, false);
    const scope = this.scopes(req, tenantId);
    if (scope.implicit || !scope.isDefault) throw oauthErrors.clientCredentialsScope(req.params.scope ?? '');
    const roles = scope.resource === 'graph' ? [...app.applicationPermissions] : [];
    const opts: MintOptions = { tenantId, roles, objectId: app.servicePrincipalId, appId: app.clientId, expiresIn: TOKEN_LIFETIME_SECONDS };
    if (scope.resource !== 'graph') opts.audience = scope.resource;
    const accessToken = await mintAccessToken(this.keys, { ...opts, nowSeconds: this.nowSeconds() });
    return { token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS, ext_expires_in: TOKEN_LIFETIME_SECONDS, access_token: accessToken };
  }

  private async password(req: TokenRequest): Promise<TokenResponse> {
    const username = req.params.username;
    if (!username) throw oauthErrors.missingParameter('username');
    const password = req.params.password;
    if (password === undefined || password === '') throw oauthErrors.missingParameter('password');
    const tenantId = this.tenantOf(req) ?? this.identities.tenantOfUser(username);
    const { app } = this.client(req, tenantId, true);
    const scope = this.scopes(req, tenantId);
    const user = this.identities.user(tenantId, username);
    if (!user) throw oauthErrors.userNotFound(tenantId);
    if (!user.checkPassword(password)) throw oauthErrors.wrongPassword();
    return this.delegated(req, tenantId, app, user, scope);
  }

  private async onBehalfOf(req: TokenRequest): Promise<TokenResponse> {
    const tenantId = this.tenantOf(req);
    if (tenantId === undefined) throw oauthErrors.noTenantInfo();
    const use = req.params.requested_token_use;
    if (!use) throw oauthErrors.missingParameter('requested_token_use');
    if (use !== 'on_behalf_of') throw oauthErrors.badTokenUse(use);
    const assertion = req.params.assertion;
    if (!assertion) throw oauthErrors.missingParameter('assertion');
    const { app } = this.client(req, tenantId, false);
    const scope = this.scopes(req, tenantId);
    const claims = await this.verifyAssertion(assertion);
    if (claims.tid !== tenantId) throw oauthErrors.assertionTenant();
    if (claims.idtyp === 'app' || typeof claims.scp !== 'string') throw oauthErrors.assertionNotUser();
    if (this.identities.mode === 'strict') {
      const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      const mine = [app.clientId, `api://${app.clientId}`].map((a) => a.toLowerCase());
      if (!aud.some((a) => typeof a === 'string' && mine.includes(a.toLowerCase()))) throw oauthErrors.assertionAudience();
    }
    const oid = typeof claims.oid === 'string' ? claims.oid : '';
    const upn = typeof claims.upn === 'string' ? claims.upn : typeof claims.preferred_username === 'string' ? claims.preferred_username : '';
    const known = this.identities.mode === 'strict' ? this.identities.userByObjectId(tenantId, oid) : undefined;
    const user: UserIdentity = known ?? {
      upn,
      objectId: oid,
      displayName: typeof claims.name === 'string' ? claims.name : upn.split('@')[0] ?? upn,
      tenantId,
      checkPassword: () => false,
      consentedScopes: this.identities.mode === 'open' ? 'any' : [],
    };
    return this.delegated(req, tenantId, app, user, scope);
  }

  /** Authorization code + PKCE (the console's sign-in): the code names tenant, app, user and scope. */
  private async authorizationCode(req: TokenRequest, codes: CodeRedeemer): Promise<TokenResponse> {
    const grant = codes.redeem(req.params, this.tenantOf(req));
    const scope = this.scopes({ ...req, params: { ...req.params, scope: grant.scope } }, grant.tenantId);
    return this.delegated(req, grant.tenantId, grant.app, grant.user, scope);
  }

  /** Verifies an on-behalf-of assertion: one of our own access tokens, unexpired. */
  private async verifyAssertion(assertion: string): Promise<JWTPayload & { tid: string }> {
    let claims: JWTPayload;
    try {
      decodeProtectedHeader(assertion);
      claims = decodeJwt(assertion);
    } catch {
      throw oauthErrors.malformedAssertion();
    }
    if (!isGuid(claims.tid) || claims.iss !== v1Issuer(claims.tid)) throw oauthErrors.assertionSignature();
    try {
      const { payload } = await jwtVerify(
        assertion,
        async (header) => {
          const key: CryptoKey | undefined = await this.keys.publicKey(header.kid);
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key;
        },
        { algorithms: ['RS256'], requiredClaims: ['exp'], clockTolerance: 30, currentDate: new Date(this.clock.nowUs() / 1000) },
      );
      return payload as JWTPayload & { tid: string };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired || (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf')) {
        throw oauthErrors.assertionExpired();
      }
      throw oauthErrors.assertionSignature();
    }
  }

  /** A delegated token for a user (password and on-behalf-of): access token, id_token and client_info. */
  private async delegated(
    req: TokenRequest,
    tenantId: string,
    app: AppIdentity,
    user: UserIdentity,
    scope: ScopeRequest,
  ): Promise<TokenResponse> {
    const granted = scope.resource === 'graph' ? this.consentedGraphScopes(app, user, scope) : scope.isDefault ? ['user_impersonation'] : scope.names;
    const now = this.nowSeconds();
    const opts: MintOptions = {
      tenantId,
      scopes: granted,
      upn: user.upn,
      objectId: user.objectId,
      appId: app.clientId,
      expiresIn: TOKEN_LIFETIME_SECONDS,
      nowSeconds: now,
    };
    if (scope.resource !== 'graph') opts.audience = scope.resource;
    const accessToken = await mintAccessToken(this.keys, opts);
    const prefix = scope.resource === 'graph' ? GRAPH_RESOURCE : scope.resource;
    const scopes = [...granted.map((s) => `${prefix}/${s}`), ...(scope.isDefault && !scope.implicit ? [`${prefix}/.default`] : []), ...scope.oidc];
    const idToken = await this.idToken(req.baseUrl, tenantId, app, user, now);
    return {
      token_type: 'Bearer',
      scope: scopes.join(' '),
      expires_in: TOKEN_LIFETIME_SECONDS,
      ext_expires_in: TOKEN_LIFETIME_SECONDS,
      access_token: accessToken,
      id_token: idToken,
      client_info: Buffer.from(JSON.stringify({ uid: user.objectId, utid: tenantId })).toString('base64url'),
    };
  }

  /** The Graph scopes a delegated token gets: what was asked for, if consented; `.default`: everything consented. */
  private consentedGraphScopes(app: AppIdentity, user: UserIdentity, scope: ScopeRequest): string[] {
    const open = app.delegatedScopes === 'any' || user.consentedScopes === 'any';
    const consented = open ? [] : [...(app.delegatedScopes as readonly string[]), ...(user.consentedScopes as readonly string[])];
    if (scope.isDefault) {
      if (open) return [...OPEN_DEFAULT_SCOPES];
      return dedupe(consented);
    }
    if (open) return scope.names;
    const missing: string[] = [];
    const granted: string[] = [];
    for (const name of scope.names) {
      const match = consented.find((c) => c.toLowerCase() === name.toLowerCase());
      if (match) granted.push(match);
      else missing.push(`${GRAPH_RESOURCE}/${name}`);
    }
    if (missing.length > 0) throw oauthErrors.notConsented(app.clientId, missing);
    return granted;
  }

  /** A v2 id_token (MSAL reads the account from it): audience the client, issuer this authority. */
  private async idToken(baseUrl: string, tenantId: string, app: AppIdentity, user: UserIdentity, now: number): Promise<string> {
    return new SignJWT({
      aud: app.clientId,
      iss: `${baseUrl}/${tenantId}/v2.0`,
      tid: tenantId,
      oid: user.objectId,
      sub: user.objectId,
      preferred_username: user.upn,
      name: user.displayName,
      ver: '2.0',
      uti: randomBytes(16).toString('base64url'),
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.keys.signingKey.kid })
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + TOKEN_LIFETIME_SECONDS)
      .sign(this.keys.signingKey.privateKey);
  }
}

function dedupe(list: string[]): string[] {
  const seen = new Set<string>();
  return list.filter((s) => {
    const k = s.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
