import type { Profile, ProfileService } from '../enrollment/profiles.js';
import type { Principal } from '../identity/claims.js';
import { authorize, type PolicyOptions } from '../identity/policy.js';
import type { TokenVerifier } from '../identity/verify.js';
import { androidForWorkEnrollmentProfile as profileDef } from '../model/androidForWorkEnrollmentProfile.js';
import type { EntityDef } from '../model/edm.js';
import type { Store } from '../store/store.js';
import { parseBatch, runBatch } from './batch.js';
import { errorBody, errors, type GraphError } from './errors.js';
import { csdl, serviceDocument } from './metadata.js';
import { parseGraphPath, type ApiVersion, type ParsedPath, type Target } from './path.js';
import {
  onlyAllow, parseCount, parseFilterOption, parseNonNegativeInt, parseOrderBy, parseSelect, readQueryOptions, SkipTokens, toCondition,
  type QueryOptions,
} from './query.js';
import { contextUrl, entityUrl, JSON_CONTENT_TYPE, profileJson, profileJsonText, rawValue } from './serialize.js';
import { validateActionBody, validateEntityBody } from './validate.js';

/** A Graph call, independent of the HTTP framework (so `$batch` items can go through it too). */
export interface GraphRequest {
  method: string;
  /** Path without the query string, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  headers: Readonly<Record<string, string | undefined>>;
  /** Parsed JSON body; undefined when none was sent. */
  body: unknown;
  /** Public base URL (scheme, host, port) for context URLs and Location. */
  baseUrl: string;
  /** Ids of the HTTP request (a `$batch` item shares its batch's). */
  requestId: string;
  clientRequestId: string;
  /** Set by the control plane once the caller is known, for the request journal and metrics. */
  caller?: GraphCaller;
}

/** An authenticated caller's tenant and the operation called (undefined for a wrong method). */
export interface GraphCaller {
  tenant: string;
  operation: string | undefined;
}

export interface GraphResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON or text; a Buffer holds UTF-8 bytes ready to send. */
  body?: string | Buffer;
}

export const ENTITIES: readonly EntityDef[] = [profileDef];

/** The methods each kind of target answers. */
const METHODS: Record<Target['kind'], readonly string[]> = {
  serviceDocument: ['GET'],
  metadata: ['GET'],
  batch: ['POST'],
  singleton: ['GET'],
  collection: ['GET', 'POST'],
  count: ['GET'],
  entity: ['GET', 'PATCH', 'DELETE'],
  action: ['POST'],
};

/** An authenticated call as the control plane sees it, before it runs. */
export interface GraphCall {
  req: GraphRequest;
  /** Upper-case method. */
  method: string;
  target: Target;
  principal: Principal;
}

/**
 * Runs before every authenticated call, each `$batch` item too (src/control/: throttling and fault
 * injection): may delay the call or throw (a GraphError answers it); may return a function that is
 * given the call's response when it succeeds. Answers synchronously when it has nothing to wait for.
 */
export type GraphCallHook = (call: GraphCall) => CallObserver | void | Promise<CallObserver | void>;
type CallObserver = (res: GraphResponse) => void;

export interface GraphServiceDeps {
  store: Store;
  verifier: TokenVerifier;
  profiles: ProfileService;
  policy: PolicyOptions;
  paging: { pageSize: number; maxPageSize: number; secret: Buffer };
  onCall?: GraphCallHook;
}

/** The same request with `$skip`/`$skiptoken` replaced by the new skiptoken, as an absolute URL. */
function nextLink(req: GraphRequest, version: ApiVersion, options: QueryOptions, token: string): string {
  const drop = new Set(['skip', 'skiptoken'].flatMap((k) => (options.given.has(k) ? [options.given.get(k)!.name] : [])));
  const parts: string[] = [];
  for (const [name, value] of req.query) if (!drop.has(name)) parts.push(`${encodeURIComponent(name).replace(/^%24/, "$")}=${encodeURIComponent(value)}`);
  parts.push(`$skiptoken=${token}`);
  return `${req.baseUrl}${req.path}?${parts.join('&')}`;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): GraphResponse {
  return { status, headers: { 'Content-Type': JSON_CONTENT_TYPE, ...headers }, body: JSON.stringify(body) };
}

const NO_CONTENT: GraphResponse = { status: 204, headers: {} };

/** The query options each kind of call takes. */
const LIST_OPTIONS = ['select', 'filter', 'orderby', 'top', 'skip', 'count', 'skiptoken'];
const COUNT_OPTIONS = ['filter'];
const GET_OPTIONS = ['select'];
const NO_OPTIONS: string[] = [];

/**
 * The Graph protocol: parse the path, authenticate, check the tenant's licence, route, authorise,
 * validate, call the domain, and shape the response. Errors are thrown as GraphError.
 */
export class GraphService {
  private readonly metadataXml = csdl(ENTITIES);
  private readonly skipTokens: SkipTokens;
  /**
   * The UTF-8 bytes of a whole-entity GET, per presented profile (an immutable object, the same one
   * while the stored row is unchanged: see SqliteStore's read cache) and context URL: a repeated GET
   * sends them as they are instead of joining, measuring and encoding ~3.5 KB of text again.
   */
  private readonly entityBytes = new WeakMap<Profile, { context: string; bytes: Buffer }>();
  /** Parsed paths by path text (clients repeat the same few URLs); bounded, valid paths only. */
  private readonly paths = new Map<string, ParsedPath>();

  constructor(private readonly deps: GraphServiceDeps) {
    this.skipTokens = new SkipTokens(deps.paging.secret);
  }

  /** True when the path belongs to the Graph surface (starts with a known version). */
  static isGraphPath(path: string): boolean {
    return /^\/(v1\.0|beta)(\/|$)/i.test(path);
  }

  async handle(req: GraphRequest): Promise<GraphResponse> {
    this.deps.store.beginRequest?.();
    const parsed = this.parsePath(req.path);
    if (!parsed) throw errors.noRoute(req.method, req.path);
    const { version, target } = parsed;
    const method = req.method.toUpperCase();

    // Public documents, as on the live service: no token needed.
    if (target.kind === 'metadata' || target.kind === 'serviceDocument') {
      this.checkMethod(target, method);
      if (target.kind === 'metadata') {
        return { status: 200, headers: { 'Content-Type': 'application/xml;charset=utf-8' }, body: this.metadataXml };
      }
      return json(200, serviceDocument(req.baseUrl, version));
    }

    // Both answer synchronously in the common case (a known token, no fault rule or throttle to consult).
    const verified = this.deps.verifier.verify(req.headers.authorization);
    const principal = verified instanceof Promise ? await verified : verified;
    const hooked = this.deps.onCall?.({ req, method, target, principal });
    const observe = hooked instanceof Promise ? await hooked : hooked;
    let res: GraphResponse;
    if (target.kind === 'batch') {
      res = await this.batch(req, version, target, method);
    } else {
      const tenant = await this.deps.store.getTenant(principal.tenantId);
      if (tenant && !tenant.licensed) throw errors.unlicensedTenant();
      this.checkMethod(target, method);
      authorize(principal, method === 'GET' ? 'read' : 'write', this.deps.policy);
      const routed = this.execute(req, version, target, method, principal);
      res = routed instanceof Promise ? await routed : routed;
    }
    observe?.(res);
    return res;
  }

  private parsePath(path: string): ParsedPath | undefined {
    let parsed = this.paths.get(path);
    if (parsed === undefined) {
      parsed = parseGraphPath(path, ENTITIES);
      if (parsed === undefined) return undefined;
      if (this.paths.size >= 1000) this.paths.clear();
      this.paths.set(path, parsed);
    }
    return parsed;
  }

  /** `$batch`: each item goes through `handle` as a call of its own. */
  private async batch(req: GraphRequest, version: ApiVersion, target: Target, method: string): Promise<GraphResponse> {
    this.checkMethod(target, method);
    const items = parseBatch(req.body);
    const responses = await runBatch(items, req, version, (item) => this.handle(item), (err) => this.errorResponse(err, req));
    return json(200, { responses });
  }

  /** A GraphError as a response (used where errors are answered inside a 200, as in `$batch`). */
  errorResponse(err: GraphError, req: GraphRequest): GraphResponse {
    return {
      status: err.status,
      headers: { 'Content-Type': JSON_CONTENT_TYPE, ...err.headers },
      body: errorBody(err, req.requestId, req.clientRequestId, new Date()),
    };
  }

  private checkMethod(target: Target, method: string): void {
    if (!METHODS[target.kind].includes(method)) throw errors.methodNotAllowed(method);
  }

  /**
   * Routes an authorised call. Not async itself: each kind of call runs in a method of its own, so a
   * call allocates only its own method's suspended frame.
   */
  private execute(req: GraphRequest, version: ApiVersion, target: Target, method: string, who: Principal): Promise<GraphResponse> | GraphResponse {
    const tid = who.tenantId;
    const options = readQueryOptions(req.query, version);
    const allowed = target.kind === 'collection' && method === 'GET' ? LIST_OPTIONS
      : target.kind === 'count' ? COUNT_OPTIONS
      : target.kind === 'entity' && method === 'GET' ? GET_OPTIONS
      : NO_OPTIONS;
    onlyAllow(options, allowed, method);
    switch (target.kind) {
      case 'singleton':
        return json(200, { '@odata.context': `${req.baseUrl}/${version}/$metadata#deviceManagement`, id: tid });
      case 'count':
        return this.count(target.entity, tid, options);
      case 'collection':
        return method === 'GET' ? this.listPage(req, version, target.entity, tid, options) : this.create(req, version, target.entity, tid);
      case 'entity':
        if (method === 'GET') return this.getEntity(req, version, target.entity, tid, target.id, options);
        if (method === 'DELETE') return this.deleteEntity(tid, target.id);
        return this.updateEntity(req, version, target.entity, tid, target.id);
      case 'action':
        return this.runAction(target.entity, target.action, tid, target.id, req.body);
      default:
        throw errors.internal();
    }
  }

  private async count(def: EntityDef, tid: string, options: QueryOptions): Promise<GraphResponse> {
    const filter = parseFilterOption(options, def);
    const n = await this.deps.profiles.count(tid, filter && toCondition(filter));
    return { status: 200, headers: { 'Content-Type': 'text/plain;charset=utf-8' }, body: String(n) };
  }

  private async create(req: GraphRequest, version: ApiVersion, def: EntityDef, tid: string): Promise<GraphResponse> {
    const input = validateEntityBody(def, req.body, 'create');
    const created = await this.deps.profiles.create(tid, {
      displayName: input.displayName as string,
      description: (input.description as string | null | undefined) ?? null,
    });
    return json(201, this.entityBody(req.baseUrl, version, def, created), { Location: entityUrl(req.baseUrl, version, def, created.id) });
  }

  private async getEntity(req: GraphRequest, version: ApiVersion, def: EntityDef, tid: string, id: string, options: QueryOptions): Promise<GraphResponse> {
    const select = parseSelect(options, def);
    const p = await this.found(this.deps.profiles.get(tid, id), id);
    const context = contextUrl(req.baseUrl, version, def, { entity: true, select });
    if (select) return json(200, { '@odata.context': context, ...profileJson(p, select) });
    let cached = this.entityBytes.get(p);
    if (cached?.context !== context) {
      cached = { context, bytes: Buffer.from(`{"@odata.context":${JSON.stringify(context)},${profileJsonText(p).slice(1)}`) };
      if (Object.isFrozen(p)) this.entityBytes.set(p, cached); // a shared profile comes back: keep its bytes
    }
    return { status: 200, headers: { 'Content-Type': JSON_CONTENT_TYPE }, body: cached.bytes };
  }

  private async deleteEntity(tid: string, id: string): Promise<GraphResponse> {
    if (!(await this.deps.profiles.delete(tid, id))) throw this.notFound(id);
    return NO_CONTENT;
  }

  private async updateEntity(req: GraphRequest, version: ApiVersion, def: EntityDef, tid: string, id: string): Promise<GraphResponse> {
    const input = validateEntityBody(def, req.body, 'update');
    const patch: { displayName?: string; description?: string | null } = {};
    if ('displayName' in input) patch.displayName = input.displayName as string;
    if ('description' in input) patch.description = input.description as string | null;
    const updated = await this.found(this.deps.profiles.update(tid, id, patch), id);
    if (/(^|[,;\s])return=minimal($|[,;\s])/i.test(req.headers.prefer ?? '')) {
      return { status: 204, headers: { 'Preference-Applied': 'return=minimal' } };
    }
    return json(200, this.entityBody(req.baseUrl, version, def, updated));
  }

  private async runAction(def: EntityDef, name: string, tid: string, id: string, body: unknown): Promise<GraphResponse> {
    const action = def.actions.find((a) => a.name === name)!;
    const params = validateActionBody(action, body);
    const ok = action.name === 'createToken'
      ? await this.deps.profiles.createToken(tid, id, params.tokenValidityInSeconds!)
      : await this.deps.profiles.revokeToken(tid, id);
    if (!ok) throw this.notFound(id);
    return NO_CONTENT;
  }

  /** A page of the collection: filter, order and keyset paging all run in the store. */
  private async listPage(req: GraphRequest, version: ApiVersion, def: EntityDef, tid: string, options: QueryOptions): Promise<GraphResponse> {
    const select = parseSelect(options, def);
    const filter = parseFilterOption(options, def);
    const ordering = parseOrderBy(options, def);
    const top = parseNonNegativeInt(options, 'top');
    const skip = parseNonNegativeInt(options, 'skip');
    const count = parseCount(options);
    const { pageSize, maxPageSize } = this.deps.paging;
    const limit = Math.min(top ?? pageSize, maxPageSize);
    const where = filter && toCondition(filter);
    const binding = SkipTokens.binding(tid, options.given.get('filter')?.value, ordering);
    const skiptoken = options.given.get('skiptoken');
    const after = skiptoken ? this.skipTokens.decode(skiptoken.value, binding, ordering.keys.length) : undefined;

    const rows = limit === 0 ? [] : await this.deps.profiles.list(tid, {
      ...(where ? { where } : {}),
      orderBy: ordering.keys,
      ...(after ? { after } : {}),
      limit: limit + 1,
      ...(skip && !after ? { offset: skip } : {}),
    });
    const body: Record<string, unknown> = { '@odata.context': contextUrl(req.baseUrl, version, def, { entity: false, select }) };
    if (count) body['@odata.count'] = await this.deps.profiles.count(tid, where);
    if (rows.length > limit) {
      rows.length = limit;
      const last = rows[limit - 1]!;
      const token = this.skipTokens.encode(binding, ordering.properties.map((o) => rawValue(last, o.property)));
      body['@odata.nextLink'] = nextLink(req, version, options, token);
    }
    if (select) {
      body.value = rows.map((p) => profileJson(p, select));
      return json(200, body);
    }
    // Whole entities: splice in each profile's cached JSON text.
    const head = JSON.stringify(body);
    const text = `${head.slice(0, -1)},"value":[${rows.map((p) => profileJsonText(p)).join(',')}]}`;
    return { status: 200, headers: { 'Content-Type': JSON_CONTENT_TYPE }, body: text };
  }

  private entityBody(base: string, version: ApiVersion, def: EntityDef, p: Profile): Record<string, unknown> {
    return { '@odata.context': contextUrl(base, version, def, { entity: true }), ...profileJson(p) };
  }

  private async found<T>(p: Promise<T | undefined>, id: string): Promise<T> {
    const v = await p;
    if (v === undefined) throw this.notFound(id);
    return v;
  }

  private notFound(id: string) {
    return errors.notFound(`The ${profileDef.typeName} with id '${id}' was not found.`);
  }
}
