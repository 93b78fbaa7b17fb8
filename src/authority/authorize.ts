/**
 * The authorize endpoint of the local authority — authorization code flow with PKCE (S256), the way a
 * single-page app signs in to Entra ID:
 *
 * - `GET  /{tenant}/oauth2/v2.0/authorize?client_id&response_type=code&redirect_uri&scope&state&code_challenge&code_challenge_method=S256`
 *   serves a small login page. Open mode: the user picks a tenant (GUID or domain) and a name; strict
 *   mode (`--identities`): user name and password, checked against the file.
 * - `POST /{tenant}/oauth2/v2.0/authorize` (that page's form) issues a one-time code, valid for five
 *   minutes and bound to client_id, redirect_uri, code_challenge, tenant, user and scope, and redirects
 *   to `redirect_uri?code=…&state=…` (or the fragment with `response_mode=fragment`).
 *
 * The token endpoint redeems the code (`grant_type=authorization_code`, grants.ts) through
 * {@link AuthorizationCodes.redeem}. Codes live in this process's memory: with `--workers` or several
 * instances, a code must be redeemed at the process that issued it (sticky sessions).
 *
 * redirect_uri must be http(s) on this server's own host (the host of --public-url when set, else the
 * request's Host) or on a loopback host. The console's client id
 * ({@link CONSOLE_CLIENT_ID}) is a built-in public client: in strict mode it needs no entry in the
 * identity file (an entry with that id replaces the built-in one) and has
 * DeviceManagementConfiguration.ReadWrite.All admin-consented.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { READ_WRITE_ALL } from '../identity/claims.js';
import type { Clock } from '../time.js';
import { OAuthError, oauthErrors } from './errors.js';
import type { CodeRedeemer } from './grants.js';
import { derivedObjectId, type AppIdentity, type IdentityDirectory, type UserIdentity } from './identities.js';

/** The client id of Enrollgraph's own web console (/console). */
export const CONSOLE_CLIENT_ID = 'e7a1c0de-5a1e-4c0a-8d3e-c0a501e00001';

/** Lifetime of an authorization code, microseconds. */
const CODE_LIFETIME_US = 5 * 60 * 1e6;
/** Most codes outstanding at once. */
const MAX_CODES = 10_000;

interface IssuedCode {
  tenantId: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
  upn: string;
  scope: string;
  expiresUs: number;
}

const invalidGrant = (aadsts: number, description: string) => new OAuthError(400, 'invalid_grant', aadsts, description);

export class AuthorizationCodes implements CodeRedeemer {
  private readonly codes = new Map<string, IssuedCode>();

  constructor(
    readonly identities: IdentityDirectory,
    private readonly clock: Clock,
  ) {}

  /** The client app in a tenant: the identity directory's, or the built-in console client. */
  app(tenantId: string, clientId: string): AppIdentity {
    if (this.identities.mode === 'strict' && clientId.toLowerCase() === CONSOLE_CLIENT_ID && !this.identities.hasApp(tenantId, clientId)) {
      return {
        clientId: CONSOLE_CLIENT_ID,
        displayName: 'Enrollgraph console',
        servicePrincipalId: derivedObjectId(tenantId, 'sp', CONSOLE_CLIENT_ID),
        authenticate: (secret) => {
          if (secret !== undefined) throw oauthErrors.publicClientWithSecret();
          return 'public';
        },
        applicationPermissions: [],
        delegatedScopes: [READ_WRITE_ALL],
      };
    }
    return this.identities.app(tenantId, clientId);
  }

  issue(code: Omit<IssuedCode, 'expiresUs'>): string {
    const now = this.clock.nowUs();
    for (const [k, v] of this.codes) if (v.expiresUs <= now) this.codes.delete(k);
    // At most MAX_CODES outstanding: the oldest go first (a Map iterates in insertion order).
    for (const k of this.codes.keys()) {
      if (this.codes.size < MAX_CODES) break;
      this.codes.delete(k);
    }
    const value = randomBytes(32).toString('base64url');
    this.codes.set(value, { ...code, expiresUs: now + CODE_LIFETIME_US });
    return value;
  }

  redeem(params: Record<string, string>, urlTenant: string | undefined): { tenantId: string; app: AppIdentity; user: UserIdentity; scope: string } {
    for (const name of ['client_id', 'code', 'redirect_uri', 'code_verifier']) if (!params[name]) throw oauthErrors.missingParameter(name);
    const issued = this.codes.get(params.code!);
    // One-time: a code is gone at its first redemption, whatever its outcome.
    this.codes.delete(params.code!);
    if (!issued || issued.expiresUs <= this.clock.nowUs()) {
      throw invalidGrant(70008, 'The provided authorization code is invalid, expired or has already been redeemed.');
    }
    if (issued.clientId.toLowerCase() !== params.client_id!.toLowerCase()) {
      throw invalidGrant(70000, 'The provided authorization code was issued to another client.');
    }
    if (issued.redirectUri !== params.redirect_uri) {
      throw invalidGrant(500112, 'The reply address does not match the reply address provided when requesting the authorization code.');
    }
    if (urlTenant !== undefined && urlTenant !== issued.tenantId) {
      throw invalidGrant(70000, 'The provided authorization code was issued for another tenant.');
    }
    if (pkceChallenge(params.code_verifier!) !== issued.challenge) {
      throw invalidGrant(50148, 'The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.');
    }
    const app = this.app(issued.tenantId, issued.clientId);
    app.authenticate(params.client_secret === '' ? undefined : params.client_secret, true);
    const user = this.identities.user(issued.tenantId, issued.upn);
    if (!user) throw oauthErrors.userNotFound(issued.tenantId);
    return { tenantId: issued.tenantId, app, user, scope: issued.scope };
  }
}

/** BASE64URL(SHA256(verifier)) — RFC 7636 S256. */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** The authorize request's parameters, from the query (GET) or the login form (POST). */
interface AuthorizeParams {
  client_id: string;
  redirect_uri: string;
  scope: string;
  state: string;
  code_challenge: string;
  code_challenge_method: string;
  response_mode: string;
  login_hint: string;
}

const PARAM_NAMES: (keyof AuthorizeParams)[] = [
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'response_mode',
  'login_hint',
];

class PageError extends Error {}

/** Registers GET and POST `/{tenant}/oauth2/v2.0/authorize` on the authority plugin. */
export function registerAuthorize(fastify: FastifyInstance, opts: { codes: AuthorizationCodes; tenantRoute: string; publicUrl: string | undefined }): void {
  const { codes } = opts;
  // With --public-url the server knows its own host: a Host header does not get to say otherwise.
  const publicHost = opts.publicUrl === undefined ? undefined : new URL(opts.publicUrl).host;
  const identities = codes.identities;
  const open = identities.mode === 'open';

  /** Checks the request parameters; a problem here is shown on a page (never redirected to an unchecked URI). */
  const check = (req: FastifyRequest, source: Record<string, unknown>): AuthorizeParams => {
    const p = {} as AuthorizeParams;
    for (const n of PARAM_NAMES) p[n] = typeof source[n] === 'string' ? (source[n] as string) : '';
    const responseType = typeof source.response_type === 'string' ? source.response_type : 'code';
    if (!p.client_id) throw new PageError("The request must contain the parameter 'client_id'.");
    if (!p.redirect_uri) throw new PageError("The request must contain the parameter 'redirect_uri'.");
    let uri: URL;
    try {
      uri = new URL(p.redirect_uri);
    } catch {
      throw new PageError('redirect_uri is not an absolute URL.');
    }
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(uri.hostname);
    if (!['http:', 'https:'].includes(uri.protocol) || uri.hash !== '' || (!loopback && uri.host !== (publicHost ?? req.host))) {
      throw new PageError('redirect_uri must be an http(s) URL on this server or on a loopback host, without a fragment.');
    }
    if (responseType !== 'code') throw new PageError("Only response_type 'code' is supported.");
    if (!p.code_challenge) throw new PageError('PKCE is required: the request must contain code_challenge (S256).');
    if (p.code_challenge_method !== 'S256') throw new PageError("code_challenge_method must be 'S256'.");
    if (!/^[A-Za-z0-9_-]{43}$/.test(p.code_challenge)) throw new PageError('code_challenge is not a base64url SHA-256 value.');
    if (!p.scope.trim()) p.scope = 'openid profile';
    if (p.response_mode && !['query', 'fragment'].includes(p.response_mode)) throw new PageError("response_mode must be 'query' or 'fragment'.");
    return p;
  };

  const route = `/${opts.tenantRoute}/oauth2/v2.0/authorize`;

  fastify.get(route, async (req, reply) => {
    const { tenant } = req.params as { tenant: string };
    let p: AuthorizeParams;
    try {
      p = check(req, req.query as Record<string, unknown>);
      const tid = identities.resolveTenant(tenant, 'invalid_request');
      if (tid !== undefined) codes.app(tid, p.client_id);
    } catch (err) {
      return sendPage(reply.code(400), errorPage(message(err)));
    }
    const guess = MULTI.includes(tenant.toLowerCase()) ? (p.login_hint.split('@')[1] ?? '') : tenant;
    return sendPage(reply, loginPage({ params: p, open, tenant: guess, user: p.login_hint, error: '' }));
  });

  fastify.post(route, async (req, reply) => {
    const { tenant } = req.params as { tenant: string };
    const form = (req.body ?? {}) as Record<string, string>;
    let p: AuthorizeParams;
    try {
      p = check(req, form);
    } catch (err) {
      return sendPage(reply.code(400), errorPage(message(err)));
    }
    const formTenant = (form.tenant ?? '').trim();
    let user = (form.username ?? '').trim();
    try {
      if (!user) throw new PageError('Enter a user name.');
      let tenantId: string | undefined;
      if (open) {
        if (!formTenant) throw new PageError('Enter a tenant: a GUID or a domain name.');
        tenantId = identities.resolveTenant(formTenant, 'invalid_request');
        if (tenantId === undefined) throw new PageError('Enter a specific tenant, not common or organizations.');
        if (!user.includes('@')) user = `${user}@${formTenant.includes('.') ? formTenant.toLowerCase() : 'enrollgraph.local'}`;
      } else {
        tenantId = identities.resolveTenant(tenant, 'invalid_request') ?? identities.tenantOfUser(user);
        const known = identities.user(tenantId, user);
        if (!known || !known.checkPassword(form.password ?? '')) throw oauthErrors.wrongPassword();
        user = known.upn;
      }
      codes.app(tenantId, p.client_id);
      const code = codes.issue({ tenantId, clientId: p.client_id, redirectUri: p.redirect_uri, challenge: p.code_challenge, upn: user, scope: p.scope });
      const answer = new URLSearchParams({ code, ...(p.state ? { state: p.state } : {}) });
      const target = new URL(p.redirect_uri);
      if (p.response_mode === 'fragment') target.hash = answer.toString();
      else for (const [k, v] of answer) target.searchParams.set(k, v);
      return reply.header('Cache-Control', 'no-store').redirect(target.toString(), 302);
    } catch (err) {
      if (!(err instanceof PageError) && !(err instanceof OAuthError)) throw err;
      return sendPage(reply.code(400), loginPage({ params: p, open, tenant: formTenant || tenant, user, error: message(err) }));
    }
  });
}

const MULTI = ['common', 'organizations'];

function message(err: unknown): string {
  if (err instanceof OAuthError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendPage(reply: FastifyReply, html: string): FastifyReply {
  return reply
    .header('Content-Type', 'text/html; charset=utf-8')
    .header('Cache-Control', 'no-store')
    .header('X-Frame-Options', 'DENY')
    .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
    .send(html);
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f3f4f6;color:#111827}
main{max-width:26rem;margin:6vh auto;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin:0 0 .25rem}
p{margin:.25rem 0 1rem;color:#374151}
label{display:block;font-weight:600;margin-top:1rem}
input{display:block;width:100%;font:inherit;padding:.5rem;margin-top:.25rem;border:1px solid #6b7280;border-radius:.25rem}
input:focus,button:focus{outline:3px solid #2563eb;outline-offset:2px}
.hint{font-size:.875rem;color:#4b5563;margin:.25rem 0 0}
button{margin-top:1.5rem;font:inherit;font-weight:600;padding:.6rem 1.2rem;border:0;border-radius:.25rem;background:#1d4ed8;color:#fff;cursor:pointer}
.error{background:#fef2f2;border:1px solid #b91c1c;color:#7f1d1d;padding:.5rem .75rem;border-radius:.25rem}
`;

function shell(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

function errorPage(msg: string): string {
  return shell('Sign-in error', `<h1>Sign-in error</h1><p class="error" role="alert">${esc(msg)}</p>`);
}

function loginPage(o: { params: AuthorizeParams; open: boolean; tenant: string; user: string; error: string }): string {
  const hidden = PARAM_NAMES.filter((n) => n !== 'login_hint' && o.params[n] !== '')
    .map((n) => `<input type="hidden" name="${n}" value="${esc(o.params[n])}">`)
    .join('');
  const fields = o.open
    ? `<label for="tenant">Tenant</label>
<input id="tenant" name="tenant" required autocomplete="organization" value="${esc(o.tenant)}" aria-describedby="tenant-hint">
<p class="hint" id="tenant-hint">A tenant GUID or a domain name, e.g. contoso.com.</p>
<label for="username">Name</label>
<input id="username" name="username" required autocomplete="username" value="${esc(o.user)}" aria-describedby="user-hint">
<p class="hint" id="user-hint">Any name (open mode: no password).</p>`
    : `<label for="username">User name</label>
<input id="username" name="username" type="email" required autocomplete="username" value="${esc(o.user)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="current-password">`;
  return shell(
    'Sign in – Enrollgraph',
    `<h1>Sign in</h1><p>to Enrollgraph's local authority${o.open ? ' (open mode: any tenant, any user)' : ''}.</p>
${o.error ? `<p class="error" role="alert">${esc(o.error)}</p>` : ''}
<form method="post">${hidden}${fields}<button type="submit">Sign in</button></form>`,
  );
}
