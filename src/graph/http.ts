/**
 * The one HTTP pipeline, for every route (Graph, the authority, the control API, enrollment, the
 * console, health): request ids and Graph's headers, request bodies (limit, idle timeout, media type,
 * JSON nesting depth), the error envelope, framing errors of node's HTTP parser written in that same
 * envelope, the access log line, the request journal and metrics, and the `drop` fault.
 *
 * Graph paths (`/{version}/…`) are one catch-all Fastify route that hands a framework-free
 * GraphRequest to GraphService; every other route is an ordinary Fastify route.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { ControlPlane } from '../control/plane.js';
import { ConnectionDrop } from '../faults/rules.js';
import { StoreUnavailableError } from '../store/errors.js';
import { errorBody, errors, fromProblem, GraphError } from './errors.js';
import { parseJson } from './json.js';
import { JSON_CONTENT_TYPE } from './serialize.js';
import { GraphService, type GraphRequest } from './service.js';

declare module 'fastify' {
  interface FastifyRequest {
    clientRequestId: string;
    /** The Graph call, on Graph paths (its `caller` names tenant and operation for the journal). */
    graph: GraphRequest | undefined;
  }
}

/** The x-ms-ags-diagnostic header the live service sends, with this server's values. */
export const DIAGNOSTIC = JSON.stringify({ ServerInfo: { DataCenter: 'Local', Slice: 'E', Ring: '0', ScaleUnit: '000', RoleInstance: 'enrollgraph' } });

/** The headers of every response after request-id and client-request-id. */
export function graphHeaderPairs(tls: boolean): [string, string][] {
  const pairs: [string, string][] = [['odata-version', '4.0'], ['x-ms-ags-diagnostic', DIAGNOSTIC], ['cache-control', 'no-cache']];
  if (tls) pairs.push(['strict-transport-security', 'max-age=31536000']);
  return pairs;
}

/** Node's limit on the request line and headers together (its default `maxHeaderSize`). */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * How long a connection closed after its answer (a framing error, a refused body) stays open for the
 * client to read that answer, in ms: it is half-closed at once, destroyed after this.
 */
const CLOSE_GRACE_MS = 2000;

/**
 * Closes a connection after its answer (`last`: its final bytes): FIN now, the socket itself after
 * CLOSE_GRACE_MS. Destroying a socket with unread bytes sends a reset, which makes the client's kernel
 * drop an answer its application has not read yet.
 */
function closeAfterAnswer(socket: Duplex, last?: Buffer): void {
  if (last) socket.end(last);
  else socket.end();
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

/**
 * Paths the Graph route answers: a known version, or something shaped like one (`v2.0`: answered 400
 * "Invalid version"). Only digits and dots after the `v`, so a tenant domain such as `v2cloud.com`
 * reaches the local authority's routes.
 */
const VERSION_SHAPED = /^\/(v\d+(?:\.\d+)*)(?:[/?]|$)/i;
const CLAIMED = /^\/(?:v\d+(?:\.\d+)*|beta)(?:[/?]|$)/i;

/**
 * CORS on Graph paths, as graph.microsoft.com answers a single-page app that calls it with its bearer
 * token: any origin, no credentials (the token is a header, not a cookie), and the response headers
 * Graph's own sample responses expose (the "Get profilePhoto" page: ETag, Location,
 * Preference-Applied, Content-Range, request-id, client-request-id; not Retry-After, which live Graph
 * does not expose either: microsoftgraph/microsoft-graph-docs-contrib#2011). Not on the local
 * authority: in open mode it issues a token to any caller, so CORS there would let any web page the
 * developer opens mint a token and read the local Graph with it.
 */
const CORS_EXPOSED = 'ETag, Location, Preference-Applied, Content-Range, request-id, client-request-id';
const CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE';
/** How long a browser may reuse a preflight's answer, in seconds. */
const CORS_MAX_AGE = '3600';
/** A list of header names, as a preflight's Access-Control-Request-Headers carries it. */
const HEADER_NAMES = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;

/** Paths whose requests the journal and the request metrics leave out (they watch the server). */
const isControlPath = (path: string) => path === '/metrics' || path === '/_admin' || path.startsWith('/_admin/');

/** A request from a web page of another origin (it carries Origin) to a Graph path. */
const isCorsRequest = (req: FastifyRequest) => req.headers.origin !== undefined && CLAIMED.test(req.url);

/** Turns a request body's bytes into the body a route sees (throws a GraphError to refuse it). */
export type BodyParse = (contentType: string | undefined, raw: Buffer) => unknown;
export type BodyParser = (req: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void) => void;

export interface PipelineOptions {
  graph: GraphService;
  control: ControlPlane;
  /** The largest request body, in bytes (a plugin may read its bodies with another: bodyParser). */
  bodyLimit: number;
  /** A body that sends nothing for this long is 408, in ms. */
  bodyTimeoutMs: number;
  publicUrl: string | undefined;
  tls: boolean;
  /** Log one line per request (level info and below). */
  accessLog: boolean;
}

export class HttpPipeline {
  private readonly fixedHeaders: [string, string][];
  /** Connections answered while their request's body was still arriving (see `linger`). */
  private readonly lingering = new WeakSet<Duplex>();
  /** Connections whose framing error was answered: node reports every later chunk again. */
  private readonly refused = new WeakSet<Duplex>();
  private log: FastifyBaseLogger | undefined;

  constructor(private readonly o: PipelineOptions) {
    this.fixedHeaders = graphHeaderPairs(o.tls);
  }

  /** The Fastify options this pipeline needs at construction. */
  fastifyOptions(): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler' | 'return503OnClosing'> {
    return {
      // Errors the router raises before any hook runs (a malformed URL) still get Graph's headers and envelope.
      frameworkErrors: (err, req, reply) => {
        this.stamp(req, reply);
        const e = err.code === 'FST_ERR_BAD_URL' ? errors.badRequest('The request URL is not correctly percent-encoded.') : this.toGraphError(err, req);
        void sendError(reply, req, e);
      },
      clientErrorHandler: (err, socket) => this.clientError(err, socket),
      // Requests that arrive while the server closes are answered (with `Connection: close`, http-drain.ts),
      // not refused with Fastify's own 503 body.
      return503OnClosing: false,
    };
  }

  /** Hooks, body parser, error and not-found handlers, and the Graph route, on the root instance. */
  install(fastify: FastifyInstance): void {
    const { o } = this;
    this.log = fastify.log;
    this.attach(fastify.server);
    fastify.decorateRequest('clientRequestId', '');
    fastify.decorateRequest('graph', undefined);

    fastify.addHook('onRequest', (req, reply, done) => {
      this.stamp(req, reply);
      const raw = req.raw;
      // A browser's preflight of a Graph call: answered before the token is looked at, as it carries none.
      if (raw.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined && isCorsRequest(req)) {
        const asked = req.headers['access-control-request-headers']?.trim() ?? '';
        reply.code(200).header('access-control-allow-methods', CORS_METHODS).header('access-control-max-age', CORS_MAX_AGE);
        if (HEADER_NAMES.test(asked)) reply.header('access-control-allow-headers', asked);
        void reply.send();
        return;
      }
      // Node would answer a bare 400 itself (requireHostHeader); this answers it in the envelope.
      if (raw.headers.host === undefined && raw.httpVersion === '1.1') return done(errors.badRequest('The request has no Host header.'));
      // Node keeps the first of repeated Authorization headers and drops the rest: refuse the ambiguity.
      if (repeats(raw.rawHeaders, 'authorization')) {
        return done(errors.unauthenticated('The request has more than one Authorization header.'));
      }
      done();
    });

    fastify.addHook('onResponse', (req, reply, done) => {
      if (!req.raw.complete) this.linger(req.raw);
      const path = pathOf(req.url);
      if (!isControlPath(path)) {
        o.control.recordRequest(req.method, path, reply.statusCode, reply.elapsedTime, req.id, req.clientRequestId, req.graph?.caller);
      }
      if (o.accessLog) req.log.info({ requestId: req.id, method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
      done();
    });

    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', this.bodyParser());

    fastify.setErrorHandler((err, req, reply) => {
      if (err instanceof ConnectionDrop) return this.drop(req, reply);
      const e = this.toGraphError(err, req);
      // Fastify closes the connection after any body error; only a stalled body needs that. The rest of
      // a body refused as too large is read and dropped (see `linger`), so a client still sending
      // gets its 413 and the connection stays usable.
      if (e.status !== 408) reply.removeHeader('connection');
      return sendError(reply, req, e);
    });

    const graphRoute = (req: FastifyRequest, reply: FastifyReply) => this.graphCall(req, reply);
    // Methods Fastify has no route for (PROPFIND, …) reach the not-found handler: Graph answers them too (405).
    fastify.setNotFoundHandler((req, reply) =>
      CLAIMED.test(req.url) ? graphRoute(req, reply) : sendError(reply, req, errors.noRoute(req.method, pathOf(req.url))));
    fastify.all('/*', graphRoute);
  }

  /**
   * A Fastify body parser for content type '*': reads the body within `limit` bytes (413 past it, by
   * Content-Length or by what arrives; nothing past the limit is kept) and the idle timeout (408),
   * then `parse` turns the bytes into the body. The JSON routes' parser by default.
   */
  bodyParser(parse: BodyParse = jsonRequestBody, limit = this.o.bodyLimit): BodyParser {
    const timeoutMs = this.o.bodyTimeoutMs;
    return (req, payload, done) => {
      readBody(payload, limit, timeoutMs, (err, raw) => {
        if (err) return done(err);
        let body: unknown;
        try {
          body = parse(req.headers['content-type'], raw!);
        } catch (e) {
          return done(e as Error);
        }
        done(null, body);
      });
    };
  }

  private stamp(req: FastifyRequest, reply: FastifyReply): void {
    const given = req.headers['client-request-id'];
    req.clientRequestId = typeof given === 'string' && given !== '' ? given : req.id;
    reply.header('request-id', req.id);
    reply.header('client-request-id', req.clientRequestId);
    for (const [name, value] of this.fixedHeaders) reply.header(name, value);
    if (isCorsRequest(req)) reply.header('access-control-allow-origin', '*').header('access-control-expose-headers', CORS_EXPOSED);
  }

  private async graphCall(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const url = req.url;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (!GraphService.isGraphPath(path)) {
      const version = VERSION_SHAPED.exec(path);
      throw version ? errors.badRequest(`Invalid version: ${version[1]}`) : errors.noRoute(req.method, path);
    }
    const graphReq: GraphRequest = {
      method: req.method,
      path,
      query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
      headers: req.headers as Record<string, string | undefined>,
      body: req.body,
      baseUrl: this.o.publicUrl ?? baseUrl(req.raw),
      requestId: req.id,
      clientRequestId: req.clientRequestId,
    };
    req.graph = graphReq;
    const r = await this.o.graph.handle(graphReq);
    return reply.code(r.status).headers(r.headers).send(r.body);
  }

  private toGraphError(err: unknown, req: FastifyRequest): GraphError {
    const known = fromProblem(err); // a GraphError, or a Problem of a layer below (the enrollment endpoint's refusals)
    if (known) return known;
    if (err instanceof StoreUnavailableError) {
      req.log.warn({ err: err.message, requestId: req.id }, 'store unavailable');
      return errors.serviceUnavailable(err.retryAfterSeconds);
    }
    const e = err as { code?: string; statusCode?: number };
    // A Content-Type that is not a media type at all.
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return errors.unsupportedMediaType(req.headers['content-type'] ?? '');
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return new GraphError(e.statusCode, 'BadRequest', 'The request could not be read.');
    }
    req.log.error({ err, requestId: req.id }, 'unhandled error');
    return errors.internal();
  }

  /** A `drop` fault rule: no answer at all, as when the service goes away mid-request (journaled with status 0). */
  private drop(req: FastifyRequest, reply: FastifyReply): void {
    const path = pathOf(req.url);
    if (!isControlPath(path)) this.o.control.recordRequest(req.method, path, 0, reply.elapsedTime, req.id, req.clientRequestId, req.graph?.caller);
    reply.hijack();
    req.raw.socket?.destroy();
  }

  /**
   * The request was answered while its body was still arriving (a body refused as too large, or one
   * its route does not read): what more arrives is read and dropped, so a client still sending can
   * read its answer, and once the body ends the connection carries the next request. At most twice
   * the body limit, for at most the body timeout: past either the connection is closed. (Twice: a body
   * refused by its Content-Length is answered before any of it is read, and a client sending a body
   * somewhat over the limit, as fetch does, would otherwise meet a reset instead of its 413.)
   */
  private linger(req: IncomingMessage): void {
    const socket = req.socket;
    this.lingering.add(socket);
    let left = 2 * this.o.bodyLimit;
    const stop = () => {
      clearTimeout(timer);
      req.off('data', count);
      req.off('end', stop);
      this.lingering.delete(socket);
    };
    const cut = () => {
      stop();
      req.pause(); // nothing more is read: the client's window closes
      closeAfterAnswer(socket);
    };
    const count = (chunk: Buffer) => {
      if ((left -= chunk.length) < 0) cut();
    };
    const timer = setTimeout(cut, this.o.bodyTimeoutMs);
    timer.unref();
    req.on('data', count);
    req.on('end', stop);
  }

  /**
   * Node's HTTP parser refused the request (a bad request line or header, headers over the limit,
   * malformed chunked encoding) or the request did not arrive in time: answered here in the Graph
   * envelope on the raw socket, then the connection is closed.
   */
  private clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (this.refused.has(socket)) return;
    this.refused.add(socket);
    // The response this connection is writing, if any (node's own handler looks at the same field).
    const res = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable || res?.headersSent || this.lingering.has(socket)) {
      socket.destroy();
      return;
    }
    this.refuse(socket, framingError(err), res?.req, err.code);
  }

  /**
   * Requests node answers itself, without a request event, answered here in the envelope instead: an
   * `Expect` other than 100-continue (417), and CONNECT (405; this server proxies nothing).
   */
  private attach(server: FastifyInstance['server']): void {
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      const e = errors.expectationFailed(String(req.headers.expect));
      const requestId = randomUUID();
      const clientRequestId = clientRequestIdOf(req, requestId);
      const body = errorBody(e, requestId, clientRequestId, new Date());
      res.writeHead(e.status, [...this.head(requestId, clientRequestId), 'content-type', JSON_CONTENT_TYPE, 'content-length', String(Buffer.byteLength(body))]);
      res.end(body);
      this.recordRefusal(req, e.status, requestId, clientRequestId, 'expectation');
    });
    server.on('connect', (req: IncomingMessage, socket: Duplex) => this.refuse(socket, errors.methodNotAllowed('CONNECT'), req, 'connect'));
  }

  /** Answers `e` on the raw socket and closes the connection once the client has had time to read it. */
  private refuse(socket: Duplex, e: GraphError, req: IncomingMessage | undefined, why: string | undefined): void {
    const requestId = randomUUID();
    const clientRequestId = req === undefined ? requestId : clientRequestIdOf(req, requestId);
    const body = errorBody(e, requestId, clientRequestId, new Date());
    const head = [`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}`];
    const fields = [...this.head(requestId, clientRequestId), 'content-type', JSON_CONTENT_TYPE, 'content-length', String(Buffer.byteLength(body)), 'connection', 'close'];
    for (let i = 0; i < fields.length; i += 2) head.push(`${fields[i]}: ${fields[i + 1]}`);
    head.push('', '');
    // What the client still sends meanwhile is refused again, and ignored.
    closeAfterAnswer(socket, Buffer.concat([Buffer.from(head.join('\r\n'), 'latin1'), Buffer.from(body)]));
    this.recordRefusal(req, e.status, requestId, clientRequestId, why);
  }

  /** The ids and Graph's headers, as name, value, name, value, … */
  private head(requestId: string, clientRequestId: string): string[] {
    return ['request-id', requestId, 'client-request-id', clientRequestId, ...this.fixedHeaders.flat()];
  }

  /** Journal, metrics and access log of a request answered outside Fastify (no route, no reply). */
  private recordRefusal(req: IncomingMessage | undefined, status: number, requestId: string, clientRequestId: string, why: string | undefined): void {
    const path = req?.url === undefined ? '' : pathOf(req.url);
    if (!isControlPath(path)) this.o.control.recordRequest(req?.method ?? '', path, status, 0, requestId, clientRequestId);
    if (this.o.accessLog) this.log?.info({ requestId, method: req?.method, url: req?.url, status, refused: why }, 'request');
  }
}

/** The Graph error for a framing error of node's HTTP server. */
function framingError(err: NodeJS.ErrnoException): GraphError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return errors.headersTooLarge(MAX_HEADER_BYTES);
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new GraphError(413, 'RequestEntityTooLarge', 'The chunk extensions of the request body are too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return errors.requestTimeout('The request did not arrive in time.');
  }
  const reason = (err as { reason?: string }).reason;
  return errors.badRequest(`The request is not valid HTTP/1.1${reason ? `: ${reason}` : ''}.`);
}

function sendError(reply: FastifyReply, req: FastifyRequest, err: GraphError): FastifyReply {
  return reply
    .code(err.status)
    .headers(err.headers)
    .header('content-type', JSON_CONTENT_TYPE)
    .send(errorBody(err, req.id, req.clientRequestId || req.id, new Date()));
}

function clientRequestIdOf(req: IncomingMessage, requestId: string): string {
  const given = req.headers['client-request-id'];
  return typeof given === 'string' && given !== '' ? given : requestId;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function baseUrl(req: IncomingMessage): string {
  const socket = req.socket as Socket | TLSSocket;
  const scheme = (socket as TLSSocket).encrypted ? 'https' : 'http';
  const host = req.headers.host ?? `${socket.localAddress}:${socket.localPort}`;
  return `${scheme}://${host}`;
}

/** True when `rawHeaders` (name, value, name, value, …) holds header `lowerName` more than once. */
function repeats(rawHeaders: string[], lowerName: string): boolean {
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/**
 * Reads a request body of at most `limit` bytes; `timeoutMs` bounds each wait for more of it. Past
 * the limit nothing more is kept: the stream is resumed, so node reads and drops the rest.
 */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number, cb: (err: Error | null, body?: Buffer) => void): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    cb(errors.payloadTooLarge(limit));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const finish = (err: Error | null, body?: Buffer) => {
    finished = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    if (timer !== undefined) clearTimeout(timer);
    cb(err, body);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      chunks.length = 0;
      finish(errors.payloadTooLarge(limit));
      req.resume();
      return;
    }
    if (chunks.push(chunk) === 1) setImmediate(startTimer);
    else timer?.refresh();
  };
  // A body that came with its headers is complete once node has parsed what it read (before the
  // immediate): it needs no timer. The rest get one, renewed by each chunk.
  const startTimer = () => {
    if (!finished && !req.complete) timer = setTimeout(onIdle, timeoutMs);
  };
  const onIdle = () => finish(errors.requestTimeout(`No more of the request body arrived within ${timeoutMs / 1000} s.`));
  const onEnd = () => finish(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  const onError = () => finish(errors.badRequest('The request body was cut off.'));
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}

/**
 * The body of the JSON routes (Graph and the control API): `application/json` (UTF-8) parsed
 * (`jsonBody`), an empty body is "no body", and anything else with bytes in it is 415.
 */
function jsonRequestBody(contentType: string | undefined, raw: Buffer): unknown {
  if (mediaType(contentType) === 'application/json') return jsonBody(contentType!, raw);
  if (raw.length === 0) return undefined;
  throw errors.unsupportedMediaType(contentType ?? '');
}

/** The media type of a Content-Type value, lower-cased, without parameters ('' without one). */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/**
 * An `application/json` body: a charset other than UTF-8 is 415, an empty or blank body is "no body"
 * (SDKs send Content-Length 0 with a JSON Content-Type), bytes that are not UTF-8, malformed JSON or
 * JSON nested too deep are 400. Graph's OData reader decodes a body with a decoder that throws on
 * invalid bytes (ODataLib's MediaTypeUtils and HttpUtils.GetEncodingFromCharsetName; docs/security.md),
 * so such a body is refused rather than stored with U+FFFD in place of what the client meant.
 */
function jsonBody(contentType: string, raw: Buffer): unknown {
  const charset = contentType.includes(';') ? /;\s*charset\s*=\s*"?([^;"\s]+)/i.exec(contentType)?.[1] : undefined;
  if (charset && !/^utf-?8$/i.test(charset)) throw errors.unsupportedMediaType(contentType);
  if (!isUtf8(raw)) throw errors.unreadableBody('The body is not valid UTF-8.');
  const trimmed = raw.toString('utf8').trim();
  if (trimmed === '') return undefined;
  return parseJson(trimmed);
}
