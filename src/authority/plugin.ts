/**
 * The local authority's HTTP endpoints, in the shape of Entra ID's v2.0 endpoints, on the Graph
 * server itself (no Graph bearer token needed):
 *
 * - `GET  /{tenant}/v2.0/.well-known/openid-configuration`
 * - `GET  /{tenant}/discovery/v2.0/keys`            — the KeyRing's JWKS (the keys that sign Graph tokens)
 * - `POST /{tenant}/oauth2/v2.0/token`               — form-encoded; see grants.ts
 *
 * `{tenant}` is a GUID or a domain name (and `common`/`organizations` for the password grant). The
 * routes are an encapsulated Fastify plugin: its own body parser (form-encoded) and error handler
 * (OAuth format) apply to these routes only. A `{tenant}` that looks like a Graph version (`v1.0`,
 * `beta`) never matches, so those paths stay with the Graph routes.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { GraphError } from '../graph/errors.js';
import { mediaType, type BodyParse, type BodyParser } from '../graph/http.js';
import type { KeyRing } from '../identity/keys.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../time.js';
import { AuthorizationCodes, registerAuthorize } from './authorize.js';
import { OAuthError, oauthErrorBody, oauthErrors } from './errors.js';
import { TokenService, type TokenRequest } from './grants.js';
import { IdentityDirectory } from './identities.js';

export interface AuthorityOptions {
  keys: KeyRing;
  store: Store;
  clock: Clock;
  /** The identity file; undefined = open mode. */
  identitiesFile: string | undefined;
  /** Base URL of the endpoints in the discovery document; default: from the request. */
  publicUrl: string | undefined;
  /** The server's body reader (limit, timeout) with this plugin's own parsing: see HttpPipeline.bodyParser. */
  bodyParser(parse: BodyParse): BodyParser;
}

/** A path segment for `{tenant}` that is not a Graph version segment (`v1.0`, `beta`, `v2`, …). */
const TENANT = ':tenant(^(?![vV]\\d|[bB][eE][tT][aA]$)[^/]+$)';

const JSON_TYPE = 'application/json; charset=utf-8';

export const authorityPlugin: FastifyPluginAsync<AuthorityOptions> = async (fastify, opts) => {
  const identities = opts.identitiesFile !== undefined ? IdentityDirectory.fromFile(opts.identitiesFile) : IdentityDirectory.open();
  for (const { tenantId, licensed } of identities.licensing) await opts.store.setTenantLicensed(tenantId, licensed);
  const codes = new AuthorizationCodes(identities, opts.clock);
  const tokens = new TokenService(opts.keys, identities, opts.clock, codes);

  // Form bodies only; any other body reads as no parameters (so the answer is a missing-parameter error).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', opts.bodyParser((contentType, raw) =>
    mediaType(contentType) === 'application/x-www-form-urlencoded' ? Object.fromEntries(new URLSearchParams(raw.toString('utf8'))) : undefined));

  fastify.setErrorHandler((err, req, reply) => {
    let oauth: OAuthError;
    if (err instanceof OAuthError) oauth = err;
    // What the HTTP pipeline refused (a repeated Authorization header, a body too large or too slow), in OAuth's format.
    else if (err instanceof GraphError && err.status < 500) oauth = oauthErrors.refusedRequest(err.status, err.message);
    else if (typeof (err as { statusCode?: number }).statusCode === 'number' && (err as { statusCode: number }).statusCode < 500) {
      oauth = oauthErrors.unreadableBody();
    } else {
      req.log.error({ err, requestId: req.id }, 'authority error');
      oauth = oauthErrors.internal();
    }
    return sendOAuthError(reply, req, oauth);
  });

  const baseUrl = (req: FastifyRequest) => opts.publicUrl ?? `${req.protocol}://${req.host}`;

  fastify.get(`/${TENANT}/v2.0/.well-known/openid-configuration`, async (req, reply) => {
    const { tenant } = req.params as { tenant: string };
    const tid = identities.resolveTenant(tenant, 'invalid_tenant');
    const base = baseUrl(req);
    const path = `${base}/${tenant}`;
    return sendJson(reply, {
      token_endpoint: `${path}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      jwks_uri: `${path}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/${tid ?? '{tenantid}'}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${path}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${path}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${path}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'name', 'oid', 'tid', 'preferred_username', 'ver'],
      grant_types_supported: ['authorization_code', 'client_credentials', 'password', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
      code_challenge_methods_supported: ['S256'],
      tenant_region_scope: 'NA',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    });
  });

  fastify.get(`/${TENANT}/discovery/v2.0/keys`, async (req, reply) => {
    const { tenant } = req.params as { tenant: string };
    identities.resolveTenant(tenant, 'invalid_tenant');
    return sendJson(reply, opts.keys.jwks);
  });

  fastify.post(`/${TENANT}/oauth2/v2.0/token`, async (req, reply) => {
    const { tenant } = req.params as { tenant: string };
    const params = (req.body ?? {}) as Record<string, string>;
    const request: TokenRequest = { tenant, params, baseUrl: baseUrl(req) };
    const basic = basicAuth(req.headers.authorization);
    if (basic) request.basic = basic;
    const body = await tokens.token(request);
    return sendJson(reply.header('Pragma', 'no-cache'), body);
  });

  // Authorization code + PKCE: the login page and its form (authorize.ts).
  registerAuthorize(fastify, { codes, tenantRoute: TENANT, publicUrl: opts.publicUrl });

  fastify.get(`/${TENANT}/oauth2/v2.0/token`, async (req) => {
    throw oauthErrors.postOnly(req.method);
  });
};

/** `Authorization: Basic base64(urlencode(client_id):urlencode(secret))` (RFC 6749 §2.3.1). */
function basicAuth(header: string | undefined): { clientId: string; secret: string } | undefined {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return { clientId: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

function correlationId(req: FastifyRequest): string {
  const q = (req.query as Record<string, unknown> | undefined)?.['client-request-id'];
  if (typeof q === 'string' && q !== '') return q;
  const h = req.headers['client-request-id'];
  return typeof h === 'string' && h !== '' ? h : req.id;
}

function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply
    .header('Cache-Control', 'no-store, no-cache')
    .header('x-ms-request-id', reply.request.id)
    .header('Content-Type', JSON_TYPE)
    .send(JSON.stringify(body));
}

function sendOAuthError(reply: FastifyReply, req: FastifyRequest, err: OAuthError): FastifyReply {
  return sendJson(reply.code(err.status), oauthErrorBody(err, req.id, correlationId(req), new Date()));
}
