import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { authorityPlugin } from './authority/plugin.js';
import { drainOnClose } from './http-drain.js';
import type { Config } from './config.js';
import { registerControl } from './control/http.js';
import { ControlPlane } from './control/plane.js';
import { EntityService } from './domain/entities.js';
import { behaviours } from './domain/registry.js';
import { EnrollmentTokens } from './enrollment/tokens.js';
import { QrRenderer } from './enrollment/qr-renderer.js';
import { errors } from './graph/errors.js';
import { HttpPipeline } from './graph/http.js';
import { GraphService } from './graph/service.js';
import { KeyRing } from './identity/keys.js';
import { mintAccessToken, type MintOptions } from './identity/mint.js';
import { ENTITIES } from './model/registry.js';
import { managedPlaySignupPage } from './pages/managed-play-signup.js';
import { TokenVerifier } from './identity/verify.js';
import type { SigningKeyRecord, Store } from './store/store.js';
import type { Clock } from './time.js';

/** Log levels at which every request gets an access-log line. */
const ACCESS_LOG_LEVELS = ['trace', 'debug', 'info'];

export interface AppDeps {
  store: Store;
  clock?: Clock;
  /** Serve https with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** The first signing key of a new store, still being made: the app is built meanwhile. */
  firstKey?: Promise<SigningKeyRecord>;
}

export interface App {
  fastify: FastifyInstance;
  keys: KeyRing;
  /** Entities of every kind (src/domain/). */
  entities: EntityService;
  /** The Graph protocol, framework-free (the HTTP pipeline, src/graph/http.ts, serves it). */
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
  const keys = KeyRing.opening(store, clock, deps.firstKey); // awaited once the app is built
  const verifier = new TokenVerifier(keys, clock, config.trustedIssuers);
  const qr = new QrRenderer({ threads: config.qrThreads, cacheSize: 1024 });
  const domain = behaviours({ store, settings: control.controlStore, clock });
  const tokenRules = new Map([...domain.behaviours].flatMap(([type, b]) => (b.tokens ? [[type, b.tokens] as const] : [])));
  const entities = new EntityService(store, clock, new EnrollmentTokens(store, clock, qr, tokenRules), ENTITIES, domain.behaviours);
  const graph = new GraphService({ store, verifier, entities, policy: { allowAppOnly: config.allowAppOnly },
    paging: { pageSize: config.pageSize, maxPageSize: config.maxPageSize, secret: () => keys.deriveSecret('skiptoken') },
    onCall: control.onCall,
  });

  const pipeline = new HttpPipeline({
    graph, control, bodyLimit: config.bodyLimit, bodyTimeoutMs: config.bodyTimeoutMs, publicUrl: config.publicUrl, tls: deps.tls !== undefined,
    accessLog: ACCESS_LOG_LEVELS.includes(config.logLevel),
  });

  // Node's own limits on how long a request may take to arrive (408 past them, src/graph/http.ts).
  const requestTimeout = config.requestTimeoutMs;
  const headersTimeout = Math.min(config.headersTimeoutMs, requestTimeout);
  const serverOptions = {
    headersTimeout,
    requestTimeout,
    // How often node looks for requests past those limits (its default, 30 s, would double a 30 s limit).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 2))),
    // The pipeline answers a missing Host in the Graph envelope (node's own answer is a bare 400).
    requireHostHeader: false,
  };
  const serverFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void, opts: { keepAliveTimeout?: number }) => {
    const options = { ...serverOptions, ...(opts.keepAliveTimeout !== undefined ? { keepAliveTimeout: opts.keepAliveTimeout } : {}) };
    return deps.tls ? createHttpsServer({ ...options, cert: deps.tls.cert, key: deps.tls.key }, handler) : createHttpServer(options, handler);
  };

  const fastify = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    // No child logger per request (pino builds one in about a microsecond): lines name their request themselves.
    childLoggerFactory: (logger) => logger,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, caseSensitive: true },
    ...pipeline.fastifyOptions(),
    // No route has a schema, so ajv and fast-json-stringify (much of Fastify's load time) load on first need only.
    schemaController: { compilersFactory: { buildValidator: lazyCompiler('@fastify/ajv-compiler') as never, buildSerializer: lazyCompiler('@fastify/fast-json-stringify-compiler') as never } },
    serverFactory,
  });

  const drain = drainOnClose(fastify);
  pipeline.install(fastify);

  fastify.get('/healthz', async (_req, reply) => reply.type('application/json').send({ status: 'ok' }));
  fastify.get('/readyz', async (req, reply) => {
    try {
      await store.ping();
      return reply.type('application/json').send({ status: 'ready', store: store.kind });
    } catch (err) {
      req.log.warn({ err, requestId: req.id }, 'store not ready');
      throw errors.serviceUnavailable(1);
    }
  });

  // The local Entra-style authority (/{tenant}/oauth2/v2.0/token, discovery, keys): src/authority/.
  fastify.register(authorityPlugin, {
    keys, store, clock, identitiesFile: config.identitiesFile, publicUrl: config.publicUrl, bodyParser: (parse) => pipeline.bodyParser(parse),
  });
  // /_admin/ (control API), /enrollment/android/enroll (devices), /metrics, and the request journal: src/control/.
  const mintToken = (opts: Omit<MintOptions, 'nowSeconds'>) => mintAccessToken(keys, { ...opts, nowSeconds: Math.floor(clock.nowUs() / 1e6) });
  registerControl(fastify, control, (limit) => pipeline.bodyParser(undefined, limit), mintToken);
  fastify.register(import('./console/plugin.js')); // the web console at /console/ (src/console/, console/)
  fastify.register(managedPlaySignupPage, { managedPlay: domain.managedPlay }); // the stand-in for Google's signup page
  fastify.get('/', async (_req, reply) => reply.redirect('/console/', 302)); // a browser pointed at the server finds the console

  await fastify.ready();
  await keys.ready;
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

/** One of Fastify's schema compilers, loaded when a route with a schema first needs it. */
function lazyCompiler(id: string): (...args: unknown[]) => unknown {
  let build: ((...args: unknown[]) => unknown) | undefined;
  return (...args) => {
    build ??= (createRequire(createRequire(import.meta.url).resolve('fastify'))(id) as () => (...a: unknown[]) => unknown)();
    return build(...args);
  };
}
