import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { authorityPlugin } from './authority/plugin.js';
import { drainOnClose } from './http-drain.js';
import type { Config } from './config.js';
import { dropConnection, registerControl } from './control/http.js';
import { ControlPlane } from './control/plane.js';
import { ConnectionDrop } from './faults/rules.js';
import { behaviours } from './domain/registry.js';
import { managedPlaySignupPage } from './pages/managed-play-signup.js';
import { EntityService } from './domain/entities.js';
import { EnrollmentTokens } from './enrollment/tokens.js';
import { QrRenderer } from './enrollment/qr-renderer.js';
import { errorBody, errors, fromProblem, GraphError } from './graph/errors.js';
import { JSON_CONTENT_TYPE } from './graph/serialize.js';
import { GraphService } from './graph/service.js';
import { ENTITIES } from './model/registry.js';
import { GraphFront, graphHeaderPairs, jsonBody } from './graph/http.js';
import { KeyRing } from './identity/keys.js';
import { mintAccessToken, type MintOptions } from './identity/mint.js';
import { TokenVerifier } from './identity/verify.js';
import { StoreUnavailableError } from './store/errors.js';
import type { Store } from './store/store.js';
import type { Clock } from './time.js';

declare module 'fastify' {
  interface FastifyRequest {
    clientRequestId: string;
  }
}

/** Log levels at which every request gets an access-log line. */
const ACCESS_LOG_LEVELS = ['trace', 'debug', 'info'];

export interface AppDeps {
  store: Store;
  clock?: Clock;
  /** Serve https with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

export interface App {
  fastify: FastifyInstance;
  keys: KeyRing;
  entities: EntityService;
  /** The Graph protocol, framework-free (GraphFront serves it over HTTP). */
  graph: GraphService;
  /** Throttling, clock, faults, enrollment and the control API (src/control/). */
  control: ControlPlane;
  /** Mints an access token this server accepts, on the server's clock (`POST /_admin/tokens`, `startServer().mintToken`). */
  mintToken(opts: Omit<MintOptions, 'nowSeconds'>): Promise<string>;
  /** Closes the HTTP server (waiting for in-flight requests), the QR workers and the store. */
  close(): Promise<void>;
}

/** Builds the HTTP application on a store (no listen): the server and the tests build it the same way. */
export async function buildApp(config: Config, deps: AppDeps): Promise<App> {
  const { store } = deps;
  // The server's "now" is the control plane's clock (frozen, set and advanced through /_admin/clock).
  const control = await ControlPlane.open(store, config.storage, config.control, deps.clock);
  const clock = control.clock;
  const keys = await KeyRing.open(store, clock);
  const verifier = new TokenVerifier(keys, clock, config.trustedIssuers);
  const qr = new QrRenderer({ threads: config.qrThreads, cacheSize: 1024 });
  const domain = behaviours({ store, settings: control.controlStore, clock });
  const tokenRules = new Map([...domain.behaviours].flatMap(([type, b]) => (b.tokens ? [[type, b.tokens] as const] : [])));
  const entities = new EntityService(store, clock, new EnrollmentTokens(store, clock, qr, tokenRules), ENTITIES, domain.behaviours);
  const graph = new GraphService({ store, verifier, entities, policy: { allowAppOnly: config.allowAppOnly },
    paging: { pageSize: config.pageSize, maxPageSize: config.maxPageSize, secret: keys.deriveSecret('skiptoken') },
    onCall: control.onCall,
  });

  const fixedHeaders = graphHeaderPairs(deps.tls !== undefined);
  const graphHeaders = (req: FastifyRequest, reply: FastifyReply) => {
    const given = req.headers['client-request-id'];
    req.clientRequestId = typeof given === 'string' && given !== '' ? given : req.id;
    reply.header('request-id', req.id);
    reply.header('client-request-id', req.clientRequestId);
    for (const [name, value] of fixedHeaders) reply.header(name, value);
  };

  // Graph paths are answered by the GraphFront (src/graph/http.ts) straight from node:http; the rest
  // of the server goes through Fastify. `front` is set once Fastify's logger exists.
  let front: GraphFront | undefined;
  const serverFactory = (fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void, opts: { keepAliveTimeout?: number; requestTimeout?: number }) => {
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      if (front && GraphFront.claims(req.url ?? '/')) front.handle(req, res);
      else fastifyHandler(req, res);
    };
    const server = deps.tls ? createHttpsServer({ cert: deps.tls.cert, key: deps.tls.key }, listener) : createHttpServer(listener);
    if (opts.keepAliveTimeout !== undefined) server.keepAliveTimeout = opts.keepAliveTimeout;
    if (opts.requestTimeout !== undefined) server.requestTimeout = opts.requestTimeout;
    return server;
  };

  const fastify = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, caseSensitive: true },
    // Errors the router raises before any hook runs (a malformed URL) still get Graph's headers and envelope.
    frameworkErrors: (err, req, reply) => {
      graphHeaders(req, reply);
      const graphErr = err.code === 'FST_ERR_BAD_URL' ? errors.badRequest('The request URL is not correctly percent-encoded.') : toGraphError(err, req, config.bodyLimit);
      void sendError(reply, req, graphErr);
    },
    serverFactory,
    schemaController: { compilersFactory: { buildValidator: lazyCompiler('@fastify/ajv-compiler') as never, buildSerializer: lazyCompiler('@fastify/fast-json-stringify-compiler') as never } },
  });

  // Graph's headers on every response, errors included.
  const drain = drainOnClose(fastify);

  fastify.addHook('onRequest', (req, reply, done) => {
    graphHeaders(req, reply);
    done();
  });

  // One access-log line per request at level info (and below); no hook at all when it would log nothing.
  if (ACCESS_LOG_LEVELS.includes(config.logLevel)) {
    fastify.addHook('onResponse', (req, reply, done) => {
      req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
      done();
    });
  }

  // JSON bodies: an empty body is "no body" (SDKs send Content-Length 0 with a JSON Content-Type).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(['application/json'], { parseAs: 'string' }, (req, body, done) => {
    try {
      done(null, jsonBody(req.headers['content-type'] ?? '', body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    if ((body as Buffer).length === 0) return done(null, undefined);
    done(errors.unsupportedMediaType(req.headers['content-type'] ?? ''), undefined);
  });

  fastify.setErrorHandler((err, req, reply) => {
    if (err instanceof ConnectionDrop) return dropConnection(control, req, reply);
    return sendError(reply, req, toGraphError(err, req, config.bodyLimit));
  });
  fastify.setNotFoundHandler((req, reply) => sendError(reply, req, errors.noRoute(req.method, req.url.split('?')[0]!)));

  fastify.get('/healthz', async (_req, reply) => reply.type('application/json').send({ status: 'ok' }));
  fastify.get('/readyz', async (req, reply) => {
    try {
      await store.ping();
      return reply.type('application/json').send({ status: 'ready', store: store.kind });
    } catch (err) {
      req.log.warn({ err }, 'store not ready');
      return sendError(reply, req, errors.serviceUnavailable(1));
    }
  });

  front = new GraphFront({
    graph, control, log: fastify.log, bodyLimit: config.bodyLimit, publicUrl: config.publicUrl, tls: deps.tls !== undefined,
    accessLog: ACCESS_LOG_LEVELS.includes(config.logLevel), closing: drain.closing,
  });
  // The local Entra-style authority (/{tenant}/oauth2/v2.0/token, discovery, keys): src/authority/.
  fastify.register(authorityPlugin, { keys, store, clock, identitiesFile: config.identitiesFile, publicUrl: config.publicUrl });
  // /_admin/ (control API), /enrollment/android/enroll (devices), /metrics, and the request journal: src/control/.
  const mintToken = (opts: Omit<MintOptions, 'nowSeconds'>) => mintAccessToken(keys, { ...opts, nowSeconds: Math.floor(clock.nowUs() / 1e6) });
  registerControl(fastify, control, mintToken);
  fastify.register(import('./console/plugin.js')); // the web console at /console/ (src/console/, console/)
  fastify.register(managedPlaySignupPage, { managedPlay: domain.managedPlay }); // the stand-in for Google's signup page
  fastify.get('/', async (_req, reply) => reply.redirect('/console/', 302)); // a browser pointed at the server finds the console

  await fastify.ready();
  return {
    fastify,
    keys,
    entities,
    graph,
    control,
    mintToken,
    async close() {
      const stopDraining = drain.start(); // see http-drain.ts: keep-alive connections must not hold close() up
      try {
        await fastify.close();
      } finally {
        stopDraining();
      }
      entities.close();
      await qr.close();
      await control.close();
      await store.close();
    },
  };
}

/**
 * One of Fastify's schema compilers, loaded when a route with a schema first needs it. No route has
 * one, so ajv and fast-json-stringify (a good part of Fastify's load time) stay unloaded.
 */
function lazyCompiler(id: string): (...args: unknown[]) => unknown {
  let build: ((...args: unknown[]) => unknown) | undefined;
  return (...args) => {
    build ??= (createRequire(createRequire(import.meta.url).resolve('fastify'))(id) as () => (...a: unknown[]) => unknown)();
    return build(...args);
  };
}

function toGraphError(err: unknown, req: FastifyRequest, bodyLimit: number): GraphError {
  const known = fromProblem(err);
  if (known) return known;
  if (err instanceof StoreUnavailableError) {
    req.log.warn({ err: err.message }, 'store unavailable');
    return errors.serviceUnavailable(err.retryAfterSeconds);
  }
  const e = err as { code?: string; statusCode?: number };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(req.headers['content-type'] ?? '');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.unreadableBody('The request body could not be read.');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new GraphError(e.statusCode, 'BadRequest', 'The request could not be read.');
  }
  req.log.error({ err }, 'unhandled error');
  return errors.internal();
}

function sendError(reply: FastifyReply, req: FastifyRequest, err: GraphError): FastifyReply {
  return reply
    .code(err.status)
    .headers(err.headers)
    .header('Content-Type', JSON_CONTENT_TYPE)
    .send(errorBody(err, req.id, req.clientRequestId ?? req.id, new Date()));
}
