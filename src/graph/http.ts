/**
 * The Graph routes (`/v1.0/…`, `/beta/…`) on node:http, in front of Fastify.
 *
 * Every Graph call is the same shape — read a small JSON body, run GraphService, write one JSON
 * text — and GraphService is framework-free, so this front answers Graph paths straight from the
 * node:http request event, and only the rest of the server (authority, control API, console, health)
 * goes through Fastify's router, hooks and reply pipeline. That pipeline cost more than the Graph
 * work itself on the hot path (see bench/). What Fastify did for these routes is done here, by hand:
 * request ids, Graph's headers on every response, the JSON body with its limit and media type, the
 * error envelope, the access log line, the request journal and metrics, the drop fault, and
 * `Connection: close` while the server closes.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import type { ControlPlane } from '../control/plane.js';
import { ConnectionDrop } from '../faults/rules.js';
import { StoreUnavailableError } from '../store/errors.js';
import { errorBody, errors, GraphError } from './errors.js';
import { JSON_CONTENT_TYPE } from './serialize.js';
import { GraphService, type GraphRequest, type GraphResponse } from './service.js';

/** The x-ms-ags-diagnostic header the live service sends, with this server's values. */
export const DIAGNOSTIC = JSON.stringify({ ServerInfo: { DataCenter: 'Local', Slice: 'E', Ring: '0', ScaleUnit: '000', RoleInstance: 'enrollgraph' } });

/** The headers of every Graph response after request-id and client-request-id. */
export function graphHeaderPairs(tls: boolean): [string, string][] {
  const pairs: [string, string][] = [['odata-version', '4.0'], ['x-ms-ags-diagnostic', DIAGNOSTIC], ['cache-control', 'no-cache']];
  if (tls) pairs.push(['strict-transport-security', 'max-age=31536000']);
  return pairs;
}

/** Paths this front answers: a known version, or something shaped like one (answered 400 "Invalid version"). */
const CLAIMED = /^\/(?:v\d[^/?]*|beta)(?:[/?]|$)/i;

export interface GraphFrontOptions {
  graph: GraphService;
  control: ControlPlane;
  log: FastifyBaseLogger;
  bodyLimit: number;
  publicUrl: string | undefined;
  tls: boolean;
  /** Log one line per request (level info and below). */
  accessLog: boolean;
  /** True once the server has begun to close: answers then carry `Connection: close`. */
  closing(): boolean;
}

/** A request id pair and the start time, carried through one request. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  requestId: string;
  clientRequestId: string;
  started: number;
  /** The Graph call, once the body was read (its `caller` names tenant and operation for the journal). */
  graphReq?: GraphRequest;
}

export class GraphFront {
  private readonly fixedHeaders: string[];

  constructor(private readonly o: GraphFrontOptions) {
    this.fixedHeaders = graphHeaderPairs(o.tls).flat();
  }

  /** True when the request is this front's to answer. */
  static claims(url: string): boolean {
    return CLAIMED.test(url);
  }

  /** Answers one request; never throws, never rejects. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const given = req.headers['client-request-id'];
    const requestId = randomUUID();
    const x: Exchange = {
      req,
      res,
      path: q < 0 ? url : url.slice(0, q),
      requestId,
      clientRequestId: typeof given === 'string' && given !== '' ? given : requestId,
      started: performance.now(),
    };
    this.run(x, q < 0 ? '' : url.slice(q + 1)).catch((err: unknown) => this.fail(x, err));
  }

  private async run(x: Exchange, search: string): Promise<void> {
    const { req } = x;
    if (!GraphService.isGraphPath(x.path)) {
      const version = /^\/(v\d[^/]*)(\/|$)/i.exec(x.path);
      throw version ? errors.badRequest(`Invalid version: ${version[1]}`) : errors.noRoute(req.method ?? 'GET', x.path);
    }
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'HEAD' ? undefined : parseBody(req, await readBody(req, this.o.bodyLimit));
    const graphReq: GraphRequest = {
      method,
      path: x.path,
      query: new URLSearchParams(search),
      headers: req.headers as Record<string, string | undefined>,
      body,
      baseUrl: this.o.publicUrl ?? this.baseUrl(req),
      requestId: x.requestId,
      clientRequestId: x.clientRequestId,
    };
    x.graphReq = graphReq;
    this.send(x, await this.o.graph.handle(graphReq));
  }

  private baseUrl(req: IncomingMessage): string {
    const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
    const host = req.headers.host ?? `${req.socket.localAddress}:${req.socket.localPort}`;
    return `${scheme}://${host}`;
  }

  private send(x: Exchange, r: GraphResponse): void {
    const head: string[] = ['request-id', x.requestId, 'client-request-id', x.clientRequestId, ...this.fixedHeaders];
    for (const name in r.headers) head.push(name, r.headers[name]!);
    if (r.body !== undefined) head.push('content-length', String(typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.length));
    if (this.o.closing() && r.headers.connection === undefined) head.push('connection', 'close');
    x.res.writeHead(r.status, head);
    x.res.end(r.body);
    this.finish(x, r.status);
  }

  private fail(x: Exchange, err: unknown): void {
    if (x.res.headersSent || x.res.destroyed) {
      this.o.log.error({ err, requestId: x.requestId }, 'error after the response began');
      return;
    }
    if (err instanceof ConnectionDrop) {
      // A `drop` fault rule: no answer at all, as when the service goes away mid-request.
      x.req.socket.destroy();
      this.finish(x, 0);
      return;
    }
    const e = this.toGraphError(x, err);
    // A refused body's rest is read and dropped by node:http once the answer is sent (readBody resumed
    // the stream), so a client still sending gets the 413, and the connection stays usable.
    this.send(x, { status: e.status, headers: { 'content-type': JSON_CONTENT_TYPE, ...e.headers }, body: errorBody(e, x.requestId, x.clientRequestId, new Date()) });
  }

  private toGraphError(x: Exchange, err: unknown): GraphError {
    if (err instanceof GraphError) return err;
    if (err instanceof StoreUnavailableError) {
      this.o.log.warn({ err: err.message, requestId: x.requestId }, 'store unavailable');
      return errors.serviceUnavailable(err.retryAfterSeconds);
    }
    this.o.log.error({ err, requestId: x.requestId }, 'unhandled error');
    return errors.internal();
  }

  private finish(x: Exchange, status: number): void {
    const elapsedMs = performance.now() - x.started;
    const method = x.req.method ?? 'GET';
    this.o.control.recordRequest(method, x.path, status, elapsedMs, x.requestId, x.clientRequestId, x.graphReq?.caller);
    if (this.o.accessLog) {
      this.o.log.info({ requestId: x.requestId, method, url: x.req.url, status, ms: Math.round(elapsedMs * 10) / 10 }, 'request');
    }
  }
}

/** The request body, up to `limit` bytes (413 past it, by Content-Length or by what arrives). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(errors.payloadTooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        if (chunks.length > 0) chunks.length = 0;
        req.removeAllListeners('data');
        req.resume();
        reject(errors.payloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * A request body: `application/json` (UTF-8) parsed (`jsonBody`), an empty body is "no body", and
 * anything else with bytes in it is 415.
 */
function parseBody(req: IncomingMessage, raw: Buffer): unknown {
  const contentType = req.headers['content-type'];
  const semi = contentType === undefined ? -1 : contentType.indexOf(';');
  const media = contentType === undefined ? '' : (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (media === 'application/json') return jsonBody(contentType!, raw.toString('utf8'));
  if (raw.length === 0) return undefined;
  throw errors.unsupportedMediaType(contentType ?? '');
}

/**
 * An `application/json` body (the Graph front's and Fastify's routes' alike): a charset other than
 * UTF-8 is 415, an empty or blank body is "no body" (SDKs send Content-Length 0 with a JSON
 * Content-Type), malformed JSON is 400.
 */
export function jsonBody(contentType: string, text: string): unknown {
  const charset = contentType.includes(';') ? /;\s*charset\s*=\s*"?([^;"\s]+)/i.exec(contentType)?.[1] : undefined;
  if (charset && !/^utf-?8$/i.test(charset)) throw errors.unsupportedMediaType(contentType);
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    return JSON.parse(trimmed);
  } catch (err) {
    throw errors.unreadableBody((err as Error).message);
  }
}
